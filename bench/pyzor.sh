#!/usr/bin/env bash
# pyzor: digest throughput of drp and of pyzor 1.0.0's own digest code,
# side by side in one run over the visible corpus (single core, CPU time,
# both in-process), MB/s on large synthetic messages, and `drp check
# --network pyzor` vs `pyzor check` as whole processes against a local
# pyzord (hyperfine when installed, else a timed loop).  Prints ratios.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
DRP=$BUILD/drp
PY=/usr/bin/python3
SECS=${BENCH_SECONDS:-3}
dir=${SHARED:-../shared}/corpus/visible
[ -d "$dir" ] || dir=tests/data
files=("$dir"/*.eml)
[ -x "$BUILD/bench/bench_pyzor" ] || { echo "pyzor: build/bench/bench_pyzor not built"; exit 1; }

drp_out=$(taskset -c 0 "$BUILD/bench/bench_pyzor" corpus "$SECS" "${files[@]}" 2>/dev/null ||
	"$BUILD/bench/bench_pyzor" corpus "$SECS" "${files[@]}")
py_out=$(taskset -c 0 "$PY" bench/pyzor_digest_ref.py "$SECS" "${files[@]}" 2>/dev/null ||
	"$PY" bench/pyzor_digest_ref.py "$SECS" "${files[@]}")
large=$("$BUILD/bench/bench_pyzor" large "$SECS")
val() { echo "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
d=$(val "$drp_out" msg_per_s)
p=$(val "$py_out" msg_per_s)
awk -v d="$d" -v p="$p" -v dm="$(val "$drp_out" mb_per_s)" -v pm="$(val "$py_out" mb_per_s)" \
	-v n="${#files[@]}" 'BEGIN {
	printf "pyzor digest, %d messages, CPU time, one core: drp %.0f msg/s (%.1f MB/s), pyzor %.0f msg/s (%.2f MB/s): %.1fx (target >= 50x)\n",
		n, d, dm, p, pm, d / p }'
echo "pyzor digest, large messages: text $(val "$large" large_text_mb_per_s) MB/s, base64 attachment $(val "$large" large_attachment_mb_per_s) MB/s (target >= 300 MB/s)"

# --- whole process against a local pyzord ------------------------------------
command -v pyzord >/dev/null 2>&1 || { echo "pyzor check: pyzord not installed, skipped"; exit 0; }
T=$(mktemp -d /tmp/drp-pyzorbench.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
PORT=$("$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/srv" "$T/home"
pyzord --homedir "$T/srv" -a 127.0.0.1 -p "$PORT" -e gdbm --dsn "$T/srv/db" >"$T/srv.log" 2>&1 &
PID=$!
echo "127.0.0.1:$PORT" >"$T/home/servers"
export PYZOR_HOME=$T/home DRP_CONFIG=$T/none.conf
: >"$DRP_CONFIG"
for _ in $(seq 40); do
	"$DRP" check --network pyzor --ping </dev/null >/dev/null 2>&1 && break
	sleep 0.25
done
msg=${files[0]}
# both sides must really talk to the server before they are timed (exit 1
# = "not listed" is expected, hence hyperfine -i)
"$DRP" check --network pyzor <"$msg" | grep -q '"status":"ok"' ||
	{ echo "pyzor check: drp got no answer from the local pyzord"; exit 1; }
pyzor --homedir "$T/home" check <"$msg" | grep -q "(200, 'OK')" ||
	{ echo "pyzor check: pyzor got no answer from the local pyzord"; exit 1; }
if command -v hyperfine >/dev/null 2>&1; then
	hyperfine -N --warmup 3 --runs "${BENCH_RUNS:-30}" -i --export-json "$T/h.json" \
		"$DRP check --network pyzor --server 127.0.0.1:$PORT --pyzor-home $T/home" \
		"pyzor --homedir $T/home check" --input "$msg" >/dev/null 2>&1 ||
		hyperfine -N --warmup 3 --runs "${BENCH_RUNS:-30}" -i --export-json "$T/h.json" \
			"sh -c '$DRP check --network pyzor <$msg'" "sh -c 'pyzor --homedir $T/home check <$msg'" >/dev/null 2>&1
	"$PY" - "$T/h.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
d, p = r[0]["mean"] * 1000, r[1]["mean"] * 1000
print("pyzor check as a process vs local pyzord (hyperfine): drp %.2f ms, pyzor %.2f ms: %.1fx faster" % (d, p, p / d))
PYEOF
else
	n=${BENCH_RUNS:-30}
	t0=$(date +%s%N)
	for _ in $(seq "$n"); do "$DRP" check --network pyzor <"$msg" >/dev/null 2>&1; done
	t1=$(date +%s%N)
	for _ in $(seq "$n"); do pyzor --homedir "$T/home" check <"$msg" >/dev/null 2>&1; done
	t2=$(date +%s%N)
	awk -v a=$(((t1 - t0) / n)) -v b=$(((t2 - t1) / n)) 'BEGIN {
		printf "pyzor check as a process vs local pyzord (loop): drp %.2f ms, pyzor %.2f ms: %.1fx faster\n", a / 1e6, b / 1e6, b / a }'
fi
