#!/bin/sh
# pyzor_pyzord: drp --network pyzor against the real Debian pyzord on
# loopback (gdbm store, one account), a misbehaving fake server, and
# cross-checks with the real pyzor client.  Exit 0 = pass.
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) DRP=$BUILD/drp ;; *) DRP=$ROOT/$BUILD/drp ;; esac
PEERS=$(cd "$(dirname "$0")/../peers" && pwd)
DATA=$(cd "$(dirname "$0")/../data" && pwd)
PY=/usr/bin/python3

command -v pyzord >/dev/null 2>&1 || { echo "SKIP: pyzord not installed"; exit 0; }
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }

T=$(mktemp -d /tmp/drp-pyzor.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

fails=0
pass=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

free_port() {
	$PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- the server: one account, anonymous may not whitelist --------------
USER=drptest
KEY=$($PY -c 'import os; print(os.urandom(20).hex())')
SALT=$($PY -c 'import os; print(os.urandom(20).hex())')
mkdir -p "$T/server"
printf '%s : %s\n' "$USER" "$KEY" >"$T/server/pyzord.passwd"
printf 'check report ping pong info : anonymous : allow\nall : %s : allow\n' "$USER" \
	>"$T/server/pyzord.access"
PORT=$(free_port)
pyzord --homedir "$T/server" -a 127.0.0.1 -p "$PORT" -e gdbm --dsn "$T/server/db" \
	--password-file "$T/server/pyzord.passwd" --access-file "$T/server/pyzord.access" \
	>"$T/pyzord.log" 2>&1 &
PIDS="$PIDS $!"

# pyzor homes: anonymous and signed, both pointing at the loopback server
mkdir -p "$T/anon" "$T/signed"
echo "127.0.0.1:$PORT" >"$T/anon/servers"
echo "127.0.0.1:$PORT" >"$T/signed/servers"
printf '127.0.0.1 : %s : %s : %s,%s\n' "$PORT" "$USER" "$SALT" "$KEY" >"$T/signed/accounts"

# wait for the server (bounded)
i=0
until PYZOR_HOME="$T/anon" "$DRP" check --network pyzor --ping --timeout 0.5 \
	</dev/null >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 40 ] && { echo "FAIL: pyzord did not start"; cat "$T/pyzord.log"; exit 1; }
	sleep 0.25
done

# unique messages so the store starts clean for each
# (short tokens: pyzor drops words of 10 or more characters)
mkmsg() {
	words=$(echo "$1" | sed 's/\(....\)/\1 /g')
	printf 'From: a@example.com\nTo: b@example.com\nSubject: t %s\n\n' "$1"
	printf 'This is integration test message for drp\n'
	printf 'It has a few lines of text to make a digest\n'
	printf 'Unique words %s here and there\n' "$words"
}
NONCE=$$$(date +%s)
mkmsg "a$NONCE" >"$T/m1"
mkmsg "b$NONCE" >"$T/m2"
mkmsg "c$NONCE" >"$T/m3"
cp "$DATA/py_msg_05.eml" "$T/m4"

json_field() { # json key... -> value
	$PY -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1:]:
    d=d[int(k)] if isinstance(d,list) else d[k]
print(d if not isinstance(d,bool) else int(d))' "$@"
}

A="env PYZOR_HOME=$T/anon"
S="env PYZOR_HOME=$T/signed"

# --- digest: drp == pyzor ---------------------------------------------------
# the shapes of the service benchmark's 8 KB message: CRLF header and
# text, then thousands of blank lines (CRLF and LF), text between them
{
	printf 'From: a@example.com\r\nSubject: blank lines\r\n\r\nfirst line of the text here\r\n'
	i=0
	while [ $i -lt 3000 ]; do
		printf '\r\n \t\n'
		[ $((i % 500)) -eq 0 ] && printf 'a line in the middle number %d\r\n' $i
		i=$((i + 1))
	done
} >"$T/m5"
tr -d '\r' <"$T/m5" >"$T/m6"
for m in m1 m4 m5 m6; do
	d1=$("$DRP" digest --network pyzor <"$T/$m")
	d2=$(pyzor --homedir "$T/anon" digest <"$T/$m")
	[ "$d1" = "$d2" ] && ok "digest $m = pyzor digest" || bad "digest $m: $d1 vs $d2"
done

# --- anonymous ping / info / check / report --------------------------------
out=$($A "$DRP" check --network pyzor --ping </dev/null); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | json_field pyzor servers 0 code)" = 200 ] &&
	ok "anonymous ping" || bad "anonymous ping rc=$rc $out"

out=$($A "$DRP" check --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | json_field pyzor count)" = 0 ] &&
	[ "$(echo "$out" | json_field pyzor status)" = ok ] &&
	ok "anonymous check of a new message: count 0, exit 1" || bad "check new rc=$rc $out"
echo "$out" | grep -q '"count":0,' && ok "count is a JSON integer" || bad "count not integer: $out"

