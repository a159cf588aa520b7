# Configuration errors, directive by directive: for every directive of the
# module, bad values, missing or unreadable files (policies, evidence
# sources, collateral), contradictory settings and a directive in the
# wrong place stop `nginx -t`, and the message names the directive and
# says what is wrong with it.  One row a case: its name (which names the
# directive), where it goes (http and server text), and what nginx -t must
# print.  A directive found in the module's sources with fewer than three
# rows fails the file.
#
# The files t/207, t/250, t/271 and t/302 also test many of these, next to
# the configurations that are accepted; this file is the one table over
# all directives that issue 9 asks for.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Terminator;

my $t = Confer::Test->new;
my $sim = sim_dir($t);
my $policy = sim_policy($t);
my $p = $t->prefix;

# files the rows point at
sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$p/$name" or die "$p/$name: $!";
    print $fh $text;
    close $fh;
    return "$p/$name";
}
my $not_json = write_file('not-json.json', '{ no');
my $typo = write_file('typo.json', '{"allow_simulated": true, "typo": 1}');
my $no_root = write_file('no-root.json', $t->json->encode({
    platforms => [], allow_simulated => JSON::PP::true,
    simulated_root => "$p/missing-root.pem" }));
mkdir "$p/empty-dir";
mkdir "$p/policy-dir";

my $key = "confer_key simulated=$sim;";
my $seal = "confer_seal http://127.0.0.1:9 policy=$policy;";
my $zone = 'confer_cache zone=confer:1m;';

