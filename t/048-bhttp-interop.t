# Our BHTTP codec against bhttp-js, an independent RFC 9292 implementation:
# each decodes what the other encodes (t/interop/bhttp-interop.js).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Confer::Unit;

my $root = "$FindBin::Bin/..";
my $tool = build_dir() . "/tools/bhttp-tool";

if (!-d "$root/node_modules/bhttp-js") {
    print "1..0 # SKIP node_modules/bhttp-js is absent (run make deps)\n";
    exit 0;
}

if (system('command -v node >/dev/null 2>&1') != 0) {
    print "1..0 # SKIP node is not installed (run make deps)\n";
    exit 0;
}

if (!-x $tool) {
    print "1..0 # SKIP $tool is not built (run make)\n";
    exit 0;
}

exec 'node', "$FindBin::Bin/interop/bhttp-interop.js", $tool
    or die "exec node: $!";
