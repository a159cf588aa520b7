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
# Plain and confer measurements alternate in rounds (the order reversed
# every round) and every figure is a ratio or a difference of medians
# measured in this run.  One JSON object per line on stdout (see
# t/bench/run); progress on stderr.
#
# Knobs (environment): CONFER_BENCH_SECONDS (per wrk round, 5),
# CONFER_BENCH_ROUNDS (wrk rounds per chain, 3), CONFER_BENCH_CONNECTIONS
# (16), CONFER_BENCH_MEM_REQUESTS (100000), CONFER_BENCH_STREAM_ROUNDS (5),
# CONFER_BENCH_TOKENS (500), CONFER_BENCH_TOKEN_MS (2),
# CONFER_BENCH_LEAVE=1 keeps the prefix with the instances' logs;
# CONFER_BENCH_HOLD=FILE starts the chains, holds them while FILE exists
# (to look at them by hand), then stops them and measures nothing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use JSON::PP ();
use List::Util qw(max min sum);
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

my $SECS       = $ENV{CONFER_BENCH_SECONDS} || 5;
my $ROUNDS     = $ENV{CONFER_BENCH_ROUNDS} || 3;
my $CONNS      = $ENV{CONFER_BENCH_CONNECTIONS} || 16;
my $MEM_N      = $ENV{CONFER_BENCH_MEM_REQUESTS} || 100000;
my $S_ROUNDS   = $ENV{CONFER_BENCH_STREAM_ROUNDS} || 5;
my $TOKENS     = $ENV{CONFER_BENCH_TOKENS} || 500;
my $TOKEN_MS   = $ENV{CONFER_BENCH_TOKEN_MS} || 2;
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
    client_body_buffer_size 128k;

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
            proxy_pass http://terminator;
$PROXY
        }
        location = /confer/status {
            confer_status;
        }
EOF

my %entry = (plain => 'plain_front', confer => 'gateway');

progress('starting the instances');
$t->nginx(model => $model_conf, log_level => 'warn');
$t->nginx(plain_back => plain_hop('plain_back', 'model'),
          log_level => 'warn');
$t->nginx(plain_front => plain_hop('plain_front', 'plain_back'),
          log_level => 'warn');
