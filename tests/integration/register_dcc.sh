#!/usr/bin/env bash
# drp-register dcc: the ids file it writes is read by the project's
# dccd-modelled test server (tests/peers/dcc_server.py --ids) and by drp's
# own DCC client, which then talks to that server authenticated (answers
# signed with the saved password); a wrong password is caught.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
REG=$PWD/$BUILD/drp-register
PY=/usr/bin/python3
SRV=tests/peers/dcc_server.py
[ -x "$DRP" ] && [ -x "$REG" ] || { echo "FAIL: binaries not built"; exit 1; }
[ -f "$SRV" ] || { echo "SKIP: $SRV missing"; exit 0; }
T=$(mktemp -d /tmp/drp-regdcc.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# a snapshot: a rebuild in the tree must not swap binaries mid-test
cp "$DRP" "$T/drp" && DRP=$T/drp
cp "$REG" "$T/drp-register" && REG=$T/drp-register
fail() { echo "FAIL: $*"; exit 1; }
export DRP_CONFIG=/dev/null PYZOR_ENABLE=0 RAZOR_ENABLE=0

# the ids file, with a line of the server's own and a comment to keep
mkdir -m 700 "$T/dcc"
printf '# ids\n1001\tsrvpass1001\n' >"$T/dcc/ids"
chmod 600 "$T/dcc/ids"
out=$("$REG" dcc --ids "$T/dcc/ids" --client-id 32768 --generate 2>"$T/err") ||
	fail "drp-register dcc: $(cat "$T/err")"
eval "$(echo "$out" | grep -E '^DCC_CLIENT_(ID|PASSWD)=')"
[ "$DCC_CLIENT_ID" = 32768 ] && [ ${#DCC_CLIENT_PASSWD} -ge 16 ] || fail "output: $out"
grep -qx "1001	srvpass1001" "$T/dcc/ids" || fail "server line lost"
grep -qx "32768	$DCC_CLIENT_PASSWD" "$T/dcc/ids" || fail "client line: $(cat "$T/dcc/ids")"
unset DCC_CLIENT_PASSWD

# the server gets its own copy: the control below changes the client's
cp -p "$T/dcc/ids" "$T/server-ids"
$PY "$SRV" --port-file "$T/port" --ids "$T/server-ids" --lifetime 60 --log "$T/log" >"$T/srv.out" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || fail "dcc server did not start: $(cat "$T/srv.out")"
PORT=$(cat "$T/port")
export DCC_SERVERS=127.0.0.1:$PORT DCC_IDS=$T/dcc/ids DCC_CLIENT_ID=32768
"$DRP" check --network dcc <tests/data/py_msg_01.eml >"$T/ck" 2>&1
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "drp check: exit $rc: $(cat "$T/ck")"
$PY -c '
import json, sys
d = json.load(open(sys.argv[1]))["dcc"]
assert d["status"] == "ok" and d["client_id"] == 32768, d
' "$T/ck" || fail "not authenticated: $(cat "$T/ck")"
grep -q '"auth": true' "$T/log" || fail "the server saw no authenticated request"
echo "ok: drp authenticates with the ids file drp-register wrote"

# control: with another password the answers do not verify
"$REG" dcc --ids "$T/dcc/ids" --client-id 32768 --passwd-file - --force \
	<<<"other-password" >/dev/null 2>&1 || fail "--force"
"$DRP" check --network dcc <tests/data/py_msg_01.eml >"$T/ck2" 2>&1
grep -q '"status":"error"' "$T/ck2" || fail "wrong password not detected: $(cat "$T/ck2")"
echo PASS
