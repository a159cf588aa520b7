# confer-attest verify gpu, inspect gpu, simulate gpu and documents with
# GPU evidence, as scripts use them: one JSON object on stdout, exit 0
# accepted, 1 rejected, 2 usage or input error.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Confer::CLI;

my $tmp = tmp_dir();

my $n931 = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb';
my $v = vectors_dir() . '/nvidia';

SKIP: {
    skip "no NVIDIA vectors in $v (set CONFER_VECTORS)", 1
        unless -f "$v/nvtrust_hopperCertChain.txt";

    # one report (hex text) and its chain
    my ($rc, $j, $out, $err) = run('verify', 'gpu',
        "$v/nvtrust_hopperAttestationReport.txt",
        '--certs', "$v/nvtrust_hopperCertChain.txt", '--nonce', $n931);
    is($rc, 0, 'verify gpu: accepted') or diag($out, $err);
    ok($j->{ok}, 'verify gpu: ok');
    is($j->{platform}, 'nvidia-gpu', 'verify gpu: platform');
    is($j->{device}, 'gpu', 'verify gpu: device');
    is($j->{model}, 'GH100 A01', 'verify gpu: model');
    is($j->{driver}, '550.90.07', 'verify gpu: driver');
    is($j->{vbios}, '96.00.9F.00.01', 'verify gpu: vbios');
    is($j->{fwid}, 'f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d',
       'verify gpu: fwid');
    is(scalar keys %{$j->{measurements}}, 64, 'verify gpu: 64 measurements');
    is($j->{measurements}{2}, '8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338',
       'verify gpu: measurement 2');
    ok(!exists $j->{error}, 'verify gpu: no error');
    like($out, qr/^\{"ok":true/, 'ok comes first, as in the other verify commands');

    # the same report as binary
    my $bin = tmp_file('report.bin', pack('H*', do {
        local (@ARGV, $/) = "$v/nvtrust_hopperAttestationReport.txt"; <> =~ s/\s+//gr }));
    ($rc, $j) = run('verify', 'gpu', $bin,
        '--certs', "$v/nvtrust_hopperCertChain.txt", '--nonce', $n931);
    is($rc, 0, 'verify gpu: a binary report too');

    # rejections: exit 1 with the reason
    ($rc, $j) = run('verify', 'gpu',
        "$v/nvatsdk_hopperAttestationReportInvalidSignature.txt",
        '--certs', "$v/nvatsdk_hopperCertChain.txt", '--nonce', $n931);
    is_deeply([$rc, $j->{ok}, $j->{error}], [1, JSON::PP::false, 'bad_signature'],
              'verify gpu: the invalid-signature report');
    ok(!defined $j->{platform} && !defined $j->{measurements},
       'verify gpu: nothing proven from a rejection');

    (my $other = $n931) =~ s/^93/94/;
    ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_hopperAttestationReport.txt",
        '--certs', "$v/nvtrust_hopperCertChain.txt", '--nonce', $other);
    is_deeply([$rc, $j->{error}], [1, 'gpu_nonce_mismatch'],
              'verify gpu: another nonce');

    for my $case ([2, 'missing_certificate'], [3, 'bad_chain'],
                  [4, 'missing_certificate']) {
        ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_hopperAttestationReport.txt",
            '--certs', "$v/trustee_hopper_cert_chain_case$case->[0].txt",
            '--nonce', $n931);
        is_deeply([$rc, $j->{error}], [1, $case->[1]],
                  "verify gpu: trustee chain case $case->[0], $case->[1]");
    }

    # NVIDIA's evidence JSON: every device
    my $n4760 = '4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e';
    ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_ppcie_gpu_evidence.json",
                    '--nonce', $n4760);
    is($rc, 0, 'verify gpu: eight GPUs of one HGX');
    is_deeply([$j->{gpus}, $j->{switches}, scalar @{$j->{devices}}], [8, 0, 8],
              'verify gpu: 8 GPUs, 0 NVSwitches, 8 device entries');
    is(scalar(grep { $_->{ok} && $_->{driver} eq '590.12' } @{$j->{devices}}),
       8, 'verify gpu: each entry verified, driver 590.12');
    ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_ppcie_switch_evidence.json",
                    '--nonce', $n4760);
    is_deeply([$rc, $j->{gpus}, $j->{switches}], [0, 0, 4],
              'verify gpu: four NVSwitches');
    is($j->{devices}[0]{device}, 'nvswitch', 'verify gpu: an nvswitch entry');

    # the policy on GPUs
    ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_ppcie_gpu_evidence.json",
        '--nonce', $n4760, '--policy',
        tmp_file('p1.json', '{"gpu": {"count": 8, "driver_min": "590.12"}}'));
    is($rc, 0, 'verify gpu --policy: count 8, driver_min 590.12');
    ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_ppcie_gpu_evidence.json",
        '--nonce', $n4760, '--policy',
        tmp_file('p2.json', '{"gpu": {"driver_min": "590.13"}}'));
    is_deeply([$rc, $j->{error}], [1, 'gpu_driver_too_old'],
              'verify gpu --policy: driver_min 590.13');
    ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_ppcie_switch_evidence.json",
        '--nonce', $n4760, '--policy',
        tmp_file('p3.json', '{"gpu": {"allow_switch": false}}'));
    is_deeply([$rc, $j->{error}], [1, 'gpu_switch_not_allowed'],
              'verify gpu --policy: no NVSwitches');

    # a wrong nonce fails every entry; the first reason is the answer
    ($rc, $j) = run('verify', 'gpu', "$v/nvtrust_ppcie_gpu_evidence.json",
                    '--nonce', $n931);
    is_deeply([$rc, $j->{error}, scalar(grep { !$_->{ok} } @{$j->{devices}})],
              [1, 'gpu_nonce_mismatch', 8], 'verify gpu: evidence JSON, '
              . 'another nonce');

    # usage errors: exit 2
    ($rc) = run('verify', 'gpu', "$v/nvtrust_hopperAttestationReport.txt",
                '--certs', "$v/nvtrust_hopperCertChain.txt");
    is($rc, 2, 'verify gpu without --nonce: usage');
    ($rc) = run('verify', 'gpu', "$v/nvtrust_hopperAttestationReport.txt",
                '--nonce', $n931);
    is($rc, 2, 'verify gpu REPORT without --certs: usage');
    ($rc) = run('verify', 'gpu', "$v/nvtrust_hopperAttestationReport.txt",
                '--certs', "$v/nvtrust_hopperCertChain.txt", '--nonce', 'abc');
    is($rc, 2, 'verify gpu with a short nonce: usage');
    ($rc, $j) = run('verify', 'gpu', tmp_file('bad.json', '[{"x":1}]'),
                    '--nonce', $n931);
    is_deeply([$rc, $j->{error}], [2, 'malformed'],
              'verify gpu of broken evidence JSON: input error');

    # inspect: the fields, no verification
    ($rc, $j) = run('inspect', 'gpu', "$v/nvatsdk_switchAttestationReport.txt");
    is($rc, 0, 'inspect gpu: exit 0');
    is($j->{spdm_version}, '1.1', 'inspect gpu: SPDM 1.1');
    is($j->{request}{nonce}, $n931, 'inspect gpu: the requested nonce');
    is($j->{response}{blocks}, 31, 'inspect gpu: 31 blocks');
    is($j->{vbios}, '96.10.55.00.01', 'inspect gpu: the NVSwitch firmware');
    ok(exists $j->{opaque}{6} && !exists $j->{ok},
       'inspect gpu: the opaque fields by type, no verdict');
    ($rc, $j) = run('inspect', 'gpu',
                    "$v/nvatsdk_hopperAttestationReportInvalidSignature.txt");
    is($rc, 0, 'inspect gpu parses a report whose signature is bad');
    ($rc, $j) = run('inspect', 'gpu', "$v/nvatsdk_hopper_evidence.json");
    is_deeply([$rc, scalar @{$j->{devices}}, $j->{devices}[0]{arch}],
              [0, 1, 'HOPPER'], 'inspect gpu: an evidence JSON file');
    ($rc, $j) = run('inspect', 'gpu', "$v/nvtrust_hopperCertChain.txt");
    is_deeply([$rc, $j->{error}], [2, 'malformed'],
              'inspect gpu of a certificate chain: malformed, exit 2');
}

