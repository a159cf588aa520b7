# Bad input gets a clear answer and nothing else, and never reaches the
# model server: wrong media type, unknown key id (RFC 9458 5.3 problem),
# tampered, truncated or garbage messages, replays, oversize bodies; the
# inner path and header allow-lists.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;
$t->nginx(term => terminator_spec($t, open => 'max_body=4k'));

my $chat = '{"model":"mock-model","messages":[{"role":"user",'
         . '"content":"refusals 2a"}]}';
my %req = (path => '/v1/chat/completions', body => $chat,
           headers => { 'content-type' => 'application/json' });

sub none_reached {
    my ($what) = @_;
    is(scalar @{ $t->mock_requests }, 0, "$what: nothing reached the model "
       . 'server');
}

sub refused {
    my ($name, $spec, $status, $reason) = @_;
    $t->mock_reset;
    my $r = client($t, 'term', { %req, %$spec });
    is($r->{outer}{status}, $status, "$name: $status") or diag(explain($r));
    if (defined $reason) {
        is(b64d($r->{outer}{body_b64}), "{\"error\":\"$reason\"}\n",
           "$name: reason code $reason and nothing else");
    }
    none_reached($name);
    return $r;
}

for my $mode (qw(plain chunked)) {
    refused("$mode, wrong media type", { mode => $mode,
            content_type => 'application/json' }, 415,
            'unsupported_media_type');

    my $r = refused("$mode, unknown key id", { mode => $mode, key_id => 7 },
                    400);
    is($r->{outer}{headers}{'content-type'}, 'application/problem+json',
       "$mode, unknown key id: application/problem+json");
    like(b64d($r->{outer}{body_b64}),
         qr{"type":"https://iana.org/assignments/http-problem-types#ohttp-key"},
         "$mode, unknown key id: RFC 9458's key-configuration problem");

    refused("$mode, tampered", { mode => $mode, tamper => 'flip' }, 400,
            'decrypt');
    refused("$mode, garbage", { mode => $mode, tamper => 'garbage',
            key_id => undef }, 400);
}

refused('plain, cut short', { mode => 'plain', tamper => 'cut' }, 400,
        'decrypt');
refused('chunked, without its final chunk', { mode => 'chunked',
        tamper => 'cut', split => [20, 20] }, 400, 'truncated');
refused('empty body', { mode => 'plain', raw_hex => '' }, 400, 'truncated');
refused('too large', { mode => 'chunked', body => 'x' x 5000 }, 413,
        'too_large');
refused('too short for a header', { mode => 'plain', raw_hex => '0100' },
        400, 'truncated');

# a replayed encapsulated key
$t->mock_reset;
my $r = client($t, 'term', { %req, mode => 'chunked', repeat => 2 });
is($r->{replies}[0]{status}, 200, 'the first use of an enc is answered');
is($r->{replies}[1]{status}, 400, 'the same request again is refused');
is(b64d($r->{outer}{body_b64}), "{\"error\":\"replay\"}\n",
   'as a replay');
is(scalar @{ $t->mock_requests }, 1, 'the model server saw it once');

# method on the outer request
$t->mock_reset;
my $g = $t->request(term => 'GET /.well-known/ohttp-gateway');
is($g->status, 405, 'GET on the OHTTP endpoint: 405');
none_reached('GET');

# inner paths: an allow-list; the refusal is sealed
sub inner {
    my ($name, $spec, $status, $reached) = @_;
    $t->mock_reset;
    my $r = client($t, 'term', { %req, mode => 'chunked', %$spec });
    is($r->{outer}{status}, 200, "$name: the outer answer is sealed");
    is($r->{inner}{status}, $status, "$name: inner $status")
        or diag(explain($r));
    if ($reached) {
        is(scalar @{ $t->mock_requests }, 1, "$name: reached the model "
           . 'server');
    } else {
        none_reached($name);
    }
    return $r;
}

$r = inner('/metrics', { path => '/metrics', method => 'GET', body => undef },
           403);
like(b64d($r->{inner}{body_b64}), qr/"code":"path_not_allowed"/,
     '/metrics: an OpenAI-style error, sealed');
inner('a dot segment', { path => '/v1/chat/completions/../../admin' }, 403);
inner('an escape', { path => '/v1/chat%2fcompletions' }, 403);
inner('a double slash', { path => '//v1/chat/completions' }, 403);
inner('a prefix of an allowed path', { path => '/v1/chat' }, 403);
inner('DELETE', { path => '/v1/models', method => 'DELETE', body => undef },
      405);
inner('GET /v1/models', { path => '/v1/models', method => 'GET',
                          body => undef }, 200, 1);
inner('with a query', { path => '/v1/models?limit=2', method => 'GET',
                        body => undef }, 200, 1);
is($t->mock_requests->[0]{url}, '/v1/models?limit=2',
   'the query reaches the model server');

# inner headers: a short allow-list
$t->mock_reset;
$r = client($t, 'term', { %req, mode => 'chunked',
    headers => { 'content-type' => 'application/json',
                 'authorization' => 'Bearer model-key-7',
                 'cookie' => 'session=private-3e', 'x-user' => 'alice-9f',
                 'openai-organization' => 'org-1' } });
is($r->{inner}{status}, 200, 'a request with headers is answered');
my $h = $t->mock_requests->[0]{headers};
is($h->{authorization}, 'Bearer model-key-7', 'authorization is forwarded');
is($h->{'openai-organization'}, 'org-1', 'openai-organization too');
ok(!exists $h->{cookie}, 'cookie is not');
ok(!exists $h->{'x-user'}, 'nor an unknown header');
ok(!exists $h->{'content-length'} || $h->{'content-length'} == length $chat,
   'the length is the inner body\'s');

# configured allow-lists
$t->nginx(term => terminator_spec($t, open => 'allow=/v1/models,/v1/x/*'
                                             . ' headers=x-user'));
inner('allow= narrows', { path => '/v1/chat/completions' }, 403);
inner('a prefix entry', { path => '/v1/x/anything', method => 'GET',
                          body => undef }, 404, 1);
$t->mock_reset;
client($t, 'term', { %req, path => '/v1/models', method => 'GET',
                     body => undef, headers => { 'x-user' => 'bob' } });
is($t->mock_requests->[0]{headers}{'x-user'}, 'bob',
   'headers= adds to the inner header allow-list');

$t->done;
