#!/usr/bin/env bash
# lighttpd mod_fastcgi spawning drp-fcgi itself (bin-path, max-procs 2),
# networks on loopback peers: the same API matrix as behind nginx.
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
command -v lighttpd >/dev/null || { echo "SKIP: lighttpd not installed"; exit 0; }
start_dcc
start_pyzord
start_razor
write_conf "$T/drp.conf" "max_body = 64k" "cache = off"
HTTP_PORT=$(free_port tcp)
URL=http://127.0.0.1:$HTTP_PORT
mkdir -p "$T/www" "$T/lt"
user=""
[ "$(id -u)" = 0 ] && user='server.username = "root"'
cat >"$T/lighttpd.conf" <<LT
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $HTTP_PORT
server.pid-file = "$T/lighttpd.pid"
server.errorlog = "$T/lt/error.log"
server.upload-dirs = ( "$T/lt" )
server.max-request-size = 4096
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/" => ((
    "socket" => "$T/run/lt-drp.sock",
    "bin-path" => "$FCGI --config $T/drp.conf",
    "bin-environment" => ( "DRP_RUN_DIR" => "$T/run" ),
    "max-procs" => 2,
    "check-local" => "disable",
)))
LT
lighttpd -D -f "$T/lighttpd.conf" >"$T/drp.log" 2>&1 &
PIDS+=($!)
wait_for curl -s -o /dev/null "$URL/health" || { echo "FAIL: lighttpd did not start"; cat "$T/drp.log" "$T/lt/error.log"; exit 1; }

api_matrix

req GET /metrics
grep -q '^drp_workers_alive 2$' <<<"$BODY" && ok "both lighttpd-spawned workers in the metrics" ||
	fail "workers_alive: $(grep workers_alive <<<"$BODY")"
fcgi_done
