package Confer::HTTP;

# A raw HTTP/1.1 client for the tests.  It writes the request exactly as
# asked, reads the answer with select() and records every read with the
# time it arrived (Time::HiRes), so that a test can show that streamed
# events came one by one, before the stream ended.  It parses chunked,
# Content-Length and close-delimited bodies incrementally, and splits
# text/event-stream bodies into events, each with its arrival time.
#
#   my $r = Confer::HTTP::request(port => 8080, method => 'POST',
#       path => '/v1/chat/completions', headers => ['X-A' => 'b'],
#       body => '{"x":1}');
#   $r->status; $r->header('content-type'); $r->body; $r->json;
#   $r->reads;   # [{ t, size, data }], every recv() from the socket
#   $r->chunks;  # [{ t, data }], chunked framing, t of the chunk's last byte
#   $r->events;  # [{ t, data, event, id, raw }], SSE events
#
#   my $s = Confer::HTTP->open(port => ..., ...);     # sent, not yet read
#   $s->read_until(sub { @{ $_[0]->events } >= 2 }) or die;
#   my $r = $s->finish;                                # read to the end
#
# host => '::1' connects over IPv6; local_addr => '127.0.0.2' binds the
# client there, so that the server sees another client address;
# until_close => 1 reads on after the response until the server closes,
# with everything it sent in $r->raw (a raw keepalive series of requests).

use strict;
use warnings;

use Carp qw(croak);
use IO::Select;
use IO::Socket::IP;
use JSON::PP ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);

our $TIMEOUT = $ENV{CONFER_TEST_TIMEOUT} || 10;

# One request, read to the end (or to the timeout).
sub request {
    my (%a) = @_;
    my $s = Confer::HTTP->open(%a);
    return $s->finish;
}

# Connect and send; the response is read by read_until() and finish().
sub open {
    my ($class, %a) = @_;
    my $r = Confer::HTTP::Response->_new(%a);
    my $self = bless { r => $r, timeout => $a{timeout} || $TIMEOUT,
                       on_read => $a{on_read},
                       until_close => $a{until_close} }, $class;

    $r->{t_start} = time;
    my $sock = IO::Socket::IP->new(
        PeerHost => $a{host} || '127.0.0.1',
        PeerPort => $a{port} || croak('port is required'),
        defined $a{local_addr} ? (LocalHost => $a{local_addr}) : (),
        Proto    => 'tcp',
        Timeout  => $self->{timeout},
    );
    unless ($sock) {
        $r->{error} = "connect: $@";
        $r->{done} = 1;
        return $self;
    }
    $sock->autoflush(1);
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $sock;
    $self->{sock} = $sock;

    my @parts = defined $a{raw} ? ($a{raw}) : _build(%a);
    my $delay = $a{piece_delay};
    for my $i (0 .. $#parts) {
        unless (_write_all($sock, $parts[$i])) {
            $r->{error} = "write: $!";
            last;
        }
        # a pause between pieces of a streamed request body, so that they
        # leave as separate segments (not a readiness wait)
        select(undef, undef, undef, $delay) if $delay && $i < $#parts;
    }
    $r->{t_sent} = time;
    shutdown($sock, 1) if $a{half_close};
    return $self;
}

sub _build {
    my (%a) = @_;
    my $method = $a{method} || 'GET';
    my $path = $a{path} // '/';
    my $version = $a{http_version} || '1.1';
    my @h = ref $a{headers} eq 'HASH' ? %{ $a{headers} }
          : @{ $a{headers} || [] };
    my %have;
    for (my $i = 0; $i < @h; $i += 2) {
        $have{ lc $h[$i] } = 1;
    }

    my $head = "$method $path HTTP/$version\r\n";
    $head .= "Host: localhost\r\n" unless $have{host};
    $head .= 'Connection: ' . ($a{keepalive} ? 'keep-alive' : 'close')
             . "\r\n" unless $have{connection};

    my @body;
    if ($a{body_pieces}) {
        $head .= "Transfer-Encoding: chunked\r\n"
            unless $have{'transfer-encoding'};
        @body = map { sprintf("%x\r\n%s\r\n", length $_, $_) }
                grep { length } @{ $a{body_pieces} };
        push @body, "0\r\n\r\n";
    } elsif (defined $a{body}) {
        $head .= 'Content-Length: ' . length($a{body}) . "\r\n"
            unless $have{'content-length'} || $have{'transfer-encoding'};
        @body = ($a{body});
    }
    for (my $i = 0; $i < @h; $i += 2) {
        $head .= "$h[$i]: $h[$i + 1]\r\n";
    }
    $head .= "\r\n";

    return $a{body_pieces} ? ($head, @body) : ($head . join('', @body));
}

sub _write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        return 0 unless defined $n;
        $off += $n;
    }
    return 1;
}

sub response { $_[0]{r} }

