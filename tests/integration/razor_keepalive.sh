#!/usr/bin/env bash
# razor_keepalive: a drp-fcgi worker keeps its Razor connection between
# requests (razor_keepalive).  One worker behind nginx, the project's Razor
# test server; the server's transcript counts connections (one greeting
# each) and authentications.
#  1. checks, a report, checks, a revoke in one worker share one connection,
#     authenticated once, and every answer is right (hit after the report,
#     no hit after the revoke);
#  2. the server closes the idle connection -> the next check opens a new
#     one and succeeds;
#  3. the server resets the kept connection on the next unit, before any
#     answer byte -> reconnected within the request, ok;
#  4. the server resets it after half an answer -> error, never clean; the
#     next request works on a new connection;
#  5. razor_keepalive = 0 -> one connection per request, each ended by a=q.
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
perl -MRazor2::Client::Engine -e1 2>/dev/null || { echo "SKIP: Razor2 modules not installed"; exit 0; }
SPAM=$ROOT/tests/data/syn_html_spam.eml
HAM=$ROOT/tests/data/gdcc_plain1.eml
RZ_PID=
POOL=

# razor_server NAME [options...]: a fresh server logging to $T/NAME.log;
# sets RAZOR_PORT
razor_server() {
	local name=$1
	shift
	rm -f "$T/$name.port"
	perl "$ROOT/tests/peers/razor_server.pl" --port-file "$T/$name.port" --log "$T/$name.log" \
		--user keep:secret-pass --bql 64 "$@" >"$T/$name.out" 2>&1 &
	RZ_PID=$!
	PIDS+=("$RZ_PID")
	wait_for test -s "$T/$name.port" || { echo "FAIL: razor server $name did not start"; exit 1; }
	RAZOR_PORT=$(cat "$T/$name.port")
	RZ_LOG=$T/$name.log
}

# pool [extra config lines...]: one worker, Razor only, no cache
pool() {
	stop_pool
	write_conf "$T/drp.conf" "cache = off" "dcc_enable = 0" "pyzor_enable = 0" \
		"razor_user = keep" "razor_pass = secret-pass" "$@"
	rm -f "$T/run/drp.sock"
	"$FCGI" --config "$T/drp.conf" --listen "unix:$T/run/drp.sock" --workers 1 \
		--socket-mode 0666 >>"$T/drp.log" 2>&1 &
	POOL=$!
	PIDS+=("$POOL")
	wait_for test -S "$T/run/drp.sock" || { echo "FAIL: pool did not start"; cat "$T/drp.log"; exit 1; }
}
stop_pool() {
	[ -n "$POOL" ] || return 0
	kill -TERM "$POOL" 2>/dev/null
	wait "$POOL" 2>/dev/null
	POOL=
}
stop_razor() {
	kill "$RZ_PID" 2>/dev/null
	wait "$RZ_PID" 2>/dev/null
}

conns() { grep -c '^S> sn=.*&srl=' "$RZ_LOG"; }
count() { grep -c "$1" "$RZ_LOG"; }
razor_is() { # python expression over r = j["razor"], what
	if $PY -c 'import json,sys; r=json.loads(sys.argv[1])["razor"]; sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$BODY" "$1" 2>/dev/null; then
		ok "$2"
	else
		fail "$2: $CODE $BODY"
	fi
}

# nginx first, pointed at the socket every pool below listens on
razor_server keep
pool
start_nginx "unix:$T/run/drp.sock"

# --- 1. one connection for many requests ------------------------------------
post /check "$TOKEN" "$SPAM"
razor_is 'r["status"] == "ok" and r["hit"] is False and r["queries"] > 0 and r["connection"] == "new"' \
	"check 1: not listed yet, on a new connection"
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok" and r["hit"] is False and r["connection"] == "kept"' \
	"check 2 (another message), on the kept connection"
post /check "$TOKEN" "$SPAM"
razor_is 'r["status"] == "ok" and r["hit"] is False' "check 3"
[ "$(conns)" = 1 ] && ok "three checks, one connection" || fail "three checks used $(conns) connections"
post /report "$TOKEN" "$SPAM"
[ "$CODE" = 200 ] && json 'j["razor"] is True' && ok "report on the kept connection" ||
	fail "report: $CODE $BODY"
post /check "$TOKEN" "$SPAM"
razor_is 'r["status"] == "ok" and r["hit"] is True and r["cf"] == 100' "check after the report: listed"
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok" and r["hit"] is False' "the other message still not listed"
post /report "$TOKEN" "$HAM"
[ "$CODE" = 200 ] && json 'j["razor"] is True' && ok "second report" || fail "second report: $CODE $BODY"
post /revoke "$TOKEN" "$SPAM"
[ "$CODE" = 200 ] && json 'j["razor"] is True' && ok "revoke" || fail "revoke: $CODE $BODY"
post /check "$TOKEN" "$SPAM"
razor_is 'r["status"] == "ok" and r["hit"] is False' "check after the revoke: not listed"
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok" and r["hit"] is True' "check of the reported other message: listed"
[ "$(conns)" = 1 ] && ok "checks, reports and a revoke on one connection" ||
	fail "$(conns) connections"
