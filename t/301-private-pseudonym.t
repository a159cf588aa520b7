# confer_private: what the pseudonym promises.  One client keeps one
# pseudonym, in every worker and across a reload; another client gets
# another one; limit_req keyed by $binary_remote_addr still tells them
# apart; an IPv6 client gets one in fd00::/8; the key rotates with the
# period, so the pseudonym of the same client changes.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(node => 1);

my $PSEUDO = qr/(?:24[0-9]|25[0-5])\.\d{1,3}\.\d{1,3}\.\d{1,3}/;

# an IPv6 loopback to listen on
my $v6 = eval { require IO::Socket::IP; 1 }
    && IO::Socket::IP->new(Listen => 1, LocalHost => '::1', LocalPort => 0)
    ? 1 : 0;

$t->start_mock;
$t->nginx(front => {
    main => "worker_processes 4;\n",
    http => <<'EOF',
limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
EOF
    server => <<'EOF',
listen 127.0.0.1:%%PORT_SPREAD%% reuseport;
confer_private on;

location = /addr {
    return 200 "$remote_addr $pid\n";
}

location /v1/ {
    limit_req zone=one nodelay;
    limit_req_status 429;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}
EOF
} );

# a second instance: a period of one second, and IPv6 on the same port
$t->nginx(fast => {
    server => <<'EOF' . ($v6 ? "listen [::1]:%%PORT_FAST%%;\n" : ''),
confer_private on period=1s;

location = /addr {
    return 200 "$remote_addr\n";
}
EOF
});

# --- stable for one client, in every worker ----------------------------------

my (%pseudo, %pids);

for (1 .. 24) {
    my ($a, $pid) = split ' ', from('127.0.0.2', 'spread', '/addr')->body;
    $pseudo{$a}++;
    $pids{$pid}++;
}

is(scalar keys %pseudo, 1, '24 connections from 127.0.0.2: one pseudonym')
    or diag(join ' ', keys %pseudo);
my ($p2) = keys %pseudo;
like($p2, qr/^$PSEUDO$/, 'an IPv4 pseudonym is in 240.0.0.0/4');
cmp_ok(scalar keys %pids, '>', 1, 'the connections met more than one worker');

my $p3 = addr('127.0.0.3', 'front');
like($p3, qr/^$PSEUDO$/, '127.0.0.3 has a pseudonym too');
isnt($p3, $p2, 'another client, another pseudonym');

# --- limit_req still limits one client, and only it --------------------------

is(from('127.0.0.2', 'front', '/v1/models')->status, 200,
   'limit_req: the first request of 127.0.0.2 passes');
is(from('127.0.0.2', 'front', '/v1/models')->status, 429,
   'limit_req: its second is limited');
is(from('127.0.0.3', 'front', '/v1/models')->status, 200,
   'limit_req: 127.0.0.3 is not');

my $err = Confer::Test::read_file($t->error_log('front'));
like($err, qr/limiting requests, .* client: \Q$p2\E, /,
     'the error log names the pseudonym of the limited client');

# --- across a reload ---------------------------------------------------------

ok($t->reload('front'), 'reload');
is(addr('127.0.0.2', 'front'), $p2, 'the same pseudonym after a reload');

# --- IPv6 --------------------------------------------------------------------

SKIP: {
    skip 'no IPv6 loopback', 2 unless $v6;

    my $a = $t->request(fast => 'GET /addr', host => '::1')->body;
    like($a, qr/^fd[0-9a-f]{2}:[0-9a-f:]+$/,
         'an IPv6 pseudonym is in fd00::/8');
    unlike($a, qr/^::1$/, 'not ::1');
}

# --- the key rotates ---------------------------------------------------------

my $first = addr('127.0.0.2', 'fast');
like($first, qr/^$PSEUDO$/, 'period=1s: a pseudonym');

my $next = $t->wait_for(sub {
    my $a = addr('127.0.0.2', 'fast');
    return $a ne $first ? $a : undef;
}, 'the pseudonym changes with the period', 5);

like($next, qr/^$PSEUDO$/, 'a new period: a new pseudonym');
isnt($next, $first, 'the old one is gone');

my @hits = $t->grep_prefix([ '127.0.0.2', '127.0.0.3' ],
                           dirs => [ 'front', 'fast' ]);
ok(!@hits, 'no real address in any file of nginx')
    or diag(join "\n", map { "$_->{string} in $_->{file}" } @hits);

$t->done;


sub addr {
    my ($ip, $name) = @_;
    my ($a) = split ' ', from($ip, $name, '/addr')->body;
    return $a // '';
}

# a GET from a given local address
sub from {
    my ($ip, $name, $path) = @_;
    return $t->request($name => "GET $path", local_addr => $ip);
}
