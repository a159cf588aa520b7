# Leaks and memory errors of the whole chain under valgrind.  The gateway
# and the terminator each run in the stock nginx with our module under
# memcheck (daemon off, a master and one worker, each with a report of
# its own), in front of the MOCK model server.  wrk sends requests of
# every kind through both for a while: sealed chat completions plain and
# streamed, embeddings, bodies over confer_max_body (413 at the gateway),
# paths the terminator refuses, a terminator the policy refuses (503),
# bodies that are not JSON; then both reload (the old workers exit and
# report), and it goes on.  Both stop cleanly, and no report may hold no invalid read, write or free at
# all, and no definitely or indirectly lost block, nor use of an
# uninitialised value, with a frame of ours (ngx_http_confer_*, confer_*,
# attest_*).  Suppressions (t/valgrind/nginx.supp) are for nginx, OpenSSL
# and libc internals only, each said why.
#
# CONFER_LEAK_SECONDS sets each of the two rounds of wrk (default 30).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $VALGRIND = '/usr/bin/valgrind';
my $WRK = '/usr/bin/wrk';

plan(skip_all => 'valgrind is not installed') unless -x $VALGRIND;
plan(skip_all => 'wrk is not installed') unless -x $WRK;

my $t = Confer::Test->new(node => 1);
plan(skip_all => 'the module is built with sanitizers (make test-asan), '
                 . 'which valgrind cannot run')
    if $t->{asan};
my $seconds = $ENV{CONFER_LEAK_SECONDS} || 30;
# in the foreground, so that valgrind follows it; its workers are forked
# and stay under valgrind.  Not master_process off: a single-process nginx
# does not run the modules' init_process at a reload, so its new cycle has
# no connections (nginx says "worker_connections are not enough").
my $single = "daemon off;\n";

$t->start_mock;

# the terminator, with its default allow-list of paths
my $term = terminator_spec($t);
$term->{main} = $single;

# the gateway seals /v1/ to it; /refused/ names a measurement it has not
my $policy = sim_policy($t);
my $strict = $t->prefix . '/strict.json';
open my $fh, '>', $strict or die "$strict: $!";
print $fh $t->json->encode({ platforms => [],
    allow_simulated => JSON::PP::true,
    simulated_root => sim_dir($t) . '/sim-root.pem',
    'sev-snp' => { measurements => [ '11' x 48 ] } });
close $fh;

my $gateway = {
    main => $single,
    http => <<'EOF',
confer_cache zone=confer:1m;
log_format kinds '$request_uri $status';
EOF
    server => <<"EOF",
access_log %%DIR%%/kinds.log kinds;
location /v1/ {
    confer_seal http://127.0.0.1:%%PORT_TERMINATOR%% policy=$policy;
    confer_max_body 4k;
    proxy_pass http://127.0.0.1:%%PORT_TERMINATOR%%;
    proxy_buffering off;
}
location /refused/ {
    confer_seal http://127.0.0.1:%%PORT_TERMINATOR%% policy=$strict;
    proxy_pass http://127.0.0.1:%%PORT_TERMINATOR%%;
}
EOF
};

my %master;
for my $name (qw(terminator gateway)) {
    my $spec = $name eq 'gateway' ? $gateway : $term;
    $t->write_config($name, $spec);
    my $dir = $t->dir($name);
    # --keep-debuginfo: nginx unloads the module at exit, before the
    # report, and its frames must still have names
    $t->spawn("vg-$name", [ $VALGRIND, '--tool=memcheck', '--leak-check=full',
        '--show-leak-kinds=definite,indirect', '--keep-debuginfo=yes',
        '--num-callers=40', "--log-file=$dir/valgrind.%p.log",
        '--suppressions=' . Confer::Test::root() . '/t/valgrind/nginx.supp',
        $t->nginx_bin, '-p', "$dir/", '-c', "$dir/nginx.conf",
        '-e', "$dir/error.log" ]);
    # valgrind starts nginx some 20 times slower; more on a loaded machine
    $t->wait_port($t->port($name), "nginx $name under valgrind listens",
                  sub { $t->daemon_alive("vg-$name") }, 180);
    $master{$name} = $t->{daemons}{"vg-$name"}{pid};
}

my $chat = $t->json->encode({ model => 'mock-model', messages => [
    { role => 'user', content => 'leak check' } ] });