out=$($A "$DRP" report --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 0 ] && ok "anonymous report" || bad "anonymous report rc=$rc $out"

out=$($A "$DRP" check --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | json_field pyzor count)" = 1 ] &&
	ok "check after report: count 1, exit 0" || bad "check after report rc=$rc $out"

pyzor --homedir "$T/anon" check <"$T/m1" >"$T/pc.out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "(200, 'OK')	1	0" "$T/pc.out" &&
	ok "pyzor check sees drp's report" || bad "pyzor check after drp report rc=$rc $(cat "$T/pc.out")"

out=$($A "$DRP" check --network pyzor --info <"$T/m1"); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | json_field pyzor servers 0 count)" = 1 ] &&
	[ "$(echo "$out" | json_field pyzor servers 0 entered)" -gt 0 ] &&
	ok "anonymous info" || bad "info rc=$rc $out"

# the other way round: pyzor reports, drp sees it
pyzor --homedir "$T/anon" report <"$T/m2" >/dev/null 2>&1 || bad "pyzor report failed"
out=$($A "$DRP" check --network pyzor <"$T/m2"); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | json_field pyzor count)" = 1 ] &&
	ok "drp check sees pyzor's report" || bad "drp check after pyzor report rc=$rc $out"

# --- signed: report / whitelist / check ------------------------------------
out=$($A "$DRP" revoke --network pyzor <"$T/m2"); rc=$?
[ $rc -eq 2 ] && [ "$(echo "$out" | json_field pyzor servers 0 code)" = 403 ] &&
	ok "anonymous whitelist refused (403)" || bad "anonymous whitelist rc=$rc $out"

out=$($S "$DRP" report --network pyzor <"$T/m3"); rc=$?
[ $rc -eq 0 ] && ok "signed report (accounts file)" || bad "signed report rc=$rc $out"
out=$($S "$DRP" revoke --network pyzor <"$T/m3"); rc=$?
[ $rc -eq 0 ] && ok "signed whitelist (accounts file)" || bad "signed whitelist rc=$rc $out"
out=$($S "$DRP" check --network pyzor <"$T/m3"); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | json_field pyzor count)" = 1 ] &&
	[ "$(echo "$out" | json_field pyzor wl)" = 1 ] &&
	ok "signed check: 1/1 whitelisted -> exit 1" || bad "signed check rc=$rc $out"
pyzor --homedir "$T/signed" check <"$T/m3" >"$T/pc.out" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "(200, 'OK')	1	1" "$T/pc.out" &&
	ok "pyzor check sees drp's whitelist" || bad "pyzor check after whitelist rc=$rc $(cat "$T/pc.out")"

# env account override, and the real pyzor's signed whitelist seen by drp
out=$(env PYZOR_HOME="$T/anon" PYZOR_USER=$USER PYZOR_KEY=$KEY "$DRP" revoke --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 0 ] && ok "signed whitelist (PYZOR_USER/PYZOR_KEY)" || bad "env signed whitelist rc=$rc $out"
pyzor --homedir "$T/signed" whitelist <"$T/m2" >/dev/null 2>&1 || bad "pyzor whitelist failed"
out=$($A "$DRP" check --network pyzor <"$T/m2"); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | json_field pyzor wl)" = 1 ] &&
	ok "drp check sees pyzor's whitelist" || bad "drp after pyzor whitelist rc=$rc $out"

# --- wrong key, unknown user ------------------------------------------------
out=$(env PYZOR_HOME="$T/anon" PYZOR_USER=$USER PYZOR_KEY=$SALT "$DRP" report --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 2 ] && [ "$(echo "$out" | json_field pyzor servers 0 code)" = 401 ] &&
	echo "$out" | grep -q "Invalid signature" &&
	ok "wrong key rejected (401 Invalid signature)" || bad "wrong key rc=$rc $out"
