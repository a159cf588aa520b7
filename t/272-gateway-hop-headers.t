# A hop between gateway and terminator cannot steer the gateway with the
# outer response's X-Accel-* headers.  nginx's proxy follows an upstream's
# X-Accel-Redirect with an internal redirect before any filter sees the
# response, and an internal redirect drops the request's module contexts:
# the answer would be whatever the named location makes, given to the
# client as the answer, instead of the sealed one.  Here the hop is an
# nginx that passes the sealed exchange through untouched and adds
# X-Accel-Redirect (to a URI and to a named location), or
# X-Accel-Limit-Rate and X-Accel-Buffering: the client must get the
# model's answer, opened, whole, and nothing of the locations named.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(node => 1);
my $policy = sim_policy($t);

$t->start_mock;
$t->nginx(terminator => terminator_spec($t));

# the hop: the headers it adds are chosen by a header of the outer request
$t->nginx(hop => {
    http => <<'EOF',
map $http_x_hop $xa_redirect {
    redirect   /injected;
    named      @injected;
    default    "";
}
map $http_x_hop $xa_rate {
    slow       1;
    default    "";
}
map $http_x_hop $xa_buffering {
    slow       yes;
    default    "";
}
EOF
    server => <<'EOF',
location / {
    proxy_pass http://127.0.0.1:%%PORT_TERMINATOR%%;
    proxy_buffering off;
    add_header X-Accel-Redirect $xa_redirect always;
    add_header X-Accel-Limit-Rate $xa_rate always;
    add_header X-Accel-Buffering $xa_buffering always;
}
EOF
});

# a gateway location for each, telling the hop (by a header the gateway
# sets on the outer request) which headers to add
my @hows = qw(redirect named slow);
my $gateway = '';
for my $how (@hows) {
    $gateway .= <<"EOF";
location /$how/ {
    rewrite ^/$how(/.*)\$ \$1 break;
    confer_seal http://127.0.0.1:%%PORT_TERMINATOR%% policy=$policy;
    proxy_pass http://127.0.0.1:%%PORT_HOP%%;
    proxy_set_header X-Hop $how;
    proxy_buffering off;
}
EOF
}
$t->nginx(gateway => {
    http => "confer_cache zone=confer:1m;\n",
    server => $gateway . <<'EOF',
location = /injected {
    return 200 '{"injected": "by a URI"}';
}
location @injected {
    return 200 '{"injected": "by a named location"}';
}
EOF
});

my $r = $t->request(hop => 'GET /.well-known/confer-attestation',
                    headers => [ 'X-Hop' => 'redirect' ]);
is($r->header('x-accel-redirect'), '/injected',
   'the hop adds X-Accel-Redirect to what it passes on');

for my $how (@hows) {
    for my $stream (0, 1) {
        my $what = ($stream ? 'streamed' : 'whole') . ", $how";
        # (at the hop's 1 byte/s an answer would outlast this)
        $r = $t->post_json(gateway => "/$how/v1/chat/completions", {
            model => 'mock-model',
            messages => [ { role => 'user', content => 'hello' } ],
            $stream ? (stream => JSON::PP::true) : () }, timeout => 5);

        unlike($r->body, qr/injected/,
               "$what: nothing of the location the hop names");
        is($r->status, 200, "$what: the answer, 200");
        if ($stream) {
            ok($r->complete && @{ $r->events }
               && $r->events->[-1]{data} eq '[DONE]',
               "$what: every event, to [DONE]");
        } else {
            is(eval { $r->json->{object} }, 'chat.completion',
               "$what: the model's chat.completion");
        }
    }
}

$t->done;
