# Fail closed when attestation goes wrong, the rest of the fault matrix
# (t/FAULTS.md) beside t/264's wrong measurement, expired document,
# tampered evidence and terminator that is down: a terminator that answers
# the attestation fetch too slowly, with bytes that are not HTTP, with
# JSON that is no document, with the document of a debug-mode TEE, or
# with a chain to a root the policy does not know.  Every fetch goes
# through a recording relay, and the sealed request would go the same
# way.  Each time the client gets a 503 attestation error naming the
# reason, the gateway's error log names it, no sealed request and not one
# byte of the request crosses the relay, nothing reaches the model server,
# and the gateway still answers through an attested terminator
# afterwards (a crashed worker is an [alert] the harness finds).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;
use Confer::Attestation;

my $t = Confer::Test->new(node => 1);
my $a = Confer::Attestation->new($t);

# documents of Confer::Attestation's own simulated platforms: the gateway
# must refuse them before it would ever use their key
$a->write('debug.json', $a->debug_doc);
$a->write_doc('other-root.json', sim => 'other');
$a->write('notdoc.json', '{"version": 1, "platform": "simulated"}');
my $good = $a->write_doc('good.json');

# stand-ins that answer the fetch badly, each behind a relay of its own
$a->docserver('slow', mode => 'trickle', doc => $good);
$a->docserver('junk', mode => 'garbage', doc => $good);

my $policy = $a->path('policy.json');
my $att = $a->dir;

my $static = join '', map { <<"EOF" } qw(debug other-root notdoc);
location = /$_.json {
    alias $att/$_.json;
    default_type application/json;
}
EOF

# case => [ relay, attestation path, the reason, more confer_seal ]
my %cases = (
    debug   => [ 'hop', '/debug.json', 'debug_not_allowed' ],
    root    => [ 'hop', '/other-root.json', 'unknown_root' ],
    notdoc  => [ 'hop', '/notdoc.json', 'bad_document' ],
    slow    => [ 'slowhop', undef, 'timeout', 'timeout=1s' ],
    nothttp => [ 'junkhop', undef, 'bad_response' ],
);

my $locations = join '', map {
    my ($relay, $doc, undef, $more) = @{ $cases{$_} };
    my $url = "http://127.0.0.1:%%PORT_\U$relay\E%%";
    "location /$_/ {\n"
    . "    rewrite ^/$_/(.*)\$ /v1/\$1 break;\n"
    . "    confer_seal $url policy=$policy"
    . ($doc ? " attestation=$doc" : '') . ($more ? " $more" : '') . ";\n"
    . "    proxy_pass $url;\n"
    . "}\n"
} sort keys %cases;

$t->start_relay(slowhop => target => 'slow');
$t->start_relay(junkhop => target => 'junk');
stack($t, terminator => { server => $static }, locations => $locations);

sub chat {
    my ($canary) = @_;
    return { model => 'mock-model',
             messages => [ { role => 'user', content => $canary } ] };
}

my $r = $t->post_json(gateway => '/v1/chat/completions', chat('control'));
is($r->status, 200, 'the attested terminator answers (the control)');

for my $case (sort keys %cases) {
    my ($relay, undef, $reason) = @{ $cases{$case} };
    my $canary = "canary-$case-" . int(rand(1e9));
    my $from = $t->log_size('gateway', 'error');
    $t->start_relay(hop => target => 'terminator');
    $t->mock_reset;

    $r = $t->post_json(gateway => "/$case/chat/completions", chat($canary));
    is($r->status, 503, "$case: 503");
    is(problem_of($r)->{type}, 'attestation_error',
       "$case: an attestation error");
    is(problem_of($r)->{code}, $reason, "$case: $reason");
    ok($r->header('Retry-After'), "$case: Retry-After");
    like($t->log_slice('gateway', 'error', $from),
         qr/\[error\].*confer: attestation of "[^"]+" failed: $reason /,
         "$case: the error log names the reason");
    like($t->relay_stream($relay => 'up'),
         qr{^GET /[^ ]* HTTP/1\.[01]\r\n}, "$case: the fetch went through "
                                            . "the relay");
    is(scalar(sealed_requests($t, $relay)), 0,
       "$case: no sealed request there");
    my $all = join '', map { $t->relay_stream($_ => 'up') }
                       qw(hop slowhop junkhop);
    ok(index($all, $canary) < 0 && index($all, 'mock-model') < 0,
       "$case: not one byte of the request crossed a relay");
    is(scalar @{ $t->mock_requests }, 0, "$case: nothing at the model "
                                         . 'server');

    $r = $t->post_json(gateway => '/v1/chat/completions', chat('after'));
    is($r->status, 200, "$case: the gateway still answers");
}

$t->done;
