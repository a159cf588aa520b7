# The terminator's key changes at every reload.  Traffic across a reload
# loses nothing: streams under way finish and new requests pass (the
# previous key is honoured for a while).  A key the terminator no longer
# has gets RFC 9458's key problem: the gateway drops the key, the client
# gets a 503 with Retry-After (the OpenAI SDKs retry), and the next
# request attests the terminator again and passes.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;
use Confer::Gateway;

my $t = Confer::Test->new(node => 1);

stack($t, terminator => { key => 'lifetime=1h grace=10m' },
      http => "log_format keys '\$status \$confer_status "
              . "\$confer_key_id';\n",
      server => "access_log %%DIR%%/keys.log keys;\n");

my $chat = { model => 'mock-model', messages => [ { role => 'user',
                                                    content => 'keys' } ] };

sub entry { return (status_of($t)->{terminators} || [])->[0] || {} }
sub post { return $t->post_json(gateway => '/v1/chat/completions', @_) }

my $r = post($chat);
is($r->status, 200, 'attested and sealed');
my $k0 = entry()->{key_ids}[0];
ok(defined $k0, "the gateway uses key id $k0");

# --- a reload in the middle of traffic --------------------------------------

my @held = map {
    $t->stream(gateway => 'POST /v1/chat/completions',
        headers => [ 'Content-Type' => 'application/json' ],
        body => $t->json->encode({ %$chat, stream => JSON::PP::true,
                                   messages => [ { role => 'user',
                                                   content => "held $_" } ],
                                   mock => { hold_after => 2 } }));
} 1 .. 3;
ok(!(grep { !$_->read_until(sub { @{ $_[0]->events } >= 2 }) } @held),
   'three streams under way');

ok($t->reload('terminator'), 'the terminator reloads: a new key');

my @r = map { post({ %$chat, messages => [ { role => 'user',
                                             content => "during $_" } ] }) }
        1 .. 10;
is(scalar(grep { $_->status == 200 } @r), 10,
   'ten requests sealed to the previous key pass');

$t->mock_release;
@r = map { $_->finish } @held;
is(scalar(grep { $_->complete && @{ $_->events } == 11 } @r), 3,
   'and the streams under way finish, whole');

my $st = entry();
is($st->{counters}{key_rejected}, 0, 'no key was refused');

# --- a key the terminator no longer has -------------------------------------

ok($t->reload('terminator'), 'a second reload: the first key is retired');
my $fetches = $st->{counters}{fetches};

$t->mock_reset;
$r = post($chat);
is($r->status, 503, 'a request sealed to the retired key: 503');
is($r->header('Retry-After'), '1', 'with Retry-After: 1');
is(problem_of($r)->{code}, 'key_rejected', 'key_rejected');
is(problem_of($r)->{type}, 'attestation_error', 'an attestation error');
like(problem_of($r)->{message}, qr/retry/, 'that says to retry');
is(scalar @{ $t->mock_requests }, 0, 'the model server got nothing');

$st = entry();
is($st->{counters}{key_rejected}, 1, 'confer_status counts the refusal');

$r = post($chat);
is($r->status, 200, 'the next request attests again and passes');
$st = entry();
is($st->{counters}{fetches}, $fetches + 1, 'after one more fetch');
is($st->{key_ids}[0], ($k0 + 2) % 256, 'of the terminator\'s new key');

ok($t->wait_for(sub { (Confer::Test::read_file($t->dir('gateway')
                                               . '/keys.log') // '')
                       =~ /^503 key_rejected \d+$/m }, 'the access log line'),
   '$confer_status: key_rejected');

like($t->log_slice('gateway', 'error', 0),
     qr/\[error\].*confer: "http:[^"]+" refused its key: it is attested again/,
     'the error log says why');

$t->done;