# [ name, http text, server text, regex of the nginx -t output ]
my @rows = (
    # --- confer_cache
    [ 'confer_cache without a value', 'confer_cache;', '',
      qr/invalid number of arguments in "confer_cache"/ ],
    [ 'confer_cache without zone=', 'confer_cache c:1m;', '',
      qr/invalid "confer_cache" parameter "c:1m"/ ],
    [ 'confer_cache zone without a size', 'confer_cache zone=c;', '',
      qr/invalid "confer_cache" zone "zone=c"/ ],
    [ 'confer_cache zone size that is none', 'confer_cache zone=c:lots;',
      '', qr/invalid "confer_cache" zone size "zone=c:lots"/ ],
    [ 'confer_cache zone without a name', 'confer_cache zone=:1m;', '',
      qr/invalid "confer_cache" zone "zone=:1m"/ ],
    [ 'confer_cache zone too small', 'confer_cache zone=c:8k;', '',
      qr/"confer_cache" zone "zone=c:8k" is too small/ ],
    [ 'confer_cache twice', "$zone\nconfer_cache zone=b:1m;", '',
      qr/"confer_cache" directive is duplicate/ ],
    [ 'confer_cache in a server', '', $zone,
      qr/"confer_cache" directive is not allowed here/ ],

    # --- confer_seal
    [ 'confer_seal without proxy_pass (nginx would serve files)', $zone,
      "location /v1/ { $seal }",
      qr/"confer_seal" needs "proxy_pass" to the terminator in its location "\/v1\/"/ ],
    [ 'confer_seal inherited by a nested location without proxy_pass',
      $zone, "location /v1/ { $seal proxy_pass http://127.0.0.1:9;"
      . ' location /v1/files/ { root /tmp; } }',
      qr/"confer_seal" needs "proxy_pass" to the terminator in its location "\/v1\/files\/"/ ],
    [ 'confer_seal without a cache zone', '', "location / { $seal }",
      qr/"confer_seal" in \S+:\d+ needs "confer_cache zone=NAME:SIZE"/ ],
    [ 'confer_seal without a policy', $zone,
      'location / { confer_seal http://127.0.0.1:9; }',
      qr/"confer_seal" needs "policy=FILE"/ ],
    [ 'confer_seal with a missing policy file', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$p/none.json; }",
      qr/invalid "confer_seal" policy "\Q$p\E\/none.json": bad_policy/ ],
    [ 'confer_seal with a policy that is a directory', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$p/policy-dir; }",
      qr/invalid "confer_seal" policy "\Q$p\E\/policy-dir": bad_policy/ ],
    [ 'confer_seal with a policy that is not JSON', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$not_json; }",
      qr/invalid "confer_seal" policy "\Q$not_json\E": bad_policy/ ],
    [ 'confer_seal with a policy with an unknown key', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$typo; }",
      qr/invalid "confer_seal" policy "\Q$typo\E": bad_policy: .*typo/ ],
    [ 'confer_seal with a policy whose simulated root is missing', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$no_root; }",
      qr/"confer_seal" policy "\Q$no_root\E".*missing-root\.pem: No such file or directory/ ],
    [ 'confer_seal without a terminator', $zone,
      "location / { confer_seal policy=$policy; }",
      qr/"confer_seal" needs at least one terminator URL/ ],
    [ 'confer_seal with a URL that is not http', $zone,
      "location / { confer_seal ftp://x policy=$policy; }",
      qr/invalid "confer_seal" parameter "ftp:\/\/x"/ ],
    [ 'confer_seal with a URL with a path', $zone,
      "location / { confer_seal http://127.0.0.1:9/v1 policy=$policy; }",
      qr/"confer_seal" terminator "http:\/\/127.0.0.1:9\/v1" must not have a path/ ],
    [ 'confer_seal with a host that does not resolve', $zone,
      "location / { confer_seal http://no-such-host.invalid "
      . "policy=$policy; }",
      qr/host not found in "confer_seal" terminator/ ],
    [ 'confer_seal with a terminator twice', $zone,
      "location / { confer_seal http://127.0.0.1:9 http://127.0.0.1:9 "
      . "policy=$policy; }",
      qr/duplicate "confer_seal" terminator "http:\/\/127.0.0.1:9"/ ],
    [ 'confer_seal with an unknown parameter', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "colour=red; }",
      qr/invalid "confer_seal" parameter "colour=red"/ ],
    [ 'confer_seal timeout=0', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "timeout=0; }",
      qr/invalid "confer_seal" parameter "timeout=0"/ ],
    [ 'confer_seal retry that is no time', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "retry=soon; }",
      qr/invalid "confer_seal" parameter "retry=soon"/ ],
    [ 'confer_seal relative attestation path', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "attestation=x; }",
      qr/invalid "confer_seal" parameter "attestation=x"/ ],
    [ 'confer_seal relative endpoint path', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "endpoint=x; }",
      qr/invalid "confer_seal" parameter "endpoint=x"/ ],
    [ 'confer_seal max_size too small', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "max_size=10; }",
      qr/invalid "confer_seal" value "max_size=10": from 1k to 16m/ ],
    [ 'confer_seal unknown AEAD', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "aead=rot13; }",
      qr/unknown AEAD "rot13" in "confer_seal" parameter "aead=rot13"/ ],
    [ 'confer_seal AEAD twice', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "aead=aes-128-gcm,aes-128-gcm; }",
      qr/AEAD "aes-128-gcm" twice in "confer_seal"/ ],
    [ 'confer_seal missing ssl_trusted_certificate', $zone,
      "location / { confer_seal https://127.0.0.1:9 policy=$policy "
      . "ssl_trusted_certificate=$p/none.pem; }",
      qr/"confer_seal" cannot load ssl_trusted_certificate=\Q$p\E\/none\.pem/ ],
    [ 'confer_seal ssl_trusted_certificate for an http terminator', $zone,
      "location / { confer_seal http://127.0.0.1:9 policy=$policy "
      . "ssl_trusted_certificate=$p/none.pem; }",
      qr/"confer_seal" terminator "http:\/\/127.0.0.1:9" is not https/ ],
    [ 'confer_seal twice in a location', $zone,
      "location / { $seal $seal }",
      qr/"confer_seal" directive is duplicate/ ],
    [ 'confer_seal outside a location', "$zone\n$seal", '',
      qr/"confer_seal" directive is not allowed here/ ],
    [ 'confer_seal and confer_open in one location', "$zone\n$key",
      "location / { $seal confer_open; proxy_pass http://127.0.0.1:9; }",
      qr/"confer_open" cannot apply in a location where "confer_seal" does/ ],
    [ 'confer_seal and confer_attestation in one location', "$zone\n$key",
      "location / { $seal confer_attestation; }",
      qr/"confer_attestation" cannot apply in a location where "confer_seal" does/ ],

    # --- confer_status
    [ 'confer_status with a value', $zone,
      'location = /s { confer_status on; }',
      qr/invalid number of arguments in "confer_status"/ ],
    [ 'confer_status without a cache zone', '',
      'location = /s { confer_status; }',
      qr/"confer_status" in \S+:\d+ needs "confer_cache/ ],
    [ 'confer_status where confer_seal applies', $zone,
      "location /v1/ { $seal proxy_pass http://127.0.0.1:9;"
      . ' location /v1/s { confer_status; } }',
      qr/"confer_status" in \S+:\d+ is in a location where "confer_seal"/ ],
    [ 'confer_status twice', $zone,
      'location = /s { confer_status; confer_status; }',
      qr/"confer_status" directive is duplicate/ ],
    [ 'confer_status in a server', $zone, 'confer_status;',
      qr/"confer_status" directive is not allowed here/ ],

    # --- confer_strip_fields
    [ 'confer_strip_fields without a name', $zone,
      "location / { $seal confer_strip_fields; }",
      qr/invalid number of arguments in "confer_strip_fields"/ ],
    [ 'confer_strip_fields empty name', $zone,
      "location / { $seal confer_strip_fields \"\"; }",
      qr/invalid "confer_strip_fields" name ""/ ],
    [ 'confer_strip_fields off with names', $zone,
      "location / { $seal confer_strip_fields off user; }",
      qr/"confer_strip_fields" takes "off" alone, or names/ ],
    [ 'confer_strip_fields twice', $zone,
      "location / { $seal confer_strip_fields a; confer_strip_fields b; }",
      qr/"confer_strip_fields" directive is duplicate/ ],

    # --- confer_inner_header
    [ 'confer_inner_header without a value', $zone,
      "location / { $seal confer_inner_header X-A; }",
      qr/invalid number of arguments in "confer_inner_header"/ ],
    [ 'confer_inner_header name that is not a token', $zone,
      "location / { $seal confer_inner_header \"X Key\" v; }",
      qr/invalid "confer_inner_header" name "X Key"/ ],
    [ 'confer_inner_header empty name', $zone,
      "location / { $seal confer_inner_header \"\" v; }",
      qr/invalid "confer_inner_header" name ""/ ],
    [ 'confer_inner_header Host', $zone,
      "location / { $seal confer_inner_header Host evil; }",
      qr/"confer_inner_header" cannot set "Host"/ ],
    [ 'confer_inner_header hop-by-hop', $zone,
      "location / { $seal confer_inner_header transfer-encoding x; }",
      qr/"confer_inner_header" cannot set "transfer-encoding"/ ],
    [ 'confer_inner_header bad variable', $zone,
      "location / { $seal confer_inner_header X-A \"\$\"; }",
      qr/invalid variable name.*\n.*invalid "confer_inner_header" value "\$"/ ],

    # --- confer_max_body, confer_max_response
    [ 'confer_max_body that is no size', $zone,
      "location / { $seal confer_max_body lots; }",
      qr/"confer_max_body" directive invalid value/ ],
    [ 'confer_max_body 0', $zone, "location / { $seal confer_max_body 0; }",
      qr/"confer_max_body" must be above 0/ ],
    [ 'confer_max_response that is no size', $zone,
      "location / { $seal confer_max_response lots; }",
      qr/"confer_max_response" directive invalid value/ ],
    [ 'confer_max_response below 1k', $zone,
      "location / { $seal confer_max_response 100; }",
      qr/"confer_max_response" must be at least 1k/ ],

    [ 'confer_max_body without a value', $zone,
      "location / { $seal confer_max_body; }",
      qr/invalid number of arguments in "confer_max_body"/ ],
    [ 'confer_max_body twice', $zone,
      "location / { $seal confer_max_body 1m; confer_max_body 2m; }",
      qr/"confer_max_body" directive is duplicate/ ],
    [ 'confer_max_response without a value', $zone,
      "location / { $seal confer_max_response; }",
      qr/invalid number of arguments in "confer_max_response"/ ],
    [ 'confer_max_response twice', $zone,
      "location / { $seal confer_max_response 1m; confer_max_response 2m; }",
      qr/"confer_max_response" directive is duplicate/ ],

    # --- confer_heap_keep
    [ 'confer_heap_keep without a value', 'confer_heap_keep;', '',
      qr/invalid number of arguments in "confer_heap_keep"/ ],
    [ 'confer_heap_keep neither a size nor auto nor off',
      'confer_heap_keep lots;', '',
      qr/invalid value "lots" in "confer_heap_keep" directive, it must be "auto", "off" or a size of at least 128k/ ],
    [ 'confer_heap_keep below 128k', 'confer_heap_keep 64k;', '',
      qr/invalid value "64k" in "confer_heap_keep" directive.*at least 128k/ ],
    [ 'confer_heap_keep twice', "confer_heap_keep 1m;\nconfer_heap_keep off;",
      '', qr/"confer_heap_keep" directive is duplicate/ ],
    [ 'confer_heap_keep in a server', '', 'confer_heap_keep 1m;',
      qr/"confer_heap_keep" directive is not allowed here/ ],

    # --- confer_private
    [ 'confer_private without a value', 'confer_private;', '',
      qr/invalid number of arguments in "confer_private"/ ],
    [ 'confer_private neither on nor off', '', 'confer_private maybe;',
      qr/invalid value "maybe" in "confer_private" directive, it must be "on" or "off"/ ],
    [ 'confer_private period=0', '', 'confer_private on period=0;',
      qr/invalid period "period=0" in "confer_private", it must be at least 1s/ ],
    [ 'confer_private period that is no time', '',
      'confer_private on period=soon;',
      qr/invalid period "period=soon" in "confer_private"/ ],
    [ 'confer_private debug_log neither refuse nor allow', '',
      'confer_private on debug_log=perhaps;',
      qr/invalid "debug_log=perhaps" in "confer_private", it must be "debug_log=refuse" or "debug_log=allow"/ ],
    [ 'confer_private unknown parameter', '',
      'confer_private on colour=red;',
      qr/invalid parameter "colour=red" in "confer_private"/ ],
    [ 'confer_private off with a period', '',
      'confer_private off period=1h;',
      qr/parameter "period=1h" needs "confer_private on"/ ],
    [ 'confer_private differing between servers of one port', '',
      "listen 127.0.0.1:%%PORT_PRIV%%; confer_private on period=1h;\n"
      . "}\nserver {\nlisten 127.0.0.1:%%PORT_PRIV%%; server_name b;\n"
      . 'confer_private on period=2h;',
      qr/"confer_private" differs between servers/ ],
    [ 'confer_private twice', '', 'confer_private on; confer_private off;',
      qr/"confer_private" directive is duplicate/ ],
    [ 'confer_private in a location', '',
      'location / { confer_private on; }',
      qr/"confer_private" directive is not allowed here/ ],
    [ 'confer_private on with a debug error log', '',
      "confer_private on; error_log $p/debug.log debug;",
      qr/"error_log" at debug level .*conflicts with "confer_private on"/ ],

    # --- confer_key
    [ 'confer_key without an evidence source', 'confer_key lifetime=1h;',
      '', qr/"confer_key" needs evidence=configfs-tsm or simulated=DIR/ ],
    [ 'confer_key unknown evidence', 'confer_key evidence=sgx;', '',
      qr/invalid evidence "evidence=sgx" in "confer_key"/ ],
    [ 'confer_key two evidence sources',
      "confer_key evidence=configfs-tsm simulated=$sim;", '',
      qr/"confer_key" takes one evidence source, "simulated=/ ],
    [ 'confer_key simulated= empty', 'confer_key simulated=;', '',
      qr/invalid parameter "simulated=" in "confer_key"/ ],
    [ 'confer_key simulated=DIR missing',
      "confer_key simulated=$p/no-such-dir;", '',
      qr/"confer_key" simulated=\Q$p\E\/no-such-dir: .*does not hold a simulated platform/ ],
    [ 'confer_key simulated=DIR without a platform',
      "confer_key simulated=$p/empty-dir;", '',
      qr/"confer_key" simulated=\Q$p\E\/empty-dir: .*does not hold a simulated platform/ ],
    [ 'confer_key configfs-tsm root missing',
      "confer_key evidence=configfs-tsm tsm_root=$p/no-tsm;", '',
      qr/"confer_key" evidence=configfs-tsm tsm_root=\Q$p\E\/no-tsm: .*No such file or directory/ ],
    [ 'confer_key tsm_root= with simulated',
      "confer_key simulated=$sim tsm_root=/tmp;", '',
      qr/"confer_key": tsm_root= and certs= go with evidence=configfs-tsm only/ ],
    [ 'confer_key certs= with simulated',
      "confer_key simulated=$sim certs=$p/none;", '',
      qr/"confer_key": tsm_root= and certs= go with evidence=configfs-tsm only/ ],
    [ 'confer_key lifetime that is no time',
      "confer_key simulated=$sim lifetime=soon;", '',
      qr/invalid parameter "lifetime=soon" in "confer_key"/ ],
    [ 'confer_key lifetime=0', "confer_key simulated=$sim lifetime=0;", '',
      qr/invalid parameter "lifetime=0" in "confer_key"/ ],
    [ 'confer_key grace that is no time',
      "confer_key simulated=$sim grace=soon;", '',
      qr/invalid parameter "grace=soon" in "confer_key"/ ],
    [ 'confer_key grace longer than the lifetime',
      "confer_key simulated=$sim lifetime=1h grace=2h;", '',
      qr/"confer_key" grace=7200 is longer than lifetime=3600/ ],
    [ 'confer_key renew neither on nor off',
      "confer_key simulated=$sim renew=maybe;", '',
      qr/invalid parameter "renew=maybe" in "confer_key"/ ],
    [ 'confer_key tsm_timeout=0',
      "confer_key evidence=configfs-tsm tsm_timeout=0;", '',
      qr/invalid parameter "tsm_timeout=0" in "confer_key"/ ],
    [ 'confer_key replay zone too small',
      "confer_key simulated=$sim replay=r:1k;", '',
      qr/invalid replay zone size "replay=r:1k" in "confer_key"/ ],
    [ 'confer_key replay zone without a name',
      "confer_key simulated=$sim replay=:1m;", '',
      qr/invalid parameter "replay=:1m" in "confer_key"/ ],
    [ 'confer_key replay zone without a size',
      "confer_key simulated=$sim replay=r;", '',
      qr/invalid parameter "replay=r" in "confer_key"/ ],
    [ 'confer_key gpu source unknown',
      "confer_key simulated=$sim gpu=magic;", '',
      qr/invalid parameter "gpu=magic" in "confer_key"/ ],
    [ 'confer_key gpu command not absolute',
      "confer_key simulated=$sim gpu=command:nvattest;", '',
      qr/"gpu=command:nvattest" in "confer_key" needs an absolute path/ ],
    [ 'confer_key gpu command missing',
      "confer_key simulated=$sim gpu=command:$p/no-such-tool;", '',
      qr/"confer_key" gpu=command:\Q$p\E\/no-such-tool: cannot run it/ ],
    [ 'confer_key gpu simulated count 0',
      "confer_key simulated=$sim gpu=simulated:0;", '',
      qr/invalid GPU count in "gpu=simulated:0" of "confer_key"/ ],
    [ 'confer_key gpu=simulated with configfs-tsm',
      'confer_key evidence=configfs-tsm gpu=simulated;', '',
      qr/"confer_key": gpu=simulated goes with simulated=DIR only/ ],
    [ 'confer_key gpu_timeout=0',
      "confer_key simulated=$sim gpu_timeout=0;", '',
      qr/invalid parameter "gpu_timeout=0" in "confer_key"/ ],
    [ 'confer_key collateral missing',
      "confer_key simulated=$sim collateral=$p/no-collateral;", '',
      qr/"confer_key" collateral=\Q$p\E\/no-collateral: .*No such file or directory/ ],
    [ 'confer_key unknown parameter',
      "confer_key simulated=$sim colour=blue;", '',
      qr/invalid parameter "colour=blue" in "confer_key"/ ],
    [ 'confer_key twice', "$key\n$key", '',
      qr/"confer_key" directive is duplicate/ ],
    [ 'confer_key in a server', '', $key,
      qr/"confer_key" directive is not allowed here/ ],

    # --- confer_attestation
    [ 'confer_attestation without confer_key', '',
      'location / { confer_attestation; }',
      qr/"confer_attestation" needs a "confer_key" at the http level/ ],
    [ 'confer_attestation with a value', $key,
      'location / { confer_attestation on; }',
      qr/invalid number of arguments in "confer_attestation"/ ],
    [ 'confer_attestation twice', $key,
      'location / { confer_attestation; confer_attestation; }',
      qr/"confer_attestation" directive is duplicate/ ],
    [ 'confer_attestation in a server', $key, 'confer_attestation;',
      qr/"confer_attestation" directive is not allowed here/ ],

    # --- confer_coalesce
    [ 'confer_coalesce without a value', $key, 'confer_coalesce;',
      qr/invalid number of arguments in "confer_coalesce"/ ],
    [ 'confer_coalesce that is no time', $key, 'confer_coalesce soon;',
      qr/invalid value "soon" in "confer_coalesce"/ ],
    [ 'confer_coalesce above a minute', $key, 'confer_coalesce 61s;',
      qr/invalid value "61s" in "confer_coalesce"/ ],
    [ 'confer_coalesce twice', $key,
      'confer_coalesce 20ms; confer_coalesce 30ms;',
      qr/"confer_coalesce" directive is duplicate/ ],
    # --- confer_open
    [ 'confer_open without confer_key', '',
      'location / { confer_open; proxy_pass http://127.0.0.1:9; }',
      qr/"confer_open" needs a "confer_key" at the http level/ ],
    [ 'confer_open without proxy_pass', $key, 'location / { confer_open; }',
      qr/"confer_open" needs "proxy_pass" to the model server/ ],
    [ 'confer_open with fastcgi_pass (none of its protections would apply)',
      $key, 'location / { confer_open; fastcgi_pass 127.0.0.1:9; }',
      qr/"confer_open" needs "proxy_pass" to the model server/ ],
    [ 'confer_open unknown parameter', $key,
      'location / { confer_open speed=fast; proxy_pass http://127.0.0.1:9; }',
      qr/invalid parameter "speed=fast" in "confer_open"/ ],
    [ 'confer_open allow entry that is no path', $key,
      'location / { confer_open allow=v1; proxy_pass http://127.0.0.1:9; }',
      qr/invalid parameter "allow=v1" in "confer_open"/ ],
    [ 'confer_open wildcard inside an allow entry', $key,
      'location / { confer_open allow=/v1/*/x; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/invalid parameter "allow=\/v1\/\*\/x" in "confer_open"/ ],
    [ 'confer_open framing header in headers=', $key,
      'location / { confer_open headers=content-length; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/invalid parameter "headers=content-length" in "confer_open"/ ],
    [ 'confer_open max_body that is no size', $key,
      'location / { confer_open max_body=lots; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/invalid parameter "max_body=lots" in "confer_open"/ ],
    [ 'confer_open pad that is no size', $key,
      'location / { confer_open pad=some; proxy_pass http://127.0.0.1:9; }',
      qr/invalid parameter "pad=some" in "confer_open"/ ],
    [ 'confer_open twice', $key,
      'location / { confer_open; confer_open; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/"confer_open" directive is duplicate/ ],
    [ 'confer_open in a server', $key, 'confer_open;',
      qr/"confer_open" directive is not allowed here/ ],
    [ 'confer_open with proxy_cache', $key
      . "\nproxy_cache_path $p/cache keys_zone=pc:1m;",
      'location / { confer_open; proxy_cache pc; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/"confer_open" cannot be used with "proxy_cache"/ ],
    [ 'confer_open with proxy_store', $key,
      'location / { confer_open; proxy_store on; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/"confer_open" cannot be used with "proxy_store"/ ],
    [ 'confer_open with error_page', $key,
      'location / { confer_open; error_page 502 /e; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/"confer_open" cannot be used with "error_page"/ ],
    [ 'confer_open with client_body_in_file_only', $key,
      'location / { confer_open; client_body_in_file_only on; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/"confer_open" cannot be used with "client_body_in_file_only"/ ],
    [ 'confer_open and confer_attestation in one location', $key,
      'location / { confer_open; confer_attestation; '
      . 'proxy_pass http://127.0.0.1:9; }',
      qr/"confer_open" and "confer_attestation" cannot apply in one location/ ],
    [ 'confer_attestation inside a confer_open location', $key,
      'location / { confer_open; proxy_pass http://127.0.0.1:9; '
      . 'location /a { confer_attestation; } }',
      qr/"confer_open" and "confer_attestation" cannot apply in one location/ ],
    [ 'confer_open inside a confer_seal location', "$zone\n$key",
      "location /v1/ { $seal proxy_pass http://127.0.0.1:9;"
      . ' location /v1/x { confer_open; proxy_pass http://127.0.0.1:9; } }',
      qr/"confer_open" cannot apply in a location where "confer_seal" does/ ],
);

# every directive of the module (its ngx_command_t arrays) has rows here:
# a new directive needs its own
my %rows_of;
for my $r (@rows) {
    $rows_of{$1}++ while $r->[0] =~ /\b(confer_\w+)/g;
}
for my $f (glob Confer::Test::root() . '/ngx_confer_module/ngx_http_confer_*.c')
{
    my $src = Confer::Test::read_file($f) // '';
    for my $d ($src =~ /\{ ngx_string\("(confer_\w+)"\),\s*\n\s*NGX_HTTP_/g) {
        ok(($rows_of{$d} // 0) >= 3, "$d: $rows_of{$d} cases")
            or diag("no case of $d in this table");
    }
}

for my $r (@rows) {
    my ($name, $http, $server, $re) = @$r;
    my ($ok, $out) = $t->nginx_t({ http => $http, server => $server });
    ok(!$ok, "refused: $name");
    like($out, $re, "$name: the message says which and why")
        or diag($out);
}

$t->done;
