#!/usr/bin/env bash
# `drp check --network razor` as a whole process against razor-check
# (razor-agents 2.85), both against the local test server
# (tests/peers/razor_server.pl) on loopback, same messages, same server
# state (the spam message reported, so both get a hit).  Prints each
# tool's mean wall time per message and the ratio; hyperfine when
# installed, a plain timing loop otherwise.
#   RUNS=N (default 30)   MSG=path (default tests/data/syn_html_spam.eml)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
SRV=$PWD/tests/peers/razor_server.pl
RUNS=${RUNS:-30}
MSG=${MSG:-tests/data/syn_html_spam.eml}
for t in razor-check razor-report razor-admin perl; do
	command -v "$t" >/dev/null || { echo "razor_check: skipped: $t not installed"; exit 0; }
done
[ -x "$DRP" ] || { echo "razor_check: $DRP not built"; exit 1; }

T=$(mktemp -d /tmp/drp-rzbench.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
perl "$SRV" --port-file "$T/port" >"$T/srv.out" 2>&1 &
PID=$!
for _ in $(seq 200); do
	[ -s "$T/port" ] && break
	sleep 0.05
done
PORT=$(cat "$T/port")

# one razorhome for both tools: the lists and server state razor-admin
# writes, an identity for the report that makes the message listed
H=$T/home
mkdir -p "$H"
echo "razordiscovery = 127.0.0.1:$PORT" >"$H/razor-agent.conf"
razor-admin -home="$H" -create >/dev/null 2>&1
razor-admin -home="$H" -register -user=bench -pass=bench >/dev/null 2>&1
razor-report -home="$H" -f "$MSG" >/dev/null 2>&1
cp "$MSG" "$T/msg"
export DRP_CONFIG=/dev/null RAZOR_HOME=$H
"$DRP" check --network razor <"$T/msg" >/dev/null || { echo "razor_check: drp check did not hit"; exit 1; }
razor-check -home="$H" "$T/msg" || { echo "razor_check: razor-check did not hit"; exit 1; }

DRP_CMD="$DRP check --network razor < $T/msg > /dev/null"
RZ_CMD="razor-check -home=$H $T/msg"
if command -v hyperfine >/dev/null; then
	hyperfine --warmup 3 --runs "$RUNS" --export-json "$T/h.json" -n drp "$DRP_CMD" \
		-n razor-check "$RZ_CMD" >"$T/h.out" 2>&1 || { cat "$T/h.out"; exit 1; }
	/usr/bin/python3 - "$T/h.json" <<'PYEOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
d, z = r["drp"], r["razor-check"]
print("razor_check: drp check %.2f ms +- %.2f, razor-check %.2f ms +- %.2f (hyperfine, %d runs)"
      % (d["mean"] * 1e3, d["stddev"] * 1e3, z["mean"] * 1e3, z["stddev"] * 1e3, len(d["times"])))
print("razor_check: ratio razor-check / drp = %.1fx" % (z["mean"] / d["mean"]))
PYEOF
else
	t0=$(date +%s%N)
	for _ in $(seq "$RUNS"); do sh -c "$DRP_CMD"; done
	t1=$(date +%s%N)
	for _ in $(seq "$RUNS"); do sh -c "$RZ_CMD" >/dev/null || true; done
	t2=$(date +%s%N)
	d=$(((t1 - t0) / RUNS / 1000))
	z=$(((t2 - t1) / RUNS / 1000))
	echo "razor_check: drp check ${d} us, razor-check ${z} us per message ($RUNS runs)"
	echo "razor_check: ratio razor-check / drp = $(echo "scale=1; $z / $d" | bc)x"
fi
