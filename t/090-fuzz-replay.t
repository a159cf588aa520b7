# Every fuzz harness replays its seed corpus (t/fuzz/corpus/NAME) once,
# built without libFuzzer, so that make test catches a regression on any
# input a fuzzing campaign kept.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Unit;

my @harnesses = map { m{/fuzz_(\w+)\.c$} ? $1 : () }
    glob("$FindBin::Bin/fuzz/fuzz_*.c");

plan skip_all => 'no fuzz harnesses yet' unless @harnesses;

for my $name (@harnesses) {
    my $bin = build_dir() . "/fuzz-replay/fuzz_$name";
    my $corpus = "$FindBin::Bin/fuzz/corpus/$name";
    # list context: a scalar glob is an iterator shared across the loop
    my @seeds = glob("$corpus/*");
    ok(-d $corpus && @seeds, "$name has a seed corpus");
    my $out = `$bin $corpus 2>&1`;
    is($?, 0, "$name replays its corpus") or diag($out);
}

done_testing();
