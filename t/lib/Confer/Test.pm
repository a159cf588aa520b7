package Confer::Test;

# The integration test harness of ngx_confer_module: Debian's stock nginx
# with our .so loaded, several named instances per test file (a gateway and
# a terminator, say), the MOCK model server and the recording relay as
# helper daemons, and a check after the file that no error log has an
# [alert], [emerg] or sanitizer line.  Core Perl only.  See t/README.md.
#
#   use Confer::Test;
#   my $t = Confer::Test->new;
#   my $mock = $t->start_mock;
#   $t->nginx(front => { server => 'location / { proxy_pass
#       http://127.0.0.1:%%PORT_MOCK%%; }' });
#   my $r = $t->request(front => 'GET /v1/models');
#   is($r->status, 200, 'models');
#   $t->done;

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Exporter 'import';
use Fcntl qw(:flock O_CREAT O_RDWR);
use File::Basename qw(basename dirname);
use File::Copy qw(copy);
use File::Find ();
use File::Path qw(make_path remove_tree);
use File::Temp ();
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time);

use Confer::HTTP;

our @EXPORT = qw(run_tests run_blocks);

our $ROOT = abs_path(dirname(abs_path(__FILE__)) . '/../../..');
our $T;                             # the one harness of this test file
our $WAIT = $ENV{CONFER_TEST_WAIT} || 10;

my $JSON = JSON::PP->new->utf8->canonical;

# the lines that fail a test file when they appear in any nginx error log
our $BAD_LOG_LINE = qr/\[alert\]|\[emerg\]|Sanitizer|runtime error/;

# --- set up ------------------------------------------------------------------

# Confer::Test->new(%opt): the harness of this test file (one per file).
#   nginx => 0   the file needs no nginx (default 1: skip without one)
#   node  => 1   the file needs node (skip without it)
sub new {
    my ($class, %o) = @_;
    return $T if $T;

    my $self = bless {
        pid       => $$,
        nginx_bin => $ENV{CONFER_NGINX} || '/usr/sbin/nginx',
        module    => $ENV{CONFER_MODULE}
                     || build_dir() . '/nginx/ngx_http_confer_module.so',
        node      => $ENV{CONFER_NODE} || 'node',
        log_level => $ENV{CONFER_TEST_LOG_LEVEL} || 'info',
        ports     => {},
        locks     => {},
        nginx     => {},        # name => instance
        order     => [],        # instance names, in creation order
        daemons   => {},        # name => { pid, log, ... }
        allowed   => {},        # name => [ regexes exempt from the check ]
    }, $class;

    if ($o{nginx} // 1) {
        plan(skip_all => "no nginx at $self->{nginx_bin} (set CONFER_NGINX)")
            unless -x $self->{nginx_bin};
        plan(skip_all => "module $self->{module} is not built (run make)")
            unless -f $self->{module};
    }
    # a module built with -fsanitize=address loads only with the runtime
    # preloaded: do it without being asked
    $self->{asan} = $ENV{CONFER_ASAN} // (-f $self->{module}
        && `readelf -d $self->{module} 2>/dev/null` =~ /NEEDED.*libasan/
        ? 1 : 0);
    if ($o{node} || $o{npm}) {
        plan(skip_all => 'node is not installed') unless $self->has_node;
    }
    # npm => 1: the test drives the Node packages of package.json
    if ($o{npm}) {
        plan(skip_all => "$ROOT/node_modules is missing (run make deps)")
            unless -f "$ROOT/node_modules/.package-lock.json";
    }

    my $name = basename($0, '.t');
    $name =~ s/[^\w-]/_/g;
    $self->{prefix} = File::Temp::tempdir("confer-$name-XXXXXX",
                                          TMPDIR => 1, CLEANUP => 0);
    make_path("$self->{prefix}/helpers");
    note("test prefix: $self->{prefix}");

    # a test killed by prove or ^C still stops its daemons (END runs)
    $SIG{INT} = $SIG{TERM} = sub { exit 1 };
    $SIG{PIPE} = 'IGNORE';

    $T = $self;
    return $self;
}

sub build_dir {
    return $ENV{CONFER_BUILD} || "$ROOT/build";
}

sub vectors_dir {
    return $ENV{CONFER_VECTORS} || "$ROOT/../shared/vectors";
}

sub root      { $ROOT }
sub prefix    { $_[0]{prefix} }
sub module    { $_[0]{module} }
sub nginx_bin { $_[0]{nginx_bin} }

sub has_node {
    my ($self) = @_;
    my $v = `$self->{node} --version 2>/dev/null`;
    return $? == 0 && $v =~ /^v\d+/;
}

# --- free ports --------------------------------------------------------------

