# gpu=command:PATH: the terminator runs PATH NONCE while reading its
# configuration and puts the NVIDIA evidence JSON it prints into the
# document.  Here the tool wraps `confer-attest simulate gpu` as an
# operator would wrap NVIDIA's.  The tool gets the nonce of the document's
# report_data, nothing of nginx's (descriptors, blocked signals), and every
# way it can fail (an exit status, a signal, silence, garbage, evidence for
# another nonce, too much output, no answer in time) fails nginx -t naming
# the parameter, and leaves no process behind.

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
my $dir = $t->prefix . '/tools';
my $json = $t->json;
mkdir $dir;

sub tool {
    my ($name, $body, $mode) = @_;
    my $f = "$dir/$name";
    open my $fh, '>', $f or die "$f: $!";
    print $fh $body;
    close $fh;
    chmod($mode // 0755, $f);
    return $f;
}

sub spec {
    my ($key) = @_;
    return terminator_spec($t, key => "$key lifetime=1h");
}

sub gpu_nonce {
    my ($doc) = @_;
    my $rd = sha512("confer-attestation/v1\0" . pack('Q>', $doc->{not_after})
                    . decode_base64($doc->{ohttp_keys}));
    return sha256_hex("confer-gpu/v1\0" . $rd);
}

my $policy = $t->prefix . '/policy-gpu.json';
open my $fh, '>', $policy or die;
print $fh $json->encode({ platforms => [], allow_simulated => JSON::PP::true,
                          simulated_root => "$sim/sim-root.pem",
                          gpu => { required => JSON::PP::true,
                                   count => 2 } });
close $fh;

# a wrapper as an operator writes one; it also notes what it was given
my $good = tool('good', <<"EOF");
#!$^X
opendir(my \$d, '/proc/self/fd') or die;
my \@fds = sort { \$a <=> \$b }
           grep { /^\\d+\$/ && (readlink("/proc/self/fd/\$_") // '') !~ m{^/proc/} }
           readdir \$d;
open my \$st, '<', '/proc/self/status' or die;
my (\$blk, \$ign) = ('', '');
while (<\$st>) { \$blk = \$1 if /^SigBlk:\\s*(\\S+)/; \$ign = \$1 if /^SigIgn:\\s*(\\S+)/ }
open my \$o, '>>', '$dir/calls' or die;
print \$o join(' ', 'args=' . join(',', \@ARGV), 'fds=' . join(',', \@fds),
              "blk=\$blk", "ign=\$ign", 'pgrp=' . (getpgrp() == \$\$ ? 1 : 0),
              'env=' . join(',', sort keys %ENV)), "\\n";
close \$o;
exec '$cli', 'simulate', 'gpu', '$sim', '--nonce', \$ARGV[0], '--gpus', '2';
EOF

sub calls {
    my $s = Confer::Test::read_file("$dir/calls") // '';
    return [ split /\n/, $s ];
}

$t->nginx(term => spec("gpu=command:$good"));

my $r = $t->request('term', 'GET /.well-known/confer-attestation');
is($r->status, 200, 'the document is served');
my $doc = $json->decode($r->body);
my $file = $t->prefix . '/doc.json';
open $fh, '>', $file or die;
print $fh $r->body;
close $fh;

is(scalar @{ $doc->{gpu} // [] }, 2, 'it carries the two GPUs the tool '
   . 'reported');
my ($last) = reverse @{ calls() };
like($last, qr/^args=([0-9a-f]{64}) /, 'the tool got one argument, 64 hex '
     . 'digits');
my ($arg) = $last =~ /^args=(\S+)/;
is($arg, gpu_nonce($doc), 'the nonce derived from the document\'s '
   . 'report_data');
like($last, qr/ fds=0,1,2 /, 'stdin, stdout, stderr and no other '
     . 'descriptor') or diag($last);
like($last, qr/ pgrp=1 /, 'in a process group of its own');
like($last, qr/ env=PATH(,TZ)?$/, 'with PATH (and TZ) as its environment')
    or diag($last);

my ($rc, $out) = cli($t, 'verify', 'doc', $file, '--policy', $policy);
is($rc, 0, 'the document verifies under a policy requiring two GPUs')
    or diag($out);

# a reload runs it from the master, which blocks signals and holds the
# listening sockets and logs open: none of it reaches the tool
ok($t->reload('term'), 'reload');
($last) = reverse @{ calls() };
like($last, qr/ fds=0,1,2 /, 'after a reload too, no descriptor of nginx\'s')
    or diag($last);
# (perl, the tool here, ignores SIGFPE itself: bit 8; no program can set
# signals 32 and 33, which glibc keeps for itself, so an ignored one there
# comes from what started nginx, as GNU make leaves them: bits 32, 33)
my ($blk, $ign) = $last =~ / blk=(\S+) ign=(\S+) /;
my ($ign_hi, $ign_lo) = map { hex } ($ign // '0' x 16) =~ /^(.{8})(.{8})$/;
ok(defined $blk && $blk =~ /^0+$/ && defined $ign_lo
   && ($ign_lo & ~0x80000080) == 0 && ($ign_hi & ~0x1) == 0,
   'no signal blocked or ignored') or diag($last);
$r = $t->request('term', 'GET /.well-known/confer-attestation');
my $doc2 = $json->decode($r->body);
is($doc2->{gpu}[0]{nonce}, gpu_nonce($doc2), 'the new document\'s GPUs '
   . 'answer its own nonce');

# --- failures ---------------------------------------------------------------

my $zero = '00' x 32;
my %bad = (
    'an exit status' => [ tool('fails', <<'EOF'),
#!/bin/sh
echo "starting" >&2
echo "no confidential-computing GPU found" >&2
exit 3
EOF
        qr/exit status 3: no confidential-computing GPU found \(malformed\)/ ],
    'a signal' => [ tool('crashes', "#!/bin/sh\nkill -SEGV \$\$\n"),
        qr/killed by signal 11/ ],
    'no output' => [ tool('silent', "#!/bin/sh\nexit 0\n"),
        qr/it printed nothing/ ],
    'garbage' => [ tool('garbage', "#!/bin/sh\necho 'GPU ready: yes'\n"),
        qr/not NVIDIA evidence JSON: GPU evidence is not JSON/ ],
    'an empty list' => [ tool('empty', "#!/bin/sh\necho '[]'\n"),
        qr/not NVIDIA evidence JSON: GPU evidence lists no device/ ],
    'another nonce' => [ tool('stale', "#!/bin/sh\nexec '$cli' simulate "
                                       . "gpu '$sim' --nonce $zero\n"),
        qr/the evidence does not verify: GPU 1 of 1: .*\(gpu_nonce_mismatch\)/ ],
    'too much output' => [ tool('chatty', "#!/bin/sh\nhead -c 2000000 "
                                          . "/dev/zero | tr '\\0' x\n"),
        qr/it printed more than 1048576 bytes/ ],
    'a missing command' => [ "$dir/nowhere",
        qr/cannot run it: No such file or directory/ ],
    'a command that is not executable' => [ tool('noexec', "#!/bin/sh\n",
                                                 0644),
        qr/cannot run it: Permission denied/ ],
);

for my $name (sort keys %bad) {
    my ($path, $re) = @{ $bad{$name} };
    my ($ok, $msg) = $t->nginx_t(spec("gpu=command:$path"));
    ok(!$ok, "$name: nginx -t fails");
    like($msg, qr/\[emerg\].*"confer_key" gpu=command:\Q$path\E: /,
         "$name: naming the parameter") or diag($msg);
    like($msg, $re, "$name: saying why") or diag($msg);
}

# conf/'s wrapper of NVIDIA's SDK, where the SDK is not installed: the
# reason reaches the error message
SKIP: {
    my $wrapper = Confer::Test::root() . '/conf/nvidia-gpu-evidence.py';
    skip('no python3, or the NVIDIA SDK is installed', 2)
        if system('python3 -c "import nv_attestation_sdk" 2>/dev/null') != 256;
    my ($ok, $msg) = $t->nginx_t(spec("gpu=command:$wrapper"));
    ok(!$ok, 'conf/nvidia-gpu-evidence.py without the SDK fails nginx -t');
    like($msg, qr/exit status 1: ModuleNotFoundError: No module named 'nv_attestation_sdk'/,
         'saying what is missing') or diag($msg);
}

# no answer in time: the tool and what it started are killed
my $hang = tool('hangs', <<"EOF");
#!/bin/sh
echo \$\$ > '$dir/hang.pid'
sleep 60 &
echo \$! > '$dir/hang.child'
wait
EOF

my ($ok, $msg) = $t->nginx_t(spec("gpu=command:$hang gpu_timeout=1s"));
ok(!$ok, 'a tool that does not answer in time fails nginx -t');
like($msg, qr/"confer_key" gpu=command:\Q$hang\E: no answer within 1000 ms: killed/,
     'saying so') or diag($msg);
# gone, or a zombie that its new parent has yet to reap
sub gone {
    my ($pid) = @_;
    my $stat = Confer::Test::read_file("/proc/$pid/stat") // '';
    return !kill(0, $pid) || $stat =~ /^\d+ \(.*\) Z /;
}

# (a loaded machine may kill the tool before it wrote down its pids: then
# there is nothing to look for)
for my $which (qw(pid child)) {
    my $pid = Confer::Test::read_file("$dir/hang.$which") // '';
    chomp $pid;
    SKIP: {
        skip("the tool was killed before it wrote hang.$which", 1)
            unless $pid =~ /^\d+$/;
        ok(eval { $t->wait_for(sub { gone($pid) }, "$which is gone") },
           "its $which process is killed") or diag($pid);
    }
}

$t->done;
