# Load with reloads: wrk sends chat completions for 60 seconds over 64
# connections through the whole chain, gateway -> terminator -> a fast
# model server stand-in (an nginx that answers at once), the gateway
# keeping its connections to the terminator alive as conf/gateway.conf
# does.  Meanwhile the gateway is reloaded (at a sixth of the run), then
# the terminator (at a third: a new key; requests the gateway sealed to the
# old one are honoured for the grace period).  Every request must get a
# 2xx (no non-2xx answer, no socket error, no timeout), each reload must
# have happened (new worker processes; the terminator's new key id), and
# the private memory of the workers that serve the rest of the run must
# stay flat.
#
# wrk asks for "Connection: close": nginx (the core, not this module)
# closes an idle HTTP/1.1 keep-alive connection of a client when a worker
# shuts down, and a response that was under way goes out marked
# keep-alive and its connection is closed after it.  A client that had
# already sent its next request on such a connection sees the connection
# close without an answer: the race of RFC 9112, 9.3.1, which real
# clients settle by retrying (the openai SDK does) and which wrk counts as
# a read error.  With a connection per request a reload leaves nothing to
# race: the listening socket is shared, so the new workers accept what the
# old ones no longer do, and the old ones finish what they have.  The
# gateway's hop to the terminator stays keep-alive, and is what a
# terminator reload tests.
#
# Memory: RssAnon (the private, anonymous pages: heap and pools) of each
# worker that serves the end of the run, from its warm-up (a third of the
# time it served) to the end, grows by less than 1 MiB.  A leak of 32
# bytes a request shows over the 30 000 or so requests a worker serves in
# that time.  VmRSS would also count the pages of the shared zones (the
# terminator's replay zone, the gateway's cache) as a worker first touches
# them, which they do by design.
#
# CONFER_LOAD_SECONDS sets the length of the run (default 60).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Confer::Test;
use Confer::Terminator;

my $WRK = '/usr/bin/wrk';
plan(skip_all => 'wrk is not installed') unless -x $WRK;

my $t = Confer::Test->new;
my $seconds = $ENV{CONFER_LOAD_SECONDS} || 60;
my $conns = 64;
my $events = "events { worker_connections 1024; }\n";

my $answer = '{"id":"chatcmpl-load","object":"chat.completion",'
           . '"created":1700000000,"model":"mock-model","choices":[{'
           . '"index":0,"message":{"role":"assistant","content":"ok"},'
           . '"finish_reason":"stop"}],"usage":{"prompt_tokens":1,'
           . '"completion_tokens":1,"total_tokens":2}}';

$t->nginx(model => { main => $events, server => <<"EOF" },
access_log off;
location = /v1/chat/completions {
    default_type application/json;
    return 200 '$answer';
}
EOF
          no_module => 1);

# every encapsulated key is kept until its key retires: room for the whole
# run (128 bytes an entry)
my $term = terminator_spec($t, key => 'lifetime=1h replay=confer_replay:64m');
$term->{server} =~ s/%%PORT_MOCK%%/%%PORT_MODEL%%/g;
$term->{main} = $events;
$term->{server} = "access_log off;\n" . $term->{server};
$t->nginx(terminator => $term);

my $policy = sim_policy($t);
my $status_log = $t->prefix . '/status.log';  # the gateway's: one status a line
$t->nginx(gateway => {
    main => $events,
    http => <<'EOF',
confer_cache zone=confer:1m;
log_format status $status;
upstream terminator {
    server 127.0.0.1:%%PORT_TERMINATOR%%;
    keepalive 16;
}
EOF
    server => <<"EOF",
access_log $status_log status;
location /v1/ {
    confer_seal http://127.0.0.1:%%PORT_TERMINATOR%% policy=$policy;
    proxy_pass http://terminator;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$confer_terminator_host;
    proxy_buffering off;
    proxy_next_upstream error timeout non_idempotent;
}
EOF
});

my $chat = $t->json->encode({ model => 'mock-model', messages => [
    { role => 'user', content => 'load' } ] });
my $r = $t->post_json(gateway => '/v1/chat/completions', $chat);
is($r->status, 200, 'a request through the chain');
is($r->body, $answer, 'the stand-in\'s answer, opened');

my $lua = $t->prefix . '/chat.lua';
open my $fh, '>', $lua or die "$lua: $!";
print $fh <<"EOF";
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Connection"] = "close"