$t->nginx(terminator => $terminator_conf, log_level => 'warn');
$t->nginx(gateway => $gateway_conf, log_level => 'warn');

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
my $cold_figure;
unless ($confer_broken) {
    progress('cold attestation');
    my (@cold, @warm);
    for (1 .. $COLD_N) {
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
    $cold_figure = {
        name => 'cold attestation cost in the gateway (simulated)',
        value => $cost * 1000, unit => 'ms',
        goal => 'reported (SNP/TDX verification: attest_bench)',
        met => undef,
        detail => sprintf('first request of a freshly started gateway'
            . ' minus a warm request, median of %d starts: cold %s ms,'
            . ' warm %s ms; the cold one fetches the document over loopback'
            . ' and verifies the simulated SNP-format report and its ECDSA'
            . ' P-384 chain (the per-platform verification cost, SNP and'
            . ' TDX against raw signature checks, is in the attest section)',
            $COLD_N, ms(median(@cold)), ms(median(@warm))),
    };
    figure(%$cold_figure);
}

# the gateway whose attestation fetches are counted: started once, used for
# every run below
$t->stop('gateway');
$t->start('gateway');
my $att_log = $t->dir('terminator') . '/attestation.log';
my $att_from = -s $att_log // 0;

# --- wrk ---------------------------------------------------------------------

sub wrk {
    my ($chain, %o) = @_;
    my $port = $t->port($entry{$chain});
    local $ENV{BENCH_PROMPT_BYTES} = $o{bytes};
    local $ENV{BENCH_STOP_AFTER} = $o{stop_after} // 0;
    my @cmd = ('wrk', '-t', 1, '-c', $o{conns} // $CONNS,
               '-d', ($o{secs} // $SECS) . 's', '--timeout', '30s',
               '-s', "$FindBin::Bin/chain.lua",
               "http://127.0.0.1:$port/v1/chat/completions");
    open my $fh, '-|', @cmd or die "wrk: $!";
    my $out = do { local $/; <$fh> };
    close $fh;
    my ($j) = ($out // '') =~ /^BENCH (\{.*\})\s*$/m
        or die "wrk gave no figures:\n$out";
    my $r = $JSON->decode($j);
    $r->{secs} = $r->{duration_us} / 1e6;
    $r->{rps} = $r->{requests} / $r->{secs};
    $r->{errors} = sum(map { $r->{$_} } qw(connect_errors read_errors
                       write_errors status_errors timeouts));
    $r->{chain} = $chain;
    return $r;
}

# rounds of measurements, plain and confer alternating, the order reversed
# every round so that a drift of the machine hits both alike
sub rounds {
    my ($n, $run) = @_;
    my %res = map { $_ => [] } @chains;
    for my $i (1 .. $n) {
        my @order = $i % 2 ? @chains : reverse @chains;
        push @{ $res{$_} }, $run->($_, $i) for @order;
    }
    return \%res;
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

my $LIMITS = 'What limits it: 2 cores shared by wrk and both hops of a'
    . ' chain; the confer chain does per request 3 X25519 scalar'
    . ' multiplications (the gateway\'s HPKE encapsulation: one key'
    . ' generation and one DH; the terminator\'s decapsulation: one DH),'
    . ' HKDF and AEAD on both sides, JSON and Binary HTTP at the gateway,'
    . ' and its answer is sealed and opened again.';

# --- throughput and latency ---------------------------------------------------

# the medians of the rounds of each chain
sub medians {
    my ($res, @keys) = @_;
    my %m;
    for my $c (@chains) {
        for my $k (@keys) {
            $m{$c}{$k} = median(map { $_->{$k} } @{ $res->{$c} });
        }
    }
    return \%m;
}

sub wrk_rounds {
    my ($label, %o) = @_;
    progress("$label: warm-up");
    wrk($_, %o, secs => 1) for @chains;
    progress("$label: $ROUNDS rounds of ${SECS}s");
    return rounds($ROUNDS, sub {
        my ($c) = @_;
        my $r = wrk($c, %o);
        progress(sprintf('  %-6s %8.0f req/s p50 %s ms p99 %s ms%s', $c,
                         $r->{rps}, ms($r->{p50_us} / 1e6),
                         ms($r->{p99_us} / 1e6),
                         $r->{errors} ? " $r->{errors} errors" : ''));
        return $r;
    });
}

my %tput;
for my $size ([ 1024, '1 KiB' ], [ 65536, '64 KiB' ]) {
    my ($bytes, $label) = @$size;
    my $at1k = $bytes == 1024;

    my $res = wrk_rounds("throughput $label", bytes => $bytes);
    $tput{$bytes} = $res;
    my $m = medians($res, qw(rps p50_us p99_us));
    my ($p, $c) = @$m{qw(plain confer)};
    my $how = sprintf('wrk -t1 -c%d, %d rounds of %d s per chain,'
                      . ' alternating; medians.', $CONNS, $ROUNDS, $SECS);
    my $errs = errors_note($res);

    figure(name => "throughput $label, plain chain", value => $p->{rps},
           unit => 'req/s', goal => 'baseline', met => undef,
           detail => sprintf('non-streamed chat completions, %s prompt,'
               . ' plain proxy_pass in both hops; p50 %s ms, p99 %s ms. %s%s',
               $label, ms($p->{p50_us} / 1e6), ms($p->{p99_us} / 1e6),
               $how, $errs));

    my $goal_r = $at1k ? '>= 0.85' : 'reported (goal at 1 KiB)';
    if ($confer_broken) {
        figure_null("throughput $label, confer / plain", 'ratio', $goal_r,
                    $confer_broken);
        next;
    }

    my $ratio = $c->{rps} / $p->{rps};
    figure(name => "throughput $label, confer chain", value => $c->{rps},
           unit => 'req/s', goal => '-', met => undef,
           detail => sprintf('the same through gateway (confer_seal) and'
               . ' terminator (confer_open, simulated evidence); p50 %s ms,'
               . ' p99 %s ms. %s%s', ms($c->{p50_us} / 1e6),
               ms($c->{p99_us} / 1e6), $how, $errs));
    figure(name => "throughput $label, confer / plain", value => $ratio,
           unit => 'ratio', goal => $goal_r,
           met => $errs ? 0 : $at1k ? $ratio >= 0.85 : undef,
           detail => sprintf('%.0f / %.0f req/s. %s %s%s', $c->{rps},
               $p->{rps}, $how, $LIMITS, $errs));
    for my $q (50, 99) {
        my $k = "p${q}_us";
        figure(name => "p$q latency $label at $CONNS connections,"
                       . ' confer - plain',
               value => ($c->{$k} - $p->{$k}) / 1000, unit => 'ms',
               goal => 'reported (saturated)', met => undef,
               detail => sprintf('%s - %s ms, both chains saturated: the'
                   . ' difference is mostly queueing behind the slower'
                   . ' chain (the added time per request is the figure at'
                   . ' one connection). %s%s', ms($c->{$k} / 1e6),
                   ms($p->{$k} / 1e6), $how, $errs));
    }

    next unless $at1k;

    # the memory run follows the 1 KiB rounds, which were its warm-up
    memory_run();

    # what a request costs in time, without queueing: one connection
    $res = wrk_rounds('latency 1 KiB at one connection', bytes => 1024,
                      conns => 1);
    $m = medians($res, qw(rps p50_us p99_us));
    ($p, $c) = @$m{qw(plain confer)};
    $how = sprintf('wrk -t1 -c1 (one request at a time), %d rounds of %d s'
                   . ' per chain, alternating; medians of the per-round'
                   . ' percentiles.', $ROUNDS, $SECS);
    $errs = errors_note($res);
    my $d50 = ($c->{p50_us} - $p->{p50_us}) / 1000;
    my $d99 = ($c->{p99_us} - $p->{p99_us}) / 1000;
    figure(name => 'p50 latency 1 KiB at one connection, confer - plain',
           value => $d50, unit => 'ms', goal => 'reported', met => undef,
           detail => sprintf('%s - %s ms. %s%s', ms($c->{p50_us} / 1e6),
               ms($p->{p50_us} / 1e6), $how, $errs));
    figure(name => 'p99 latency 1 KiB at one connection, confer - plain',
           value => $d99, unit => 'ms', goal => '< 0.3 ms',
           met => $errs ? 0 : $d99 < 0.3,
           detail => sprintf('%s - %s ms. %s %s%s', ms($c->{p99_us} / 1e6),
               ms($p->{p99_us} / 1e6), $how, $LIMITS, $errs));
}

if ($confer_broken) {
    figure_null('p99 latency 1 KiB at one connection, confer - plain', 'ms',
                '< 0.3 ms', $confer_broken);
}

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

sub rss_kib {
    my ($pid) = @_;
    my $s = Confer::Test::read_file("/proc/$pid/status") // return undef;
    return $s =~ /^VmRSS:\s+(\d+) kB/m ? $1 : undef;
}

sub memory_run {
    my $sealed = sum(map { $_->{requests} } @{ $tput{1024}{confer} }) // 0;
    if ($sealed < $WARMUP_N) {
        progress("memory: warm-up to $WARMUP_N sealed requests");
        wrk('confer', bytes => 1024, stop_after => $WARMUP_N - $sealed,
            secs => 60);
    }

    my %before;
    for my $name (qw(gateway terminator)) {
        $before{$name}{$_} = rss_kib($_) for workers($name);
    }
    progress("memory: $MEM_N sealed requests");
    my $r = wrk('confer', bytes => 1024, stop_after => $MEM_N, secs => 120);
    progress(sprintf('  %d requests in %.1f s', $r->{requests}, $r->{secs}));

    for my $name (qw(gateway terminator)) {
        my @now = workers($name);
        my @was = sort { $a <=> $b } keys %{ $before{$name} };
        my $same = "@now" eq "@was";
        my @growth = map { (rss_kib($_) // 0) - ($before{$name}{$_} // 0) }
                     @now;
        my $g = max(@growth);
        my $errs = $r->{errors} ? " ERRORS: $r->{errors}." : '';
        figure(name => "memory: $name worker RSS growth",
               value => $g, unit => 'KiB', goal => '< 1024 KiB per worker',
               met => $same && !$errs ? $g < 1024 : JSON::PP::false,
               detail => sprintf('VmRSS of each of the %d %s workers before'
                   . ' and after %d sealed 1 KiB chat completions (wrk -t1'
                   . ' -c%d), after a warm-up of %d; the largest growth;'
                   . ' per worker: %s KiB before, %s KiB after%s%s',
                   scalar @now, $name, $r->{requests}, $CONNS,
                   max($sealed, $WARMUP_N),
                   join('/', map { $before{$name}{$_} // '?' } @was),
                   join('/', map { rss_kib($_) // '?' } @now),
                   $same ? '' : '; WORKERS CHANGED (one died?)', $errs));
    }
}

if ($confer_broken) {
    figure_null("memory: $_ worker RSS growth", 'KiB',
                '< 1024 KiB per worker', $confer_broken)
        for qw(gateway terminator);
}

# --- large bodies ------------------------------------------------------------

{
    progress('large bodies: warm-up');
    wrk($_, bytes => $LARGE, secs => 1, conns => 2) for @chains;
    progress("large bodies: $ROUNDS rounds of ${SECS}s");
    my $res = rounds($ROUNDS, sub {
        my ($c) = @_;
        my $r = wrk($c, bytes => $LARGE, conns => 2);
        $r->{bps} = $r->{requests} * $r->{body_bytes} / $r->{secs};
        progress(sprintf('  %-6s %6.1f MiB/s (%d requests)%s', $c,
                         $r->{bps} / 1048576, $r->{requests},
                         $r->{errors} ? " $r->{errors} errors" : ''));
        return $r;
    });
    my %bps = map { $_ => median(map { $_->{bps} } @{ $res->{$_} }) }
              @chains;
    my $errs = errors_note($res);
    my $how = sprintf('4 MiB prompts in non-streamed chat completions'
        . ' (the stand-in answers small), wrk -t1 -c2, %d rounds of %d s'
        . ' per chain, alternating; medians. Request bodies above 16 KiB'
        . ' go through client_body temp files in the first hop of both'
        . ' chains (nginx defaults).', $ROUNDS, $SECS);
    if ($confer_broken) {
        figure_null('large bodies (4 MiB), confer / plain', 'ratio',
                    '>= 0.8', $confer_broken . sprintf(' (plain chain:'
                    . ' %.1f MiB/s)', $bps{plain} / 1048576));
    } else {
        my $ratio = $bps{confer} / $bps{plain};
        figure(name => 'large bodies (4 MiB), confer / plain',
               value => $ratio, unit => 'ratio', goal => '>= 0.8',
               met => $errs ? JSON::PP::false : $ratio >= 0.8,
               detail => sprintf('request bytes per second: confer %.1f'
                   . ' MiB/s, plain %.1f MiB/s. %s What limits it: the'
                   . ' gateway parses the JSON body and builds the Binary'
                   . ' HTTP message, both sides run the AEAD over every'
                   . ' byte, on 2 cores shared with wrk.%s',
                   $bps{confer} / 1048576, $bps{plain} / 1048576, $how,
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
    my $sealed = $c->{sealed} // '?';
    figure(name => 'attestation fetches during the run', value => $fetches,
           unit => 'fetches', goal => '== 1 (one per refresh)',
           met => $fetches == 1,
           detail => sprintf('attestation documents the terminator served'
               . ' (its access log of /.well-known/confer-attestation) from'
               . ' the start of the gateway (2 workers, one shared'
               . ' confer_cache) to the end of the throughput, memory and'
               . ' large-body runs, shorter than the key\'s refresh window'
               . ' (lifetime 1h, refreshed in its last fifth); the'
               . ' gateway\'s confer_status: fetches %s, verified %s,'
               . ' gated %s, sealed %s',
               $c->{fetches} // '?', $c->{verified} // '?',
               $c->{gated} // '?', $sealed));
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

sub stream_once {
    my ($chain, $tokens) = @_;
    mock_call('DELETE', '/__mock/requests');
    my $body = chat_body(64, stream => JSON::PP::true,
                         mock => { tokens => $tokens,
                                   delay_ms => $TOKEN_MS });
    my $s = $t->stream($entry{$chain}, 'POST /v1/chat/completions',
                       headers => [ 'Content-Type' => 'application/json' ],
                       body => $body, timeout => 60);
    my $r = $s->finish(60);
    my $rec = mock_call('GET', '/__mock/requests');
    my ($m) = grep { $_->{path} eq '/v1/chat/completions' } @$rec;
    my $ev = $r->events;
    my $sent = $m ? $m->{events_sent} : [];
    my %o = (chain => $chain, status => $r->status, error => $r->error,
             events => scalar @$ev, sent => scalar @$sent,
             reads => scalar @{ $r->reads },
             complete => $r->complete);
    return \%o unless ($r->status // 0) == 200 && @$ev;

    $o{ttft} = $ev->[0]{t} - $r->{t_sent};
    $o{gaps} = [ map { $ev->[$_]{t} - $ev->[$_ - 1]{t} } 1 .. $#$ev ];
    $o{sent_gaps} = [ map { $sent->[$_] - $sent->[$_ - 1] } 1 .. $#$sent ];
    # events that arrived in a read of their own
    my %t;
    $t{ $_->{t} }++ for @$ev;
    $o{shared} = sum(map { $_ > 1 ? $_ : 0 } values %t);
    if (@$sent == @$ev) {
        $o{lat} = [ map { $ev->[$_]{t} - $sent->[$_] } 0 .. $#$ev ];
    }
    return \%o;
}

progress('streaming: warm-up');
stream_once($_, 5) for @chains;
progress("streaming: $S_ROUNDS rounds of $TOKENS tokens every $TOKEN_MS ms");
my $st = rounds($S_ROUNDS, sub {
    my ($c) = @_;
    my $o = stream_once($c, $TOKENS);
    progress(sprintf('  %-6s %d events (mock sent %d), %d reads, ttft %s ms',
                     $c, $o->{events}, $o->{sent}, $o->{reads},
                     defined $o->{ttft} ? ms($o->{ttft}) : '-'));
    return $o;
});

{
    my (%ok, %bad);
    for my $c (@chains) {
        my @all = @{ $st->{$c} };
        $ok{$c} = [ grep { defined $_->{ttft} && $_->{complete}
                           && $_->{events} == $_->{sent} } @all ];
        $bad{$c} = @all - @{ $ok{$c} };
    }
    my $note = join '', map {
        $bad{$_} ? " $_: $bad{$_} of $S_ROUNDS streams incomplete or with"
                   . ' another number of events than the MOCK sent.' : ''
    } @chains;
    my %s;
    for my $c (@chains) {
        my @o = @{ $ok{$c} };
        next unless @o;
        $s{$c} = {
            ttft => median(map { $_->{ttft} } @o),
            gap99 => pct(99, map { @{ $_->{gaps} } } @o),
            gap50 => pct(50, map { @{ $_->{gaps} } } @o),
            sent99 => pct(99, map { @{ $_->{sent_gaps} } } @o),
            lat => mean(map { @{ $_->{lat} } } @o),
            lat99 => pct(99, map { @{ $_->{lat} } } @o),
            lat50 => pct(50, map { @{ $_->{lat} } } @o),
            reads => median(map { $_->{reads} } @o),
            events => median(map { $_->{events} } @o),
            shared => sum(map { $_->{shared} } @o),
            n => scalar @o,
        };
    }
    my $how = sprintf('%d streamed chat completions per chain of %d tokens'
        . ' every %d ms from the MOCK model server (Node), alternating;'
        . ' times taken at the client (Perl, Confer::HTTP, Time::HiRes) and'
        . ' by the MOCK as it writes each event.', $S_ROUNDS, $TOKENS,
        $TOKEN_MS);
    my $limits = ' What limits it: per event the terminator seals one'
        . ' chunk (AEAD, padded to 256 bytes) and the gateway opens it and'
        . ' strips the padding; the spread of the MOCK\'s own timers'
        . ' (p99 of its send gaps: ' . join(', ', map {
            "$_ " . (defined $s{$_} ? ms($s{$_}{sent99}) : '-') . ' ms'
        } @chains) . ') is in both chains.';

    if ($confer_broken || !$s{confer} || !$s{plain}) {
        my $why = $confer_broken
            // "no complete stream through a chain:$note";
        $why .= sprintf(' (plain chain: time to first token %s ms, p99'
                        . ' inter-token gap %s ms, %d reads per stream)',
                        ms($s{plain}{ttft}), ms($s{plain}{gap99}),
                        $s{plain}{reads}) if $s{plain};
        figure_null('stream: time to first token, confer - plain', 'ms',
                    '< 1 ms', $why);
        figure_null('stream: inter-token gap p99, confer - plain', 'ms',
                    '< 0.1 ms', $why);
        figure_null('stream: per-token latency p99, confer - plain', 'ms',
                    '< 0.1 ms', $why);
        figure_null('stream: per-token latency mean, confer - plain', 'ms',
                    '< 0.1 ms', $why);
        figure_null('stream: deliveries, confer - plain', 'reads', '== 0',
                    $why);
    } else {
        my ($p, $c) = @s{qw(plain confer)};
        my $d = $c->{ttft} - $p->{ttft};
        figure(name => 'stream: time to first token, confer - plain',
               value => $d * 1000, unit => 'ms', goal => '< 1 ms',
               met => !$note && $d < 0.001,
               detail => sprintf('request written to first event at the'
                   . ' client, medians: confer %s ms, plain %s ms. %s%s'
                   . ' The first token also pays the sealing of the request'
                   . ' (HPKE: 3 X25519 operations across both sides).',
                   ms($c->{ttft}), ms($p->{ttft}), $how, $note));
        $d = $c->{gap99} - $p->{gap99};
        figure(name => 'stream: inter-token gap p99, confer - plain',
               value => $d * 1000, unit => 'ms', goal => '< 0.1 ms',
               met => !$note && $d < 0.0001,
               detail => sprintf('p99 of the gaps between consecutive events'
                   . ' at the client, all streams pooled: confer %s ms,'
                   . ' plain %s ms (p50 %s and %s ms). %s%s%s',
                   ms($c->{gap99}), ms($p->{gap99}), ms($c->{gap50}),
                   ms($p->{gap50}), $how, $limits, $note));
        if (defined $c->{lat} && defined $p->{lat}) {
            $d = $c->{lat99} - $p->{lat99};
            figure(name => 'stream: per-token latency p99, confer - plain',
                   value => $d * 1000, unit => 'ms', goal => '< 0.1 ms',
                   met => !$note && $d < 0.0001,
                   detail => sprintf('per event, its arrival at the client'
                       . ' minus the MOCK\'s time of writing it (same'
                       . ' clock); p99 over all events: confer %s ms, plain'
                       . ' %s ms (p50 %s and %s ms). %s%s%s',
                       ms($c->{lat99}), ms($p->{lat99}), ms($c->{lat50}),
                       ms($p->{lat50}), $how, $limits, $note));
            $d = $c->{lat} - $p->{lat};
            figure(name => 'stream: per-token latency mean, confer - plain',
                   value => $d * 1000, unit => 'ms', goal => '< 0.1 ms',
                   met => !$note && $d < 0.0001,
                   detail => sprintf('the same, the mean over all events:'
                       . ' confer %s ms, plain %s ms. %s%s', ms($c->{lat}),
                       ms($p->{lat}), $how, $note));
        }
        $d = $c->{reads} - $p->{reads};
        figure(name => 'stream: deliveries, confer - plain', value => $d,
               unit => 'reads', goal => '== 0 (no coalescing)',
               met => !$note && $d == 0,
               detail => sprintf('socket reads at the client per stream'
                   . ' (response header, every event, the end), medians:'
                   . ' confer %s, plain %s, for %s events; events that'
                   . ' shared a read with another, all streams: confer %d,'
                   . ' plain %d. %s%s', $c->{reads}, $p->{reads},
                   $c->{events}, $c->{shared}, $p->{shared}, $how, $note));
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
