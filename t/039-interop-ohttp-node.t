# OHTTP and chunked OHTTP against an independent HPKE stack (@hpke/core
# with the X25519 KEM and ChaCha20-Poly1305 modules), both directions, all
# three AEADs: t/interop/ohttp-interop.js drives build/tools/ohttp-tool.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Confer::Unit;

my $top = "$FindBin::Bin/..";
my $tool = build_dir() . "/tools/ohttp-tool";

sub skip_all { print "1..0 # SKIP $_[0]\n"; exit 0 }

skip_all("node is not installed") unless grep { -x "$_/node" } split /:/, $ENV{PATH};
skip_all("node_modules missing (run make deps)")
    unless -d "$top/node_modules/\@hpke/core"
        && -d "$top/node_modules/\@hpke/dhkem-x25519"
        && -d "$top/node_modules/\@hpke/chacha20poly1305"
        && -d "$top/node_modules/bhttp-js";
skip_all("$tool is not built (run make)") unless -x $tool;

chdir $top or die "chdir $top: $!";
exec 'node', "$top/t/interop/ohttp-interop.js", $tool
    or die "exec node: $!";
