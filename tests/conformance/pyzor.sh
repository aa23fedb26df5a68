#!/bin/sh
# pyzor conformance: drp's digest, normalized lines and predigest against
# $SHARED/vectors/pyzor (pyzor 1.0.0 run over corpus/visible and extra/),
# and drp's request signing against every request captured in packets.txt
# (byte for byte).  Prints counts; exits non-zero below 100%.
set -u
BUILD=${BUILD:-build}
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
case $BUILD in /*) DRP=$BUILD/drp ;; *) DRP=$ROOT/$BUILD/drp ;; esac
V=$SHARED/vectors/pyzor
C=$SHARED/corpus/visible
[ -x "$DRP" ] || { echo "pyzor: $DRP not built"; exit 1; }
[ -f "$V/digests.tsv" ] || { echo "pyzor: skipped, no vectors"; exit 0; }
T=$(mktemp -d /tmp/drp-pyzor-conf.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
fail=0

# digests.tsv: file digest n_lines sampled note; an empty digest means the
# reference crashed (checked separately below)
digests() { # tsv dir label
	total=0 ok=0 lok=0 pok=0 lines_total=0
	# (awk: `read` would merge the empty columns of a crash row)
	awk -F'\t' 'NR > 1 && $2 != ""' "$1" >"$T/tsv"
	while IFS='	' read -r f d n s note; do
		[ "$f" = file ] && continue
		[ -n "$d" ] || continue
		total=$((total + 1))
		got=$("$DRP" digest --network pyzor <"$2/$f" 2>/dev/null)
		if [ "$got" = "$d" ]; then ok=$((ok + 1)); else echo "  digest mismatch: $f: $got (want $d)"; fi
		if [ -f "$3/normalized/$f.txt" ]; then
			lines_total=$((lines_total + 1))
			"$DRP" digest --network pyzor --normalized <"$2/$f" >"$T/n" 2>/dev/null
			cmp -s "$T/n" "$3/normalized/$f.txt" && lok=$((lok + 1)) || echo "  normalized lines differ: $f"
			"$DRP" digest --network pyzor --predigest <"$2/$f" >"$T/p" 2>/dev/null
			cmp -s "$T/p" "$3/predigest/$f.txt" && pok=$((pok + 1)) || echo "  predigest differs: $f"
		fi
	done <"$T/tsv"
	echo "pyzor $4 digests: $ok/$total match"
	echo "pyzor $4 normalized lines: $lok/$lines_total match, predigest: $pok/$lines_total match"
	[ $ok -eq $total ] && [ $lok -eq $lines_total ] && [ $pok -eq $lines_total ] || fail=1
}
digests "$V/digests.tsv" "$C" "$V" visible
digests "$V/extra/out/digests.tsv" "$V/extra" "$V/extra/out" extra

# the case where pyzor 1.0.0 dies (HTML `<![foo[`): pyzor's error handler
# names html.parser.HTMLParseError, which Python 3 no longer has.  Restore
# that name (as the parser's AssertionError) and run pyzor's own digest
# code: that is the digest its documented rule implies; drp must give it,
# without crashing, and say so on stderr.
crash=$V/extra/html_marked_section_crash.eml
if [ -f "$crash" ]; then
	want=$(/usr/bin/python3 -c '
import email, sys, html.parser
html.parser.HTMLParseError = AssertionError
import pyzor.digest
msg = email.message_from_bytes(open(sys.argv[1], "rb").read())
print(pyzor.digest.DataDigester(msg).value)' "$crash")
	if "$DRP" digest --network pyzor <"$crash" >"$T/d" 2>"$T/e" &&
		[ -n "$want" ] && [ "$(cat "$T/d")" = "$want" ] && grep -q "crashes" "$T/e"; then
		echo "pyzor crash case: 1/1 (= pyzor with its error handler repaired, plus a warning)"
	else
		echo "pyzor crash case: 0/1: $(cat "$T/d") want $want"; fail=1
	fi
fi

# the upstream 1.1.x NUL rule (pyzor_nul_rule): the doc's side-by-side
# digest of extra/nul_diff.eml under that rule
nul=$V/extra/nul_diff.eml
want=$(grep -o '1\.1\.x rule `[0-9a-f]\{40\}`' "$SHARED/docs/pyzor-protocol.md" 2>/dev/null |
	grep -o '[0-9a-f]\{40\}' | head -1)
if [ -f "$nul" ] && [ -n "$want" ]; then
	got=$("$DRP" digest --network pyzor --nul-rule <"$nul")
	if [ "$got" = "$want" ]; then echo "pyzor 1.1.x NUL rule: 1/1"; else
		echo "pyzor 1.1.x NUL rule: 0/1: $got want $want"; fail=1; fi
fi

# signing: rebuild every captured request from its fields with drp and
# compare the datagram byte for byte
/usr/bin/python3 - "$V/packets.txt" >"$T/reqs" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
user = re.search(r"USER = (\S+)", text).group(1)
key = re.search(r"KEY  = (\S+)", text).group(1)
for block in text.split("=" * 78):
    if " REQUEST " not in block:
        continue
    lines = re.findall(r"^  \|(.*)\|$", block, re.M)
    hexd = re.search(r"^  hex: ([0-9a-f]+)$", block, re.M).group(1)
    h = dict(l.split(": ", 1) for l in lines if ": " in l)
    signed = h.get("User") != "anonymous"
    print("\t".join([h["Op"], h.get("Op-Digest", "-"), h["Thread"], h["Time"],
                     user if signed else "-", key if signed else "-", hexd]))
PYEOF
total=0 ok=0
while IFS='	' read -r op dig thread tm user key hexd; do
	total=$((total + 1))
	case $op in
	ping) args="check --ping" ;; info) args="check --info" ;; check) args=check ;;
	report) args=report ;; whitelist) args=revoke ;; *) args=unknown ;;
	esac
	[ "$dig" = - ] && dig=0000000000000000000000000000000000000000
	if [ "$user" = - ]; then envs="PYZOR_USER="; else envs="PYZOR_USER=$user PYZOR_KEY=$key"; fi
	# shellcheck disable=SC2086
	got=$(env $envs "$DRP" $args --network pyzor --request-only --digest "$dig" \
		--thread "$thread" --time "$tm" </dev/null | od -An -v -tx1 | tr -d ' \n')
	if [ "$got" = "$hexd" ]; then ok=$((ok + 1)); else echo "  request differs: $op thread $thread"; fi
done <"$T/reqs"
echo "pyzor signed requests: $ok/$total byte-identical"
[ $total -gt 0 ] && [ $ok -eq $total ] || fail=1
exit $fail
