# The terminator's directives: bad values fail nginx -t naming the
# directive and the value.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Confer::Test;
use Confer::Terminator;

sim_dir(Confer::Test->new);

run_tests();

__DATA__

=== confer_key needs an evidence source
--- http_config
confer_key lifetime=1h;
--- must_die
--- error_log
"confer_key" needs evidence=configfs-tsm or simulated=DIR

=== an unknown evidence source
--- http_config
confer_key evidence=sgx;
--- must_die
--- error_log
invalid evidence "evidence=sgx" in "confer_key"

=== two evidence sources
--- http_config
confer_key evidence=configfs-tsm simulated=%%TESTDIR%%/sim;
--- must_die
--- error_log
"confer_key" takes one evidence source, "simulated=

=== a bad lifetime
--- http_config
confer_key simulated=%%TESTDIR%%/sim lifetime=soon;
--- must_die
--- error_log
invalid parameter "lifetime=soon" in "confer_key"

=== a grace longer than the lifetime
--- http_config
confer_key simulated=%%TESTDIR%%/sim lifetime=1h grace=2h;
--- must_die
--- error_log
"confer_key" grace=7200 is longer than lifetime=3600

=== an unknown parameter
--- http_config
confer_key simulated=%%TESTDIR%%/sim colour=blue;
--- must_die
--- error_log
invalid parameter "colour=blue" in "confer_key"

=== confer_key twice
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
confer_key simulated=%%TESTDIR%%/sim;
--- must_die
--- error_log
"confer_key" directive is duplicate

=== confer_key in a server
--- config
confer_key simulated=%%TESTDIR%%/sim;
--- must_die
--- error_log
"confer_key" directive is not allowed here

=== a directory that holds no simulated platform
--- http_config
confer_key simulated=%%TESTDIR%%/nothing-here;
--- must_die
--- error_log
"confer_key" simulated=
does not hold a simulated platform

=== tsm_root goes with configfs-tsm only
--- http_config
confer_key simulated=%%TESTDIR%%/sim tsm_root=/tmp;
--- must_die
--- error_log
tsm_root= and certs= go with evidence=configfs-tsm only

=== a replay zone too small
--- http_config
confer_key simulated=%%TESTDIR%%/sim replay=r:1k;
--- must_die
--- error_log
invalid replay zone size "replay=r:1k" in "confer_key"

=== confer_open without confer_key
--- config
location / { confer_open; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
"confer_open" needs a "confer_key" at the http level

=== confer_attestation without confer_key
--- config
location / { confer_attestation; }
--- must_die
--- error_log
"confer_attestation" needs a "confer_key" at the http level

=== confer_open with an unknown parameter
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / { confer_open speed=fast; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
invalid parameter "speed=fast" in "confer_open"

=== an allow entry that is no path
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / { confer_open allow=/v1/models,v1/x; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
invalid parameter "allow=/v1/models,v1/x" in "confer_open"

=== a wildcard inside an allow entry
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / { confer_open allow=/v1/*/x; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
invalid parameter "allow=/v1/*/x" in "confer_open"

=== a framing header in headers=
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / { confer_open headers=x-a,content-length; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
invalid parameter "headers=x-a,content-length" in "confer_open"

=== a bad max_body
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / { confer_open max_body=lots; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
invalid parameter "max_body=lots" in "confer_open"

=== a pad quantum too large
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / { confer_open pad=1000000; proxy_pass http://127.0.0.1:1; }
--- must_die
--- error_log
invalid parameter "pad=1000000" in "confer_open"

=== plaintext must not go to files
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / {
    client_body_in_file_only on;
    confer_open;
    proxy_pass http://127.0.0.1:1;
}
--- must_die
--- error_log
"confer_open" cannot be used with "client_body_in_file_only"

=== proxy_store would write answers to disk
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
--- config
location / {
    confer_open;
    proxy_pass http://127.0.0.1:1;
    proxy_store on;
}
--- must_die
--- error_log
"confer_open" cannot be used with "proxy_store"

=== answers must not be cached
--- http_config
confer_key simulated=%%TESTDIR%%/sim;
proxy_cache_path %%TESTDIR%%/cache keys_zone=c:1m;
--- config
location / {
    confer_open;
    proxy_pass http://127.0.0.1:1;
    proxy_cache c;
}
--- must_die
--- error_log
"confer_open" cannot be used with "proxy_cache"

=== a good configuration
--- http_config
confer_key simulated=%%TESTDIR%%/sim lifetime=30m grace=5m renew=off replay=rz:64k tsm_timeout=3s;
--- config
location = /a { confer_attestation; }
location = /o {
    confer_open allow=/v1/models,/v1/x/* headers=x-a max_body=64k pad=128;
    proxy_pass http://127.0.0.1:1;
}
--- request
GET /a
--- error_code: 200
--- response_body_like: "platform":"simulated"
