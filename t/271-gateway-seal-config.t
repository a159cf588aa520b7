# The sealing directives: what nginx -t accepts, and what it refuses with
# a message naming the directive and the bad value.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Attestation;

my $t = Confer::Test->new;
my $a = Confer::Attestation->new($t);
my $policy = $a->path('policy.json');

sub conf {
    my ($loc, %o) = @_;
    return {
        http => "confer_cache zone=confer:1m;\n" . ($o{http} // ''),
        server => ($o{server} // '') . "location /v1/ {\n"
                  . "    confer_seal http://127.0.0.1:9 policy=$policy;\n"
                  . "    $loc\n"
                  . "    proxy_pass http://127.0.0.1:9;\n}\n",
    };
}

my @good = (
    [ 'the defaults', '' ],
    [ 'every directive, variables in a value',
      'confer_strip_fields user metadata safety_identifier password; '
      . 'confer_inner_header Authorization "Bearer $arg_k"; '
      . 'confer_inner_header OpenAI-Project proj_1; '
      . 'confer_max_body 8m; confer_max_response 64m;' ],
    [ 'confer_strip_fields off', 'confer_strip_fields off;' ],
    [ 'inherited from http and server', '',
      http => 'confer_strip_fields user; confer_max_body 2m;',
      server => 'confer_inner_header X-Key k; confer_max_response 1m;' ],
);

for my $g (@good) {
    my ($ok, $out) = $t->nginx_t(conf($g->[1], @$g[2 .. $#$g]));
    ok($ok, "accepted: $g->[0]") or diag($out);
}

my @bad = (
    [ 'a header name that is not a token',
      'confer_inner_header "X Key" v;',
      qr/invalid "confer_inner_header" name "X Key"/ ],
    [ 'a header the gateway sets', 'confer_inner_header Host evil;',
      qr/"confer_inner_header" cannot set "Host"/ ],
    [ 'a hop-by-hop header', 'confer_inner_header transfer-encoding x;',
      qr/"confer_inner_header" cannot set "transfer-encoding"/ ],
    [ 'a bad variable', 'confer_inner_header X-A "$";',
      qr/invalid variable name/ ],
    [ 'confer_strip_fields twice',
      'confer_strip_fields a; confer_strip_fields b;',
      qr/"confer_strip_fields" directive is duplicate/ ],
    [ 'an empty field name', 'confer_strip_fields "";',
      qr/invalid "confer_strip_fields" name ""/ ],
    [ 'a size that is none', 'confer_max_body lots;',
      qr/"confer_max_body" directive invalid value/ ],
    [ 'confer_max_body 0', 'confer_max_body 0;',
      qr/"confer_max_body" must be above 0/ ],
    [ 'confer_max_response below 1k', 'confer_max_response 100;',
      qr/"confer_max_response" must be at least 1k/ ],
    [ 'confer_inner_header without a value', 'confer_inner_header X-A;',
      qr/invalid number of arguments in "confer_inner_header"/ ],
);

for my $b (@bad) {
    my ($ok, $out) = $t->nginx_t(conf($b->[1]));
    ok(!$ok, "refused: $b->[0]");
    like($out, $b->[2], "$b->[0]: the message says why") or diag($out);
}

$t->done;
