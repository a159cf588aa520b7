# confer_private: a client at 127.0.0.2 sends unique canary strings in the
# query, User-Agent, a custom header, Cookie, Referer, Authorization,
# X-Forwarded-For, x-stainless-* and request-id headers and the body; the
# request is proxied to the MOCK model server, then the same client makes
# a 404, a 400 (a NUL in a header, alone and as the second request of a
# keepalive connection), a 400 with an unparseable request line and a 502.
# No canary and no "127.0.0.2" may appear in any file of that nginx (error
# log at info, an access log printing every common variable, temp files),
# while the mock gets the pseudonym in X-Forwarded-For and X-Real-IP.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(node => 1);

# a pseudonym of an IPv4 client: 240.0.0.0/4
my $PSEUDO = qr/(?:24[0-9]|25[0-5])\.\d{1,3}\.\d{1,3}\.\d{1,3}/;

my %canary = map { $_ => "c4n4ry-$_-" . int(rand(1e9)) }
    qw(query ua header cookie referer auth stainless reqid prompt
       q404 q400 ua400 ref400 keep400 line400 q502 ref502);
my $path = 'path-' . int(rand(1e9));           # a path is logged, by design
my $xff = '10.66.77.' . (1 + int rand 250);   # what the client claims

$t->start_mock;
$t->nginx(front => {
    http => <<'EOF',
map $binary_remote_addr $bra { "" none; default set; }
log_format private
    'ra=$remote_addr rp=[$remote_port] bra=$bra '
    'req="$request" ru=$request_uri args=$args qs=$query_string '
    'argq=$arg_q isargs=$is_args ua=$http_user_agent xc=$http_x_canary '
    'ref=$http_referer ck=$http_cookie ckc=$cookie_c '
    'xff=$http_x_forwarded_for pxff=$proxy_add_x_forwarded_for '
    'xri=$http_x_real_ip user=$remote_user auth=$http_authorization '
    'stl=$http_x_stainless_os rid=$http_x_request_id '
    'seen=$ua_seen body=$request_body status=$status';
map $http_user_agent $ua_seen { default $http_user_agent; }
EOF
    server => <<'EOF',
confer_private on;
access_log %%DIR%%/private.log private;
client_body_buffer_size 64k;

location /v1/ {
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-UA-Seen $ua_seen;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}

location /static/ {
    root %%DIR%%;
}

location /down/ {
    proxy_pass http://127.0.0.1:%%PORT_CLOSED%%;
}
EOF
});

# --- the proxied request -----------------------------------------------------

my $body = '{"model":"mock-model","messages":[{"role":"user","content":"'
         . $canary{prompt} . '"}]}';

my $resp = from("POST /v1/chat/completions?q=$canary{query} HTTP/1.1\r\n"
    . "Host: localhost\r\n"
    . "User-Agent: $canary{ua}\r\n"
    . "X-Canary: $canary{header}\r\n"
    . "Cookie: c=$canary{cookie}\r\n"
    . "Referer: http://$canary{referer}/\r\n"
    . "Authorization: Bearer $canary{auth}\r\n"
    . "X-Forwarded-For: $xff\r\n"
    . "X-Real-IP: $xff\r\n"
    . "X-Stainless-OS: $canary{stainless}\r\n"
    . "X-Request-Id: $canary{reqid}\r\n"
    . "Content-Type: application/json\r\n"
    . 'Content-Length: ' . length($body) . "\r\n"
    . "Connection: close\r\n\r\n$body");

is(status($resp), 200, 'proxied chat completion: 200');

my $m = $t->mock_requests->[-1];
my $h = $m->{headers};

like($h->{'x-real-ip'} // '', qr/^$PSEUDO$/, 'the mock gets a pseudonym in'
     . ' X-Real-IP');
is($h->{'x-forwarded-for'}, $h->{'x-real-ip'}, 'and only the pseudonym in'
   . ' X-Forwarded-For (the client\'s own X-Forwarded-For is gone)');
