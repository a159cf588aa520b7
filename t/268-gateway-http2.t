# Clients that speak HTTP/2 to the gateway (curl, prior knowledge): the
# body arrives through nginx's HTTP/2 reader, is taken, stripped and sealed
# the same way (a large one through a 1k buffer too, leaving nothing on
# disk), and the answer, streamed or not, comes back whole.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
plan(skip_all => 'no curl with HTTP/2')
    unless `curl --version 2>/dev/null` =~ /\bHTTP2\b/;

stack($t, server => <<'EOF');
listen 127.0.0.1:%%PORT_H2%% http2;
client_body_buffer_size 1k;
EOF

my $url = 'http://127.0.0.1:' . $t->port('h2');

sub h2 {
    my ($path, $file, @more) = @_;
    my $out = `curl -s -N --http2-prior-knowledge \\
                   -H 'Content-Type: application/json' \\
                   -H 'User-Agent: canary-h2-agent' --data-binary \@$file \\
                   @more -w '\n%{http_code} %{http_version}' $url$path`;
    my ($body, $tail) = $out =~ /^(.*)\n(\d+ [\d.]+)$/s;
    return ($body // '', $tail // '');
}

sub file {
    my ($name, $data) = @_;
    return write_bytes($t->prefix . "/$name", $t->json->encode($data));
}

my $chat = file('chat.json', { model => 'mock-model', user => 'canary-user',
    messages => [ { role => 'user', content => 'over h2' } ] });
my ($body, $tail) = h2('/v1/chat/completions', $chat);
is($tail, '200 2', 'a chat completion over HTTP/2');
like($body, qr/"object":"chat\.completion"/, 'answered');
my $m = $t->mock_requests->[-1];
unlike($m->{body}, qr/canary-user/, 'the body was stripped');
ok(!exists $m->{headers}{'user-agent'}, 'the client\'s User-Agent stayed');

my $stream = file('stream.json', { model => 'mock-model',
    stream => JSON::PP::true,
    messages => [ { role => 'user', content => 'over h2' } ] });
($body, $tail) = h2('/v1/chat/completions', $stream);
is($tail, '200 2', 'a streamed one');
is(scalar(() = $body =~ /^data: /mg), 11, 'with its 11 events');
like($body, qr/data: \[DONE\]\n\n$/, 'to its end');

my $canary = 'canary-h2-large-' . int(rand(1e9));
my $big = file('big.json', { model => 'mock-embedding',
                             input => join(' ', ($canary) x 6000) });
($body, $tail) = h2('/v1/embeddings', $big);
is($tail, '200 2', 'a body of ' . int((-s $big) / 1024) . ' KB');
is($t->mock_requests->[-1]{body_length}, -s $big, 'reaches the model '
   . 'server whole');
is_deeply([ map { $_->{file} } $t->grep_prefix([ $canary ],
                                               dirs => [ 'gateway' ]) ],
          [], 'and no file of the gateway holds it');
is_deeply([ relay_has($t, $canary, 'canary-h2-agent') ], [],
          'nor does the relay');

$t->done;
