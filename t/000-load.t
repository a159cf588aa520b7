# The module loads into Debian's stock nginx, and every ready config in
# conf/ passes `nginx -t` (rewritten to run here, see t/README.md) and has
# confer_private on in each of its servers.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(basename);
use Test::More;
use Confer::Test;

my $t = Confer::Test->new;

my ($ok, $out) = $t->nginx_t({ server => 'location / { return 204; }' });
ok($ok, 'nginx -t accepts a config that loads the module') or diag($out);

# loading the same .so twice is refused: proof that the first one loaded
($ok, $out) = $t->nginx_t({ main => 'load_module %%MODULE%%;' });
ok(!$ok, 'a second load_module of the module is refused');
like($out, qr/already loaded/, 'because the module is already loaded');

$t->nginx(plain => { server => 'location / { return 200 "loaded\n"; }' });
my $r = $t->request(plain => 'GET /');
is($r->status, 200, 'nginx with the module answers');
is($r->body, "loaded\n", 'with the configured body');

my @confs = sort glob($t->root . '/conf/*.conf');
SKIP: {
    skip('conf/ has no *.conf yet: no ready config to check', 1)
        unless @confs;
    for my $f (@confs) {
        my ($ok, $out) = $t->nginx_t_file($f);
        ok($ok, 'nginx -t accepts conf/' . basename($f)) or diag($out);

        # the examples keep the privacy discipline, in both roles
        my $text = Confer::Test::read_file($f) =~ s/#.*//gr;
        my @servers = split /^\s*server\s*\{/m, $text;
        shift @servers;
        ok(@servers && !grep({ !/^\s*confer_private\s+on\b/m } @servers),
           'every server of conf/' . basename($f) . ' has confer_private on');
    }
}

$t->done;
