package Confer::Unit;

# Runs one C unit test binary (built by make from t/unit/NAME.c) in place
# of the calling .t file, so that prove reads its TAP directly.

use strict;
use warnings;
use Exporter 'import';
use FindBin;

our @EXPORT = qw(run_unit build_dir vectors_dir);

sub build_dir {
    return $ENV{CONFER_BUILD} || "$FindBin::Bin/../build";
}

sub vectors_dir {
    return $ENV{CONFER_VECTORS} || "$FindBin::Bin/../../shared/vectors";
}

sub run_unit {
    my ($name) = @_;
    my $bin = build_dir() . "/t/unit/$name";

    unless (-x $bin) {
        print "1..0 # SKIP $bin is not built (run make)\n";
        exit 0;
    }
    $ENV{CONFER_VECTORS} = vectors_dir();
    exec $bin or die "exec $bin: $!";
}

1;
