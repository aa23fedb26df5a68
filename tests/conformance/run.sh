#!/usr/bin/env bash
# Conformance over ../shared: runs every executable tests/conformance/*.sh
# other than this one.  Each script compares drp's fingerprints with the
# reference vectors, prints "<name>: N/M match" lines, and exits non-zero
# below 100%.  Without $SHARED it says why and exits 0 (CI's only skip).
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build} SHARED=${SHARED:-$(cd .. && pwd)/shared} ROOT="$PWD"
if [ ! -d "$SHARED/vectors" ]; then
	echo "conformance: skipped: no reference vectors at $SHARED"
	exit 0
fi
pass=0
fail=0
for t in tests/conformance/*.sh; do
	[ "$(basename "$t")" = run.sh ] && continue
	[ -x "$t" ] || continue
	echo "== $(basename "$t" .sh)"
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $(basename "$t")"; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
