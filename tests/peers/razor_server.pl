#!/usr/bin/perl
# razor_server.pl: the project's Razor2 test server (discovery, nomination
# and catalogue in one process) on a loopback port.
#
# It speaks what the real razor-agents 2.85 expects (greeting, a=g state /
# csl / nsl, a=reg, a=ai + a=auth, a=c, a=r with the err=230 "send the
# mail" round trip and the full-message upload, a=revoke, a=q), in the byte
# layout of shared/vectors/razor/transcripts.txt, so razor-admin,
# razor-check, razor-report and razor-revoke work against it.  Uploaded
# mail is signed with the installed Razor2 modules (VR4 with our ep4, VR8
# Whiplash), as a real server does, and stored with reports counted.
#
# Usage: razor_server.pl [--port N] [--port-file F] [--log F] [--ep4 S]
#   [--srl N] [--ac N] [--se HEX] [--bql N] [--bqs N] [--cf N] [--no-want-mail]
#   [--user U:P]... [--csl H:P]... [--nsl H:P]...
#   [--misbehave close|oversize|split|silent|count|garbage] [--misbehave-on check|greeting|all]
#   [--split-delay-ms N] [--upload-engines 4,8] [--cf-per-report N]
#   [--idle-close-ms N] [--drop-check N] [--drop-how rst|half]
# It prints "PORT=<n>" on stdout once listening (and writes the port to
# --port-file).  --log appends a transcript ("C> "/"S> " lines, escaped as
# in transcripts.txt).  SIGTERM/SIGINT stop it.
# For clients that keep connections: --idle-close-ms closes a connection
# that sent nothing for N ms (as a server or NAT that times out idle
# sessions); --drop-check N resets a connection on its N-th check unit,
# either at once (--drop-how rst, the default) or after half the answer
# (half).  Every connection starts with one greeting, so counting the
# "S> sn=...&srl=" lines of the --log transcript counts connections.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);
use Getopt::Long;
use Time::HiRes qw(time);
use Razor2::String qw(parsesis hmac_sha1 xor_key);
use Razor2::Preproc::Manager;
use Razor2::Client::Engine;

# Engine's vr4_signature logs through its object; we call it as a class.
{ no warnings 'once'; *Razor2::Client::Engine::log = sub { return; }; }

my %o = (port => 0, ep4 => '7542-10', srl => 1, ac => 0, se => '3BC8', bql => 4,
	 bqs => 128, cf => 100, 'misbehave-on' => 'check', 'split-delay-ms' => 100,
	 'oversize-bytes' => 200000, 'upload-engines' => '4,8');
my (@users, @csl, @nsl);
GetOptions(\%o, 'port=i', 'port-file=s', 'log=s', 'ep4=s', 'srl=i', 'ac=i', 'se=s',
	   'bql=i', 'bqs=i', 'cf=i', 'no-want-mail', 'user=s' => \@users, 'csl=s' => \@csl,
	   'nsl=s' => \@nsl, 'misbehave=s', 'misbehave-on=s', 'split-delay-ms=i',
	   'oversize-bytes=i', 'upload-engines=s', 'cf-per-report=i', 'idle-close-ms=i',
	   'drop-check=i', 'drop-how=s')
    or die "usage: see the header of $0\n";

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $o{port},
				   Proto => 'tcp', Listen => 16, ReuseAddr => 1)
    or die "razor_server: listen: $!\n";
my $port = $listen->sockport;
@csl = ("127.0.0.1:$port") unless @csl;
@nsl = ("127.0.0.1:$port") unless @nsl;
$| = 1;
print "PORT=$port\n";
if ($o{'port-file'}) {
	open my $pf, '>', "$o{'port-file'}.tmp" or die "port-file: $!\n";
	print $pf "$port\n";
	close $pf;
	rename "$o{'port-file'}.tmp", $o{'port-file'};
}

my $logfh;
if ($o{log}) {
	open $logfh, '>>', $o{log} or die "log: $!\n";
	$logfh->autoflush(1);
}

my %users = map { split /:/, $_, 2 } @users;
my %db;    # "e:s" => { reports => n }
my $running = 1;
$SIG{TERM} = $SIG{INT} = sub { $running = 0 };
$SIG{PIPE} = 'IGNORE';

my $pp4 = Razor2::Preproc::Manager->new(no_deHTMLcomment => 1);
my $pp8 = Razor2::Preproc::Manager->new(no_deHTML => 1);

