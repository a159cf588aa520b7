package Confer::Attestation;

# What the gateway's attestation tests (t/25x) share: a simulated platform
# and the documents it signs (good ones and ones with one thing wrong),
# policies, and the stand-in terminator t/tools/docserver with its record
# of the requests it got.
#
#   my $a = Confer::Attestation->new($t);     # simulate init, keys, policies
#   $a->write_doc('doc.json', lifetime => 600);
#   $a->docserver('tee', mode => 'length', doc => $a->path('doc.json'));
#   $a->fetches('tee');                       # requests the docserver got

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

use Confer::Test ();

my $JSON = JSON::PP->new->utf8->canonical;

sub new {
    my ($class, $t) = @_;
    my $self = bless { t => $t, dir => $t->prefix . '/att' }, $class;
    my $cli = $self->cli;

    plan(skip_all => "$cli is not built (run make)") unless -x $cli;

    make_path($self->{dir});
    for my $sim (qw(sim other)) {
        $self->run($cli, 'simulate', 'init', $self->path($sim));
    }

    # RFC 9458, 3.2: one configuration, key id 1, X25519, HKDF-SHA256 with
    # AES-128-GCM and ChaCha20-Poly1305
    my $c = pack('C n', 1, 0x20) . ("\x42" x 32)
          . pack('n n n n n', 8, 1, 1, 1, 3);
    $self->write('keys', pack('n', length $c) . $c);

    my $allow = { allow_simulated => JSON::PP::true,
                  simulated_root => 'sim/sim-root.pem' };
    $self->policy('policy.json', $allow);
    $self->policy('other-root.json', { %$allow,
        simulated_root => 'other/sim-root.pem' });
    $self->policy('measurement.json', { %$allow,
        'sev-snp' => { measurements => [ '11' x 48 ] } });
    $self->policy('max-age.json', { %$allow, max_age => 3 });

    return $self;
}

sub cli  { Confer::Test::build_dir() . '/confer-attest' }
sub dir  { $_[0]{dir} }
sub path { "$_[0]{dir}/$_[1]" }

sub run {
    my ($self, @cmd) = @_;
    my $out = qx{@cmd 2>&1};
    croak("@cmd: exit " . ($? >> 8) . "\n$out") if $?;
    return $out;
}

sub write {
    my ($self, $name, $bytes) = @_;
    my $path = $self->path($name);
    open my $fh, '>', "$path.tmp" or croak("$path: $!");
    binmode $fh;
    print $fh $bytes;
    close $fh or croak("$path: $!");
    rename "$path.tmp", $path or croak("$path: $!");
    return $path;
}

sub policy {
    my ($self, $name, $p) = @_;
    return $self->write($name, $JSON->encode($p));
}

