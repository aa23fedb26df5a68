#!/usr/bin/env bash
# cache: get/put/check ops/s of core/cache for each backend on loopback —
# embedded (shared memory), redis over TCP and a unix socket, memcached.
# Starts its own redis-server and memcached and stops them on exit.
#   BENCH_N (default 20000) operations per measurement.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
B=$BUILD/bench/bench_cache
N=${BENCH_N:-20000}
[ -x "$B" ] || { echo "missing $B (make tests-bin)"; exit 1; }
W=$(mktemp -d /tmp/drp-bench-cache.XXXXXX)
PIDS=()
cleanup() {
	exec 2>/dev/null
	for p in "${PIDS[@]}"; do kill -9 "$p"; done
	wait
	rm -rf "$W"
}
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "-- embedded (shared memory, $N ops, 400-byte verdicts)"
"$B" --path "$W/emb.shm" --n "$N" --procs 2

if command -v redis-server >/dev/null; then
	RP=$(port)
	redis-server --port "$RP" --bind 127.0.0.1 --unixsocket "$W/r.sock" --save '' \
		--appendonly no --dir "$W" --logfile "$W/redis.log" >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
	echo "-- redis tcp 127.0.0.1:$RP"
	"$B" --path "$W/r.shm" --cache "redis://127.0.0.1:$RP/1" --n "$N"
	echo "-- redis unix socket"
	"$B" --path "$W/r.shm" --cache "redis+unix://$W/r.sock?db=2" --n "$N"
fi
if command -v memcached >/dev/null; then
	MP=$(port)
	memcached -l 127.0.0.1 -p "$MP" -U 0 -u "$(id -un)" -m 64 >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$MP") 2>/dev/null && break; sleep 0.05; done
	echo "-- memcached 127.0.0.1:$MP"
	"$B" --path "$W/m.shm" --cache "memcached://127.0.0.1:$MP" --n "$N"
fi
