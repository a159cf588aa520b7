#!/usr/bin/perl
# make bench, the chain section: what the confer chain costs against plain
# nginx, measured in one run on loopback.
#
# Two chains of the same shape, client -> nginx -> nginx -> model:
#
#   plain    plain_front (proxy_pass) -> plain_back (proxy_pass) -> model
#   confer   gateway (confer_seal)    -> terminator (confer_open) -> model
#
# Every hop has 2 workers, listens with reuseport, keeps upstream
# connections alive (keepalive 64, HTTP/1.1), logs nothing per request
# (access_log off) and does not buffer answers (proxy_buffering off).  The
# model is one shared stand-in, a third nginx answering a fixed
# chat.completion with `return 200` (a mock, fast and deterministic, so
# that the chains are what is measured), and for the streaming figures the
# MOCK model server (t/mock/mock-model-server.js) on the same port.
#
# Plain and confer measurements are paired so that both meet the same
# machine (it is shared and noisy): wrk rounds alternate (the order reversed
# every round) and a ratio is the median of the rounds' ratios; the latency
# client alternates request by request; the token streams of both chains
# run at the same time.  Every figure is a ratio or a difference against
# the plain chain measured in this run.  One JSON object per line on stdout
# (see t/bench/run); progress on stderr.
#
# Knobs (environment): CONFER_BENCH_SECONDS (per wrk round, 3),
# CONFER_BENCH_ROUNDS (wrk rounds per chain, 5), CONFER_BENCH_CONNECTIONS
# (16), CONFER_BENCH_MEM_REQUESTS (100000), CONFER_BENCH_STREAM_ROUNDS (5),
# CONFER_BENCH_TOKENS (500), CONFER_BENCH_TOKEN_MS (5),
# CONFER_BENCH_LEAVE=1 keeps the prefix with the instances' logs;
# CONFER_BENCH_HOLD=FILE starts the chains, holds them while FILE exists
# (to look at them by hand), then stops them and measures nothing;
# CONFER_BENCH_DUMP=FILE writes the streams' raw times there.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use IO::Socket::INET;
use JSON::PP ();
use List::Util qw(max min sum);
use POSIX ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);

# the harness reports through Test::More: keep stdout for figures
use Test::More ();
BEGIN {
    Test::More->builder->output(\*STDERR);
    Test::More->builder->failure_output(\*STDERR);
    Test::More->builder->todo_output(\*STDERR);
}

use Confer::Test ();
use Confer::HTTP ();

$| = 1;

my $SECS       = $ENV{CONFER_BENCH_SECONDS} || 3;
my $ROUNDS     = $ENV{CONFER_BENCH_ROUNDS} || 5;
my $CONNS      = $ENV{CONFER_BENCH_CONNECTIONS} || 16;
my $MEM_N      = $ENV{CONFER_BENCH_MEM_REQUESTS} || 100000;
my $S_ROUNDS   = $ENV{CONFER_BENCH_STREAM_ROUNDS} || 5;
my $TOKENS     = $ENV{CONFER_BENCH_TOKENS} || 500;
my $TOKEN_MS   = $ENV{CONFER_BENCH_TOKEN_MS} || 5;
my $TTFT_N     = 100;           # short streams per chain for the first token
my $COLD_N     = 5;             # cold gateway starts
my $WARMUP_N   = 5000;          # sealed requests before the memory run
my $LARGE      = 4 * 1024 * 1024;

my $JSON = JSON::PP->new->utf8->canonical;
my $T0 = time;

sub progress { printf STDERR "chain: %5.1fs %s\n", time - $T0, "@_" }

# --- figures -----------------------------------------------------------------

sub figure {
    my (%f) = @_;
    my $met = $f{met};
    $f{met} = !defined $met ? undef
            : $met ? JSON::PP::true : JSON::PP::false;
    $f{value} = 0 + sprintf('%.4g', $f{value}) if defined $f{value};
    print $JSON->encode({ section => 'chain', %f }), "\n";
}

# a figure that cannot be measured: said so, never invented
sub figure_null {
    my ($name, $unit, $goal, $why) = @_;
    figure(name => $name, value => undef, unit => $unit, goal => $goal,
           met => undef, detail => $why);
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# the nearest-rank percentile
sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return undef unless @v;
    my $i = int($p / 100 * @v + 0.999999) - 1;
    $i = 0 if $i < 0;
    $i = $#v if $i > $#v;
    return $v[$i];
}

sub mean { @_ ? sum(@_) / @_ : undef }

sub ms { sprintf('%.3f', $_[0] * 1000) }

# --- what the bench needs ----------------------------------------------------

my $root = Confer::Test::root();
my $build = Confer::Test::build_dir();
my $nginx_bin = $ENV{CONFER_NGINX} || '/usr/sbin/nginx';
my $module = $ENV{CONFER_MODULE} || "$build/nginx/ngx_http_confer_module.so";

my @missing;
push @missing, "nginx ($nginx_bin)" unless -x $nginx_bin;
push @missing, "the module ($module; run make)" unless -f $module;
push @missing, "confer-attest ($build/confer-attest; run make)"
    unless -x "$build/confer-attest";
push @missing, 'wrk' unless `wrk --version 2>&1` =~ /wrk/;
push @missing, 'node' unless `node --version 2>/dev/null` =~ /^v\d+/;
if (@missing) {
    figure_null('chain bench', '-', 'runs',
                'not run: missing ' . join(', ', @missing));
    exit 0;
}

my $t = Confer::Test->new(node => 1);
$SIG{INT} = $SIG{TERM} = sub { $t->{no_checks} = 1; $t->_finish; exit 1 };
progress('prefix ' . $t->prefix);

# --- the instances -----------------------------------------------------------

# the stand-in's answer: a fixed non-streamed chat.completion
my $ANSWER = '{"id":"chatcmpl-bench","object":"chat.completion",'
    . '"created":1700000000,"model":"mock-model","choices":[{"index":0,'
    . '"message":{"role":"assistant","content":"A fixed answer from the '
    . 'model stand-in of the chain bench."},"finish_reason":"stop"}],'
    . '"usage":{"prompt_tokens":10,"completion_tokens":11,'
    . '"total_tokens":21}}';

