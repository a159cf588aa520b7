# A reload keeps what was verified under the same policy (the zone
# survives, entries are named by the policy's digest), judges anew under a
# changed policy, and a reload with a bad policy is refused while the old
# configuration keeps serving.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Attestation;

my $t = Confer::Test->new(node => 1);
my $a = Confer::Attestation->new($t);
my $doc = $a->write_doc('doc.json');
my $policy = $a->path('live.json');
my $allow = Confer::Test::read_file($a->path('policy.json'));

$a->write('live.json', $allow);
$a->docserver('tee', doc => $doc);
$t->start_mock;

my $conf = {
    http => 'confer_cache zone=confer:1m;',
    server => <<"EOF",
location /v1/ {
    confer_seal http://127.0.0.1:%%PORT_TEE%% policy=$policy;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}
location = /status { confer_status; }
EOF
};
$t->nginx(gateway => $conf);

sub post {
    return $t->post_json(gateway => '/v1/embeddings',
                         { model => 'mock-model', input => 'x' });
}

ok($a->passed(post()), 'attested');
is(scalar @{ $a->fetches('tee') }, 1, 'one fetch');

ok($t->reload('gateway'), 'reloaded with the same configuration');
ok($a->passed(post()), 'still attested');
is(scalar @{ $a->fetches('tee') }, 1, 'from the shared zone, no new fetch');

# the same file name, another policy: judged anew
$a->write('live.json',
          Confer::Test::read_file($a->path('measurement.json')));
ok($t->reload('gateway'), 'reloaded with a changed policy');
my $r = post();
is($r->status, 503, 'the document fails the new policy');
like($r->body, qr/"code":"measurement_not_allowed"/, 'measurement');
is(scalar @{ $a->fetches('tee') }, 2, 'after a fetch of its own');

# a policy with a typo: the reload is refused, the old one serves
$a->write('live.json', $allow);
ok($t->reload('gateway'), 'back to the first policy');
ok($a->passed(post()), 'attested again, from the zone');
is(scalar @{ $a->fetches('tee') }, 2, 'without fetching');

$a->write('live.json', '{"allow_simulated": tru');
ok(!$t->reload('gateway', undef, fail_ok => 1),
   'a reload with a broken policy is refused');
like($t->log_slice('gateway', 'error', 0),
     qr/\[emerg\].*invalid "confer_seal" policy ".*live.json": bad_policy/,
     'naming the policy');
ok($a->passed(post()), 'and the running configuration keeps serving');

$t->done;
