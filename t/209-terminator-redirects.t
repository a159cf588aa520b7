# No internal redirect can take an opened request out of confer_open.
# An internal redirect drops the request's module contexts: with
# error_page, a model server that cannot be reached made nginx redirect to
# the error page, whose answer left the TEE unsealed, and a page built
# from $request_body sent the decrypted prompt with it.  try_files
# redirects the same way.  nginx -t refuses them where confer_open
# applies (also when inherited from the server), not elsewhere.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new;

my $REDIRECT = qr/"confer_open" cannot be used with "(\w+)": its internal /;

for my $case (
    [ 'error_page in the location', '', 'error_page 502 /oops;' ],
    [ 'error_page of the server', 'error_page 502 /oops;', '' ],
    [ 'try_files', '', 'try_files $uri @model;' ])
{
    my ($what, $server, $location) = @{$case};
    my $spec = terminator_spec($t, server => <<"EOF");
$server
location = /oops {
    return 200 'the error page: \$request_body';
}
location \@model {
    return 404;
}
EOF
    $spec->{server} =~ s/(confer_open [^;]*;)/$1\n    $location/;

    my ($ok, $out) = $t->nginx_t($spec);
    ok(!$ok, "nginx -t refuses confer_open with $what");
    my ($directive) = $location =~ /^(\w+)/;
    $directive //= 'error_page';
    like($out, $REDIRECT, '... saying why') or diag($out);
    is(($out =~ $REDIRECT)[0], $directive, "... naming $directive");
}

my ($ok, $out) = $t->nginx_t(terminator_spec($t, server => <<'EOF'));
location /other/ {
    error_page 404 /oops;
    try_files $uri =404;
}
location = /oops {
    return 200 'not found';
}
EOF
ok($ok, 'error_page and try_files outside confer_open are fine')
    or diag($out);

$t->done;
