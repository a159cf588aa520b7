# confer_private: what the pseudonym promises.  One client keeps one
# pseudonym, in every worker and across a reload; another client gets
# another one; limit_req keyed by $binary_remote_addr still tells them
# apart; an IPv6 client gets one in fd00::/8; the key rotates with the
# period, so the pseudonym of the same client changes.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::INET;
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
    my ($a, $pid) = split ' ', body(from('127.0.0.2', $t->port('spread'),
                                         get('/addr')));
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

is(status(from('127.0.0.2', $t->port('front'), get('/v1/models'))), 200,
   'limit_req: the first request of 127.0.0.2 passes');
is(status(from('127.0.0.2', $t->port('front'), get('/v1/models'))), 429,
   'limit_req: its second is limited');
is(status(from('127.0.0.3', $t->port('front'), get('/v1/models'))), 200,
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

    my $s = IO::Socket::IP->new(PeerHost => '::1',
                                PeerPort => $t->port('fast'));
    print $s get('/addr');
    local $/;
    my $a = body(scalar <$s>);
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
    my ($a) = split ' ', body(from($ip, $t->port($name), get('/addr')));
    return $a // '';
}

sub get {
    my ($path) = @_;
    return "GET $path HTTP/1.1\r\nHost: localhost\r\n"
           . "Connection: close\r\n\r\n";
}

# A request from a given local address (Confer::HTTP always uses
# 127.0.0.1), read until nginx closes the connection.
sub from {
    my ($ip, $port, $raw) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => $ip, PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp')
        or die "connect from $ip: $@";
    binmode $s;
    print $s $raw;
    my $sel = IO::Select->new($s);
    my $out = '';
    while ($sel->can_read($Confer::HTTP::TIMEOUT)) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $out .= $buf;
    }
    close $s;
    return $out;
}

sub status { return ($_[0] =~ m{^HTTP/1\.[01] (\d{3})})[0] // 0 }

sub body {
    my ($resp) = @_;
    my ($b) = ($resp // '') =~ /\r\n\r\n(.*)\z/s;
    $b //= '';
    $b =~ s/\n\z//;
    return $b;
}