# what every instance shares: workers, connections, no per-request log
sub conf {
    my ($name, $http, $server) = @_;
    return <<"EOF";
worker_processes 2;
worker_rlimit_nofile 8192;

events {
    worker_connections 4096;
}

http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_max_body_size 16m;
    client_body_buffer_size 8m;

$http
    server {
        listen 127.0.0.1:%%PORT_\U$name\E%% reuseport backlog=4096;
        server_name localhost;
        access_log off;

$server
    }
}
EOF
}

# an upstream to the next hop, kept alive like a real deployment
sub upstream {
    my ($name, $port) = @_;
    return <<"EOF";
    upstream $name {
        server 127.0.0.1:%%PORT_\U$port\E%%;
        keepalive 64;
        keepalive_requests 1000000;
    }
EOF
}

my $PROXY = <<'EOF';
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 120s;
EOF

# Small bodies come with the request head and `return` answers at once;
# larger ones are read to the end first (a proxy_pass to itself without the
# body), as a real model server reads the whole prompt: answering before
# the body is in would let a hop (or wrk) finish early and close
# connections.
my $model_conf = conf('model', upstream('itself', 'model'), <<"EOF");
        location = /v1/chat/completions {
            if (\$content_length ~ "^[0-9]{5,}\$") {
                rewrite ^ /_read_body last;
            }
            default_type application/json;
            return 200 '$ANSWER';
        }
        location = /_read_body {
            internal;
            proxy_pass http://itself/_answer;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location = /_answer {
            default_type application/json;
            return 200 '$ANSWER';
        }
        location / {
            return 404;
        }
EOF

sub plain_hop {
    my ($name, $next) = @_;
    return conf($name, upstream('next_hop', $next), <<"EOF");
        location /v1/ {
            proxy_pass http://next_hop;
$PROXY
        }
EOF
}

my $sim = $t->prefix . '/sim';
{
    my $out = `'$build/confer-attest' simulate init '$sim' 2>&1`;
    die "confer-attest simulate init: $out" if $?;
}
my $policy = $t->prefix . '/policy.json';
{
    open my $fh, '>', $policy or die "$policy: $!";
    print $fh $JSON->encode({ platforms => [],
                              allow_simulated => JSON::PP::true,
                              simulated_root => "$sim/sim-root.pem" });
    close $fh;
}

my $terminator_conf = conf('terminator',
    "    confer_key simulated=$sim lifetime=1h;\n"
    . upstream('model', 'model'), <<"EOF");
        location = /.well-known/confer-attestation {
            access_log %%DIR%%/attestation.log;
            confer_attestation;
        }
        location = /.well-known/ohttp-gateway {
            confer_open max_body=16m;
            proxy_pass http://model;
$PROXY
        }
        location / {
            return 404;
        }
EOF

my $gateway_conf = conf('gateway',
    "    confer_cache zone=confer:1m;\n"
    . upstream('terminator', 'terminator'), <<"EOF");
        location /v1/ {
            confer_seal http://127.0.0.1:%%PORT_TERMINATOR%%
                        policy=$policy;
            confer_max_body 16m;
            proxy_pass http://terminator;
$PROXY
        }
        location = /confer/status {
            confer_status;
        }
EOF

my %entry = (plain => 'plain_front', confer => 'gateway');
my %hops = (plain => [ 'plain_front', 'plain_back' ],
            confer => [ 'gateway', 'terminator' ]);

progress('starting the instances');
$t->nginx(model => $model_conf, log_level => 'warn');
$t->nginx(plain_back => plain_hop('plain_back', 'model'),
          log_level => 'warn');
$t->nginx(plain_front => plain_hop('plain_front', 'plain_back'),
          log_level => 'warn');
$t->nginx(terminator => $terminator_conf, log_level => 'warn');
# a module without request sealing has no confer_max_body: start without
# it, and the check below says that the confer chain does not work yet
unless (eval { $t->nginx(gateway => $gateway_conf, log_level => 'warn') }) {
    die $@ unless $@ =~ /unknown directive "confer_max_body"/;
    $gateway_conf =~ s/^\s*confer_max_body .*\n//m;
    $t->nginx(gateway => $gateway_conf, log_level => 'warn');
}

# --- are both chains working? ------------------------------------------------

sub chat_body {
    my ($bytes, %extra) = @_;
    my $unit = 'the quick brown fox jumps over the lazy dog ';
    my $prompt = substr($unit x (int($bytes / length $unit) + 1), 0, $bytes);
    return $JSON->encode({ model => 'mock-model',
                           messages => [ { role => 'user',
                                           content => $prompt } ],
                           %extra });
}

sub chat {
    my ($to, $bytes, %o) = @_;
    return $t->request($to, 'POST /v1/chat/completions',
        headers => [ 'Content-Type' => 'application/json' ],
        body => chat_body($bytes), timeout => 30, %o);
}

