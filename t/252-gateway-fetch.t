# The attestation fetch: the gateway's own HTTP/1.1 client reads documents
# delimited by Content-Length, chunked coding or the end of the connection,
# over http and https, and fails closed, naming the reason, on a terminator
# that is down, silent, slow, too big, not HTTP, or not 200.

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

# name => [ docserver options, expected outcome, confer_seal extras ]
my %cases = (
    length   => [ { mode => 'length' }, 200 ],
    chunked  => [ { mode => 'chunked' }, 200 ],
    close    => [ { mode => 'close' }, 200 ],
    garbage  => [ { mode => 'garbage' }, 'bad_response' ],
    status   => [ { mode => 'status', status => 500 }, 'http_status' ],
    huge     => [ { mode => 'huge' }, 'too_large', 'max_size=64k' ],
    silent   => [ { mode => 'silent' }, 'timeout', 'timeout=1s' ],
    trickle  => [ { mode => 'trickle' }, 'timeout', 'timeout=1s' ],
);

for my $name (sort keys %cases) {
    $a->docserver("d_$name", doc => $doc, %{ $cases{$name}[0] });
}

# a port nothing listens on: its lock is held, nobody binds it
my $down = $t->port('down');

# https: a plain nginx with a throwaway certificate
my $dir = $a->dir;
for my $name (qw(tls stranger)) {
    system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
           . "-nodes -keyout $dir/$name.key -out $dir/$name.crt -days 1 "
           . "-subj /CN=localhost >/dev/null 2>&1") == 0
        or BAIL_OUT('openssl req failed');
}

$t->nginx(tls => <<"EOF");
http {
    log_format sni '\$ssl_server_name \$request_uri';
    server {
        listen 127.0.0.1:%%PORT_TLS%% ssl;
        ssl_certificate $dir/tls.crt;
        ssl_certificate_key $dir/tls.key;
        access_log %%DIR%%/sni.log sni;
        location = /.well-known/confer-attestation {
            alias $doc;
            default_type application/json;
        }
    }
}
EOF

my $locations = join '', map {
    my $extra = $cases{$_}[2] // '';
    "location /$_/ {\n"
    . "    confer_seal http://127.0.0.1:%%PORT_D_\U$_\E%% policy=$policy "
    . "$extra;\n"
    . "    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;\n}\n"
} sort keys %cases;

$t->start_mock;
$t->nginx(gateway => {
    http => 'confer_cache zone=confer:1m;',
    server => $locations . <<"EOF",
location /down/ {
    confer_seal http://127.0.0.1:$down policy=$policy;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /tls/ {
    confer_seal https://127.0.0.1:%%PORT_TLS%% policy=$policy;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /sni/ {
    confer_seal https://localhost:%%PORT_TLS%% policy=$policy;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /verified/ {
    confer_seal https://localhost:%%PORT_TLS%% policy=$policy
                ssl_trusted_certificate=$dir/tls.crt;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /untrusted/ {
    confer_seal https://localhost:%%PORT_TLS%% policy=$policy
                ssl_trusted_certificate=$dir/stranger.crt;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /wrongname/ {
    confer_seal https://127.0.0.1:%%PORT_TLS%% policy=$policy
                ssl_trusted_certificate=$dir/tls.crt;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location = /status { confer_status; }
EOF
});

$cases{down} = [ undef, 'connect_failed' ];
$cases{tls} = [ undef, 200 ];
$cases{sni} = [ undef, 200 ];
$cases{verified} = [ undef, 200 ];
$cases{untrusted} = [ undef, 'tls_failed' ];
$cases{wrongname} = [ undef, 'tls_failed' ];

for my $name (sort keys %cases) {
    my $want = $cases{$name}[1];
    $t->mock_reset;
    my $r = $t->post_json(gateway => "/$name/chat/completions",
        { model => 'mock-model', messages => [ { role => 'user',
                                                 content => 'hi' } ] });

    if ($want eq '200') {
        ok($a->passed($r), "$name: attested, the request goes on");
        is(scalar @{ $t->mock_requests }, 1, "$name: the mock got it");
        next;
    }

    is($r->status, 503, "$name: 503");
    my $e = eval { $t->json->decode($r->body) } || {};
    is($e->{error}{code}, $want, "$name: $want");
    is(scalar @{ $t->mock_requests }, 0, "$name: nothing reached the mock");
}

# what the document servers saw: one GET of the document each
for my $name (grep { $cases{$_}[0] } sort keys %cases) {
    my $f = $a->fetches("d_$name");
    is(scalar @$f, 1, "d_$name: one fetch");
    is("$f->[0]{method} $f->[0]{path}",
       'GET /.well-known/confer-attestation', "d_$name: the document");
    is($f->[0]{ua}, 'ngx_confer_module', "d_$name: our User-Agent");
}

# SNI for a name, none for an address (RFC 6066, 3)
my $sni = Confer::Test::read_file($t->dir('tls') . '/sni.log') // '';
like($sni, qr{^localhost /\.well-known/confer-attestation$}m,
     'https to a name sends it as SNI');
like($sni, qr{^- /\.well-known/confer-attestation$}m,
     'https to an address sends no SNI');

my $st = $a->status('gateway');
my %by = map { $_->{url} => $_ } @{ $st->{terminators} };
my ($silent) = grep { $_->{url} =~ /:$t->{ports}{D_SILENT}$/ }
               values %by;
like($silent->{last_error}{detail}, qr/no answer within 1000 ms while reading/,
     'status: the timeout detail says where it was stuck');
my ($huge) = grep { $_->{url} =~ /:$t->{ports}{D_HUGE}$/ } values %by;
like($huge->{last_error}{detail}, qr/larger than max_size=65536/,
     'status: too large, and the cap');

# ssl_trusted_certificate=: the chain and the name are checked
my $tls = $t->port('tls');
my @tls = grep { $_->{url} =~ /:$tls$/ } values %by;
my ($untrusted) = grep { ($_->{last_error}{detail} // '') =~ /not verify/ }
                  @tls;
like($untrusted->{last_error}{detail} // '',
     qr/certificate of .* does not verify: \(\d+: self.signed certificate/,
     'status: an untrusted certificate, and why');
my ($wrong) = grep { ($_->{last_error}{detail} // '') =~ /is not for/ } @tls;
like($wrong->{last_error}{detail} // '',
     qr/certificate of 127.0.0.1:\d+ is not for "127.0.0.1"/,
     'status: a certificate for another name');

my ($ok, $out) = $t->nginx_t({
    http => 'confer_cache zone=c:1m;',
    server => "location / { confer_seal http://127.0.0.1:9 policy=$policy "
              . "ssl_trusted_certificate=$dir/tls.crt; }",
});
ok(!$ok, 'ssl_trusted_certificate= for an http terminator is refused');
like($out, qr/terminator "http:\/\/127.0.0.1:9" is not https/,
     'because it has no certificate');

$t->done;
