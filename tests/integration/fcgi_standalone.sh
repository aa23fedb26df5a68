#!/usr/bin/env bash
# nginx -> drp-fcgi --listen unix:... --workers 2 (standalone prefork pool),
# networks on loopback peers.  Beyond the API matrix: a killed worker is
# replaced, SIGHUP reloads the token file (rotation), no token -> 503,
# a silent DCC server costs the budget only, SIGTERM drains and removes
# the socket.
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
start_dcc
start_pyzord
start_razor
write_conf "$T/drp.conf" "max_body = 64k" "cache = off"
SOCK=$T/run/drp.sock
"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers 2 --socket-mode 0666 \
	>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK" || { echo "FAIL: pool did not start"; cat "$T/drp.log"; exit 1; }
# the shipped nginx/drp-locations.conf in front
NGINX_SHIPPED=1 start_nginx "unix:$SOCK"

api_matrix

# nginx's own limit (8m in the shipped config) answers in drp's format
head -c 9000000 /dev/zero | tr '\0' a >"$T/huge.eml"
post /check "$TOKEN" "$T/huge.eml"
expect_code 413 "body over nginx's client_max_body_size"
is_json_error && ok "nginx's 413 is a JSON error" || fail "nginx 413 body $BODY"

# --probe speaks FastCGI to the pool directly
"$FCGI" --probe --listen "unix:$SOCK" >/dev/null && ok "--probe says healthy" || fail "--probe"

# a dead worker is replaced
w=$(pgrep -P "$POOL" | head -1)
kill -9 "$w"
sleep 1.3
[ "$(pgrep -P "$POOL" | wc -l)" = 2 ] && ok "killed worker replaced" || fail "pool has $(pgrep -P "$POOL" | wc -l) workers"
post /check "$TOKEN" "$MSG"
expect_code 200 "serves after a worker died"
req GET /metrics
grep -q '^drp_worker_restarts_total [1-9]' <<<"$BODY" && ok "restart counted" || fail "no restart in metrics"
grep -q '^drp_workers_alive 2$' <<<"$BODY" && ok "2 workers alive" || fail "workers_alive: $(grep workers_alive <<<"$BODY")"

# rotation: a second token appears, SIGHUP, both work; the old one goes
printf '%s\n%s\n' "$TOKEN" "$TOKEN2" >"$T/tokens"
# requests keep being answered while the workers are replaced
old_workers=$(pgrep -P "$POOL" | sort | tr '\n' ' ')
(for i in $(seq 30); do
	curl -s -m 10 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
		--data-binary "@$MSG" "$URL/check"
	sleep 0.05
done) >"$T/during_reload" &
LOOP=$!
sleep 0.2
kill -HUP "$POOL"
wait "$LOOP"
[ "$(grep -c '^200$' "$T/during_reload")" = 30 ] && ok "30/30 answered during the reload" ||
	fail "during reload: $(sort "$T/during_reload" | uniq -c | tr '\n' ' ')"
sleep 0.5
new_workers=$(pgrep -P "$POOL" | sort | tr '\n' ' ')
[ "$(pgrep -P "$POOL" | wc -l)" = 2 ] && [ "$old_workers" != "$new_workers" ] &&
	ok "workers replaced ($old_workers-> $new_workers)" || fail "workers after reload: $new_workers (before $old_workers)"
post /check "$TOKEN2" "$MSG"
expect_code 200 "new token after SIGHUP"
printf '%s\n' "$TOKEN2" >"$T/tokens"
kill -HUP "$POOL"
sleep 1.5
post /check "$TOKEN" "$MSG"
expect_code 401 "old token retired after SIGHUP"
# a broken config is refused on reload and the pool keeps serving
cp "$T/drp.conf" "$T/drp.conf.good"
echo "backend_timeout = soon" >>"$T/drp.conf"
kill -HUP "$POOL"
sleep 0.5
grep -q 'reload refused: backend_timeout' "$T/drp.log" && ok "bad reload refused, naming the key" || fail "bad reload not refused"
post /check "$TOKEN2" "$MSG"
expect_code 200 "serving after a refused reload"
cp "$T/drp.conf.good" "$T/drp.conf"

