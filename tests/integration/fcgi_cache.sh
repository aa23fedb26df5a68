#!/usr/bin/env bash
# The verdict cache through nginx -> drp-fcgi (standalone pool of 4), with
# each backend: embedded (shared memory), Redis and memcached (real servers
# started here on loopback).  Asserted per backend: miss then hit (and the
# hit did not reach the DCC server), report invalidates, a failed network
# is not cached, TTL expiry, coalescing of concurrent identical checks into
# one DCC query; for the remote ones: the cache server killed mid-test
# degrades to "no cache" (requests still 200, quickly), shows in /health
# detail and /metrics, and recovers when the server is back.
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
start_pyzord
start_razor
SOCK=$T/run/drp.sock
POOL=

dcc_queries() { grep -c '"op": "QUERY"' "$T/dcc.log" 2>/dev/null || echo 0; }
cache_hdr() { grep -i '^X-DRP-Cache:' <<<"$HDRS" | tr -d '\r' | awk '{print $2}'; }
uniq_msg() { # file: a message no earlier request has seen
	{ sed -n '1,/^$/p' "$MSG"; echo "cache test $1 $$ $RANDOM $(date +%s%N)"; sed '1,/^$/d' "$MSG"; } >"$T/$1.eml"
}

start_pool() { # extra config lines...
	write_conf "$T/drp.conf" "max_body = 64k" "$@"
	"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers 4 --socket-mode 0666 \
		>>"$T/drp.log" 2>&1 &
	POOL=$!
	PIDS+=($POOL)
	wait_for test -S "$SOCK" || { echo "FAIL: pool did not start"; cat "$T/drp.log"; exit 1; }
	wait_for "$FCGI" --probe --listen "unix:$SOCK"
}

stop_pool() {
	kill -TERM "$POOL"
	wait "$POOL" 2>/dev/null
	rm -f "$T"/run/drp-cache* "$T"/run/drp-metrics*
}

suite() { # backend name, cache url
	local name=$1 url=$2 q0 q1
	echo "== $name"
	start_dcc --log "$T/dcc.log" --delay-ms 300
	start_pool "cache = $url" "cache_ttl = 3"
	[ -n "${URL:-}" ] || start_nginx "unix:$SOCK"
	# miss, then hit without asking DCC again
	uniq_msg "$name-a"
	post /check "$TOKEN" "$T/$name-a.eml"
	expect_code 200 "$name: first check"
	[ "$(cache_hdr)" = miss ] && ok "$name: first is a miss" || fail "$name: X-DRP-Cache '$(cache_hdr)'"
	first=$BODY
	q0=$(dcc_queries)
	post /check "$TOKEN" "$T/$name-a.eml"
	[ "$(cache_hdr)" = hit ] && ok "$name: second is a hit" || fail "$name: second X-DRP-Cache '$(cache_hdr)'"
	[ "$BODY" = "$first" ] && ok "$name: hit returns the same verdict" || fail "$name: hit body differs"
	[ "$(dcc_queries)" = "$q0" ] && ok "$name: the hit did not query DCC" || fail "$name: DCC queried on a hit"
	# another envelope is another answer: not served from the cache
	post /check "$TOKEN" "$T/$name-a.eml" -H 'X-DRP-Client-IP: 192.0.2.9'
	[ "$(cache_hdr)" = miss ] && ok "$name: envelope is part of the key" || fail "$name: envelope not in key"
	# report invalidates: the next check asks again and sees the report
	post /report "$TOKEN" "$T/$name-a.eml"
	expect_code 200 "$name: report"
	post /check "$TOKEN" "$T/$name-a.eml"
	[ "$(cache_hdr)" = miss ] && ok "$name: report invalidated the cached verdict" || fail "$name: after report X-DRP-Cache '$(cache_hdr)'"
	expect_json 'j["dcc"]["action"] == "reject"' "$name: fresh verdict after report"
	# TTL (3 s)
	uniq_msg "$name-t"
	post /check "$TOKEN" "$T/$name-t.eml"
	post /check "$TOKEN" "$T/$name-t.eml"
	[ "$(cache_hdr)" = hit ] && ok "$name: cached before the TTL" || fail "$name: no hit before TTL"
	sleep 3.5
	post /check "$TOKEN" "$T/$name-t.eml"
	[ "$(cache_hdr)" = miss ] && ok "$name: expired after the TTL" || fail "$name: still '$(cache_hdr)' after TTL"
	# coalescing: 4 identical checks at once -> one DCC query, pool-wide
	uniq_msg "$name-c"
	q0=$(dcc_queries)
	cpids=()
	for i in 1 2 3 4; do
		curl -s -m 20 -D "$T/co$i.h" -o "$T/co$i.b" -H "Authorization: Bearer $TOKEN" \
			--data-binary "@$T/$name-c.eml" "$URL/check" &
		cpids+=($!)
	done
	wait "${cpids[@]}"
	q1=$(dcc_queries)
	[ $((q1 - q0)) = 1 ] && ok "$name: 4 concurrent checks, 1 DCC query" || fail "$name: $((q1 - q0)) DCC queries for 4 concurrent checks"
	n_co=$(grep -il '^X-DRP-Cache: coalesced' "$T"/co?.h | wc -l)
	n_hit=$(grep -il '^X-DRP-Cache: hit' "$T"/co?.h | wc -l)
	n_miss=$(grep -il '^X-DRP-Cache: miss' "$T"/co?.h | wc -l)
	[ "$n_miss" = 1 ] && [ $((n_co + n_hit)) = 3 ] && ok "$name: 1 miss + $n_co coalesced + $n_hit hit" ||
		fail "$name: miss=$n_miss coalesced=$n_co hit=$n_hit"
	cmp -s "$T/co1.b" "$T/co2.b" && cmp -s "$T/co1.b" "$T/co4.b" && ok "$name: coalesced answers identical" || fail "$name: coalesced answers differ"
	req GET /metrics
	grep -q '^drp_cache_coalesced_total [1-9]' <<<"$BODY" && ok "$name: coalesced counted" || fail "$name: no coalesced in metrics"
	grep -q '^drp_cache_hits_total [1-9]' <<<"$BODY" && ok "$name: hits counted" || fail "$name: no hits in metrics"
	stop_pool
	kill "$DCC_PID" 2>/dev/null # this suite's dcc server

	# a network that failed is not cached
	start_dcc --silent
	start_pool "cache = $url" "backend_timeout = 500ms"
	uniq_msg "$name-f"
	post /check "$TOKEN" "$T/$name-f.eml"
	expect_json 'j["dcc"]["status"] == "timeout"' "$name: silent dcc times out"
	post /check "$TOKEN" "$T/$name-f.eml"
	[ "$(cache_hdr)" = miss ] && ok "$name: degraded verdict not cached" || fail "$name: degraded verdict served as '$(cache_hdr)'"
	stop_pool
}

