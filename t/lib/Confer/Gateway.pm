package Confer::Gateway;

# What the gateway's sealing tests (t/26x) share: the whole stack,
#
#   client -> gateway -> relay "hop" -> terminator -> MOCK model server
#
# with the terminator on simulated evidence and the recording relay
# (t/tools/relay) standing for every untrusted hop between gateway and
# terminator (the attestation fetch goes through it too); the requests the
# relay saw; and a client that identifies itself in every way it can.
#
#   my $t = Confer::Test->new(node => 1);
#   stack($t, location => 'confer_inner_header Authorization "Bearer x";');
#   my $r = $t->post_json(gateway => '/v1/chat/completions', {...});
#   my @outer = sealed_requests($t);   # the POSTs the relay carried

use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();

use Confer::Test;
use Confer::Terminator;

our @EXPORT = qw(stack gateway_spec outer_requests sealed_requests
                 identifying_headers canaries relay_has status_of
                 problem_of write_bytes);

my $JSON = JSON::PP->new->utf8->canonical;

# stack($t, %o): starts the MOCK, the terminator, the relay and the
# gateway.  %o: location (more lines in the gateway's /v1/ location),
# server, http (more gateway lines), mutate (the relay's), policy (a file),
# terminator (options of terminator_spec), locations (whole extra
# locations, %%SEAL%% standing for the confer_seal line and proxy_pass).
sub stack {
    my ($t, %o) = @_;
    $t->start_mock;
    $t->nginx(terminator => terminator_spec($t, %{ $o{terminator} || {} }));
    $t->start_relay(hop => target => 'terminator',
                    mutate => $o{mutate} || []);
    $t->nginx(gateway => gateway_spec($t, %o));
}

sub gateway_spec {
    my ($t, %o) = @_;
    my $policy = $o{policy} // sim_policy($t);
    my $hop = 'http://127.0.0.1:%%PORT_HOP%%';
    my $seal = "confer_seal $hop policy=$policy;\n"
             . "    proxy_pass $hop;\n"
             . "    proxy_buffering off;\n";
    my $more = $o{locations} // '';
    $more =~ s/%%SEAL%%/$seal/g;
    my $loc = $o{location} // '';

    return {
        http => "confer_cache zone=confer:1m;\n" . ($o{http} // ''),
        server => <<"EOF" . $more . ($o{server} // ''),
location /v1/ {
    $seal
    $loc
}

location = /status {
    access_log off;
    confer_status;
}
EOF
    };
}

# every request the relay carried up, in the order of its connections:
# [{ conn, method, target, version, headers => [[name, value], ...], body }]
sub outer_requests {
    my ($t, $name) = @_;
    my (%up, @conns);
    for my $rec (@{ $t->relay_records($name // 'hop') }) {
        next unless $rec->{event} eq 'data' && $rec->{dir} eq 'up';
        push @conns, $rec->{conn} unless exists $up{ $rec->{conn} };
        $up{ $rec->{conn} } .= $rec->{data};
    }

    my @reqs;
    for my $c (@conns) {
        my ($head, $body) = split /\r\n\r\n/, $up{$c}, 2;
        my ($line, @lines) = split /\r\n/, $head // '';
        my ($method, $target, $version) = split ' ', $line // '';
        push @reqs, {
            conn => $c, method => $method, target => $target,
            version => $version, body => $body // '',
            headers => [ map { [ split /:\s*/, $_, 2 ] } @lines ],
        };
    }
    return @reqs;
}

# the sealed ones: every POST (the attestation fetch is a GET)
sub sealed_requests {
    my ($t, $name) = @_;
    return grep { ($_->{method} // '') eq 'POST' } outer_requests($t, $name);
}

# does any byte the relay carried, either way, hold one of the strings?
sub relay_has {
    my ($t, @strings) = @_;
    my $all = $t->relay_stream(hop => 'up') . $t->relay_stream(hop => 'down');
    return grep { index($all, $_) >= 0 } @strings;
}

# the canaries of one client: unique strings for its headers and its body
sub canaries {
    my ($tag) = @_;
    my $n = int(rand(1e9));
    return map { $_ => "canary-$tag-$_-$n" }
        qw(ua cookie auth referer xff realip forwarded stainless rid org
           host user meta safety prompt query);
}

# headers that identify a client or its software, with canary values
sub identifying_headers {
    my (%c) = @_;
    return (
        'User-Agent' => $c{ua},
        'Cookie' => "session=$c{cookie}",
        'Authorization' => "Bearer $c{auth}",
        'Referer' => "https://$c{referer}.example/",
        'X-Forwarded-For' => "$c{xff}.example",
        'X-Real-IP' => $c{realip},
        'Forwarded' => "for=\"$c{forwarded}\"",
        'X-Stainless-OS' => $c{stainless},
        'X-Stainless-Lang' => 'js',
        'X-Stainless-Retry-Count' => '0',
        'X-Request-Id' => $c{rid},
        'OpenAI-Organization' => $c{org},
    );
}

# the JSON error of an answer: { message, type, code }
sub problem_of {
    my ($r) = @_;
    my $e = eval { $JSON->decode($r->body // '') } || {};
    return $e->{error} || {};
}

sub write_bytes {
    my ($path, $bytes) = @_;
    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print $fh $bytes;
    close $fh or die "$path: $!";
    return $path;
}

# the gateway's confer_status, decoded
sub status_of {
    my ($t) = @_;
    my $r = $t->request(gateway => 'GET /status');
    return eval { $JSON->decode($r->body) } || {};
}

1;
