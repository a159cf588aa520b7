# The verified key's life: it is refreshed ahead of its end while it keeps
# serving; the policy's max_age bounds it too; past its end it is never
# used; a failed attestation is remembered for retry= (no hammering) and
# the gateway recovers when the terminator comes back.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Confer::Test;
use Confer::Attestation;
use Time::HiRes qw(time);

my $t = Confer::Test->new(node => 1);
my $a = Confer::Attestation->new($t);
my $att = $a->dir;
my $hold = $a->path('release');

$t->start_mock;

# fresh documents that live 5 s; the second fetch on waits for $hold
$a->docserver('fresh', sim => 1, lifetime => 5, hold => $hold,
              hold_from => 2);
# one that lives 3 s, then goes away
$a->docserver('brief', sim => 1, lifetime => 3);
# a document that lives 600 s, under a policy with max_age 3
$a->docserver('aged', sim => 1, lifetime => 600);

my $gone = $t->port('gone');

# two workers: whichever notices, one fetch per refresh
$t->nginx(gateway => {
    main => 'worker_processes 2;',
    http => 'confer_cache zone=confer:1m;',
    server => <<"EOF",
location /fresh/ {
    confer_seal http://127.0.0.1:%%PORT_FRESH%% policy=$att/policy.json
                timeout=5s retry=1s;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /brief/ {
    confer_seal http://127.0.0.1:%%PORT_BRIEF%% policy=$att/policy.json
                timeout=1s retry=500ms;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /aged/ {
    confer_seal http://127.0.0.1:%%PORT_AGED%% policy=$att/max-age.json
                retry=1s;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location /gone/ {
    confer_seal http://127.0.0.1:$gone policy=$att/policy.json
                timeout=1s retry=1s;
    proxy_pass http://127.0.0.1:%%PORT_MOCK%%/v1/;
}
location = /status { confer_status; }
EOF
});

sub post {
    my ($where) = @_;
    return $t->post_json(gateway => "/$where/embeddings",
                         { model => 'mock-model', input => 'x' });
}

sub entry {
    my ($port) = @_;
    my ($e) = grep { $_->{url} =~ /:$port$/ }
              @{ $a->status('gateway')->{terminators} };
    return $e;
}

# --- refreshed ahead of its end, serving meanwhile ------------------------

my $fresh = $t->port('fresh');

ok($a->passed(post('fresh')), 'fresh: attested');
my $first = entry($fresh);
is($first->{state}, 'verified', 'fresh: verified');

# nobody asks: the worker's timer refreshes the key in use
$t->wait_for(sub { @{ $a->fetches('fresh') } >= 2 },
             'fresh: a second fetch', 10);
my $second = $a->fetches('fresh')->[1];
ok($second->{t} < $first->{valid_until},
   'fresh: the refresh started before the key\'s end');

my $during = entry($fresh);
ok($during->{updating}, 'fresh: status says updating');
is($during->{state}, 'verified', 'fresh: still verified meanwhile');
for my $i (1 .. 4) {
    ok($a->passed(post('fresh')),
       "fresh: the old key serves meanwhile ($i)");
}
is(entry($fresh)->{counters}{fetches}, 2,
   'fresh: those requests started no fetch of their own, in either worker');

$a->write('release', '');
$t->wait_for(sub { entry($fresh)->{counters}{verified} == 2 },
             'fresh: the new document is verified');
my $after = entry($fresh);
ok($after->{valid_until} > $first->{valid_until},
   'fresh: the key now lives longer');
ok($after->{verified_at} >= $first->{verified_at},
   'fresh: verified again');
ok($a->passed(post('fresh')), 'fresh: and serves');

# --- the policy's max_age ---------------------------------------------------

my $aged = $t->port('aged');

ok($a->passed(post('aged')), 'aged: attested');
my $e = entry($aged);
ok($e->{valid_until} - $e->{verified_at} <= 3,
   'aged: valid for max_age, not for the document\'s 600 s');
ok($e->{not_after} - $e->{verified_at} >= 590,
   'aged: although its not_after is far');
$t->wait_for(sub { @{ $a->fetches('aged') } >= 2 },
             'aged: fetched again within max_age');

# --- never past its end -----------------------------------------------------

my $brief = $t->port('brief');

ok($a->passed(post('brief')), 'brief: attested');
my $b = entry($brief);
$a->stop_docserver('brief');

# the terminator is gone; until the key's end, requests still pass
$t->wait_for(sub { time > $b->{valid_until} + 0.1 },
             'brief: the key\'s end', 10);
my $r = post('brief');
is($r->status, 503, 'brief: past the key\'s end, refused');
like($r->body, qr/"code":"connect_failed"/,
     'brief: because the terminator cannot be attested again');
is(entry($brief)->{state}, 'failed', 'brief: status failed');

# --- negative caching and recovery -------------------------------------------

my $from = $t->log_size('gateway', 'error');

$r = post('gone');
is($r->status, 503, 'gone: refused');
like($r->body, qr/"code":"connect_failed"/, 'gone: connect_failed');
is($r->header('Retry-After'), 1, 'gone: Retry-After is retry=');

is(post('gone')->status, 503, 'gone: refused again');
is(entry($gone)->{counters}{fetches}, 1,
   'gone: within retry= from the cache, without a connection attempt');
my @tries = $t->log_slice('gateway', 'error', $from)
            =~ /attestation of "[^"]*:$gone" failed/g;
is(scalar @tries, 1, 'gone: one error line for one attempt');

# it comes back
my $doc = $a->write_doc('gone.json');
$a->docserver('gone', doc => $doc);

$t->wait_for(sub { $a->passed(post('gone')) },
             'gone: the gateway recovers', 10);
my $g = entry($gone);
is($g->{state}, 'verified', 'gone: verified now');
is($g->{last_error}{reason}, 'connect_failed',
   'gone: status keeps the last error');
is(scalar @{ $a->fetches('gone') }, 1, 'gone: one fetch when it was back');

$t->done;
