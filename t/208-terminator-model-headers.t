# The model server's X-Accel-* headers do not steer the terminator.
# nginx's proxy follows an upstream's X-Accel-Redirect with an internal
# redirect before any filter sees the response; that drops the request's
# module contexts, so the answer of the location it names would leave the
# TEE unsealed, in place of the sealed one.  Here an nginx in front of the
# MOCK stands for a model server that adds X-Accel-Redirect: the client
# must get the MOCK's answer, sealed, and nothing of the named location.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;

$t->nginx(model => { server => <<'EOF' });
location / {
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
    proxy_buffering off;
    add_header X-Accel-Redirect /unsealed always;
    add_header X-Accel-Buffering yes always;
}
EOF

my $spec = terminator_spec($t, server => <<'EOF');
location = /unsealed {
    return 200 'the answer of another location, unsealed';
}
EOF
$spec->{server} =~ s/%%PORT_MOCK%%/%%PORT_MODEL%%/g;
$t->nginx(term => $spec);

my $chat = '{"model":"mock-model","messages":[{"role":"user",'
         . '"content":"hello"}]}';
my $want = mock_direct($t, 'POST', '/v1/chat/completions', $chat);

for my $mode (qw(plain chunked)) {
    my $r = client($t, 'term', { mode => $mode, method => 'POST',
        path => '/v1/chat/completions',
        headers => { 'content-type' => 'application/json' },
        body => $chat });
    is($r->{outer}{headers}{'content-type'},
       $mode eq 'plain' ? 'message/ohttp-res' : 'message/ohttp-chunked-res',
       "$mode: the answer leaves sealed") or diag(explain($r->{outer}));
    is(b64d($r->{inner}{body_b64}), $want->body,
       "$mode: and it is the model server's");
}

$t->done;
