# Encapsulations prepared ahead: after a request is sealed, the gateway's
# worker makes the next request's HPKE encapsulation (a fresh ephemeral
# key and its DH with the terminator's key) once it has looked for I/O,
# so that the next request does not wait for those two scalar
# multiplications.  Each serves one request: every request still carries
# its own enc, the terminator opens each, and confer_status counts the
# requests that were sealed with one ("prepared").  When the terminator's
# key changes, one prepared for the old key is not used: the request gets
# a fresh encapsulation for the new key and is answered.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
my $N = 8;

stack($t);

my $chat = { model => 'mock-model',
             messages => [ { role => 'user', content => 'prepared?' } ] };
my $want = mock_direct($t, 'POST', '/v1/chat/completions',
                       $t->json->encode($chat))->body;

sub counters {
    my ($term) = @{ status_of($t)->{terminators} || [] };
    return $term->{counters} || {};
}

my $ok = 0;
for (1 .. $N) {
    my $r = $t->post_json(gateway => '/v1/chat/completions', $chat);
    $ok++ if ($r->status // 0) == 200 && ($r->body // '') eq $want;
}
is($ok, $N, "$N requests one after another, $N true answers");

my $c = counters();
is($c->{sealed}, $N, "confer_status: $N sealed");
is($c->{prepared}, $N - 1,
   'confer_status: all but the first sealed with an encapsulation made'
   . ' after the one before');

# every request its own encapsulated key: header (7 bytes), then enc (32)
my @enc = map { unpack 'H*', substr($_->{body}, 7, 32) }
          sealed_requests($t, 'hop');
is(scalar @enc, $N, "the hop carried $N sealed requests");
my %seen;
$seen{$_}++ for @enc;
is(scalar(keys %seen), $N, 'each with an enc of its own');
ok(!grep({ /^0+$/ } @enc), 'none of them zero');

# a new terminator key: the gateway still holds one prepared for the old
# key, which must not be used (the terminator could not open it)
$t->stop('terminator');
$t->start('terminator');
my $before = counters();
my @after = map { $t->post_json(gateway => '/v1/chat/completions', $chat) }
            1 .. 3;
my @codes = map { $_->status // 0 } @after;
ok($codes[-1] == 200 && $after[-1]->body eq $want,
   'after the terminator\'s key changed, requests are answered again'
   . " (statuses @codes)");
ok(!grep({ $_ != 200 && $_ != 503 } @codes),
   'and before that only the documented retry (503 key_rejected)');
my $c2 = counters();
ok(($c2->{prepared} // 0) - ($before->{prepared} // 0)
   < ($c2->{sealed} // 0) - ($before->{sealed} // 0),
   'the request sealed to the new key first had no prepared encapsulation'
   . ' (one for the old key is not used)');

$t->done;
