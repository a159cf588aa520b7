# confer-attest inspect doc: an attestation document as parsed, labelled
# unverified: the evidence fields, the certificates, the collateral (what
# it says about its own validity, the TCB recovery date) and each GPU's
# report with whether it answered the nonce the document's keys call for.
# It exits 0 for any document that parses, however wrong it is (that is
# what verify doc is for), and 2 for what is not a document.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use MIME::Base64;
use Confer::CLI;

my $tmp = tmp_dir();
my $json = JSON::PP->new->utf8->canonical;

my ($rc, $j, $out, $err) = run('simulate', 'init', "$tmp/sim");
is($rc, 0, 'a simulated platform') or diag($err);

my $c = pack('C n', 7, 0x20) . ("\x42" x 32) . pack('n n n n n', 8, 1, 1, 1, 3);
my $keys = tmp_file('keys', pack('n', length $c) . $c);

($rc, $j, $out) = run('simulate', 'doc', "$tmp/sim", '--keys', $keys,
                      '--gpus', '2');
my $doc = tmp_file('doc.json', $out);

($rc, $j, $out, $err) = run('inspect', 'doc', $doc);
is($rc, 0, 'inspect doc: exit 0') or diag($err);
is($j->{verified}, JSON::PP::false, 'labelled "verified": false');
like($j->{note}, qr/nothing here is verified/, 'and saying so in words');
is($j->{platform}, 'simulated', 'platform');
is_deeply($j->{ohttp_keys}{key_ids}, [7], 'the key ids of ohttp_keys');
is($j->{evidence}{report_data}, $j->{binding}, 'the evidence\'s '
   . 'report_data, and the binding the keys call for');
is($j->{report_data_matches}, JSON::PP::true, 'which match');
is_deeply($j->{evidence}{tcb}{reported}, { bootloader => 1, tee => 0,
          snp => 1, microcode => 1, fmc => 0 }, 'the reported TCB');
is_deeply([ map { $_->{subject} } @{ $j->{certs} } ],
          [ 'SIMULATED SEV-VCEK', 'SIMULATED confer root' ],
          'the certificates, by subject');
is($j->{gpus}{devices_listed}, 2, 'two GPU devices listed');
my $g = $j->{gpus}{devices}[0];
is($g->{request}{nonce}, $j->{gpu_nonce}, 'each asked with the GPU nonce');
is($g->{nonce_matches}, JSON::PP::true, 'said plainly');
is($g->{certificate}, 'SIMULATED GH100 A01 GSP FMC LF', 'its leaf');
is($g->{chain_length}, 5, 'a chain of five');
ok($g->{driver} && $g->{vbios} && length($g->{fwid} // '') == 96,
   'driver, VBIOS and FWID as the report claims them');

# the same pieces under other keys: nothing matches, and inspect still
# shows it all (verify doc refuses it)
my $d = $json->decode($out = do { local $/; open my $fh, '<', $doc; <$fh> });
my $k2 = pack('C n', 8, 0x20) . ("\x43" x 32) . pack('n n n', 4, 1, 1);
$d->{ohttp_keys} = encode_base64(pack('n', length $k2) . $k2, '');
my $other = tmp_file('other.json', $json->encode($d));
($rc, $j) = run('inspect', 'doc', $other);
is($rc, 0, 'a document whose keys were swapped: inspect exits 0');
is($j->{report_data_matches}, JSON::PP::false, 'report_data does not '
   . 'match');
is($j->{gpus}{devices}[0]{nonce_matches}, JSON::PP::false, 'nor the GPU '
   . 'nonce');
($rc, $j) = run('verify', 'doc', $other, '--policy',
                tmp_file('p.json', '{"platforms":[],"allow_simulated":true,'
                              . '"simulated_root":"' . "$tmp/sim/sim-root.pem"
                              . '"}'));
is($rc, 1, 'verify doc refuses it');
is($j->{error}, 'report_data_mismatch', 'report_data_mismatch');

($rc, $j, $out, $err) = run('inspect', 'doc', tmp_file('junk', "{}\n"));
is($rc, 2, 'not a document: exit 2');
is($j->{error}, 'bad_document', 'bad_document');
like($err, qr/not an attestation document/, 'said on stderr');

# --- TDX with Intel's collateral --------------------------------------------

my $v = vectors_dir() . '/tdx';
SKIP: {
    skip("no TDX vectors in $v (set CONFER_VECTORS)", 9)
        unless -f "$v/gotdxguest_quote_v5_sample.dat";

    my $b = sub { local $/; open my $fh, '<', "$v/$_[0]" or die;
                  binmode $fh; encode_base64(<$fh>, '') };
    my $tdx = tmp_file('tdx.json', $json->encode({
        version => 1, platform => 'tdx', not_after => 1900000000,
        ohttp_keys => encode_base64(pack('n', length $c) . $c, ''),
        evidence => $b->('gotdxguest_quote_v5_sample.dat'), certs => [],
        collateral => {
            tcb_info => $b->('tinfoil_tcb_info_90c06f000000.json'),
            qe_identity => $b->('tinfoil_qe_identity.json'),
            tcb_signing_chain =>
                $b->('tinfoil_tcb_info_issuer_chain_urlencoded.txt'),
            pck_crl => $b->('tinfoil_pck_crl_platform.crl'),
            root_crl => $b->('tinfoil_root_ca.crl') } }));

    ($rc, $j, $out, $err) = run('inspect', 'doc', $tdx);
    is($rc, 0, 'TDX: inspect doc exits 0') or diag($err);
    is($j->{evidence}{version}, 5, 'TDX: the quote, version 5');
    is($j->{report_data_matches}, JSON::PP::false,
       'TDX: a real quote does not bind our keys');
    my $col = $j->{collateral};
    is($col->{tcb_info}{fmspc}, '90c06f000000', 'TDX: the TCB Info\'s FMSPC');
    is($col->{tcb_info}{next_update}, '2026-02-11T15:46:45Z',
       'TDX: its nextUpdate');
    is($col->{tcb_info}{tcb_recovery_date}, '2024-11-13T00:00:00Z',
       'TDX: the TCB recovery date (the newest UpToDate level)');
    is($col->{qe_identity}{next_update}, '2026-02-11T16:03:13Z',
       'TDX: the QE Identity\'s nextUpdate');
    is($col->{pck_crl}{issuer}, 'Intel SGX PCK Platform CA',
       'TDX: the PCK CRL\'s issuer');
    is($col->{root_crl}{revoked}, 0, 'TDX: the root CRL lists none');
}

done_testing();
