# The harness itself, on a real nginx: a plain proxy to the MOCK model
# server streams a chat completion event by event, the mock's record shows
# what reached it, the client can come from another local address and read
# a keepalive series to its end, reload and nginx -t work, temp files stay
# in the prefix; then the declarative blocks after __DATA__.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(node => 1);
my $T = JSON::PP::true;

$t->start_mock;
$t->nginx(front => { server => <<'EOF' });
location /v1/ {
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
    proxy_buffering off;
}
location = /addr {
    return 200 "$remote_addr\n";
}
location /upload {
    client_body_in_file_only on;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/embeddings;
}
EOF

my @msgs = ({ role => 'user', content => 'tell me a story' });

# --- a streamed chat completion arrives event by event ----------------------

my $r = $t->post_json(front => '/v1/chat/completions', {
    model => 'mock-model', stream => $T, messages => \@msgs,
    mock => { tokens => 5, delay_ms => 100 } });
is($r->status, 200, 'streamed: 200');
like($r->header('content-type'), qr{^text/event-stream}, 'as an event stream');
ok($r->complete, 'the stream ended properly');

my $ev = $r->events;
is(scalar @$ev, 8, 'role, 5 tokens, finish and [DONE]: 8 events');
is($ev->[-1]{data}, '[DONE]', 'the last is [DONE]');
is(scalar @{ $r->chunks }, 8, 'nginx sent each event in a chunk of its own');

my $sent = $t->mock_requests->[-1]{events_sent};
is(scalar @$sent, 8, 'the mock sent 8 events');
ok($ev->[0]{t} < $sent->[-1], 'the first event arrived before the mock sent'
                              . ' the last');
