# confer-attest verify sev-snp and inspect sev-snp, as scripts use them:
# one JSON object on stdout, exit 0 accepted, 1 rejected, 2 usage/input.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Confer::CLI;

my $v = vectors_dir() . '/sev-snp';
plan skip_all => "no SEV-SNP vectors in $v (set CONFER_VECTORS)"
    unless -f "$v/amd_ask_ark_milan.pem";

my $tmp = tmp_dir();

my $now = '2026-06-01T00:00:00Z';

# every real positive vector (ATTESTATION-VECTORS.md 2.2)
my @pos = (
  ['mstav_milan_report_v3.bin', ['mstav_milan_vcek.pem', 'amd_ask_ark_milan.pem'],
   3, 'Milan', '5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1',
   '00' x 64, { bootloader => 4, tee => 0, snp => 24, microcode => 219, fmc => 0 }],
  ['virteesev_milan_report_v2.bin', ['virteesev_milan_vcek.der', 'amd_ask_ark_milan.pem'],
   2, 'Milan', '7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f',
   'd447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd',
   { bootloader => 3, tee => 0, snp => 8, microcode => 115, fmc => 0 }],
  ['trustee_test-report.bin', ['trustee_test-vcek.der', 'amd_ask_ark_milan.pem'],
   2, 'Milan', 'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c',
   'ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2' . '00' x 32, undef],
  ['trustee_azure_milan_report_v2_from_hcl.bin', ['../azure/trustee_azsnp_vcek.pem'],
   2, 'Milan', '9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315',
   undef, undef],
  ['trustee_azure_genoa_report_v3_from_hcl.bin', ['../azure/trustee_azsnp_vcek-genoa.pem', 'amd_ask_ark_genoa.pem'],
   3, 'Genoa', 'f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae',
   undef, { bootloader => 10, tee => 0, snp => 23, microcode => 84, fmc => 0 }],
  ['mstav_genoa_report_v3.bin', ['mstav_genoa_vcek.pem', 'amd_ask_ark_genoa.pem'],
   3, 'Genoa', '5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1',
   '00' x 64, undef],
  ['teekit_sev-gcp.bin', ['teekit_sev-gcp-vcek.pem', 'amd_ask_ark_milan.pem'],
   5, 'Milan', 'b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3',
   '00' x 64, undef],
  ['teekit_sev-gcp-reportdata.bin', ['teekit_sev-gcp-vcek.pem', 'amd_ask_ark_milan.pem'],
   5, 'Milan', 'b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3',
   '32fc4f6c1971cbf91566231f8d6153eeb9d093aa94306cb48d39bcc4861a3d395f149876a37bc91332fe493f46294fd135d5b95d363ae96352b8c45f906079f5',
   { bootloader => 4, tee => 0, snp => 27, microcode => 222, fmc => 0 }],
  ['mstav_turin_report_v5.bin', ['mstav_turin_vcek.pem', 'amd_ask_ark_turin_vcek.pem'],
   5, 'Turin', '6d6c354511d6f7c6d7504668903dc5bdc066a048b651840d8d03fb85299ebfa142fccf1d1b0baca496841bdf243619d4',
   '00' x 64, { bootloader => 1, tee => 1, snp => 4, microcode => 81, fmc => 1 }],
);

for my $p (@pos) {
    my ($report, $certs, $ver, $product, $m, $rd, $tcb) = @$p;
    my ($rc, $j, $raw) = run('verify', 'sev-snp', "$v/$report",
                             (map { ('--cert', "$v/$_") } @$certs),
                             '--now', $now);
    is($rc, 0, "$report: exit 0") or diag($raw);
    ok($j && $j->{ok}, "$report: ok true");
    is($j->{platform}, 'sev-snp', "$report: platform");
    is($j->{version}, $ver, "$report: version $ver");
    is($j->{product}, $product, "$report: product $product");
    is($j->{measurement}, $m, "$report: measurement");
    ok(!$j->{debug}, "$report: not debug");
    ok(!exists $j->{error}, "$report: no error");
    is($j->{report_data}, $rd, "$report: report_data") if defined $rd;
    is_deeply($j->{tcb}, $tcb, "$report: tcb") if defined $tcb;
}

