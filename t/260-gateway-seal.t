# The gateway seals the request: the model server gets the client's
# request without its identifying headers and without the stripped JSON
# fields (and with the injected ones); between gateway and terminator
# (the relay) there is one POST of padded ciphertext that carries nothing
# of the client; a request the gateway cannot seal is refused, and then
# nothing at all leaves; the plaintext body reaches no temporary file and
# no log, however small client_body_buffer_size is.

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
map $host $tee_api_key {
    default "sk-injected-4711";
}
log_format everything '$remote_addr "$request" $status "$http_user_agent" '
                      '"$http_cookie" "$http_authorization" "$http_referer" '
                      '"$http_x_forwarded_for" $request_length '
                      'body="$request_body" status=$confer_status';
EOF
    server => <<'EOF',
access_log %%DIR%%/everything.log everything;
client_body_buffer_size 1k;
client_max_body_size 8m;
EOF
    location => <<'EOF',
    confer_inner_header Authorization "Bearer $tee_api_key";
    confer_max_body 512k;
EOF
    locations => <<'EOF');
location /custom/ {
    rewrite ^/custom/(.*)$ /v1/$1 break;
    %%SEAL%%
    confer_strip_fields user password;
    confer_max_body 4k;
}

location /nostrip/ {
    rewrite ^/nostrip/(.*)$ /v1/$1 break;
    %%SEAL%%
    confer_strip_fields off;
}
EOF

# --- a client that identifies itself in every way ------------------------

my %c = canaries('chat');
my $body = '{"model":"mock-model","user":"' . $c{user} . '","temperature":'
         . '0.7,"metadata":{"k":"' . $c{meta} . '"},"messages":[{"role":'
         . '"user","content":"' . $c{prompt} . '"}],"safety_identifier":"'
         . $c{safety} . '","max_tokens":1e2}';
my $want = '{"model":"mock-model","temperature":0.7,"messages":[{"role":'
         . '"user","content":"' . $c{prompt} . '"}],"max_tokens":1e2}';

my $r = $t->request(gateway => "POST /v1/chat/completions?q=$c{query}",
    headers => [ identifying_headers(%c), 'Host' => "$c{host}.example",
                 'Content-Type' => 'application/json',
                 'Accept' => 'application/json' ],
    body => $body);

is($r->status, 200, 'a sealed chat completion');
like($r->body, qr/"object":"chat\.completion"/, 'the model server answers');

my ($m) = @{ $t->mock_requests };
is($m->{url}, "/v1/chat/completions?q=$c{query}",
   'the model server gets the path and query');
is($m->{body}, $want, 'and the body without user, metadata and '
                      . 'safety_identifier, the rest byte for byte');
is($m->{headers}{authorization}, 'Bearer sk-injected-4711',
   'the injected Authorization, not the client\'s');
is($m->{headers}{'content-type'}, 'application/json', 'Content-Type');
is($m->{headers}{accept}, 'application/json', 'Accept');

my @forbidden = qw(user-agent cookie referer x-forwarded-for x-real-ip
                   forwarded x-stainless-os x-stainless-lang
                   x-stainless-retry-count x-request-id
                   openai-organization);
is_deeply([ grep { exists $m->{headers}{$_} } @forbidden ], [],
          'none of the client\'s identifying headers reach it');
unlike($m->{headers}{host}, qr/canary/, 'nor the Host the client chose');
is_deeply([ grep { index($JSON::PP::true . $m->{body}
                         . join(' ', %{ $m->{headers} }), $c{$_}) >= 0 }
            grep { $_ ne 'prompt' && $_ ne 'query' } sort keys %c ], [],
          'no canary of the client but the prompt and query reaches it');

# --- what the hops between gateway and terminator see -----------------------

my @outer = sealed_requests($t);
is(scalar @outer, 1, 'the relay carried one sealed request');
my $o = $outer[0];
is("$o->{method} $o->{target}", 'POST /.well-known/ohttp-gateway',
   'to the OHTTP resource, without the client\'s path or query');
my %oh = map { lc $_->[0] => $_->[1] } @{ $o->{headers} };
is_deeply([ sort keys %oh ],
          [ qw(connection content-length content-type host incremental) ],
          'with Host, Connection, Content-Length, Content-Type, Incremental '
          . 'and nothing else');
