# Key lifetime: a document past its not_after is never served, and a key
# past not_after + grace is refused.  renew=on makes nginx reload itself
# before that (one worker signals the master); renew=off leaves the reload
# to the operator.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;

my %req = (mode => 'chunked', path => '/v1/models', method => 'GET');

# --- renew=off: the operator must reload ------------------------------------

# Times are the terminator's own (the Date of its answers): a loaded
# machine takes seconds to start a client, longer than these lifetimes,
# so the client that must use the key in time is started first.

my $go = client_ready($t, 'term', { %req });
$t->nginx(term => terminator_spec($t,
                                  key => 'lifetime=3s grace=0 renew=off'));
my $r = $go->();
my $d = $r->{doc};
is($d->{status}, 200, 'renew=off: the document is served');
is($r->{inner}{status}, 200, 'and its key works');
my $not_after = $d->{doc}{not_after};
my $keys = unpack 'H*', decode_base64($d->{doc}{ohttp_keys});

my (@served, $last);
$t->wait_for(sub { $last = client_doc($t, 'term');
                   push @served, $last if $last->{status} == 200;
                   $last->{status} != 200 },
             'the lifetime runs out');
is($last->{status}, 503, 'past not_after the document is not served (503)');
ok(http_date($last->{headers}{date}) >= $not_after
   && !grep({ http_date($_->{headers}{date}) >= $not_after } @served),
   'and only then');
like($t->log_slice('term', 'error', 0), qr/lifetime ended .* has not been reloaded/,
     'the error log says a reload is due');
$r = client($t, 'term', { %req, keys_hex => $keys });
is($r->{outer}{status}, 400, 'the expired key is refused');
is($r->{outer}{headers}{'content-type'}, 'application/problem+json',
   'with the key-configuration problem');
$t->allow_error_log('term', qr/lifetime ended/);

$go = client_ready($t, 'term', {}, 'doc');
ok($t->reload('term'), 'the operator reloads');
$d = $go->();
is($d->{status}, 200, 'a fresh document is served');
ok($d->{doc}{not_after} > $not_after
   && unpack('H*', decode_base64($d->{doc}{ohttp_keys})) ne $keys,
   'with a new key and a not_after ahead');

# --- renew=on: nginx reloads itself before not_after -------------------------

$t->nginx(term => terminator_spec($t,
                                  key => 'lifetime=4s grace=2s renew=on'));
$d = client_doc($t, 'term');
my $first = $d->{doc};
my @seen;
$t->wait_for(sub {
    my $x = client_doc($t, 'term');
    push @seen, $x;
    $x->{status} == 200 && $x->{doc}{ohttp_keys} ne $first->{ohttp_keys};
}, 'a new key without a reload from outside', 20);
ok(!grep({ $_->{status} != 200 } @seen),
   'renew=on: the document was served all along');
ok(!grep({ $_->{doc}{not_after} <= http_date($_->{headers}{date}) } @seen),
   'never past its not_after');
like($t->log_slice('term', 'error', 0), qr/asking the master process \d+ to reload/,
     'a worker asked the master to reload');
my $n = () = $t->log_slice('term', 'error', 0)
             =~ /asking the master process/g;
ok($n >= 1, "the master was asked $n time(s)");

# workers of another user than the master cannot signal it: said at start
SKIP: {
    skip('needs root to run workers as nobody', 2) unless $> == 0;
    my $spec = terminator_spec($t, key => 'lifetime=1h renew=on');
    $spec->{main} = 'user nobody nogroup;';
    $t->nginx(term => $spec);
    $t->wait_for(sub { $t->log_slice('term', 'error', 0)
                       =~ /a worker cannot signal the master/ },
                 'the warning about renew');
    like($t->log_slice('term', 'error', 0),
         qr/\[warn\].*renew=on, but a worker cannot signal the master process \d+: reload nginx before \d+/,
         'renew=on with workers of another user: a warning names the deadline');
    is(client_doc($t, 'term')->{status}, 200, 'and the document is served');
}

$t->done;