# port(NAME): a free loopback port for NAME, the same for the whole file.
# Ports come from below the kernel's ephemeral range (so that outgoing
# connections never take them) and are reserved with a lock file held for
# the life of this process, so that parallel test files never share one.
sub port {
    my ($self, $name) = @_;
    $name = uc $name;
    return $self->{ports}{$name} //= $self->_free_port;
}

sub _free_port {
    my ($self) = @_;
    my $dir = ($ENV{TMPDIR} || '/tmp') . '/confer-test-ports';
    unless (-d $dir) {
        mkdir $dir;
        chmod 01777, $dir;
    }

    my $lo = 20000;
    my $hi = 32767;
    if (open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        my ($elo) = split ' ', scalar <$fh>;
        $hi = $elo - 1 if $elo && $elo - 1 < $hi;
        $lo = 10000 if $hi - $lo < 1000;
    }

    for (1 .. 1000) {
        my $p = $lo + int rand($hi - $lo + 1);
        next if $self->{locks}{$p};
        sysopen(my $lock, "$dir/$p", O_RDWR | O_CREAT, 0666) or next;
        # locked, and still the file of that name: its last owner may have
        # unlinked it between our open and our flock
        unless (flock($lock, LOCK_EX | LOCK_NB)
                && (stat $lock)[1] == ((stat "$dir/$p")[1] // -1))
        {
            CORE::close($lock);
            next;
        }
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Proto => 'tcp',
                                      ReuseAddr => 1, Listen => 1);
        unless ($s) {
            CORE::close($lock);
            next;
        }
        CORE::close($s);
        $self->{locks}{$p} = [ $lock, "$dir/$p" ];
        return $p;
    }
    croak('no free port found');
}

# unlink while still holding the lock, so that nobody locks a stale file
sub _release_ports {
    my ($self) = @_;
    for my $l (values %{ $self->{locks} }) {
        unlink $l->[1];
        CORE::close($l->[0]);
    }
    $self->{locks} = {};
}

# --- templates ---------------------------------------------------------------

# Expands %%PORT_NAME%%, %%TESTDIR%%, %%DIR%% (the instance's directory),
# %%ROOT%%, %%BUILD%%, %%MODULE%%, %%VECTORS%%.  Unknown placeholders die.
sub expand {
    my ($self, $text, $inst) = @_;
    my %v = (
        TESTDIR => $self->{prefix},
        ROOT    => $ROOT,
        BUILD   => build_dir(),
        MODULE  => $self->{module},
        VECTORS => vectors_dir(),
    );
    $v{DIR} = $self->dir($inst) if defined $inst;
    $text =~ s/%%PORT_(\w+)%%/$self->port($1)/ge;
    $text =~ s/%%(\w+)%%/exists $v{$1} ? $v{$1}
                         : croak("unknown placeholder %%$1%% in template")/ge;
    return $text;
}

sub dir {
    my ($self, $name) = @_;
    return "$self->{prefix}/" . lc $name;
}

sub error_log  { $_[0]->dir($_[1]) . '/error.log' }
sub access_log { $_[0]->dir($_[1]) . '/access.log' }

# The nginx.conf text of an instance.  $spec is either a whole config (text
# with an http block, or none) or a hash of pieces:
#   { main => '..', http => '..', server => '..' }
# which becomes one server listening on 127.0.0.1:%%PORT_<NAME>%%.  Either
# way the harness adds load_module, daemon, pid, error_log, user root (when
# root), worker_processes 1 and events {} (at the end) unless present, and
# inside http every *_temp_path (in the instance's directory) and an
# access_log.
sub config_text {
    my ($self, $name, $spec, %o) = @_;
    my $dir = $self->dir($name);
    my $level = $o{log_level} || $self->{log_level};
    my $body;

    if (ref $spec eq 'HASH') {
        my $port = '%%PORT_' . uc($name) . '%%';
        my $server = $spec->{server} // '';
        $body = ($spec->{main} // '') . "\n"
              . "http {\n"
              . _indent($spec->{http} // '')
              . "    server {\n"
              . "        listen 127.0.0.1:$port;\n"
              . "        server_name localhost;\n\n"
              . _indent(_indent($server))
              . "    }\n"
              . "}\n";
    } else {
        $body = $spec // '';
    }
    $body = $self->expand($body, $name);

    my @main;
    push @main, "load_module $self->{module};" unless $o{no_module};
    push @main, 'daemon on;' unless $body =~ /^\s*daemon\s/m;
    push @main, "pid $dir/nginx.pid;";
    push @main, "error_log $dir/error.log $level;";
    push @main, 'user root;' if $> == 0 && $body !~ /^\s*user\s/m;
    push @main, 'worker_processes 1;'
        unless $body =~ /^\s*worker_processes\s/m;

    my @http;
    for my $p (qw(client_body proxy fastcgi uwsgi scgi)) {
        push @http, "${p}_temp_path $dir/temp/$p;"
            unless $body =~ /\b${p}_temp_path\b/;
    }
    push @http, "access_log $dir/access.log;";
    my $http = join '', map { "    $_\n" } @http;

    unless ($body =~ s/^(\s*http\s*\{[^\n]*\n)/$1$http/m) {
        # no http block: the temp paths still must not point to
        # /var/lib/nginx, nginx -t creates them
        $body .= "\nhttp {\n$http}\n" unless $o{no_http};
    }

    # events last: load_module lines of the body must precede it
    $body .= "\nevents { }\n" unless $body =~ /^\s*events\s*\{/m;

    return "# written by Confer::Test for instance $name\n"
         . join('', map { "$_\n" } @main) . "\n" . $body;
}

sub _indent {
    my ($s) = @_;
    return '' unless length $s;
    $s =~ s/^(?=.)/    /mg;
    $s .= "\n" unless $s =~ /\n\z/;
    return $s;
}

# Writes the instance's nginx.conf and returns its path.
sub write_config {
    my ($self, $name, $spec, %o) = @_;
    my $dir = $self->dir($name);
    make_path("$dir/temp");
    my $inst = $self->_instance($name);
    $inst->{log_level} = $o{log_level} if $o{log_level};
    $inst->{no_module} = $o{no_module} if exists $o{no_module};
    my $text = $self->config_text($name, $spec,
                                  log_level => $inst->{log_level},
                                  no_module => $inst->{no_module});
    _write_file("$dir/nginx.conf", $text);
    $inst->{conf_text} = $text;
    return "$dir/nginx.conf";
}

sub _instance {
    my ($self, $name) = @_;
    $name = lc $name;
    croak("instance name $name: use letters, digits and _ only")
        unless $name =~ /^\w+$/;
    unless ($self->{nginx}{$name}) {
        $self->{nginx}{$name} = { name => $name };
        push @{ $self->{order} }, $name;
    }
    return $self->{nginx}{$name};
}

sub _write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or croak("$path: $!");
    binmode $fh;
    print $fh $text;
    CORE::close($fh) or croak("$path: $!");
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return undef;
    binmode $fh;
    local $/;
    my $s = <$fh>;
    return $s // '';
}

# --- nginx instances ---------------------------------------------------------

sub _asan_env {
    my ($self) = @_;
    return () unless $self->{asan};
    my @libs;
    for my $l (qw(libasan.so libubsan.so)) {
        my $p = `gcc -print-file-name=$l`;
        chomp $p;
        croak("CONFER_ASAN=1 but gcc does not know $l") unless $p =~ m{/};
        push @libs, $p;
    }
    my $leaks = $ENV{CONFER_ASAN_LEAKS} ? 1 : 0;
    return (
        LD_PRELOAD   => join(':', @libs),
        ASAN_OPTIONS => $ENV{ASAN_OPTIONS}
                        || "detect_leaks=$leaks:abort_on_error=0"
                           . ':detect_odr_violation=0',
        UBSAN_OPTIONS => $ENV{UBSAN_OPTIONS} || 'print_stacktrace=1',
    );
}

# Runs a command with its output in a file; returns (exit code, output).
sub _run {
    my ($self, $env, $out, @cmd) = @_;
    my $pid = fork // croak("fork: $!");
    if ($pid == 0) {
        %ENV = (%ENV, @$env);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $rc = $? >> 8;
    return ($rc, read_file($out) // '');
}

sub _nginx_cmd {
    my ($self, $name, @args) = @_;
    my $dir = $self->dir($name);
    return ($self->{nginx_bin}, '-p', "$dir/", '-c', "$dir/nginx.conf",
            '-e', "$dir/error.log", @args);
}

# nginx($name, $spec, %o): write the config and (re)start the instance.
# Returns the port of %%PORT_<NAME>%%.
sub nginx {
    my ($self, $name, $spec, %o) = @_;
    $self->stop($name) if $self->running($name);
    $self->write_config($name, $spec, %o);
    $self->start($name);
    return $self->port($name);
}

# start($name): start an instance whose config is written; returns when its
# pid file exists and every listen socket of the config accepts.
sub start {
    my ($self, $name) = @_;
    my $inst = $self->_instance($name);
    my $dir = $self->dir($name);
    if ($inst->{pid}) {
        croak("nginx $name is already running") if _alive($inst->{pid});
        delete $inst->{pid};        # it died; the log check will say why
    }
    croak("nginx $name has no config") unless -f "$dir/nginx.conf";

    unlink "$dir/nginx.pid";
    my ($rc, $out) = $self->_run([ $self->_asan_env ], "$dir/start.out",
                                 $self->_nginx_cmd($name));
    if ($rc != 0) {
        croak("nginx $name did not start (exit $rc):\n$out"
              . _tail($self->error_log($name)));
    }

    my $pid;
    $self->_wait_for(sub {
        my $s = read_file("$dir/nginx.pid");
        $pid = $1 if defined $s && $s =~ /^(\d+)\n/;
        return $pid;
    }, "nginx $name writes its pid file");
    $inst->{pid} = $pid;

    for my $port (_listen_ports(read_file("$dir/nginx.conf"))) {
        $self->wait_port($port, "nginx $name listens on $port",
                         sub { _alive($pid) });
    }
    return $pid;
}

sub running {
    my ($self, $name) = @_;
    my $inst = $self->{nginx}{ lc $name };
    return $inst && $inst->{pid} && _alive($inst->{pid});
}

sub nginx_pid {
    my ($self, $name) = @_;
    return $self->{nginx}{ lc $name }{pid};
}

# the TCP ports an nginx.conf listens on
sub _listen_ports {
    my ($text) = @_;
    my %p;
    for ($text =~ /^\s*listen\s+([^;]+);/mg) {
        next if /^unix:/ || /\b(udp|quic)\b/;
        my ($addr) = split ' ';
        $p{$1} = 1 if $addr =~ /(?:^|:)(\d+)$/;
    }
    return sort keys %p;
}

# stop($name): QUIT, then TERM, then KILL; waits until the master is gone.
sub stop {
    my ($self, $name) = @_;
    my $inst = $self->{nginx}{ lc $name } or return;
    my $pid = delete $inst->{pid} or return;
    for my $sig (qw(QUIT TERM KILL)) {
        kill $sig, $pid;
        my $gone = eval {
            $self->_wait_for(sub { !_alive($pid) }, "nginx $name stops",
                             $sig eq 'KILL' ? $WAIT : $WAIT / 2);
            1;
        };
        if ($gone) {
            diag("nginx $name needed $sig to stop") unless $sig eq 'QUIT';
            last;
        }
    }
    return 1;
}

# a process that exists and is not a zombie
sub _alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    my $st = read_file("/proc/$pid/stat") // return 0;
    return $st !~ /\)\s+Z\s/;
}

# the children of $pid with their command lines
sub _children {
    my ($ppid) = @_;
    my %c;
    opendir my $d, '/proc' or return %c;
    for my $p (grep { /^\d+$/ } readdir $d) {
        my $st = read_file("/proc/$p/stat") // next;
        my ($pp) = $st =~ /\)\s+\S+\s+(\d+)/ or next;
        next unless $pp == $ppid;
        my $cmd = read_file("/proc/$p/cmdline") // '';
        $cmd =~ s/\0/ /g;
        $c{$p} = $cmd;
    }
    return %c;
}

# reload($name[, $spec, %o]): write the new config if given, signal the
# master (what nginx -s reload does) and wait until a new worker runs and
# every old one is gone or shutting down, so that the next connection meets
# the new config.  Returns 1, or 0 when nginx refused the new config
# (an [emerg] after the signal).  With fail_ok => 1 that [emerg] is exempt
# from the end-of-file error log check.
sub reload {
    my ($self, $name, $spec, %o) = @_;
    my $inst = $self->{nginx}{ lc $name };
    croak("nginx $name is not running") unless $inst && $inst->{pid};
    $self->write_config($name, $spec, %o) if defined $spec;

    my $log = $self->error_log($name);
    my $from = -s $log // 0;

    # a master that has no worker yet has not blocked its signals: a HUP
    # then is noted and acted on only at the next signal, after the test
    my %old;
    $self->_wait_for(sub {
        %old = _children($inst->{pid});
        return grep { /worker process/ } values %old;
    }, "nginx $name runs its workers before the reload");

    kill 'HUP', $inst->{pid} or croak("kill HUP $inst->{pid}: $!");

    my $result;
    $self->_wait_for(sub {
        my $slice = $self->log_slice($name, 'error', $from);
        if ($slice =~ /^.*\[emerg\].*$/m) {
            $result = 0;
            return 1;
        }
        my %now = _children($inst->{pid});
        my @new = grep { !$old{$_} && $now{$_} =~ /worker process/ }
                  keys %now;
        my @old_busy = grep { exists $now{$_} && $now{$_} =~ /worker process/
                              && $now{$_} !~ /shutting down/ } keys %old;
        if (@new && !@old_busy) {
            $result = 1;
            return 1;
        }
        return 0;
    }, "nginx $name reloads");

    if (!$result && $o{fail_ok}) {
        my $slice = $self->log_slice($name, 'error', $from);
        $self->allow_error_log($name, qr/^\Q$_\E$/)
            for grep { /$BAD_LOG_LINE/ } split /\n/, $slice;
    }
    return $result;
}

# nginx_t($spec, %o): `nginx -t` on a config built like an instance's, in a
# directory of its own that the end-of-file check skips.
# Returns ($ok, $output) in list context.
sub nginx_t {
    my ($self, $spec, %o) = @_;
    my $name = 'nginx_t_' . ++$self->{n_t};
    my $dir = $self->dir($name);
    make_path("$dir/temp");
    my $text = ref $spec eq 'HASH' || !$o{raw}
             ? $self->config_text($name, $spec, %o) : $spec;
    _write_file("$dir/nginx.conf", $text);
    my ($rc, $out) = $self->_run([ $self->_asan_env ], "$dir/nginx-t.out",
                                 $self->_nginx_cmd($name, '-t'));
    return wantarray ? ($rc == 0, $out) : $rc == 0;
}

# conf_rewrite($text): make a ready nginx.conf from conf/ runnable here:
#   - its load_module line for our .so, and pid, daemon and user lines go
#     (the harness adds its own);
#   - /var/log/nginx/ becomes the instance directory;
#   - /etc/nginx/confer/ becomes <prefix>/confer/, a copy of conf/;
#   - every port of 127.0.0.1:N, localhost:N, [::1]:N, or of a listen
#     directive, becomes the file-wide free port %%PORT_CONF_N%%, so that
#     files that point at each other still do;
#   - a terminator's evidence: a simulated=DIR under /etc/nginx/confer/ is
#     made (confer-attest simulate init), and evidence=configfs-tsm without
#     a tsm_root= gets one: a fake configfs-tsm tree (t/tools/fake-tsm)
#     that this harness serves, so nginx -t runs the real provider code;
#   - a gateway's policy=/etc/nginx/confer/FILE whose simulated_root is a
#     relative DIR/sim-root.pem gets that DIR made the same way.
sub conf_rewrite {
    my ($self, $text, $name) = @_;
    my $dir = $self->dir($name // 'conf');
    my $confer = "$self->{prefix}/confer";
    $self->_copy_conf_dir($confer);
    $text = $self->_conf_evidence($text, $confer);

    $text =~ s/^\s*load_module\s+\S*ngx_http_confer_module\.so\s*;[^\n]*\n//mg;
    $text =~ s/^\s*(?:pid|daemon|user)\s[^;]*;[^\n]*\n//mg;
    $text =~ s{/var/log/nginx/}{$dir/}g;
    $text =~ s{/etc/nginx/confer/}{$confer/}g;
    $text =~ s{^(\s*listen\s+)(?:(?:[\d.]+|\*|localhost|\[[^\]]*\]):)?(\d+)\b}
              {$1 . '127.0.0.1:%%PORT_CONF_' . $2 . '%%'}mge;
    $text =~ s{(?<![\w.])(127\.0\.0\.1|localhost|\[::1\]):(\d+)\b}
              {$1 . ':%%PORT_CONF_' . $2 . '%%'}ge;
    return $text;
}

sub _conf_evidence {
    my ($self, $text, $confer) = @_;
    my $cli = build_dir() . '/confer-attest';

    my @sims = $text =~ m{\bsimulated=/etc/nginx/confer/([^\s;]+)}g;
    for my $policy ($text =~ m{\bpolicy=/etc/nginx/confer/([^\s;]+)}g) {
        my $p = eval { $JSON->decode(read_file("$confer/$policy") // '') };
        push @sims, $1 if $p && ($p->{simulated_root} // '')
                              =~ m{^([\w.-]+)/sim-root\.pem$};
    }

    for my $sim (@sims) {
        next if -f "$confer/$sim/sim-root.pem";
        my $out = qx('$cli' simulate init '$confer/$sim' 2>&1);
        croak("$cli simulate init $confer/$sim: $out") if $?;
    }

    my $active = join "\n", grep { !/^\s*#/ } split /\n/, $text;
    if ($active =~ /\bevidence=configfs-tsm\b/
        && $active !~ /\btsm_root=/)
    {
        my $root = "$self->{prefix}/helpers/fake-tsm";
        unless ($self->daemon_alive('fake-tsm')) {
            my $sim = "$self->{prefix}/helpers/fake-tsm-sim";
            my $out = qx('$cli' simulate init '$sim' 2>&1);
            croak("$cli simulate init $sim: $out") if $?;
            $self->spawn('fake-tsm', [ build_dir() . '/tools/fake-tsm',
                                       $root, $sim ]);
            $self->_wait_for(sub { -f "$root/ready" }, 'fake-tsm is ready');
        }
        $text =~ s/\bevidence=configfs-tsm\b/evidence=configfs-tsm tsm_root=$root/;
    }

    return $text;
}

sub _copy_conf_dir {
    my ($self, $to) = @_;
    return if -d $to;
    my $from = "$ROOT/conf";
    make_path($to);
    return unless -d $from;
    File::Find::find({ no_chdir => 1, wanted => sub {
        (my $rel = $File::Find::name) =~ s{^\Q$from\E/?}{};
        return unless length $rel;
        if (-d $_) {
            make_path("$to/$rel");
        } else {
            copy($_, "$to/$rel") or croak("copy $_: $!");
        }
    } }, $from);
}

# nginx_t_file($path): `nginx -t` on a conf/ file, rewritten as above.
sub nginx_t_file {
    my ($self, $path, %o) = @_;
    my $text = read_file($path) // croak("$path: $!");
    my $name = 'nginx_t_' . (($self->{n_t} // 0) + 1);
    return $self->nginx_t($self->conf_rewrite($text, $name), %o);
}

# --- logs --------------------------------------------------------------------

sub log_size {
    my ($self, $name, $which) = @_;
    my $f = $which eq 'access' ? $self->access_log($name)
          : $self->error_log($name);
    return -s $f // 0;
}

# log_slice($name, 'error'|'access', $from): the log from byte $from on.
sub log_slice {
    my ($self, $name, $which, $from) = @_;
    my $s = read_file($which eq 'access' ? $self->access_log($name)
                                         : $self->error_log($name)) // '';
    return substr($s, $from // 0) // '';
}

sub allow_error_log {
    my ($self, $name, $re) = @_;
    push @{ $self->{allowed}{ lc $name } }, $re;
}

# the lines of a log text that fail the end-of-file check
sub bad_lines {
    my ($text, @allowed) = @_;
    my @bad;
    for my $l (split /\n/, $text // '') {
        next unless $l =~ $BAD_LOG_LINE;
        next if grep { $l =~ $_ } @allowed;
        push @bad, $l;
    }
    return @bad;
}

# the error log lines of an instance that fail the end-of-file check
sub bad_log_lines {
    my ($self, $name) = @_;
    my @allowed = @{ $self->{allowed}{ lc $name } || [] };
    return map { bad_lines(read_file($_), @allowed) }
        $self->error_log($name), $self->dir($name) . '/start.out';
}

sub check_error_logs {
    my ($self) = @_;
    for my $name (@{ $self->{order} }) {
        my @bad = $self->bad_log_lines($name);
        ok(!@bad, "$name: no [alert], [emerg] or sanitizer line in the"
                  . ' error log')
            or diag(join "\n", @bad[0 .. ($#bad > 19 ? 19 : $#bad)]);
    }
}

sub _tail {
    my ($f) = @_;
    my $s = read_file($f) // return '';
    my @l = split /\n/, $s;
    @l = @l[-20 .. -1] if @l > 20;
    return "--- $f:\n" . join("\n", @l) . "\n";
}

# grep_prefix(\@strings, %o): where any of the strings occurs, byte for
# byte, in any file under the prefix: logs, temp files, configs.  The
# helpers/ directory (the mock's and relay's own records, which hold
# everything by design) is skipped unless helpers => 1; dirs => [names]
# limits the search to those instances.  Returns a list of
# { file, string, offset }.
sub grep_prefix {
    my ($self, $strings, %o) = @_;
    $strings = [ $strings ] unless ref $strings;
    my @roots = $o{dirs} ? map { $self->dir($_) } @{ $o{dirs} }
                         : ($self->{prefix});
    my @hits;
    for my $root (grep { -d } @roots) {
        File::Find::find({ no_chdir => 1, wanted => sub {
            return unless -f $_;
            return if !$o{helpers} && m{^\Q$self->{prefix}\E/helpers/};
            my $s = read_file($_) // return;
            for my $needle (@$strings) {
                my $i = index($s, $needle);
                push @hits, { file => $_, string => $needle, offset => $i }
                    if $i >= 0;
            }
        } }, $root);
    }
    return @hits;
}

# --- waiting for things ------------------------------------------------------

# wait_for($cond, $what[, $timeout]): polls $cond until it holds and
# returns its value; dies naming $what after the timeout (CONFER_TEST_WAIT,
# 10 s).  This waits for a condition (a file, a socket, a process, a log
# line), never for a fixed time.
sub wait_for { my $self = shift; return $self->_wait_for(@_) }

sub _wait_for {
    my ($self, $cond, $what, $timeout) = @_;
    my $deadline = time + ($timeout || $WAIT);
    my $pause = 0.002;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        croak("timed out waiting until $what") if time > $deadline;
        select(undef, undef, undef, $pause);
        $pause *= 2 if $pause < 0.05;
    }
}

# wait_port($port, $what[, $alive[, $timeout]]): until a TCP connect to
# 127.0.0.1:$port succeeds; $alive->() false means the server died, and
# fails at once.
sub wait_port {
    my ($self, $port, $what, $alive, $timeout) = @_;
    $what ||= "port $port accepts";
    $self->_wait_for(sub {
        croak("$what: the server exited") if $alive && !$alive->();
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        return 0 unless $s;
        CORE::close($s);
        return 1;
    }, $what, $timeout);
}

# --- helper daemons ----------------------------------------------------------

# spawn($name, \@cmd, %o): a child process with its output in
# helpers/$name.log, stopped (TERM) at the end of the file.
sub spawn {
    my ($self, $name, $cmd, %o) = @_;
    croak("helper $name is already running") if $self->{daemons}{$name};
    my $log = "$self->{prefix}/helpers/$name.log";
    my $pid = fork // croak("fork: $!");
    if ($pid == 0) {
        %ENV = (%ENV, %{ $o{env} || {} });
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec { $cmd->[0] } @$cmd or POSIX::_exit(127);
    }
    $self->{daemons}{$name} = { pid => $pid, log => $log, cmd => $cmd };
    return $pid;
}

sub daemon_alive {
    my ($self, $name) = @_;
    my $d = $self->{daemons}{$name} or return 0;
    return 0 if $d->{exited};
    my $r = waitpid($d->{pid}, WNOHANG);
    if ($r == $d->{pid}) {
        $d->{exited} = $?;
        return 0;
    }
    return 1;
}

sub stop_daemon {
    my ($self, $name) = @_;
    my $d = delete $self->{daemons}{$name} or return;
    return if $d->{exited};
    for my $sig (qw(TERM KILL)) {
        kill $sig, $d->{pid};
        my $ok = eval {
            $self->_wait_for(sub { waitpid($d->{pid}, WNOHANG) != 0 },
                             "helper $name exits", $WAIT / 2);
        };
        last if $ok;
    }
}

# start_mock(%o): the MOCK model server on the free port %%PORT_MOCK%%
# (or %%PORT_<name>%% with name => ...).  Returns the port.
sub start_mock {
    my ($self, %o) = @_;
    my $name = $o{name} || 'mock';
    my $port = $self->port($name);
    $self->spawn($name, [ $self->{node}, "$ROOT/t/mock/mock-model-server.js",
                          '--port', $port ]);
    $self->wait_port($port, "the MOCK model server $name listens",
                     sub { $self->daemon_alive($name) });
    $self->{mocks}{$name} = $port;
    return $port;
}

sub _mock_call {
    my ($self, $method, $path, $name) = @_;
    my $port = $self->{mocks}{ $name || 'mock' }
        // croak('no mock server ' . ($name || 'mock'));
    my $r = Confer::HTTP::request(port => $port, method => $method,
                                  path => $path);
    croak("mock $method $path: " . ($r->error // $r->status))
        unless ($r->status // 0) == 200;
    return $r->json;
}

# What the mock received: [{ seq, t, method, path, url, headers (lower
# case), raw_headers, body, status, events_sent: [t...], complete }].
sub mock_requests { $_[0]->_mock_call('GET', '/__mock/requests', $_[1]) }
sub mock_reset    { $_[0]->_mock_call('DELETE', '/__mock/requests', $_[1]) }
sub mock_release  { $_[0]->_mock_call('POST', '/__mock/release', $_[1]) }

# start_relay($name, target => PORT|NAME|HOST:PORT, mutate => [specs]):
# the recording relay (t/tools/relay) on %%PORT_<name>%%.  A target that is
# a name means %%PORT_<target>%%.  Restarting a relay empties its record.
sub start_relay {
    my ($self, $name, %o) = @_;
    my $key = "relay-" . lc $name;
    $self->stop_daemon($key) if $self->{daemons}{$key};
    my $port = $self->port($name);
    my $target = $o{target} // croak('relay needs a target');
    $target = $self->port($target) if $target =~ /^[A-Za-z_]\w*$/;
    my $rec = "$self->{prefix}/helpers/$key.jsonl";
    my $ready = "$self->{prefix}/helpers/$key.ready";
    unlink $rec, $ready;

    $self->spawn($key, [ $self->{node}, "$ROOT/t/tools/relay",
                         '--listen', "127.0.0.1:$port",
                         '--target', $target, '--record', $rec,
                         '--ready', $ready,
                         map { ('--mutate', $_) } @{ $o{mutate} || [] } ]);
    $self->_wait_for(sub {
        croak("relay $name exited: " . (read_file("$self->{prefix}/helpers/"
                                                  . "$key.log") // ''))
            unless $self->daemon_alive($key);
        return -f $ready;
    }, "relay $name listens");
    $self->{relays}{ lc $name } = $rec;
    return $port;
}

sub stop_relay {
    my ($self, $name) = @_;
    $self->stop_daemon('relay-' . lc $name);
}

# relay_records($name): the record, one hash per line, with the base64
# fields decoded into bytes (data) and sent (when a mutation changed it).
sub relay_records {
    my ($self, $name) = @_;
    my $rec = $self->{relays}{ lc $name } // croak("no relay $name");
    my $s = read_file($rec) // '';
    my @r;
    for my $l (split /\n/, $s) {
        my $o = $JSON->decode($l);
        require MIME::Base64;
        for my $k (qw(data sent)) {
            $o->{$k} = MIME::Base64::decode_base64($o->{$k})
                if defined $o->{$k};
        }
        push @r, $o;
    }
    return \@r;
}

# the bytes the relay read in one direction ('up': client to target,
# 'down': target to client), optionally of one connection
sub relay_stream {
    my ($self, $name, $dir, $conn) = @_;
    return join '', map { $_->{data} }
        grep { $_->{event} eq 'data' && $_->{dir} eq $dir
               && (!defined $conn || $_->{conn} == $conn) }
        @{ $self->relay_records($name) };
}

# --- requests ----------------------------------------------------------------

# request($to, 'METHOD /path', %o) or request($to, %o): $to is an instance
# or port name (a port number works too).  %o as Confer::HTTP::request:
# headers => [..] or {..}, body, body_pieces, raw, timeout, keepalive,
# host ('::1'), local_addr (the client's address: '127.0.0.2'),
# until_close.
sub request {
    my ($self, $to, @rest) = @_;
    return Confer::HTTP::request($self->_req_args($to, @rest));
}

# stream(...): the same, returning a Confer::HTTP object to read from
# step by step (read_until, finish).
sub stream {
    my ($self, $to, @rest) = @_;
    return Confer::HTTP->open($self->_req_args($to, @rest));
}

sub _req_args {
    my ($self, $to, @rest) = @_;
    my %o;
    if (@rest % 2) {
        my $line = shift @rest;
        %o = @rest;
        @o{qw(method path)} = split ' ', $line;
    } else {
        %o = @rest;
    }
    $o{port} = $to =~ /^\d+$/ ? $to : $self->port($to);
    return %o;
}

# post_json($to, $path, $data, %o): a JSON POST
sub post_json {
    my ($self, $to, $path, $data, %o) = @_;
    my @h = ref $o{headers} eq 'HASH' ? %{ $o{headers} }
          : @{ $o{headers} || [] };
    return $self->request($to, "POST $path", %o,
        headers => [ 'Content-Type' => 'application/json', @h ],
        body => ref $data ? $JSON->encode($data) : $data);
}

sub json { $JSON }

# --- the end -----------------------------------------------------------------

# done: stop every nginx and helper, check every error log (one test per
# instance), remove the prefix (unless CONFER_TEST_LEAVE=1), done_testing.
sub done {
    my ($self) = @_;
    $self->_finish;
    done_testing();
}

sub _finish {
    my ($self) = @_;
    return if $self->{finished}++;
    $self->stop($_) for @{ $self->{order} };
    $self->stop_daemon($_) for sort keys %{ $self->{daemons} };
    $self->check_error_logs unless $self->{no_checks};
    $self->_release_ports;
    if ($ENV{CONFER_TEST_LEAVE}) {
        diag("test prefix (kept): $self->{prefix}");
    } elsif (!Test::More->builder->is_passing || $self->{died}) {
        diag("test prefix (kept, the file failed): $self->{prefix}");
    } else {
        remove_tree($self->{prefix});
    }
}

END {
    if ($T && $T->{pid} == $$ && !$T->{finished}) {
        my $rc = $?;
        # a file that died still stops its daemons; it adds checks only
        # while tests may still be added (no plan yet, no skip_all)
        my $plan = eval { Test2::API::test2_stack()->top->plan };
        $T->{no_checks} = 1 if defined $plan || $rc != 0;
        $T->{died} = 1 if $rc != 0;
        eval { $T->_finish };
        diag($@) if $@;
        done_testing() if !defined $plan && $rc == 0;
        $? = $rc;
    }
}

# --- the declarative layer ---------------------------------------------------

sub run_tests {
    require Confer::Blocks;
    goto &Confer::Blocks::run_tests;
}

sub run_blocks {
    require Confer::Blocks;
    goto &Confer::Blocks::run_blocks;
}

1;
