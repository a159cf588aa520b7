package Confer::CLI;

# The confer-attest CLI for the .t files that run it as scripts do.  Using
# the module skips the whole file (plan skip_all) when the CLI is not
# built, so it comes after Test::More.
#
#   my ($rc, $json, $stdout, $stderr) = run('verify', 'doc', $file);
#       $rc is the exit status, $json the decoded stdout (undef if not
#       JSON); standard input is closed
#   my $path = tmp_file('policy.json', $bytes);
#       written as is under tmp_dir(), a directory removed at exit
#   cli_path()  the binary, for what run() does not do (valgrind)
#
# build_dir and vectors_dir are re-exported from Confer::Unit.

use strict;
use warnings;
use Exporter ();
use File::Temp ();
use IPC::Open3 qw(open3);
use JSON::PP ();
use Symbol qw(gensym);
use Test::More ();
use Confer::Unit qw(build_dir vectors_dir);

our @EXPORT = qw(run cli_path tmp_dir tmp_file build_dir vectors_dir);

my $CLI = build_dir() . '/confer-attest';
my $TMP;

sub import {
    Test::More::plan(skip_all => "$CLI is not built (run make)")
        unless -x $CLI;
    goto &Exporter::import;
}

sub cli_path { $CLI }

sub run {
    my $pid = open3(my $in, my $out, my $err = gensym, $CLI, @_);
    close $in;
    local $/;
    my $stdout = <$out> // '';
    my $stderr = <$err> // '';
    waitpid($pid, 0);
    my $json = eval { JSON::PP::decode_json($stdout) };
    return ($? >> 8, $json, $stdout, $stderr);
}

sub tmp_dir {
    $TMP //= File::Temp::tempdir(CLEANUP => 1);
    return $TMP;
}

sub tmp_file {
    my ($name, $bytes) = @_;
    my $path = tmp_dir() . "/$name";
    open(my $f, '>', $path) or die "$path: $!";
    binmode $f;
    print $f $bytes;
    close $f;
    return $path;
}

1;
