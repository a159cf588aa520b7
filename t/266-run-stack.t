# `make run` (t/tools/run-stack): on ports given by the environment it
# starts the MOCK, the terminator (simulated) and the gateway, says loudly
# that the evidence is simulated, tells how to point a client at it, shows
# a streamed answer, and says when it is up; a client's request passes;
# SIGINT stops everything it started, and nothing of it is left.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(nginx => 1, node => 1);

my %port = map { $_ => $t->port("stack_$_") } qw(gateway terminator mock);
my $pid = $t->spawn(stack => [ Confer::Test::root() . '/t/tools/run-stack' ],
    env => { CONFER_GATEWAY_ADDR => "127.0.0.1:$port{gateway}",
             CONFER_TERMINATOR_ADDR => $port{terminator},
             CONFER_MOCK_ADDR => "127.0.0.1:$port{mock}",
             CONFER_BUILD => Confer::Test::build_dir(),
             CONFER_RUN_DIR => $t->prefix . '/run' });
my $log = $t->prefix . '/helpers/stack.log';

sub out { return Confer::Test::read_file($log) // '' }

ok($t->wait_for(sub {
       die 'run-stack exited: ' . out() unless $t->daemon_alive('stack');
       out() =~ /^confer: the stack is up/m }, 'run-stack is ready', 60),
   'run-stack says when the stack is up');

my $out = out();
like($out, qr/SIMULATED EVIDENCE/, 'it says loudly that the evidence is '
                                   . 'simulated');
like($out, qr{gateway\s+http://127\.0\.0\.1:$port{gateway}/v1},
     'the gateway on the port of CONFER_GATEWAY_ADDR');
like($out, qr{terminator\s+http://127\.0\.0\.1:$port{terminator}$}m,
     'the terminator on the port of CONFER_TERMINATOR_ADDR');
like($out, qr{model server\s+http://127\.0\.0\.1:$port{mock}/v1},
     'the MOCK on the port of CONFER_MOCK_ADDR');
like($out, qr{curl http://127\.0\.0\.1:$port{gateway}/v1/chat/completions},
     'how to use it with curl');
like($out, qr{OpenAI\(base_url="http://127\.0\.0\.1:$port{gateway}/v1"},
     'with Python');
like($out, qr{baseURL: 'http://127\.0\.0\.1:$port{gateway}/v1'}, 'with Node');
like($out, qr/^  > (\w+ ){11}\w+$/m,
     'and a streamed answer of twelve tokens, as they came');

my $r = $t->post_json($port{gateway}, '/v1/chat/completions',
    { model => 'mock-model', messages => [ { role => 'user',
                                             content => 'hi' } ] });
is($r->status, 200, 'a request through the stack');
like($r->body, qr/"chat\.completion"/, 'gets the model\'s answer');

my $st = $t->request($port{gateway}, 'GET /confer/status');
like($st->body, qr/"platform":"simulated"/, 'its status: simulated');

# every process the stack runs: run-stack's descendants
sub descendants {
    my ($root) = @_;
    my %kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = Confer::Test::read_file($stat) // next;
        my ($p, $pp) = $s =~ /^(\d+) \(.*\) \S (\d+)/s or next;
        push @{ $kids{$pp} }, $p;
    }
    my @all;
    my @todo = ($root);
    while (my $p = shift @todo) {
        push @all, @{ $kids{$p} || [] };
        push @todo, @{ $kids{$p} || [] };
    }
    return @all;
}

my @procs = descendants($pid);
cmp_ok(scalar @procs, '>=', 5, scalar(@procs) . ' processes: the MOCK, '
       . 'two nginx masters and their workers');

kill 'INT', $pid;
ok($t->wait_for(sub { !$t->daemon_alive('stack') }, 'run-stack exits'),
   'SIGINT: run-stack exits');
is($t->{daemons}{stack}{exited}, 0, 'with status 0');
like(out(), qr/^confer: stopped$/m, 'saying so');
ok($t->wait_for(sub { !(grep { kill 0, $_ } @procs) }, 'all gone'),
   'none of its processes is left');
ok(!(grep { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$_",
                                  Timeout => 1) } values %port),
   'and its ports are closed');

$t->done;