my $sel = IO::Select->new($listen);
my %conn;     # fileno => { sock, in, user, authed, achal, last, checks }
my @timed;    # [when, fileno, bytes, close_after]

sub esc {
	my $s = shift;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\r/\\r/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/([^\x20-\x7e])/sprintf("\\x%02X", ord($1))/ge;
	return $s;
}

sub logdir {
	my ($dir, $bytes) = @_;
	return unless $logfh;
	while (length $bytes) {
		my $i = index($bytes, "\n");
		my $line = $i < 0 ? $bytes : substr($bytes, 0, $i + 1);
		$bytes = $i < 0 ? '' : substr($bytes, $i + 1);
		print $logfh "$dir> ", esc($line), "\n";
	}
}

sub drop {
	my $fn = shift;
	my $c = delete $conn{$fn} or return;
	$sel->remove($c->{sock});
	close $c->{sock};
	@timed = grep { $_->[1] != $fn } @timed;
}

sub raw_send {
	my ($c, $bytes) = @_;
	logdir('S', $bytes);
	my $off = 0;
	while ($off < length $bytes) {
		my $n = syswrite($c->{sock}, $bytes, length($bytes) - $off, $off);
		return 0 unless defined $n && $n > 0;
		$off += $n;
	}
	return 1;
}