# Reads until $cond->($response) is true, the response is complete, or the
# timeout.  Returns the condition's last value.
sub read_until {
    my ($self, $cond, $timeout) = @_;
    my $r = $self->{r};
    my $deadline = time + ($timeout || $self->{timeout});

    while (1) {
        my $v = $cond->($r);
        return $v if $v;
        return $v if $r->{done};
        my $left = $deadline - time;
        if ($left <= 0) {
            return $v;
        }
        $self->_read_once($left);
    }
}

# Reads to the end of the response (with until_close, to the end of the
# connection); closes the connection.
sub finish {
    my ($self, $timeout) = @_;
    my $r = $self->{r};
    my $deadline = time + ($timeout || $self->{timeout});
    $self->read_until(sub { 0 }, $timeout);
    while ($self->{until_close} && $self->{sock} && !$self->{eof}) {
        my $left = $deadline - time;
        last if $left <= 0;
        $self->_read_once($left);
    }
    unless ($r->{done}) {
        $r->{error} ||= 'timeout';
        $r->{done} = 1;
    }
    $self->close;
    $r->{t_end} ||= time;
    return $r;
}

sub close {
    my ($self) = @_;
    if ($self->{sock}) {
        CORE::close($self->{sock});
        delete $self->{sock};
    }
}

sub _read_once {
    my ($self, $wait) = @_;
    my $r = $self->{r};
    my $sock = $self->{sock};

    unless ($sock) {
        $r->{done} = 1;
        return;
    }
    return unless IO::Select->new($sock)->can_read($wait);

    my $n = sysread($sock, my $buf, 65536);
    my $t = time;
    if (!defined $n) {
        $r->{error} ||= "read: $!";
        $self->{eof} = 1;
        $r->_eof($t);
        return;
    }
    if ($n == 0) {
        $self->{eof} = 1;
        $r->_eof($t);
        return;
    }
    $r->_data($buf, $t);
    $self->{on_read}->($r, $r->{reads}[-1]) if $self->{on_read};
}


package Confer::HTTP::Response;

use strict;
use warnings;

use JSON::PP ();

sub _new {
    my ($class, %a) = @_;
    return bless {
        request_method => uc($a{method} || 'GET'),
        status   => undef,
        reason   => undef,
        version  => undef,
        headers  => {},
        header_list => [],
        head     => '',
        body     => '',
        raw      => '',
        reads    => [],
        chunks   => [],
        marks    => [],         # [ body length after a read, its time ]
        pending  => '',
        state    => 'head',
        complete => 0,
        done     => 0,
        error    => undef,
    }, $class;
}

sub status      { $_[0]{status} }
sub reason      { $_[0]{reason} }
sub body        { $_[0]{body} }
sub raw         { $_[0]{raw} }
sub head        { $_[0]{head} }
sub reads       { $_[0]{reads} }
sub chunks      { $_[0]{chunks} }
sub headers     { $_[0]{headers} }
sub header_list { $_[0]{header_list} }
sub complete    { $_[0]{complete} }
sub error       { $_[0]{error} }

# The value of a header (case-insensitive); several are joined with ", ".
sub header {
    my ($self, $name) = @_;
    return $self->{headers}{ lc $name };
}

sub json {
    my ($self) = @_;
    my $v = eval { JSON::PP->new->utf8->decode($self->{body}) };
    return $v;
}

sub _data {
    my ($self, $buf, $t) = @_;
    push @{ $self->{reads} }, { t => $t, size => length $buf, data => $buf,
                                offset => length $self->{raw} };
    $self->{raw} .= $buf;
    $self->{pending} .= $buf;
    $self->_parse($t);
}

sub _eof {
    my ($self, $t) = @_;
    if ($self->{state} eq 'close') {
        $self->{complete} = 1;
    } elsif ($self->{state} ne 'done') {
        $self->{error} ||= $self->{state} eq 'head'
            ? 'connection closed before the response header'
            : "connection closed in the body ($self->{state})";
    }
    $self->{state} = 'done';
    $self->{done} = 1;
    $self->{t_end} = $t;
}

sub _body {
    my ($self, $data, $t) = @_;
    $self->{body} .= $data;
    push @{ $self->{marks} }, [ length $self->{body}, $t ];
}

sub _finished {
    my ($self, $t) = @_;
    $self->{state} = 'done';
    $self->{complete} = 1;
    $self->{done} = 1;
    $self->{t_end} = $t;
}