out=$(env PYZOR_HOME="$T/anon" PYZOR_USER=nobody PYZOR_KEY=$KEY "$DRP" report --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "Unknown user" &&
	ok "unknown user rejected (401)" || bad "unknown user rc=$rc $out"

# --- time skew: drp's own signed request, built with a clock 10 minutes
# behind (--request-only --time), sent by a tiny python sender
send_signed_ping() { # time: prints the reply, LF shown as |
	OLD=$1
	env PYZOR_HOME="$T/anon" PYZOR_USER=$USER PYZOR_KEY=$KEY "$DRP" check --network pyzor \
		--ping --request-only --time "$OLD" </dev/null >"$T/skew.req"
	$PY - "$PORT" "$T/skew.req" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(open(sys.argv[2], "rb").read(), ("127.0.0.1", int(sys.argv[1])))
print(s.recvfrom(8192)[0].decode().replace("\n", "|"))
PYEOF
}
# (in this shell, not a $(...) subshell, so the EXIT trap stays here)
send_signed_ping $(($(date +%s) - 600)) >"$T/skew.out"
send_signed_ping "$(date +%s)" >"$T/now.out"
SKEW=$(cat "$T/skew.out")
NOW=$(cat "$T/now.out")
echo "$SKEW" | grep -q "Code: 401|Diag: Unauthorized: Signature Error: Timestamp not within allowed range" &&
	ok "time-skewed request rejected by pyzord" || bad "time skew: $SKEW"
echo "$NOW" | grep -q "Code: 200" &&
	ok "the same request with the current time accepted" || bad "current time: $NOW"

# --- misbehaving servers ----------------------------------------------------
fake() { # mode -> sets FP (runs in this shell so the trap sees the pid)
	rm -f "$T/fake.$1"
	$PY "$PEERS/pyzor_fake.py" "$T/fake.$1" "$1" &
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/fake.$1" ] && [ $i -lt 40 ]; do sleep 0.1; i=$((i + 1)); done
	FP=$(cat "$T/fake.$1")
}
fake silent
FS=$FP
t0=$(date +%s%N)
out=$(env PYZOR_SERVERS="127.0.0.1:$PORT,127.0.0.1:$FS" PYZOR_TIMEOUT=0.8 "$DRP" check --network pyzor <"$T/m1"); rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 2 ] && [ "$(echo "$out" | json_field pyzor status)" = timeout ] &&
	[ "$(echo "$out" | json_field pyzor servers 0 code)" = 200 ] &&
	ok "one silent server of two: timeout, not clean (exit 2)" || bad "silent rc=$rc $out"
[ $ms -lt 2000 ] && ok "budget respected (${ms} ms for a 0.8 s budget)" || bad "budget: ${ms} ms"

# drp ping: the live pyzord answers, the silent port fails within the budget
t0=$(date +%s%N)
out=$(env PYZOR_HOME="$T/anon" PYZOR_SERVERS="127.0.0.1:$PORT,127.0.0.1:$FS" "$DRP" ping \
	--network pyzor --json --timeout 0.7); rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 1 ] && [ "$(echo "$out" | json_field pyzor status)" = error ] &&
	[ "$(echo "$out" | json_field pyzor servers 0 server)" = "127.0.0.1:$PORT" ] &&
	[ "$(echo "$out" | json_field pyzor servers 0 ok)" = 1 ] &&
	[ "$(echo "$out" | json_field pyzor servers 0 rtt_ms)" -ge 0 ] &&
	[ "$(echo "$out" | json_field pyzor servers 1 server)" = "127.0.0.1:$FS" ] &&
	[ "$(echo "$out" | json_field pyzor servers 1 ok)" = 0 ] &&
	[ "$(echo "$out" | json_field pyzor servers 1 rtt_ms)" = -1 ] &&
	echo "$out" | json_field pyzor servers 1 error | grep -q "no reply" &&
	ok "drp ping: live pyzord ok, silent port ok:false (exit 1)" || bad "drp ping rc=$rc $out"
[ $ms -lt 1700 ] && ok "drp ping budget respected (${ms} ms for 0.7 s)" || bad "ping budget: ${ms} ms"
out=$(env PYZOR_HOME="$T/anon" "$DRP" ping --network pyzor --timeout 2); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -Eq "^pyzor +127\.0\.0\.1:$PORT +ok [0-9]+ ms$" &&
	ok "drp ping text output (servers file)" || bad "drp ping text rc=$rc $out"
out=$(env PYZOR_HOME="$T/anon" "$DRP" ping --timeout 1); rc=$?
echo "$out" | grep -Eq "^pyzor +127\.0\.0\.1:$PORT +ok [0-9]+ ms$" &&
	! echo "$out" | grep -q "^pyzor.*unsupported" &&
	ok "drp ping (all networks) lists pyzor as pinged" || bad "drp ping all rc=$rc $out"

for mode in garbage wrongthread missing; do
	fake $mode
	out=$(env PYZOR_SERVERS="127.0.0.1:$FP" PYZOR_TIMEOUT=0.6 "$DRP" check --network pyzor <"$T/m1"); rc=$?
	[ $rc -eq 2 ] && [ "$(echo "$out" | json_field pyzor status)" = timeout ] &&
		echo "$out" | grep -q "ignored" &&
		ok "$mode reply ignored" || bad "$mode rc=$rc $out"
done
fake garbage-then-good
out=$(env PYZOR_SERVERS="127.0.0.1:$FP" PYZOR_TIMEOUT=2 "$DRP" check --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | json_field pyzor count)" = 3 ] &&
	ok "bad replies skipped, the right one taken" || bad "garbage-then-good rc=$rc $out"

# IPv6 loopback in the server list: a closed port -> timeout, no crash
out=$(env PYZOR_SERVERS="[::1]:$(free_port)" PYZOR_TIMEOUT=0.3 "$DRP" check --network pyzor <"$T/m1"); rc=$?
[ $rc -eq 2 ] && ok "IPv6 server entry handled" || bad "ipv6 rc=$rc $out"

echo "pyzor_pyzord: $pass passed, $fails failed"
[ $fails -eq 0 ]
