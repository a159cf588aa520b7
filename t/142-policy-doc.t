# The policies shown in attest/POLICY.md parse, and do what the text says.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use File::Temp 'tempdir';
use Confer::Unit;

my $cli = build_dir() . '/confer-attest';
plan skip_all => "$cli is not built (run make)" unless -x $cli;

open(my $f, '<', "$FindBin::Bin/../attest/POLICY.md") or die $!;
my @blocks = do { local $/; <$f> } =~ /```json\n(.*?)```/sg;
is(scalar @blocks, 2, 'POLICY.md shows two policies');

my $tmp = tempdir(CLEANUP => 1);
system($cli, 'simulate', 'init', "$tmp/dev/sim") == 0 or die;
open(my $k, '>', "$tmp/keys") or die;
print $k "\x01\x00\x20" . ("\x07" x 32) . "\x00\x04\x00\x01\x00\x01";
close $k;
my $doc = `$cli simulate doc $tmp/dev/sim --keys $tmp/keys`;
open(my $d, '>', "$tmp/doc.json") or die;
print $d $doc;
close $d;

for my $i (0 .. $#blocks) {
    my $p = "$tmp/policy$i.json";
    open(my $o, '>', $p) or die;
    print $o $blocks[$i];
    close $o;
    my $out = `$cli verify doc $tmp/doc.json --policy $p`;
    my $rc = $? >> 8;
    my $j = decode_json($out);
    if ($i == 0) {
        is_deeply([$rc, $j->{error}], [1, 'simulated_not_allowed'],
                  'the production example refuses simulated evidence');
    } else {
        is_deeply([$rc, $j->{ok}], [0, JSON::PP::true],
                  'the development example accepts the simulated platform');
    }
}

done_testing();