# the simulated GPU, end to end through documents
my ($rc, $j, $out, $err) = run('simulate', 'init', "$tmp/sim");
is($rc, 0, 'simulate init') or diag($err);
ok(-f "$tmp/sim/sim-gpu-ca.pem" && -f "$tmp/sim/sim-gpu-brom.key",
   'simulate init makes the simulated GPU chain');
is((stat "$tmp/sim/sim-gpu-brom.key")[2] & 0777, 0600,
   'the BROM key is mode 0600');

my $keys = tmp_file('keys', "\x01\x00\x20" . ("\x07" x 32) . "\x00\x04\x00\x01\x00\x01");
my $pol = tmp_file('sim.json', qq({"platforms": [], "allow_simulated": true,
    "simulated_root": "$tmp/sim/sim-root.pem", "gpu": {"count": 2}}));

($rc, $j, $out) = run('simulate', 'gpu', "$tmp/sim", '--nonce', $n931,
                      '--gpus', '2');
is($rc, 0, 'simulate gpu --gpus 2');
my $ev = tmp_file('gpu.json', $out);
my $list = decode_json($out);
is(scalar @$list, 2, 'two entries of NVIDIA-style evidence JSON');
is($list->[0]{nonce}, $n931, 'answering the nonce asked for');
ok(decode_base64_text($list->[0]{certificate}) =~ /SIMULATED|BEGIN/,
   'with a PEM chain');

($rc, $j) = run('verify', 'gpu', $ev, '--nonce', $n931);
is_deeply([$rc, $j->{error}], [1, 'unknown_root'],
          'simulated GPUs without a policy pinning the simulated root');
