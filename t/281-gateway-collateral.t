# The gateway verifies a document from the document alone, collateral
# included, and grades the platform with its policy.  Terminators with
# collateral=DIR (the simulated root's CRL, as SEV-SNP carries AMD's):
# current, it bounds the verified state and confer_status shows until when;
# listing the VCEK, the terminator is refused as revoked; a minimum TCB
# above the platform's refuses it as tcb_too_low.  Real TDX quotes cannot
# bind our keys, but a document made of one with Intel's collateral shows
# the gateway's verdicts on TDX: stale collateral is collateral_expired,
# and without collateral the quote verifies up to report_data_mismatch.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64;
use Confer::Test;
use Confer::Terminator;
use Confer::Collateral;

my $t = Confer::Test->new;
my $sim = sim_dir($t);
my $json = $t->json;
my $p = $t->prefix;

sub policy {
    my ($name, %o) = @_;
    return write_file("$p/$name.json", $json->encode({ platforms => [],
        allow_simulated => JSON::PP::true,
        simulated_root => "$sim/sim-root.pem", %o }));
}

my $plain = policy('sim');
my $tcb = policy('tcb', 'sev-snp' => { min_tcb => { snp => 5 } });

# two collateral directories: a current CRL, and one that lists the VCEK
my $current = sim_crl($t, $sim, 'current');
my $revoked = sim_crl($t, $sim, 'revoked', revoke => "$sim/sim-vcek.pem");
for (['good', $current], ['bad', $revoked]) {
    mkdir "$p/col-$_->[0]";
    write_file("$p/col-$_->[0]/ark_crl.pem",
               Confer::Test::read_file($_->[1]));
}

$t->start_mock;
$t->nginx(tgood => terminator_spec($t,
                       key => "collateral=$p/col-good lifetime=3d"));
$t->nginx(tbad => terminator_spec($t, key => "collateral=$p/col-bad"));

# real TDX quotes in documents, served as files
my $v = Confer::Test::vectors_dir() . '/tdx';
my $tdx = -f "$v/gotdxguest_quote_v5_sample.dat";
my $tee = '';

if ($tdx) {
    my $b = sub { encode_base64(Confer::Test::read_file("$v/$_[0]"), '') };
    my $c = pack('C n', 1, 0x20) . ("\x42" x 32) . pack('n n n', 4, 1, 1);
    my %doc = (version => 1, platform => 'tdx', not_after => time + 86400,
               ohttp_keys => encode_base64(pack('n', length $c) . $c, ''),
               evidence => $b->('gotdxguest_quote_v5_sample.dat'),
               certs => []);
    write_file("$p/tdx-bare.json", $json->encode(\%doc));
    write_file("$p/tdx-col.json", $json->encode({ %doc, collateral => {
        tcb_info => $b->('tinfoil_tcb_info_90c06f000000.json'),
        qe_identity => $b->('tinfoil_qe_identity.json'),
        tcb_signing_chain =>
            $b->('tinfoil_tcb_info_issuer_chain_urlencoded.txt'),
        pck_crl => $b->('tinfoil_pck_crl_platform.crl'),
        root_crl => $b->('tinfoil_root_ca.crl') } }));
    write_file("$p/tdx-policy.json", $json->encode({ platforms => ['tdx'],
        tdx => { tcb_status => ['UpToDate'] } }));

    $t->nginx(tee => { server => join '', map {
        "location = /$_.json { alias $p/$_.json; "
        . "default_type application/json; }\n" } qw(tdx-bare tdx-col) });

    $tee = <<"EOF";
location /tdxcol/ {
    confer_seal http://127.0.0.1:%%PORT_TEE%% policy=$p/tdx-policy.json
                attestation=/tdx-col.json retry=1h;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /tdxbare/ {
    confer_seal http://127.0.0.1:%%PORT_TEE%% policy=$p/tdx-policy.json
                attestation=/tdx-bare.json retry=1h;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
EOF
}

$t->nginx(gateway => {
    http => 'confer_cache zone=confer:1m;',
    server => <<"EOF" . $tee,
location /good/ {
    rewrite ^/good/(.*)\$ /v1/\$1 break;
    confer_seal http://127.0.0.1:%%PORT_TGOOD%% policy=$plain;
    proxy_pass http://127.0.0.1:%%PORT_TGOOD%%;
}
location /revoked/ {
    confer_seal http://127.0.0.1:%%PORT_TBAD%% policy=$plain retry=1h;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /tcb/ {
    confer_seal http://127.0.0.1:%%PORT_TGOOD%% policy=$tcb retry=1h;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location = /status {
    confer_status;
}
EOF
});

my $chat = { model => 'mock-model',
             messages => [ { role => 'user', content => 'collateral' } ] };

my $r = $t->post_json(gateway => '/good/chat/completions', $chat);
is($r->status, 200, 'a current CRL in the document: attested, the request '
   . 'passes');

sub refused {
    my ($loc, $want) = @_;
    $t->mock_reset;
    my $r = $t->post_json(gateway => "/$loc/chat/completions", $chat);
    is($r->status, 503, "$loc: 503");
    my $e = eval { $json->decode($r->body) } || {};
    is($e->{error}{code}, $want, "$loc: $want");
    is(scalar @{ $t->mock_requests }, 0, "$loc: nothing sent");
}

refused('revoked', 'revoked');
refused('tcb', 'tcb_too_low');

my $st = $json->decode($t->request(gateway => 'GET /status')->body);
my ($good) = grep { $_->{policy} eq $plain && $_->{state} eq 'verified' }
             @{ $st->{terminators} };
my $next = next_update($current);
is($good->{collateral_not_after}, $next, 'status: collateral_not_after is '
   . 'the CRL\'s nextUpdate');
is($good->{valid_until}, $next, 'status: and it ends the verified state, '
   . 'before the document\'s not_after');
ok($good->{not_after} > $next, 'status: (which is later)');
ok($good->{chain_not_after} > time, 'status: the chain\'s end');
my ($tcbst) = grep { $_->{policy} eq $tcb } @{ $st->{terminators} };
like($tcbst->{last_error}{detail}, qr/snp/i, 'status: the TCB that was too '
     . 'low') or diag(explain($tcbst->{last_error}));

SKIP: {
    skip("no TDX vectors in $v (set CONFER_VECTORS)", 8) unless $tdx;

    # the verdict the CLI reaches offline, now and when Intel's collateral
    # was current
    my (undef, $now) = cli($t, 'verify', 'doc', "$p/tdx-col.json",
                           '--policy', "$p/tdx-policy.json");
    my (undef, $then) = cli($t, 'verify', 'doc', "$p/tdx-col.json",
                            '--policy', "$p/tdx-policy.json",
                            '--now', '2026-02-03');
    like($then, qr/"error":"report_data_mismatch"/, 'TDX with collateral, '
         . 'when it was current: verified up to the binding');
    # Intel's TCB Info of January 2026 ended on 2026-02-11: stale now
    my ($want) = $now =~ /"error":"(\w+)"/;
    is($want, time > 1770824805 ? 'collateral_expired' : 'report_data_mismatch',
       'TDX with collateral, now: the CLI\'s verdict');
    refused('tdxcol', $want // 'none');
    refused('tdxbare', 'report_data_mismatch');
}

$t->done;
