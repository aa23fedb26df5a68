#!/usr/bin/env bash
# Razor2 signature conformance: every row of vectors/razor/signatures.tsv
# (file, part, engine, signature, in razor-agents' order) and parts.tsv
# (prepared / VR8-cleaned / VR4-cleaned lengths, used or skipped) against
# `drp digest --network razor` for every visible corpus message.  A message
# without rows must give none.  On a mismatch the cleaned texts the
# reference hashed (vectors/razor/cleaned/) are compared to drp's to say
# where the difference starts; they are also counted on their own.  Exits non-zero below 100%.
set -u
BUILD=${BUILD:-build}
SHARED=${SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
DRP=$BUILD/drp
V=$SHARED/vectors/razor
C=$SHARED/corpus/visible
[ -x "$DRP" ] || { echo "razor: $DRP not built"; exit 1; }
[ -f "$V/signatures.tsv" ] || { echo "razor: no vectors at $V"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$DRP" "$tmp/drp" && DRP=$tmp/drp # immune to a rebuild while running

sig_ok=0 sig_all=0 part_ok=0 part_all=0 msg_ok=0 msg_all=0 extra=0 cl_ok=0 cl_all=0
for m in "$C"/*.eml; do
	f=$(basename "$m")
	msg_all=$((msg_all + 1))
	awk -F'\t' -v f="$f" 'NR > 1 && $1 == f { print $2 "\t" $3 "\t" $4 }' \
		"$V/signatures.tsv" >"$tmp/exp.sig"
	awk -F'\t' -v f="$f" 'NR > 1 && $1 == f { print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 }' \
		"$V/parts.tsv" >"$tmp/exp.parts"
	if ! "$DRP" digest --network razor --ep4 7542-10 <"$m" >"$tmp/got.sig" 2>"$tmp/err"; then
		echo "FAIL $f: drp exited non-zero: $(cat "$tmp/err")"
	fi
	"$DRP" digest --network razor --show parts <"$m" >"$tmp/got.parts" 2>/dev/null
	n=$(wc -l <"$tmp/exp.sig")
	sig_all=$((sig_all + n))
	# row i must equal row i (order matters: it is the query order)
	k=$(paste "$tmp/exp.sig" <(head -n "$n" "$tmp/got.sig") |
		awk -F'\t' '$1 == $4 && $2 == $5 && $3 == $6' | wc -l)
	sig_ok=$((sig_ok + k))
	g=$(wc -l <"$tmp/got.sig")
	[ "$g" -gt "$n" ] && extra=$((extra + g - n))
	n=$(wc -l <"$tmp/exp.parts")
	part_all=$((part_all + n))
	k=$(paste "$tmp/exp.parts" <(head -n "$n" "$tmp/got.parts") |
		awk -F'\t' '$1 == $6 && $2 == $7 && $3 == $8 && $4 == $9 && $5 == $10' | wc -l)
	part_ok=$((part_ok + k))
	# the exact cleaned texts the reference captured
	for p in $(cut -f1 "$tmp/exp.parts"); do
		for e in vr4 vr8; do
			ref="$V/cleaned/$f.$p.$e.txt"
			[ -f "$ref" ] || continue
			cl_all=$((cl_all + 1))
			"$DRP" digest --network razor --show "$e" --part "$p" <"$m" >"$tmp/c" 2>/dev/null
			if cmp -s "$ref" "$tmp/c"; then
				cl_ok=$((cl_ok + 1))
			else
				echo "  $f part $p $e cleaned text differs: $(cmp "$ref" "$tmp/c" 2>&1 | head -1)"
			fi
		done
	done
	if cmp -s "$tmp/exp.sig" "$tmp/got.sig" &&
		[ "$(wc -l <"$tmp/got.parts")" -eq "$n" ] && [ "$k" -eq "$n" ]; then
		msg_ok=$((msg_ok + 1))
		continue
	fi
	echo "MISMATCH $f"
	diff "$tmp/exp.sig" "$tmp/got.sig" | sed 's/^/  sig /'
	diff "$tmp/exp.parts" "$tmp/got.parts" | sed 's/^/  parts /'
done
echo "razor signatures: $sig_ok/$sig_all rows match ($extra extra rows from drp)"
echo "razor parts: $part_ok/$part_all rows match"
echo "razor cleaned texts: $cl_ok/$cl_all identical to vectors/razor/cleaned"
echo "razor messages: $msg_ok/$msg_all identical"
[ "$sig_ok" -eq "$sig_all" ] && [ "$cl_ok" -eq "$cl_all" ] && [ "$part_ok" -eq "$part_all" ] && [ "$extra" -eq 0 ] &&
	[ "$msg_ok" -eq "$msg_all" ]