($rc, $j) = run('verify', 'gpu', $ev, '--nonce', $n931, '--policy', $pol);
is($rc, 0, 'and with it: accepted');
is($j->{devices}[0]{platform}, 'simulated-gpu', 'reported as simulated-gpu');

# documents with GPU evidence
($rc, $j, $out) = run('simulate', 'doc', "$tmp/sim", '--keys', $keys,
                      '--gpus', '2');
is($rc, 0, 'simulate doc --gpus 2');
my $doc = tmp_file('doc.json', $out);
ok(exists decode_json($out)->{gpu}, 'the document has a gpu member');
($rc, $j) = run('verify', 'doc', $doc, '--policy', $pol);
is($rc, 0, 'verify doc: the simulated document and its two bound GPUs');
is(scalar @{$j->{gpus}}, 2, 'verify doc: the GPU facts');
is($j->{gpus}[0]{driver}, '570.86.15', 'verify doc: a GPU driver');
like($j->{detail}, qr/GPU/, 'verify doc: the detail says so');

my $pol3 = tmp_file('sim3.json', qq({"platforms": [], "allow_simulated": true,
    "simulated_root": "$tmp/sim/sim-root.pem", "gpu": {"count": 3}}));
($rc, $j) = run('verify', 'doc', $doc, '--policy', $pol3);
is_deeply([$rc, $j->{error}], [1, 'gpu_count_too_low'],
          'verify doc: count 3 of 2');

# a document without GPUs, then GPU evidence for its nonce, then the same
# document (same keys and not_after) with that evidence: a terminator's
# steps
my $now = time();
($rc, $j, $out) = run('simulate', 'doc', "$tmp/sim", '--keys', $keys,
                      '--now', $now);
my $plain = tmp_file('plain.json', $out);
($rc, $j) = run('verify', 'doc', $plain, '--policy', $pol);
is_deeply([$rc, $j->{error}], [1, 'gpu_required'],
          'verify doc: GPU evidence required and absent');
($rc, $j) = run('verify', 'doc', $plain, '--policy', tmp_file('nogpu.json',
    qq({"platforms": [], "allow_simulated": true,
        "simulated_root": "$tmp/sim/sim-root.pem"})));
like($j->{gpu_nonce} // '', qr/^[0-9a-f]{64}$/,
     'verify doc: the GPU nonce the document binds');

($rc, $j, $out) = run('simulate', 'gpu', "$tmp/sim", '--nonce', $j->{gpu_nonce},
                      '--gpus', '2');
my $bound = tmp_file('bound.json', $out);
($rc, $j, $out) = run('simulate', 'doc', "$tmp/sim", '--keys', $keys,
                      '--gpu', $bound, '--now', $now);
($rc, $j) = run('verify', 'doc', tmp_file('doc2.json', $out), '--policy', $pol);
is($rc, 0, 'simulate doc --gpu FILE: evidence made for its nonce verifies')
    or diag(encode_json($j));
($rc, $j, $out) = run('simulate', 'doc', "$tmp/sim", '--keys', $keys,
                      '--gpu', $ev);
($rc, $j) = run('verify', 'doc', tmp_file('doc3.json', $out), '--policy', $pol);
is_deeply([$rc, $j->{error}], [1, 'gpu_nonce_mismatch'],
          'verify doc: GPU evidence for another nonce');

($rc) = run('simulate', 'doc', "$tmp/sim", '--keys', $keys, '--gpu', $ev,
            '--gpus', '1');
is($rc, 2, 'simulate doc: --gpu and --gpus exclude each other');
($rc) = run('simulate', 'gpu', "$tmp/sim");
is($rc, 2, 'simulate gpu without --nonce: usage');

# a directory made before simulated GPUs existed
system('cp', '-r', "$tmp/sim", "$tmp/old") == 0 or die;
unlink("$tmp/old/sim-gpu-ca.pem", "$tmp/old/sim-gpu-brom.key");
($rc, $j, $out, $err) = run('simulate', 'doc', "$tmp/old", '--keys', $keys);
is($rc, 0, 'an older simulated platform still makes documents');
($rc, $j, $out, $err) = run('simulate', 'gpu', "$tmp/old", '--nonce', $n931);
is($rc, 2, 'but no GPU evidence');
like($err, qr/not_supported/, 'and says why');

# no leaks, no invalid reads, with the certificate cache freed at exit
my $cli = cli_path();
SKIP: {
    skip 'valgrind is not installed', 2 unless -x '/usr/bin/valgrind';
    skip 'no NVIDIA vectors', 2 unless -f "$v/nvtrust_hopperCertChain.txt";
    for my $args (
        ['verify', 'gpu', "$v/nvtrust_ppcie_switch_evidence.json", '--nonce',
         '4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e'],
        ['verify', 'doc', $doc, '--policy', $pol],
    ) {
        my $vg = `valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99 $cli @$args 2>&1 >/dev/null`;
        is($? >> 8, 0, "valgrind: confer-attest $args->[0] $args->[1] is clean")
            or diag($vg);
    }
}

sub decode_base64_text {
    require MIME::Base64;
    return MIME::Base64::decode_base64($_[0]);
}

done_testing();
