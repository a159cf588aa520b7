# confer_private over HTTP/2 (prior knowledge; node's http2 client at
# 127.0.0.2, three streams on one connection): streams are fake
# connections copied from the real one, so they must carry its pseudonym,
# and their requests are scrubbed like any other before the access log.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(node => 1);

my $PSEUDO = qr/(?:24[0-9]|25[0-5])\.\d{1,3}\.\d{1,3}\.\d{1,3}/;
my %canary = map { $_ => "c4n4ry-h2-$_-" . int(rand(1e9)) }
    qw(query ua header cookie referer q404);

$t->start_mock;
$t->nginx(front => {
    http => <<'EOF',
log_format private '$remote_addr "$request" $request_uri $args '
                   '$http_user_agent $http_x_canary $http_cookie '
                   '$http_referer $server_protocol $status';
EOF
    server => <<'EOF',
listen 127.0.0.1:%%PORT_H2%% http2;
confer_private on;
access_log %%DIR%%/private.log private;

location /v1/ {
    proxy_set_header X-Real-IP $remote_addr;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
}

location /static/ {
    root %%DIR%%;
}
EOF
});

# the client: one connection from 127.0.0.2, one stream after the other
my $client = <<'JS';
const http2 = require('http2'), net = require('net');
const [port, ...paths] = process.argv.slice(1);
const h = JSON.parse(process.env.H2_HEADERS);
const s = http2.connect('http://127.0.0.1:' + port, {
    createConnection: () => net.connect({ host: '127.0.0.1', port: +port,
                                          localAddress: '127.0.0.2' }) });
(async () => {
    const out = [];
    for (const p of paths) {
        out.push(await new Promise((ok, fail) => {
            const r = s.request({ ':path': p, ...h });
            r.on('response', (hd) => {
                r.resume();
                r.on('end', () => ok(hd[':status']));
            });
            r.on('error', fail);
            r.end();
        }));
    }
    console.log(out.join(' '));
    s.close();
})().catch((e) => { console.error(e); process.exit(1); });
JS

local $ENV{H2_HEADERS} = JSON::PP->new->encode({
    'user-agent' => $canary{ua}, 'x-canary' => $canary{header},
    cookie => "c=$canary{cookie}", referer => "http://$canary{referer}/" });

my @cmd = ('node', '-e', $client, $t->port('h2'),
           "/v1/models?q=$canary{query}", "/static/none?q=$canary{q404}",
           "/v1/models?q=$canary{query}");
my $out = `@{[ map { quotemeta } @cmd ]}`;
chomp $out;
is($out, '200 404 200', 'three requests over one HTTP/2 connection');

my $h = $t->mock_requests->[-1]{headers};
like($h->{'x-real-ip'} // '', qr/^$PSEUDO$/, 'the mock gets the pseudonym');
is($h->{'user-agent'}, $canary{ua}, 'and the request as it was');

my $log = $t->wait_for(sub {
    my $s = Confer::Test::read_file($t->dir('front') . '/private.log') // '';
    my @l = split /\n/, $s;
    return @l >= 3 ? \@l : undef;
}, 'three access log lines');

like($log->[0],
     qr{^$PSEUDO "GET /v1/models HTTP/2.0" /v1/models - - - - - HTTP/2.0 200$},
     'HTTP/2 access log: pseudonym, no query, no headers');
my ($ra) = $log->[0] =~ /^(\S+)/;
is(scalar(grep { /^\Q$ra\E / } @$log), 3, 'every stream, one pseudonym');
is($ra, $h->{'x-real-ip'}, 'the one the mock saw');

my @hits = grep { $_->{file} !~ m{/nginx\.conf$} }
    $t->grep_prefix([ values(%canary), '127.0.0.2' ], dirs => [ 'front' ]);
ok(!@hits, 'no canary and no real address in any file of nginx')
    or diag(join "\n", map { "$_->{string} in $_->{file}" } @hits);

$t->done;
