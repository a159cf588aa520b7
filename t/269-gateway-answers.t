# Answers the real terminator does not give, from a stand-in terminator
# that seals what it is told (t/tools/fake-tee, with the protocol core's
# own tools): only the allowed inner headers reach the client, a padding
# field included; an answer as one RFC 9458 message (message/ohttp-res)
# opens; known-length and indeterminate Binary HTTP, chunks cut anywhere,
# SSE padding split across chunks, a 204, a plaintext that is not a
# response.  And the inner request itself, as the stand-in opened it.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
my $tools = Confer::Test::build_dir() . '/tools';
plan(skip_all => "$tools/ohttp-tool is not built (run make)")
    unless -x "$tools/ohttp-tool" && -x "$tools/bhttp-tool";

my $json = $t->json;
my $dir = sim_dir($t);
my $policy = sim_policy($t);

# the stand-in's key and its simulated document
my $gen = `'$tools/ohttp-tool' genkey 7`;
my ($sk) = $gen =~ /^sk ([0-9a-f]+)$/m;
my ($config) = $gen =~ /^config ([0-9a-f]+)$/m;
my $cfg = pack 'H*', $config;
my $keys = write_bytes($t->prefix . '/keys', pack('n', length $cfg) . $cfg);
my ($rc, $doc) = cli($t, 'simulate', 'doc', $dir, '--keys', $keys,
                     '--lifetime', 3600);
is($rc, 0, 'a simulated document for the stand-in\'s key');
write_bytes($t->prefix . '/doc.json', $doc);

my $answer = $t->prefix . '/answer.json';
my $record = $t->prefix . '/fake-tee.jsonl';
my $ready = $t->prefix . '/fake-tee.ready';
$t->spawn('fake-tee', [ $^X, Confer::Test::root() . '/t/tools/fake-tee',
    '--listen', $t->port('tee'), '--doc', $t->prefix . '/doc.json',
    '--sk', $sk, '--keyid', 7, '--answer', $answer, '--record', $record,
    '--tools', $tools, '--ready', $ready ]);
$t->wait_for(sub { -e $ready }, 'fake-tee listens');

$t->nginx(gateway => {
    http => "confer_cache zone=confer:1m;\n",
    server => <<"EOF",
location /v1/ {
    confer_seal http://127.0.0.1:%%PORT_TEE%% policy=$policy;
    confer_inner_header X-Model-Key "inner-secret";
    proxy_pass http://127.0.0.1:%%PORT_TEE%%;
    proxy_buffering off;
}
EOF
});

sub answer {
    my (%spec) = @_;
    write_bytes($answer, $json->encode({ mode => 'chunked', framing => 3,
                                         padding => 0, %spec }));
}

sub hx { return unpack 'H*', $_[0] }

sub post {
    return $t->request(gateway => 'POST /v1/chat/completions?x=1',
        headers => [ 'Content-Type' => 'application/json',
                     'Accept' => 'text/event-stream',
                     'User-Agent' => 'canary-agent' ],
        body => '{"model":"m","user":"canary-user","n":1}');
}

# --- the inner headers the client may see ---------------------------------

answer(split => '5,0,7,1', response => { status => 200,
    headers => [ [ 'content-type', 'application/json' ],
                 [ 'x-request-id', 'req-123' ],
                 [ 'openai-processing-ms', '42' ],
                 [ 'x-ratelimit-remaining-requests', '9' ],
                 [ 'retry-after-ms', '10' ],
                 [ 'x-should-retry', 'false' ],
                 [ 'set-cookie', 'canary-cookie=1' ],
                 [ 'server', 'canary-server' ],
                 [ 'x-powered-by', 'canary' ],
                 [ 'content-length', '999' ],
                 [ 'confer-padding', '~~~~~~~~' ] ],
    content => hx('{"ok":true}') });

