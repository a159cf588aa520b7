# confer_heap_keep: a large request body is held whole by both roles, two
# or three times over in the gateway, and with glibc's own thresholds
# those blocks are handed back to the kernel when the request ends and
# faulted in again by the next one.  With auto (the default) the workers
# keep them: counted here as the minor page faults of each role's worker
# per 2 MiB request, after two requests to warm up, with auto and with
# off.  Counts, not times: the bench (make bench, large bodies) says what
# it is worth.  The answers are the model's answer either way.  Then what
# auto sets, from the worker's debug log: four times the largest body
# limit, and nothing for limits under 1 MiB.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);

# ASan's allocator replaces glibc's: the thresholds mean nothing there
plan skip_all => 'sanitized module: ASan allocates, not glibc (make test'
                 . ' runs this)' if $t->{asan};

my $N = 6;
my $WARM = 2;
my $BYTES = 2 * 1024 * 1024;

my $unit = 'a prompt of some length for the heap ';
my $body = $t->json->encode({
    model => 'mock-model',
    messages => [ { role => 'user',
                    content => substr($unit x ($BYTES / length($unit) + 1),
                                      0, $BYTES) } ] });

# the one worker of an instance (worker_processes 1)
sub worker {
    my ($name) = @_;
    my %c = Confer::Test::_children($t->nginx_pid($name));
    my @w = grep { $c{$_} =~ /worker process/
                   && $c{$_} !~ /shutting down/ } keys %c;
    return $w[0];
}

# minor faults so far of a process (/proc/PID/stat, field 10)
sub minflt {
    my ($pid) = @_;
    my $s = Confer::Test::read_file("/proc/$pid/stat") // return undef;
    $s =~ s/^.*\) //s;
    return (split ' ', $s)[7];
}

# the stack with "confer_heap_keep $keep" (undef: not set), and the
# faults per request of each role's worker after the warm-up
sub run {
    my ($keep) = @_;
    my $line = defined $keep ? "confer_heap_keep $keep;\n" : '';

    $t->stop($_) for qw(gateway terminator);
    $t->nginx(terminator => terminator_spec($t,
        http => "${line}client_max_body_size 8m;\n"
                . "client_body_buffer_size 8m;\n"));
    $t->nginx(gateway => gateway_spec($t,
        http => "${line}client_max_body_size 8m;\n"
                . "client_body_buffer_size 8m;\n",
        location => 'confer_max_body 8m;'));

    my %pid = map { $_ => worker($_) } qw(gateway terminator);
    my (%faults, $answered);

    for my $i (1 .. $N) {
        my %before = map { $_ => minflt($pid{$_}) } keys %pid;
        my $r = $t->post_json(gateway => '/v1/chat/completions', $body,
                              timeout => 60);
        $answered++ if ($r->status // 0) == 200
                       && $r->body =~ /"object":"chat.completion"/;
        next if $i <= $WARM;
        $faults{$_} += minflt($pid{$_}) - $before{$_} for keys %pid;
    }

    is($answered, $N, 'confer_heap_keep ' . ($keep // '(default)')
                      . ": $N answers to 2 MiB prompts");

    return { map { $_ => $faults{$_} / ($N - $WARM) } keys %faults };
}

$t->start_mock;
$t->start_relay(hop => target => 'terminator');

my $auto = run(undef);
my $off = run('off');
my $explicit = run('64m');

my $pages = $BYTES / 4096;
for my $role (qw(gateway terminator)) {
    diag(sprintf('%s faults per 2 MiB request: default (auto) %.0f, 64m'
                 . ' %.0f, off %.0f (%d pages of body)', $role,
                 $auto->{$role}, $explicit->{$role}, $off->{$role}, $pages));

    ok($auto->{$role} < $pages / 8,
       "$role: auto keeps what a 2 MiB request needs (under an eighth of"
       . ' its pages faulted in per request)');
    ok($explicit->{$role} < $pages / 8,
       "$role: confer_heap_keep 64m does the same");
}

# the control that the count sees what glibc gives back: with off, a role
# whose freed blocks end up at the top of its heap faults them all in
# again on every request (which role's do depends on what else was
# allocated after them, so either one will do)
ok(grep({ $off->{$_} > $pages } qw(gateway terminator)),
   'with off, a role faults in more than the body\'s pages per request'
   . ' (glibc gives the blocks back)');

# what each worker set, in its debug log: auto from the largest body limit,
# and nothing below 1 MiB (a limit of 2k would otherwise make 8k the mmap
# threshold, and every larger block a fresh mapping)
my %set;
for my $limit ('8m', '2k') {
    $t->stop('gateway');
    my $from = -s $t->error_log('gateway') // 0;
    $t->nginx(gateway => gateway_spec($t,
                  location => "confer_max_body $limit;"),
              log_level => 'debug');
    $t->post_json(gateway => '/v1/chat/completions', '{"model":"m"}');
    my $log = substr(Confer::Test::read_file($t->error_log('gateway'))
                     // '', $from);
    ($set{$limit}) = $log =~ /confer heap: keep (\d+), from the heap up to/;
    ok($log =~ /\[debug\].*http request line/,
       "confer_max_body $limit: the worker's debug log is there to read");
}
is($set{'8m'}, 4 * 8 * 1024 * 1024,
   'confer_max_body 8m: auto keeps four times that');
ok(!defined $set{'2k'},
   'confer_max_body 2k: auto leaves glibc\'s thresholds alone');

$t->done;
