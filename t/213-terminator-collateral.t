# collateral=DIR: vendor collateral from files an operator refreshes goes
# into the document, so that a gateway verifies it offline.  The simulated
# platform's CRL (ark_crl, signed by its root, as AMD's ARK signs its CRL)
# shows the whole path: in the document, verified from the document alone,
# re-read at every reload, a revocation in it refusing the document.  An
# SEV-SNP terminator (the fake configfs-tsm tree) also takes AMD's chain
# from ask_ark.pem.  Missing or bad files fail nginx -t naming the file.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64;
use POSIX qw(strftime);
use Confer::Test;
use Confer::Terminator;
use Confer::Collateral;

my $t = Confer::Test->new;
my $sim = sim_dir($t);
my $json = $t->json;
my $col = $t->prefix . '/collateral';
mkdir $col;

sub iso { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0])) }

sub doc {
    my ($name, $file) = @_;
    my $r = $t->request($name, 'GET /.well-known/confer-attestation');
    write_file($file, $r->body) if $file;
    return $r->status == 200 ? $json->decode($r->body) : undef;
}

sub verify {
    my ($file, @more) = @_;
    my ($rc, $out) = cli($t, 'verify', 'doc', $file, '--policy',
                         sim_policy($t), @more);
    return ($rc, eval { $json->decode($out) } || { raw => $out });
}

# --- the simulated platform: the root's CRL -------------------------------

my $current = sim_crl($t, $sim, 'current');
my $revoked = sim_crl($t, $sim, 'revoked', revoke => "$sim/sim-vcek.pem");
write_file("$col/ark_crl.pem", Confer::Test::read_file($current));

# a lifetime past the CRL's nextUpdate, to see the CRL end first
$t->nginx(term => terminator_spec($t, key => "collateral=$col lifetime=3d"));

