# Keys change at every reload, and the previous key is honoured for the
# grace period: a run of requests sealed to the old key while nginx
# reloads loses none of them; a stream in flight finishes; the key before
# the previous one is refused with the key-configuration problem.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use MIME::Base64;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;
$t->nginx(term => terminator_spec($t, key => 'lifetime=1h grace=10m'));

my $root = Confer::Test::root();
my $chat = '{"model":"mock-model","messages":[{"role":"user",'
         . '"content":"reload 5d"}]}';
my %req = (mode => 'chunked', path => '/v1/chat/completions', body => $chat,
           headers => { 'content-type' => 'application/json' });

sub keys_of {
    my $d = client_doc($t, 'term');
    my $k = decode_base64($d->{doc}{ohttp_keys});
    my @ids;
    for (my $o = 0; $o < length $k;) {
        my $len = unpack('n', substr($k, $o, 2));
        push @ids, ord(substr($k, $o + 2, 1));
        $o += 2 + $len;
    }
    return (unpack('H*', $k), @ids);
}

my ($k1, $id1) = keys_of();
my $r = client($t, 'term', { %req, keys_hex => $k1 });
is($r->{inner}{status}, 200, "key id $id1 works");

# a run of 200 requests sealed to key 1, with a reload in the middle
my $spec = $t->prefix . '/helpers/loop.json';
open my $fh, '>', $spec or die;
print $fh encode_json({ %req, keys_hex => $k1, loop => 200,
                        url => 'http://127.0.0.1:' . $t->port('term') });
close $fh;
$t->spawn('loop', [ 'node', "$root/t/interop/confer-client.js", 'loop',
                    $spec ]);
my $log = $t->prefix . '/helpers/loop.log';
$t->wait_for(sub { (Confer::Test::read_file($log) // '') =~ /progress 10\b/ },
             'ten requests of the run');

# and a stream held open across the reload
my $held = '{"model":"mock-model","stream":true,"messages":[{"role":"user",'
         . '"content":"held across 5d"}],"mock":{"tokens":4,"hold_after":2}}';
my $hspec = $t->prefix . '/helpers/held.json';
open $fh, '>', $hspec or die;
print $fh encode_json({ %req, body => $held, keys_hex => $k1,
                        url => 'http://127.0.0.1:' . $t->port('term') });
close $fh;
$t->spawn('held', [ 'node', "$root/t/interop/confer-client.js", 'send',
                    $hspec ]);
$t->wait_for(sub { grep { ($_->{body} // '') =~ /held across/ }
                   @{ $t->mock_requests } }, 'the held stream started');

ok($t->reload('term'), 'nginx reloads');
my ($at) = (Confer::Test::read_file($log) // '') =~ /.*progress (\d+)/s;
ok($at >= 10 && $at < 200, "the reload happened in the middle of the run "
   . "(after request $at)");

my ($k2, @ids2) = keys_of();
is($ids2[0], ($id1 + 1) % 256, 'the new key has the next key id');
is_deeply([ @ids2[1 .. $#ids2] ], [$id1],
          'during the grace period the document lists the previous key too');
my ($rc, $out) = do {
    my $f = $t->prefix . '/doc2.json';
    client_doc($t, 'term', doc_out => $f);
    cli($t, 'verify', 'doc', $f, '--policy', sim_policy($t));
};
is($rc, 0, 'the new document verifies') or diag($out);

$t->mock_release;
$t->wait_for(sub { !$t->daemon_alive('held') }, 'the held stream ends');
$t->wait_for(sub { !$t->daemon_alive('loop') }, 'the run ends', 60);

my ($res) = grep { /^\{/ } split /\n/, Confer::Test::read_file($log);
my $run = decode_json($res);
is(scalar @{ $run->{statuses} }, 200, 'the run sent 200 requests');
is(scalar(grep { $_ eq '200' || $_ eq 200 } @{ $run->{statuses} }), 200,
   'all 200 were answered, before, during and after the reload')
    or diag(explain($run));

my ($hres) = grep { /^\{/ } split /\n/,
    Confer::Test::read_file($t->prefix . '/helpers/held.log');
my $h = decode_json($hres);
is($h->{inner}{status}, 200, 'the stream held across the reload completed');
ok($h->{chunks}[-1]{final}, 'with its final chunk');

$r = client($t, 'term', { %req, keys_hex => $k1 });
is($r->{inner}{status}, 200, 'after the reload the old key is honoured');
$r = client($t, 'term', { %req, keys_hex => $k2 });
is($r->{inner}{status}, 200, 'and so is the new one');

ok($t->reload('term'), 'a second reload');
my ($k3, @ids3) = keys_of();
is_deeply(\@ids3, [ ($id1 + 2) % 256, ($id1 + 1) % 256 ],
          'the document lists the newest key and the previous one');
$r = client($t, 'term', { %req, keys_hex => $k1 });
is($r->{outer}{status}, 400, 'the key before the previous one is refused');
is($r->{outer}{headers}{'content-type'}, 'application/problem+json',
   'with the key-configuration problem');
$r = client($t, 'term', { %req, keys_hex => $k2 });
is($r->{inner}{status}, 200, 'the previous key still works');

# grace=0: the old key goes with the reload
$t->nginx(term => terminator_spec($t, key => 'lifetime=1h grace=0'));
my ($k4) = keys_of();
ok($t->reload('term'), 'reload with grace=0');
my ($k5, @ids5) = keys_of();
is(scalar @ids5, 1, 'the document lists one key');
$r = client($t, 'term', { %req, keys_hex => $k4 });
is($r->{outer}{status}, 400, 'grace=0: the previous key is refused at once');

$t->done;