# the debug guest: refused by the default policy, accepted when allowed
my @gosev = ('verify', 'sev-snp', "$v/gosevguest_milan_report_v2.bin",
             '--cert', "$v/gosevguest_milan_vcek.der",
             '--cert', "$v/amd_ask_ark_milan.pem", '--now', $now);
my ($rc, $j) = run(@gosev);
is($rc, 1, 'debug guest, default policy: exit 1');
is($j->{error}, 'debug_not_allowed', 'debug guest: debug_not_allowed');
ok($j->{debug}, 'debug guest: the facts are still shown');
($rc, $j) = run(@gosev, '--policy', tmp_file('debug.json', '{"allow_debug": true}'));
is($rc, 0, 'debug guest under allow_debug: exit 0');
is($j->{measurement}, 'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
   'debug guest: measurement');
is($j->{report_data}, '0102030405' . '00' x 59, 'debug guest: report_data');
is_deeply($j->{tcb}, { bootloader => 2, tee => 0, snp => 5, microcode => 68, fmc => 0 },
          'debug guest: tcb');

# --report-data
($rc, $j) = run(@gosev, '--policy', "$tmp/debug.json", '--report-data', '0102030405');
is($rc, 0, '--report-data matching (zero-padded)');
($rc, $j) = run(@gosev, '--policy', "$tmp/debug.json", '--report-data', '0102030406');
is($rc, 1, '--report-data differing: exit 1');
is($j->{error}, 'report_data_mismatch', '--report-data differing: report_data_mismatch');

# the VLEK (AWS): inside its validity, and now
my @vlek = ('verify', 'sev-snp', "$v/trustee_test-vlek-report.bin",
            '--cert', "$v/trustee_test-vlek.der",
            '--cert', "$v/amd_ask_ark_milan_vlek.pem");
($rc, $j) = run(@vlek, '--now', '2025-06-01');
is($rc, 0, 'VLEK at 2025-06-01: exit 0');
is($j->{signing_key}, 'vlek', 'VLEK: signing_key vlek');
is($j->{vmpl}, 1, 'VLEK: VMPL 1');
is($j->{measurement}, '8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0',
   'VLEK: measurement');
($rc, $j) = run(@vlek, '--now', '1748736000');
is($rc, 0, '--now as unix seconds');
($rc, $j) = run(@vlek, '--now', '2026-11-26T00:00:00+01:00');
is($rc, 1, 'VLEK after 2025-12-10: exit 1');
is($j->{error}, 'certificate_expired', 'VLEK after 2025-12-10: certificate_expired');
ok(!$j->{ok} && exists $j->{measurement} && !defined $j->{measurement},
   'a rejected report shows no unproven facts');

# negatives
($rc, $j) = run('verify', 'sev-snp', "$v/trustee_test-report.bin",
                '--cert', "$v/trustee_test-vcek-invalid-new.der",
                '--cert', "$v/amd_ask_ark_milan.pem", '--now', $now);
is_deeply([$rc, $j->{error}], [1, 'bad_chain'], 'synthetic VCEK: bad_chain');
($rc, $j) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin",
                '--cert', "$v/mstav_milan_vcek.pem",
                '--cert', "$v/amd_ask_ark_genoa.pem", '--now', $now);
is_deeply([$rc, $j->{error}], [1, 'bad_chain'], 'Milan VCEK with the Genoa ASK: bad_chain');
($rc, $j) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin", '--now', $now);
is_deeply([$rc, $j->{error}], [1, 'missing_certificate'], 'no --cert: missing_certificate');
($rc, $j) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin",
                '--cert', "$v/virteesev_milan_vcek.der",
                '--cert', "$v/amd_ask_ark_milan.pem", '--now', $now);
is_deeply([$rc, $j->{error}], [1, 'bad_signature'], "another chip's VCEK: bad_signature");

my $sub = tmp_file('genoa.json', '{"sev-snp": {"products": ["Genoa"]}}');
($rc, $j) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin",
                '--cert', "$v/mstav_milan_vcek.pem",
                '--cert', "$v/amd_ask_ark_milan.pem", '--now', $now,
                '--policy', $sub);
