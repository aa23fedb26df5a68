#!/usr/bin/env bash
# Razor signatures, single core, side by side in one run: drp's engines
# (bench_razor, in-process) and the reference razor-agents 2.85 Perl modules
# driven in-process (razor_sig_perl.pl: parse_mbox + prepare_objects +
# compute_sigs, what razor-check does before the network), over the same
# messages for the same CPU time; then MB/s on large synthetic messages.
# Rates are per CPU second, so a busy machine skews both sides alike.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
SECS=${RAZOR_BENCH_SECONDS:-5}
B=$BUILD/bench/bench_razor
[ -x "$B" ] || { echo "razor_sig: $B not built (make tests-bin)"; exit 1; }
if [ -d "$SHARED/corpus/visible" ]; then
	files=("$SHARED"/corpus/visible/*.eml)
	corpus="visible corpus"
else
	files=(tests/data/*.eml)
	corpus="tests/data"
fi
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

taskset -c 0 "$B" -t "$SECS" "${files[@]}" >"$tmp/drp" 2>&1 || "$B" -t "$SECS" "${files[@]}" >"$tmp/drp"
if perl -MRazor2::Client::Agent -e 1 2>/dev/null; then
	perl bench/razor_sig_perl.pl "$SECS" 7542-10 "${files[@]}" >"$tmp/perl"
else
	echo "razor_sig: Razor2 perl modules missing; no reference side"
	: >"$tmp/perl"
fi
echo "razor signatures over the $corpus (${#files[@]} messages), ep4 7542-10, per CPU second:"
printf '  %-28s %12s %12s %10s\n' "" "messages/s" "signatures/s" "MB/s"
printf '  %-28s %12s %12s %10s\n' "drp (libdrp, in-process)" "$(get msgs_per_s "$tmp/drp")" \
	"$(get sigs_per_s "$tmp/drp")" "$(get mb_per_s "$tmp/drp")"
if [ -s "$tmp/perl" ]; then
	printf '  %-28s %12s %12s %10s\n' "razor-agents 2.85 (Perl)" "$(get msgs_per_s "$tmp/perl")" \
		"$(get sigs_per_s "$tmp/perl")" "$(get mb_per_s "$tmp/perl")"
	awk -v a="$(get msgs_per_s "$tmp/drp")" -v b="$(get msgs_per_s "$tmp/perl")" \
		'BEGIN { if (b > 0) printf "  ratio drp / Perl: %.1fx (target >= 50x)\n", a / b }'
	awk -v a="$(get signatures "$tmp/drp")" -v am="$(get messages "$tmp/drp")" \
		-v b="$(get signatures "$tmp/perl")" -v bm="$(get messages "$tmp/perl")" \
		'BEGIN { if (am > 0 && bm > 0) printf "  signatures per message: drp %.3f, Perl %.3f\n", a / am, b / bm }'
fi
"$B" -L 20 -t "$SECS" >"$tmp/large"
echo "large messages (20 MB), drp, per CPU second (target >= 300 MB/s):"
echo "  one text part (cut to 60 KiB as razor-agents does): $(get large_text_mb_per_s "$tmp/large") MB/s"
echo "  multipart, every 50 KiB part HTML/base64/QP and signed: $(get large_multipart_mb_per_s "$tmp/large") MB/s"
