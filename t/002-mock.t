# The MOCK model server on its own: every endpoint, both modes, the knobs,
# the errors on demand, and its record of what it received.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(nginx => 0, node => 1);
my $T = JSON::PP::true;
my $port = $t->start_mock;

# the line may follow the first accepted connection by a moment
ok($t->wait_for(sub {
        Confer::Test::read_file($t->prefix . '/helpers/mock.log')
            =~ m{^MOCK model server listening on http://127\.0\.0\.1:$port}m
    }, 'the mock logs its start'), 'it says it is the MOCK model server');

sub chat {
    my (%o) = @_;
    my $h = delete $o{headers} || [];
    return $t->post_json(mock => '/v1/chat/completions', {
        model => 'mock-model',
        messages => [ { role => 'user', content => 'what is a mock?' } ],
        %o }, headers => $h);
}

# --- models ---------------------------------------------------------------------

my $r = $t->request(mock => 'GET /v1/models');
is($r->status, 200, 'models: 200');
my $j = $r->json;
is($j->{object}, 'list', 'models: a list');
ok((grep { $_->{id} eq 'mock-model' && $_->{owned_by} eq 'mock' }
    @{ $j->{data} }), 'models: mock-model, owned by mock');

# --- chat, plain ----------------------------------------------------------------

$r = chat();
is($r->status, 200, 'chat: 200');
is($r->header('content-type'), 'application/json', 'chat: JSON');
$j = $r->json;
is($j->{object}, 'chat.completion', 'chat: a chat.completion');
like($j->{system_fingerprint}, qr/mock/, 'chat: the fingerprint says mock');
is($j->{model}, 'mock-model', 'chat: the model asked for');
my $answer = $j->{choices}[0]{message}{content};
is(scalar(split ' ', $answer), 8, 'chat: 8 tokens by default');
is($j->{choices}[0]{finish_reason}, 'stop', 'chat: finish_reason stop');
is_deeply($j->{usage}, { prompt_tokens => 4, completion_tokens => 8,
                         total_tokens => 12 }, 'chat: usage');
is(chat()->body, $r->body, 'chat: the same request, the same answer');
isnt(chat(messages => [ { role => 'user', content => 'another' } ])
     ->json->{choices}[0]{message}{content}, $answer,
     'chat: another prompt, another answer');

is(scalar(split ' ', chat(mock => { tokens => 3 })->json
                     ->{choices}[0]{message}{content}), 3,
   'chat: "mock": {"tokens": 3}');
is(scalar(split ' ', chat(mock => { tokens => 3 },
                          headers => [ 'X-Mock-Tokens' => 5 ])->json
                     ->{choices}[0]{message}{content}), 5,
   'chat: the x-mock-tokens header wins over the body');
$j = chat(max_tokens => 2)->json;
is($j->{usage}{completion_tokens}, 2, 'chat: max_tokens caps the answer');
is($j->{choices}[0]{finish_reason}, 'length', 'chat: finish_reason length');
is(chat(mock => { echo => $T })->json->{choices}[0]{message}{content},
   'what is a mock?', 'chat: echo repeats the prompt');

# --- chat, streamed ------------------------------------------------------------

$r = chat(stream => $T, stream_options => { include_usage => $T });
is($r->status, 200, 'stream: 200');
like($r->header('content-type'), qr{^text/event-stream}, 'stream: SSE');
my $d = $r->event_data;
is(scalar @$d, 12, 'stream: role, 8 tokens, finish, usage, [DONE]');
is($d->[-1], '[DONE]', 'stream: ends with [DONE]');
ok(!(grep { ref $_ && $_->{object} ne 'chat.completion.chunk' }
     @$d[0 .. 10]), 'stream: every chunk is a chat.completion.chunk');
is($d->[0]{choices}[0]{delta}{role}, 'assistant', 'stream: the role first');
is(join('', map { $_->{choices}[0]{delta}{content} // '' } @$d[1 .. 8]),
   $answer, 'stream: the tokens make the plain answer');
is($d->[9]{choices}[0]{finish_reason}, 'stop', 'stream: then finish_reason');
is($d->[10]{usage}{completion_tokens}, 8, 'stream: then the usage');

$r = chat(stream => $T, mock => { token_sizes => [ 1, 5, 20 ], tokens => 4 });
is_deeply([ map { length $_->{choices}[0]{delta}{content} }
            @{ $r->event_data }[1 .. 4] ], [ 1, 5, 20, 1 ],
          'stream: token_sizes sets each token\'s size');

$r = chat(stream => $T, mock => { tokens => 5, cut_after => 3 });
ok(!$r->complete, 'cut_after: the stream does not end properly');
like($r->error, qr/closed in the body/, 'cut_after: the connection closed');
is(scalar @{ $r->events }, 3, 'cut_after: after 3 events');

my $s = $t->stream(mock => 'POST /v1/chat/completions',
    body => $t->json->encode({ stream => $T, mock => { hold_after => 1 },
        messages => [ { role => 'user', content => 'x' } ] }));
ok($s->read_until(sub { @{ $_[0]->events } == 1 }), 'hold_after: one event');
is($t->mock_release->{released}, 1, 'hold_after: one stream held');
ok($s->finish->complete, 'hold_after: then the rest');
is($t->mock_requests->[-1]{closed_early}, undef,
   'a stream that ended is not closed_early');

$s = $t->stream(mock => 'POST /v1/chat/completions',
    body => $t->json->encode({ stream => $T, mock => { hold_after => 1 },
        messages => [ { role => 'user', content => 'x' } ] }));
$s->read_until(sub { @{ $_[0]->events } == 1 });
$s->close;
ok($t->wait_for(sub { $t->mock_requests->[-1]{closed_early} },
                'the mock sees the client go'),
   'a client that goes mid-stream: the record says when (closed_early)');
$t->mock_release;

# --- completions -----------------------------------------------------------------

$r = $t->post_json(mock => '/v1/completions',
                   { model => 'mock-model', prompt => 'once upon a time' });
$j = $r->json;
is($j->{object}, 'text_completion', 'completions: a text_completion');
is(scalar(split ' ', $j->{choices}[0]{text}), 8, 'completions: 8 tokens');
is($j->{usage}{prompt_tokens}, 4, 'completions: usage');
$r = $t->post_json(mock => '/v1/completions', { model => 'mock-model',
    prompt => 'once upon a time', stream => $T });
$d = $r->event_data;
is(join('', map { ref $_ ? $_->{choices}[0]{text} : '' } @$d),
   $j->{choices}[0]{text}, 'completions: streamed, the same text');
is($d->[-1], '[DONE]', 'completions: streamed, ends with [DONE]');

# --- embeddings -------------------------------------------------------------------

$r = $t->post_json(mock => '/v1/embeddings', { model => 'mock-embedding',
    input => [ 'one', 'two' ], dimensions => 4 });
$j = $r->json;
is(scalar @{ $j->{data} }, 2, 'embeddings: one per input');
is(scalar @{ $j->{data}[0]{embedding} }, 4, 'embeddings: 4 dimensions');
my $b64 = $t->post_json(mock => '/v1/embeddings', { input => [ 'one' ],
    dimensions => 4, encoding_format => 'base64' })->json;
is_deeply([ map { sprintf '%.6f', $_ } unpack 'f<*',
            decode_base64($b64->{data}[0]{embedding}) ],
          [ map { sprintf '%.6f', $_ } @{ $j->{data}[0]{embedding} } ],
          'embeddings: base64 holds the same floats');
is($j->{usage}{prompt_tokens}, 2, 'embeddings: usage');

# --- errors ---------------------------------------------------------------------------

for my $case ([ 400, 'invalid_request_error' ],
              [ 429, 'rate_limit_exceeded' ],
              [ 500, 'server_error' ])
{
    my ($code, $type) = @$case;
    $r = chat(mock => { error => $code });
    is($r->status, $code, "error $code on demand");
    is($r->json->{error}{type}, $type, "error $code: type $type");
}
is(chat(headers => [ 'X-Mock-Error' => 429 ])->header('retry-after'), 1,
   'error 429 by header, with Retry-After');
$r = $t->request(mock => 'POST /v1/chat/completions', body => '{oops');
is($r->status, 400, 'a body that is not JSON: 400');
like($r->json->{error}{message}, qr/not valid JSON/, 'saying so');
is(chat(messages => [])->status, 400, 'no messages: 400');
is(chat(mock => { tokens => 'many' })->status, 400, 'a bad knob: 400');
is($t->request(mock => 'GET /v1/chat/completions')->status, 405,
   'GET on a POST endpoint: 405');
is($t->request(mock => 'GET /v2/nothing')->status, 404,
   'an unknown path: 404');

# --- the record --------------------------------------------------------------------------

ok($t->mock_reset->{deleted} > 0, 'DELETE /__mock/requests forgets');
$t->request(mock => 'POST /v1/embeddings?x=1',
            headers => [ 'X-Probe' => 'seen' ], body => '{"input":"a"}');
my $rec = $t->mock_requests;
is(scalar @$rec, 1, 'the record has the one request since');
is("$rec->[0]{method} $rec->[0]{url}", 'POST /v1/embeddings?x=1',
   'its method and URL');
is($rec->[0]{headers}{'x-probe'}, 'seen', 'its headers');
is($rec->[0]{body}, '{"input":"a"}', 'its body');
is($rec->[0]{status}, 200, 'and the status it got');

$t->done;
