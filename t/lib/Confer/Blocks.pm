package Confer::Blocks;

# The declarative layer of Confer::Test: a test file is a list of blocks,
# each a config, a request and what should come of it, in the spirit of
# openresty's Test::Nginx::Socket (own code, own small parser).  Blocks come
# from the file's __DATA__ section (run_tests) or from Perl hashes
# (run_blocks).  t/README.md describes the sections.

use strict;
use warnings;

use Carp qw(croak);
use Test::More;
use Time::HiRes qw(time);

use Confer::Test ();

# sections that may name an nginx instance ("--- config gateway")
my %PER_INSTANCE = map { $_ => 1 } qw(main_config http_config config nginx
    error_log no_error_log access_log no_access_log log_level);

my %KNOWN = map { $_ => 1 } keys(%PER_INSTANCE), qw(request raw_request
    more_headers error_code response_body response_body_like
    response_body_unlike response_headers response_headers_like sse_events
    mock_request mock_headers mock_body_like mock_body_unlike relay timeout
    must_die ONLY SKIP);

my %FILTERS = map { $_ => 1 } qw(eval chomp);

our %CHECKS;                        # section => sub, see add_check

# add_check($section, sub { my ($t, $block, $response, $value) = @_; ... })
# adds a section of one's own; the sub runs after the request and makes
# its own assertions.
sub add_check {
    my ($name, $code) = @_;
    $KNOWN{$name} = 1;
    $CHECKS{$name} = $code;
}

# --- parsing -----------------------------------------------------------------

# parse($text): the blocks of a __DATA__ text, as the hashes run_blocks
# takes.
sub parse {
    my ($text) = @_;
    my (@blocks, $cur, $sec);

    for my $line (split /\n/, $text) {
        if ($line =~ /^===\s*(.*?)\s*$/) {
            $cur = { name => $1 || 'block ' . (@blocks + 1), _raw => [] };
            push @blocks, $cur;
            $sec = undef;
            next;
        }
        if ($cur && $line =~ m{^---\s+(\w+)             # section
                                ((?:[ \t]+[\w-]+)*)       # filters, name
                                [ \t]*(?::[ \t]*(.*?))?\s*$ # : inline value
                              }x)
        {
            my ($name, $words, $inline) = ($1, $2, $3);
            croak("block \"$cur->{name}\": unknown section --- $name")
                unless $KNOWN{$name};
            my @w = split ' ', $words;
            my @filters = grep { $FILTERS{$_} } @w;
            my @args = grep { !$FILTERS{$_} } @w;
            croak("block \"$cur->{name}\": --- $name takes one name at most")
                if @args > 1;
            $sec = { name => $name, arg => $args[0], filters => \@filters,
                     inline => $inline, lines => [] };
            push @{ $cur->{_raw} }, $sec;
            next;
        }
        push @{ $sec->{lines} }, $line if $sec;
    }

    for my $b (@blocks) {
        for my $s (@{ delete $b->{_raw} }) {
            my $v = _value($s, $b->{name});
            if ($s->{name} eq 'request' || $s->{name} eq 'raw_request') {
                $b->{request_to} = $s->{arg} if defined $s->{arg};
                $b->{ $s->{name} } = $v;
            } elsif ($PER_INSTANCE{ $s->{name} } || $s->{name} eq 'relay') {
                my $inst = $s->{arg} // '';
                croak("block \"$b->{name}\": --- relay needs a name")
                    if $s->{name} eq 'relay' && !length $inst;
                $b->{ $s->{name} }{$inst} = $v;
                push @{ $b->{_instances} }, $inst
                    if $s->{name} =~ /^(?:main_|http_)?config$|^nginx$/
                       && !grep { $_ eq $inst } @{ $b->{_instances} || [] };
            } else {
                $b->{ $s->{name} } = $v;
            }
        }
    }
    return @blocks;
}

sub _value {
    my ($s, $block) = @_;
    my $v;
    if (defined $s->{inline}) {
        $v = $s->{inline};
    } else {
        my @l = @{ $s->{lines} };
        shift @l while @l && $l[0] =~ /^\s*$/;
        pop @l while @l && $l[-1] =~ /^\s*$/;
        $v = @l ? join("\n", @l) . "\n" : '';
    }
    for my $f (@{ $s->{filters} }) {
        if ($f eq 'chomp') {
            chomp $v;
        } elsif ($f eq 'eval') {
            my $code = $v;
            $v = eval "package main; no strict; $code";
            croak("block \"$block\": --- $s->{name} eval: $@") if $@;
        }
    }
    return $v;
}

