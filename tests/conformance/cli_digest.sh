#!/usr/bin/env bash
# `drp digest` (all networks, no --network) over $SHARED/corpus/visible,
# each section against the reference tools' recorded output: the pyzor
# section against vectors/pyzor/digests.tsv (pyzor digest), the razor
# section line for line against vectors/razor/signatures.tsv (razor-agents'
# signatures, in their order), the dcc section against
# vectors/dcc/checksums.tsv (dccproc) for all four option variants.
# Prints "<section>: N/M match"; exits non-zero below 100%.
set -u
BUILD=${BUILD:-build}
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
DRP=$ROOT/$BUILD/drp
C=$SHARED/corpus/visible
V=$SHARED/vectors
[ -x "$DRP" ] || { echo "cli_digest: $DRP not built"; exit 1; }
[ -d "$C" ] && [ -f "$V/dcc/checksums.tsv" ] || { echo "cli_digest: skipped, no vectors"; exit 0; }
T=$(mktemp -d /tmp/drp-clidg-conf.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
export DRP_CONFIG=/dev/null
section() { awk -v h="# $1" '/^# / { on = ($0 == h); next } on' "$2"; }

pt=0 pok=0 rt=0 rok=0 dt=0 dok=0
for f in "$C"/*.eml; do
	b=$(basename "$f")
	"$DRP" digest <"$f" >"$T/all" 2>/dev/null
	want=$(awk -F'\t' -v b="$b" '$1 == b { print $2 }' "$V/pyzor/digests.tsv")
	if [ -n "$want" ]; then
		pt=$((pt + 1))
		got=$(section pyzor "$T/all")
		if [ "$got" = "$want" ]; then pok=$((pok + 1)); else echo "  pyzor: $b: $got (want $want)"; fi
	fi
	awk -F'\t' -v b="$b" '$1 == b { print $2 "\t" $3 "\t" $4 }' "$V/razor/signatures.tsv" >"$T/rref"
	if [ -s "$T/rref" ]; then
		rt=$((rt + 1))
		section razor "$T/all" >"$T/rgot"
		if cmp -s "$T/rref" "$T/rgot"; then rok=$((rok + 1)); else
			echo "  razor: $b differs:"
			diff "$T/rref" "$T/rgot" | head -4 | sed 's/^/    /'
		fi
	fi
	for v in a_f none R S_Subject; do
		case $v in
		a_f) opts=(--client-ip 192.0.2.7 --env-from sender@example.com) ;;
		none) opts=() ;;
		R) opts=(--ip-from-received) ;;
		S_Subject) opts=(--client-ip 192.0.2.7 --env-from sender@example.com --substitute Subject) ;;
		esac
		awk -F'\t' -v b="$b" -v v="$v" '$1 == b && $2 == v && $5 != "ABSENT" { print $4 "\t" $6 }' \
			"$V/dcc/checksums.tsv" | sort >"$T/dref"
		[ -s "$T/dref" ] || continue # refused by dccproc: checksums_notes.tsv, dcc.sh
		dt=$((dt + 1))
		"$DRP" digest "${opts[@]}" <"$f" 2>/dev/null >"$T/dall"
		section dcc "$T/dall" | sort >"$T/dgot"
		if cmp -s "$T/dref" "$T/dgot"; then dok=$((dok + 1)); else
			echo "  dcc: $b ($v) differs:"
			diff "$T/dref" "$T/dgot" | head -4 | sed 's/^/    /'
		fi
	done
done
echo "cli_digest pyzor: $pok/$pt match"
echo "cli_digest razor: $rok/$rt match"
echo "cli_digest dcc: $dok/$dt match"
[ "$pt" -gt 0 ] && [ "$rt" -gt 0 ] && [ "$dt" -gt 0 ] &&
	[ "$pok" = "$pt" ] && [ "$rok" = "$rt" ] && [ "$dok" = "$dt" ]
