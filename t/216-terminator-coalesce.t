# confer_coalesce: the terminator holds a streamed answer's reads for a
# window and seals all it holds as one chunk, so that a hop between gateway
# and terminator (the recording relay) sees fewer chunks, still on the pad
# quantum, timed by the window rather than by the tokens; the client gets
# the same bytes.  Without it, one sealed chunk per read of the model
# server, as before.  The end of a stream goes out at once with what is
# held; a client that goes during a window leaves no timer behind.
#
#   client -> gateway -> relay "hop" -> terminator -> MOCK model server
#
# The gateway has one server per terminator endpoint: the default one
# (no coalescing), /.well-known/ohttp-window (200ms),
# /.well-known/ohttp-long (60s, longer than any wait of this file) and
# /.well-known/ohttp-ignore (200ms, proxy_ignore_client_abort on).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);

# --- bad values fail nginx -t, naming the directive -----------------------

for my $v ('soon', '-1s', '61s', '2m', 'on') {
    my ($ok, $out) = $t->nginx_t({ http => "confer_coalesce $v;" });
    ok(!$ok && $out =~ /invalid value "\Q$v\E" in "confer_coalesce"/,
       "confer_coalesce $v: nginx -t refuses it, naming the directive")
        or diag($out);
}

my ($ok, $out) = $t->nginx_t({ http => 'confer_coalesce 1s 2s;' });
ok(!$ok && $out =~ /invalid number of arguments in "confer_coalesce"/,
   'two values are refused') or diag($out);

($ok, $out) = $t->nginx_t({ server => "confer_coalesce 1s;\n"
                                      . "confer_coalesce 2s;" });
ok(!$ok && $out =~ /"confer_coalesce" directive is duplicate/,
   'twice in one block is refused') or diag($out);

($ok, $out) = $t->nginx_t({ http => 'confer_coalesce 60s;',
                            server => "confer_coalesce off;\n"
                                      . "location /a { confer_coalesce 0; }\n"
                                      . "location /b { confer_coalesce 1ms; }"
                          });
ok($ok, 'off, 0, 1ms to 60s at the http, server and location levels')
    or diag($out);

# --- the stack -------------------------------------------------------------

my $policy = sim_policy($t);

sub term_location {
    my ($endpoint, $window, $more) = @_;
    $more //= '';
    return <<"EOF";
location = $endpoint {
    confer_open;
    confer_coalesce $window;
    $more
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
    proxy_buffering off;
    proxy_http_version 1.1;
}
EOF
}

sub gateway_server {
    my ($port, $endpoint) = @_;
    return <<"EOF";
server {
    listen 127.0.0.1:%%PORT_$port%%;
    location /v1/ {
        confer_seal http://127.0.0.1:%%PORT_HOP%% policy=$policy
                    endpoint=$endpoint;
        proxy_pass http://127.0.0.1:%%PORT_HOP%%;
        proxy_buffering off;
    }
}
EOF
}

stack($t,
      terminator => { server => term_location('/.well-known/ohttp-window',
                                              '200ms')
                              . term_location('/.well-known/ohttp-long',
                                              '60s')
                              . term_location('/.well-known/ohttp-ignore',
                                              '200ms',
                                              'proxy_ignore_client_abort on;')
                    },
      http => gateway_server('WINDOW', '/.well-known/ohttp-window')
            . gateway_server('LONG', '/.well-known/ohttp-long')
            . gateway_server('IGNORE', '/.well-known/ohttp-ignore'));

sub chat {
    my (%mock) = @_;
    return { model => 'mock-model', stream => JSON::PP::true,
             messages => [ { role => 'user', content => 'coalesce 7c1' } ],
             mock => \%mock };
}

# The sealed chunks of the answer to the last sealed request the relay
# carried: [{ wire, final, t }], t when the relay read the chunk's last
# byte.  Chunked draft, 6.2: the response nonce, then varint-length chunks,
# then a zero length and the final chunk to the end of the stream.
sub wire_chunks {
    my $conn = (sealed_requests($t))[-1]{conn};
    my @reads = grep { $_->{event} eq 'data' && $_->{dir} eq 'down'
                       && $_->{conn} == $conn }
                @{ $t->relay_records('hop') };
    my ($all, @ends) = ('');
    for (@reads) {
        $all .= $_->{data};
        push @ends, [ length $all, $_->{t} ];
    }
    my $at = sub {
        for (@ends) { return $_->[1] if $_->[0] >= $_[0] }
        return undef;
    };
    my $start = index($all, "\r\n\r\n");
    return () if $start < 0;
    my $head = substr($all, 0, $start);
    die "a chunked HTTP body at the relay: parse it first\n"
        if $head =~ /^transfer-encoding:\s*chunked/mi;
    $start += 4;

    # the nonce is 32 or 16 bytes (the AEAD's): the size with which the
    # chunks run to the end of what was read
    for my $nonce (32, 16) {
        my ($i, @c) = ($start + $nonce);
        while ($i < length $all) {
            my $b = ord substr($all, $i, 1);
            my $vlen = 1 << ($b >> 6);
            my $v = $b & 0x3f;
            $v = $v * 256 + ord substr($all, $i + $_, 1) for 1 .. $vlen - 1;
            if ($v == 0) {
                push @c, { wire => length($all) - $i, final => 1,
                           t => $at->(length $all) };
                $i = length $all;
                last;
            }
            last if $i + $vlen + $v > length $all;
            push @c, { wire => $vlen + $v, final => 0,
                       t => $at->($i + $vlen + $v) };
            $i += $vlen + $v;
        }
        return @c if $i == length $all;
    }
    return ();
}