ok(!grep({ $ev->[$_]{t} <= $ev->[$_ - 1]{t} } 1 .. $#$ev),
   'each event arrived in a later read than the one before');

my $plain = $t->post_json(front => '/v1/chat/completions', {
    model => 'mock-model', messages => \@msgs, mock => { tokens => 5 } });
my $text = join '', map { ref $_ ? $_->{choices}[0]{delta}{content} // ''
                                 : '' } @{ $r->event_data };
is($text, $plain->json->{choices}[0]{message}{content},
   'the streamed answer is the plain answer');

# --- the same without timing: the mock holds the stream after 2 events -------

my $s = $t->stream(front => 'POST /v1/chat/completions',
    headers => [ 'Content-Type' => 'application/json' ],
    body => $t->json->encode({ model => 'mock-model', stream => $T,
        messages => \@msgs, mock => { tokens => 4, hold_after => 2 } }));
ok($s->read_until(sub { @{ $_[0]->events } >= 2 }),
   'two events arrive while the mock holds the rest');
ok(!$s->response->complete, 'the response is not over yet');
is($t->mock_release->{released}, 1, 'the mock held one stream');
$r = $s->finish;
ok($r->complete, 'after the release the stream ends');
is(scalar @{ $r->events }, 7, 'with all 7 events');

# --- what reached the mock ------------------------------------------------------

my $m = $t->mock_requests->[-1];
is("$m->{method} $m->{path}", 'POST /v1/chat/completions',
   'the mock got the request');
is($m->{headers}{'content-type'}, 'application/json', 'with its content type');
is(JSON::PP->new->decode($m->{body})->{messages}[0]{content},
   'tell me a story', 'and its body');

# --- the client: another local address, a keepalive series to its end ------

is($t->request(front => 'GET /addr', local_addr => '127.0.0.2')->body,
   "127.0.0.2\n", 'local_addr: nginx sees the client at 127.0.0.2');
my $json = $t->json->encode({ model => 'mock-model', stream => $T,
    messages => \@msgs, mock => { tokens => 2, delay_ms => 50 } });
$r = $t->request(front => until_close => 1,
    raw => "GET /addr HTTP/1.1\r\nHost: localhost\r\n\r\n"
           . "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
           . "Content-Type: application/json\r\nConnection: close\r\n"
           . 'Content-Length: ' . length($json) . "\r\n\r\n$json");
is($r->body, "127.0.0.1\n", 'until_close: the first answer is the response');
like($r->raw, qr{\r\n\r\n127\.0\.0\.1\n.*HTTP/1\.1 200 .*data: \[DONE\]}s,
     'and the raw bytes hold the second, streamed, to its end');

# --- temp files stay in the prefix ----------------------------------------------

my $canary = 'canary-' . join '', map { ('a' .. 'z')[rand 26] } 1 .. 16;
$r = $t->request(front => 'POST /upload', body => qq{{"input":"$canary"}});
is($r->status, 200, 'a body stored in a file, then proxied');
my @hits = $t->grep_prefix([$canary]);
is(scalar @hits, 1, 'grep_prefix finds the canary once');
like($hits[0]{file} // '', qr{/front/temp/client_body/},
     'in the client body temp dir of the prefix');

# --- reload ----------------------------------------------------------------------

my $conf = { server => 'location / { return 200 "second\n"; }' };
ok($t->reload(front => $conf), 'reload with a new config');
is($t->request(front => 'GET /')->body, "second\n",
   'the next request meets the new config');
ok(!$t->reload(front => { server => 'location / { no_such_thing; }' },
               fail_ok => 1), 'a broken config is refused at reload');
is($t->request(front => 'GET /')->body, "second\n", 'the old one still serves');

# --- nginx -t and the log check ---------------------------------------------------

my ($ok, $out) = $t->nginx_t({ server => 'location / { no_such_thing; }' });
ok(!$ok, 'nginx -t fails on a bad config');
like($out, qr/unknown directive "no_such_thing"/, 'and says why');

is_deeply([ Confer::Test::bad_lines(join "\n",
    '2025/01/01 00:00:00 [error] 1#1: *1 upstream timed out',
    '2025/01/01 00:00:00 [alert] 1#1: worker process exited on signal 11',
    '==12==ERROR: AddressSanitizer: heap-buffer-overflow',
    'x.c:10:5: runtime error: signed integer overflow') ],
    [ '2025/01/01 00:00:00 [alert] 1#1: worker process exited on signal 11',
      '==12==ERROR: AddressSanitizer: heap-buffer-overflow',
      'x.c:10:5: runtime error: signed integer overflow' ],
    'the log check flags alerts and sanitizer reports, not errors');

$t->stop('front');

run_tests();

__DATA__

=== models through a proxy
--- config
location / {
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}
--- request
GET /v1/models
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like: "id":"mock-model"
--- mock_request: GET /v1/models
--- access_log
"GET /v1/models HTTP/1.1" 200
--- no_error_log
[error]

=== the config is kept: an error on demand passes through
--- request
POST /v1/completions
{"model":"mock-model","prompt":"hi"}
--- more_headers
Content-Type: application/json
X-Mock-Error: 429
--- error_code: 429
--- response_headers
Retry-After: 1
--- response_body_like: "type":"rate_limit_exceeded"

=== a header stripped on the way, one nginx swallows
--- config
location / {
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
    proxy_set_header X-Secret "";
    proxy_buffering off;
}
--- request
POST /v1/chat/completions
{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"x"}],"mock":{"tokens":3}}
--- more_headers
X-Secret: do-not-forward
X-Other: forward-me
--- error_code: 200
--- response_headers
! X-Accel-Buffering
--- sse_events: 6
--- mock_headers
! X-Secret
X-Other: forward-me
--- mock_body_like: "stream":true

=== a dead upstream is a 502 and says so in the error log
--- config
location / {
    proxy_pass http://127.0.0.1:%%PORT_NOBODY%%;
}
--- request
GET /v1/models
--- error_code: 502
--- error_log
connect() failed (111: Connection refused)
--- access_log
"GET /v1/models HTTP/1.1" 502

=== two instances: front proxies to back, back to the mock
--- config front
location / {
    proxy_pass http://127.0.0.1:%%PORT_BACK%%;
}
--- config back
location / {
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
    add_header X-Back yes;
}
--- request
GET /v1/models
--- error_code: 200
--- response_headers
X-Back: yes
--- access_log back
"GET /v1/models HTTP/1.0" 200
--- access_log front
"GET /v1/models HTTP/1.1" 200
--- mock_request: GET /v1/models

=== a bad directive fails nginx -t
--- config
location / {
    proxy_buffering maybe;
}
--- must_die
--- error_log
invalid value "maybe" in "proxy_buffering" directive

=== a relay that cuts the model's answer short: nginx says 502
--- relay cut
target: MOCK
mutate: down:truncate:40
--- config
location / {
    proxy_pass http://127.0.0.1:%%PORT_CUT%%;
}
--- request
GET /v1/models
--- error_code: 502
--- error_log
upstream prematurely closed connection
