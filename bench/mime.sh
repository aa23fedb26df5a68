#!/usr/bin/env bash
# Message layer throughput, single core: MIME parse + transfer decode over
# the visible corpus (or tests/data without ../shared) and a 5 MB base64
# attachment.  Target: >= 300 MB/s on the base64-heavy message.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
dir=${SHARED:-../shared}/corpus/visible
[ -d "$dir" ] || dir=tests/data
taskset -c 0 "$BUILD/bench/bench_mime" -n "${BENCH_SECONDS:-2}" "$dir"/*.eml 2>/dev/null ||
	"$BUILD/bench/bench_mime" -n "${BENCH_SECONDS:-2}" "$dir"/*.eml