sub off_quantum { grep { $_->{wire} % 256 } @_ }

# --- (b) without confer_coalesce: one sealed chunk per read ---------------

my $few = chat(tokens => 10, delay_ms => 40);
my $want = mock_direct($t, 'POST', '/v1/chat/completions',
                       $t->json->encode($few))->body;
my $nev = sse_events($want);
ok($nev >= 11, "the MOCK streams $nev events");

my $r = $t->post_json(gateway => '/v1/chat/completions', $few);
is($r->status, 200, 'the plain chain: 200');
is($r->body, $want, 'the MOCK\'s stream, byte for byte');
my @c = wire_chunks();
ok(@c && $c[-1]{final}, 'the relay carried the stream to its final chunk');
is(scalar(@c) - 2, $nev, 'without confer_coalesce: one sealed chunk per '
   . 'event between the head and the final chunk');

# --- (a) confer_coalesce 200ms: fewer chunks, the same bytes --------------

my $many = chat(tokens => 60, token_sizes => [ 1 .. 40 ], delay_ms => 10);
my $plain = $t->post_json(gateway => '/v1/chat/completions', $many);
is($plain->status, 200, 'a stream of 60 tokens of 1 to 40 bytes, plain');
my $nplain = scalar(wire_chunks()) - 2;

$r = $t->post_json(window => '/v1/chat/completions', $many);
is($r->status, 200, 'the same through confer_coalesce 200ms: 200');
ok($r->complete, 'complete');
is($r->body, $plain->body,
   'the client gets every token, in order, byte-identical to the '
   . 'uncoalesced answer');
is(scalar @{ $r->events }, scalar @{ $plain->events },
   scalar(@{ $r->events }) . ' events either way');
unlike($r->body, qr/^:~/m, 'without padding lines');

@c = wire_chunks();
ok(@c && $c[-1]{final}, 'the relay carried it to its final chunk');
my $ndata = scalar(@c) - 2;
ok($ndata >= 1 && $ndata <= 20,
   "far fewer sealed chunks than tokens: $ndata for 60 tokens "
   . "($nplain uncoalesced)");
is_deeply([ off_quantum(@c) ], [],
          'every one still a multiple of 256 bytes ('
          . join(' ', map { $_->{wire} } @c) . ')');

# the window's end alone sends what is held: the MOCK sends 3 events, then
# holds the rest until it is released; the client sees them meanwhile
$t->mock_reset;
my $s = $t->stream(window => 'POST /v1/chat/completions',
                   headers => [ 'Content-Type' => 'application/json' ],
                   body => $t->json->encode(chat(tokens => 6, hold_after => 3,
                                                 delay_ms => 10)));
ok($s->read_until(sub { @{ $_[0]->events } >= 3 }),
   'held events go out when the window ends, with nothing more from the '
   . 'model server');
@c = wire_chunks();
is(scalar(@c), 2, 'the head and one sealed chunk for the 3 events');
ok(!grep({ $_->{final} } @c), 'and no final chunk yet');
$t->mock_release;
$r = $s->finish;
is($r->status, 200, 'released, the stream goes on to its end');
my $six = sse_events(mock_direct($t, 'POST', '/v1/chat/completions',
    $t->json->encode(chat(tokens => 6, delay_ms => 10)))->body);
ok($r->complete && @{ $r->events } == $six,
   "with every event ($six)");
ok((wire_chunks())[-1]{final}, 'and its final chunk');

# --- (c) the end does not wait for the window ------------------------------

# confer_coalesce 60s: the events are held, then the model server ends the
# stream; the end sends them with the final chunk at once.  (The client's
# timeout, CONFER_TEST_TIMEOUT, 10s by default, is shorter than the window:
# an end that waited for it fails here.)
my $short = chat(tokens => 3, delay_ms => 10);
my $short_plain = $t->post_json(gateway => '/v1/chat/completions', $short);
$t->mock_reset;
$r = $t->post_json(long => '/v1/chat/completions', $short);
is($r->status, 200, 'confer_coalesce 60s: a short stream, 200');
ok($r->complete, 'complete before the window could end');
is($r->body, $short_plain->body, 'byte-identical to the uncoalesced answer');
@c = wire_chunks();
is(scalar(@c), 3, 'on the wire: the head, one chunk with every event, the '
   . 'final chunk') or diag(explain(\@c));