ok(!grep({ ($h->{$_} // '') =~ /127\.0\.0\.2|\Q$xff\E/ } keys %$h),
   'no header the mock got holds the real or claimed address');
like($m->{url}, qr/q=\Q$canary{query}\E/, 'proxying still passes the query');
is($h->{'user-agent'}, $canary{ua}, 'and the User-Agent');
is($h->{'x-ua-seen'}, $canary{ua}, 'and a variable computed from it');
like($m->{body}, qr/\Q$canary{prompt}\E/, 'and the body');

# --- the same client: a 404, 400s, a 502 -------------------------------------

$resp = from("GET /static/$path?q=$canary{q404} HTTP/1.1\r\n"
    . "Host: localhost\r\nUser-Agent: $canary{ua}\r\n"
    . "Referer: http://$canary{referer}/\r\nConnection: close\r\n\r\n");
is(status($resp), 404, 'a missing file: 404');

$resp = from("GET /v1/models?q=$canary{q400} HTTP/1.1\r\n"
    . "Host: localhost\r\nUser-Agent: $canary{ua400}\r\n"
    . "Referer: http://$canary{ref400}/\r\n"
    . "X-Canary: bad\0$canary{header}\r\n\r\n");
is(status($resp), 400, 'a NUL in a header: 400');

$resp = from("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n"
    . "GET /v1/models?q=$canary{keep400} HTTP/1.1\r\n"
    . "Host: localhost\r\nReferer: http://$canary{keep400}/\r\n"
    . "X-Canary: bad\0$canary{keep400}\r\n\r\n");
is(join(' ', statuses($resp)), '200 400',
   'a keepalive connection: 200, then 400 for a NUL in a header');

$resp = from("G\x01T /x?q=$canary{line400} HTTP/1.1\r\n"
             . "Host: localhost\r\n\r\n");
is(status($resp), 400, 'an invalid request line: 400');

$resp = from("GET /down/x?q=$canary{q502} HTTP/1.1\r\n"
    . "Host: localhost\r\nReferer: http://$canary{ref502}/\r\n"
    . "Connection: close\r\n\r\n");
is(status($resp), 502, 'an upstream that refuses: 502');

# --- what nginx wrote --------------------------------------------------------

my $log = $t->wait_for(sub {
    my $s = Confer::Test::read_file($t->dir('front') . '/private.log') // '';
    my @l = split /\n/, $s;
    return @l >= 7 ? \@l : undef;
}, 'seven access log lines');

like($log->[0], qr/^ra=$PSEUDO rp=\[\] bra=set /,
     'access log: $remote_addr is the pseudonym, no $remote_port,'
     . ' $binary_remote_addr is there');
like($log->[0], re(qr{ req="POST /v1/chat/completions HTTP/1.1" },
                   qr{ru=/v1/chat/completions args=- qs=- argq=- isargs= }),
     'access log: $request and $request_uri without the query, no $args');
like($log->[0], re(qr/ ua=- xc=- ref=- ck=- ckc=- xff=- pxff=$PSEUDO xri=- /,
                   qr/user=- auth=- stl=- rid=- seen= body=- status=200$/),
     'access log: no request header, cookie, user, cached variable or body');
my ($ra) = $log->[0] =~ /^ra=(\S+)/;
is(scalar(grep { /^ra=\Q$ra\E / } @$log), scalar @$log,
   'every line has the same pseudonym');
like($log->[1], qr{req="GET /static/$path HTTP/1.1" .* status=404$},
     'the 404: its path, not its query');
like($log->[2], qr{req="GET /v1/models HTTP/1.1" .* status=400$},
     'the 400: its request line without the query');
like($log->[4], qr{req="GET /v1/models HTTP/1.1" .* status=400$},
     'the 400 on a keepalive connection: the same');
like($log->[5], qr/req="" .* status=400$/,
     'the unparseable request line: nothing of it');

my $err = Confer::Test::read_file($t->error_log('front'));
my @bad = grep { /client sent invalid header line/ } split /\n/, $err;
is(scalar @bad, 2, 'error log: both bad headers are logged');
like($bad[-1], re(qr/ client sent invalid header line: "\.\.\." while /,
                  qr/reading client request headers, client: $PSEUDO, /,
                  qr{server: localhost, request: "GET /v1/models HTTP/1.1", },
                  qr/host: "localhost"$/),
     'error log: the bad header is blanked, the request line has no query');
like($err, re(qr{\[error\] .*connect\(\) failed .* client: $PSEUDO, },
              qr{.*request: "GET /down/x HTTP/1.1", upstream: },
              qr{"http://127.0.0.1:\d+/down/x", host: "localhost"$}),
     'error log: the upstream without the query, no referrer');
like($err, qr/\[error\] .*open\(\) ".*\Q$path\E" failed/,
     'error log: the 404 is logged');

my @hits = $t->grep_prefix([ values(%canary), '127.0.0.2', $xff ],
                           dirs => [ 'front' ]);
ok(!@hits, 'no canary, real or claimed address in any file of nginx')
    or diag(join "\n", map { "$_->{string} in $_->{file} at $_->{offset}" }
                           @hits);

$t->done;


# A raw request from 127.0.0.2, read until nginx closes the connection:
# all it answered, as it came.
sub from {
    my ($raw) = @_;
    return $t->request(front => raw => $raw, local_addr => '127.0.0.2',
                       until_close => 1)->raw;
}

# one regex of several pieces, multiline
sub re {
    my $s = join '', @_;
    return qr/$s/m;
}

sub statuses { return $_[0] =~ m{HTTP/1\.[01] (\d{3}) }g }
sub status { return (statuses($_[0]))[0] // 0 }
