#!/usr/bin/env bash
# Runs the whole suite: every Check unit binary in $BUILD/tests, then every
# executable tests/integration/*.sh (each starts and stops its own loopback
# peers).  Prints one line per test program and a final "N passed, N failed".
#   UNIT_ONLY=1   skip integration tests
#   VALGRIND=1    run unit binaries under valgrind (leaks and errors fail)
#   ONLY=pattern  run only test programs whose name matches
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD ROOT="$PWD"
pass=0
fail=0
failed=()
logdir=$(mktemp -d /tmp/drp-tests.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

run_one() { # name, command...
	local name=$1
	shift
	if [ -n "${ONLY:-}" ] && [[ "$name" != *${ONLY}* ]]; then return; fi
	local t0=$(date +%s.%N)
	if "$@" >"$logdir/$name.log" 2>&1; then
		pass=$((pass + 1))
		printf 'PASS %-40s %6.2fs  %s\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)" \
			"$(grep -E '^[0-9]+%: Checks' "$logdir/$name.log" | tail -1)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %s\n' "$name"
		sed 's/^/    | /' "$logdir/$name.log" | tail -60
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o | *.d) continue ;; esac
	name=$(basename "$t")
	if [ "${VALGRIND:-0}" = 1 ]; then
		run_one "valgrind:$name" env CK_FORK=no valgrind -q --error-exitcode=99 \
			--suppressions=tests/valgrind.supp \
			--leak-check=full --errors-for-leak-kinds=definite,indirect "$t"
	else
		run_one "$name" "$t"
	fi
done

if [ "${UNIT_ONLY:-0}" != 1 ]; then
	for t in tests/integration/*.sh; do
		[ -x "$t" ] || continue
		run_one "$(basename "$t" .sh)" "$t"
	done
fi

echo
if [ "$fail" -gt 0 ]; then
	echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
