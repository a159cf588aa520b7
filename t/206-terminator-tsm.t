# evidence=configfs-tsm against a fake configfs-tsm tree (t/tools/fake-tsm:
# FIFOs named like the kernel's attributes, SNP-layout reports signed by a
# simulated VCEK): the document carries the report made for the binding,
# the certificates of the host's table, and works end to end; every way
# the source can fail makes nginx -t fail, naming the directive.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha512);
use MIME::Base64;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new(npm => 1);
$t->start_mock;
my $sim = sim_dir($t);
my $fake = Confer::Test::build_dir() . '/tools/fake-tsm';
plan(skip_all => "$fake is not built (make tools)") unless -x $fake;

sub tsm {
    my ($name, @opt) = @_;
    my $root = $t->prefix . "/tsm-$name";
    $t->spawn("tsm-$name", [ $fake, $root, $sim, @opt ]);
    $t->wait_for(sub { -f "$root/ready" }, "fake-tsm $name is ready");
    return $root;
}

sub spec {
    my ($key) = @_;
    my $s = terminator_spec($t);
    $s->{http} = "confer_key evidence=configfs-tsm $key;\n";
    return $s;
}

my $root = tsm('good');
$t->nginx(term => spec("tsm_root=$root lifetime=1h"));

my $d = client_doc($t, 'term', doc_out => $t->prefix . '/doc.json');
is($d->{status}, 200, 'configfs-tsm: the document is served');
my $doc = $d->{doc};
is($doc->{platform}, 'sev-snp', 'platform sev-snp, from provider sev_guest');

my $keys = decode_base64($doc->{ohttp_keys});
my $report = decode_base64($doc->{evidence});
is(length $report, 0x4a0, 'the evidence is an SNP report');
my $binding = sha512("confer-attestation/v1\0"
                     . pack('Q>', $doc->{not_after}) . $keys);
is(unpack('H*', substr($report, 0x50, 64)), unpack('H*', $binding),
   'its report_data binds ohttp_keys and not_after');

my @der = map { decode_base64($_) } @{ $doc->{certs} };
is(scalar @der, 2, 'two certificates from the host\'s table');
my $vcek = `openssl x509 -in $sim/sim-vcek.pem -outform DER`;
my $ark = `openssl x509 -in $sim/sim-root.pem -outform DER`;
ok($der[0] eq $vcek, 'the VCEK first');
ok($der[1] eq $ark, 'then the ARK');

# signed by a simulated VCEK: a gateway's verifier takes it for what it
# is, no AMD chain
my ($rc, $out) = cli($t, 'verify', 'doc', $t->prefix . '/doc.json');
isnt($rc, 0, 'confer-attest refuses it as SEV-SNP evidence');
like($out, qr/"ok":false/, 'saying so') or diag($out);

my $chat = '{"model":"mock-model","messages":[{"role":"user",'
         . '"content":"tsm 31"}]}';
my $r = client($t, 'term', { mode => 'chunked', path => '/v1/chat/completions',
    body => $chat, headers => { 'content-type' => 'application/json' } });
is($r->{inner}{status}, 200, 'requests to its key are answered');

ok($t->reload('term'), 'a reload takes a new report');
my $d2 = client_doc($t, 'term');
isnt($d2->{doc}{evidence}, $doc->{evidence}, 'a new report');
isnt($d2->{doc}{ohttp_keys}, $doc->{ohttp_keys}, 'for a new key');

# certs=FILE when the host's table is empty
my $noaux = tsm('noaux', '--no-aux');
my ($ok, $msg) = $t->nginx_t(spec("tsm_root=$noaux"));
ok(!$ok, 'an empty auxblob without certs= fails nginx -t');
like($msg, qr/"confer_key" evidence=configfs-tsm.*certs=FILE/,
     'naming the directive and the way out');

my $pem = $t->prefix . '/chain.pem';
system("cat '$sim/sim-vcek.pem' '$sim/sim-root.pem' > '$pem'");
($ok, $msg) = $t->nginx_t(spec("tsm_root=$noaux certs=$pem"));
ok($ok, 'with certs=FILE it passes') or diag($msg);

# failures, each with its reason
my %bad = (
    'a missing tree'       => [ "tsm_root=" . $t->prefix . '/nowhere',
                                qr/mkdir .*nowhere.*No such file/ ],
    'a wrong report_data'  => [ 'tsm_root=' . tsm('wrong', '--wrong-data'),
                                qr/does not carry the report_data/ ],
    'an unknown provider'  => [ 'tsm_root=' . tsm('prov', '--provider',
                                                  'foo_guest'),
                                qr/provider "foo_guest" is not supported/ ],
    'a generation race'    => [ 'tsm_root=' . tsm('race', '--race'),
                                qr/another writer/ ],
    'a silent tree'        => [ 'tsm_timeout=1s tsm_root='
                                . do { my $s = tsm('silent');
                                       $t->stop_daemon('tsm-silent'); $s },
                                qr/no answer in time/ ],
);

for my $name (sort keys %bad) {
    my ($key, $re) = @{ $bad{$name} };
    ($ok, $msg) = $t->nginx_t(spec($key));
    ok(!$ok, "$name: nginx -t fails");
    like($msg, qr/\[emerg\].*"confer_key" evidence=configfs-tsm/,
         "$name: naming confer_key") or diag($msg);
    like($msg, $re, "$name: saying why");
}

$t->done;