is_deeply([$rc, $j->{error}], [1, 'product_not_allowed'], 'policy Genoa only: product_not_allowed');
ok($j->{detail}, 'a rejection has a detail string');

# usage and input errors: exit 2
my ($out, $err);
($rc, $j, $out, $err) = run('verify', 'sev-snp', "$tmp/absent.bin");
is($rc, 2, 'an unreadable report: exit 2');
like($err, qr/absent\.bin/, 'and the message names it');
($rc, $j) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin",
                '--policy', tmp_file('typo.json', '{"alow_debug": true}'));
is($rc, 2, 'a policy with a typo: exit 2');
is($j->{error}, 'bad_policy', 'a policy with a typo: bad_policy');
($rc, $j, $out, $err) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin",
                            '--policy', "$tmp/none.json");
is_deeply([$rc, $j->{error}], [2, 'bad_policy'], 'a missing policy: bad_policy');
like($err, qr/none\.json/, 'the message names the policy file');
($rc) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin", '--now', 'yesterday');
is($rc, 2, 'a bad --now: exit 2');
($rc) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin", '--report-data', 'xyz');
is($rc, 2, 'a bad --report-data: exit 2');
($rc) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin", '--frobnicate', 'x');
is($rc, 2, 'an unknown option: exit 2');
($rc) = run('verify', 'sgx', 'x');
is($rc, 2, 'an unknown platform: exit 2');
($rc, $j) = run('verify', 'tdx', "$v/mstav_milan_report_v3.bin");
if (-f "$FindBin::Bin/../attest/attest_tdx.h") {
    is($rc, 1, 'verify tdx of an SNP report: exit 1');
} else {
    is_deeply([$rc, $j->{ok}, $j->{error}], [2, JSON::PP::false, 'not_supported'],
              'verify tdx is not built in yet: exit 2, not_supported');
}

# --crl: offline revocation by the ARK's CRL; a CRL the ARK did not sign
# (Intel's root CA CRL here) is refused, so it was checked
my $crl = vectors_dir() . '/tdx/tinfoil_root_ca.crl';
SKIP: {
    skip 'no TDX vectors for a foreign CRL', 2 unless -f $crl;
    ($rc, $j) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin",
                    '--cert', "$v/mstav_milan_vcek.pem",
                    '--cert', "$v/amd_ask_ark_milan.pem", '--crl', $crl,
                    '--now', $now);
    is_deeply([$rc, $j->{error}], [1, 'bad_crl'],
              '--crl with a CRL the ARK did not sign: bad_crl');
    ($rc) = run('verify', 'sev-snp', "$v/mstav_milan_report_v3.bin",
                '--cert', "$v/mstav_milan_vcek.pem",
                '--cert', "$v/amd_ask_ark_milan.pem", '--crl', "$v/absent",
                '--now', $now);
    is($rc, 2, '--crl of a missing file: exit 2');
}

# inspect: the parsed fields, no verification
($rc, $j) = run('inspect', 'sev-snp', "$v/mstav_turin_report_v5.bin");
is($rc, 0, 'inspect: exit 0');
is($j->{version}, 5, 'inspect: version');
is($j->{product}, 'Turin', 'inspect: product from cpuid');
is_deeply($j->{cpuid}, { family => 0x1a, model => 2, stepping => 1 }, 'inspect: cpuid');
is($j->{chip_id}, '59790fb1c39f35c1' . '00' x 56, 'inspect: chip_id');
is($j->{policy}, '0x3001f', 'inspect: guest policy');
is_deeply($j->{tcb}{reported}, { fmc => 1, bootloader => 1, tee => 1, snp => 4, microcode => 81 },
          'inspect: Turin reported TCB');
is($j->{launch_mit_vector}, '0x3f', 'inspect: v5 mitigation vector');
($rc, $j) = run('inspect', 'sev-snp', "$v/amd_ask_ark_milan.pem");
is_deeply([$rc, $j->{error}], [1, 'malformed'], 'inspect of a PEM file: malformed');

done_testing();