-- the counts, for the test to read (wrk prints the error line only when
-- there are errors; these are always there)
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("counts requests=%d duration_us=%d connect=%d "
        .. "read=%d write=%d status=%d timeout=%d\\n", summary.requests,
        summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
wrk.body = '$chat'
EOF
close $fh;

my $out = $t->prefix . '/helpers/wrk.log';    # where spawn() puts it
my $url = 'http://127.0.0.1:' . $t->port('gateway') . '/v1/chat/completions';
my $start = time;
$t->spawn('wrk', [ $WRK, '-t2', "-c$conns", "-d${seconds}s",
                   '--timeout', '10s', '-s', $lua, $url ]);

# the workers serving now (not those shutting down) of an instance
sub workers {
    my ($name) = @_;
    my %c = Confer::Test::_children($t->nginx_pid($name));
    return sort grep { $c{$_} =~ /worker process/
                       && $c{$_} !~ /shutting down/ } keys %c;
}

# RssAnon of the workers, sampled once a second: pid => [ [t, kB], ... ]
my %rss;
sub sample {
    for my $name (qw(gateway terminator)) {
        for my $pid (workers($name)) {
            my $s = Confer::Test::read_file("/proc/$pid/status") // next;
            push @{ $rss{$name}{$pid} }, [ time - $start, $1 ]
                if $s =~ /^RssAnon:\s+(\d+) kB/m;
        }
    }
}

# the run, with a reload of each role at a sixth and a third of it; the
# samples come a second apart (a measurement, not a wait for readiness)
my (%reloaded, %before, %after);
while ($t->daemon_alive('wrk')) {
    sample();
    my $at = time - $start;
    for ([ gateway => $seconds / 6 ], [ terminator => $seconds / 3 ]) {
        my ($name, $when) = @$_;
        next if $reloaded{$name} || $at < $when;
        $before{$name} = [ workers($name) ];
        $reloaded{$name} = $t->reload($name) ? $at : -1;
        $after{$name} = [ workers($name) ];
    }
    select(undef, undef, undef, 1);
}
my $wrk = Confer::Test::read_file($out) // '';

# a reload happened: nginx took the new configuration (no [emerg]), and
# the workers serving after it are all new ones
for my $name (qw(gateway terminator)) {
    my %old = map { $_ => 1 } @{ $before{$name} || [] };
    my @new = @{ $after{$name} || [] };
    ok(($reloaded{$name} // -1) > 0 && @{ $before{$name} } && @new
       && !grep({ $old{$_} } @new),
       sprintf('%s reloaded during the run at %.0f s: workers %s, then %s',
               $name, $reloaded{$name} // -1,
               join(',', @{ $before{$name} || [] }), join(',', @new)));
}
my @keys = $t->log_slice('terminator', 'error', 0)
               =~ /confer: key id (\d+) made/g;
my %keys = map { $_ => 1 } @keys;
is(scalar(keys %keys), 2, 'the terminator made a new key at its reload: '
   . 'key ids ' . join(', ', sort keys %keys));

my %n = $wrk =~ /^counts (.*)$/m ? split(/[= ]/, $1) : ();
ok($n{requests} && $n{duration_us} >= $seconds * 1e6,
   sprintf('wrk: %d connections for %d s: %d requests in %.1f s', $conns,
           $seconds, $n{requests} // 0, ($n{duration_us} // 0) / 1e6))
    or diag($wrk);
is($n{status}, 0, 'every answer a 2xx (or 3xx): none other') or diag($wrk);
is($n{$_}, 0, "no $_ error") or diag($wrk)
    for qw(connect read write timeout);

# what the gateway answered: a 200 to the first request and to every one
# wrk counted; a 499 (client gone) only for those under way when wrk
# stopped and closed its connections, one a connection at most
my @st = split /\n/, Confer::Test::read_file($status_log) // '';
my %st;
$st{$_}++ for @st;
my $summary = join(', ', map { "$st{$_} $_" } sort keys %st);
ok(($st{200} // 0) >= ($n{requests} // 1) + 1,
   "the gateway answered every request wrk counted with a 200: $summary");
ok(!grep({ $_ ne '200' && $_ ne '499' } keys %st)
   && ($st{499} // 0) <= $conns,
   'nothing else than the requests under way at the end (499)');

# the workers of the end: from their warm-up (a third of the time they
# served) to their last sample
for my $name (qw(gateway terminator)) {
    my @now = workers($name);
    ok(@now, "$name: workers at the end: @now");
    for my $pid (@now) {
        my $s = $rss{$name}{$pid} || [];
        my $first = $s->[0][0] // 0;
        my $last = $s->[-1][0] // 0;
        my ($warm) = grep { $_->[0] >= $first + ($last - $first) / 3 } @$s;
        ok($warm && $warm->[0] < $last && $last - $first >= $seconds / 3,
           sprintf('%s worker %d: sampled from %.0f s to %.0f s', $name,
                   $pid, $first, $last)) or next;
        my $growth = $s->[-1][1] - $warm->[1];
        my $what = sprintf('%s worker %d: RssAnon %d kB at %.0f s, '
           . '%d kB at the end: %+d kB', $name, $pid, $warm->[1],
           $warm->[0], $s->[-1][1], $growth);
        if ($t->{asan}) {
            # ASan keeps freed blocks in its quarantine (256 MiB) before
            # reusing them: the memory of a sanitized worker grows by
            # design; make test, without sanitizers, judges it
            note("$what (not judged: sanitizers)");
            next;
        }
        ok($growth < 1024, $what);
    }
}

$t->done;
