# The simulated platform through the CLI: simulate init, simulate doc, and
# verify doc with and without a policy that allows simulated evidence.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use MIME::Base64;
use Digest::SHA qw(sha256_hex sha512);
use Confer::CLI;

my $tmp = tmp_dir();
my $dir = "$tmp/sim";

my ($rc, $j, $out, $err) = run('simulate', 'init', $dir);
is($rc, 0, 'simulate init: exit 0') or diag($err);
for my $f (qw(sim-root.pem sim-root.key sim-vcek.pem sim-vcek.key)) {
    ok(-f "$dir/$f", "$f exists");
}
is((stat "$dir/sim-vcek.key")[2] & 0777, 0600, 'the leaf key is 0600');
is((stat "$dir/sim-root.key")[2] & 0777, 0600, 'the root key is 0600');
($rc) = run('simulate', 'init', $dir);
is($rc, 2, 'simulate init again refuses to overwrite: exit 2');

# a key configuration (RFC 9458, 3), as raw bytes
my $keys = pack('C n n', 1, 0x20, 0) . ("\x42" x 32) . pack('n n n', 4, 1, 1);
tmp_file('keys', $keys);

my $t0 = time;
($rc, $j, $out) = run('simulate', 'doc', $dir, '--keys', "$tmp/keys",
                      '--lifetime', '600', '--now', $t0);
is($rc, 0, 'simulate doc: exit 0');
is($j->{version}, 1, 'document version 1');
is($j->{platform}, 'simulated', 'platform simulated');
is($j->{not_after}, $t0 + 600, 'not_after = now + lifetime');
is(decode_base64($j->{ohttp_keys}), $keys, 'ohttp_keys are the given bytes');
is(scalar @{$j->{certs}}, 2, 'certs: leaf and root');
is(length(decode_base64($j->{evidence})), 0x4a0, 'evidence is an SNP-sized report');
tmp_file('doc.json', $out);

# the binding, computed here independently
my $binding = sha512("confer-attestation/v1\0" . pack('Q>', $t0 + 600) . $keys);
is(substr(decode_base64($j->{evidence}), 0x50, 64), $binding,
   'report_data = SHA-512(label, 0, u64be(not_after), ohttp_keys)');

($rc, $j) = run('verify', 'doc', "$tmp/doc.json", '--now', $t0);
is($rc, 1, 'verify doc without a policy: exit 1');
is($j->{error}, 'simulated_not_allowed', 'simulated_not_allowed');

my $allow = tmp_file('allow.json',
    '{"allow_simulated": true, "simulated_root": "sim/sim-root.pem"}');
($rc, $j, $out, $err) = run('verify', 'doc', "$tmp/doc.json", '--now', $t0,
                            '--policy', $allow);
is($rc, 0, 'verify doc, allowed, root by relative path: exit 0') or diag($out, $err);
ok($j->{ok}, 'ok true');
is($j->{platform}, 'simulated', 'platform simulated');
is(decode_base64($j->{ohttp_keys} // ''), $keys, 'the verified ohttp_keys');
is($j->{report_data}, unpack('H*', $binding), 'report_data is the binding');
is($j->{not_after}, $t0 + 600, 'not_after');

# pin by fingerprint
open(my $pem, '-|', 'openssl', 'x509', '-in', "$dir/sim-root.pem", '-outform', 'DER')
    or die;
binmode $pem;
local $/;
my $der = <$pem>;
close $pem;
my $fp = tmp_file('fp.json', '{"allow_simulated": true, '
                      . '"simulated_root": "sha256:' . sha256_hex($der) . '"}');
($rc, $j) = run('verify', 'doc', "$tmp/doc.json", '--now', $t0, '--policy', $fp);
is($rc, 0, 'root pinned by sha256: exit 0');

# another simulated root
run('simulate', 'init', "$tmp/other");
my $other = tmp_file('other.json',
    qq({"allow_simulated": true, "simulated_root": "$tmp/other/sim-root.pem"}));
($rc, $j) = run('verify', 'doc', "$tmp/doc.json", '--now', $t0, '--policy', $other);
is_deeply([$rc, $j->{error}], [1, 'unknown_root'], 'another root pinned: unknown_root');

# allowed but without a pin is a policy error
my $nopin = tmp_file('nopin.json', '{"allow_simulated": true}');
($rc, $j) = run('verify', 'doc', "$tmp/doc.json", '--now', $t0, '--policy', $nopin);
is_deeply([$rc, $j->{error}], [2, 'bad_policy'], 'allow_simulated without simulated_root: bad_policy');

# time
($rc, $j) = run('verify', 'doc', "$tmp/doc.json", '--now', $t0 + 601, '--policy', $allow);
is_deeply([$rc, $j->{error}], [1, 'document_expired'], 'past not_after: document_expired');

# tampering with the document
my $doc = decode_json(do { open(my $f, '<', "$tmp/doc.json"); local $/; <$f> });
$doc->{ohttp_keys} = encode_base64($keys . "\0", '');
tmp_file('bad.json', encode_json($doc));
($rc, $j) = run('verify', 'doc', "$tmp/bad.json", '--now', $t0, '--policy', $allow);
is_deeply([$rc, $j->{error}], [1, 'report_data_mismatch'], 'other ohttp_keys: report_data_mismatch');

$doc->{ohttp_keys} = encode_base64($keys, '');
$doc->{not_after} = $t0 + 6000;
tmp_file('bad.json', encode_json($doc));
($rc, $j) = run('verify', 'doc', "$tmp/bad.json", '--now', $t0, '--policy', $allow);
is_deeply([$rc, $j->{error}], [1, 'report_data_mismatch'], 'a later not_after: report_data_mismatch');

$doc->{not_after} = $t0 + 600;
$doc->{platform} = 'sev-snp';
tmp_file('bad.json', encode_json($doc));
($rc, $j) = run('verify', 'doc', "$tmp/bad.json", '--now', $t0, '--policy', $allow);
is($rc, 1, 'simulated evidence labelled sev-snp: exit 1 (' . ($j->{error} // '') . ')');

$doc->{platform} = 'simulated';
$doc->{certs} = [ $doc->{certs}[0] ];
tmp_file('bad.json', encode_json($doc));
($rc, $j) = run('verify', 'doc', "$tmp/bad.json", '--now', $t0, '--policy', $allow);
is_deeply([$rc, $j->{error}], [1, 'bad_chain'], 'without the root cert: bad_chain');

tmp_file('bad.json', '{"version": 1');
($rc, $j) = run('verify', 'doc', "$tmp/bad.json", '--now', $t0, '--policy', $allow);
is_deeply([$rc, $j->{error}], [1, 'bad_document'], 'truncated JSON: bad_document');

# usage
($rc) = run('simulate', 'doc', $dir);
is($rc, 2, 'simulate doc without --keys: exit 2');
($rc, $j, $out, $err) = run('simulate', 'doc', "$tmp/nothing", '--keys', "$tmp/keys");
is($rc, 2, 'simulate doc on an empty directory: exit 2');
like($err, qr/simulate init/, 'and the message says what to run');

done_testing();
