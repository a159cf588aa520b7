# confer_private and nginx -t.  Debian's nginx is built --with-debug: an
# error log at debug level (main, http, server or location) or
# debug_connection prints client addresses and every header, so a server
# with confer_private on refuses them unless "debug_log=allow" says the
# operator accepts that.  Servers sharing a listen port must agree, since
# addresses are replaced before the server is known.  Bad parameters name
# themselves.  A reload that meets a debug main log only once the whole
# configuration is read turns debugging off rather than dying.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use Confer::Test;

my $t = Confer::Test->new;

my $CONFLICT = re(qr/conflicts with "confer_private on" \(\S+:\d+\): debug /,
                  qr/lines carry client addresses and headers; add /,
                  qr/"debug_log=allow" to "confer_private"/);

# --- debug logging -----------------------------------------------------------

my @cases = (
    [ 'the main error_log at debug', { server => 'confer_private on;' },
      log_level => 'debug',
      qr/the main "error_log" is at debug level, which $CONFLICT/ ],
    [ 'an http error_log at debug',
      { http => 'error_log %%DIR%%/http.log debug;',
        server => 'confer_private on;' },
      qr/"error_log" at debug level in server "localhost" $CONFLICT/ ],
    [ 'a server error_log at debug_http',
      { server => "confer_private on;\nerror_log %%DIR%%/s.log debug_http;" },
      qr/"error_log" at debug level in server "localhost" $CONFLICT/ ],
    [ 'a location error_log at debug',
      { server => "confer_private on;\n"
                  . "location /x { error_log %%DIR%%/l.log debug; }" },
      re(qr/"error_log" at debug level in server "localhost", /,
         qr/location "\/x" /, $CONFLICT) ],
    [ 'debug_connection',
      { main => "events { debug_connection 127.0.0.1; }",
        server => 'confer_private on;' },
      qr/"debug_connection" $CONFLICT/ ],
);

for my $c (@cases) {
    my ($name, $spec, @rest) = @$c;
    my $re = pop @rest;

    my ($ok, $out) = $t->nginx_t($spec, @rest);
    ok(!$ok, "nginx -t refuses $name");
    like($out, $re, "... and says why") or diag($out);

    (my $allowed = $spec->{server})
        =~ s/confer_private on;/confer_private on debug_log=allow;/;
    ($ok, $out) = $t->nginx_t({ %$spec, server => $allowed }, @rest);
    ok($ok, "nginx -t accepts $name with debug_log=allow") or diag($out);
}

my ($ok, $out) = $t->nginx_t({ server => 'confer_private off;' },
                             log_level => 'debug');
ok($ok, 'a debug error log without confer_private is fine') or diag($out);

# the whole configuration is read before the main log and events{} are
# known: directives after http{} are caught too

for my $tail ("error_log %%DIR%%/late.log debug;",
              "events { debug_connection 127.0.0.1; }")
{
    ($ok, $out) = $t->nginx_t(<<"EOF");
http {
    server {
        listen 127.0.0.1:%%PORT_LATE%%;
        confer_private on;
    }
}
$tail
EOF
    ok(!$ok, "nginx -t refuses \"$tail\" after http{}");
    like($out, $CONFLICT, '... and says why') or diag($out);
}

# --- one listen port, one setting --------------------------------------------

for my $c ([ 'on and off', 'confer_private on;', 'confer_private off;' ],
           [ 'two periods', 'confer_private on period=1h;',
             'confer_private on period=2h;' ])
{
    ($ok, $out) = $t->nginx_t(two_servers($c->[1], $c->[2]));
    ok(!$ok, "nginx -t refuses servers of one port with $c->[0]");
    like($out, re(qr/"confer_private" differs between servers "a" and "b" /,
                  qr/that listen on 127\.0\.0\.1:\d+ \(\S+:\d+\)/),
         '... and names them') or diag($out);
}

($ok, $out) = $t->nginx_t(two_servers('confer_private on period=1h;',
                                      'confer_private on period=1h;'));
ok($ok, 'servers of one port that agree are fine') or diag($out);

($ok, $out) = $t->nginx_t({ http => 'confer_private on period=1h;',
                            server => 'confer_private on;' });
ok($ok, 'http level and server level') or diag($out);

# --- parameters --------------------------------------------------------------

for my $c ([ 'confer_private maybe;',
             re(qr/invalid value "maybe" in "confer_private" directive, /,
                qr/it must be "on" or "off"/) ],
           [ 'confer_private on period=0;',
             qr/invalid period "period=0" in "confer_private", it must be at least 1s/ ],
           [ 'confer_private on period=soon;',
             qr/invalid period "period=soon" in "confer_private"/ ],
           [ 'confer_private on debug_log=yes;',
             re(qr/invalid "debug_log=yes" in "confer_private", it must be /,
                qr/"debug_log=refuse" or "debug_log=allow"/) ],
           [ 'confer_private on colour=blue;',
             qr/invalid parameter "colour=blue" in "confer_private"/ ],
           [ 'confer_private off period=1h;',
             qr/parameter "period=1h" needs "confer_private on"/ ],
           [ "confer_private on;\nconfer_private on;",
             qr/"confer_private" directive is duplicate/ ],
           [ 'location / { confer_private on; }',
             qr/"confer_private" directive is not allowed here/ ])
{
    ($ok, $out) = $t->nginx_t({ server => $c->[0] });
    (my $what = $c->[0]) =~ s/\n/ /g;
    ok(!$ok, "nginx -t refuses: $what");
    like($out, $c->[1], '... and says why') or diag($out);
}

# --- a reload that meets a late debug main log -------------------------------

my $late = <<'EOF';
http {
    server {
        listen 127.0.0.1:%%PORT_FRONT%%;
        confer_private on;
        location = /addr { return 200 "$remote_addr\n"; }
    }
}
EOF

$t->nginx(front => $late);
ok($t->reload(front => $late . "error_log %%DIR%%/late.log debug;\n"),
   'a reload with a debug main log after http{} succeeds');
my $alert = re(qr/\[alert\] .*the main "error_log" is at debug level, /,
              qr/which conflicts with "confer_private on" \(\S+\): debug /,
              qr/logging is off/);
like(Confer::Test::read_file($t->error_log('front')), $alert,
     '... and says that debug logging is off');
$t->allow_error_log(front => $alert);

my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.2',
                              PeerAddr => '127.0.0.1',
                              PeerPort => $t->port('front'));
print $s "GET /addr HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
local $/;
like(scalar <$s>, qr/\r\n\r\n24\d\.|\r\n\r\n25\d\./,
     'the reloaded nginx answers with a pseudonym');
my $debug = Confer::Test::read_file($t->dir('front') . '/late.log') // '';
unlike($debug, qr/\[debug\]|127\.0\.0\.2/, 'and writes no debug line');

$t->done;


# one regex of several pieces
sub re {
    my $s = join '', @_;
    return qr/$s/;
}

sub two_servers {
    my ($a, $b) = @_;
    return <<"EOF";
http {
    server {
        listen 127.0.0.1:%%PORT_SHARED%%;
        server_name a;
        $a
    }
    server {
        listen 127.0.0.1:%%PORT_SHARED%%;
        server_name b;
        $b
    }
}
EOF
}
