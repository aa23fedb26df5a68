#!/usr/bin/env bash
# drp ping: every configured server of every network on one loop under one
# deadline.  A live server (the project's DCC test server) is "ok" with an
# RTT, a silent one and a closed port fail, the whole run keeps the
# deadline, and networks without a ping op are listed as unsupported.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
PY=/usr/bin/python3
SRV=tests/peers/dcc_server.py
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }
[ -f "$SRV" ] || { echo "SKIP: $SRV missing"; exit 0; }
T=$(mktemp -d /tmp/drp-ping.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
# a snapshot: a rebuild in the tree must not swap binaries mid-test
cp "$DRP" "$T/drp" && DRP=$T/drp
fail() { echo "FAIL: $*"; exit 1; }
export DRP_CONFIG=/dev/null

start_dcc() { # name, extra args
	local n=$1
	shift
	$PY "$SRV" --port-file "$T/$n.port" --lifetime 60 "$@" >"$T/$n.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$T/$n.port" ] && break; sleep 0.05; done
	[ -s "$T/$n.port" ] || fail "dcc server $n did not start: $(cat "$T/$n.out")"
}
start_dcc live
start_dcc silent --silent
LIVE=127.0.0.1:$(cat "$T/live.port")
SILENT=127.0.0.1:$(cat "$T/silent.port")
CLOSED=127.0.0.1:$($PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# one live server
"$DRP" ping --network dcc --set "dcc_servers=$LIVE" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 0 ] || fail "ping live: exit $rc: $(cat "$T/out" "$T/err")"
grep -qE "^dcc +$LIVE +ok [0-9]+ ms$" "$T/out" || fail "ping live printed: $(cat "$T/out")"

# live + silent + closed, all at once; json; deadline 1 s
start=$(date +%s%N)
"$DRP" ping --json --timeout 1 --set "dcc_servers=$LIVE $SILENT $CLOSED" \
	--set pyzor_enable=0 >"$T/json" 2>"$T/err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" = 1 ] || fail "ping with dead servers: exit $rc: $(cat "$T/json" "$T/err")"
[ "$ms" -lt 2500 ] || fail "deadline not kept: $ms ms"
$PY - "$T/json" "$LIVE" "$SILENT" "$CLOSED" <<'PYEOF' || fail "ping --json: $(cat "$T/json")"
import json, sys
d = json.load(open(sys.argv[1]))
live, silent, closed = sys.argv[2:5]
assert d["pyzor"]["status"] == "disabled", d
assert d["dcc"]["status"] == "error", d
by = {s["server"]: s for s in d["dcc"]["servers"]}
assert by[live]["ok"] is True and by[live]["rtt_ms"] >= 0, by
for dead in (silent, closed):
    assert by[dead]["ok"] is False, by
for net in ("razor",):
    assert d[net]["status"] in ("unsupported", "ok", "error", "disabled"), d
PYEOF
echo "ok: live server ok, silent and closed ones failed, ${ms} ms for a 1 s budget"

# every network at once on the one loop: the project's Razor server and a
# real pyzord next to the DCC servers
RZ=tests/peers/razor_server.pl
if [ -f "$RZ" ] && command -v pyzord >/dev/null && $PY -c 'import dbm.gnu' 2>/dev/null; then
	perl "$RZ" --port-file "$T/rz.port" >"$T/rz.out" 2>&1 &
	PIDS+=($!)
	PZPORT=$($PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$T/pzd" "$T/rh" "$T/pzh"
	pyzord --homedir "$T/pzd" -a 127.0.0.1 -p "$PZPORT" -e gdbm --dsn "$T/pzd/db" \
		--log-file "$T/pzd/log" >"$T/pzd/out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$T/rz.port" ] && break; sleep 0.05; done
	RZLIVE=127.0.0.1:$(cat "$T/rz.port")
	# pyzord is up once its port is taken
	for _ in $(seq 100); do
		$PY -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1])))' "$PZPORT" 2>/dev/null || break
		sleep 0.05
	done
	start=$(date +%s%N)
	"$DRP" ping --json --timeout 1 --set "dcc_servers=$LIVE $SILENT" \
		--set "razor_servers=$RZLIVE" --set "razor_home=$T/rh" \
		--set "pyzor_servers=127.0.0.1:$PZPORT" --set "pyzor_home=$T/pzh" >"$T/json" 2>"$T/err"
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -lt 2500 ] || fail "all networks: deadline not kept: $ms ms"
	$PY - "$T/json" "$LIVE" "$SILENT" "$RZLIVE" "127.0.0.1:$PZPORT" <<'PYEOF' || fail "all networks: $(cat "$T/json" "$T/err")"
import json, sys
d = json.load(open(sys.argv[1]))
live, silent, rz, pz = sys.argv[2:6]
by = {s["server"]: s for s in d["dcc"]["servers"]}
assert by[live]["ok"] and not by[silent]["ok"], d
assert d["razor"]["status"] == "ok", d
assert [s["server"] for s in d["razor"]["servers"]] == [rz], d
# pyzor's ops may not have a ping; when they do, pyzord must answer it
if d["pyzor"]["status"] != "unsupported":
    assert d["pyzor"]["status"] == "ok" and d["pyzor"]["servers"][0]["server"] == pz, d
PYEOF
	echo "ok: dcc, razor and pyzor pinged on one loop, ${ms} ms"
fi
echo PASS
