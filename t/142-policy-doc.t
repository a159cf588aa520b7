# The policies shown in attest/POLICY.md parse, and do what the text says.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Confer::CLI;

open(my $f, '<', "$FindBin::Bin/../attest/POLICY.md") or die $!;
my @blocks = do { local $/; <$f> } =~ /```json\n(.*?)```/sg;
is(scalar @blocks, 2, 'POLICY.md shows two policies');

my $tmp = tmp_dir();
my ($rc) = run('simulate', 'init', "$tmp/dev/sim");
$rc == 0 or die 'simulate init failed';
my $keys = tmp_file('keys', "\x01\x00\x20" . ("\x07" x 32)
                            . "\x00\x04\x00\x01\x00\x01");
my $doc = tmp_file('doc.json', (run('simulate', 'doc', "$tmp/dev/sim",
                                    '--keys', $keys))[2]);

for my $i (0 .. $#blocks) {
    my ($rc, $j) = run('verify', 'doc', $doc, '--policy',
                       tmp_file("policy$i.json", $blocks[$i]));
    if ($i == 0) {
        is_deeply([$rc, $j->{error}], [1, 'simulated_not_allowed'],
                  'the production example refuses simulated evidence');
    } else {
        is_deeply([$rc, $j->{ok}], [0, JSON::PP::true],
                  'the development example accepts the simulated platform');
    }
}

done_testing();