# Close with a RST instead of a FIN, as a crashed or restarted server does.
sub reset_conn {
	my $fn = shift;
	my $c = $conn{$fn} or return;
	setsockopt($c->{sock}, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
	logdir('S', "<reset>\n");
	drop($fn);
}

# Send one answer, unless this answer is the one to misbehave on.
sub answer {
	my ($c, $bytes, $kind) = @_;
	my $m = $o{misbehave};
	my $on = $o{'misbehave-on'};
	if ($kind eq 'check' && $o{'drop-check'} && ++$c->{checks} == $o{'drop-check'}) {
		my $fn = fileno $c->{sock};
		raw_send($c, substr($bytes, 0, int(length($bytes) / 2)) || 'p')
		    if ($o{'drop-how'} // 'rst') eq 'half';
		reset_conn($fn);
		return;
	}
	if ($m && ($on eq 'all' || $on eq $kind)) {
		my $fn = fileno $c->{sock};
		if ($m eq 'silent') {
			logdir('S', "<silent>\n");
			return;
		} elsif ($m eq 'close') {
			raw_send($c, substr($bytes, 0, int(length($bytes) / 2)) || 'p');
			drop($fn);
			return;
		} elsif ($m eq 'oversize') {
			my $first = $bytes =~ /^-/ ? '' : '-';
			raw_send($c, $first . ('p=0&x=' . ('A' x 1000) . "\r\n") x int($o{'oversize-bytes'} / 1000));
			return;
		} elsif ($m eq 'garbage') {
			raw_send($c, "\x00\xff=garbage&&=%zz\r\n");
			return;
		} elsif ($m eq 'count') {
			# one answer line fewer than asked (or an extra one for a single)
			if ($bytes =~ /^-/) {
				$bytes =~ s/\r\n[^\r\n]*\r\n\.\r\n$/\r\n.\r\n/s;
			} else {
				$bytes = "-$bytes$bytes.\r\n";
			}
			raw_send($c, $bytes);
			return;
		} elsif ($m eq 'split') {
			# the answer in three pieces, split_delay_ms apart
			my $n = length $bytes;
			my @cut = (0, int($n / 3) || 1, int(2 * $n / 3) || 1, $n);
			my $t = time;
			for my $i (0 .. 2) {
				my $piece = substr($bytes, $cut[$i], $cut[$i + 1] - $cut[$i]);
				next unless length $piece;
				push @timed, [$t + $i * $o{'split-delay-ms'} / 1000, $fn, $piece];
			}
			return;
		}
	}
	raw_send($c, $bytes);
}

sub batch_answer {
	my @lines = @_;
	return $lines[0] . "\r\n" if @lines == 1;
	return '-' . join("\r\n", @lines) . "\r\n.\r\n";
}

sub list_answer {
	my ($key, @v) = @_;
	# a one-entry batch is misparsed by razor-agents: send a plain line
	return batch_answer(map { "$key=$_" } @v);
}

sub state_answer {
	my %st = (ac => $o{ac}, bql => $o{bql}, bqs => $o{bqs}, dre => 4, ep4 => $o{ep4},
		  logic_method => 4, se => $o{se}, srl => $o{srl}, sn => 'C',
		  zone => 'razor2.local');
	# the key order the reference server used in transcripts.txt
	my @order = qw(ac bql bqs dre ep4 logic_method se srl sn zone);
	return '-' . join("\r\n", map { "$_=$st{$_}" } @order) . "\r\n.\r\n";
}

sub randstr {
	my $n = shift;
	my @c = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
	my $bytes = '';
	if (open my $r, '<:raw', '/dev/urandom') {
		read $r, $bytes, $n;
		close $r;
	}
	$bytes .= chr(int rand 256) while length $bytes < $n;
	return join '', map { $c[ord($_) % @c] } split //, $bytes;
}

sub sign_upload {
	my $msg = shift;
	my ($hdr, @parts) = split /\r\n/, $msg, -1;
	my @sigs;
	for my $part (@parts) {
		my $c8 = $part;
		$pp8->preproc(\$c8);
		my $c4 = $part;
		$pp4->preproc(\$c4);
		my $clen = length $c8;
		# the emptiness rules of Core::compute_sigs
		next if $clen == 0;
		next if $clen < 128 && $c8 =~ /^(Content\S*:.*\n\r?)+(Content\S*:.*)?\s*$/s;
		next if $c8 !~ /\S/;
		if ($o{'upload-engines'} =~ /4/) {
			my $e4 = Razor2::Client::Engine->vr4_signature(\$c4, $o{ep4});
			push @sigs, "4:$e4" if $e4;
		}
		if ($o{'upload-engines'} =~ /8/) {
			my $e8 = Razor2::Client::Engine->vr8_signature(\$c8);
			push @sigs, map { "8:$_" } @$e8 if $e8;
		}
	}
	return @sigs;
}

# One query (a hash from parsesis) -> answer line, or undef for no answer.
sub query {
	my ($c, $q) = @_;
	my $a = $q->{a};
	return undef unless defined $a;
	if ($a eq 'c') {
		my $r = $db{"$q->{e}:$q->{s}"};
		return 'p=0' unless $r && $r->{reports} > 0;
		# confidence grows with the reports when asked to, else fixed
		my $cf = $o{'cf-per-report'} ? $o{'cf-per-report'} * $r->{reports} : $o{cf};
		$cf = 100 if $cf > 100;
		return "p=1&cf=$cf";
	}
	if ($a eq 'r') {
		return 'err=212' unless $c->{authed};
		if (exists $q->{message}) {
			$db{$_}{reports}++ for sign_upload($q->{message});
			return 'res=1';
		}
		my $k = "$q->{e}:$q->{s}";
		if (($db{$k} && $db{$k}{reports} > 0) || $o{'no-want-mail'}) {
			$db{$k}{reports}++;
			return 'res=1';
		}
		return 'err=230';
	}
	if ($a eq 'revoke') {
		return 'err=212' unless $c->{authed};
		delete $db{"$q->{e}:$q->{s}"};
		return 'res=1';
	}
	if ($a eq 'reg') {
		my $u = $q->{user};
		my $p = $q->{pass};
		return 'err=210' if defined $u && length $u && exists $users{$u};
		$u = 'u' . randstr(10) unless defined $u && length $u;
		$p = randstr(12) unless defined $p && length $p;
		$users{$u} = $p;
		return "res=1&user=$u&pass=$p";
	}
	if ($a eq 'ai') {
		return 'err=213' unless defined $q->{user} && exists $users{$q->{user}};
		$c->{user} = $q->{user};
		$c->{achal} = randstr(16);
		$c->{authed} = 0;
		return "achal=$c->{achal}";
	}
	if ($a eq 'auth') {
		return 'err=212' unless $c->{user} && $c->{achal};
		my ($iv1, $iv2) = xor_key($users{$c->{user}});
		my $want = hmac_sha1($c->{achal}, $iv1, $iv2);
		$c->{achal} = undef;
		if (defined $q->{aresp} && $q->{aresp} eq $want) {
			$c->{authed} = 1;
			return 'res=1';
		}
		return 'res=0';
	}
	return 'err=201';
}

# A complete request unit at the head of $c->{in}: returns its bytes.
sub take_unit {
	my $c = shift;
	my $in = \$c->{in};
	if ($$in =~ /^-[^\r\n]*message=\*/) {
		my $i = index($$in, "\r\n.\r\n");
		return undef if $i < 0;
		return substr($$in, 0, $i + 5, '');
	}
	if ($$in =~ /^-/) {
		return undef unless $$in =~ /\n\.\r?\n/;
		$$in =~ s/^(.*?\n\.\r?\n)//s;
		return $1;
	}
	my $i = index($$in, "\n");
	return undef if $i < 0;
	return substr($$in, 0, $i + 1, '');
}

sub handle_unit {
	my ($c, $u) = @_;
	logdir('C', $u);
	my $fn = fileno $c->{sock};
	if ($u =~ /^-[^\r\n]*message=\*/) {
		$u =~ /^-([^\r\n]*)\r\n(.*)\r\n\.\r\n$/s;
		my %q = parsesis(my $first = $1);
		$q{message} = $2;
		answer($c, query($c, \%q) . "\r\n", 'report');
		return;
	}
	if ($u =~ /^-/) {
		$u =~ s/^-//;
		$u =~ s/\n\.\r?\n$/\n/s;
		my @ans;
		for my $l (split /\r?\n/, $u) {
			my %q = parsesis(my $x = $l);
			push @ans, query($c, \%q) // 'err=201';
		}
		my $kind = (grep { /^a=c&/ || /&a=c(&|$)/ } split /\r?\n/, $u) ? 'check' : 'other';
		answer($c, batch_answer(@ans), $kind);
		return;
	}
	(my $line = $u) =~ s/\r?\n$//;
	my %q = parsesis(my $x = $line);
	my $a = $q{a} // '';
	if ($a eq 'q') {
		drop($fn);
		return;
	}
	if ($a eq 'g') {
		my $pm = $q{pm} // '';
		return answer($c, state_answer(), 'state') if $pm eq 'state';
		return answer($c, list_answer('csl', @csl), 'discovery') if $pm eq 'csl';
		return answer($c, list_answer('nsl', @nsl), 'discovery') if $pm eq 'nsl';
		return answer($c, "err=201\r\n", 'other');
	}
	# "cn=razor-agents&cv=2.84": the client announcing itself, no answer
	return if $a eq '' && exists $q{cn};
	my $r = query($c, \%q) // 'err=201';
	answer($c, "$r\r\n", $a eq 'c' ? 'check' : 'other');
}

while ($running) {
	my $now = time;
	my $wait = 0.5;
	for my $t (@timed) {
		my $d = $t->[0] - $now;
		$wait = $d if $d < $wait;
	}
	if ($o{'idle-close-ms'}) {
		my $idle = $o{'idle-close-ms'} / 1000;
		for my $fn (keys %conn) {
			my $d = $conn{$fn}{last} + $idle - $now;
			if ($d <= 0) {
				logdir('S', "<idle close>\n");
				drop($fn);
				next;
			}
			$wait = $d if $d < $wait;
		}
	}
	$wait = 0 if $wait < 0;
	my @ready = $sel->can_read($wait);
	$now = time;
	my @due = grep { $_->[0] <= $now } @timed;
	@timed = grep { $_->[0] > $now } @timed;
	for my $t (@due) {
		my $c = $conn{$t->[1]} or next;
		raw_send($c, $t->[2]) or drop($t->[1]);
	}
	for my $s (@ready) {
		if ($s == $listen) {
			my $ns = $listen->accept or next;
			$ns->autoflush(1);
			$ns->blocking(0);
			my $c = { sock => $ns, in => '', last => time, checks => 0 };
			$conn{fileno $ns} = $c;
			$sel->add($ns);
			my $g = "sn=C&srl=$o{srl}&a=l&a=cg&ep4=$o{ep4}\r\n";
			if ($o{misbehave} && $o{'misbehave-on'} eq 'greeting') {
				answer($c, $g, 'greeting');
			} else {
				raw_send($c, $g);
			}
			next;
		}
		my $fn = fileno $s;
		my $c = $conn{$fn} or next;
		my $n = sysread($s, my $buf, 65536);
		if (!defined $n || $n == 0) {
			drop($fn);
			next;
		}
		$c->{in} .= $buf;
		$c->{last} = time;
		while ($conn{$fn} && defined(my $u = take_unit($c))) {
			handle_unit($c, $u);
		}
		if ($conn{$fn} && length($c->{in}) > 4 * 1024 * 1024) {
			drop($fn);
		}
	}
}
close $listen;
exit 0;