is($oh{'content-type'}, 'message/ohttp-chunked-req', 'a chunked OHTTP request');
is($oh{incremental}, '?1', 'Incremental: ?1');
like($oh{host}, qr/^127\.0\.0\.1:\d+$/, 'Host: the terminator\'s');
is($oh{'content-length'}, length $o->{body}, 'the length of the ciphertext');
is_deeply([ relay_has($t, values %c, 'mock-model', 'Bearer') ], [],
          'no canary, no model name, no token either way at the relay');

# RFC 9458 header, enc (39 bytes), then one final chunk (0, ciphertext,
# tag): the Binary HTTP message is padded to a power of two
my $bucket = length($o->{body}) - 39 - 1 - 16;
ok($bucket >= 256 && ($bucket & ($bucket - 1)) == 0,
   "the plaintext was padded to a bucket ($bucket bytes)");

my @len;
for my $prompt ('hi', 'a longer prompt, with more words') {
    $t->start_relay(hop => target => 'terminator');
    $t->post_json(gateway => '/v1/chat/completions',
        { model => 'mock-model', messages => [ { role => 'user',
                                                 content => $prompt } ] });
    push @len, length((sealed_requests($t))[0]{body});
}
is($len[0], $len[1], 'prompts of different lengths: the same ciphertext '
                     . "length ($len[0])");

# --- other requests ---------------------------------------------------------

$t->start_relay(hop => target => 'terminator');
$t->mock_reset;
$r = $t->request(gateway => "GET /v1/models?after=$c{query}",
                 headers => [ identifying_headers(%c) ]);
is($r->status, 200, 'GET /v1/models, sealed');
like($r->body, qr/"object":"list"/, 'the model list');
$m = $t->mock_requests->[0];
is("$m->{method} $m->{url}", "GET /v1/models?after=$c{query}",
   'the model server gets the GET with its query');
is((sealed_requests($t))[0]{target}, '/.well-known/ohttp-gateway',
   'which the hop sees as a POST to the OHTTP resource');

$t->mock_reset;
$r = $t->request(gateway => "POST /custom/embeddings?x=%41b",
    headers => [ 'Content-Type' => 'application/json; charset=utf-8' ],
    body => '{"input":"x","user":"u","password":"p","metadata":{}}');
is($r->status, 200, 'a rewritten location');
$m = $t->mock_requests->[0];
is($m->{url}, '/v1/embeddings?x=%41b',
   'the inner path is the rewritten URI and its arguments');
is($m->{body}, '{"input":"x","metadata":{}}',
   'confer_strip_fields user password: those two go, metadata stays');

$t->mock_reset;
$r = $t->request(gateway => 'POST /nostrip/embeddings',
    headers => [ 'Content-Type' => 'application/json' ],
    body => '{"input":"x","user":"u"}');
is($t->mock_requests->[0]{body}, '{"input":"x","user":"u"}',
   'confer_strip_fields off: the body as it was');

$t->mock_reset;
$r = $t->request(gateway => 'POST /v1/embeddings',
                 body => "{\"us\\u0065r\":\"u\",\n \"input\":\"x\"}");
is($r->status, 200, 'a JSON body without a media type');
is($t->mock_requests->[0]{body}, "{\n \"input\":\"x\"}",
   'is read as JSON: an escaped "user" goes too');
is($t->mock_requests->[0]{headers}{'content-type'}, undef,
   'and no Content-Type is made up');

$t->mock_reset;
$r = $t->request(gateway => 'POST /v1/embeddings',
                 headers => [ 'Content-Type' => 'text/plain' ],
                 body => 'user=not-json');
is($t->mock_requests->[0]{body}, 'user=not-json',
   'a body of another media type goes as it is');

$t->mock_reset;
$r = $t->request(gateway => 'POST /v1/embeddings',
                 body_pieces => [ '{"input":', '"chunked",', '"user":"u"}' ],
                 headers => [ 'Content-Type' => 'application/json' ]);
is($r->status, 200, 'a chunked request body');
is($t->mock_requests->[0]{body}, '{"input":"chunked"}',
   'is read whole, stripped and sealed');

# --- refused: nothing leaves ------------------------------------------------

