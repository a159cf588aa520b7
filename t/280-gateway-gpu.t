# A gateway whose policy requires GPUs (`"gpu": {"required": true,
# "count": 2}`) in front of two real terminators, one with gpu=simulated:2
# and one without: the first is attested with its GPUs bound to its keys
# and requests pass; the second fails closed, 503 gpu_required, nothing
# sent; a policy wanting three GPUs refuses the first (gpu_count_too_low).
# confer_status shows the GPU facts that were verified, and nothing of any
# request.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new;
my $sim = sim_dir($t);
my $json = $t->json;

sub policy {
    my ($name, $gpu) = @_;
    my $f = $t->prefix . "/$name.json";
    open my $fh, '>', $f or die "$f: $!";
    print $fh $json->encode({ platforms => [],
                              allow_simulated => JSON::PP::true,
                              simulated_root => "$sim/sim-root.pem",
                              gpu => $gpu });
    close $fh;
    return $f;
}

my $two = policy('gpu-two', { required => JSON::PP::true, count => 2 });
my $three = policy('gpu-three', { required => JSON::PP::true, count => 3 });

$t->start_mock;
$t->nginx(tgpu => terminator_spec($t, key => 'gpu=simulated:2'));
$t->nginx(tplain => terminator_spec($t));

my $gpu = 'http://127.0.0.1:%%PORT_TGPU%%';
my $plain = 'http://127.0.0.1:%%PORT_TPLAIN%%';

$t->nginx(gateway => {
    http => 'confer_cache zone=confer:1m;',
    server => <<"EOF",
location /gpu/ {
    rewrite ^/gpu/(.*)\$ /v1/\$1 break;
    confer_seal $gpu policy=$two;
    proxy_pass $gpu;
}
location /plain/ {
    rewrite ^/plain/(.*)\$ /v1/\$1 break;
    confer_seal $plain policy=$two retry=1h;
    proxy_pass $plain;
}
location /three/ {
    rewrite ^/three/(.*)\$ /v1/\$1 break;
    confer_seal $gpu policy=$three retry=1h;
    proxy_pass $gpu;
}
location = /status {
    confer_status;
}
EOF
});

my $canary = 'canary-' . int(rand(1e9));
my $chat = { model => 'mock-model',
             messages => [ { role => 'user', content => $canary } ] };

my $r = $t->post_json(gateway => '/gpu/chat/completions', $chat);
is($r->status, 200, 'two bound GPUs: the request passes the gate');
is(scalar @{ $t->mock_requests }, 1, 'and reaches the model server');
like($t->log_slice('gateway', 'error', 0),
     qr/\[notice\].*confer: attested "http:\/\/127\.0\.0\.1:\d+": simulated, .*2 bound GPU devices/,
     'the gateway notes the bound GPUs');

for my $case ([ plain => 'gpu_required' ], [ three => 'gpu_count_too_low' ]) {
    my ($loc, $want) = @$case;
    my $from = $t->log_size('gateway', 'error');
    $t->mock_reset;
    $r = $t->post_json(gateway => "/$loc/chat/completions", $chat);
    is($r->status, 503, "$loc: 503");
    my $e = eval { $json->decode($r->body) } || {};
    is($e->{error}{code}, $want, "$loc: the reason is $want");
    is(scalar @{ $t->mock_requests }, 0, "$loc: nothing reached the model "
       . 'server');
    like($t->log_slice('gateway', 'error', $from),
         qr/\[error\].*confer: attestation of "http:[^"]+" failed: $want/,
         "$loc: the error log names it");
}

# --- confer_status ----------------------------------------------------------

$r = $t->request(gateway => 'GET /status');
is($r->status, 200, 'status');
unlike($r->body, qr/\Q$canary\E/, 'no request content in it');
my $st = $json->decode($r->body);
my %by = map { ($_->{policy} =~ /three/ ? 'three'
                : $_->{url} eq $t->expand($plain) ? 'plain' : 'gpu') => $_ }
         @{ $st->{terminators} };

my $g = $by{gpu}{gpus};
is($by{gpu}{state}, 'verified', 'the GPU terminator is verified');
is($g->{count}, 2, 'gpus.count: 2');
is($g->{switches}, 0, 'gpus.switches: 0');
is(scalar @{ $g->{devices} }, 2, 'two devices');
my $d = $g->{devices}[0];
is($d->{kind}, 'gpu', 'kind');
is($d->{simulated}, JSON::PP::true, 'simulated, and saying so');
like($d->{model}, qr/GH100/, 'model');
is($d->{arch}, 'HOPPER', 'arch');
like($d->{driver}, qr/^\d+\.\d+\.\d+$/, 'driver version');
like($d->{vbios}, qr/^[0-9A-F]{2}(\.[0-9A-F]{2}){4}$/i, 'VBIOS version');
like($d->{fwid}, qr/^[0-9a-f]{96}$/, 'FWID');
ok($d->{chain_not_after} > time, 'the chain\'s end');
is_deeply($by{gpu}{tcb}, { bootloader => 1, tee => 0, snp => 1,
                           microcode => 1, fmc => 0 },
          'and the CPU\'s reported TCB');

is($by{plain}{state}, 'failed', 'the terminator without GPUs: failed');
is($by{plain}{last_error}{reason}, 'gpu_required', 'gpu_required');
ok(!exists $by{plain}{gpus}, 'no verified facts for it');
is($by{three}{last_error}{reason}, 'gpu_count_too_low',
   'three wanted: gpu_count_too_low');

$t->done;
