#!/usr/bin/env bash
# wrk through nginx -> drp-fcgi (standalone pool), 8 KB message:
#   hit path:  the same message every time (embedded cache answers)
#   miss path: a different message every request (fan-out to the loopback
#              DCC test server and the real pyzord, Razor test server when
#              its client is in the build; verdict stored in the cache)
#   base:      the miss load with every network off and no cache: what the
#              service layer itself costs per request
# Reports req/s, p50/p99 latency, RSS per worker (split into the pool-wide
# shared cache region and the worker's own pages), pool PSS, and the pool's
# own CPU per request (utime+stime of every drp-fcgi process / requests).
# Targets (issue 6): hit >= 10,000 req/s; drp CPU per miss <= 0.2 ms;
# RSS <= 10 MB per worker.  Everything on loopback, bounded in time.
#   DURATION=10 CONNS=32 WORKERS=2
set -u
cd "$(dirname "$0")/.."
export ROOT=$PWD BUILD=${BUILD:-build}
. tests/integration/fcgi_lib.sh
fcgi_netns "$@"
command -v wrk >/dev/null || { echo "wrk not installed"; exit 0; }
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
WORKERS=${WORKERS:-2}
fcgi_setup
start_dcc
start_pyzord
start_razor
SOCK=$T/run/drp.sock
write_conf "$T/drp.conf" "cache = embedded"
"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers "$WORKERS" --socket-mode 0666 \
	>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK" || { echo "pool did not start"; cat "$T/drp.log"; exit 1; }
NGINX_SHIPPED=1 start_nginx "unix:$SOCK"
# the shipped limits are per client address and wrk is one: lift them here
sed -i 's/limit_req zone=drp_req burst=200 nodelay;//; s/limit_conn drp_conn 32;//' "$T/nginx.conf" 2>/dev/null
cp nginx/drp-locations.conf "$T/locations.conf"
sed -i '/limit_req zone/d; /limit_conn drp_conn/d' "$T/locations.conf"
sed -i "s#include $ROOT/nginx/drp-locations.conf#include $T/locations.conf#" "$T/nginx.conf"
kill -HUP "$(cat "$T/nginx.pid")"
sleep 0.5

# an 8 KB message: a corpus message's header, body text repeated to 8192 bytes
# (LF line ends: with CRLF the blank separator line would not match /^$/)
tr -d '\r' <"$MSG" >"$T/src.eml"
{
	sed -n '1,/^$/p' "$T/src.eml"
	body=$(sed '1,/^$/d' "$T/src.eml")
	while :; do printf '%s\n' "$body"; done | head -c 8192
} | head -c 8192 >"$T/msg8k.eml"
echo "message: $(wc -c <"$T/msg8k.eml") bytes; pool: $WORKERS workers; wrk: $CONNS connections, ${DURATION}s"

lua_hit=$T/hit.lua
lua_miss=$T/miss.lua
$PY - "$T/msg8k.eml" "$TOKEN" "$lua_hit" "$lua_miss" <<'PYEOF'
import sys
msg = open(sys.argv[1], "rb").read().decode("latin-1")
tok = sys.argv[2]
def lua_str(s):
    return '"' + "".join(c if c.isalnum() or c in " .,:;-_@<>/=+()" else "\\%d" % ord(c) for c in s) + '"'
common = ('wrk.method = "POST"\nwrk.headers["Authorization"] = "Bearer %s"\n'
          'wrk.headers["Content-Type"] = "message/rfc822"\nlocal msg = %s\n' % (tok, lua_str(msg)))
open(sys.argv[3], "w").write(common + 'wrk.path = "/check"\nwrk.body = msg\n')
# every request a new message: a counter in a header line of the message,
# unique per wrk thread
open(sys.argv[4], "w").write(common + '''
local n = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function request()
   n = n + 1
   local b = "X-Bench: " .. tid .. "-" .. n .. "-" .. os.time() .. "\\r\\n" .. msg
   return wrk.format("POST", "/check", nil, b)
end
''')
PYEOF

