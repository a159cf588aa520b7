# The gateway as conf/gateway.conf runs it: HTTP/1.1 to the terminator
# over kept-alive connections, answers in chunked transfer coding.  Sealed
# requests share a connection, each with its own HPKE context; a hop that
# cuts the chunked answer makes nginx finalize the upstream with an error,
# which the client sees as a 502 before the head and as an unterminated
# stream after it, never as a clean end.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
my $policy = sim_policy($t);

# two hops with a pool of kept-alive connections each: "probe" to measure
# answers, "hop" to cut them; the attestation document comes straight
# from the terminator, so that every connection of a hop is sealed traffic
my $upstreams = join '', map { <<"EOF" } qw(probe hop);
upstream $_ {
    server 127.0.0.1:%%PORT_\U$_\E%%;
    keepalive 4;
}
EOF
my $locations = join '', map { <<"EOF" } qw(probe hop);
location /$_/ {
    rewrite ^/$_/(.*)\$ /v1/\$1 break;
    confer_seal http://127.0.0.1:%%PORT_TERMINATOR%% policy=$policy;
    proxy_pass http://$_;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$confer_terminator_host;
    proxy_buffering off;
}
EOF

$t->start_mock;
$t->nginx(terminator => terminator_spec($t));
$t->start_relay(probe => target => 'terminator');

my $chat = { model => 'mock-model', messages => [ { role => 'user',
                                                    content => 'alive' } ] };
my $stream = { %$chat, stream => JSON::PP::true };
my $want = mock_direct($t, 'POST', '/v1/chat/completions',
                       $t->json->encode($chat))->body;

sub post {
    my ($where, $data) = @_;
    return $t->post_json(gateway => "/$where/chat/completions", $data);
}

# first the hop's cuts are measured on the probe: the first answer on the
# hop's first connection is a whole one, on its second a stream
$t->nginx(gateway => { http => "confer_cache zone=confer:1m;\n$upstreams",
                       server => $locations });
my $r = post(probe => $chat);
my $len_chat = length $t->relay_stream(probe => 'down');
$r = post(probe => $stream);
my $len_stream = length($t->relay_stream(probe => 'down')) - $len_chat;
$t->start_relay(hop => target => 'terminator',
                mutate => [ 'down:truncate:' . int($len_chat * 0.8) . '@1',
                            'down:truncate:' . int($len_stream * 0.7) . '@2' ]);

# --- kept alive -------------------------------------------------------------

my @r = map { post(probe => $chat) } 1 .. 5;
is(scalar(grep { $_->status == 200 && $_->body eq $want } @r), 5,
   'five more sealed requests, five true answers');
my @conns = map { $_->{conn} } sealed_requests($t, 'probe');
is(scalar(grep { $_ != $conns[0] } @conns), 0,
   'all seven on one kept-alive connection to the hop');
like($t->relay_stream(probe => 'down'), qr/Transfer-Encoding: chunked/,
     'answered in chunked transfer coding');
my %enc;
$enc{ substr($_, 0, 39) }++
    for $t->relay_stream(probe => 'up') =~ /\r\n\r\n(.{39})/sg;
is(scalar keys %enc, 7, 'each with its own encapsulated key');

$r = post(probe => $stream);
ok($r->status == 200 && $r->complete && @{ $r->events } == 11,
   'a whole stream on the kept-alive connection');

# --- cut in the chunked coding ----------------------------------------------

$r = post(hop => $chat);
is($r->status, 502, 'a whole answer cut in its chunked coding: 502');
ok($r->complete, 'a complete error response');
like(problem_of($r)->{code}, qr/^(truncated|open_failed)$/,
     'code ' . (problem_of($r)->{code} // '-'));

$r = post(hop => $stream);
is($r->status, 200, 'a stream cut after its head');
ok(!$r->complete, 'ends unterminated');
ok(@{ $r->events } >= 1, 'after ' . scalar(@{ $r->events }) . ' events');

like($t->log_slice('gateway', 'error', 0),
     qr/upstream prematurely closed connection/,
     'nginx saw the upstream close early');

$r = post(hop => $chat);
is($r->status, 200, 'and the next request passes, on a new connection');

$t->done;
