# The canary test of the whole chain: a client at 127.0.0.2 puts unique
# strings in the prompt (which the model server echoes into the answer),
# a header, the query string, the User-Agent and a cookie, plain and
# streamed.  Gateway and terminator both run confer_private, log at info
# level and write access logs with every common variable.  No canary and
# no client address appears in any file of either nginx; the client's
# address, User-Agent, header and cookie never reach the model server, nor
# any byte of them the relay between the two.  On that wire, a stream of
# tokens of 1 to 40 bytes is chunks of multiples of 256 bytes, and the
# client gets it without the padding.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);

plan(skip_all => '127.0.0.2 is not usable here')
    unless IO::Socket::INET->new(LocalAddr => '127.0.0.2', Proto => 'udp');

my $log_format = <<'EOF';
log_format private
    'ra=$remote_addr rp=[$remote_port] req="$request" ru=$request_uri '
    'uri=$uri args=$args qs=$query_string isargs=$is_args '
    'ua=$http_user_agent xc=$http_x_canary ck=$http_cookie ckc=$cookie_c '
    'ref=$http_referer xff=$http_x_forwarded_for '
    'pxff=$proxy_add_x_forwarded_for auth=$http_authorization '
    'body=$request_body host=$host status=$status cs=$confer_status';
EOF

my %c = map { $_ => "c4n4ry-$_-" . int(rand(1e9)) }
    qw(query ua header cookie prompt);

stack($t,
    http => $log_format,
    server => <<'EOF',
confer_private on;
access_log %%DIR%%/private.log private;
client_body_buffer_size 1k;
EOF
    terminator => {
        http => $log_format =~ s/ cs=\$confer_status//r,
        server => <<'EOF',
confer_private on;
access_log %%DIR%%/private.log private;
client_body_buffer_size 1k;
EOF
    });

sub request {
    my ($stream) = @_;
    my $body = $t->json->encode({ model => 'mock-model',
        messages => [ { role => 'user', content => "say $c{prompt}" } ],
        mock => { echo => JSON::PP::true, tokens => 40 },
        $stream ? (stream => JSON::PP::true) : () });
    return $t->request(gateway => "POST /v1/chat/completions?q=$c{query}",
        local_addr => '127.0.0.2', body => $body,
        headers => [ 'User-Agent' => $c{ua}, 'X-Canary' => $c{header},
                     Cookie => "c=$c{cookie}",
                     'Content-Type' => 'application/json' ]);
}

my $plain = request(0);
is($plain->status, 200, 'a sealed request from 127.0.0.2');
like($plain->body, qr/\Q$c{prompt}\E/,
     'the answer echoes the prompt\'s canary');

my $stream = request(1);
is($stream->status, 200, 'a streamed one');
like($stream->body, qr/\Q$c{prompt}\E/, 'its tokens too');
ok($stream->complete && $stream->events->[-1]{data} eq '[DONE]',
   'to its end');

# --- nothing in any file of either nginx --------------------------------------

for my $inst (qw(gateway terminator)) {
    $t->wait_for(sub { (Confer::Test::read_file($t->dir($inst)
                        . '/private.log') // '') =~ tr/\n// >= 2 },
                 "$inst logs both requests");
}
like(Confer::Test::read_file($t->dir('gateway') . '/private.log'),
     qr/cs=sealed$/m, 'the gateway\'s log line says sealed');

is_deeply([ map { "$_->{file}: $_->{string}" }
            $t->grep_prefix([ values %c, '127.0.0.2' ],
                            dirs => [ 'gateway', 'terminator' ]) ],
          [], 'no canary, no client address in any log or temporary file '
              . 'of the gateway or the terminator');

# --- nor at the model server, nor on the wire between ---------------------------

my $mock = join "\n", map { $t->json->encode($_) } @{ $t->mock_requests };
is_deeply([ grep { index($mock, $c{$_}) >= 0 } qw(ua header cookie) ], [],
          'the User-Agent, header and cookie never reach the model server');
unlike($mock, qr/127\.0\.0\.2/, 'nor the client\'s address');
like($mock, qr/\Q$c{prompt}\E/, 'the prompt does: it is the model\'s input');

is_deeply([ relay_has($t, values %c, '127.0.0.2') ], [],
          'the relay carried none of them');

# --- the wire: chunk sizes say nothing of token lengths -------------------------

$t->start_relay(hop => target => 'terminator');
my $r = $t->post_json(gateway => '/v1/chat/completions',
    { model => 'mock-model', stream => JSON::PP::true,
      messages => [ { role => 'user', content => 'sizes' } ],
      mock => { tokens => 40, token_sizes => [ 1 .. 40 ], delay_ms => 5 } });
is($r->status, 200, 'a stream of tokens of 1 to 40 bytes');
is(scalar @{ $r->events }, 43, 'all its events reach the client');
unlike($r->body, qr/^:~/m, 'without padding');

my $wire = $t->relay_stream(hop => 'down', (sealed_requests($t))[-1]{conn});
my ($body) = $wire =~ /\r\n\r\n(.*)$/s;

# chunked draft, 6.2: the response nonce, then varint-length chunks, then
# a zero length and the final chunk to the end
sub chunks {
    my ($p, $nonce) = @_;
    my $i = $nonce;
    my @sizes;
    while ($i < length $p) {
        my $b = ord substr($p, $i, 1);
        my $vlen = 1 << ($b >> 6);
        my $v = $b & 0x3f;
        $v = $v * 256 + ord substr($p, $i + $_, 1) for 1 .. $vlen - 1;
        if ($v == 0) {
            push @sizes, length($p) - $i;
            return @sizes;
        }
        push @sizes, $vlen + $v;
        $i += $vlen + $v;
    }
    return;
}

my @sizes = chunks($body, 32);
@sizes = chunks($body, 16) unless @sizes;
ok(@sizes > 40, scalar(@sizes) . ' sealed chunks on the wire');
is_deeply([ grep { $_ % 256 } @sizes ], [],
          'every one a multiple of 256 bytes (' . join(' ', @sizes) . ')');

$t->done;