(my $stream = $chat) =~ s/^\{/{"stream":true,/;
my $large = $t->json->encode({ model => 'mock-model', messages => [
    { role => 'user', content => 'x' x 5000 } ] });
my $embed = $t->json->encode({ model => 'mock-embedding',
                               input => 'leak check' });

# kind => [ path, body, the status it must get ]
my %kinds = (
    plain   => [ '/v1/chat/completions', $chat, 200 ],
    stream  => [ '/v1/chat/completions', $stream, 200 ],
    embed   => [ '/v1/embeddings', $embed, 200 ],
    large   => [ '/v1/chat/completions', $large, 413 ],
    path    => [ '/v1/files', $chat, 403 ],
    attest  => [ '/refused/chat/completions', $chat, 503 ],
    notjson => [ '/v1/chat/completions', 'leak check', 400 ],
);

my $r = $t->post_json(gateway => '/v1/chat/completions', $chat);
is($r->status, 200, 'a sealed request through both under valgrind');

my $lua = $t->prefix . '/kinds.lua';
open $fh, '>', $lua or die "$lua: $!";
print $fh "-- the kinds of request of t/400, one after the other\n",
          "local kinds = {\n",
          map({ "  { \"$kinds{$_}[0]?kind=$_\", " . lua_str($kinds{$_}[1])
                . " },\n" } sort keys %kinds),
          "}\n", <<'EOF';
local i = 0
request = function()
  i = i % #kinds + 1
  return wrk.format("POST", kinds[i][1],
                    { ["Content-Type"] = "application/json" }, kinds[i][2])
end
EOF
close $fh;

sub round {
    my $url = 'http://127.0.0.1:' . $t->port('gateway');
    my $out = `$WRK -t1 -c8 -d${seconds}s -s $lua $url 2>&1`;
    my ($n) = $out =~ /(\d+) requests in/;
    ok($n, "wrk: $n requests in ${seconds}s") or diag($out);
}

round();

# both reload (HUP, as nginx -s reload): done when the old worker has
# exited (after its report), so that the next round meets the new ones
for my $name (qw(terminator gateway)) {
    my $from = $t->log_size($name, 'error');
    kill 'HUP', $master{$name};
    $t->wait_for(sub { $t->log_slice($name, 'error', $from)
                       =~ /worker process \d+ exited with code 0/ },
                 "$name reloads", 120);
}
like($t->log_slice('terminator', 'error', 0),
     qr/reconfiguring.*confer: key id \d+ made/s,
     'the terminator reloaded with a new key');
$r = $t->post_json(gateway => '/v1/chat/completions', $chat);
is($r->status, 200, 'the chain answers after the reload');

round();

# the count of each kind, and that each got what it must
my %got;
for (split /\n/, Confer::Test::read_file($t->dir('gateway') . '/kinds.log')
                 // '') {
    my ($uri, $status) = split ' ';
    $got{$1}{$status}++ if $uri =~ /[?&]kind=(\w+)/;
}
for my $kind (sort keys %kinds) {
    my $want = $kinds{$kind}[2];
    my $all = 0;
    $all += $_ for values %{ $got{$kind} || {} };
    # 499: in flight when wrk closed its connections at the end of a round
    ok($got{$kind}{$want}
       && $all == $got{$kind}{$want} + ($got{$kind}{499} // 0),
       "$kind: $all requests, each a $want (or in flight at the end)")
        or diag(join ', ', map { "$_: $got{$kind}{$_}" }
                           sort keys %{ $got{$kind} || {} });
}

kill 'QUIT', $master{$_} for qw(gateway terminator);
$t->wait_for(sub { !grep { Confer::Test::_alive($master{$_}) }
                        qw(gateway terminator) },
             'both nginx exit and valgrind reports', 180);

for my $name (qw(gateway terminator)) {
    my $log = $t->log_slice($name, 'error', 0);
    my $workers = () = $log =~ /worker process \d+ exited with code 0/g;
    ok($log =~ /\[notice\] $master{$name}#\d+: exit$/m && $workers == 2,
       "$name: stopped cleanly, the master and $workers workers");
    my @reports = glob($t->dir($name) . '/valgrind.*.log');
    my $all = join '', map { Confer::Test::read_file($_) // '' } @reports;
    is(scalar(() = $all =~ /ERROR SUMMARY/g), 3,
       "$name: valgrind reported on all 3 processes");
    check_report($name, $all);
}

$t->done;


# no invalid access at all, nothing of ours lost or uninitialised
sub check_report {
    my ($name, $log) = @_;

    my (@invalid, @ours);
    for my $block (split /^==\d+== \n/m, $log) {
        my ($head) = $block =~ /^==\d+== (\S.*)$/m or next;
        push @invalid, $block if $head =~ /^(Invalid (read|write|free)
                                            |Mismatched\ free
                                            |Source\ and\ destination)/x;
        push @ours, $block
            if $head =~ /(definitely|indirectly) lost|uninitialised/
               && $block =~ /(?:by|at)\ 0x[0-9A-F]+:\ (?:ngx_http_confer_
                             |confer_|attest_)\w*\ \(/x;
    }
    is(scalar @invalid, 0, "$name: no invalid read, write or free")
        or diag($invalid[0]);
    is(scalar @ours, 0, "$name: nothing of ours lost, no uninitialised "
                        . 'value of ours used')
        or diag(join "\n", @ours[0 .. ($#ours > 4 ? 4 : $#ours)]);
}


# a Lua string literal
sub lua_str {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    return "\"$s\"";
}
