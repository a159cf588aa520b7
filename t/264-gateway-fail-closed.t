# Fail closed, with the real terminator: a policy that does not match its
# measurement, an expired document, a terminator that is down, evidence
# tampered with on the way.  Each time the client gets a 503 naming the
# reason, the error log names it, and nothing of the request reaches the
# relay (no sealed request, not one byte of it) nor the model server.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(decode_base64);
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
my $json = $t->json;

my $dir = sim_dir($t);
my $good = sim_policy($t);

sub policy {
    my ($name, %more) = @_;
    my $f = $t->prefix . "/$name.json";
    write_bytes($f, $json->encode({
        platforms => [], allow_simulated => JSON::PP::true,
        simulated_root => "$dir/sim-root.pem", %more }));
    return $f;
}

# distinct policies make distinct cache entries
my $measure = policy('measurement', 'sev-snp' => { measurements =>
                                                   [ '11' x 48 ] });
my $down = policy('down', max_age => 3000);
my $tamper = policy('tamper', max_age => 3001);

stack($t,
    terminator => { server => <<"EOF" },
location = /expired.json {
    alias %%TESTDIR%%/expired.json;
    default_type application/json;
}
EOF
    locations => <<"EOF");
location /measurement/ {
    rewrite ^/measurement/(.*)\$ /v1/\$1 break;
    confer_seal http://127.0.0.1:%%PORT_HOP%% policy=$measure;
    proxy_pass http://127.0.0.1:%%PORT_HOP%%;
}
location /expired/ {
    rewrite ^/expired/(.*)\$ /v1/\$1 break;
    confer_seal http://127.0.0.1:%%PORT_HOP%% policy=$good
                attestation=/expired.json;
    proxy_pass http://127.0.0.1:%%PORT_HOP%%;
}
location /down/ {
    rewrite ^/down/(.*)\$ /v1/\$1 break;
    confer_seal http://127.0.0.1:%%PORT_HOP%% policy=$down;
    proxy_pass http://127.0.0.1:%%PORT_HOP%%;
}
location /tamper/ {
    rewrite ^/tamper/(.*)\$ /v1/\$1 break;
    confer_seal http://127.0.0.1:%%PORT_HOP%% policy=$tamper;
    proxy_pass http://127.0.0.1:%%PORT_HOP%%;
}
EOF

# the terminator's own document, and an expired one for its key
my $doc = $t->request(terminator => 'GET /.well-known/confer-attestation');
is($doc->status, 200, 'the terminator serves its document');
my $keys = $t->prefix . '/keys';
write_bytes($keys, decode_base64($json->decode($doc->body)
                                 ->{ohttp_keys}));
my ($rc, $out) = cli($t, 'simulate', 'doc', $dir, '--keys', $keys,
                     '--lifetime', 10, '--now', time - 1000);
is($rc, 0, 'an expired document for the same key');
write_bytes($t->prefix . '/expired.json', $out);

# the good way works, as the control
my $r = $t->post_json(gateway => '/v1/embeddings',
                      { model => 'mock-embedding', input => 'control' });
is($r->status, 200, 'the policy that matches: sealed and answered');

sub refused {
    my ($what, $where, $reason, @mutate) = @_;
    my $canary = "canary-$where-" . int(rand(1e9));
    $t->start_relay(hop => target => 'terminator', mutate => \@mutate);
    $t->mock_reset;
    my $from = $t->log_size('gateway', 'error');

    my $r = $t->post_json(gateway => "/$where/chat/completions",
        { model => 'mock-model', messages => [ { role => 'user',
                                                 content => $canary } ] });
    is($r->status, 503, "$what: 503");
    is(problem_of($r)->{type}, 'attestation_error', "$what: an attestation "
                                                    . 'error');
    like(problem_of($r)->{code}, qr/^(?:$reason)$/,
         "$what: " . (problem_of($r)->{code} // '-'));
    ok($r->header('Retry-After'), "$what: Retry-After");
    like($t->log_slice('gateway', 'error', $from),
         qr/\[error\].*confer: attestation of "[^"]+" failed: (?:$reason) /,
         "$what: the error log names the reason");
    is(scalar(sealed_requests($t)), 0, "$what: no sealed request at the "
                                       . 'relay');
    is_deeply([ relay_has($t, $canary, 'mock-model') ], [],
              "$what: not one byte of the request there");
    is(scalar @{ $t->mock_requests }, 0, "$what: nothing at the model "
                                         . 'server');
    is($t->request(gateway => 'GET /status')->status, 200,
       "$what: the gateway still answers");
}

refused('a policy that does not match the measurement', 'measurement',
        'measurement_not_allowed');
refused('an expired document', 'expired', 'document_expired');

# evidence tampered with in transit: a letter of the base64 evidence
# changes case on the relay (still base64, other bytes)
$t->start_relay(hop => target => 'terminator');
$t->request(hop => 'GET /.well-known/confer-attestation');
my $wire = $t->relay_stream(hop => 'down');
my $at = index($wire, '"evidence":"') + length('"evidence":"') + 300;
$at++ while substr($wire, $at, 1) !~ /[A-Za-z]/;
refused('evidence tampered with on the way', 'tamper',
        'bad_signature|binding_mismatch|bad_report',
        "down:flip:$at:0x20\@1");

# the relay answers, and finds nothing behind it (it closes the gateway's
# connection, which the gateway may see as an end or, when the close
# meets its request, as a reset)
$t->stop('terminator');
refused('a terminator that is down', 'down',
        'bad_response|connect_failed|connection_error');

$t->done;