my $file = $t->prefix . '/doc.json';
my $doc = doc('term', $file);
ok($doc, 'the document is served');
is_deeply([ keys %{ $doc->{collateral} // {} } ], [ 'root_crl' ],
          'it carries collateral.root_crl');
is(decode_base64($doc->{collateral}{root_crl}),
   Confer::Test::read_file($current), 'the file\'s bytes, unchanged');

my ($rc, $v) = verify($file);
is($rc, 0, 'it verifies from the document alone') or diag(explain($v));
is($v->{collateral_not_after}, iso(next_update($current)),
   'the CRL\'s nextUpdate bounds it (collateral_not_after)');
($rc, $v) = verify($file, '--now', next_update($current) + 60);
is($v->{error}, 'collateral_expired', 'past it: collateral_expired');

my $log = $t->log_slice('term', 'error', 0);
like($log, qr/\[notice\].*made, SIMULATED evidence, 1 collateral files from "\Q$col\E"/,
     'the log says the collateral went in');
like($log, qr/\[notice\].*the collateral in "\Q$col\E" is valid until \d+/,
     'and until when');

# an operator refreshes the files; a reload reads them again
write_file("$col/ark_crl.pem", Confer::Test::read_file($revoked));
ok($t->reload('term'), 'reload with a new CRL');
$doc = doc('term', $file);
is(decode_base64($doc->{collateral}{root_crl}),
   Confer::Test::read_file($revoked), 'the new CRL is in the new document');
($rc, $v) = verify($file);
is($v->{error}, 'revoked', 'the CRL lists the VCEK: refused as revoked');
like($t->log_slice('term', 'error', 0),
     qr/\[warn\].*the attestation document does not verify here: revoked/,
     'the terminator warns at once that gateways will refuse it');

# a file that went missing fails the reload; the old document stays
unlink "$col/ark_crl.pem";
my $from = $t->log_size('term', 'error');
ok(!$t->reload('term', undef, fail_ok => 1), 'a reload without the CRL '
   . 'fails');
like($t->log_slice('term', 'error', $from),
     qr/\[emerg\].*"confer_key" collateral=\Q$col\E: \Q$col\E\/ark_crl\.der: No such file or directory \(or ark_crl\.pem\)/,
     'naming the file');
is(doc('term')->{ohttp_keys}, $doc->{ohttp_keys},
   'the previous document is still served');

# --- nginx -t: missing and bad files ---------------------------------------

sub nginx_t_col {
    my ($dir, %files) = @_;
    mkdir $dir;
    write_file("$dir/$_", $files{$_}) for keys %files;
    return $t->nginx_t(terminator_spec($t, key => "collateral=$dir"));
}

my $p = $t->prefix;
my %bad = (
    'an empty directory' => [ "$p/empty", {},
        qr/\Q$p\E\/empty\/ark_crl\.der: No such file or directory/ ],
    'no directory' => [ "$p/nowhere", undef,
        qr/\Q$p\E\/nowhere\/ark_crl\.der: No such file/ ],
    'a CRL that is not one' => [ "$p/garbage",
        { 'ark_crl.der' => "not a CRL\n" },
        qr/\Q$p\E\/garbage\/ark_crl\.der: not a CRL \(DER or PEM\)/ ],
    'both forms' => [ "$p/both",
        { 'ark_crl.der' => 'x', 'ark_crl.pem' => 'y' },
        qr/ark_crl\.der and ark_crl\.pem both exist: keep one/ ],
    'an empty file' => [ "$p/zero", { 'ark_crl.pem' => '' },
        qr/ark_crl\.pem: not a file of 1 byte to 1 MiB/ ],
);

for my $name (sort keys %bad) {
    my ($dir, $files, $re) = @{ $bad{$name} };
    my ($ok, $msg) = $files ? nginx_t_col($dir, %$files)
                            : $t->nginx_t(terminator_spec($t,
                                              key => "collateral=$dir"));
    ok(!$ok, "$name: nginx -t fails");
    like($msg, qr/\[emerg\].*"confer_key" collateral=\Q$dir\E: .*$re/,
         "$name: naming the file") or diag($msg);
}

# --- SEV-SNP (the fake configfs-tsm tree): AMD's CRL and chain -------------

my $fake = Confer::Test::build_dir() . '/tools/fake-tsm';
SKIP: {
    skip("$fake is not built (make tools)", 8) unless -x $fake;

    my $root = $t->prefix . '/tsm';
    $t->spawn('tsm', [ $fake, $root, $sim ]);
    $t->wait_for(sub { -f "$root/ready" }, 'fake-tsm is ready');

    # as AMD KDS serves them: cert_chain (ASK, ARK) in PEM, crl in DER;
    # stand-ins here, the document carries whatever the files say
    my $other = $t->prefix . '/other';
    cli($t, 'simulate', 'init', $other);
    my $snp = "$p/snp";
    mkdir $snp;
    write_file("$snp/ask_ark.pem",
               Confer::Test::read_file("$other/sim-vcek.pem")
               . Confer::Test::read_file("$other/sim-root.pem"));
    system("openssl crl -in '$current' -outform DER -out '$snp/ark_crl.der'");

    my $spec = terminator_spec($t);
    $spec->{http} = "confer_key evidence=configfs-tsm tsm_root=$root "
                  . "collateral=$snp;\n";
    $t->nginx(snp => $spec);

    my $d = doc('snp');
    ok($d, 'SEV-SNP: the document is served');
    is($d->{platform}, 'sev-snp', 'SEV-SNP: platform');
    is(decode_base64($d->{collateral}{root_crl}),
       Confer::Test::read_file("$snp/ark_crl.der"),
       'SEV-SNP: ark_crl.der is collateral.root_crl');

    my @certs = map { decode_base64($_) } @{ $d->{certs} };
    my $der = sub { scalar qx{openssl x509 -in '$_[0]' -outform DER} };
    is(scalar @certs, 3, 'SEV-SNP: three certificates');
    ok($certs[0] eq $der->("$sim/sim-vcek.pem"), 'SEV-SNP: the host\'s VCEK '
       . 'first');
    ok($certs[1] eq $der->("$other/sim-vcek.pem")
       && $certs[2] eq $der->("$other/sim-root.pem"),
       'SEV-SNP: then ask_ark.pem\'s, in place of the host\'s');

    # without ask_ark.pem the host's chain stays
    unlink "$snp/ask_ark.pem";
    ok($t->reload('snp'), 'SEV-SNP: reload without ask_ark.pem');
    is(scalar @{ doc('snp')->{certs} }, 2, 'SEV-SNP: the host\'s two '
       . 'certificates');
}

$t->done;
