# confer_private behind a load balancer.  realip at server level still
# checks set_real_ip_from against the real peer, and the address it finds
# (X-Forwarded-For, or the PROXY protocol) becomes a pseudonym in turn, per
# request, also on a keepalive connection.  $proxy_protocol_addr is a
# pseudonym too.  All servers share the key of the default period, so an
# address has the same pseudonym whichever way it arrives.  No real
# address reaches a file.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(node => 1);

my $PSEUDO = qr/(?:24[0-9]|25[0-5])\.\d{1,3}\.\d{1,3}\.\d{1,3}/;
my $A = '198.51.100.' . (10 + int rand 100);
my $B = '203.0.113.' . (10 + int rand 100);

$t->start_mock;
$t->nginx(lb => {
    http => <<'EOF',
log_format addrs '$remote_addr $realip_remote_addr $proxy_protocol_addr '
                 '$http_x_forwarded_for "$request"';
access_log %%DIR%%/private.log addrs;
EOF
    server => <<'EOF',
confer_private on;
set_real_ip_from 127.0.0.2;
real_ip_header X-Forwarded-For;

location = /addr {
    return 200 "$remote_addr $realip_remote_addr\n";
}

location /v1/ {
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}
}

server {
listen 127.0.0.1:%%PORT_PP%% proxy_protocol;
confer_private on;

location = /addr {
    return 200 "$remote_addr $proxy_protocol_addr [$proxy_protocol_port]\n";
}
}

server {
listen 127.0.0.1:%%PORT_PPREAL%% proxy_protocol;
confer_private on;
set_real_ip_from 127.0.0.2;
real_ip_header proxy_protocol;

location = /addr {
    return 200 "$remote_addr $proxy_protocol_addr $realip_remote_addr\n";
}
EOF
});

# --- X-Forwarded-For ---------------------------------------------------------

my ($lb) = split ' ', get('127.0.0.2', 'lb');
like($lb, qr/^$PSEUDO$/, 'the balancer itself gets a pseudonym');

my ($pa, $real) = split ' ', get('127.0.0.2', 'lb', "X-Forwarded-For: $A");
like($pa, qr/^$PSEUDO$/, 'a trusted X-Forwarded-For: a pseudonym');
isnt($pa, $lb, '... of the address it names, not of the balancer');
is($real, $lb, '$realip_remote_addr is the pseudonym of the balancer');
is((split ' ', get('127.0.0.2', 'lb', "X-Forwarded-For: 10.1.1.1, $A"))[0],
   $pa, 'the same address, the same pseudonym');

my ($pb) = split ' ', get('127.0.0.2', 'lb', "X-Forwarded-For: $B");
isnt($pb, $pa, 'another address, another pseudonym');

my ($untrusted) = split ' ', get('127.0.0.3', 'lb', "X-Forwarded-For: $A");
isnt($untrusted, $pa, 'an untrusted peer cannot choose its pseudonym');
is($untrusted, (split ' ', get('127.0.0.3', 'lb'))[0],
   '... it keeps its own');

my @two = bodies(from('127.0.0.2', 'lb',
    req('/addr', "X-Forwarded-For: $A") . req('/addr', "X-Forwarded-For: $B")
    . req('/addr', '', 1)));
is(join(' ', map { (split ' ')[0] } @two), "$pa $pb $lb",
   'one keepalive connection, three requests: each its own address');

my $r = from('127.0.0.2', 'lb',
             req('/v1/models', "X-Forwarded-For: $A", 1));
like($r, qr{^HTTP/1.1 200 }, 'proxied');
is($t->mock_requests->[-1]{headers}{'x-forwarded-for'}, $pa,
   'the mock gets the pseudonym alone in X-Forwarded-For');

# --- the PROXY protocol ------------------------------------------------------

my ($ra, $ppa, $port) = split ' ', get_pp('127.0.0.2', 'pp', $A);
is($ra, $lb, 'PROXY protocol: $remote_addr is the balancer\'s pseudonym');
is($ppa, $pa, '$proxy_protocol_addr is the pseudonym of its address');
is($port, '[]', '$proxy_protocol_port is empty');

my @pp = bodies(from('127.0.0.2', 'ppreal',
    "PROXY TCP4 $B 127.0.0.1 40000 80\r\n" . req('/addr')
    . req('/addr', '', 1)));
is(scalar @pp, 2, 'PROXY protocol and realip: two requests');
is_deeply([ map { [ split ' ' ] } @pp ],
          [ [ $pb, $pb, $lb ], [ $pb, $pb, $lb ] ],
          '... both from the pseudonym of the PROXY protocol address');

# (the configuration names the balancer)
my @hits = grep { $_->{file} !~ m{/nginx\.conf$} }
    $t->grep_prefix([ $A, $B, '127.0.0.2', '127.0.0.3' ], dirs => [ 'lb' ]);
ok(!@hits, 'no real address in any log or temp file of nginx')
    or diag(join "\n", map { "$_->{string} in $_->{file}" } @hits);

$t->done;


sub req {
    my ($path, $header, $close) = @_;
    $header = $header ? "$header\r\n" : '';
    return "GET $path HTTP/1.1\r\nHost: localhost\r\n$header"
           . ($close ? "Connection: close\r\n" : '') . "\r\n";
}

sub get {
    my ($ip, $name, $header) = @_;
    return (bodies(from($ip, $name, req('/addr', $header, 1))))[0]
           // '';
}

sub get_pp {
    my ($ip, $name, $src) = @_;
    return (bodies(from($ip, $name,
        "PROXY TCP4 $src 127.0.0.1 40000 80\r\n" . req('/addr', '', 1))))[0]
        // '';
}

# the bodies of the responses: each a line of text of a known length
sub bodies {
    my ($s) = @_;
    my @b;
    while ($s =~ /Content-Length: (\d+)\r\n(?:[^\r]*\r\n)*?\r\n/g) {
        my $b = substr($s, pos($s), $1);
        $b =~ s/\n\z//;
        push @b, $b;
    }
    return @b;
}

# A raw request from a given local address, read until nginx closes the
# connection: all it answered, as it came.
sub from {
    my ($ip, $name, $raw) = @_;
    return $t->request($name => raw => $raw, local_addr => $ip,
                       until_close => 1)->raw;
}