sub refused {
    my ($what, $status, $code, $req, %o) = @_;
    $t->start_relay(hop => target => 'terminator');
    $t->mock_reset;
    my $r = $t->request(gateway => $req, %o);
    is($r->status, $status, "$what: $status");
    is($r->header('Content-Type'), 'application/json', "$what: JSON");
    if ($req !~ /^HEAD/) {
        is(problem_of($r)->{code}, $code, "$what: the code is $code");
        like(problem_of($r)->{message}, qr/not sent/, "$what: it says so");
    }
    is(scalar(sealed_requests($t)), 0, "$what: nothing at the relay");
    is(scalar @{ $t->mock_requests }, 0, "$what: nothing at the model server");
}

refused('not JSON', 400, 'invalid_json', 'POST /v1/chat/completions',
        headers => [ 'Content-Type' => 'application/json' ],
        body => '{"model":"mock-model",}');
refused('not UTF-8', 400, 'invalid_json', 'POST /v1/chat/completions',
        headers => [ 'Content-Type' => 'application/vnd.api+json' ],
        body => "{\"model\":\"\xff\"}");
refused('HEAD', 405, 'method_not_allowed', 'HEAD /v1/models');
refused('above confer_max_body', 413, 'request_too_large',
        'POST /custom/embeddings',
        headers => [ 'Content-Type' => 'application/json' ],
        body => '{"input":"' . ('x' x 5000) . '"}');
refused('above confer_max_body, chunked', 413, 'request_too_large',
        'POST /custom/embeddings',
        headers => [ 'Content-Type' => 'application/json' ],
        body_pieces => [ '{"input":"', ('x' x 3000), ('x' x 3000), '"}' ]);
refused('a control character in Content-Type', 400, 'invalid_header',
        'POST /v1/embeddings',
        headers => [ 'Content-Type' => "application/json\x01" ],
        body => '{"input":"x"}');

# --- a large body through a 1k client_body_buffer_size ----------------------

my $canary = "canary-large-" . int(rand(1e9));
my $big = join ' ', map { "$canary-$_" } 1 .. 8000;
$t->start_relay(hop => target => 'terminator');
$t->mock_reset;
$r = $t->post_json(gateway => '/v1/embeddings',
                   { model => 'mock-embedding', input => $big, user => 'u' });
is($r->status, 200, 'a ' . int(length($big) / 1024) . ' KB body is sealed');
is($t->mock_requests->[0]{body},
   $t->json->encode({ model => 'mock-embedding', input => $big }),
   'and reaches the model server whole, stripped');
my $sealed = (sealed_requests($t))[0];
ok(length($sealed->{body}) > length $big, 'in several chunks of ciphertext');
is_deeply([ relay_has($t, $canary) ], [], 'none of it readable at the relay');

$t->wait_for(sub { (Confer::Test::read_file($t->dir('gateway')
                    . '/everything.log') // '') =~ /embeddings.*status=sealed/
                 }, 'the access log line');
# the query is in the request line, which this access log writes
my @canaries = ($canary, map { $c{$_} } grep { $_ ne 'query' } keys %c);
is_deeply([ map { $_->{file} } $t->grep_prefix(\@canaries,
                                               dirs => [ 'gateway' ]) ],
          [], 'no other canary in any log or temporary file of the gateway, '
              . '$request_body and $http_* included');
ok(!(grep { -s } glob($t->dir('gateway') . '/temp/client_body/*/*/*'),
                glob($t->dir('gateway') . '/temp/client_body/*')),
   'client_body_temp is empty');

like(Confer::Test::read_file($t->dir('gateway') . '/everything.log'),
     qr/"POST\ \/v1\/chat\/completions\?q=\S+\ HTTP\/1\.1"\ 200
        \ "-"\ "-"\ "-"\ "-"\ "-"\ .*\ status=sealed$/mx,
     'the access log: the request\'s headers are gone once it is sealed, '
     . '$confer_status is sealed');
like(Confer::Test::read_file($t->dir('gateway') . '/everything.log'),
     qr/" 400 .* status=seal_failed$/m, 'a refused one: seal_failed');

# --- the counters -----------------------------------------------------------

my $st = status_of($t)->{terminators}[0]{counters} || {};
cmp_ok($st->{sealed}, '>=', 9, "confer_status: $st->{sealed} sealed");
is($st->{seal_failed}{bad_request}, 6, 'and 6 refused as bad requests');

$t->done;
