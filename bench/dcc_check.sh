#!/usr/bin/env bash
# `drp check --network dcc` per message as a whole process (start, config,
# checksums, one QUERY to the project's loopback DCC test server, JSON out)
# over the visible corpus (tests/data without ../shared), next to
# `drp digest --network dcc` (the same process without the network), so the
# cost of the UDP conversation itself shows.  BENCH_ROUNDS passes (default 3).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
PY=/usr/bin/python3
dir=${SHARED:-../shared}/corpus/visible
[ -d "$dir" ] || dir=tests/data
rounds=${BENCH_ROUNDS:-3}
T=$(mktemp -d /tmp/drp-dccbench.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
"$PY" tests/peers/dcc_server.py --port-file "$T/port" --lifetime 600 >"$T/srv.out" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
export DCC_SERVERS=127.0.0.1:$(cat "$T/port") DRP_CONFIG=$T/none.conf
: >"$DRP_CONFIG"
files=("$dir"/*.eml)

# milliseconds for `rounds` passes of command over every message
pass() {
	local t0 rc
	t0=$(date +%s%N)
	for _ in $(seq "$rounds"); do
		for f in "${files[@]}"; do
			rc=0
			"$DRP" "$@" --network dcc --client-ip 192.0.2.7 <"$f" >/dev/null 2>&1 || rc=$?
			[ "$rc" -le 3 ] || { echo "drp $* failed on $f ($rc)"; exit 1; }
		done
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}
n=$((${#files[@]} * rounds))
ck=$(pass check)
dg=$(pass digest)
ok=$("$DRP" check --network dcc <"${files[0]}" | grep -c '"status":"ok"' || true)
[ "$ok" = 1 ] || { echo "dcc_check: the test server did not answer"; exit 1; }
awk -v n="$n" -v ck="$ck" -v dg="$dg" 'BEGIN {
	printf "dcc_check: %d processes: check %.2f ms/message (%.0f/s), digest %.2f ms/message, network part %.2f ms\n",
		n, ck / n, n * 1000 / ck, dg / n, (ck - dg) / n }'