[ "$(count '^C> a=ai&')" = 1 ] && [ "$(count '^C> a=auth&')" = 1 ] &&
	ok "authenticated once on the connection" ||
	fail "a=ai sent $(count '^C> a=ai&') times, a=auth $(count '^C> a=auth&') times"
[ "$(count '^C> a=q')" = 0 ] && ok "no a=q while kept" || fail "a=q sent $(count '^C> a=q') times"
# ten requests: the pool's metrics say one new connection, nine kept
m=$(curl -s "$URL/metrics" | grep '^drp_network_connections_total{network="razor"')
echo "$m" | grep -qx 'drp_network_connections_total{network="razor",connection="new"} 1' &&
	echo "$m" | grep -qx 'drp_network_connections_total{network="razor",connection="kept"} 9' &&
	echo "$m" | grep -qx 'drp_network_connections_total{network="razor",connection="renewed"} 0' &&
	ok "metrics: 1 new, 9 kept, 0 renewed connections" || fail "connection metrics: $m"
# the first session is razor's: greeting, cn announce, state, then the check
head -5 "$RZ_LOG" | grep -q '^C> cn=razor-agents&cv=2.84' && grep -q '^C> a=g&pm=state' "$RZ_LOG" &&
	ok "first session announces and fetches the state" || fail "first session: $(head -5 "$RZ_LOG")"
stop_pool
sleep 0.3
[ "$(count '^C> a=q')" = 1 ] && ok "the kept connection ends with a=q when the worker stops" ||
	fail "a=q at the end: $(count '^C> a=q')"
stop_razor

# --- 2. the server closed the idle connection --------------------------------
razor_server idle --idle-close-ms 300
pool
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok" and r["hit"] is False' "check before the idle close"
sleep 0.8
grep -q '<idle close>' "$RZ_LOG" && ok "server closed the idle connection" || fail "no idle close"
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok" and r["hit"] is False and r["connection"] == "new"' \
	"check after the idle close, on a new connection"
[ "$(conns)" = 2 ] && ok "a new connection after the idle close" || fail "$(conns) connections"
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok"' "and it is kept again"
[ "$(conns)" = 2 ] && ok "still two connections" || fail "$(conns) connections"
stop_pool
stop_razor

# --- 3. reset before any answer byte: reconnect within the request -----------
razor_server rst --drop-check 2 --drop-how rst
pool
for i in 1 2 3 4; do
	post /check "$TOKEN" "$HAM"
	if [ "$i" = 1 ]; then want=new; else want=renewed; fi
	razor_is "r[\"status\"] == \"ok\" and r[\"hit\"] is False and r[\"connection\"] == \"$want\"" \
		"check $i (every second check on a connection is reset): $want connection"
done
[ "$(count '<reset>')" = 3 ] && ok "three resets seen" || fail "$(count '<reset>') resets"
[ "$(conns)" = 4 ] && ok "each reset replaced by a new connection" || fail "$(conns) connections"
stop_pool
stop_razor

# --- 4. reset after half an answer: an error, then recovery ------------------
razor_server half --drop-check 2 --drop-how half
pool
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok"' "check 1"
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "error" and "error" in r' "reset mid-answer on the kept connection: error"
[ "$CODE" = 200 ] && json 'j["razor"]["status"] != "ok"' || fail "mid-answer reset reported as clean"
post /check "$TOKEN" "$HAM"
razor_is 'r["status"] == "ok" and r["hit"] is False' "the next request works"
[ "$(conns)" = 2 ] && ok "on a new connection" || fail "$(conns) connections"
stop_pool
stop_razor

# --- 5. razor_keepalive = 0: one connection per request ----------------------
razor_server off
pool "razor_keepalive = 0"
for i in 1 2 3; do
	post /check "$TOKEN" "$HAM"
	razor_is 'r["status"] == "ok"' "check $i without keep-alive"
done
[ "$(conns)" = 3 ] && [ "$(count '^C> a=q')" = 3 ] && ok "three connections, each ended by a=q" ||
	fail "$(conns) connections, $(count '^C> a=q') a=q"
"$FCGI" --config "$T/drp.conf" --check-config 2>&1 | grep -q '^razor_keepalive *= *0' &&
	ok "--check-config shows razor_keepalive" ||
	fail "--check-config: $("$FCGI" --config "$T/drp.conf" --check-config 2>&1 | grep razor_keep)"
"$FCGI" --config "$T/drp.conf" --set razor_keepalive=-1 --check-config >"$T/cc.out" 2>&1 &&
	fail "a negative razor_keepalive was accepted" ||
	{ grep -q 'config error: .*razor_keepalive' "$T/cc.out" && ok "a negative razor_keepalive is a configuration error"; } ||
	fail "error without the key: $(tail -1 "$T/cc.out")"
stop_pool
stop_razor
fcgi_done
