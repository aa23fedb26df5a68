#!/usr/bin/env bash
# nginx with fastcgi_keep_conn on and upstream keepalive in front of a pool
# of ONE worker: kept connections must not starve the pool.  An idle kept
# connection yields to a waiting one (nginx retries a request whose cached
# connection was closed), so concurrent clients all get answers, quickly.
# Also: the pool over tcp: and --probe against it.
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
start_dcc
write_conf "$T/drp.conf" "cache = off" "pyzor_enable = 0" "razor_enable = 0"
SOCK=$T/run/drp.sock
"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers 1 --socket-mode 0666 \
	>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK" || { echo "FAIL: pool did not start"; exit 1; }
NGINX_KEEPALIVE=1 start_nginx "unix:$SOCK"

for i in $(seq 10); do
	post /check "$TOKEN" "$MSG"
	[ "$CODE" = 200 ] || break
done
expect_code 200 "10 sequential checks over kept connections"
t0=$(date +%s%N)
cpids=()
for i in $(seq 6); do
	curl -s -m 10 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
		--data-binary "@$MSG" "$URL/check" >"$T/c$i" &
	cpids+=($!)
done
wait "${cpids[@]}"
dt=$((($(date +%s%N) - t0) / 1000000))
n200=$(cat "$T"/c? | grep -c '^200$')
[ "$n200" = 6 ] && ok "6 concurrent checks on 1 worker with keep-alive: all 200" ||
	fail "concurrent with keep-alive: $(cat "$T"/c? | tr '\n' ' ')"
[ "$dt" -lt 5000 ] && ok "no starvation (${dt} ms)" || fail "took ${dt} ms"
for i in $(seq 5); do req GET /health; done
expect_code 200 "health over kept connections"
kill -TERM "$POOL"; wait "$POOL" 2>/dev/null

# tcp: listening, probed over FastCGI
P=$(free_port tcp)
"$FCGI" --config "$T/drp.conf" --listen "tcp:127.0.0.1:$P" --workers 1 >>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for "$FCGI" --probe --listen "tcp:127.0.0.1:$P" && ok "--probe over tcp: 200" || fail "--probe over tcp"
out=$("$FCGI" --probe --listen "tcp:127.0.0.1:$P" /metrics)
grep -q '^drp_workers_alive 1$' <<<"$out" && ok "--probe fetches /metrics" || fail "--probe /metrics: $out"
"$FCGI" --probe --listen "tcp:127.0.0.1:$P" /nope >/dev/null 2>&1 && fail "--probe of a 404 succeeded" || ok "--probe fails on non-200"
kill -TERM "$POOL"; wait "$POOL" 2>/dev/null
"$FCGI" --probe --listen "tcp:127.0.0.1:$P" >/dev/null 2>&1 && fail "--probe of nothing succeeded" || ok "--probe fails when nothing listens"
# only the listed web servers may connect over TCP
"$FCGI" --config "$T/drp.conf" --listen "tcp:127.0.0.1:$P" --workers 1 \
	--set web_server_addrs=127.0.0.2 >>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
sleep 0.5
"$FCGI" --probe --listen "tcp:127.0.0.1:$P" >/dev/null 2>&1 && fail "a peer outside web_server_addrs was served" ||
	ok "peer outside web_server_addrs refused"
grep -q 'refused a FastCGI connection from 127.0.0.1' "$T/drp.log" && ok "refusal logged" || fail "refusal not logged"
kill -TERM "$POOL"; wait "$POOL" 2>/dev/null
FCGI_WEB_SERVER_ADDRS=127.0.0.1 "$FCGI" --config "$T/drp.conf" --listen "tcp:127.0.0.1:$P" --workers 1 >>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for "$FCGI" --probe --listen "tcp:127.0.0.1:$P" && ok "FCGI_WEB_SERVER_ADDRS admits the listed peer" || fail "listed peer refused"
kill -TERM "$POOL"; wait "$POOL" 2>/dev/null
fcgi_done
