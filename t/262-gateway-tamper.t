# The hops between gateway and terminator are untrusted: whatever they do
# to the answer (cut it anywhere, flip any byte, reset, answer themselves
# with a 413, a 502, text, garbage, a problem that is not the key one), the
# client never gets it as the model server's answer.  Before the client
# has headers it gets a 502 with an OpenAI-style error; a stream that is
# cut or spoiled after its head ends unterminated, never cleanly.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);

# hops that answer the sealed request themselves (the attestation document
# still comes from the terminator)
my %hops = (
    h413 => [ 'return 413;', 'upstream_error' ],
    h502 => [ 'return 502;', 'upstream_error' ],
    hredirect => [ 'return 302 /elsewhere;', 'upstream_error' ],
    htext => [ 'default_type text/plain; return 200 "canary-hop-text";',
               'upstream_error' ],
    hgarbage => [ 'default_type message/ohttp-chunked-res; '
                  . 'return 200 "canary-hop-garbage-0123456789abcdef";',
                  qr/^(open_failed|truncated)$/ ],
    hempty => [ 'default_type message/ohttp-chunked-res; return 200 "";',
                'truncated' ],
    hplain => [ 'default_type message/ohttp-res; '
                . 'return 200 "canary-hop-plain-0123456789abcdef";',
                qr/^(open_failed|truncated)$/ ],
    hproblem => [ 'default_type application/problem+json; return 400 '
                  . "'{\"type\":\"https://example.net/canary-hop\"}';",
                  'upstream_error' ],
);

my $servers = join '', map { <<"EOF" } sort keys %hops;
    server {
        listen 127.0.0.1:%%PORT_\U$_\E%%;
        location = /.well-known/confer-attestation {
            proxy_pass http://127.0.0.1:%%PORT_TERMINATOR%%;
        }
        location = /.well-known/ohttp-gateway {
            $hops{$_}[0]
        }
    }
EOF

my $policy = sim_policy($t);
my $locations = join '', map { <<"EOF" } sort keys %hops;
location /$_/ {
    rewrite ^/$_/(.*)\$ /v1/\$1 break;
    confer_seal http://127.0.0.1:%%PORT_\U$_\E%% policy=$policy;
    proxy_pass http://127.0.0.1:%%PORT_\U$_\E%%;
}
EOF

$t->start_mock;
$t->nginx(terminator => terminator_spec($t));
$t->nginx(hops => "http {\n$servers}\n");
$t->start_relay(hop => target => 'terminator');
$t->nginx(gateway => gateway_spec($t, locations => $locations));

my $chat = { model => 'mock-model', messages => [ { role => 'user',
                                                    content => 'tamper' } ] };
# events 20 ms apart: each one upstream read, so that every run of the
# stream has the same chunks and the same length on the wire
my $stream = { %$chat, stream => JSON::PP::true,
               mock => { delay_ms => 20 } };
my $want = mock_direct($t, 'POST', '/v1/chat/completions',
                       $t->json->encode($chat))->body;
my $want_stream = mock_direct($t, 'POST', '/v1/chat/completions',
                              $t->json->encode($stream))->body;

# one request through a relay that damages each connection as told (the
# key is cached: every connection is a sealed request)
sub through {
    my ($data, @mutate) = @_;
    $t->start_relay(hop => target => 'terminator', mutate => \@mutate);
    return $t->post_json(gateway => '/v1/chat/completions', $data);
}

# the answer, damaged in each of these ways in turn
sub sweep {
    my ($data, @mutate) = @_;
    my $n = 0;
    $t->start_relay(hop => target => 'terminator',
                    mutate => [ map { $_ . '@' . ++$n } @mutate ]);
    return map { $t->post_json(gateway => '/v1/chat/completions', $data) }
           @mutate;
}