# a simulated document: lifetime => S, now => T, sim => 'sim'|'other'
sub doc {
    my ($self, %o) = @_;
    my @cmd = ($self->cli, 'simulate', 'doc',
               $self->path($o{sim} // 'sim'), '--keys', $self->path('keys'),
               '--lifetime', $o{lifetime} // 600);
    push @cmd, '--now', $o{now} if defined $o{now};
    return $self->run(@cmd);
}

sub write_doc {
    my ($self, $name, %o) = @_;
    return $self->write($name, $self->doc(%o));
}

# the same document with one byte of its evidence flipped
sub tampered_doc {
    my ($self, %o) = @_;
    my $d = $JSON->decode($self->doc(%o));
    my $ev = decode_base64($d->{evidence});
    substr($ev, 0x90, 1) ^= "\x01";             # inside the measurement
    $d->{evidence} = encode_base64($ev, '');
    return $JSON->encode($d);
}

# a document of a debug guest: SNP guest policy bit 19 set, signed again
# with the simulated platform's key (so only the policy can refuse it)
sub debug_doc {
    my ($self, %o) = @_;
    my $d = $JSON->decode($self->doc(%o));
    my $ev = decode_base64($d->{evidence});
    my $policy = unpack('Q<', substr($ev, 0x08, 8)) | (1 << 19);
    substr($ev, 0x08, 8) = pack('Q<', $policy);

    my $signed = $self->write('to-sign', substr($ev, 0, 0x2a0));
    my $key = $self->path('sim/sim-vcek.key');
    my $der = qx{openssl dgst -sha384 -sign $key -binary $signed};
    croak('openssl dgst failed') if $? || !length $der;

    # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
    my ($r, $s) = _der_ints($der);
    for my $v ([ $r, 0x2a0 ], [ $s, 0x2e8 ]) {
        my $le = reverse $v->[0];
        substr($ev, $v->[1], 72) = $le . ("\0" x (72 - length $le));
    }
    $d->{evidence} = encode_base64($ev, '');
    return $JSON->encode($d);
}

sub _der_ints {
    my ($der) = @_;
    my @ints;
    my $i = 2;
    $i++ if ord(substr($der, 1, 1)) & 0x80;     # long form, one byte
    while ($i < length $der) {
        croak('not a DER INTEGER') unless ord(substr($der, $i, 1)) == 2;
        my $len = ord(substr($der, $i + 1, 1));
        my $v = substr($der, $i + 2, $len);
        $v =~ s/^\0+//;
        push @ints, $v;
        $i += 2 + $len;
    }
    return @ints;
}

# t/tools/docserver on %%PORT_<name>%%; options as its command line:
# mode, doc (a path), sim (1: fresh documents), lifetime, hold, hold_from,
# hold_to, status
sub docserver {
    my ($self, $name, %o) = @_;
    my $t = $self->{t};
    my $key = 'docserver-' . lc $name;
    $t->stop_daemon($key);

    my $port = $t->port($name);
    my $rec = $self->path("$key.jsonl");
    my $ready = $self->path("$key.ready");
    unlink $rec, $ready;

    my @cmd = ($^X, Confer::Test::root() . '/t/tools/docserver',
               '--listen', "127.0.0.1:$port", '--record', $rec,
               '--ready', $ready, '--mode', $o{mode} // 'length');
    push @cmd, '--doc', $o{doc} if $o{doc};
    push @cmd, '--sim', $self->path('sim'), '--keys', $self->path('keys'),
               '--cli', $self->cli, '--lifetime', $o{lifetime} // 600
        if $o{sim};
    push @cmd, '--hold', $o{hold} if $o{hold};
    push @cmd, '--hold-from', $o{hold_from} if $o{hold_from};
    push @cmd, '--hold-to', $o{hold_to} if $o{hold_to};
    push @cmd, '--status', $o{status} if $o{status};

    $t->spawn($key, \@cmd);
    $t->wait_for(sub {
        croak("docserver $name exited") unless $t->daemon_alive($key);
        -e $ready;
    }, "docserver $name listens");
    $self->{records}{ lc $name } = $rec;
    return $port;
}

sub stop_docserver {
    my ($self, $name) = @_;
    $self->{t}->stop_daemon('docserver-' . lc $name);
}

# the requests a docserver got: [{ n, t, method, path, ua }]
sub fetches {
    my ($self, $name) = @_;
    my $rec = $self->{records}{ lc $name } // croak("no docserver $name");
    my $s = Confer::Test::read_file($rec) // '';
    return [ map { $JSON->decode($_) } split /\n/, $s ];
}

# A request that passed the gate goes out sealed.  The stand-ins of the
# gate's tests (the MOCK, a plain nginx) cannot answer sealed, so the
# gateway answers 502 "upstream_error" instead of their answer: true for
# that, which only a request that passed the gate can get.
sub passed {
    my ($self, $r) = @_;
    return 0 unless ($r->status // 0) == 502;
    my $e = eval { $JSON->decode($r->body) } || {};
    return (($e->{error} || {})->{code} // '') eq 'upstream_error';
}

# the gateway's confer_status, decoded
sub status {
    my ($self, $inst, $path) = @_;
    my $r = $self->{t}->request($inst, 'GET ' . ($path // '/status'));
    croak('status: ' . ($r->error // $r->status))
        unless ($r->status // 0) == 200;
    return $JSON->decode($r->body);
}

sub json { $JSON }

1;
