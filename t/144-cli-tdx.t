# confer-attest inspect tdx and verify tdx: one JSON object on stdout;
# inspect exits 0 for a quote that parses and 2 (with the reason code) for
# anything else; verify exits 0 accepted, 1 rejected, 2 usage/input.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Confer::CLI;

my $v = vectors_dir() . '/tdx';
plan skip_all => "no TDX vectors in $v (set CONFER_VECTORS)"
    unless -f "$v/gotdxguest_quote_v5_sample.dat";

my $tmp = tmp_dir();

# ATTESTATION-VECTORS.md 3: the v5 sample (body type 3)
my ($rc, $j, $out, $err) = run('inspect', 'tdx',
                               "$v/gotdxguest_quote_v5_sample.dat");
is($rc, 0, 'inspect tdx v5: exit 0') or diag($err);
is($j->{version}, 5, 'inspect tdx v5: version');
is($j->{body_type}, 3, 'inspect tdx v5: body type 3 (TDX 1.5)');
is($j->{td}{mrtd}, '7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876',
   'inspect tdx v5: mrtd');
is($j->{td}{report_data}, '945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a',
   'inspect tdx v5: report_data');
ok(defined $j->{td}{tee_tcb_svn2}, 'inspect tdx v5: the TDX 1.5 fields');
is($j->{pck}{fmspc}, '90c06f000000', 'inspect tdx v5: FMSPC from the PCK');
is($j->{qe_report}{isvsvn}, 7, 'inspect tdx v5: QE isvsvn');
ok(!exists $j->{ok}, 'inspect says nothing about validity');

# the v4 quote with 39 bytes of text after the signature data
($rc, $j) = run('inspect', 'tdx', "$v/gotdxguest_tdx_prod_quote_SPR_E4.dat");
is($rc, 0, 'inspect tdx v4 with trailing bytes: exit 0');
is($j->{td}{mrtd}, '6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb',
   'inspect tdx v4: mrtd');
is($j->{td}{td_attributes}, '0000004000000000', 'inspect tdx v4: attributes');
ok(!$j->{td}{debug}, 'inspect tdx v4: not debug');
is($j->{pck}{fmspc}, '50806f000000', 'inspect tdx v4: FMSPC');

($rc, $j) = run('inspect', 'tdx', "$v/trustee_tdx_quote_4.dat");
ok($j->{td}{debug}, 'inspect tdx: the trustee quote is a debug TD');

# not quotes: the reason code, exit 2
($rc, $j, $out, $err) = run('inspect', 'tdx', "$v/trustee_occlum_quote.dat");
is($rc, 2, 'inspect tdx of an SGX quote: exit 2');
is($j->{error}, 'not_tdx', 'inspect tdx of an SGX quote: not_tdx');
like($err, qr/not_tdx/, 'and stderr says why');

open(my $f, '>', "$tmp/short") or die;
print $f substr(do { local (@ARGV, $/) = "$v/trustee_tdx_quote_4.dat"; <> },
                0, 700);
close $f;
($rc, $j) = run('inspect', 'tdx', "$tmp/short");
is($rc, 2, 'inspect tdx of a truncated quote: exit 2');
is($j->{error}, 'malformed', 'inspect tdx of a truncated quote: malformed');

($rc, $j) = run('inspect', 'tdx', "$tmp/absent");
is($rc, 2, 'inspect tdx of a missing file: exit 2');

# verify tdx: the quote and its PCK chain at a time when all is valid
($rc, $j) = run('verify', 'tdx', "$v/gotdxguest_quote_v5_sample.dat",
                '--now', '2026-02-03');
is($rc, 0, 'verify tdx v5 without collateral: accepted');
is($j->{platform}, 'tdx', 'verify tdx: platform');
is($j->{fmspc}, '90c06f000000', 'verify tdx: FMSPC proven');
is($j->{tcb}{tcb_status}, '', 'verify tdx without collateral: no status');

# with the collateral (order of attest_tdx_collateral_t): the TCB status,
# when the collateral must be refreshed, when a grace period would start
($rc, $j) = run('verify', 'tdx', "$v/trustee_azure_td-quote.bin",
                '--collateral', "$v/teekit_tcbInfo-tdx-00806f050000.json",
                '--collateral', "$v/trustee_enclaveIdentity.json",
                '--collateral', "$v/intel_tcb_signing_chain_2025-2032.pem",
                '--now', '2025-10-28T12:00:00Z');
is($rc, 0, 'verify tdx with collateral: accepted without a policy');
is($j->{tcb}{tcb_status}, 'OutOfDate', 'verify tdx: OutOfDate');
is($j->{collateral_not_after}, '2025-10-29T18:04:58Z',
   'verify tdx: collateral_not_after, the TCB Info nextUpdate');
is($j->{tcb_recovery_date}, '2024-03-13T00:00:00Z',
   'verify tdx: the TCB recovery that outdated it');
my $pol = "$tmp/grace.json";
open(my $pf, '>', $pol) or die;
print $pf '{"tdx": {"tcb_status": ["UpToDate"], "out_of_date_grace": 31536000}}';
close $pf;
($rc, $j) = run('verify', 'tdx', "$v/trustee_azure_td-quote.bin",
                '--collateral', "$v/teekit_tcbInfo-tdx-00806f050000.json",
                '--collateral', "$v/trustee_enclaveIdentity.json",
                '--collateral', "$v/intel_tcb_signing_chain_2025-2032.pem",
                '--now', '2025-10-28T12:00:00Z', '--policy', $pol);
is_deeply([$rc, $j->{error}], [1, 'tcb_status_not_allowed'],
          'verify tdx: a year of grace is over 594 days after the recovery');

($rc, $j) = run('verify', 'tdx', "$v/gotdxguest_quote_v5_sample.dat",
                '--now', '2060-01-01');
is($rc, 1, 'verify tdx after the chain expired: rejected');
is($j->{error}, 'certificate_expired', 'verify tdx: certificate_expired');

done_testing();
