# gpu=simulated:N: the terminator asks N SIMULATED GPUs for evidence with
# the nonce derived from its document's report_data and puts it in the
# document's "gpu" member; the document then verifies with
# `confer-attest verify doc` under a policy that requires that many GPUs,
# and not under one that requires more.  Wrong uses fail nginx -t.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256_hex sha512);
use MIME::Base64;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new;
my $sim = sim_dir($t);
my $json = $t->json;

sub policy {
    my ($name, $gpu) = @_;
    my $f = $t->prefix . "/$name.json";
    open my $fh, '>', $f or die "$f: $!";
    print $fh $json->encode({ platforms => [],
                              allow_simulated => JSON::PP::true,
                              simulated_root => "$sim/sim-root.pem",
                              $gpu ? (gpu => $gpu) : () });
    close $fh;
    return $f;
}

sub fetch_doc {
    my ($name, $file) = @_;
    my $r = $t->request($name, 'GET /.well-known/confer-attestation');
    is($r->status, 200, "$name: the document is served");
    open my $fh, '>', $file or die "$file: $!";
    print $fh $r->body;
    close $fh;
    return $json->decode($r->body);
}

# the nonce the GPUs must have answered: from the document alone
sub gpu_nonce {
    my ($doc) = @_;
    my $rd = sha512("confer-attestation/v1\0" . pack('Q>', $doc->{not_after})
                    . decode_base64($doc->{ohttp_keys}));
    return sha256_hex("confer-gpu/v1\0" . $rd);
}

$t->nginx(term => terminator_spec($t, key => 'gpu=simulated:2 lifetime=1h'));

my $file = $t->prefix . '/doc.json';
my $doc = fetch_doc('term', $file);

is(ref $doc->{gpu}, 'ARRAY', 'the document has a "gpu" member');
is(scalar @{ $doc->{gpu} }, 2, 'with two devices');
is_deeply([ sort keys %{ $doc->{gpu}[0] } ],
          [ qw(arch certificate evidence nonce) ],
          'each as NVIDIA\'s tools write it');
my $nonce = gpu_nonce($doc);
is($_->{nonce}, $nonce, 'answering SHA-256("confer-gpu/v1" || 0 || '
   . 'report_data)') for @{ $doc->{gpu} };
like(decode_base64($doc->{gpu}[0]{certificate}), qr/BEGIN CERTIFICATE/,
     'with its PEM chain');

my $two = policy('gpu-two', { required => JSON::PP::true, count => 2 });
my ($rc, $out) = cli($t, 'verify', 'doc', $file, '--policy', $two);
is($rc, 0, 'verify doc accepts it under a policy requiring two GPUs')
    or diag($out);
my $v = eval { $json->decode($out) } || {};
is($v->{gpu_nonce}, $nonce, 'the verifier derives the same nonce');
is(scalar @{ $v->{gpus} // [] }, 2, 'two GPUs verified');
is($v->{gpus}[0]{platform}, 'simulated-gpu', 'and they say SIMULATED');
like($v->{detail} // '', qr/with bound GPU evidence/, 'bound to the keys');

my $three = policy('gpu-three', { count => 3 });
($rc, $out) = cli($t, 'verify', 'doc', $file, '--policy', $three);
is($rc, 1, 'a policy requiring three refuses it');
like($out, qr/"error":"gpu_count_too_low"/, 'gpu_count_too_low');

like($t->log_slice('term', 'error', 0),
     qr/\[notice\].*key id \d+ made, SIMULATED evidence, 2 SIMULATED GPUs and 0 NVSwitches/,
     'the error log says what the document holds');
unlike($t->log_slice('term', 'error', 0), qr/does not verify here/,
       'and that it verifies');

# every reload: new keys, a new report_data, a new nonce the GPUs answer
ok($t->reload('term'), 'reload');
my $doc2 = fetch_doc('term', $t->prefix . '/doc2.json');
isnt(gpu_nonce($doc2), $nonce, 'a reload makes a new nonce');
is($doc2->{gpu}[0]{nonce}, gpu_nonce($doc2), 'which the GPUs answer');
($rc, $out) = cli($t, 'verify', 'doc', $t->prefix . '/doc2.json',
                  '--policy', $two);
is($rc, 0, 'and it verifies') or diag($out);

# the same terminator without gpu=: a policy requiring GPUs fails closed
$t->nginx(plain => terminator_spec($t));
my $plain = fetch_doc('plain', $t->prefix . '/plain.json');
ok(!exists $plain->{gpu}, 'without gpu= the document has no "gpu"');
($rc, $out) = cli($t, 'verify', 'doc', $t->prefix . '/plain.json',
                  '--policy', $two);
is($rc, 1, 'which a GPU-requiring policy refuses');
like($out, qr/"error":"gpu_required"/, 'gpu_required');

# --- wrong uses -------------------------------------------------------------

my %bad = (
    'simulated GPUs with real CPU evidence' =>
        [ "confer_key evidence=configfs-tsm gpu=simulated:2;",
          qr/"confer_key": gpu=simulated:2 goes with simulated=DIR only/ ],
    'no GPUs' =>
        [ "confer_key simulated=$sim gpu=simulated:0;",
          qr/invalid GPU count in "gpu=simulated:0" of "confer_key" \(1 to 16\)/ ],
    'too many GPUs' =>
        [ "confer_key simulated=$sim gpu=simulated:17;",
          qr/invalid GPU count in "gpu=simulated:17"/ ],
    'an unknown source' =>
        [ "confer_key simulated=$sim gpu=nvml;",
          qr/invalid parameter "gpu=nvml" in "confer_key" \(gpu=command:PATH/ ],
    'a relative command' =>
        [ "confer_key simulated=$sim gpu=command:bin/tool;",
          qr/"gpu=command:bin\/tool" in "confer_key" needs an absolute path/ ],
    'gpu= twice' =>
        [ "confer_key simulated=$sim gpu=simulated gpu=simulated:2;",
          qr/invalid parameter "gpu=simulated:2" in "confer_key"/ ],
    'a bad timeout' =>
        [ "confer_key simulated=$sim gpu=simulated gpu_timeout=soon;",
          qr/invalid parameter "gpu_timeout=soon" in "confer_key"/ ],
);

for my $name (sort keys %bad) {
    my ($http, $re) = @{ $bad{$name} };
    my ($ok, $msg) = $t->nginx_t({ http => $http,
                                   server => 'location / { return 204; }' });
    ok(!$ok, "$name: nginx -t fails");
    like($msg, qr/\[emerg\].*$re/, "$name: saying why") or diag($msg);
}

$t->done;
