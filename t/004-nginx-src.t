# NGINX_SRC=DIR builds the module against another nginx source tree.  The
# test copies Debian's tree (nginx-dev) without its conf_flags, the file
# that holds the configure flags of Debian's own build, so the Makefile
# takes its fallback: --with-compat, --with-http_ssl_module and the plain
# --with-* flags that `nginx -V` shows for the binary the module is for.
#
# What is true, and asserted: the module builds; it carries the
# --with-compat signature, which is what lets it load (Debian's nginx is
# built --with-compat, and nginx compares only that signature); stock
# nginx loads it and accepts every ready config of conf/ (gateway,
# terminator, privacy) with it; and it keeps the privacy module's promise
# that depends on nginx's flags (a private server with debug_connection is
# refused, which a module built without nginx's --with-debug cannot see).
# Without a runnable nginx the flags are the two alone (checked on
# configure's output only, to keep this file short).  About 30 s of CPU.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use Confer::Test;

my $src = '/usr/share/nginx/src';
my $nginx = $ENV{CONFER_NGINX} || '/usr/sbin/nginx';
plan(skip_all => "no nginx source tree at $src (nginx-dev)")
    unless -f "$src/configure";
plan(skip_all => "no nginx at $nginx") unless -x $nginx;
plan(skip_all => 'a build test: the plain run has it') if $ENV{CONFER_ASAN};

my $tmp = tempdir('confer-004-XXXXXX', TMPDIR => 1, CLEANUP => 1);
# two copies: configure writes a Makefile into the tree it runs in
for my $copy ("$tmp/src", "$tmp/bare-src") {
    system('cp', '-a', $src, $copy) == 0 or die "cp $src: $?";
    unlink("$copy/conf_flags") or die "conf_flags: $!";
}

# a make of its own (not the jobs of a make test that runs this file),
# started at once; it returns a function that waits for it
sub make {
    my @args = @_;
    my $cmd = join ' ', 'cd', $Confer::Test::ROOT, '&&',
        'env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2',
        map({ "'$_'" } @args), '2>&1';
    open(my $fh, '-|', $cmd) or die "make: $!";
    return sub {
        my $out = do { local $/; <$fh> } // '';
        close $fh;
        return ($? == 0, $out);
    };
}

# without a runnable nginx: configure alone, beside the build
my $bare = make("BUILD=$tmp/bare", "NGINX_SRC=$tmp/bare-src",
                'NGINX_BIN=/nonexistent', "$tmp/bare/nginx/Makefile");

my ($ok, $out) = make("BUILD=$tmp/build", "NGINX_SRC=$tmp/src",
                      "NGINX_BIN=$nginx", 'module')->();
ok($ok, 'make NGINX_SRC=<a tree without conf_flags> module builds')
    or diag($out);

my $so = "$tmp/build/nginx/ngx_http_confer_module.so";
my $config = Confer::Test::read_file("$tmp/build/nginx/ngx_auto_config.h")
             // '';
like($config, qr/#define NGX_COMPAT\s+1/, 'configured --with-compat');
like($config, qr/#define NGX_DEBUG\s+1/,
     'and --with-debug, as nginx -V shows for stock nginx');

# nginx loads a dynamic module whose signature is its own: with
# --with-compat that is the compat signature, not each flag
my ($sig_so) = (Confer::Test::read_file($so) // '')
    =~ /\0(\d+,\d+,\d+,[01]{20,})\0/;
my ($sig_nginx) = (Confer::Test::read_file($nginx) // '')
    =~ /\0(\d+,\d+,\d+,[01]{20,})\0/;
ok(defined $sig_so, "the module's signature: " . ($sig_so // 'none'));
is($sig_so, $sig_nginx, 'is stock nginx\'s');

$ENV{CONFER_MODULE} = $so;
my $t = Confer::Test->new;

# every ready config of conf/, rewritten to run here as t/000 does it
for my $f (sort glob("$Confer::Test::ROOT/conf/*.conf")) {
    ($ok, $out) = $t->nginx_t_file($f);
    ok($ok, 'stock nginx -t with it accepts conf/' . ($f =~ s{.*/}{}r))
        or diag($out);
}

($ok, $out) = $t->nginx_t({ main => 'events { debug_connection 127.0.0.1; }',
                            server => 'confer_private on;' });
ok(!$ok, 'a private server with debug_connection is refused');
like($out, qr/conflicts with "confer_private on"/, '... and says why')
    or diag($out);

# without a runnable nginx: the fallback's two flags alone
($ok, $out) = $bare->();
ok($ok, 'configure without a runnable nginx') or diag($out);
$config = Confer::Test::read_file("$tmp/bare/nginx/ngx_auto_config.h") // '';
like($config, qr/#define NGX_COMPAT\s+1/, '... --with-compat');
like($config, qr/#define NGX_HTTP_SSL\s+1/, '... --with-http_ssl_module');
unlike($config, qr/#define NGX_DEBUG\s/, '... and no --with-debug');

# config's branch for nginx older than 1.9.11 (no auto/module: a static
# build only).  No nginx here takes it, and the nginx-dev tree has no
# src/core/nginx.c to build an nginx binary with, so it is run as
# configure would, with nginx's variables, and what it adds is checked.
my $root = $Confer::Test::ROOT;
my @vars = qw(ngx_addon_name HTTP_AUX_FILTER_MODULES NGX_ADDON_SRCS
              NGX_ADDON_DEPS CORE_INCS CORE_LIBS);
my $script = "cd '$root' && . ./config"
           . join('', map { "; printf '%s\\n' \"\$$_\"" } @vars);
open(my $sh, '-|', 'env', '-u', 'ngx_module_link', "ngx_addon_dir=$root",
     'HTTP_AUX_FILTER_MODULES=before', 'CORE_LIBS=-lz', 'sh', '-c', $script)
    or die "sh: $!";
$out = do { local $/; <$sh> };
close $sh;
ok($? == 0, 'config runs without auto/module');
my %v;
@v{@vars} = map { [ split ' ' ] } split /\n/, $out, -1;
is_deeply($v{HTTP_AUX_FILTER_MODULES},
          [ qw(before ngx_http_confer_module ngx_http_confer_gateway_module
               ngx_http_confer_terminator_module) ],
          '... and adds the three modules as HTTP filters');
my @srcs = map { glob("$root/$_") } qw(ngx_confer_module/ngx_http_confer_*.c
    ngx_confer_module/confer_*.c attest/attest_*.c);
is_deeply([ sort @{ $v{NGX_ADDON_SRCS} } ], [ sort @srcs ],
          '... every source of the module, core and attest/');
is_deeply([ sort @{ $v{CORE_INCS} } ],
          [ "$root/attest", "$root/ngx_confer_module" ],
          '... the two include directories');
is_deeply($v{CORE_LIBS}, [ qw(-lz -lsodium -ljansson -lcrypto) ],
          '... and the three libraries');

$t->done;