sub is_502 {
    my ($r, $what, $code) = @_;
    my $e = problem_of($r);
    my $ok = ($r->status // 0) == 502 && $r->complete
             && $r->header('Content-Type') eq 'application/json'
             && ($e->{type} // '') eq 'sealing_error';
    $ok &&= ref $code ? ($e->{code} // '') =~ $code
                      : ($e->{code} // '') eq $code if $code;
    ok($ok, "$what: 502 " . ($e->{code} // '?')) or diag($r->raw);
}

# the bytes of the answer on the hop's last connection
sub answer_length {
    return length $t->relay_stream(hop => 'down',
                                   (sealed_requests($t))[-1]{conn});
}

# the whole answer as the hop carries it, to cut and flip it everywhere
through($chat);
my $down = answer_length();
ok($down > 300, "a sealed answer is $down bytes on the wire");

# --- a whole answer: cut anywhere -------------------------------------------

my @at = map { $_ * 13 } 0 .. int(($down - 1) / 13);
my @r = sweep($chat, map { "down:truncate:$_" } @at);
my (%codes, @bad);
for my $i (0 .. $#at) {
    $codes{ problem_of($r[$i])->{code} // '' }++;
    push @bad, $at[$i] unless ($r[$i]->status // 0) == 502
                              && $r[$i]->complete;
}
is_deeply(\@bad, [], 'cut at any of ' . scalar(@at) . ' offsets: always a '
                     . 'complete 502');
ok($codes{truncated} && $codes{unreachable},
   'truncated once the answer began, unreachable before (codes: '
   . join(', ', map { "$_ $codes{$_}" } sort keys %codes) . ')');

# --- a whole answer: flip any byte ------------------------------------------

@at = map { $_ * 5 } 0 .. int(($down - 1) / 5);
@r = sweep($chat, map { "down:flip:$_" } @at);
@bad = ();
my $opened = 0;
for my $i (0 .. $#at) {
    if (($r[$i]->status // 0) == 200) {
        # a flip in the outer head that nginx shrugs off
        $opened++;
        push @bad, $at[$i] unless $r[$i]->body eq $want;
        next;
    }
    push @bad, $at[$i] unless ($r[$i]->status // 0) >= 500
                              && problem_of($r[$i])->{type}
                              && defined $r[$i]->{version};
}
is_deeply(\@bad, [], 'a byte flipped at any of ' . scalar(@at) . ' offsets: '
                     . 'an OpenAI-style error, or (' . $opened . ' times, in '
                     . 'the outer head) the true answer, never another');
my $r = through($chat, 'down:flip:' . ($down - 20));
is_502($r, 'a flip in the final chunk', 'open_failed');
unlike($r->body, qr/mock|tamper/, 'nothing of the answer in the error');

$r = through($chat, 'down:reset:' . ($down - 30));
is_502($r, 'a reset before the end');

# --- the sealed request spoiled on its way ----------------------------------

through($chat);
my $up = length $t->relay_stream(hop => 'up', (sealed_requests($t))[-1]{conn});
$t->mock_reset;
@r = sweep($chat, 'up:flip:' . ($up - 30), 'up:truncate:' . ($up - 30),
           'up:flip:' . ($up - 300));
is_502($r[0], 'a byte of the sealed request flipped on the way');
is_502($r[1], 'the sealed request cut on the way');
is_502($r[2], 'a byte flipped earlier in it');
is(scalar @{ $t->mock_requests }, 0, 'the model server got none of them');

# --- a stream: cut or spoiled after its head --------------------------------

through($stream);
my $sdown = answer_length();

$r = through($stream, 'down:truncate:' . int($sdown * 0.6));
is($r->status, 200, 'a stream cut after its head: the head came');
ok(!$r->complete, 'and the response ends unterminated');
ok(@{ $r->events } > 1, 'after ' . scalar(@{ $r->events }) . ' events');
is(substr($want_stream, 0, length $r->body), $r->body,
   'each of them as the model server sent it');
unlike($r->body, qr/\[DONE\]/, 'no [DONE]');

$r = through($stream, 'down:flip:' . int($sdown * 0.6));
is($r->status, 200, 'a stream with a flipped byte after its head');
ok(!$r->complete, 'ends unterminated too');
is(substr($want_stream, 0, length $r->body), $r->body,
   'what came before the bad chunk is the true beginning');

$r = through($stream, 'down:truncate:' . ($sdown - 5));
ok(!$r->complete, 'a stream without its final chunk: unterminated');
unlike($r->body, qr/:~/, 'and no padding reached the client meanwhile');

$t->start_relay(hop => target => 'terminator');
$r = $t->post_json(gateway => '/v1/chat/completions',
                   { %$stream, mock => { cut_after => 4 } });
is($r->status, 200, 'the model server dies in the middle of a stream');
ok(!$r->complete, 'the client sees it: unterminated');
is(scalar @{ $r->events }, 4, 'after the 4 events that were sent');

# --- hops that answer themselves --------------------------------------------

for my $hop (sort keys %hops) {
    $r = $t->post_json(gateway => "/$hop/chat/completions", $chat);
    is_502($r, "a hop that does \"$hops{$hop}[0]\"", $hops{$hop}[1]);
    unlike($r->body, qr/canary|Moved|Request Entity/,
           "$hop: nothing of the hop's answer reaches the client");
}

# --- the terminator cannot be reached any more ------------------------------

$t->stop_relay('hop');
$r = $t->post_json(gateway => '/v1/chat/completions', $chat);
is_502($r, 'the hop is gone after attestation', 'unreachable');
like(problem_of($r)->{message}, qr/could not be reached/, 'it says so');

my $st = status_of($t)->{terminators};
my ($main) = grep { $_->{url} =~ /:${\ $t->port('hop')}$/ } @$st;
ok($main->{counters}{seal_failed}{truncated}, 'confer_status counts '
   . "truncated ($main->{counters}{seal_failed}{truncated})");
ok($main->{counters}{seal_failed}{open_failed}, 'and open_failed '
   . "($main->{counters}{seal_failed}{open_failed})");
ok($main->{counters}{seal_failed}{upstream_error}, 'and upstream_error '
   . "($main->{counters}{seal_failed}{upstream_error})");

$t->allow_error_log('gateway', qr/\[alert\].*nonexistent/);
$t->done;
