# Several terminators in one confer_seal: each is attested on its own, the
# gate picks one of the verified ones per request (round robin) and
# exposes it as $confer_terminator for proxy_pass; one that fails is
# skipped, a slow one is not waited for, and when all fail the client
# gets a 503 with nothing sent.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Attestation;

my $t = Confer::Test->new(node => 1);
my $a = Confer::Attestation->new($t);
my $policy = $a->path('policy.json');

$t->start_mock;

# two terminators that serve their document and take sealed requests
# (which they cannot open: the gateway answers 502 for them, and their
# access logs say who got what)
for my $tee (qw(tee1 tee2)) {
    my $doc = $a->write_doc("$tee.json");
    $t->nginx($tee => { server => <<"EOF" });
location = /.well-known/confer-attestation {
    alias $doc;
    default_type application/json;
}
location = /.well-known/ohttp-gateway {
    return 404;
}
EOF
}

# the sealed requests each terminator got so far
sub got {
    my ($tee) = @_;
    my $log = Confer::Test::read_file($t->access_log($tee)) // '';
    return scalar(() = $log =~ m{"POST /\.well-known/ohttp-gateway }g);
}

$a->docserver('bad', mode => 'garbage');
$a->docserver('slow', mode => 'silent');
my $down = $t->port('down');

my $tee1 = 'http://127.0.0.1:%%PORT_TEE1%%';
my $tee2 = 'http://127.0.0.1:%%PORT_TEE2%%';
my $bad = 'http://127.0.0.1:%%PORT_BAD%%';

$t->nginx(gateway => {
    http => <<'EOF',
confer_cache zone=confer:1m;
log_format chosen '$request_uri $status $confer_terminator '
                  '$confer_terminator_host';
EOF
    server => <<"EOF",
access_log %%DIR%%/chosen.log chosen;

location /v1/ {
    confer_seal $tee1 $tee2 $bad policy=$policy;
    proxy_pass \$confer_terminator;
}
location /slow/ {
    confer_seal http://127.0.0.1:%%PORT_SLOW%% $tee1 policy=$policy
                timeout=10s;
    proxy_pass \$confer_terminator;
}
location /none/ {
    confer_seal $bad http://127.0.0.1:$down policy=$policy;
    proxy_pass \$confer_terminator;
}
location = /status {
    access_log off;
    confer_status;
}
EOF
});

sub entry {
    my ($name, $st) = @_;
    my $port = $t->port($name);
    $st //= $a->status('gateway');
    my ($e) = grep { $_->{url} =~ /:$port$/ } @{ $st->{terminators} };
    return $e;
}

# --- a slow terminator is not waited for --------------------------------

my $r = $t->post_json(gateway => '/slow/embeddings',
                      { model => 'mock-model', input => 'x' });
ok($a->passed($r), 'slow: the request passes through the other one');
$t->wait_for(sub { got('tee1') == 1 }, 'tee1 logs it');
is(got('tee2'), 0, 'slow: it went to tee1');
my $slow = entry('slow');
ok($slow->{updating}, 'slow: its attestation was still under way');

# --- round robin over the verified ones, the failed one skipped --------------

my %went;
for my $i (1 .. 12) {
    $r = $t->post_json(gateway => '/v1/embeddings',
                       { model => 'mock-model', input => "x$i" });
    ok($a->passed($r), "request $i passes");
}

$t->wait_for(sub { got('tee1') + got('tee2') == 13 }, 'the tees log them');
%went = (tee1 => got('tee1') - 1, tee2 => got('tee2'));
ok($went{tee1} && $went{tee2}, 'both good terminators served '
   . "(tee1 $went{tee1}, tee2 " . ($went{tee2} // 0) . ')');
is($went{tee1} + $went{tee2}, 12, 'all by one of them');

my $log = '';
$t->wait_for(sub {
    $log = Confer::Test::read_file($t->dir('gateway') . '/chosen.log') // '';
    my @n = $log =~ m{^/v1/embeddings 502 }mg;
    @n == 12;
}, 'the access log has the requests');
my %logged;
$logged{$1}++ while $log =~ m{^/v1/embeddings 502 (\S+) \S+$}mg;
is($logged{ 'http://127.0.0.1:' . $t->port('tee1') }, $went{tee1},
   '$confer_terminator names the one that answered (tee1)');
is($logged{ 'http://127.0.0.1:' . $t->port('tee2') }, $went{tee2},
   '$confer_terminator names the one that answered (tee2)');

like($log, qr{^/v1/embeddings 502 http://(127\.0\.0\.1:\d+) \1$}m,
     '$confer_terminator_host is its host and port');

my $st = $a->status('gateway');
is(entry('tee1', $st)->{state}, 'verified', 'status: tee1 verified');
is(entry('tee2', $st)->{state}, 'verified', 'status: tee2 verified');
is(entry('bad', $st)->{state}, 'failed', 'status: bad failed');
is(entry('bad', $st)->{last_error}{reason}, 'bad_response',
   'status: bad sent no HTTP');
is(entry('tee1', $st)->{counters}{gated} + entry('tee2', $st)->{counters}{gated},
   13, 'status: the gated requests, per terminator');

# --- all fail ----------------------------------------------------------------

$t->mock_reset;
$r = $t->post_json(gateway => '/none/embeddings',
                   { model => 'mock-model', input => 'x' });
is($r->status, 503, 'none attested: 503');
like($r->body, qr/"code":"(bad_response|connect_failed)"/,
     'none attested: a reason of one of them');
is(scalar @{ $t->mock_requests }, 0, 'none attested: nothing sent');

$t->done;
