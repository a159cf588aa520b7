# Faults on the wire between gateway and terminator, and at both ends.
# An untrusted hop reorders the sealed chunks (two of them change places),
# sends one twice, or drops the end, either way; the model server dies in
# the middle of a stream; a client closes its connection in the middle of
# a stream.  Each time: what the client gets, what the logs say, that
# nothing of the request or the answer crossed the hop in clear, that the
# model server got no spoiled request and that an abandoned stream is
# cancelled there, and that both nginx still answer afterwards (a crashed
# worker is an [alert] that the harness finds at the end).  Flipped bytes
# and cuts anywhere are t/262's; this is the rest of the wire's part of
# the fault matrix (t/FAULTS.md).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
stack($t);

my $n = 0;

# a chat whose prompt is a canary; a large one is sealed in several chunks
# of 16 KiB
sub chat {
    my (%o) = @_;
    my $canary = 'canary-wire-' . ++$n . '-' . int(rand(1e9));
    my $prompt = $o{big} ? "$canary " . ('x' x 40000) : $canary;
    my %c = (model => 'mock-model',
             messages => [ { role => 'user', content => $prompt } ]);
    # events 20 ms apart: each one upstream read, so one chunk each, and
    # every run has the same chunks at the same offsets
    %c = (%c, stream => JSON::PP::true, mock => { delay_ms => 20,
                                                  %{ $o{mock} || {} } })
        if $o{stream};
    return ($canary, \%c);
}

# RFC 9000, 16: the variable-length integers of the chunk lengths
sub varint {
    my ($s, $at) = @_;
    my $b = ord substr($s, $at, 1);
    my $len = 1 << ($b >> 6);
    my $v = $b & 0x3f;
    $v = $v * 256 + ord substr($s, $at + $_, 1) for 1 .. $len - 1;
    return ($v, $len);
}

# the chunks of a chunked OHTTP body from $at: [offset, length] each, the
# final one last (chunked draft, 6.1 and 6.2); () if the framing does not
# end exactly there
sub chunks_of {
    my ($s, $at) = @_;
    my @c;
    while ($at < length $s) {
        my ($v, $len) = varint($s, $at);
        if ($v == 0) {
            push @c, [ $at, length($s) - $at ];
            return @c;
        }
        push @c, [ $at, $len + $v ];
        $at += $len + $v;
    }
    return ();
}

# the sealed request on the hop's last connection: its chunks, offsets
# counted from the start of the connection
sub request_chunks {
    my $up = $t->relay_stream(hop => 'up', (sealed_requests($t))[-1]{conn});
    my $body = index($up, "\r\n\r\n") + 4;
    # the chunked request header (7 bytes) and enc (32 for X25519)
    return chunks_of($up, $body + 7 + 32);
}

# the sealed answer on the hop's last connection, its response nonce being
# 16 or 32 bytes (the AEAD's max(Nn, Nk))
sub answer_chunks {
    my $down = $t->relay_stream(hop => 'down',
                                (sealed_requests($t))[-1]{conn});
    my $body = index($down, "\r\n\r\n") + 4;
    for my $nonce (32, 16) {
        my @c = chunks_of($down, $body + $nonce);
        return @c if @c > 4;
    }
    return ();
}

sub through {
    my ($data, @mutate) = @_;
    $t->start_relay(hop => target => 'terminator', mutate => \@mutate);
    $t->mock_reset;
    return $t->post_json(gateway => '/v1/chat/completions', $data);
}

my %want;
sub want {
    my ($data) = @_;
    my $k = $t->json->encode($data);
    return $want{$k} //= mock_direct($t, 'POST', '/v1/chat/completions',
                                     $k)->body;
}

# nothing of the request nor of the answer crossed the hop in clear, and
# both nginx still answer
sub clean {
    my ($what, $canary) = @_;
    is_deeply([ relay_has($t, $canary, 'mock-model', 'chat.completion') ],
              [], "$what: the hop saw no byte of it in clear");
    $t->start_relay(hop => target => 'terminator');
    my ($c, $ok) = chat();
    my $r = $t->post_json(gateway => '/v1/chat/completions', $ok);
    ok($r->status == 200 && $r->body eq want($ok),
       "$what: then the chain still answers");
}

# --- the sealed request, reordered or duplicated on its way -----------------

my ($canary, $big) = chat(big => 1);
my $r = through($big);
is($r->status, 200, 'a large request passes untouched (the control)');
my @rc = request_chunks();
ok(@rc >= 3 && $rc[0][1] == $rc[1][1],
   'it is ' . scalar(@rc) . ' sealed chunks on the wire');

