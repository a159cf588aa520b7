# gpu=unix:PATH: the terminator sends the GPU nonce and a newline to a
# stream socket (a long-running evidence service beside nginx, which then
# needs no process of nginx's to touch the GPUs) and reads NVIDIA's
# evidence JSON back.  A service that is not there, says nothing, or does
# not answer in time fails nginx -t naming the parameter.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256_hex sha512);
use MIME::Base64;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new;
my $sim = sim_dir($t);
my $cli = Confer::Test::build_dir() . '/confer-attest';
my $json = $t->json;

# an evidence service: good (simulated GPUs for the nonce it is sent),
# mute (closes at once) or stuck (reads, never answers)
my $server = $t->prefix . '/gpu-service';
open my $fh, '>', $server or die;
print $fh <<"EOF";
use strict;
use IO::Socket::UNIX;
my (\$path, \$mode) = \@ARGV;
unlink \$path;
my \$l = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => \$path,
                               Listen => 8) or die "listen \$path: \$!";
open my \$r, '>', "\$path.ready"; close \$r;
my \@held;
while (my \$c = \$l->accept) {
    my \$line = <\$c> // '';
    open my \$log, '>>', "\$path.log"; print \$log \$line; close \$log;
    if (\$mode eq 'stuck') { push \@held, \$c; next }
    if (\$mode eq 'good' && \$line =~ /^([0-9a-f]{64})\\n\\z/) {
        print \$c scalar `'$cli' simulate gpu '$sim' --nonce \$1 --gpus 3`;
    }
    close \$c;
}
EOF
close $fh;

sub service {
    my ($mode) = @_;
    my $path = $t->prefix . "/gpu-$mode.sock";
    $t->spawn("gpu-$mode", [ $^X, $server, $path, $mode ]);
    $t->wait_for(sub { -e "$path.ready" }, "the $mode service listens");
    return $path;
}

sub gpu_nonce {
    my ($doc) = @_;
    my $rd = sha512("confer-attestation/v1\0" . pack('Q>', $doc->{not_after})
                    . decode_base64($doc->{ohttp_keys}));
    return sha256_hex("confer-gpu/v1\0" . $rd);
}

my $good = service('good');
$t->nginx(term => terminator_spec($t, key => "gpu=unix:$good"));

my $r = $t->request('term', 'GET /.well-known/confer-attestation');
is($r->status, 200, 'the document is served');
my $doc = $json->decode($r->body);
is(scalar @{ $doc->{gpu} // [] }, 3, 'with the service\'s three GPUs');
my @sent = split /\n/, Confer::Test::read_file("$good.log") // '';
is($sent[-1], gpu_nonce($doc), 'the service was sent the document\'s '
   . 'GPU nonce');

my $file = $t->prefix . '/doc.json';
open $fh, '>', $file or die;
print $fh $r->body;
close $fh;
my $policy = $t->prefix . '/policy.json';
open $fh, '>', $policy or die;
print $fh $json->encode({ platforms => [], allow_simulated => JSON::PP::true,
                          simulated_root => "$sim/sim-root.pem",
                          gpu => { count => 3 } });
close $fh;
my ($rc, $out) = cli($t, 'verify', 'doc', $file, '--policy', $policy);
is($rc, 0, 'and it verifies, three GPUs required') or diag($out);

my %bad = (
    'no service'   => [ $t->prefix . '/none.sock',
                        qr/connect: No such file or directory/, '' ],
    'a mute one'   => [ service('mute'), qr/it sent nothing/, '' ],
    'a stuck one'  => [ service('stuck'), qr/no answer within 1000 ms/,
                        ' gpu_timeout=1s' ],
);

for my $name (sort keys %bad) {
    my ($path, $re, $extra) = @{ $bad{$name} };
    my ($ok, $msg) = $t->nginx_t(terminator_spec($t,
                                     key => "gpu=unix:$path$extra"));
    ok(!$ok, "$name: nginx -t fails");
    like($msg, qr/\[emerg\].*"confer_key" gpu=unix:\Q$path\E: /,
         "$name: naming the parameter") or diag($msg);
    like($msg, $re, "$name: saying why") or diag($msg);
}

$t->done;
