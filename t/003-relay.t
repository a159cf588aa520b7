# The recording relay (t/tools/relay) between the harness client and the
# MOCK model server: it records every read both ways, and damages the
# stream exactly as told.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;

my $t = Confer::Test->new(nginx => 0, node => 1);
$t->start_mock;

my $body = '{"input":"a"}';
my $req = "POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\nConnection: close\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

sub through {
    my (@mutate) = @_;
    $t->start_relay(relay => target => 'mock', mutate => \@mutate);
    return $t->request(relay => raw => $req);
}

# --- recording ---------------------------------------------------------------

my $r = through();
is($r->status, 200, 'a request through the relay');
my $rec = $t->relay_records('relay');
is($rec->[0]{event}, 'open', 'the record starts with the connection');
is($t->relay_stream(relay => 'up'), $req, 'it holds the request, byte for'
                                          . ' byte');
is($t->relay_stream(relay => 'down'), $r->raw, 'and the response');
my @data = grep { $_->{event} eq 'data' } @$rec;
ok(!(grep { $_->{size} != length $_->{data} } @data),
   'each read with its size');
ok(!(grep { $data[$_]{t} < $data[$_ - 1]{t} } 1 .. $#data),
   'in the order of their times');
ok(!(grep { exists $_->{sent} } @data), 'nothing mutated');
ok($t->wait_for(sub { $t->relay_records('relay')->[-1]{event} eq 'close' },
                'the relay records the close'), 'and it ends with the close');

# --- mutations, down ----------------------------------------------------------

$r = through('down:flip:7');
my $orig = $t->relay_stream(relay => 'down');
(my $want = $orig) =~ s/^(.{7})(.)/$1 . chr(ord($2) ^ 1)/se;
is($r->raw, $want, 'flip: the client got the byte at offset 7 flipped');
is($r->{version}, '1.0', 'flip: HTTP/1.1 became HTTP/1.0');

$r = through('down:flip:0:0x20');
is(substr($r->raw, 0, 4), 'hTTP', 'flip with a mask');

$r = through('down:truncate:20');
is($r->raw, substr($t->relay_stream(relay => 'down'), 0, 20),
   'truncate: the client got the first 20 bytes');
ok(!$r->complete, 'truncate: and no complete response');
ok((grep { $_->{event} eq 'mutate' && $_->{what} eq 'truncate' }
    @{ $t->relay_records('relay') }), 'truncate: recorded');

$r = through('down:drop:0:9');
is($r->raw, substr($t->relay_stream(relay => 'down'), 9),
   'drop: the client did not get the first 9 bytes');

$r = through('down:dup:0:17');
$orig = $t->relay_stream(relay => 'down');
is($r->raw, substr($orig, 0, 17) . $orig, 'dup: the status line twice');

$r = through('down:swap:0:4:5');
$orig = $t->relay_stream(relay => 'down');
is($r->raw, substr($orig, 4, 5) . substr($orig, 0, 4) . substr($orig, 9),
   'swap: "/1.1 " before "HTTP"');

$r = through('down:split:16:5');
is($r->raw, $t->relay_stream(relay => 'down'), 'split: the same bytes');
ok($r->complete, 'split: a complete response');
cmp_ok(scalar @{ $r->reads }, '>', 1, 'split: in several reads');

$r = through('down:reset:10');
ok(!$r->complete, 'reset: no complete response');
ok((grep { $_->{event} eq 'mutate' && $_->{what} eq 'reset' }
    @{ $t->relay_records('relay') }), 'reset: recorded');

# --- mutations, up, and per connection -------------------------------------------

$t->mock_reset;
$r = through('up:flip:' . (length($req) - 3) . ':3');
is($r->status, 200, 'flip up: the mock still answers');
is($t->mock_requests->[-1]{body}, '{"input":"b"}',
   'flip up: the mock got "b" for "a"');

$t->mock_reset;
$r = through('up:swap:' . (length($req) - length($body) + 1) . ':7:4');
is($t->mock_requests->[-1]{body}, '{:"a""input"}',
   'swap up: the mock got \'"input"\' and \':"a"\' swapped');

$t->start_relay(relay => target => 'mock', mutate => ['down:flip:7@2']);
is($t->request(relay => raw => $req)->{version}, '1.1',
   '@2: the first connection passes untouched');
is($t->request(relay => raw => $req)->{version}, '1.0',
   '@2: the second is mutated');

$t->done;