my %up = (
    'two chunks of the request swapped' =>
        "up:swap:$rc[0][0]:$rc[0][1]:$rc[1][1]",
    'a chunk of the request sent twice' => "up:dup:$rc[0][0]:$rc[0][1]",
    'the final chunk of the request swapped with the one before' =>
        "up:swap:$rc[-2][0]:$rc[-2][1]:$rc[-1][1]",
);

for my $what (sort keys %up) {
    my $from = $t->log_size('terminator', 'error');
    $r = through($big, $up{$what});
    is($r->status, 502, "$what: the client gets a 502");
    is(problem_of($r)->{type}, 'sealing_error', "$what: a sealing error");
    like($t->log_slice('terminator', 'error', $from),
         qr/\[info\].*confer: request refused: /,
         "$what: the terminator refused it");
    is(scalar @{ $t->mock_requests }, 0, "$what: the model server got "
                                         . 'nothing');
    clean($what, $canary);
}

# --- the sealed answer, reordered or duplicated on its way ------------------

my $stream;
($canary, $stream) = chat(stream => 1);
$r = through($stream);
is($r->body, want($stream), 'a stream passes untouched (the control)');
my @ac = answer_chunks();
ok(@ac > 6, 'it is ' . scalar(@ac) . ' sealed chunks on the wire');
my $k = int(@ac / 2);

my %down = (
    'two chunks of the answer swapped' =>
        "down:swap:$ac[$k][0]:$ac[$k][1]:$ac[$k + 1][1]",
    'a chunk of the answer sent twice' => "down:dup:$ac[$k][0]:$ac[$k][1]",
    'the final chunk of the answer swapped with the one before' =>
        "down:swap:$ac[-2][0]:$ac[-2][1]:$ac[-1][1]",
    'the final chunk of the answer left out' =>
        "down:drop:$ac[-1][0]:$ac[-1][1]",
);

my $END = qr/the answer (?:was cut before|ended without) its/;
for my $what (sort keys %down) {
    my $from = $t->log_size('gateway', 'error');
    $r = through($stream, $down{$what});
    is($r->status, 200, "$what: the head came");
    ok(!$r->complete, "$what: the response ends unterminated");
    ok(substr(want($stream), 0, length $r->body) eq $r->body,
       "$what: what came is the true beginning ("
       . scalar(@{ $r->events }) . ' events)');
    # the final chunk is the authenticated end: without it, even an answer
    # whose [DONE] came is not ended cleanly
    unlike($r->body, qr/\[DONE\]/, "$what: no [DONE]")
        unless $what =~ /final chunk of the answer left out/;
    like($t->log_slice('gateway', 'error', $from),
         qr/\[error\].*confer: (?:a chunk of the answer did not open|$END)/,
         "$what: the gateway's error log says why");
    clean($what, $canary);
}

# --- the model server dies in the middle of a stream ------------------------

($canary, $stream) = chat(stream => 1, mock => { cut_after => 4 });
my $from_t = $t->log_size('terminator', 'error');
my $from_g = $t->log_size('gateway', 'error');
$r = through($stream);
is($r->status, 200, 'the model server dies mid-stream: the head came');
ok(!$r->complete, 'the client sees an unterminated response, no clean end');
is(scalar @{ $r->events }, 4, 'after the 4 events that were sent');
unlike($r->body, qr/\[DONE\]/, 'no [DONE]');
like($t->log_slice('terminator', 'error', $from_t),
     qr/\[error\].*upstream prematurely closed connection/,
     'the terminator\'s error log says the model server went');
like($t->log_slice('gateway', 'error', $from_g), qr/\[error\].*confer: $END/,
     'the gateway\'s says the answer ended without its end');
clean('the model server dies mid-stream', $canary);

# --- a client that goes away in the middle of a stream ----------------------

($canary, $stream) = chat(stream => 1, mock => { hold_after => 3 });
$t->start_relay(hop => target => 'terminator');
$t->mock_reset;
my $from = $t->log_size('gateway', 'error');
my $s = $t->stream(gateway => 'POST /v1/chat/completions',
                   headers => [ 'Content-Type' => 'application/json' ],
                   body => $t->json->encode($stream));
ok($s->read_until(sub { @{ $_[0]->events } >= 3 }),
   'a client reads the first events of a stream the model server holds');
$s->close;

my $m;
ok($t->wait_for(sub { $m = $t->mock_requests->[-1];
                      $m && $m->{closed_early} }, 'the model server sees '
                . 'the request cancelled'),
   'the client goes: the model request is cancelled (the model server\'s '
   . 'connection closed mid-stream)');
ok(!$m->{complete}, 'before the stream finished');
is(scalar @{ $m->{events_sent} }, 3, 'after the 3 events it had sent');
like($t->log_slice('gateway', 'error', $from),
     qr/\[info\].*client prematurely closed connection/,
     'the gateway logs the client\'s going at info level');
$t->mock_release;
clean('a client gone mid-stream', $canary);

$t->done;
