#!/usr/bin/env bash
# Runs every executable bench/*.sh other than this one; each prints its own
# side-by-side numbers and ratios.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build} SHARED=${SHARED:-$(cd .. && pwd)/shared} ROOT="$PWD"
for b in bench/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	[ -x "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	"$b" || echo "bench $(basename "$b"): failed"
done
