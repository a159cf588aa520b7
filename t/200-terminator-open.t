# The terminator in front of the MOCK model server, with simulated
# evidence: an independent client (@hpke/core, bhttp-js) checks the
# attestation document with confer-attest and sends OHTTP and chunked
# OHTTP requests, plain and streamed; answers are compared byte for byte
# with what the MOCK answers directly.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;
$t->nginx(term => terminator_spec($t));

# --- the attestation document ----------------------------------------------

my $docf = $t->prefix . '/doc.json';
my $d = client_doc($t, 'term', doc_out => $docf);
is($d->{status}, 200, 'the attestation document is served');
like($d->{headers}{'content-type'} // '', qr{^application/json},
     'as application/json');
is($d->{doc}{platform}, 'simulated', 'with simulated evidence');
ok($d->{doc}{not_after} > time && $d->{doc}{not_after} <= time + 3600 + 5,
   'not_after is start + lifetime');

my ($rc, $out) = cli($t, 'verify', 'doc', $docf, '--policy', sim_policy($t));
is($rc, 0, 'confer-attest verifies it against the pinned simulated root')
    or diag($out);
($rc, $out) = cli($t, 'verify', 'doc', $docf);
isnt($rc, 0, 'and the default policy refuses simulated evidence');

# --- requests -----------------------------------------------------------------

my $chat = '{"model":"mock-model","messages":[{"role":"user",'
         . '"content":"the secret prompt 8fd1"}]}';
my $want = mock_direct($t, 'POST', '/v1/chat/completions', $chat);

for my $mode (qw(plain chunked)) {
    for my $aead (1, 2, 3) {
        my $r = client($t, 'term', { mode => $mode, aead => $aead,
            method => 'POST', path => '/v1/chat/completions',
            headers => { 'content-type' => 'application/json' },
            body => $chat, split => [10, 0, 30] });
        my $tag = "$mode, aead $aead";
        is($r->{outer}{status}, 200, "$tag: outer 200") or diag(explain($r));
        is($r->{outer}{headers}{'content-type'},
           $mode eq 'plain' ? 'message/ohttp-res' : 'message/ohttp-chunked-res',
           "$tag: the OHTTP response type");
        is($r->{inner}{status}, 200, "$tag: inner 200");
        is(b64d($r->{inner}{body_b64}), $want->body,
           "$tag: the answer is the MOCK's, byte for byte");
        is($r->{inner}{headers}{'content-type'}, 'application/json',
           "$tag: inner content-type");
    }
}

my $reqs = $t->mock_requests;
my $last = $reqs->[-1];
is($last->{method}, 'POST', 'the model server got a POST');
is($last->{url}, '/v1/chat/completions', 'for the inner path');
is($last->{body}, $chat, 'with the inner body');
is($last->{headers}{'content-type'}, 'application/json',
   'and the inner content-type');
ok(!exists $last->{headers}{'incremental'}, 'and no outer header');

# GET /v1/models
my $r = client($t, 'term', { mode => 'plain', method => 'GET',
                             path => '/v1/models' });
is($r->{inner}{status}, 200, 'GET /v1/models');
is(b64d($r->{inner}{body_b64}), mock_direct($t, 'GET', '/v1/models')->body,
   'models list, byte for byte');

$t->done;
