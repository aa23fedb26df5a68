#!/usr/bin/perl
# razor_sig_perl.pl SECONDS EP4 FILE... -- the reference side of
# bench/razor_sig.sh: the installed razor-agents modules, in-process, doing
# what razor-check does to each message before it talks to a server
# (parse_mbox, prepare_objects, compute_sigs), in a loop over the files
# for SECONDS of CPU time.  Prints the same "key value" lines as bench_razor.
use strict;
use warnings;
no warnings qw(once redefine);
use Time::HiRes qw(clock_gettime CLOCK_PROCESS_CPUTIME_ID);
use Razor2::Client::Agent;

my ($secs, $ep4, @files) = @ARGV;
die "usage: $0 SECONDS EP4 FILE...\n" unless @files;
my @mails;
for my $f (@files) {
    open(my $fh, '<', $f) or die "$f: $!\n";
    binmode $fh;
    local $/;
    push @mails, scalar <$fh>;
    close $fh;
}

my ($msgs, $sigs, $bytes) = (0, 0, 0);
sub cpu { return clock_gettime(CLOCK_PROCESS_CPUTIME_ID) }
my $t0 = cpu();
my $t;
do {
    for my $m (@mails) {
        my $agent = Razor2::Client::Agent->new('razor-check');
        $agent->{conf} = { report_headers => 1, debuglevel => 0 };
        $agent->{s} = { conf => { ep4 => $ep4 }, engines => { 4 => 1, 8 => 1 }, ip => '127.0.0.1' };
        open(my $fh, '<', \$m) or die;
        my $mails = $agent->parse_mbox({ fh => $fh });
        if ($mails && @$mails) {
            my $objs = $agent->prepare_objects($mails);
            if (eval { $agent->compute_sigs($objs); 1 }) {
                for my $o (@$objs) {
                    for my $p (@{ $o->{p} || [] }) {
                        next if $p->{skipme};
                        $sigs++ if $p->{e4};
                        $sigs += @{ $p->{e8} } if ref $p->{e8} eq 'ARRAY';
                    }
                }
            }
        }
        $msgs++;
        $bytes += length $m;
    }
} while (($t = cpu() - $t0) < $secs);
printf "messages %d\nsignatures %d\nseconds %.3f\n", $msgs, $sigs, $t;
printf "msgs_per_s %.0f\nsigs_per_s %.0f\nmb_per_s %.1f\n", $msgs / $t, $sigs / $t,
    $bytes / $t / 1e6;