# --- running -----------------------------------------------------------------

sub run_tests {
    my (%o) = @_;
    my $text = do {
        no strict 'refs';
        my $fh = \*{'main::DATA'};
        local $/;
        defined fileno($fh) ? <$fh> : '';
    };
    my @blocks = parse($text // '');
    croak('run_tests: no blocks after __DATA__') unless @blocks;
    run_blocks(@blocks, { _options => \%o });
}

# run_blocks(@blocks): runs the blocks in order, then finishes the file
# (the error log check and done_testing).
sub run_blocks {
    my @blocks = @_;
    my %o;
    if (@blocks && $blocks[-1]{_options}) {
        %o = %{ pop(@blocks)->{_options} };
    }
    my $t = Confer::Test->new;

    _normalize($_) for @blocks;
    if (grep { exists $_->{ONLY} } @blocks) {
        @blocks = grep { exists $_->{ONLY} } @blocks;
        diag('--- ONLY: running ' . scalar(@blocks) . ' block(s)');
    }

    my $needs_mock = grep { _mentions_mock($_) } @blocks;
    $t->start_mock if $needs_mock && !$t->{mocks}{mock};

    for my $b (@blocks) {
        if (exists $b->{SKIP}) {
            note("skipped: $b->{name}");
            next;
        }
        # a block that cannot even start fails, and the next one runs
        unless (eval { run_block($t, $b); 1 }) {
            fail("$b->{name}: the block runs");
            diag($@);
        }
    }
    $t->done unless $o{keep_going};
}

# string instance names, hashes for per-instance sections
sub _normalize {
    my ($b) = @_;
    my $default = 'nginx';
    my @inst = @{ $b->{_instances} || [] };

    for my $k (qw(main_config http_config config nginx)) {
        next unless exists $b->{$k};
        $b->{$k} = { '' => $b->{$k} } unless ref $b->{$k} eq 'HASH';
        for my $i (sort keys %{ $b->{$k} }) {
            push @inst, $i unless grep { $_ eq $i } @inst;
        }
    }
    @inst = map { length $_ ? lc $_ : $default } @inst;
    my %seen;
    @inst = grep { !$seen{$_}++ } @inst;
    $b->{_instances} = \@inst;

    $b->{request_to} //= $inst[0];
    for my $k (qw(main_config http_config config nginx log_level)) {
        next unless exists $b->{$k};
        $b->{$k} = { '' => $b->{$k} } unless ref $b->{$k} eq 'HASH';
        my %h;
        for my $i (keys %{ $b->{$k} }) {
            $h{ length $i ? lc $i : $default } = $b->{$k}{$i};
        }
        $b->{$k} = \%h;
    }
    # log expectations without a name are about the instance asked
    for my $k (qw(error_log no_error_log access_log no_access_log)) {
        next unless exists $b->{$k};
        $b->{$k} = { '' => $b->{$k} } unless ref $b->{$k} eq 'HASH';
        my %h;
        for my $i (keys %{ $b->{$k} }) {
            $h{ length $i ? lc $i : '' } = $b->{$k}{$i};
        }
        $b->{$k} = \%h;
    }
}

sub _mentions_mock {
    my ($b) = @_;
    return 1 if grep { /^mock_/ } keys %$b;
    for my $k (qw(main_config http_config config nginx)) {
        next unless ref $b->{$k} eq 'HASH';
        return 1 if grep { defined && /%%PORT_MOCK%%/ } values %{ $b->{$k} };
    }
    return 1 if grep { /^\s*target\s*[:=]\s*mock\s*$/mi }
                values %{ $b->{relay} || {} };
    return 0;
}

sub run_block {
    my ($t, $b) = @_;
    my $name = $b->{name};
    my $target = $b->{request_to};

    # relays first: nginx may connect through them at start
    for my $r (sort keys %{ $b->{relay} || {} }) {
        my %spec = _relay_spec($b->{relay}{$r});
        my $key = join ' ', $spec{target}, @{ $spec{mutate} };
        next if ($t->{_relay_spec}{$r} // '') eq $key
                && $t->daemon_alive('relay-' . lc $r);
        $t->start_relay($r, %spec);
        $t->{_relay_spec}{$r} = $key;
    }

    if (exists $b->{must_die}) {
        return _must_die($t, $b);
    }

    # the instances of this block, backends (named last) first
    for my $i (reverse @{ $b->{_instances} }) {
        my $spec = _spec($b, $i);
        my %opt = (log_level => $b->{log_level}{$i});
        my $inst = $t->{nginx}{$i};
        my $text = $t->config_text($i, $spec,
            log_level => $opt{log_level} || ($inst && $inst->{log_level}));
        next if $inst && $t->running($i) && $inst->{conf_text} eq $text;
        $t->nginx($i, $spec, %opt);
    }

    $target //= $t->{_last_target} // 'nginx';
    $t->{_last_target} = $target;

    $t->mock_reset if $t->{mocks}{mock};

    my %from;
    for my $i (@{ $t->{order} }) {
        next unless $t->running($i);
        $from{$i} = { error => $t->log_size($i, 'error'),
                      access => $t->log_size($i, 'access') };
    }

    my $r;
    if (defined $b->{request} || defined $b->{raw_request}) {
        $r = $t->request($target, _request_args($b));
        diag("$name: request failed: " . $r->error)
            if $r->error && !$r->complete;
        _check_response($t, $b, $r);
    }

    _check_logs($t, $b, \%from, $target);
    _check_mock($t, $b) if grep { /^mock_/ } keys %$b;

    for my $k (sort keys %CHECKS) {
        $CHECKS{$k}->($t, $b, $r, $b->{$k}) if exists $b->{$k};
    }
}

sub _spec {
    my ($b, $i) = @_;
    if (defined $b->{nginx}{$i}) {
        my $main = $b->{main_config}{$i};
        return defined $main ? "$main\n$b->{nginx}{$i}" : $b->{nginx}{$i};
    }
    return { main => $b->{main_config}{$i}, http => $b->{http_config}{$i},
             server => $b->{config}{$i} };
}

sub _relay_spec {
    my ($v) = @_;
    my %s = (mutate => []);
    for my $l (split /\n/, $v) {
        next unless $l =~ /^\s*(\w+)\s*[:=]\s*(.*?)\s*$/;
        if ($1 eq 'target') {
            $s{target} = $2;
        } elsif ($1 eq 'mutate') {
            push @{ $s{mutate} }, split /[\s,]+/, $2;
        } else {
            croak("relay: unknown line $l");
        }
    }
    croak('relay: a "target:" line is required') unless $s{target};
    return %s;
}

sub _must_die {
    my ($t, $b) = @_;
    my $i = $b->{request_to} // $b->{_instances}[0] // 'nginx';
    my ($ok, $out) = $t->nginx_t(_spec($b, $i));
    ok(!$ok, "$b->{name}: nginx -t refuses the config")
        or diag($out);
    for my $want (_expectations($b->{error_log}{''} // $b->{error_log}{$i})) {
        _like_or_has($out, $want, "$b->{name}: nginx -t says");
    }
}

sub _request_args {
    my ($b) = @_;
    my @h;
    for my $l (split /\n/, $b->{more_headers} // '') {
        next unless $l =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/;
        push @h, $1, $2;
    }
    my %a = (headers => \@h);
    $a{timeout} = $b->{timeout} if $b->{timeout};

    if (defined $b->{raw_request}) {
        my $raw = $b->{raw_request};
        $raw =~ s/\r?\n/\r\n/g unless ref $b->{raw_request};
        $a{raw} = $raw;
        return %a;
    }

    my $req = $b->{request};
    if (ref $req eq 'HASH') {
        my %r = %$req;
        push @{ $r{headers} ||= [] }, @h;
        return (%a, %r);
    }
    my ($first, $body) = split /\n/, $req, 2;
    my ($method, $path) = split ' ', $first;
    $a{method} = $method;
    $a{path} = $path // '/';
    if (defined $body) {
        $body =~ s/\n\z//;
        $a{body} = $body if length $body || $method !~ /^(?:GET|HEAD)$/;
    }
    return %a;
}

sub _check_response {
    my ($t, $b, $r) = @_;
    my $n = $b->{name};

    if (defined $b->{error_code}) {
        is($r->status, $b->{error_code} + 0, "$n: status");
    }
    if (defined $b->{response_headers}) {
        for my $l (split /\n/, $b->{response_headers}) {
            if ($l =~ /^\s*!\s*(\S+)\s*$/) {
                ok(!defined $r->header($1), "$n: no $1 header")
                    or diag("$1: " . $r->header($1));
            } elsif ($l =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/) {
                is($r->header($1), $2, "$n: header $1");
            }
        }
    }
    if (defined $b->{response_headers_like}) {
        for my $l (split /\n/, $b->{response_headers_like}) {
            next unless $l =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/;
            like($r->header($1) // '', qr/$2/, "$n: header $1 like");
        }
    }
    if (defined $b->{response_body}) {
        is($r->body, $b->{response_body}, "$n: body");
    }
    if (defined $b->{response_body_like}) {
        like($r->body, _re($b->{response_body_like}), "$n: body like");
    }
    if (defined $b->{response_body_unlike}) {
        unlike($r->body, _re($b->{response_body_unlike}), "$n: body unlike");
    }
    if (defined $b->{sse_events}) {
        is(scalar @{ $r->events }, $b->{sse_events} + 0, "$n: SSE events");
    }
}

sub _re {
    my ($v) = @_;
    return $v if ref $v eq 'Regexp';
    chomp $v;
    return qr/$v/s;
}

# text: one expectation a line (a substring); arrays: strings or qr//
sub _expectations {
    my ($v) = @_;
    return () unless defined $v;
    return ($v) if ref $v eq 'Regexp';
    return @$v if ref $v eq 'ARRAY';
    return grep { length } map { s/^\s+|\s+$//gr } split /\n/, $v;
}

sub _matches {
    my ($s, $want) = @_;
    return ref $want eq 'Regexp' ? $s =~ $want : index($s, $want) >= 0;
}

sub _like_or_has {
    my ($s, $want, $name) = @_;
    ok(_matches($s, $want), "$name: $want") or diag("got:\n$s");
}

# Log lines may be written a moment after the response reached the client
# (another instance's log, the log phase): positive expectations are
# waited for (until they appear, up to the harness' wait), negative ones
# are checked after that.
sub _check_logs {
    my ($t, $b, $from, $target) = @_;
    my $n = $b->{name};

    for my $which (qw(error access)) {
        my $pos = $b->{"${which}_log"} || {};
        for my $i (sort keys %$pos) {
            my $inst = length $i ? $i : $target;
            for my $want (_expectations($pos->{$i})) {
                my $slice = '';
                my $deadline = time + $Confer::Test::WAIT;
                my $pause = 0.002;
                while (1) {
                    $slice = $t->log_slice($inst, $which,
                                           $from->{$inst}{$which});
                    last if _matches($slice, $want) || time > $deadline;
                    select(undef, undef, undef, $pause);
                    $pause *= 2 if $pause < 0.05;
                }
                ok(_matches($slice, $want), "$n: $inst $which log has $want")
                    or diag("$which log slice:\n$slice");
            }
        }
    }
    for my $which (qw(error access)) {
        my $neg = $b->{"no_${which}_log"} || {};
        for my $i (sort keys %$neg) {
            my $inst = length $i ? $i : $target;
            my $slice = $t->log_slice($inst, $which, $from->{$inst}{$which});
            for my $want (_expectations($neg->{$i})) {
                ok(!_matches($slice, $want),
                   "$n: $inst $which log has no $want")
                    or diag("$which log slice:\n$slice");
            }
        }
    }
}

sub _check_mock {
    my ($t, $b) = @_;
    my $n = $b->{name};
    my $reqs = $t->mock_requests;
    my $m = $reqs->[-1];

    unless ($m) {
        fail("$n: the mock received a request");
        return;
    }
    if (defined $b->{mock_request}) {
        (my $want = $b->{mock_request}) =~ s/^\s+|\s+$//g;
        is("$m->{method} $m->{url}", $want, "$n: the mock received");
    }
    if (defined $b->{mock_headers}) {
        for my $l (split /\n/, $b->{mock_headers}) {
            if ($l =~ /^\s*!\s*(\S+)\s*$/) {
                ok(!exists $m->{headers}{ lc $1 },
                   "$n: no $1 header reached the mock")
                    or diag("$1: $m->{headers}{lc $1}");
            } elsif ($l =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/) {
                is($m->{headers}{ lc $1 }, $2, "$n: the mock got $1");
            }
        }
    }
    if (defined $b->{mock_body_like}) {
        like($m->{body}, _re($b->{mock_body_like}),
             "$n: the body the mock got");
    }
    if (defined $b->{mock_body_unlike}) {
        unlike($m->{body}, _re($b->{mock_body_unlike}),
               "$n: the body the mock got, unlike");
    }
}

1;
