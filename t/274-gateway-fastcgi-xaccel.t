# A confer_seal location may pass its sealed request on with fastcgi_pass
# instead of proxy_pass, and the FastCGI upstream is as untrusted as any
# hop: its X-Accel-* headers must not steer the gateway either.  nginx's
# fastcgi follows an upstream's X-Accel-Redirect with an internal redirect
# before any filter sees the response, which would drop the request's
# module contexts and give the client what the named location makes as
# the answer; X-Accel-Limit-Rate would slow the client's answer to a byte
# a second.  (X-Accel-Buffering goes with it, as in t/272, which is the
# same for proxy_pass; what it alone would change is not visible here.)
#
# Here the upstream is t/tools/fcgi-responder, which records what it got
# and answers with X-Accel-Redirect (to a URI, to a named location), or
# X-Accel-Limit-Rate and X-Accel-Buffering, on either
#   - an answer of its own, plain JSON: the client gets the gateway's 502
#     (sealing_error, upstream_error), nothing of the JSON nor of the
#     location named; or
#   - the terminator's sealed answer, which it fetched with the sealed
#     request it got: the client gets the model's answer, whole.
# Either way the responder saw only the sealed request: POST,
# message/ohttp-chunked-req, no byte of the prompt nor of the client's
# headers.  A control location without confer_seal, on the same responder
# in the same server, does follow its X-Accel-Redirect.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MIME::Base64 qw(decode_base64);
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);
my $policy = sim_policy($t);

$t->start_mock;
$t->nginx(terminator => terminator_spec($t));

# the FastCGI responder, on %%PORT_FCGI%%
my $rec = $t->prefix . '/helpers/fcgi.jsonl';
my $ready = $t->prefix . '/helpers/fcgi.ready';
$t->spawn(fcgi => [ $^X, Confer::Test::root() . '/t/tools/fcgi-responder',
                    '--listen', '127.0.0.1:' . $t->port('fcgi'),
                    '--record', $rec, '--ready', $ready,
                    '--terminator', $t->port('terminator') ]);
