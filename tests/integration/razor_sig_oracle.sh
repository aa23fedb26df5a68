#!/usr/bin/env bash
# The razor signature oracle: the installed razor-agents 2.85 modules
# (Debian package `razor`), driven in-process by razor_sig_oracle.pl, against
# `drp digest --network razor` on every tests/data message and on
# pseudo-random messages from razor_sig_gen.pl (fixed seed) that aim at the
# quirks.  Compared: every signature in order for two ep4 values, and the
# SHA-1 of every prepared part, VR8 and VR4 cleaned text and report header.
# Nothing listens on the network.  Exits non-zero on any difference.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DRP=$BUILD/drp
ORACLE=tests/integration/razor_sig_oracle.pl
COUNT=${RAZOR_GEN_COUNT:-200}
[ -x "$DRP" ] || { echo "razor_sig_oracle: $DRP not built"; exit 1; }
if ! perl -MRazor2::Client::Agent -e 1 2>/dev/null; then
	echo "razor_sig_oracle: Razor2 perl modules missing (apt-get install razor)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$DRP" "$tmp/drp" && DRP=$tmp/drp # immune to a rebuild while running
mkdir "$tmp/gen"
perl tests/integration/razor_sig_gen.pl "${RAZOR_GEN_SEED:-20261122}" "$COUNT" "$tmp/gen" || exit 1

# drp's answers in the oracle's format: "== FILE" then the lines; DIE when
# drp reports that the reference would die on the message.
drp_run() { # ep4 sigs-out sums-out|- files...
	local ep4=$1 sigs=$2 sums=$3 f out
	shift 3
	for f in "$@"; do
		out=$("$DRP" digest --network razor --ep4 "$ep4" <"$f" 2>&1)
		case "$out" in *"razor-agents dies"*) out=DIE ;; esac
		printf '== %s\n' "$f" >>"$sigs"
		[ -n "$out" ] && printf '%s\n' "$out" >>"$sigs"
		[ "$sums" = - ] && continue
		[ "$out" = DIE ] || out=$("$DRP" digest --network razor --show sums <"$f" 2>&1)
		printf '== %s\n' "$f" >>"$sums"
		[ -n "$out" ] && printf '%s\n' "$out" >>"$sums"
	done
}

# Compare two outputs file block by file block; print the differing files.
compare() { # label ref got
	perl -e '
		my ($label, $ra, $rb) = @ARGV;
		sub blocks { my %b; my $k; open(my $f, "<", $_[0]) or die;
			while (<$f>) { if (/^== (.*)$/) { $k = $1; $b{$k} = ""; } else { $b{$k} .= $_; } }
			return \%b; }
		my ($a, $b) = (blocks($ra), blocks($rb));
		my ($ok, $n, $die) = (0, 0, 0);
		for my $k (sort keys %$a) {
			$n++;
			$die++ if $a->{$k} eq "DIE\n";
			if (defined $b->{$k} && $a->{$k} eq $b->{$k}) { $ok++; next; }
			print "  MISMATCH $label $k\n";
			my @x = split /\n/, $a->{$k}; my @y = split /\n/, $b->{$k} // "(none)";
			print "    ref: $_\n" for grep { defined } @x[0 .. 5];
			print "    drp: $_\n" for grep { defined } @y[0 .. 5];
		}
		print "razor_sig_oracle $label: $ok/$n messages identical ($die where razor-agents dies)\n";
		exit($ok == $n && $n > 0 ? 0 : 1);
	' "$@"
}

rc=0
data=(tests/data/*.eml)
gen=("$tmp"/gen/*.eml)
perl "$ORACLE" 7542-10 sigs "${data[@]}" "${gen[@]}" >"$tmp/ref.sigs" || rc=1
perl "$ORACLE" 7542-10 sums "${data[@]}" "${gen[@]}" >"$tmp/ref.sums" || rc=1
drp_run 7542-10 "$tmp/drp.sigs" "$tmp/drp.sums" "${data[@]}" "${gen[@]}"
compare "sigs ep4=7542-10" "$tmp/ref.sigs" "$tmp/drp.sigs" || rc=1
compare "texts" "$tmp/ref.sums" "$tmp/drp.sums" || rc=1
# another server parameter: seed 4711, separator "\n\r"
perl "$ORACLE" 4711-10-13 sigs "${data[@]}" "${gen[@]:0:100}" >"$tmp/ref2.sigs" || rc=1
drp_run 4711-10-13 "$tmp/drp2.sigs" - "${data[@]}" "${gen[@]:0:100}"
compare "sigs ep4=4711-10-13" "$tmp/ref2.sigs" "$tmp/drp2.sigs" || rc=1
exit $rc
