# The attestation state is shared by all workers: on a cold cache, many
# concurrent requests spread over two workers cause exactly one fetch of
# the document; the others wait for it (by polling the shared entry) and
# then all pass.  A worker that dies while fetching does not leave the
# others waiting forever: its "updating" mark expires and another worker
# fetches.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Attestation;

my $t = Confer::Test->new(node => 1);
my $a = Confer::Attestation->new($t);
my $doc = $a->write_doc('doc.json');
my $policy = $a->path('policy.json');
my $hold = $a->path('release');
my $N = 20;

$t->start_mock;

# reuseport: the kernel spreads connections over both workers' sockets
sub gateway {
    return <<"EOF";
worker_processes 2;
http {
    confer_cache zone=confer:1m;
    log_format pid '\$pid \$status \$confer_status';
    server {
        listen 127.0.0.1:%%PORT_GATEWAY%% reuseport;
        access_log %%DIR%%/gated.log pid;
        location /v1/ {
            confer_seal http://127.0.0.1:%%PORT_TEE%% policy=$policy
                        timeout=2s;
            proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_STATUS%%;
        location = /status { confer_status; }
    }
}
EOF
}

sub open_requests {
    return map {
        $t->stream(gateway => 'POST /v1/embeddings',
                   headers => [ 'Content-Type' => 'application/json' ],
                   body => '{"model":"mock-model","input":"x"}',
                   timeout => 20)
    } 1 .. $N;
}

sub waiting {
    my $st = eval { $a->status('status') } or return -1;
    return $st->{requests}{waiting};
}

# --- one fetch for a cold cache ------------------------------------------

$a->docserver('tee', doc => $doc, hold => $hold);
$t->nginx(gateway => gateway());

my @s = open_requests();

# the fetch may reach the document server a moment after the last request
# reached the gate: wait for both, then count
$t->wait_for(sub { waiting() == $N && @{ $a->fetches('tee') } >= 1 },
             "all $N requests wait in the gate, the document is asked for");
is(scalar @{ $a->fetches('tee') }, 1,
   'while they wait, the document was requested once');
my $st = $a->status('status');
ok($st->{terminators}[0]{updating}, 'status: one worker is updating');

$a->write('release', '');

my @r = map { $_->finish } @s;
is(scalar(grep { $a->passed($_) } @r), $N,
   "all $N requests pass once the document is verified");
is(scalar @{ $a->fetches('tee') }, 1, 'after one fetch in all');

$t->wait_for(sub { my $l = Confer::Test::read_file(
                       $t->dir('gateway') . '/gated.log') // '';
                   my @n = $l =~ / 502 seal_failed$/mg; @n == $N },
             'the access log has every request');
my %pids = map { (split ' ')[0] => 1 }
           split /\n/, Confer::Test::read_file($t->dir('gateway')
                                               . '/gated.log');
is(scalar keys %pids, 2, 'the requests were served by both workers');

$st = $a->status('status');
is($st->{terminators}[0]{counters}{fetches}, 1, 'status: one fetch');
is($st->{terminators}[0]{counters}{gated}, $N, "status: $N gated");
is($st->{requests}{waiting}, 0, 'status: nobody waits any more');
is(scalar @{ $t->mock_requests }, $N, "the mock got the $N requests");

# --- clients that give up while waiting ------------------------------------

$a->docserver('tee', doc => $doc, hold => $hold);
$t->stop('gateway');
$t->nginx(gateway => gateway());
unlink $hold;

@s = open_requests();
$t->wait_for(sub { waiting() == $N }, "$N requests wait on a cold cache");
$_->close for @s;
$t->wait_for(sub { waiting() == 0 }, 'the gate lets go of closed ones');
my @gone = (Confer::Test::read_file($t->dir('gateway') . '/gated.log') // '')
           =~ / 499 pending$/mg;
is(scalar @gone, $N, "the $N were logged as closed by the client (499)");
$a->write('release', '');
$t->wait_for(sub { $a->status('status')->{terminators}[0]{state}
                   eq 'verified' }, 'the fetch still completes');
is(scalar @{ $a->fetches('tee') }, 1, 'one fetch for all of that');
ok($a->passed($t->post_json(gateway => '/v1/embeddings',
                            { model => 'mock-model', input => 'x' })),
   'and the next request passes');

# --- the fetching worker dies ------------------------------------------------

# only the first fetch hangs; the next one answers
unlink $hold;
$a->docserver('tee', doc => $doc, hold => $hold, hold_to => 1);
$t->stop('gateway');
unlink $t->dir('gateway') . '/gated.log';
$t->nginx(gateway => gateway());
$t->allow_error_log(gateway => qr/exited on signal 9/);

@s = open_requests();
$t->wait_for(sub { waiting() == $N }, "all $N requests wait again");

$st = $a->status('status');
my $updater = $st->{terminators}[0]{updater};
ok($updater, "status: worker $updater fetches");
kill 'KILL', $updater;

@r = map { $_->finish } @s;
my $ok = grep { $a->passed($_) } @r;
ok($ok > 0, "the other worker's requests pass ($ok of $N)");
is(scalar(grep { $a->passed($_) || !$_->status } @r), $N,
   'the rest died with their worker, none was refused');
is(scalar @{ $a->fetches('tee') }, 2,
   'after the updating mark expired, another worker fetched');

$t->done;