# why a chain does not give the model's answer, or undef when it does
sub broken {
    my ($chain) = @_;
    my $r = chat($entry{$chain}, 1024);
    return undef if ($r->status // 0) == 200 && $r->body eq $ANSWER;
    my $body = $r->body // '';
    $body = $1 if $body =~ m{<title>(.*?)</title>}s;
    $body =~ s/\s+/ /g;
    return sprintf('POST /v1/chat/completions through the %s chain answered'
                   . ' %s "%s", not the model\'s answer', $chain,
                   $r->status // ($r->error // 'nothing'),
                   substr($body, 0, 120));
}

my $plain_broken = broken('plain');
die "the plain chain does not work: $plain_broken\n" if $plain_broken;

my $confer_broken = broken('confer');
if ($confer_broken) {
    # the terminator answers 404 only outside its OHTTP location
    $confer_broken .= ' (the gateway sent it on unsealed: request sealing'
                      . ' is not in this build)'
        if $confer_broken =~ /answered 404 "404 Not Found"/;
    $confer_broken = "confer chain not functional yet: $confer_broken";
    progress($confer_broken);
}
my @chains = $confer_broken ? ('plain') : ('plain', 'confer');

# for looking at the chains by hand: wait while the file exists
if (my $hold = $ENV{CONFER_BENCH_HOLD}) {
    open my $fh, '>', $hold or die "$hold: $!";
    close $fh;
    progress(join ' ', map { "$_=" . $t->port($_) }
             qw(model plain_back plain_front terminator gateway));
    progress("holding while $hold exists");
    $t->wait_for(sub { !-e $hold }, "$hold is removed", 86400);
    $t->{no_checks} = 1;
    $t->_finish;
    exit 0;
}

# --- cold attestation in the gateway -----------------------------------------

# the first request of a fresh gateway (empty cache: fetch and verify the
# terminator's document) against warm requests of the same gateway, each
# on a new connection
unless ($confer_broken) {
    progress('cold attestation');
    my (@cold, @warm, @doc);
    for (1 .. $COLD_N) {
        my $d = $t->request('terminator',
                            'GET /.well-known/confer-attestation');
        push @doc, $d->{t_end} - $d->{t_start};
        $t->stop('gateway');
        $t->start('gateway');
        my $r = chat('gateway', 1024);
        die 'cold request failed: ' . ($r->status // $r->error) . "\n"
            unless ($r->status // 0) == 200;
        push @cold, $r->{t_end} - $r->{t_start};
        my @w;
        for (1 .. 15) {
            my $w = chat('gateway', 1024);
            push @w, $w->{t_end} - $w->{t_start};
        }
        push @warm, median(@w);
    }
    my $cost = median(map { $cold[$_] - $warm[$_] } 0 .. $#cold);
    figure(name => 'cold attestation cost in the gateway (simulated)',
        value => $cost * 1000, unit => 'ms',
        goal => 'reported (SNP/TDX verification: attest section)',
        met => undef,
        detail => sprintf('the first request of a freshly started gateway'
            . ' minus a warm request of it, median of %d starts: cold %s ms,'
            . ' warm %s ms. The cold one waits while a worker fetches the'
            . ' document over loopback (a GET of it alone: %s ms) and'
            . ' verifies the simulated SNP-format report and its ECDSA P-384'
            . ' chain; waiting requests look at the shared cache after 5,'
            . ' 10, 20, 40, 80 ms and then every 100 ms, so fetch plus'
            . ' verification is rounded up by that schedule. The'
            . ' verification cost per platform (SNP, TDX) against raw'
            . ' signature checks is in the attest section.',
            $COLD_N, ms(median(@cold)), ms(median(@warm)), ms(median(@doc))));
}

# the gateway whose attestation fetches are counted: started once, used for
# every run below
$t->stop('gateway');
$t->start('gateway');
my $att_log = $t->dir('terminator') . '/attestation.log';
my $att_from = -s $att_log // 0;

# --- wrk ---------------------------------------------------------------------

my $CLK_TCK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;

# CPU time (user + system, seconds) of an instance's workers so far
sub cpu_secs {
    my ($name) = @_;
    my $ticks = 0;
    for my $pid (workers($name)) {
        my $s = Confer::Test::read_file("/proc/$pid/stat") // next;
        $s =~ s/^.*\) //s;
        my @f = split ' ', $s;
        $ticks += $f[11] + $f[12];          # utime, stime (fields 14, 15)
    }
    return $ticks / $CLK_TCK;
}

# a wrk run against a chain's first hop; also the CPU time its two hops
# spent per answered request (cpu_us: { instance => microseconds })
sub wrk {
    my ($chain, %o) = @_;
    my $port = $t->port($entry{$chain});
    my %cpu0 = map { $_ => cpu_secs($_) } @{ $hops{$chain} };
    local $ENV{BENCH_PROMPT_BYTES} = $o{bytes};
    local $ENV{BENCH_STOP_AFTER} = $o{stop_after} // 0;
    my @cmd = ('wrk', '-t', 1, '-c', $o{conns} // $CONNS,
               '-d', ($o{secs} // $SECS) . 's', '--timeout', '30s',
               '-s', "$FindBin::Bin/chain.lua",
               "http://127.0.0.1:$port/v1/chat/completions");
    my $pid = open(my $fh, '-|', @cmd) or die "wrk: $!";
    my $out = '';
    while (my $l = <$fh>) {
        $out .= $l;
        # the thread stopped at its count: end wrk's wait for -d
        kill 'INT', $pid if $l =~ /^BENCH-STOPPED/;
    }
    close $fh;
    my ($j) = $out =~ /^BENCH (\{.*\})\s*$/m
        or die "wrk gave no figures:\n$out";
    my $r = $JSON->decode($j);
    for my $h (@{ $hops{$chain} }) {
        $r->{cpu_us}{$h} = (cpu_secs($h) - $cpu0{$h}) * 1e6
                           / ($r->{requests} || 1);
    }
    $r->{cpu_us}{chain} = sum(values %{ $r->{cpu_us} });
    $r->{secs} = $r->{duration_us} / 1e6;
    $r->{rps} = $r->{requests} / $r->{secs};
    $r->{bps} = $r->{requests} * $r->{body_bytes} / $r->{secs};
    $r->{errors} = sum(map { $r->{$_} } qw(connect_errors read_errors
                       write_errors status_errors timeouts));
    return $r;
}

# rounds of measurements, plain and confer alternating, the order reversed
# every round so that a drift of the machine hits both alike: round i of
# each chain ran next to the other's round i
sub rounds {
    my ($n, $run) = @_;
    my %res = map { $_ => [] } @chains;
    for my $i (1 .. $n) {
        my @order = $i % 2 ? @chains : reverse @chains;
        push @{ $res{$_} }, $run->($_, $i) for @order;
    }
    return \%res;
}

sub wrk_rounds {
    my ($label, %o) = @_;
    progress("$label: warm-up");
    wrk($_, %o, secs => 1) for @chains;
    progress("$label: $ROUNDS rounds of ${SECS}s");
    return rounds($ROUNDS, sub {
        my ($c) = @_;
        my $r = wrk($c, %o);
        progress(sprintf('  %-6s %8.0f req/s %7.1f MiB/s p50 %s ms p99 %s'
                         . ' ms, %.0f us CPU/req%s', $c, $r->{rps},
                         $r->{bps} / 1048576, ms($r->{p50_us} / 1e6),
                         ms($r->{p99_us} / 1e6), $r->{cpu_us}{chain},
                         $r->{errors} ? " $r->{errors} errors" : ''));
        return $r;
    });
}

# the median over rounds of one chain
sub med {
    my ($res, $chain, $k) = @_;
    return median(map { $_->{$k} } @{ $res->{$chain} });
}

# the median over rounds of one hop's CPU time per request (us)
sub med_cpu {
    my ($res, $chain, $hop) = @_;
    return median(map { $_->{cpu_us}{$hop} } @{ $res->{$chain} });
}

# per round, confer against the plain round next to it; returns the median
# and the list
sub paired {
    my ($res, $f) = @_;
    my @v = map { $f->($res->{confer}[$_], $res->{plain}[$_]) }
            0 .. $#{ $res->{plain} };
    return (median(@v), @v);
}

sub errors_note {
    my ($res) = @_;
    my @n;
    for my $c (@chains) {
        my $e = sum(map { $_->{errors} } @{ $res->{$c} });
        push @n, "$c: $e errors" if $e;
    }
    return @n ? ' ERRORS: ' . join(', ', @n) . '.' : '';
}

my $LIMITS = 'What limits it: 2 cores shared by wrk, both hops of the'
    . ' chain and the model stand-in (and, on a shared machine, whatever'
    . ' else runs); per request the confer chain does 3 X25519 scalar'
    . ' multiplications (the gateway\'s HPKE encapsulation: one key'
    . ' generation and one DH, made ahead in idle time when the gateway'
    . ' has any, which a saturated one has not; the terminator\'s'
    . ' decapsulation: one DH, on the request\'s path), HKDF and AEAD on'
    . ' both sides, JSON and Binary HTTP at the gateway, and its answer is'
    . ' sealed and opened again.';

# --- memory ------------------------------------------------------------------

sub workers {
    my ($name) = @_;
    my $master = $t->nginx_pid($name);
    my @w;
    for my $st (glob '/proc/[0-9]*/stat') {
        my $s = Confer::Test::read_file($st) // next;
        my ($pid, $ppid) = $s =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        push @w, $pid if $ppid == $master;
    }
    return sort { $a <=> $b } @w;
}

# VmRSS and its private (RssAnon) and shared-memory (RssShmem) parts, KiB
sub rss_kib {
    my ($pid) = @_;
    my $s = Confer::Test::read_file("/proc/$pid/status") // return {};
    my %m;
    for my $k (qw(VmRSS RssAnon RssShmem)) {
        $m{$k} = $s =~ /^$k:\s+(\d+) kB/m ? $1 : 0;
    }
    return \%m;
}

# the growth of every gateway and terminator worker over $MEM_N sealed 1 KiB
# requests, after the 1 KiB throughput rounds (and more, up to $WARMUP_N)
sub memory_run {
    my ($warm) = @_;
    if ($warm < $WARMUP_N) {
        progress("memory: warm-up to $WARMUP_N sealed requests");
        my $r = wrk('confer', bytes => 1024,
                    stop_after => $WARMUP_N - $warm, secs => 120);
        $warm += $r->{requests};
    }

    my %before;
    for my $name (qw(gateway terminator)) {
        $before{$name}{$_} = rss_kib($_) for workers($name);
    }
    progress("memory: $MEM_N sealed requests");
    my $r = wrk('confer', bytes => 1024, stop_after => $MEM_N, secs => 300);
    progress(sprintf('  %d requests in %.1f s', $r->{requests}, $r->{secs}));

    my $bad = $r->{errors} ? " ERRORS: $r->{errors}." : '';
    $bad .= ' FEWER REQUESTS THAN ASKED.' if $r->{requests} < $MEM_N;
    for my $name (qw(gateway terminator)) {
        my @now = workers($name);
        my @was = sort { $a <=> $b } keys %{ $before{$name} };
        my $why = "@now" eq "@was" ? $bad
                : "$bad WORKERS CHANGED (one died?).";
        my %after = map { $_ => rss_kib($_) } @now;
        my %g;
        for my $k (qw(VmRSS RssAnon RssShmem)) {
            $g{$k} = max(map { ($after{$_}{$k} // 0)
                               - ($before{$name}{$_}{$k} // 0) } @now);
        }
        my $per = join('; ', map {
            my $w = $_;
            sprintf('%s %s -> %s', $_,
                    join('/', map { $before{$name}{$w}{$_} // '?' }
                              qw(VmRSS RssAnon RssShmem)),
                    join('/', map { $after{$w}{$_} // '?' }
                              qw(VmRSS RssAnon RssShmem)))
        } @now);
        my $how = sprintf('%d %s workers, before and after %d sealed 1 KiB'
            . ' chat completions (wrk -t1 -c%d) that followed %d sealed'
            . ' requests of warm-up; the largest growth of any worker. Per'
            . ' worker, VmRSS/RssAnon/RssShmem in KiB (/proc/PID/status): %s.',
            scalar @now, $name, $r->{requests}, $CONNS, $warm, $per);
        my $shm = $name eq 'terminator'
            ? ' Shared memory is the replay cache, a fixed table (the'
              . ' default zone, 8m, 8 bytes per request until its key'
              . ' retires) whose pages each worker touches as requests'
              . ' land on them: its RSS grows towards the zone\'s size during'
              . ' the first requests and then stays.'
            : '';
        figure(name => "memory: $name worker RSS growth",
               value => $g{VmRSS}, unit => 'KiB',
               goal => '< 1024 KiB per worker',
               met => $why ? 0 : $g{VmRSS} < 1024,
               detail => sprintf('VmRSS growth: %d KiB, of which private'
                   . ' (RssAnon) %d KiB and shared memory (RssShmem) %d'
                   . ' KiB. %s%s%s', $g{VmRSS}, $g{RssAnon}, $g{RssShmem},
                   $how, $shm, $why));
        figure(name => "memory: $name worker private RSS growth",
               value => $g{RssAnon}, unit => 'KiB',
               goal => '< 1024 KiB per worker',
               met => $why ? 0 : $g{RssAnon} < 1024,
               detail => sprintf('RssAnon: the worker\'s own heap and'
                   . ' stack, where a leak would show; shared zones not'
                   . ' counted. %s%s', $how, $why));
    }
}

if ($confer_broken) {
    for my $name (qw(gateway terminator)) {
        figure_null("memory: $name worker RSS growth", 'KiB',
                    '< 1024 KiB per worker', $confer_broken);
        figure_null("memory: $name worker private RSS growth", 'KiB',
                    '< 1024 KiB per worker', $confer_broken);
    }
}

# --- throughput --------------------------------------------------------------

for my $size ([ 1024, '1 KiB' ], [ 65536, '64 KiB' ]) {
    my ($bytes, $label) = @$size;
    my $at1k = $bytes == 1024;

    my $res = wrk_rounds("throughput $label", bytes => $bytes);
    my $how = sprintf('wrk -t1 -c%d, %d rounds of %d s per chain,'
                      . ' alternating.', $CONNS, $ROUNDS, $SECS);
    my $errs = errors_note($res);
    my %m;
    for my $c (@chains) {
        $m{$c}{$_} = med($res, $c, $_) for qw(rps p50_us p99_us);
    }
    my ($p, $c) = @m{qw(plain confer)};

    figure(name => "throughput $label, plain chain", value => $p->{rps},
           unit => 'req/s', goal => 'baseline', met => undef,
           detail => sprintf('non-streamed chat completions, %s prompt,'
               . ' plain proxy_pass in both hops; medians: p50 %s ms, p99'
               . ' %s ms. %s%s', $label, ms($p->{p50_us} / 1e6),
               ms($p->{p99_us} / 1e6), $how, $errs));

    my $goal_r = $at1k ? '>= 0.85' : 'reported (goal at 1 KiB)';
    if ($confer_broken) {
        figure_null("throughput $label, confer / plain", 'ratio', $goal_r,
                    $confer_broken);
        next;
    }

    my ($ratio, @ratios) = paired($res, sub { $_[0]{rps} / $_[1]{rps} });
    figure(name => "throughput $label, confer chain", value => $c->{rps},
           unit => 'req/s', goal => '-', met => undef,
           detail => sprintf('the same through gateway (confer_seal) and'
               . ' terminator (confer_open, simulated evidence); medians:'
               . ' p50 %s ms, p99 %s ms. %s%s', ms($c->{p50_us} / 1e6),
               ms($c->{p99_us} / 1e6), $how, $errs));
    figure(name => "throughput $label, confer / plain", value => $ratio,
           unit => 'ratio', goal => $goal_r,
           met => $errs ? 0 : $at1k ? $ratio >= 0.85 : undef,
           detail => sprintf('the median of the rounds\' ratios (%s); medians'
               . ' %.0f / %.0f req/s. %s %s%s',
               join(', ', map { sprintf '%.3f', $_ } @ratios), $c->{rps},
               $p->{rps}, $how, $LIMITS, $errs));
    my ($cpu, @cpus) = paired($res, sub { $_[0]{cpu_us}{chain}
                                          / $_[1]{cpu_us}{chain} });
    my %cu;
    for my $ch (@chains) {
        $cu{$_} = med_cpu($res, $ch, $_) for @{ $hops{$ch} };
    }
    figure(name => "CPU per request $label, confer / plain", value => $cpu,
           unit => 'ratio', goal => 'reported (what limits throughput)',
           met => undef,
           detail => sprintf('user + system CPU time of the two hops\''
               . ' workers (/proc/PID/stat) per answered request, the median'
               . ' of the rounds\' ratios (%s); medians: gateway %.0f us +'
               . ' terminator %.0f us against plain front %.0f us + plain'
               . ' back %.0f us. Not counted: wrk and the model stand-in,'
               . ' the same for both chains. On 2 cores the chain that needs'
               . ' more CPU per request serves fewer.',
               join(', ', map { sprintf '%.2f', $_ } @cpus),
               @cu{qw(gateway terminator plain_front plain_back)}));
    for my $q (50, 99) {
        my $k = "p${q}_us";
        my ($d) = paired($res, sub { ($_[0]{$k} - $_[1]{$k}) / 1000 });
        figure(name => "p$q latency $label at $CONNS connections,"
                       . ' confer - plain',
               value => $d, unit => 'ms', goal => 'reported (saturated)',
               met => undef,
               detail => sprintf('the median of the rounds\' differences;'
                   . ' medians %s and %s ms. Both chains saturated: mostly'
                   . ' queueing behind the slower chain (the time a request'
                   . ' adds is the figure at one connection). %s%s',
                   ms($c->{$k} / 1e6), ms($p->{$k} / 1e6), $how, $errs));
    }

    # after the 1 KiB rounds, which are its warm-up
    memory_run(sum(map { $_->{requests} } @{ $res->{confer} })) if $at1k;
}


# --- latency at one connection -----------------------------------------------

# One request at a time on a kept-alive connection to each chain, the chains
# alternating request by request (ABBA...), so that both see the same
# machine: what a request costs in time, without queueing.

sub ka_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp')
        or die "connect $port: $@\n";
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $s;
    return { sock => $s, buf => '' };
}

# fills the connection's buffer to at least $n bytes
sub ka_fill {
    my ($c, $n) = @_;
    while (length $c->{buf} < $n) {
        my $got = sysread($c->{sock}, $c->{buf}, 65536, length $c->{buf});
        die "read: " . ($got // $!) . "\n" unless $got;
    }
}

# one request; returns (status, seconds)
sub ka_request {
    my ($c, $req) = @_;
    my $t0 = time;
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($c->{sock}, $req, length($req) - $off, $off);
        die "write: $!\n" unless defined $n;
        $off += $n;
    }
    my $i;
    until (($i = index($c->{buf}, "\r\n\r\n")) >= 0) {
        ka_fill($c, length($c->{buf}) + 1);
    }
    my $head = substr($c->{buf}, 0, $i + 4, '');
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})} or die "bad head\n";
    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        ka_fill($c, $1);
        substr($c->{buf}, 0, $1, '');
    } elsif ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        while (1) {
            until (($i = index($c->{buf}, "\r\n")) >= 0) {
                ka_fill($c, length($c->{buf}) + 1);
            }
            my ($size) = substr($c->{buf}, 0, $i + 2, '') =~ /^([0-9a-f]+)/i;
            $size = hex($size // die "bad chunk\n");
            ka_fill($c, $size + 2);
            substr($c->{buf}, 0, $size + 2, '');
            last if $size == 0;         # no trailers from nginx
        }
    } else {
        die "no length in the answer\n";
    }
    return ($status, time - $t0);
}

sub latency_run {
    my $body = chat_body(1024);
    my $req = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
            . "Content-Type: application/json\r\n"
            . 'Content-Length: ' . length($body) . "\r\n\r\n" . $body;
    my %conn = map { $_ => ka_open($t->port($entry{$_})) } @chains;
    my %lat = map { $_ => [] } @chains;
    my $secs = $ROUNDS * $SECS;

    progress("latency 1 KiB at one connection: ${secs}s, alternating");
    for my $i (1 .. 200) {
        ka_request($conn{$_}, $req) for @chains;
    }
    my $end = time + $secs;
    my $i = 0;
    while (time < $end) {
        my @order = $i++ % 2 ? reverse @chains : @chains;
        for my $c (@order) {
            my ($st, $dt) = ka_request($conn{$c}, $req);
            die "latency run: $c answered $st\n" unless $st == 200;
            push @{ $lat{$c} }, $dt;
        }
    }
    close $_->{sock} for values %conn;

    my %q;
    for my $c (@chains) {
        $q{$c}{$_} = pct($_, @{ $lat{$c} }) for 50, 99;
        progress(sprintf('  %-6s %d requests p50 %s ms p99 %s ms', $c,
                         scalar @{ $lat{$c} }, ms($q{$c}{50}),
                         ms($q{$c}{99})));
    }
    return unless $q{confer};

    # the noise floor: the plain chain against itself, odd requests
    # against even ones
    my @pl = @{ $lat{plain} };
    my @odd = @pl[ grep { $_ % 2 } 0 .. $#pl ];
    my @even = @pl[ grep { !($_ % 2) } 0 .. $#pl ];
    my $aa = pct(99, @odd) - pct(99, @even);

    my $how = sprintf('%d requests per chain, one at a time on one'
        . ' kept-alive connection per chain, the chains alternating request'
        . ' by request for %d s; percentiles over all requests. The same'
        . ' measure between the odd and even requests of the plain chain'
        . ' (the noise of this machine at p99): %s ms.', scalar @pl, $secs,
        ms($aa));
    for my $p (50, 99) {
        my $d = ($q{confer}{$p} - $q{plain}{$p}) * 1000;
        figure(name => "p$p latency 1 KiB at one connection, confer - plain",
               value => $d, unit => 'ms',
               goal => $p == 99 ? '< 0.3 ms' : 'reported',
               met => $p == 99 ? $d < 0.3 : undef,
               detail => sprintf('%s - %s ms. %s%s', ms($q{confer}{$p}),
                   ms($q{plain}{$p}), $how, $p == 99 ? " $LIMITS" : ''));
    }
}

latency_run();
figure_null('p99 latency 1 KiB at one connection, confer - plain', 'ms',
            '< 0.3 ms', $confer_broken) if $confer_broken;

# --- large bodies ------------------------------------------------------------

{
    my $res = wrk_rounds('large bodies', bytes => $LARGE, conns => 2);
    my %bps = map { $_ => med($res, $_, 'bps') } @chains;
    my $errs = errors_note($res);
    my $how = sprintf('4 MiB prompts in non-streamed chat completions'
        . ' (the stand-in reads them whole and answers small), wrk -t1 -c2,'
        . ' %d rounds of %d s per chain, alternating. Every hop keeps'
        . ' bodies in memory (client_body_buffer_size 8m: no temp files,'
        . ' as the gateway keeps the plaintext in its own memory) and'
        . ' accepts 16 MiB (client_max_body_size, confer_max_body,'
        . ' confer_open max_body).', $ROUNDS, $SECS);
    if ($confer_broken) {
        figure_null('large bodies (4 MiB), confer / plain', 'ratio',
                    '>= 0.8', $confer_broken . sprintf(' (plain chain:'
                    . ' %.1f MiB/s)', $bps{plain} / 1048576));
    } else {
        my ($ratio, @r) = paired($res, sub { $_[0]{bps} / $_[1]{bps} });
        my %cu;
        for my $c (@chains) {
            $cu{$_} = med_cpu($res, $c, $_) / 1000 for @{ $hops{$c} };
        }
        figure(name => 'large bodies (4 MiB), confer / plain',
               value => $ratio, unit => 'ratio', goal => '>= 0.8',
               met => $errs ? 0 : $ratio >= 0.8,
               detail => sprintf('request bytes per second, the median of'
                   . ' the rounds\' ratios (%s); medians: confer %.1f MiB/s,'
                   . ' plain %.1f MiB/s. %s What limits it: CPU time per'
                   . ' request (medians): gateway %.1f ms + terminator %.1f'
                   . ' ms against plain front %.1f ms + plain back %.1f ms;'
                   . ' the gateway checks the JSON body and builds the'
                   . ' Binary HTTP message, both sides run the AEAD over'
                   . ' every byte and wipe what they held, on 2 cores shared'
                   . ' with wrk (confer_heap_keep auto, the default: the'
                   . ' workers keep the freed heap rather than fault it in'
                   . ' again every request).%s',
                   join(', ', map { sprintf '%.3f', $_ } @r),
                   $bps{confer} / 1048576, $bps{plain} / 1048576, $how,
                   @cu{qw(gateway terminator plain_front plain_back)},
                   $errs));
    }
}

# --- attestation fetches ------------------------------------------------------

if ($confer_broken) {
    figure_null('attestation fetches during the run', 'fetches', '== 1',
                $confer_broken);
} else {
    my $log = substr(Confer::Test::read_file($att_log) // '', $att_from);
    my $fetches = () = $log =~ /confer-attestation/g;
    my $st = $t->request('gateway', 'GET /confer/status');
    my $j = eval { $JSON->decode($st->body) } // {};
    my ($term) = @{ $j->{terminators} || [] };
    my $c = $term->{counters} || {};
    figure(name => 'attestation fetches during the run', value => $fetches,
           unit => 'fetches', goal => '== 1 (one per refresh)',
           met => $fetches == 1,
           detail => sprintf('attestation documents the terminator served'
               . ' (its access log of /.well-known/confer-attestation) from'
               . ' the start of the gateway (2 workers, one confer_cache)'
               . ' to the end of the throughput, memory, latency and'
               . ' large-body runs, which are shorter than the key\'s'
               . ' refresh window (lifetime 1h, refreshed in its last'
               . ' fifth). The gateway\'s confer_status: fetches %s,'
               . ' verified %s, gated %s, sealed %s.',
               map { $c->{$_} // '?' } qw(fetches verified gated sealed)));
}

# --- streaming ---------------------------------------------------------------

# the MOCK model server takes the stand-in's port: the hops keep their
# configuration (and the terminator its key)
progress('streaming: the MOCK model server replaces the stand-in');
$t->stop('model');
$t->spawn('mock', [ 'node', "$root/t/mock/mock-model-server.js", '--quiet',
                    '--port', $t->port('model') ]);
$t->wait_port($t->port('model'), 'the MOCK model server listens',
              sub { $t->daemon_alive('mock') });

sub mock_call {
    my ($method, $path) = @_;
    my $r = Confer::HTTP::request(port => $t->port('model'),
                                  method => $method, path => $path);
    die "mock $method $path: " . ($r->status // $r->error) . "\n"
        unless ($r->status // 0) == 200;
    return $JSON->decode($r->body);
}

# one streamed chat completion through a chain, read to its end; the
# prompt names the chain (same length for both, so that the MOCK's tokens,
# 8 bytes each, make events of the same sizes)
sub stream_once {
    my ($chain, $tokens) = @_;
    my $body = chat_body(0, stream => JSON::PP::true,
        messages => [ { role => 'user',
                        content => sprintf('bench stream %-6s', $chain) } ],
        mock => { tokens => $tokens, delay_ms => $TOKEN_MS,
                  token_sizes => [ 8 ] });
    my $s = $t->stream($entry{$chain}, 'POST /v1/chat/completions',
                       headers => [ 'Content-Type' => 'application/json' ],
                       body => $body, timeout => 60);
    my $r = $s->finish(60);
    my $ev = $r->events;
    return {
        chain => $chain, status => $r->status, error => $r->error,
        complete => $r->complete ? 1 : 0,
        t_start => $r->{t_start},
        ev => [ map { $_->{t} } @$ev ],
        reads => scalar @{ $r->reads },
        chunks => scalar @{ $r->chunks },
    };
}

# (a) time to first token: short streams, alternating one by one
progress('streaming: warm-up');
stream_once($_, 5) for @chains;
progress("streaming: time to first token, $TTFT_N streams per chain");
my %ttft = map { $_ => [] } @chains;
for my $i (1 .. $TTFT_N) {
    for my $c ($i % 2 ? @chains : reverse @chains) {
        my $o = stream_once($c, 2);
        push @{ $ttft{$c} }, $o->{ev}[0] - $o->{t_start}
            if ($o->{status} // 0) == 200 && @{ $o->{ev} };
    }
}

# (b) the token stream: plain and confer at the same time (a child process
# reads one), so that both meet the same machine
sub stream_pair {
    my %o;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $rd;
        print $wr $JSON->encode(stream_once('confer', $TOKENS));
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    $o{plain} = stream_once('plain', $TOKENS);
    $o{confer} = eval { $JSON->decode(do { local $/; <$rd> }) }
                 // { chain => 'confer', error => 'the child said nothing' };
    close $rd;
    waitpid($pid, 0);
    return \%o;
}

my %st = map { $_ => [] } @chains;
progress("streaming: $S_ROUNDS rounds of $TOKENS tokens every $TOKEN_MS ms,"
         . ' both chains at once');
for my $i (1 .. $S_ROUNDS) {
    mock_call('DELETE', '/__mock/requests');
    my $pair = $confer_broken ? { plain => stream_once('plain', $TOKENS) }
             : stream_pair();
    my $rec = mock_call('GET', '/__mock/requests');
    for my $c (@chains) {
        my $o = $pair->{$c};
        my ($m) = grep { ($_->{body} // '') =~ /bench stream \Q$c\E/ } @$rec;
        $o->{sent} = $m ? $m->{events_sent} : [];
        progress(sprintf('  %-6s %d events (the MOCK sent %d), %d chunks,'
                         . ' %d reads%s', $c, scalar @{ $o->{ev} },
                         scalar @{ $o->{sent} }, $o->{chunks}, $o->{reads},
                         $o->{error} ? " ($o->{error})" : ''));
        push @{ $st{$c} }, $o;
    }
}
if (my $dump = $ENV{CONFER_BENCH_DUMP}) {
    open my $fh, '>', $dump or die "$dump: $!";
    print $fh $JSON->encode({ ttft => \%ttft, streams => \%st });
    close $fh;
}

{
    my (%s, $note);
    for my $c (@chains) {
        my @ok = grep { ($_->{status} // 0) == 200 && $_->{complete}
                        && @{ $_->{ev} } && @{ $_->{ev} } == @{ $_->{sent} }
                      } @{ $st{$c} };
        my $bad = @{ $st{$c} } - @ok;
        $note .= " $c: $bad of $S_ROUNDS streams incomplete or with another"
                 . ' number of events than the MOCK sent.' if $bad;
        next unless @ok && @{ $ttft{$c} };
        my (@gaps, @sgaps, @lat, @aa_gap, @aa_lat);
        for my $o (@ok) {
            my ($ev, $sent) = @$o{qw(ev sent)};
            my @g = map { $ev->[$_] - $ev->[$_ - 1] } 1 .. $#$ev;
            my @l = map { $ev->[$_] - $sent->[$_] } 0 .. $#$ev;
            push @gaps, @g;
            push @lat, @l;
            push @sgaps, map { $sent->[$_] - $sent->[$_ - 1] } 1 .. $#$sent;
            # odd against even events: the noise of the measure itself
            push @{ $aa_gap[$_ % 2] }, $g[$_] for 0 .. $#g;
            push @{ $aa_lat[$_ % 2] }, $l[$_] for 0 .. $#l;
        }
        $s{$c} = {
            ttft => median(@{ $ttft{$c} }),
            ttft_q => [ map { pct($_, @{ $ttft{$c} }) } 0, 25, 75 ],
            gap50 => pct(50, @gaps), gap99 => pct(99, @gaps),
            sent99 => pct(99, @sgaps),
            lat => mean(@lat), lat50 => pct(50, @lat), lat99 => pct(99, @lat),
            aa_gap => pct(99, @{ $aa_gap[1] }) - pct(99, @{ $aa_gap[0] }),
            aa_lat => pct(99, @{ $aa_lat[1] }) - pct(99, @{ $aa_lat[0] }),
            chunks => median(map { $_->{chunks} } @ok),
            chunk_list => [ map { $_->{chunks} } @{ $st{$c} } ],
            reads => median(map { $_->{reads} } @ok),
            events => median(map { scalar @{ $_->{ev} } } @ok),
        };
    }
    $note //= '';

    my $how = sprintf('%d rounds, each a streamed chat completion of %d'
        . ' tokens, one every %d ms, from the MOCK model server (Node)'
        . ' through each chain at the same time; times taken at the client'
        . ' (Perl, Time::HiRes) and by the MOCK as it writes each event.',
        $S_ROUNDS, $TOKENS, $TOKEN_MS);
    my $limits = ' What limits it: per event the terminator seals one'
        . ' chunk (AEAD, the event padded to 256 bytes) and the gateway'
        . ' opens it and strips the padding; the MOCK\'s timers spread'
        . ' the events in both chains alike (p99 of its own send gaps: '
        . join(', ', map {
            "$_ " . (defined $s{$_} ? ms($s{$_}{sent99}) : '-') . ' ms'
          } @chains) . ').';

    if ($confer_broken || !$s{confer} || !$s{plain}) {
        my $why = $confer_broken
            // "no complete stream through a chain:$note";
        $why .= sprintf(' (plain chain: time to first token %s ms, p99'
                        . ' inter-token gap %s ms, %d chunks per stream)',
                        ms($s{plain}{ttft}), ms($s{plain}{gap99}),
                        $s{plain}{chunks}) if $s{plain};
        figure_null('stream: time to first token, confer - plain', 'ms',
                    '< 1 ms', $why);
        figure_null('stream: inter-token gap p99, confer - plain', 'ms',
                    '< 0.1 ms', $why);
        figure_null('stream: per-token latency p99, confer - plain', 'ms',
                    '< 0.1 ms', $why);
        figure_null('stream: per-token latency mean, confer - plain', 'ms',
                    '< 0.1 ms', $why);
        figure_null('stream: deliveries, confer - plain', 'chunks',
                    '>= 0 (no coalescing beyond plain)', $why);
    } else {
        my ($p, $c) = @s{qw(plain confer)};
        my $d = $c->{ttft} - $p->{ttft};
        figure(name => 'stream: time to first token, confer - plain',
               value => $d * 1000, unit => 'ms', goal => '< 1 ms',
               met => $d < 0.001,
               detail => sprintf('from connecting (then writing the'
                   . ' request) to its first event at the client, medians of %d short streams per'
                   . ' chain, the chains alternating: confer %s ms, plain %s'
                   . ' ms (min/p25/p75: confer %s, plain %s ms). The first'
                   . ' token also pays the sealing of the request (HPKE: 3'
                   . ' X25519 operations across both sides) and the first'
                   . ' sealed chunk.', $TTFT_N, ms($c->{ttft}),
                   ms($p->{ttft}), join('/', map { ms($_) } @{ $c->{ttft_q} }),
                   join('/', map { ms($_) } @{ $p->{ttft_q} })));
        $d = $c->{gap99} - $p->{gap99};
        figure(name => 'stream: inter-token gap p99, confer - plain',
               value => $d * 1000, unit => 'ms', goal => '< 0.1 ms',
               met => !$note && $d < 0.0001,
               detail => sprintf('p99 of the gaps between consecutive events'
                   . ' at the client, all rounds pooled: confer %s ms, plain'
                   . ' %s ms (p50 %s and %s ms); the same measure between the'
                   . ' odd and even gaps of the plain chain (the noise at'
                   . ' p99): %s ms. %s%s%s',
                   ms($c->{gap99}), ms($p->{gap99}), ms($c->{gap50}),
                   ms($p->{gap50}), ms($p->{aa_gap}), $how, $limits,
                   $note));
        $d = $c->{lat99} - $p->{lat99};
        figure(name => 'stream: per-token latency p99, confer - plain',
               value => $d * 1000, unit => 'ms', goal => '< 0.1 ms',
               met => !$note && $d < 0.0001,
               detail => sprintf('per event, its arrival at the client minus'
                   . ' the time the MOCK wrote it (one clock), p99 over all'
                   . ' events: confer %s ms, plain %s ms (p50 %s and %s'
                   . ' ms); between the odd and even events of the plain'
                   . ' chain: %s ms. %s%s%s', ms($c->{lat99}),
                   ms($p->{lat99}), ms($c->{lat50}), ms($p->{lat50}),
                   ms($p->{aa_lat}), $how, $limits, $note));
        $d = $c->{lat} - $p->{lat};
        figure(name => 'stream: per-token latency mean, confer - plain',
               value => $d * 1000, unit => 'ms', goal => '< 0.1 ms',
               met => !$note && $d < 0.0001,
               detail => sprintf('the same, the mean over all events: confer'
                   . ' %s ms, plain %s ms. %s%s', ms($c->{lat}),
                   ms($p->{lat}), $how, $note));
        my @cl = @{ $c->{chunk_list} };
        my @pl = @{ $p->{chunk_list} };
        $d = median(map { $cl[$_] - $pl[$_] } 0 .. $#pl);
        figure(name => 'stream: deliveries, confer - plain', value => $d,
               unit => 'chunks', goal => '>= 0 (no coalescing beyond plain)',
               met => !$note && $d >= 0,
               detail => sprintf('HTTP chunks the client received per stream'
                   . ' (each a separate write of the first hop), the median'
                   . ' of the rounds\' differences; per round confer %s,'
                   . ' plain %s, for %s events. Equal counts are the aim;'
                   . ' a hop that runs late merges two events into one'
                   . ' write in either chain, so the goal is no fewer than'
                   . ' the plain chain. Socket reads at the client, medians:'
                   . ' confer %s, plain %s. %s%s', join('/', @cl),
                   join('/', @pl), $c->{events}, $c->{reads}, $p->{reads},
                   $how, $note));
    }
}

# --- the end -----------------------------------------------------------------

for my $name (qw(model plain_back plain_front terminator gateway)) {
    my @bad = $t->bad_log_lines($name);
    progress("$name: " . scalar(@bad) . " [alert]/[emerg] lines: $bad[0]")
        if @bad;
}
progress('done');
$t->{no_checks} = 1;
$ENV{CONFER_TEST_LEAVE} = 1 if $ENV{CONFER_BENCH_LEAVE};
$t->_finish;
exit 0;
