#!/usr/bin/env bash
# Runs every libFuzzer target in $FUZZ_BUILD for FUZZ_SECONDS each, seeded
# from tests/data (and tests/fuzz/seeds-<target>/ when present); the working
# corpus lives in tests/fuzz/corpus-<target>/ (ignored by git).
# Prints the exec count per target; exits non-zero on any finding.
set -u
cd "$(dirname "$0")/../.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
rc=0
for f in "$FUZZ_BUILD"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=tests/fuzz/corpus-$name
	mkdir -p "$corpus"
	seeds=()
	[ -d "tests/fuzz/seeds-$name" ] && seeds+=("tests/fuzz/seeds-$name")
	[ -d tests/data ] && seeds+=(tests/data)
	log=$(mktemp)
	if "$f" -max_total_time="$FUZZ_SECONDS" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$FUZZ_BUILD/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
		echo "fuzz $name: $(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)"
	else
		echo "fuzz $name: FINDING"
		tail -40 "$log"
		rc=1
	fi
	rm -f "$log"
done
exit $rc
