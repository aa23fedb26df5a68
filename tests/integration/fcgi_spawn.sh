#!/usr/bin/env bash
# nginx -> spawn-fcgi -F 2 -> drp-fcgi (listening socket on fd 0, two
# independent processes): the API matrix, pool-wide metrics across the
# spawned processes, SIGHUP reload inside a spawned worker, SIGTERM exit.
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
command -v spawn-fcgi >/dev/null || { echo "SKIP: spawn-fcgi not installed"; exit 0; }
start_dcc
start_pyzord
start_razor
# spawn-fcgi sends a child's stderr to /dev/null: log to a file
write_conf "$T/drp.conf" "max_body = 64k" "cache = off" "log_file = $T/drp.log"
SOCK=$T/run/drp.sock
spawn-fcgi -s "$SOCK" -M 0666 -F 2 -P "$T/spawn.pids" -- "$FCGI" --config "$T/drp.conf" \
	>"$T/spawn.log" 2>"$T/drp.log"
mapfile -t KIDS <"$T/spawn.pids"
PIDS+=("${KIDS[@]}")
[ "${#KIDS[@]}" = 2 ] && ok "spawn-fcgi started 2 workers" || fail "spawn-fcgi pids: ${KIDS[*]}"
wait_for test -S "$SOCK" || { echo "FAIL: no socket"; exit 1; }
start_nginx "unix:$SOCK"

api_matrix

# both spawned processes count into one region
req GET /metrics
grep -q '^drp_workers_alive 2$' <<<"$BODY" && ok "metrics see both spawned workers" ||
	fail "workers_alive: $(grep workers_alive <<<"$BODY")"
before=$(grep 'drp_requests_total{endpoint="check",status="200"}' <<<"$BODY" | awk '{print $2}')
for i in 1 2 3 4 5 6; do post /check "$TOKEN" "$MSG"; done
req GET /metrics
after=$(grep 'drp_requests_total{endpoint="check",status="200"}' <<<"$BODY" | awk '{print $2}')
[ $((after - before)) -eq 6 ] && ok "6 checks counted pool-wide ($before -> $after)" ||
	fail "check count $before -> $after"

# a spawned worker reloads itself on SIGHUP (no master to replace it)
printf '%s\n' "$TOKEN2" >"$T/tokens"
kill -HUP "${KIDS[@]}"
sleep 0.5
for i in 1 2 3 4; do
	post /check "$TOKEN2" "$MSG"
	[ "$CODE" = 200 ] || break
done
expect_code 200 "rotated token after SIGHUP in every spawned worker"
post /check "$TOKEN" "$MSG"
expect_code 401 "old token retired"
grep -q 'configuration reloaded' "$T/drp.log" && ok "reload logged" || fail "no reload in log"

kill -TERM "${KIDS[@]}"
sleep 0.5
alive=0
for k in "${KIDS[@]}"; do running "$k" && alive=$((alive + 1)); done
[ $alive = 0 ] && ok "spawned workers exit on SIGTERM" || fail "$alive still alive"

# the systemd unit's way: spawn-fcgi -n execs one drp-fcgi that preforks
# over the socket on fd 0
rm -f "$SOCK"
spawn-fcgi -n -s "$SOCK" -M 0666 -- "$FCGI" --config "$T/drp.conf" --workers 2 \
	>>"$T/spawn.log" 2>&1 &
MASTER=$!
PIDS+=($MASTER)
wait_for "$FCGI" --probe --listen "unix:$SOCK" && ok "spawn-fcgi -n + --workers serves" || fail "spawn-fcgi -n pool not up"
[ "$(pgrep -P "$MASTER" | wc -l)" = 2 ] && ok "it preforked 2 workers over fd 0" || fail "children: $(pgrep -P "$MASTER" | wc -l)"
printf '%s\n' "$TOKEN" >"$T/tokens"
kill -HUP "$MASTER"
sleep 1
post /check "$TOKEN" "$MSG"
expect_code 200 "reloaded (systemd ExecReload) and serving"
kill -TERM "$MASTER"
for _ in $(seq 50); do running "$MASTER" || break; sleep 0.1; done
running "$MASTER" && fail "master still running" || ok "master drained and exited"
fcgi_done
