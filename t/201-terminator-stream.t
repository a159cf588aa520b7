# Streamed answers through the terminator: chunked OHTTP with one sealed
# chunk per upstream read, flushed at once, each a multiple of the pad
# quantum on the wire; the head before the first token; no final chunk
# when the model server dies mid-stream.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;
$t->nginx(term => terminator_spec($t));

sub chat {
    my (%mock) = @_;
    my $m = join ',', map { "\"$_\":$mock{$_}" } sort keys %mock;
    return '{"model":"mock-model","stream":true,"messages":[{"role":"user",'
         . '"content":"tell me a secret 51c0"}],"mock":{' . $m . '}}';
}

my $body = chat(tokens => 6, delay_ms => 40);
my $want = mock_direct($t, 'POST', '/v1/chat/completions', $body)->body;
my $nev = sse_events($want);
ok($nev >= 7, "the MOCK streams $nev events");

my $r = client($t, 'term', { mode => 'chunked', path => '/v1/chat/completions',
    headers => { 'content-type' => 'application/json' }, body => $body });
is($r->{inner}{status}, 200, 'streamed: inner 200') or diag(explain($r));
is($r->{inner}{headers}{'content-type'}, 'text/event-stream',
   'inner content-type is text/event-stream');
my $got = b64d($r->{inner}{body_b64});
isnt($got, $want, 'the stream carries padding lines');
is(strip_pad($got), $want, 'without them it is the MOCK\'s stream, '
   . 'byte for byte');

my @c = @{ $r->{chunks} };
ok($c[-1]{final}, 'the stream ends with its final chunk');
is(scalar(grep { $_->{final} } @c), 1, 'one final chunk');
# head, then one chunk per event, then the final one
is(scalar(@c), $nev + 2, 'one sealed chunk per event, after the head');
is(scalar(grep { $_->{wire} % 256 } @c), 0,
   'every sealed chunk is a multiple of 256 bytes on the wire')
    or diag(join ' ', map { $_->{wire} } @c);

# chunks arrive before the stream ends: the MOCK holds after 3 events
# until the client, having opened them, asks it to go on
my $held = chat(tokens => 6, hold_after => 3);
$r = client($t, 'term', { mode => 'chunked', path => '/v1/chat/completions',
    headers => { 'content-type' => 'application/json' }, body => $held,
    release => { url => 'http://127.0.0.1:' . $t->port('mock')
                        . '/__mock/release', after => 3 } });
is($r->{events_before_release}, 3,
   'three events were opened while the MOCK held the rest');
is($r->{inner}{status}, 200, 'and the stream then completed');
ok($r->{chunks}[-1]{final}, 'with its final chunk');

# plain OHTTP buffers the whole stream and seals it once
$r = client($t, 'term', { mode => 'plain', path => '/v1/chat/completions',
    headers => { 'content-type' => 'application/json' }, body => $body });
is(b64d($r->{inner}{body_b64}), $want,
   'plain OHTTP: the whole stream in one sealed answer');
my $outer = length b64d($r->{outer}{body_b64});
# nonce (16) + bucket-padded BHTTP + tag (16)
my $bhttp = $outer - 32;
ok(($bhttp & ($bhttp - 1)) == 0 || $bhttp % 65536 == 0,
   "plain OHTTP answer padded to a size bucket ($bhttp bytes)");

# a non-streamed answer over chunked OHTTP: one final chunk, padded
my $json = '{"model":"mock-model","messages":[{"role":"user",'
         . '"content":"not streamed 77"}]}';
$r = client($t, 'term', { mode => 'chunked', path => '/v1/chat/completions',
    headers => { 'content-type' => 'application/json' }, body => $json });
is(b64d($r->{inner}{body_b64}),
   mock_direct($t, 'POST', '/v1/chat/completions', $json)->body,
   'JSON over chunked OHTTP, byte for byte');
is(scalar(grep { $_->{wire} % 256 } @{ $r->{chunks} }), 0,
   'its chunks are multiples of 256 bytes too');

# the model server dies after 3 events: no final chunk, a truncation
$r = client($t, 'term', { mode => 'chunked', path => '/v1/chat/completions',
    headers => { 'content-type' => 'application/json' },
    body => chat(tokens => 6, cut_after => 3, delay_ms => 20) });
like($r->{error} // '', qr/truncated/,
     'an upstream cut mid-stream is a truncation for the client');
ok(!grep({ $_->{final} } @{ $r->{chunks} }), 'no final chunk was sent');
$t->allow_error_log('term', qr/upstream prematurely closed/);

# a long stream: buffers are reused, every byte still arrives
my $long = chat(tokens => 1500, token_sizes => '"1,7,30"');
my $want_long = mock_direct($t, 'POST', '/v1/chat/completions', $long)
                    ->body;
$r = client($t, 'term', { mode => 'chunked', path => '/v1/chat/completions',
    headers => { 'content-type' => 'application/json' }, body => $long });
is(strip_pad(b64d($r->{inner}{body_b64})), $want_long,
   'a stream of 1500 events, byte for byte (' . scalar(@{ $r->{chunks} })
   . ' chunks)');
is(scalar(grep { $_->{wire} % 256 } @{ $r->{chunks} }), 0,
   'all of them multiples of 256 bytes');

# pad=0: no padding lines
$t->nginx(term => terminator_spec($t, open => 'pad=0'));
$r = client($t, 'term', { mode => 'chunked', path => '/v1/chat/completions',
    headers => { 'content-type' => 'application/json' }, body => $body });
is(b64d($r->{inner}{body_b64}), $want, 'pad=0: the stream as the MOCK sent it');

$t->done;
