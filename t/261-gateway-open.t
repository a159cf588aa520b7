# The gateway opens the answer: the client gets exactly what the model
# server sent, status, media type and body, for every endpoint, streamed
# or not, its errors included; streamed events arrive one by one, before
# the stream ends, with no padding left; nothing of the outer response's
# head reaches the client.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);

stack($t,
    http => <<'EOF',
log_format sealed '$request_method $status $confer_status';
EOF
    server => <<'EOF',
access_log %%DIR%%/sealed.log sealed;
EOF
    locations => <<'EOF');
location /small/ {
    rewrite ^/small/(.*)$ /v1/$1 break;
    %%SEAL%%
    confer_max_response 4k;
}
EOF

# the same request straight to the MOCK: what the client must get
sub direct {
    my ($method, $path, $body) = @_;
    return mock_direct($t, $method, $path, $body);
}

sub same {
    my ($what, $method, $path, $body) = @_;
    $t->mock_reset;
    my $r = $t->request(gateway => "$method $path",
        defined $body ? (headers => [ 'Content-Type' => 'application/json' ],
                         body => $body) : ());
    my $d = direct($method, $path, $body);
    is($r->status, $d->status, "$what: status " . $d->status);
    is($r->header('Content-Type'), $d->header('Content-Type'),
       "$what: Content-Type " . ($d->header('Content-Type') // '-'));
    is($r->body, $d->body, "$what: the body, byte for byte");
    ok($r->complete, "$what: a complete response");
    return $r;
}

my $chat = '{"model":"mock-model","messages":[{"role":"user","content":'
         . '"hello"}]}';
my $stream = '{"model":"mock-model","stream":true,"messages":[{"role":'
           . '"user","content":"hello"}]}';

my $r = same('chat', 'POST', '/v1/chat/completions', $chat);
ok(!defined $r->header('Cache-Control'),
   'the terminator\'s Cache-Control stays on the outer response');
is($r->header('Content-Length'), undef, 'streamed to the client, chunked');

$r = same('streamed chat', 'POST', '/v1/chat/completions', $stream);
is(scalar @{ $r->events }, 11, 'streamed chat: 11 events');
unlike($r->body, qr/^:~/m, 'streamed chat: no padding line is left');

same('completion', 'POST', '/v1/completions',
     '{"model":"mock-model","prompt":"once upon"}');
same('streamed completion', 'POST', '/v1/completions',
     '{"model":"mock-model","prompt":"once upon","stream":true,'
     . '"stream_options":{"include_usage":true}}');
same('embeddings', 'POST', '/v1/embeddings',
     '{"model":"mock-embedding","input":["a","b","c"]}');
same('base64 embeddings', 'POST', '/v1/embeddings',
     '{"model":"mock-embedding","input":"a","encoding_format":"base64"}');
same('models', 'GET', '/v1/models');
same('a large answer (the final chunk grows)', 'POST', '/v1/embeddings',
     '{"model":"mock-embedding","input":[' . join(',', map { "\"$_\"" }
                                                  1 .. 300) . ']}');
same('events of 70000 bytes (chunks grow)', 'POST', '/v1/chat/completions',
     '{"model":"mock-model","stream":true,"messages":[{"role":"user",'
     . '"content":"x"}],"mock":{"tokens":3,"token_sizes":[70000]}}');

$t->mock_reset;
$r = $t->post_json(gateway => '/v1/files', {});
is($r->status, 403, 'a path the terminator does not allow: its sealed 403');
is(problem_of($r)->{code}, 'path_not_allowed', 'with its reason');
is(scalar @{ $t->mock_requests }, 0, 'the model server got nothing');

# --- errors of the model server are answers like any other ----------------

for my $status (400, 429, 500) {
    $r = same("model server error $status", 'POST', '/v1/chat/completions',
              '{"model":"mock-model","messages":[],"mock":{"error":'
              . $status . '}}');
    like($r->body, qr/"MOCK: /, "error $status: the model server's own body");
}
is($r->header('Retry-After'), undef, 'no Retry-After on a 500');
$r = $t->post_json(gateway => '/v1/chat/completions',
    { model => 'mock-model', messages => [], mock => { error => 429 } });
is($r->header('Retry-After'), '1', 'a 429 keeps its Retry-After');

# --- events arrive one by one -----------------------------------------------

$t->mock_reset;
my $s = $t->stream(gateway => 'POST /v1/chat/completions',
    headers => [ 'Content-Type' => 'application/json' ],
    body => '{"model":"mock-model","stream":true,"messages":[{"role":'
            . '"user","content":"one by one"}],"mock":{"hold_after":3}}');
ok($s->read_until(sub { @{ $_[0]->events } >= 3 }),
   'three events reach the client while the model server holds the rest');
is(scalar @{ $s->{r}->events }, 3, 'and not more');
ok(!$s->{r}->complete, 'the stream is still open');
like($s->{r}->events->[2]{data}, qr/"content":"[^"]+"/,
     'the third is a token');
$t->mock_release;
$r = $s->finish;
ok($r->complete, 'released, the stream ends cleanly');
is(scalar @{ $r->events }, 11, 'with all its events');

$s = $t->stream(mock => 'POST /v1/chat/completions',
    headers => [ 'Content-Type' => 'application/json' ],
    body => '{"model":"mock-model","stream":true,"messages":[{"role":'
            . '"user","content":"one by one"}],"mock":{"hold_after":3}}');
$s->read_until(sub { @{ $_[0]->events } >= 3 });
$t->mock_release;
is($r->body, $s->finish->body, 'exactly as the model server sent them');

# --- limits -----------------------------------------------------------------

$t->mock_reset;
$r = $t->post_json(gateway => '/small/embeddings',
                   { model => 'mock-embedding',
                     input => [ map { "input $_" } 1 .. 300 ] });
is($r->status, 502, 'an answer above confer_max_response: 502');
is(problem_of($r)->{code}, 'answer_too_large', 'answer_too_large');

$r = $t->post_json(gateway => '/small/embeddings',
                   { model => 'mock-embedding', input => 'x' });
is($r->status, 200, 'a small one there passes');

$t->wait_for(sub { (Confer::Test::read_file($t->dir('gateway')
                    . '/sealed.log') // '') =~ /^POST 502 seal_failed$/m },
             'the access log line');
like(Confer::Test::read_file($t->dir('gateway') . '/sealed.log'),
     qr/^POST 200 sealed$/m, '$confer_status: sealed');

my $st = status_of($t)->{terminators}[0]{counters} || {};
is($st->{seal_failed}{open_failed}, 1, 'confer_status counts open_failed');

$t->done;
