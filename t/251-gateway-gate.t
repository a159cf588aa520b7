# The attestation gate: a request passes only with a verified key of an
# attested terminator; otherwise the client gets a 503 with an OpenAI-style
# error naming the reason, the error log names it, and nothing of the
# request reaches the model server.  Documents are simulated and served as
# static files by a plain nginx ("tee").

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Attestation;

my $t = Confer::Test->new(node => 1);
my $a = Confer::Attestation->new($t);

$a->write_doc('good.json');
$a->write_doc('expired.json', now => time - 1000, lifetime => 10);
$a->write_doc('other.json', sim => 'other');
$a->write('tampered.json', $a->tampered_doc);
$a->write('debug.json', $a->debug_doc);
$a->write('garbage.json', "{\"version\": 1, \"platform\": \"simulated\"}\n");

my $docs = join '', map {
    "location = /$_.json { alias %%TESTDIR%%/att/$_.json; "
    . "default_type application/json; }\n"
} qw(good expired other tampered debug garbage);

$t->start_mock;
$t->nginx(tee => { server => $docs });

my $tee = 'http://127.0.0.1:%%PORT_TEE%%';
my $tee_re = qr{http://127\.0\.0\.1:\d+};
my $att = '%%TESTDIR%%/att';

# one location per way to fail, each its own cache entry
my %cases = (
    expired     => [ 'expired.json', 'policy.json', 'document_expired' ],
    tampered    => [ 'tampered.json', 'policy.json', 'bad_signature' ],
    debug       => [ 'debug.json', 'policy.json', 'debug_not_allowed' ],
    root        => [ 'good.json', 'other-root.json', 'unknown_root' ],
    measurement => [ 'good.json', 'measurement.json',
                     'measurement_not_allowed' ],
    notjson     => [ 'garbage.json', 'policy.json', 'bad_document' ],
    missing     => [ 'missing.json', 'policy.json', 'http_status' ],
);

my $locations = join '', map {
    my ($doc, $policy) = @{ $cases{$_} };
    "location /$_/ {\n"
    . "    confer_seal $tee policy=$att/$policy attestation=/$doc "
    . "retry=1h;\n"
    . "    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;\n}\n"
} sort keys %cases;

$t->nginx(gateway => {
    http => <<'EOF',
confer_cache zone=confer:1m;
log_format confer '$request_method $status status=$confer_status '
                  'reason=$confer_reason terminator=$confer_terminator '
                  'platform=$confer_platform key=$confer_key_id '
                  'aead=$confer_aead m=$confer_measurement '
                  'until=$confer_valid_until';
EOF
    server => <<"EOF" . $locations,
access_log %%DIR%%/confer.log confer;

location /v1/ {
    confer_seal $tee policy=$att/policy.json attestation=/good.json;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}

location /aes256/ {
    confer_seal $tee policy=$att/policy.json attestation=/good.json
                aead=aes-256-gcm retry=1h;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}

location = /status {
    access_log off;
    confer_status;
}
EOF
});

my $confer_log = $t->dir('gateway') . '/confer.log';

# --- a verified terminator: the request goes on, sealed --------------------

my $r = $t->post_json(gateway => '/v1/chat/completions',
    { model => 'mock-model', messages => [ { role => 'user',
                                             content => 'hello' } ] });
ok($a->passed($r), 'attested: the request goes on (sealed, to a stand-in '
                   . 'that cannot answer sealed)');
is(scalar @{ $t->mock_requests }, 1, 'the mock got one request');
is($t->mock_requests->[0]{headers}{'content-type'},
   'message/ohttp-chunked-req', 'a sealed one');

$t->wait_for(sub { (Confer::Test::read_file($confer_log) // '')
                   =~ /status=seal_failed/ }, 'the access log line');
like(Confer::Test::read_file($confer_log),
     qr{^POST 502 status=seal_failed reason=- terminator=$tee_re platform=}m,
     'the access log: status and terminator');
like(Confer::Test::read_file($confer_log),
     qr{ platform=simulated key=1 aead=aes-128-gcm m=0{96} until=\d+$}m,
     'the access log: platform, key id, AEAD, measurement, valid until');

like($t->log_slice('gateway', 'error', 0),
     qr/\[notice\].*confer: attested "http:\/\/127.0.0.1:\d+": simulated/,
     'the error log notes the attestation');
like($t->log_slice('gateway', 'error', 0),
     qr/\[warn\].*SIMULATED evidence, accepted because policy/,
     'and warns that it is simulated');

my $st = $a->status('gateway');
my ($good) = grep { $_->{attestation} eq '/good.json'
                    && $_->{url} =~ /:\d+$/ } @{ $st->{terminators} };
is($good->{state}, 'verified', 'status: the terminator is verified');
is($good->{platform}, 'simulated', 'status: platform');
is($good->{measurement}, '0' x 96, 'status: measurement');
is_deeply($good->{key_ids}, [1], 'status: key ids');
is_deeply($good->{tcb}, { bootloader => 1, tee => 0, snp => 1,
                          microcode => 1, fmc => 0 }, 'status: TCB');
ok($good->{valid_until} > time && $good->{valid_until} <= time + 600,
   'status: valid until the document\'s not_after');
ok($good->{refresh_at} < $good->{valid_until}, 'status: refreshed before');
is($good->{counters}{fetches}, 1, 'status: one fetch');
is($good->{counters}{verified}, 1, 'status: one verification');
is($good->{counters}{gated}, 1, 'status: one request gated');

$r = $t->post_json(gateway => '/v1/embeddings',
                   { model => 'mock-model', input => 'x' });
ok($a->passed($r), 'the next request uses the cached key');
is($a->status('gateway')->{terminators}[0]{counters}{fetches}, 1,
   'without fetching again');

# --- every way to fail: 503, the reason, nothing sent ---------------------

for my $case ((sort keys %cases), 'aes256') {
    my $want = $cases{$case} ? $cases{$case}[2] : 'no_common_aead';
    my $canary = "canary-$case-" . int(rand(1e9));
    my $from = $t->log_size('gateway', 'error');

    $t->mock_reset;
    $r = $t->post_json(gateway => "/$case/chat/completions",
        { model => 'mock-model', messages => [ { role => 'user',
                                                 content => $canary } ] });

    is($r->status, 503, "$case: 503");
    is($r->header('Content-Type'), 'application/json', "$case: JSON");
    my $e = eval { $t->json->decode($r->body) } || {};
    is($e->{error}{code}, $want, "$case: the error code is $want");
    is($e->{error}{type}, 'attestation_error', "$case: its type");
    like($e->{error}{message}, qr/\Q$want\E.*not sent/,
         "$case: the message says why and that nothing was sent");
    ok(($r->header('Retry-After') // 0) > 0, "$case: Retry-After");
    is(scalar @{ $t->mock_requests }, 0,
       "$case: nothing reached the model server");

    if ($want ne 'no_common_aead') {
        like($t->log_slice('gateway', 'error', $from),
             qr/\[error\].*confer: attestation of "$tee_re" failed: $want/,
             "$case: the error log names the reason");
    } else {
        like($t->log_slice('gateway', 'error', $from),
             qr/\[error\].*offers none of the AEADs of "aead="/,
             "$case: the error log says no AEAD is common");
    }

    is_deeply([ map { "$_->{file}" }
                $t->grep_prefix([$canary], dirs => ['gateway', 'tee']) ],
              [], "$case: the request is in no file of either nginx");
}

# negative caching: the same failure again, without a fetch
my $before = $a->status('gateway');
$r = $t->post_json(gateway => '/measurement/chat/completions', {});
is($r->status, 503, 'a failed terminator stays refused');
my $after = $a->status('gateway');
my ($m0) = grep { $_->{policy} =~ /measurement/ } @{ $before->{terminators} };
my ($m1) = grep { $_->{policy} =~ /measurement/ } @{ $after->{terminators} };
is($m1->{counters}{fetches}, $m0->{counters}{fetches},
   'from the cache: no new fetch within retry=');
is($m1->{state}, 'failed', 'status: failed');
is($m1->{last_error}{reason}, 'measurement_not_allowed',
   'status: the last error');
ok(!exists $m1->{platform}, 'status: no verified facts for it');
ok($after->{requests}{refused} >= 9, 'status: requests refused');
is($after->{requests}{refusals}{measurement_not_allowed}, 2,
   'status: refusals by reason');

like(Confer::Test::read_file($confer_log),
     qr/^POST 503 status=attest_failed reason=measurement_not_allowed /m,
     'the access log: attest_failed and the reason');
like(Confer::Test::read_file($confer_log),
     qr/ reason=measurement_not_allowed terminator=- platform=- key=- /,
     'and no terminator facts');

# HEAD and other methods on the status
$r = $t->request(gateway => 'POST /status', body => 'x');
is($r->status, 405, 'status: POST is not allowed');

$t->done;
