# The official `openai` npm package as the client, with nothing changed but
# its base URL: chat completions plain and streamed (the events arrive
# while the model server still holds the rest), completions, embeddings,
# the model list, the model server's errors as the SDK reports them, the
# gateway's own refusal; the model server gets none of what identifies the
# client or its software, and none of the stripped fields; when the
# terminator's key changes under it, the SDK's retry gets the answer.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
plan(skip_all => 'node_modules/openai is not installed (make deps)')
    unless -d Confer::Test::root() . '/node_modules/openai';

stack($t, location => <<'EOF2');
    confer_inner_header Authorization "Bearer sk-model-server-key";
EOF2

sub sdk {
    my (%spec) = @_;
    my $f = $t->prefix . '/helpers/sdk-' . ++$t->{sdk_n} . '.json';
    write_bytes($f, $t->json->encode({
        base_url => 'http://127.0.0.1:' . $t->port('gateway') . '/v1',
        mock_url => 'http://127.0.0.1:' . $t->port('mock'), %spec }));
    my $root = Confer::Test::root();
    my $out = `$t->{node} '$root/t/interop/openai-sdk.js' '$f' 2>&1`;
    my $r = eval { $t->json->decode((split /\n/, $out)[-1] // '') };
    diag("openai-sdk.js: $out") unless $r && !$r->{fatal};
    return $r || {};
}

my $r = sdk(calls => [ qw(chat stream completion completion_stream
                          embeddings embeddings_float models error_400
                          error_429 error_500 error_json) ]);

is($r->{chat}{object}, 'chat.completion', 'chat.completions.create');
like($r->{chat}{content}, qr/\w/, 'with the model\'s answer');
is($r->{chat}{finish}, 'stop', 'finish_reason');
ok($r->{chat}{usage}{total_tokens}, 'usage');

is($r->{stream}{before_release}, 3, 'a stream: three events reached the '
   . 'SDK while the model server held the rest');
is($r->{stream}{events}, 10, 'and all ten once released');
like($r->{stream}{text}, qr/^\w+( \w+){7}$/, 'eight tokens of text');

is($r->{completion}{object}, 'text_completion', 'completions.create');
like($r->{completion}{text}, qr/\w/, 'its text');
ok($r->{completion_stream}{events} > 1, 'a streamed completion: '
   . "$r->{completion_stream}{events} events");
ok($r->{completion_stream}{usage}{total_tokens},
   'with stream_options.include_usage');

is($r->{embeddings}{object}, 'list', 'embeddings.create');
is($r->{embeddings}{count}, 2, 'two embeddings');
ok($r->{embeddings}{dims} > 0, "of $r->{embeddings}{dims} dimensions "
   . '(the SDK asks for base64 and decodes it)');
is($r->{embeddings_float}{dims}, $r->{embeddings}{dims},
   'encoding_format float: the same dimensions');

ok((grep { $_ eq 'mock-model' } @{ $r->{models}{ids} || [] }),
   'models.list: mock-model among ' . scalar(@{ $r->{models}{ids} || [] }));

for my $s (400, 429, 500) {
    my $e = $r->{"error_$s"}{error} || {};
    is($e->{status}, $s, "the model server's $s: an APIError with status $s");
    like($e->{message}, qr/MOCK: /, "$s: its message, as it wrote it");
}
is($r->{error_400}{error}{type}, 'invalid_request_error', '400: its type');
is($r->{error_429}{error}{code}, 'rate_limit_exceeded', '429: its code');
is($r->{error_429}{error}{retry_after}, '1', '429: its Retry-After');
is($r->{error_500}{error}{type}, 'server_error', '500: its type');

is($r->{error_json}{error}{status}, 400, 'a body that is not JSON: 400');
is($r->{error_json}{error}{code}, 'invalid_json',
   'the gateway\'s own OpenAI-style error, read by the SDK');

# --- what the model server and the hops got ---------------------------------

my @m = @{ $t->mock_requests };
ok(@m >= 10, scalar(@m) . ' requests reached the model server');
my @leaks;
for my $m (@m) {
    for my $h (sort keys %{ $m->{headers} }) {
        push @leaks, "$m->{url}: $h" if $h =~ /^(user-agent|x-stainless|
            openai-organization|openai-project|x-forwarded|forwarded|
            x-real-ip|cookie|referer)/x;
    }
    push @leaks, "$m->{url}: authorization $m->{headers}{authorization}"
        unless ($m->{headers}{authorization} // '')
               eq 'Bearer sk-model-server-key';
    push @leaks, "$m->{url}: body" if $m->{body} =~ /canary/;
}
is_deeply(\@leaks, [], 'none of the SDK\'s identifying headers, its API '
          . 'key or organization, nor user, metadata or safety_identifier '
          . 'reached the model server; the injected key did');
my ($chat) = grep { $_->{body} =~ /hello from the openai SDK/
                    && $_->{body} !~ /"stream"|"mock"/ } @m;
like($chat->{body}, qr/"temperature":0\.5/, 'the rest of the body stays');

is_deeply([ relay_has($t, 'OpenAI/JS', 'sk-client-canary-key',
                      'org-client-canary', 'user-canary', 'stainless',
                      'hello from the openai SDK') ], [],
          'the relay saw none of it either, nor the prompt');

# --- the terminator's key changes: the SDK retries --------------------------

my $before = (status_of($t)->{terminators}[0] || {})->{counters} || {};
$t->reload('terminator');
$t->reload('terminator');
$t->mock_reset;
$r = sdk(calls => [ 'chat' ], max_retries => 2);
is($r->{chat}{object}, 'chat.completion',
   'after two terminator reloads the call still succeeds');
my $after = (status_of($t)->{terminators}[0] || {})->{counters} || {};
is($after->{key_rejected}, ($before->{key_rejected} // 0) + 1,
   'the first attempt met the retired key (503), the retry the new one');
is(scalar @{ $t->mock_requests }, 1, 'the model server got it once');

$t->done;