pool_pids() { echo "$POOL" $(pgrep -P "$POOL"); }
pool_cpu_ticks() {
	local t=0 p
	for p in $(pool_pids); do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)

run() { # name, lua
	local name=$1 lua=$2 c0 c1 reqs
	c0=$(pool_cpu_ticks)
	wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$lua" "$URL" >"$T/wrk.$name" 2>&1
	c1=$(pool_cpu_ticks)
	reqs=$(awk '/requests in/ {print $1}' "$T/wrk.$name")
	rps=$(awk '/^Requests\/sec/ {print $2}' "$T/wrk.$name")
	p50=$(awk '$1 == "50%" {print $2}' "$T/wrk.$name")
	p99=$(awk '$1 == "99%" {print $2}' "$T/wrk.$name")
	non2xx=$(awk '/Non-2xx/ {print $NF}' "$T/wrk.$name")
	cpu_ms=$(echo "scale=4; ($c1 - $c0) * 1000 / $hz / ${reqs:-1}" | bc)
	printf '%-5s %10s req/s  p50 %8s  p99 %8s  drp CPU/request %s ms  requests %s  non-2xx %s\n' \
		"$name" "$rps" "$p50" "$p99" "$cpu_ms" "$reqs" "${non2xx:-0}"
}

# warm the cache for the hit path and check the answer is a real verdict
curl -s -H "Authorization: Bearer $TOKEN" --data-binary "@$T/msg8k.eml" "$URL/check" >"$T/first.json"
curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" --data-binary "@$T/msg8k.eml" "$URL/check" | grep -qi 'X-DRP-Cache: hit' ||
	echo "warning: the warm-up was not cached: $(cat "$T/first.json")"
echo "verdict: $(cat "$T/first.json")"
run hit "$lua_hit"
run miss "$lua_miss"
curl -s "$URL/metrics" | grep -E '^drp_network_(queries|errors|timeouts)_total|^drp_cache_(hits|misses)_total' | tr '\n' ' '
echo
# RSS counts every page a process has touched, including the pool-wide
# shared cache/metrics region (one copy in memory, in every worker's RSS):
# show it apart, and PSS, which charges shared pages once across the pool
pool_pss=0
for p in $(pool_pids); do
	[ -r "/proc/$p/smaps" ] || continue
	read -r rss shared pss < <(awk '
		/^[0-9a-f]+-[0-9a-f]+ / { region = ($6 ~ /drp-(cache|metrics)/) }
		/^Rss:/ { rss += $2; if (region) shared += $2 }
		/^Pss:/ { pss += $2 }
		END { print rss + 0, shared + 0, pss + 0 }' "/proc/$p/smaps")
	pool_pss=$((pool_pss + pss))
	anon=$(awk '/^RssAnon/ {print $2}' "/proc/$p/status")
	[ "$p" = "$POOL" ] && role=master || role=worker
	printf '%-6s %s: RSS %s kB = shared cache/metrics region %s kB + own %s kB (private %s kB); PSS %s kB\n' \
		"$role" "$p" "$rss" "$shared" "$((rss - shared))" "$anon" "$pss"
done
echo "pool: $(pool_pids | wc -w) processes, PSS total $pool_pss kB"
kill -TERM "$POOL"
wait "$POOL" 2>/dev/null

# drp's own share of a miss: the same miss load with every network switched
# off and no cache (FastCGI, auth, envelope, key, fan-out of nothing, JSON)
rm -f "$SOCK"
"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers "$WORKERS" --socket-mode 0666 \
	--cache off --set dcc_enable=0 --set pyzor_enable=0 --set razor_enable=0 >>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK"
sleep 0.3
run base "$lua_miss"
kill -TERM "$POOL"
wait "$POOL" 2>/dev/null
exit 0
