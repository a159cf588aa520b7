package Confer::Collateral;

# Collateral for the tests of collateral=DIR (t/213, t/281): CRLs signed by
# a simulated platform's root, made with the openssl command as an
# operator's CA would, and the nextUpdate they carry.
#
#   my $crl = sim_crl($t, $sim, 'current');               # lists nobody
#   my $crl = sim_crl($t, $sim, 'revoked', revoke => "$sim/sim-vcek.pem");
#   next_update($crl);                                      # unix seconds

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use File::Path qw(make_path);
use Time::Local qw(timegm);

our @EXPORT = qw(sim_crl next_update write_file);

my %MON = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
           Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);

sub write_file {
    my ($path, $bytes) = @_;
    open my $fh, '>', "$path.tmp" or croak("$path: $!");
    binmode $fh;
    print $fh $bytes;
    close $fh or croak("$path: $!");
    rename "$path.tmp", $path or croak("$path: $!");
    return $path;
}

# a PEM CRL of $sim's root, valid for a day; revoke => CERT lists it
sub sim_crl {
    my ($t, $sim, $name, %o) = @_;
    my $ca = $t->prefix . "/crl-$name";
    make_path($ca);
    write_file("$ca/index.txt", '');
    write_file("$ca/ca.cnf", <<"EOF");
[ ca ]
default_ca = sim
[ sim ]
database = $ca/index.txt
default_md = sha384
default_crl_days = 1
certificate = $sim/sim-root.pem
private_key = $sim/sim-root.key
EOF
    if ($o{revoke}) {
        my $out = qx{openssl ca -config '$ca/ca.cnf' -revoke '$o{revoke}' 2>&1};
        croak("openssl ca -revoke: $out") if $?;
    }
    my $out = qx{openssl ca -config '$ca/ca.cnf' -gencrl -out '$ca/crl.pem' 2>&1};
    croak("openssl ca -gencrl: $out") if $?;
    return "$ca/crl.pem";
}

# the CRL's nextUpdate, as openssl prints it, in unix seconds
sub next_update {
    my ($crl) = @_;
    my $out = qx{openssl crl -in '$crl' -noout -nextupdate 2>&1};
    my ($mon, $d, $h, $mi, $s, $y) =
        $out =~ /nextUpdate=(\w+)\s+(\d+)\s+(\d+):(\d+):(\d+)\s+(\d+)/
        or croak("openssl crl: $out");
    return timegm($s, $mi, $h, $d, $MON{$mon}, $y);
}

1;