my $r = post();
is($r->status, 200, 'an answer from the stand-in');
is($r->body, '{"ok":true}', 'its content, cut in chunks of 5, 0, 7, 1');
is($r->header('Content-Type'), 'application/json', 'its content-type');
is($r->header('X-Request-Id'), 'req-123', 'x-request-id');
is($r->header('OpenAI-Processing-Ms'), '42', 'openai-*');
is($r->header('X-Ratelimit-Remaining-Requests'), '9', 'x-ratelimit-*');
is($r->header('Retry-After-Ms'), '10', 'retry-after-ms');
is($r->header('X-Should-Retry'), 'false', 'x-should-retry');
is_deeply([ grep { defined $r->header($_) }
            qw(Set-Cookie X-Powered-By Confer-Padding) ], [],
          'not set-cookie, x-powered-by, nor the padding field');
like($r->header('Server'), qr/^nginx/, 'the gateway\'s own Server');
isnt($r->header('Content-Length'), '999', 'nor the inner content-length');

# --- the inner request -------------------------------------------------------

my @rec = map { $json->decode($_) }
          split /\n/, Confer::Test::read_file($record);
ok($rec[-1]{request}, 'the stand-in opened the request');
write_bytes($t->prefix . '/req.bhttp', pack 'H*', $rec[-1]{request});
my $req = $t->prefix . '/req.bhttp';
my $inner = $json->decode(scalar `'$tools/bhttp-tool' decode req < '$req'`);
is("$inner->{method} $inner->{scheme}://$inner->{authority}$inner->{path}",
   'POST https://127.0.0.1:' . $t->port('tee') . '/v1/chat/completions?x=1',
   'method, https, the terminator\'s authority, path and query');
is_deeply($inner->{headers}, [ [ 'content-type', 'application/json' ],
                               [ 'accept', 'text/event-stream' ],
                               [ 'x-model-key', 'inner-secret' ] ],
          'Content-Type, Accept and the injected header, nothing else');
is(pack('H*', $inner->{content}), '{"model":"m","n":1}', 'the stripped body');
my $bucket = length pack 'H*', $rec[-1]{request};
ok($bucket == 256, "padded to a bucket ($bucket bytes)");

# --- other forms ---------------------------------------------------------------

answer(mode => 'chunked-plain', framing => 1, padding => 100,
       response => { status => 201,
                     headers => [ [ 'content-type', 'text/plain' ] ],
                     content => hx("one message\n") });
$r = post();
is($r->status, 201, 'message/ohttp-res: one sealed message opens');
is($r->body, "one message\n", 'with its content');

answer(framing => 1, padding => 3000, split => '40',
       response => { status => 200,
                     headers => [ [ 'content-type', 'application/json' ] ],
                     content => hx('{"known":"length"}') });
$r = post();
is($r->body, '{"known":"length"}', 'known-length Binary HTTP, padded');

answer(split => '1,1,1,1,1,1,1,1', response => { status => 200,
    headers => [ [ 'content-type', 'text/event-stream' ] ],
    content_chunks => [ map { hx($_) } "data: a\n\n:~~~", "~~\ndata: b",
                        "\n\n: ping\n\n:~x\n\n:~~~~~~\n" ] });
$r = post();
is($r->body, "data: a\n\ndata: b\n\n: ping\n\n:~x\n\n",
   'SSE padding lines go even when cut across chunks; other comments stay');
is(scalar @{ $r->events }, 2, 'two events for the client\'s parser');

answer(response => { status => 204, headers => [] });
$r = post();
is($r->status, 204, 'a 204 from the model server');
ok($r->complete, 'complete');

answer(plaintext_hex => '00');
$r = post();
is($r->status, 502, 'a sealed plaintext that is not a response: 502');
is(problem_of($r)->{code}, 'open_failed', 'open_failed');

answer(response => { status => 200, headers => [],
                     content => hx('x' x 70000) }, split => '70000');
$r = post();
is(length $r->body, 70000, 'a non-final chunk of 70000 bytes (the reader '
   . 'grows)');

$t->done;