suite embedded embedded

if command -v redis-server >/dev/null; then
	RPORT=$(free_port tcp)
	start_redis() {
		redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
			--daemonize no >"$T/redis.log" 2>&1 &
		REDIS=$!
		PIDS+=($REDIS)
		wait_for redis-cli -p "$RPORT" ping
	}
	start_redis
	suite redis "redis://127.0.0.1:$RPORT/2"
	# killed mid-test: degrade fast, show it, recover
	start_dcc
	start_pool "cache = redis://127.0.0.1:$RPORT/2" "cache_retry = 500ms"
	uniq_msg kill
	post /check "$TOKEN" "$T/kill.eml"
	post /check "$TOKEN" "$T/kill.eml"
	[ "$(cache_hdr)" = hit ] && ok "redis: hit before the kill" || fail "redis: no hit before kill"
	kill -9 "$REDIS"; wait "$REDIS" 2>/dev/null
	t0=$(date +%s%N)
	post /check "$TOKEN" "$T/kill.eml"
	dt=$((($(date +%s%N) - t0) / 1000000))
	expect_code 200 "redis down: check still answered"
	[ "$(cache_hdr)" = miss ] && ok "redis down: a miss, not an error" || fail "redis down: '$(cache_hdr)'"
	[ "$dt" -lt 1000 ] && ok "redis down: answered in ${dt} ms" || fail "redis down: ${dt} ms"
	post /check "$TOKEN" "$T/kill.eml"
	expect_code 200 "redis down: second check"
	req GET '/health?detail'
	expect_json 'j["cache"]["backend"] == "redis" and j["cache"]["up"] is False' "/health detail shows redis down"
	req GET /metrics
	grep -q '^drp_cache_backend_up{backend="redis"} 0' <<<"$BODY" && ok "metrics: redis down" || fail "metrics: $(grep backend_up <<<"$BODY")"
	grep -q '^drp_cache_pool_backend_errors_total [1-9]' <<<"$BODY" && ok "metrics: backend errors counted" || fail "metrics: no backend errors"
	start_redis
	sleep 1.2
	for i in 1 2 3; do post /check "$TOKEN" "$T/kill.eml"; sleep 0.3; done
	[ "$(cache_hdr)" = hit ] && ok "redis back: hits again" || fail "redis back: '$(cache_hdr)'"
	stop_pool
else
	echo "note: redis-server not installed, redis backend not tested"
fi

if command -v memcached >/dev/null; then
	MPORT=$(free_port tcp)
	memcached -l 127.0.0.1 -p "$MPORT" -U 0 -u "$(id -un)" >"$T/memcached.log" 2>&1 &
	MC=$!
	PIDS+=($MC)
	sleep 0.3
	suite memcached "memcached://127.0.0.1:$MPORT"
	start_dcc
	start_pool "cache = memcached://127.0.0.1:$MPORT" "cache_retry = 500ms"
	uniq_msg mkill
	post /check "$TOKEN" "$T/mkill.eml"
	kill -9 "$MC"; wait "$MC" 2>/dev/null
	post /check "$TOKEN" "$T/mkill.eml"
	expect_code 200 "memcached down: check still answered"
	[ "$(cache_hdr)" = miss ] && ok "memcached down: a miss" || fail "memcached down: '$(cache_hdr)'"
	req GET '/health?detail'
	expect_json 'j["cache"]["up"] is False' "/health detail shows memcached down"
	stop_pool
else
	echo "note: memcached not installed, memcached backend not tested"
fi
fcgi_done
