#!/usr/bin/perl
# razor_sig_oracle.pl EP4 sigs|sums FILE...
#
# The signature oracle: runs the installed razor-agents modules in-process
# (Agent::parse_mbox, Core::prepare_objects, Core::compute_sigs -- the same
# calls razor-check makes, minus the network) on each FILE and prints, after
# a "== FILE" line, what `drp digest --network razor` prints for it:
#   sigs: PART<TAB>ENGINE<TAB>SIGNATURE per signature, in query order
#   sums: "mail<TAB>N<TAB>len<TAB>sha1" per message (the report header), then
#         PART, prepared/VR8/VR4 lengths, used|skipped, and the SHA-1 of the
#         three texts (drp --show sums)
# A message the reference dies on prints "DIE" (in both modes).
use strict;
use warnings;
no warnings qw(once redefine);
use Digest::SHA qw(sha1_hex);
use Razor2::Client::Agent;

my ($ep4, $mode, @files) = @ARGV;
die "usage: $0 EP4 sigs|sums FILE...\n" unless defined $mode && $mode =~ /^(sigs|sums)$/;
binmode STDOUT;

for my $file (@files) {
    print "== $file\n";
    my $agent = Razor2::Client::Agent->new('razor-check');
    $agent->{conf} = { report_headers => 1, debuglevel => 0 };
    $agent->{s} = { conf => { ep4 => $ep4 }, engines => { 4 => 1, 8 => 1 }, ip => '127.0.0.1' };
    open(my $fh, '<', $file) or die "$file: $!\n";
    binmode $fh;
    my $mails = $agent->parse_mbox({ fh => $fh });
    close $fh;
    next unless $mails && @$mails;
    my $objs = $agent->prepare_objects($mails);
    my $ok = eval { $agent->compute_sigs($objs); 1 };
    unless ($ok) {
        print "DIE\n";    # Digest::SHA croaks on a wide character in a VR8 host
        next;
    }
    my $multi = @$objs > 1;
    if ($mode eq 'sums') {
        for my $obj (@$objs) {
            my $h = $obj->{headers} ? ${ $obj->{headers} } : undef;
            # prep_mail's header block exists even when no part survives
            unless (defined $h) {
                my ($hdr) = split /\n\r*\n/, ${ $obj->{orig_mail} }, 2;
                $hdr = '' unless defined $hdr;
                $h = "$hdr\n";
                if (length($h) > 15 * 1024) {
                    my $t = "X-Razor2-Origlen-Header: " . length($h) . "\n" . $h;
                    $t = substr $t, 0, 15 * 1024;
                    $t =~ s/([^\n]+)$//s;
                    $h = $t;
                }
                $h =~ s/\r\n/\n/gs;
            }
            print join("\t", 'mail', $obj->{id}, length($h), sha1_hex($h)), "\n";
        }
    }
    for my $obj (@$objs) {
        next unless $obj->{p};
        for my $p (@{ $obj->{p} }) {
            my $id = $p->{id};
            $id =~ s/^1\.// unless $multi;
            if ($mode eq 'sums') {
                my ($b, $c8, $c4) = map { defined $_ ? $$_ : '' } @$p{qw(body cleaned_vr8 cleaned)};
                $c8 = '' unless defined $c8;
                $c4 = '' unless defined $c4;
                print join("\t", $id, length($b), length($c8), length($c4),
                    $p->{skipme} ? 'skipped' : 'used', sha1_hex($b), sha1_hex($c8),
                    sha1_hex($c4)), "\n";
                next;
            }
            next if $p->{skipme};
            print "$id\t4\t$p->{e4}\n" if $p->{e4};
            if (ref $p->{e8} eq 'ARRAY') {
                print "$id\t8\t$_\n" for @{ $p->{e8} };
            }
        }
    }
}
