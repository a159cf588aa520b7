package Confer::Terminator;

# Helpers shared by the terminator's tests (t/2[0-4]x-*.t): a simulated
# platform made with build/confer-attest, a terminator config around it,
# the independent Node client (t/interop/confer-client.js), the MOCK's
# own answer to compare with, and the SSE padding lines to strip.

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use POSIX qw(WNOHANG);
use Time::Local qw(timegm);
use Test::More;

use Confer::Test;
use Confer::HTTP;

our @EXPORT = qw(sim_dir sim_policy terminator_spec client client_doc
                 client_ready http_date mock_direct strip_pad b64d cli
                 sse_events);

my $JSON = JSON::PP->new->utf8->canonical;

sub b64d { decode_base64($_[0] // '') }

# the simulated platform of this test file (confer-attest simulate init)
sub sim_dir {
    my ($t) = @_;
    my $dir = $t->prefix . '/sim';
    return $dir if -f "$dir/sim-root.pem";
    my ($rc, $out) = cli($t, 'simulate', 'init', $dir);
    die "confer-attest simulate init: $out" if $rc;
    return $dir;
}

# a policy accepting this file's simulated platform only
sub sim_policy {
    my ($t) = @_;
    my $f = $t->prefix . '/policy.json';
    return $f if -f $f;
    my $dir = sim_dir($t);
    open my $fh, '>', $f or die "$f: $!";
    print $fh $JSON->encode({ platforms => [], allow_simulated => JSON::PP::true,
                              simulated_root => "$dir/sim-root.pem" });
    close $fh;
    return $f;
}

# build/confer-attest ARGS: (exit code, output)
sub cli {
    my ($t, @args) = @_;
    my $bin = Confer::Test::build_dir() . '/confer-attest';
    my $out = `'$bin' @{[ map { "'$_'" } @args ]} 2>&1`;
    return ($? >> 8, $out);
}

# a terminator: confer_key with simulated evidence, the attestation and
# OHTTP locations in front of the MOCK.  %o: key => extra confer_key
# parameters, open => confer_open parameters, http, server => extra.
sub terminator_spec {
    my ($t, %o) = @_;
    my $dir = sim_dir($t);
    my $key = $o{key} // 'lifetime=1h';
    my $open = $o{open} // '';
    return {
        http => "confer_key simulated=$dir $key;\n" . ($o{http} // ''),
        server => <<"EOF" . ($o{server} // ''),
location = /.well-known/confer-attestation {
    confer_attestation;
}
location = /.well-known/ohttp-gateway {
    confer_open $open;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%;
    proxy_buffering off;
    proxy_http_version 1.1;
}
EOF
    };
}

sub _node {
    my ($t, $cmd, $spec) = @_;
    my $f = $t->prefix . '/helpers/client-' . ++$t->{client_n} . '.json';
    open my $fh, '>', $f or die "$f: $!";
    print $fh $JSON->encode($spec);
    close $fh;
    my $root = Confer::Test::root();
    my $out = `node '$root/t/interop/confer-client.js' $cmd '$f' 2>&1`;
    my $r = eval { $JSON->decode((split /\n/, $out)[-1] // '') };
    return $r // { error => "client output: $out" };
}

# client($t, NAME, { spec }): one sealed request to instance NAME
sub client {
    my ($t, $name, $spec) = @_;
    my %s = (url => 'http://127.0.0.1:' . $t->port($name), %$spec);
    return _node($t, 'send', \%s);
}

# client_ready($t, NAME, { spec }[, CMD]): a client (CMD "send" by
# default) started now and waiting; returns a sub that lets it go and
# returns its answer.  Starting node takes seconds on a loaded machine:
# what must happen soon after something else (a request with a key of a
# short lifetime) starts the client first.
sub client_ready {
    my ($t, $name, $spec, $cmd) = @_;
    my $base = $t->prefix . '/helpers/client-' . ++$t->{client_n};
    my %s = (url => 'http://127.0.0.1:' . $t->port($name), %$spec,
             ready_file => "$base.ready", go_file => "$base.go");
    open my $fh, '>', "$base.json" or die "$base.json: $!";
    print $fh $JSON->encode(\%s);
    close $fh;
    my $root = Confer::Test::root();
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$base.out" or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec { 'node' } 'node', "$root/t/interop/confer-client.js",
                        $cmd // 'send', "$base.json"
            or POSIX::_exit(127);
    }
    $t->wait_for(sub { -e "$base.ready" || waitpid($pid, WNOHANG) == $pid },
                 'the client is ready');
    return sub {
        open my $go, '>', "$base.go" or die "$base.go: $!";
        close $go;
        waitpid($pid, 0);
        my $out = Confer::Test::read_file("$base.out") // '';
        my $r = eval { $JSON->decode((split /\n/, $out)[-1] // '') };
        return $r // { error => "client output: $out" };
    };
}

# the Unix time of an HTTP Date header (RFC 9110, 5.6.7, IMF-fixdate)
sub http_date {
    my ($s) = @_;
    my %m = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
             Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
    return undef unless defined $s
        && $s =~ /^\w{3}, (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
    return timegm($6, $5, $4, $1, $m{$2}, $3);
}

sub client_doc {
    my ($t, $name, %o) = @_;
    return _node($t, 'doc', { url => 'http://127.0.0.1:' . $t->port($name),
                              %o });
}

# the MOCK's answer to the same request, straight from it
sub mock_direct {
    my ($t, $method, $path, $body) = @_;
    my $r = $t->request('mock', "$method $path",
                        headers => [ 'Content-Type' => 'application/json' ],
                        defined $body ? (body => $body) : ());
    return $r;
}

# the gateway's stripper, in Perl: lines ":~+\n" that start after an LF
sub strip_pad {
    my ($s) = @_;
    $s =~ s/(?<=\n):~+\n//g;
    return $s;
}

sub sse_events {
    my ($s) = @_;
    return scalar(() = $s =~ /\n\n/g);
}

1;