$t->wait_for(sub {
    die 'fcgi-responder exited: '
        . (Confer::Test::read_file($t->prefix . '/helpers/fcgi.log') // '')
        unless $t->daemon_alive('fcgi');
    return -f $ready;
}, 'the FastCGI responder listens');

# what the responder answers is chosen by two params of the location
sub params {
    my ($answer, $how) = @_;
    return <<"EOF";
fastcgi_param REQUEST_METHOD \$request_method;
fastcgi_param CONTENT_TYPE \$content_type;
fastcgi_param CONTENT_LENGTH \$content_length;
fastcgi_param DOCUMENT_URI \$uri;
fastcgi_param CONFER_TEST_ANSWER $answer;
fastcgi_param CONFER_TEST_XA $how;
EOF
}

my @hows = qw(redirect named slow);
my %added = (
    redirect => [ 'X-Accel-Redirect: /injected' ],
    named    => [ 'X-Accel-Redirect: @injected' ],
    slow     => [ 'X-Accel-Limit-Rate: 1', 'X-Accel-Buffering: yes' ],
);
my @answers = qw(plain relay);

my $server = '';
for my $answer (@answers) {
    for my $how (@hows) {
        $server .= "location /$answer/$how/ {\n"
                 . "    rewrite ^/$answer/$how(/.*)\$ \$1 break;\n"
                 . '    confer_seal http://127.0.0.1:%%PORT_TERMINATOR%% '
                 . "policy=$policy;\n"
                 . "    fastcgi_pass 127.0.0.1:%%PORT_FCGI%%;\n"
                 . "    fastcgi_buffering off;\n"
                 . join('', map { "    $_\n" }
                            split /\n/, params($answer, $how))
                 . "}\n";
    }
}
# the control: the same upstream, no confer_seal
for my $how (qw(redirect named)) {
    $server .= "location /control/$how/ {\n"
             . "    fastcgi_pass 127.0.0.1:%%PORT_FCGI%%;\n"
             . join('', map { "    $_\n" } split /\n/, params('plain', $how))
             . "}\n";
}
$server .= <<'EOF';
location = /injected {
    return 200 '{"injected": "by a URI"}';
}
location @injected {
    return 200 '{"injected": "by a named location"}';
}
EOF

$t->nginx(gateway => {
    http => "confer_cache zone=confer:1m;\n",
    server => $server,
});

# the responder's records, stdin and body decoded
sub records {
    my $s = Confer::Test::read_file($rec) // '';
    my @r = map { $t->json->decode($_) } split /\n/, $s;
    for my $r (@r) {
        $r->{$_} = decode_base64($r->{$_}) for qw(stdin body);
    }
    return @r;
}

# the control first: the responder's X-Accel-Redirect is one nginx follows
my %control = (redirect => 'by a URI', named => 'by a named location');
for my $how (sort keys %control) {
    my $n = () = records();
    my $r = $t->request(gateway => "GET /control/$how/x");
    my @all = records();
    my @new = @all[$n .. $#all];

    is(scalar @new, 1, "control, $how: the responder got the request");
    is_deeply($new[0]{added}, $added{$how},
              "control, $how: and answered with X-Accel-Redirect");
    is($r->status, 200, "control, $how: 200");
    like($r->body // '', qr/"injected": "\Q$control{$how}\E"/,
         "control, $how: without confer_seal nginx follows it");
}

my %c = canaries('fcgi');

for my $answer (@answers) {
    for my $how (@hows) {
        for my $stream (0, 1) {
            my $what = "$answer answer, $how, "
                     . ($stream ? 'streamed' : 'whole');
            my $n = () = records();

            # (at 1 byte/s any answer would outlast the timeout)
            my $r = $t->post_json(gateway =>
                "/$answer/$how/v1/chat/completions",
                { model => 'mock-model',
                  messages => [ { role => 'user',
                                  content => "say $c{prompt}" } ],
                  mock => { echo => JSON::PP::true },
                  $stream ? (stream => JSON::PP::true) : () },
                headers => [ identifying_headers(%c) ],
                timeout => 10);

            my @all = records();
            my @new = @all[$n .. $#all];

            # the path was exercised: one sealed request, one answer with
            # the X-Accel-* headers
            is(scalar @new, 1, "$what: the responder got one request");
            my $got = $new[0] || { params => {}, stdin => '', added => [] };
            my $p = $got->{params};
            is_deeply($got->{added}, $added{$how}, "$what: it answered "
                      . 'with ' . join(', ', @{ $added{$how} }));
            is($p->{REQUEST_METHOD}, 'POST', "$what: a POST");
            is($p->{CONTENT_TYPE}, 'message/ohttp-chunked-req',
               "$what: of message/ohttp-chunked-req");
            ok(length $got->{stdin}
               && ($p->{CONTENT_LENGTH} // '') eq length $got->{stdin},
               "$what: its whole body, as long as CONTENT_LENGTH says");
            my @leaks = grep {
                my $v = $_;
                index($got->{stdin}, $v) >= 0
                || grep { index($_, $v) >= 0 } %$p
            } values %c;
            ok(!@leaks, "$what: no byte of the prompt nor of the client's "
                        . 'headers in its params or body')
                or diag("found: @leaks");

            unlike($r->body // '', qr/injected/,
                   "$what: nothing of the location the responder names");
            ok($r->complete, "$what: the whole answer, in time")
                or diag($r->error // 'incomplete');

            if ($answer eq 'plain') {
                is($r->status, 502, "$what: a 502");
                my $e = problem_of($r);
                is_deeply([ $e->{type}, $e->{code} ],
                          [ 'sealing_error', 'upstream_error' ],
                          "$what: sealing_error, upstream_error");
                unlike($r->body // '', qr/fcgi-plain-answer/,
                       "$what: nothing of the responder's own answer");
                next;
            }

            is($got->{status}, 200, "$what: the terminator answered it");
            ok(index($got->{body}, $c{prompt}) < 0,
               "$what: sealed, no prompt in what the responder passed on");
            is($r->status, 200, "$what: the model's answer, 200");
            like($r->body // '', qr/\Q$c{prompt}\E/,
                 "$what: the model's echo of the prompt, opened");
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
}

$t->done;