ok($c[-1]{final}, 'the last one final');
my $m = $t->mock_requests->[-1];
ok($m && $m->{complete} && $c[-1]{t} < $m->{events_sent}[0] + 60,
   'the final chunk crossed the hop before the window of the first held '
   . 'event ended');
is_deeply([ off_quantum(@c) ], [], 'all on the quantum');

# what is held is bounded: 24 tokens of 3000 bytes through the 60s window
# are sealed each time 16 KiB are held, long before the window ends
my $big = chat(tokens => 24, token_sizes => [ 3000 ], delay_ms => 10);
my $big_plain = $t->post_json(gateway => '/v1/chat/completions', $big);
$r = $t->post_json(long => '/v1/chat/completions', $big);
ok($r->complete && $r->body eq $big_plain->body,
   'a 72 KB stream through confer_coalesce 60s, byte for byte');
@c = wire_chunks();
my @held = grep { !$_->{final} } @c[1 .. $#c];
ok(@held >= 4, scalar(@held) . ' sealed chunks for it: each time 16 KiB '
   . 'were held, and the rest with the end');
my ($largest) = sort { $b <=> $a } map { $_->{wire} } @held;
ok($largest <= 16384 + 8192 + 512,
   "none above 16 KiB and one read of the model server ($largest bytes)");
is_deeply([ off_quantum(@c) ], [], 'all on the quantum');

# a non-streamed answer is sealed whole, as without the directive
$r = $t->post_json(long => '/v1/chat/completions',
                   { model => 'mock-model',
                     messages => [ { role => 'user', content => 'whole' } ] });
is($r->status, 200, 'a JSON answer through confer_coalesce 60s: 200');
ok($r->complete && $r->json && $r->json->{choices},
   'at once, whole');

# --- (e) a client that goes during a window --------------------------------

$t->mock_reset;
$s = $t->stream(long => 'POST /v1/chat/completions',
                headers => [ 'Content-Type' => 'application/json' ],
                body => $t->json->encode(chat(tokens => 6, hold_after => 3,
                                              delay_ms => 10)));
ok($t->wait_for(sub { my $x = $t->mock_requests->[-1];
                      $x && @{ $x->{events_sent} } >= 3 },
                'the MOCK sent 3 events'),
   'the MOCK sent 3 events, which the terminator holds for 60s');
is(scalar(grep { !$_->{final} } wire_chunks()), 1,
   'only the head crossed the hop');
$s->close;
ok($t->wait_for(sub { my $x = $t->mock_requests->[-1];
                      $x && $x->{closed_early} },
                'the model request is cancelled'),
   'the client goes: the terminator cancels the model request in the '
   . 'middle of its window');
is(scalar(grep { !$_->{final} } wire_chunks()), 1,
   'what was held never left the terminator');
$t->mock_release;

# the hop resets both connections in the first coalesced chunk: the
# terminator learns it from the socket or from its next window's write
$t->start_relay(hop => target => 'terminator', mutate => [ 'down:reset:600' ]);
$t->mock_reset;
$r = $t->post_json(window => '/v1/chat/completions',
                   chat(tokens => 40, delay_ms => 25));
ok(!$r->complete || $r->status != 200,
   'a hop that resets the stream: the client sees no whole answer');
ok($t->wait_for(sub { my $x = $t->mock_requests->[-1];
                      $x && ($x->{closed_early} || $x->{complete}) },
                'the model request ends'), 'the model request ends');
ok($t->mock_requests->[-1]{closed_early},
   'cancelled by the terminator before the MOCK finished');

# the same where the terminator does not watch its client
# (proxy_ignore_client_abort on): the next window's write fails, and ends
# the request
$t->start_relay(hop => target => 'terminator', mutate => [ 'down:reset:600' ]);
$t->mock_reset;
$r = $t->post_json(ignore => '/v1/chat/completions',
                   chat(tokens => 40, delay_ms => 25));
ok(!$r->complete || $r->status != 200,
   'proxy_ignore_client_abort on: the client sees no whole answer either');
ok($t->wait_for(sub { my $x = $t->mock_requests->[-1];
                      $x && ($x->{closed_early} || $x->{complete}) },
                'the model request ends'), 'the model request ends');
ok($t->mock_requests->[-1]{closed_early},
   'cancelled by the terminator when a window\'s write failed');
$t->start_relay(hop => target => 'terminator');

$r = $t->post_json(window => '/v1/chat/completions', $few);
is($r->body, $want, 'the terminator goes on: the next stream, byte for byte');

# nginx waits for the timers a graceful stop must not cut short; a timer
# left behind by the cancelled request would keep the worker for 60s (on
# freed memory)
my $pid = $t->nginx_pid('terminator');
kill 'QUIT', $pid;
ok(eval { $t->wait_for(sub { !Confer::Test::_alive($pid) },
                       'the terminator stops', 30); 1 },
   'a graceful stop does not wait for the cancelled request\'s window: its '
   . 'timer went with the request');

$t->done;
