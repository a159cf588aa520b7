# The gateway's directives: what nginx -t accepts, and what it refuses
# with a message naming the directive and the problem.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Attestation;

my $t = Confer::Test->new;
my $a = Confer::Attestation->new($t);
my $policy = $a->path('policy.json');

# a config with confer_cache in http and $loc as the location body
sub conf {
    my ($loc, %o) = @_;
    return {
        http => $o{http} // 'confer_cache zone=confer:1m;',
        server => "location /v1/ {\n    $loc\n"
                  . "    proxy_pass http://127.0.0.1:9;\n}\n"
                  . ($o{server} // ''),
    };
}

my @good = (
    [ 'one terminator', "confer_seal http://127.0.0.1:9 policy=$policy;" ],
    [ 'several, every parameter',
      "confer_seal http://127.0.0.1:9 https://127.0.0.1:10/ "
      . "policy=$policy attestation=/att endpoint=/gw timeout=2s "
      . "retry=500ms max_size=64k aead=chacha20-poly1305,aes-128-gcm;" ],
    [ 'a host name resolved at configuration time',
      "confer_seal http://localhost:9 policy=$policy;" ],
);

for my $g (@good) {
    my ($ok, $out) = $t->nginx_t(conf($g->[1]));
    ok($ok, "accepted: $g->[0]") or diag($out);
}

my ($ok, $out) = $t->nginx_t({
    http => 'confer_cache zone=confer:1m;',
    server => 'location = /status { confer_status; }',
});
ok($ok, 'accepted: confer_status') or diag($out);

$a->write('bad-policy.json', '{"allow_simulated": true, "typo": 1}');
$a->write('not-json.json', '{ no');

my @bad = (
    [ 'confer_seal without a zone',
      conf("confer_seal http://127.0.0.1:9 policy=$policy;", http => ''),
      qr/"confer_seal" in \S+:\d+ needs "confer_cache zone=NAME:SIZE"/ ],
    [ 'confer_status without a zone',
      { server => 'location = /status { confer_status; }' },
      qr/"confer_status" in \S+:\d+ needs "confer_cache/ ],
    [ 'no policy', conf('confer_seal http://127.0.0.1:9;'),
      qr/"confer_seal" needs "policy=FILE"/ ],
    [ 'a missing policy file',
      conf('confer_seal http://127.0.0.1:9 policy=/nonexistent.json;'),
      qr{invalid "confer_seal" policy "/nonexistent.json": bad_policy} ],
    [ 'a policy with an unknown key',
      conf('confer_seal http://127.0.0.1:9 policy='
           . $a->path('bad-policy.json') . ';'),
      qr/invalid "confer_seal" policy ".*bad-policy.json": bad_policy: .*typo/ ],
    [ 'a policy that is not JSON',
      conf('confer_seal http://127.0.0.1:9 policy='
           . $a->path('not-json.json') . ';'),
      qr/invalid "confer_seal" policy ".*not-json.json": bad_policy/ ],
    [ 'no terminator', conf("confer_seal policy=$policy;"),
      qr/"confer_seal" needs at least one terminator URL/ ],
    [ 'a URL that is not http', conf("confer_seal ftp://x policy=$policy;"),
      qr/invalid "confer_seal" parameter "ftp:\/\/x"/ ],
    [ 'a URL with a path',
      conf("confer_seal http://127.0.0.1:9/v1 policy=$policy;"),
      qr{"confer_seal" terminator "http://127.0.0.1:9/v1" must not have a path} ],
    [ 'a host that does not resolve',
      conf("confer_seal http://no-such-host.invalid policy=$policy;"),
      qr/host not found in "confer_seal" terminator "http:\/\/no-such-host.invalid"/ ],
    [ 'the same terminator twice',
      conf("confer_seal http://127.0.0.1:9 http://127.0.0.1:9 "
           . "policy=$policy;"),
      qr/duplicate "confer_seal" terminator "http:\/\/127.0.0.1:9"/ ],
    [ 'an unknown parameter',
      conf("confer_seal http://127.0.0.1:9 policy=$policy colour=red;"),
      qr/invalid "confer_seal" parameter "colour=red"/ ],
    [ 'a zero timeout',
      conf("confer_seal http://127.0.0.1:9 policy=$policy timeout=0;"),
      qr/invalid "confer_seal" parameter "timeout=0"/ ],
    [ 'a bad retry',
      conf("confer_seal http://127.0.0.1:9 policy=$policy retry=soon;"),
      qr/invalid "confer_seal" parameter "retry=soon"/ ],
    [ 'a relative attestation path',
      conf("confer_seal http://127.0.0.1:9 policy=$policy attestation=x;"),
      qr/invalid "confer_seal" parameter "attestation=x"/ ],
    [ 'a tiny max_size',
      conf("confer_seal http://127.0.0.1:9 policy=$policy max_size=10;"),
      qr/invalid "confer_seal" value "max_size=10": from 1k to 16m/ ],
    [ 'an unknown AEAD',
      conf("confer_seal http://127.0.0.1:9 policy=$policy aead=rot13;"),
      qr/unknown AEAD "rot13" in "confer_seal" parameter "aead=rot13"/ ],
    [ 'an AEAD twice',
      conf("confer_seal http://127.0.0.1:9 policy=$policy "
           . "aead=aes-128-gcm,aes-128-gcm;"),
      qr/AEAD "aes-128-gcm" twice in "confer_seal"/ ],
    [ 'confer_seal twice in a location',
      conf("confer_seal http://127.0.0.1:9 policy=$policy;\n"
           . "    confer_seal http://127.0.0.1:9 policy=$policy;"),
      qr/"confer_seal" directive is duplicate/ ],
    [ 'confer_status where confer_seal applies',
      conf("confer_seal http://127.0.0.1:9 policy=$policy;\n"
           . "    location /v1/status { confer_status; }"),
      qr/"confer_status" in \S+:\d+ is in a location where "confer_seal"/ ],
    [ 'a zone without a size', conf('', http => 'confer_cache zone=c;'),
      qr/invalid "confer_cache" zone "zone=c"/ ],
    [ 'a zone that is too small',
      conf('', http => 'confer_cache zone=c:8k;'),
      qr/"confer_cache" zone "zone=c:8k" is too small/ ],
    [ 'confer_cache without zone=', conf('', http => 'confer_cache c:1m;'),
      qr/invalid "confer_cache" parameter "c:1m"/ ],
    [ 'confer_cache twice',
      conf('', http => "confer_cache zone=a:1m;\nconfer_cache zone=b:1m;"),
      qr/"confer_cache" directive is duplicate/ ],
    [ 'confer_seal outside a location',
      { http => "confer_cache zone=c:1m;\n"
                . "confer_seal http://127.0.0.1:9 policy=$policy;" },
      qr/"confer_seal" directive is not allowed here/ ],
);

for my $b (@bad) {
    my ($ok, $out) = $t->nginx_t($b->[1]);
    ok(!$ok, "refused: $b->[0]");
    like($out, $b->[2], "$b->[0]: the message says why");
}

$t->done;
