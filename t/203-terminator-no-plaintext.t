# Plaintext never reaches a temporary file or a log line, at any level:
# a large request through a small client_body_buffer_size, plain and
# chunked, streamed and not, with the error log at debug.  A control
# location without confer_open shows that the same body would have been
# buffered to a temporary file.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;

my $spec = terminator_spec($t, open => 'max_body=1m', server => <<'EOF2');
location /control/ {
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/;
}
EOF2
$spec->{http} .= "client_body_buffer_size 1k;\n";
$t->nginx(term => $spec, log_level => 'debug');

my $prompt = 'PROMPT-CANARY-b7e1';
my $big = 'lorem ipsum dolor ' x 8000;             # 144 KB
my %answers;

for my $mode (qw(plain chunked)) {
    for my $stream (0, 1) {
        my $body = '{"model":"mock-model","stream":' . ($stream ? 'true'
                 : 'false') . ',"messages":[{"role":"user","content":"'
                 . "$prompt $mode $stream $big" . '"}]}';
        my $want = mock_direct($t, 'POST', '/v1/chat/completions', $body)
                       ->body;
        # the words of the answer (the MOCK's content), to look for later
        my @words = $want =~ /"content":"([^"]{12,})"/g;
        $answers{$_} = 1 for @words;

        my $r = client($t, 'term', { mode => $mode,
            path => '/v1/chat/completions', body => $body,
            headers => { 'content-type' => 'application/json' },
            split => [16384, 16384, 65536] });
        is(strip_pad(b64d($r->{inner}{body_b64})), $want,
           "$mode, stream $stream: a 144 KB request is answered");
    }
}
ok(scalar(keys %answers) > 0, 'answer texts to look for: '
   . scalar(keys %answers));

my $log = $t->error_log('term');
my $slice = $t->log_slice('term', 'error', 0);
unlike($slice, qr/buffered to a temporary file/,
       'no request body was buffered to a temporary file');
like($slice, qr/\[debug\]/, 'the error log was at debug level');

my @hits = $t->grep_prefix([ $prompt, keys %answers ], dirs => ['term']);
is(scalar @hits, 0, 'neither the prompt nor the answer is in any file of '
   . 'the terminator (logs, temp files)')
    or diag(explain(\@hits));

# the control: the same body without confer_open goes to a temp file
my $r = $t->request(term => 'POST /control/v1/chat/completions',
    headers => [ 'Content-Type' => 'application/json' ],
    body => '{"model":"mock-model","messages":[{"role":"user","content":"'
            . "control $big" . '"}]}');
is($r->status, 200, 'control: a plain proxied request');
like($t->log_slice('term', 'error', 0), qr/buffered to a temporary file/,
     'control: the same size of body is buffered to a temporary file '
     . 'without confer_open');

$t->done;