sub _parse {
    my ($self, $t) = @_;

    if ($self->{state} eq 'head') {
        my $i = index($self->{pending}, "\r\n\r\n");
        return if $i < 0;
        my $head = substr($self->{pending}, 0, $i + 4, '');
        $self->{head} = $head;
        $self->{t_headers} = $t;
        my ($line, @lines) = split /\r\n/, $head;
        unless ($line =~ m{^HTTP/(\d\.\d) (\d{3})(?: (.*))?$}) {
            $self->{error} = "bad status line: $line";
            $self->{state} = 'done';
            $self->{done} = 1;
            return;
        }
        @$self{qw(version status reason)} = ($1, $2 + 0, $3 // '');
        for (@lines) {
            my ($n, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
            push @{ $self->{header_list} }, [ $n, $v ];
            my $k = lc $n;
            $self->{headers}{$k} = exists $self->{headers}{$k}
                ? "$self->{headers}{$k}, $v" : $v;
        }

        my $te = $self->{headers}{'transfer-encoding'} // '';
        my $cl = $self->{headers}{'content-length'};
        my $s = $self->{status};
        if ($self->{request_method} eq 'HEAD' || $s == 204 || $s == 304
            || $s < 200)
        {
            $self->{state} = 'done_head';
        } elsif ($te =~ /chunked/i) {
            $self->{state} = 'size';
        } elsif (defined $cl) {
            $self->{left} = $cl + 0;
            $self->{state} = 'length';
        } else {
            $self->{state} = 'close';
        }
        if ($self->{state} eq 'done_head') {
            $self->_finished($t);
            return;
        }
    }

    while (length $self->{pending}) {
        my $st = $self->{state};

        if ($st eq 'length') {
            my $take = substr($self->{pending}, 0, $self->{left}, '');
            $self->_body($take, $t) if length $take;
            $self->{left} -= length $take;
            if ($self->{left} == 0) {
                $self->_finished($t);
            }
            last if $self->{state} eq 'length';

        } elsif ($st eq 'close') {
            $self->_body($self->{pending}, $t);
            $self->{pending} = '';

        } elsif ($st eq 'size') {
            my $i = index($self->{pending}, "\r\n");
            last if $i < 0;
            my $line = substr($self->{pending}, 0, $i + 2, '');
            unless ($line =~ /^([0-9a-fA-F]+)[ \t]*(?:;[^\r]*)?\r\n$/) {
                $self->{error} = "bad chunk size line: $line";
                $self->{state} = 'done';
                $self->{done} = 1;
                last;
            }
            $self->{left} = hex $1;
            $self->{chunk} = '';
            $self->{state} = $self->{left} ? 'chunk' : 'trailer';

        } elsif ($st eq 'chunk') {
            my $take = substr($self->{pending}, 0, $self->{left}, '');
            $self->{chunk} .= $take;
            $self->_body($take, $t);
            $self->{left} -= length $take;
            last if $self->{left};
            $self->{state} = 'chunk_crlf';

        } elsif ($st eq 'chunk_crlf') {
            last if length $self->{pending} < 2;
            if (substr($self->{pending}, 0, 2, '') ne "\r\n") {
                $self->{error} = 'chunk not followed by CRLF';
                $self->{state} = 'done';
                $self->{done} = 1;
                last;
            }
            push @{ $self->{chunks} }, { t => $t, data => $self->{chunk} };
            $self->{state} = 'size';

        } elsif ($st eq 'trailer') {
            my $i = index($self->{pending}, "\r\n");
            last if $i < 0;
            my $line = substr($self->{pending}, 0, $i + 2, '');
            if ($line eq "\r\n") {
                $self->_finished($t);
            } else {
                push @{ $self->{trailers} }, $line;
            }

        } else {
            # bytes after the end of the response
            $self->{extra} .= $self->{pending};
            $self->{pending} = '';
        }
    }
}

# The time at which the body's first $len bytes had all arrived.
sub time_at {
    my ($self, $len) = @_;
    for my $m (@{ $self->{marks} }) {
        return $m->[1] if $m->[0] >= $len;
    }
    return undef;
}

# Server-sent events (text/event-stream): each with its data lines joined,
# and the time its closing blank line arrived.  An event without its blank
# line (stream cut) is not an event.
sub events {
    my ($self) = @_;
    my @ev;
    my $body = $self->{body};
    my $pos = 0;
    while ($body =~ /\G(.*?)(\r\n\r\n|\n\n|\r\r)/sgc) {
        my ($raw, $sep) = ($1, $2);
        $pos += length($raw) + length($sep);
        my %e = (raw => $raw, t => $self->time_at($pos));
        my @data;
        for my $l (split /\r\n|\n|\r/, $raw) {
            next if $l =~ /^:/;
            my ($f, $v) = $l =~ /^([^:]*)(?::\s?(.*))?$/;
            if ($f eq 'data') {
                push @data, $v // '';
            } elsif ($f eq 'event' || $f eq 'id' || $f eq 'retry') {
                $e{$f} = $v;
            }
        }
        next unless @data || exists $e{event};
        $e{data} = join "\n", @data;
        push @ev, \%e;
    }
    return \@ev;
}

# The data of every event, decoded as JSON where it is JSON.
sub event_data {
    my ($self) = @_;
    my $j = JSON::PP->new->utf8;
    return [ map {
        my $d = $_->{data};
        my $v = $d =~ /^[\[{]/ ? eval { $j->decode($d) } : undef;
        defined $v ? $v : $d;
    } @{ $self->events } ];
}

1;
