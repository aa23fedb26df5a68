#!/usr/bin/env bash
# DCC checksums, single core (pinned with taskset when available): the
# engine alone, in CPU time, over the visible corpus (or tests/data without
# ../shared) and over a message with a 5 MB base64 attachment -- target
# >= 300 MB/s of mail; the best pass is the figure a shared machine
# disturbs least -- and `drp digest --network dcc` per message as a whole
# process (hyperfine when installed).  dccproc itself is not packaged for
# Debian; the side-by-side comparison with it is made outside the project.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
dir=${SHARED:-../shared}/corpus/visible
[ -d "$dir" ] || dir=tests/data
# one core: the numbers are per core, and a pinned process is not
# migrated by the scheduler of a busy machine mid-pass
pin=()
command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null && pin=(taskset -c 0)
"${pin[@]}" "$BUILD/bench/bench_dcc" -n "${BENCH_SECONDS:-2}" "$dir"/*.eml
if [ ! -x "$BUILD/drp" ]; then
	echo "drp digest per process: $BUILD/drp not built (run make), skipped"
	exit 0
fi
msg=$dir/syn_plain_long.eml
[ -f "$msg" ] || msg=$(ls "$dir"/*.eml | head -1)
if command -v hyperfine >/dev/null; then
	# hyperfine subtracts the shell's own start-up from the timing
	echo "drp digest --network dcc, one process per message ($(basename "$msg")):"
	out=$(hyperfine -w 20 -r 200 \
		"$BUILD/drp digest --network dcc --client-ip 192.0.2.7 --env-from a@example.com <$msg" \
		2>&1) || true
	echo "$out" | grep -E 'Time|Range' || echo "$out" | tail -3
else
	n=200
	t0=$(date +%s%N)
	for ((i = 0; i < n; i++)); do
		"$BUILD/drp" digest --network dcc --client-ip 192.0.2.7 <"$msg" >/dev/null
	done
	t1=$(date +%s%N)
	echo "drp digest --network dcc, one process per message ($(basename "$msg")):" \
		"$(((t1 - t0) / n / 1000)) us/message over $n runs (hyperfine not installed)"
fi