# --check-config: masked secrets, the bad key named
out=$("$FCGI" --config "$T/drp.conf" --check-config 2>&1) && ok "--check-config accepts" || fail "--check-config: $out"
grep -q "$CTOKEN" <<<"$out" && fail "--check-config shows a secret" || ok "--check-config masks secrets"
grep -q '^check_token = \*\*\*\*\*\*\*\*' <<<"$out" && ok "masked check_token listed" || fail "check_token line: $out"
out=$("$FCGI" --config "$T/drp.conf" --set max_body=huge --check-config 2>&1) && fail "--check-config accepted max_body=huge" ||
	{ grep -q 'max_body' <<<"$out" && ok "--check-config names max_body"; }
out=$(DRP_BACKEND_TIMEOUT=0.5 "$FCGI" --config "$T/drp.conf" --check-config 2>&1)
grep -q '^backend_timeout = 0.5 .*env' <<<"$out" && ok "env beats file" || fail "env precedence: $(grep backend_timeout <<<"$out")"
out=$(DRP_BACKEND_TIMEOUT=0.5 "$FCGI" --config "$T/drp.conf" --backend-timeout 3 --check-config 2>&1)
grep -q '^backend_timeout = 3 .*flag' <<<"$out" && ok "flag beats env" || fail "flag precedence"

# SIGTERM drains: the socket goes away and the pool exits 0
kill -TERM "$POOL"
for _ in $(seq 50); do kill -0 "$POOL" 2>/dev/null || break; sleep 0.1; done
kill -0 "$POOL" 2>/dev/null && fail "pool still running after SIGTERM" || ok "pool stopped on SIGTERM"
wait "$POOL"; rc=$?
[ "$rc" = 0 ] && ok "pool exit 0" || fail "pool exit $rc"
[ -e "$SOCK" ] && fail "socket left behind" || ok "socket removed"

printf '%s\n' "$TOKEN" >"$T/tokens"

# no token configured: 503 JSON for POST, /health 503
write_conf "$T/notoken.conf" "cache = off"
sed -i '/^token_file/d; /^check_token/d' "$T/notoken.conf"
"$FCGI" --config "$T/notoken.conf" --listen "unix:$SOCK" --workers 1 --socket-mode 0666 \
	>>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK"
sleep 0.3
post /check "$TOKEN" "$MSG"
expect_code 503 "no token configured"
expect_json '"token" in j["error"] and len(j) == 1' "503 JSON says no token is configured"
req GET /health
expect_code 503 "health while no token"
kill -TERM "$POOL"; wait "$POOL" 2>/dev/null

# a silent DCC server: the answer comes within the budget (+ slack for
# nginx and curl), dcc reported as timeout, not as clean
start_dcc --silent
write_conf "$T/silent.conf" "cache = off" "backend_timeout = 800ms"
"$FCGI" --config "$T/silent.conf" --listen "unix:$SOCK" --workers 1 --socket-mode 0666 \
	>>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK"
wait_for "$FCGI" --probe --listen "unix:$SOCK" # the worker is up, not just the socket
# the first check meets the silent server (later ones may fail fast: the
# DCC client backs off from a server that did not answer)
out=$(curl -s -m 10 -o "$T/body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
	--data-binary "@$MSG" "$URL/check")
CODE=${out%% *}
BODY=$(cat "$T/body")
dt=$(awk '{printf "%d", $2 * 1000}' <<<"$out")
expect_code 200 "check with a silent dcc"
expect_json 'j["dcc"]["status"] == "timeout" and j["dcc"]["action"] == "unknown" and j["dcc"]["bulk"] is None' "silent dcc is a timeout, not clean"
lim=850
case "$BUILD" in *asan*) lim=1000 ;; esac # sanitizers slow the CPU part, not the budget
[ "$dt" -le "$lim" ] && ok "answered in ${dt} ms (budget 800, limit $lim)" || fail "took ${dt} ms for an 800 ms budget"

# SIGTERM while a request is in flight: it is answered, then the pool exits
curl -s -m 10 -o "$T/inflight.b" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	--data-binary "@$MSG" "$URL/check" >"$T/inflight.code" &
CURL=$!
sleep 0.3
kill -TERM "$POOL"
wait "$CURL"
[ "$(cat "$T/inflight.code")" = 200 ] && ok "in-flight request answered during drain" ||
	fail "in-flight request got $(cat "$T/inflight.code")"
for _ in $(seq 50); do kill -0 "$POOL" 2>/dev/null || break; sleep 0.1; done
kill -0 "$POOL" 2>/dev/null && fail "pool still running after drain" || ok "pool exited after draining"
fcgi_done
