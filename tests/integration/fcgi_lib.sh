# fcgi_lib.sh: shared by the fcgi_*.sh integration tests (sourced, not run).
# Starts loopback peers (the DCC test server, the real pyzord, the Razor
# test server), nginx in front of a drp-fcgi pool, and offers curl helpers.
# Every address is loopback; when possible the whole test runs in a fresh
# network namespace (unshare -n) so that nothing can leave the machine.
# shellcheck shell=bash

PY=/usr/bin/python3
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
FCGI=$BUILD/drp-fcgi
MSG=$ROOT/tests/data/gdcc_plain1.eml
TOKEN=itok-0123456789abcdef0123456789
TOKEN2=itok-rotated-abcdef0123456789
CTOKEN=ictk-checkonly-0123456789abcd
PIDS=()
FAILS=0

# Re-run the calling script inside a private network namespace when we can:
# loopback only, by construction.
fcgi_netns() {
	if [ -z "${DRP_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
		exec unshare -n env DRP_IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
	fi
}

fcgi_setup() {
	T=$(mktemp -d /tmp/drp-fcgi-it.XXXXXX)
	chmod 755 "$T"
	export DRP_RUN_DIR=$T/run
	mkdir -p "$DRP_RUN_DIR"
	chmod 777 "$DRP_RUN_DIR"
	trap fcgi_cleanup EXIT
	for t in nginx curl "$PY"; do
		command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 0; }
	done
	[ -x "$FCGI" ] || { echo "FAIL: $FCGI not built"; exit 1; }
	# no setting may leak in from the environment of whoever runs us
	unset DRP_TOKEN DRP_TOKEN_FILE DRP_CHECK_TOKEN DRP_CONFIG DRP_CACHE PYZOR_SERVERS \
		RAZOR_SERVERS DCC_SERVERS
}

fcgi_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$T"
}

free_port() { # tcp|udp
	$PY -c 'import socket,sys; t=socket.SOCK_STREAM if sys.argv[1]=="tcp" else socket.SOCK_DGRAM
s=socket.socket(socket.AF_INET,t); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}

wait_for() { # command... : up to 5 s
	for _ in $(seq 50); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# running and not a zombie (spawned workers are reparented to an init that
# may not reap them)
running() { [ -n "$(ps -o stat= -p "$1" 2>/dev/null | grep -v Z)" ]; }

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}
ok() { echo "ok: $*"; }

# --- peers ------------------------------------------------------------------

start_dcc() { # extra args for dcc_server.py; sets DCC_PORT
	rm -f "$T/dcc.port"
	$PY "$ROOT/tests/peers/dcc_server.py" --port-file "$T/dcc.port" --lifetime 600 "$@" \
		>"$T/dcc.out" 2>&1 &
	DCC_PID=$!
	PIDS+=($DCC_PID)
	wait_for test -s "$T/dcc.port" || { echo "FAIL: dcc_server did not start"; exit 1; }
	DCC_PORT=$(cat "$T/dcc.port")
}

start_pyzord() { # sets PYZOR_PORT (empty when pyzord is missing)
	PYZOR_PORT=
	command -v pyzord >/dev/null || return 0
	PYZOR_PORT=$(free_port udp)
	mkdir -p "$T/pyzord"
	pyzord --homedir "$T/pyzord" -a 127.0.0.1 -p "$PYZOR_PORT" -e gdbm \
		--dsn "$T/pyzord/db" >"$T/pyzord.log" 2>&1 &
	PIDS+=($!)
	# pyzord answers a ping once it is up
	echo "127.0.0.1:$PYZOR_PORT" >"$T/pyzor.servers"
	wait_for pyzor --homedir "$T/pyzord" --servers-file "$T/pyzor.servers" -t 1 ping ||
		echo "note: pyzord did not answer a ping yet"
}

start_razor() { # sets RAZOR_PORT (empty when the server cannot run)
	RAZOR_PORT=
	[ -f "$ROOT/tests/peers/razor_server.pl" ] || return 0
	perl -MRazor2::Client::Engine -e1 2>/dev/null || return 0
	rm -f "$T/razor.port"
	perl "$ROOT/tests/peers/razor_server.pl" --port-file "$T/razor.port" >"$T/razor.log" 2>&1 &
	PIDS+=($!)
	wait_for test -s "$T/razor.port" || { RAZOR_PORT=; return 0; }
	RAZOR_PORT=$(cat "$T/razor.port")
}

# The drp configuration every test uses: all three networks on loopback.
write_conf() { # file, extra lines...
	local f=$1
	shift
	{
		echo "# written by $(basename "$0")"
		echo "backend_timeout = 2"
		echo "dcc_servers = 127.0.0.1:${DCC_PORT:-9}"
		if [ -n "${PYZOR_PORT:-}" ]; then
			echo "pyzor_servers = 127.0.0.1:$PYZOR_PORT"
		else
			echo "pyzor_servers = 127.0.0.1:9"
			echo "pyzor_enable = 0"
		fi
		mkdir -p "$T/razorhome"
		echo "razor_home = $T/razorhome"
		if [ -n "${RAZOR_PORT:-}" ]; then
			echo "razor_servers = 127.0.0.1:$RAZOR_PORT"
			echo "razor_discovery = 127.0.0.1:$RAZOR_PORT"
		else
			echo "razor_servers = 127.0.0.1:9"
			echo "razor_discovery = 127.0.0.1:9"
			echo "razor_enable = 0"
		fi
		echo "token_file = $T/tokens"
		echo "check_token = $CTOKEN"
		for l in "$@"; do echo "$l"; done
	} >"$f"
	[ -f "$T/tokens" ] || printf '%s\n' "$TOKEN" >"$T/tokens"
}

# --- nginx ------------------------------------------------------------------

# The server block: the project's shipped nginx/drp-locations.conf when
# NGINX_SHIPPED=1 (so the deployment file itself is tested), else a bare
# pass-through so drp's own 404/405 answers are exercised.
nginx_server() {
	cp /etc/nginx/fastcgi_params "$T/fastcgi_params"
	if [ "${NGINX_SHIPPED:-0}" = 1 ]; then
		cat <<NGX
    $(grep -E '^(limit_req_zone|limit_conn_zone|limit_req_status|limit_conn_status)' "$ROOT/nginx/drp.conf")
    upstream drp_pool { server $1 max_fails=0; }
    server {
        listen 127.0.0.1:$HTTP_PORT;
        include $ROOT/nginx/drp-locations.conf;
    }
NGX
	elif [ "${NGINX_KEEPALIVE:-0}" = 1 ]; then
		# the setting the shipped config warns against: kept connections
		# to a pool of one-request-at-a-time workers
		cat <<NGX
    upstream drp { server $1; keepalive 8; }
    server {
        listen 127.0.0.1:$HTTP_PORT;
        location / {
            include fastcgi_params;
            fastcgi_keep_conn on;
            fastcgi_read_timeout 30s;
            fastcgi_pass drp;
        }
    }
NGX
	else
		cat <<NGX
    upstream drp { server $1; }
    server {
        listen 127.0.0.1:$HTTP_PORT;
        client_max_body_size 4m;
        client_body_buffer_size 1m;
        location / {
            include fastcgi_params;
            fastcgi_request_buffering on;
            fastcgi_read_timeout 30s;
            fastcgi_pass drp;
        }
    }
NGX
	fi
}

start_nginx() { # fastcgi address (unix:/path or 127.0.0.1:port); sets HTTP_PORT, URL
	local up=$1
	HTTP_PORT=$(free_port tcp)
	URL=http://127.0.0.1:$HTTP_PORT
	mkdir -p "$T/nginx"
	local user=""
	[ "$(id -u)" = 0 ] && user="user root;"
	cat >"$T/nginx.conf" <<NGX
$user
daemon off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    fastcgi_temp_path $T/nginx/fcgi;
    proxy_temp_path $T/nginx/proxy;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
$(nginx_server "$up")
}
NGX
	nginx -p "$T/nginx" -c "$T/nginx.conf" -e "$T/nginx/error.log" &
	PIDS+=($!)
	wait_for curl -s -o /dev/null "$URL/" || { echo "FAIL: nginx did not start"; cat "$T/nginx/error.log"; exit 1; }
}

# --- requests ---------------------------------------------------------------

# req METHOD PATH [curl args...]: sets CODE, BODY, HDRS
req() {
	local m=$1 p=$2
	shift 2
	CODE=$(curl -s -m 20 -o "$T/body" -D "$T/hdrs" -w '%{http_code}' -X "$m" "$@" "$URL$p")
	BODY=$(cat "$T/body")
	HDRS=$(cat "$T/hdrs")
}

post() { # PATH TOKEN FILE [curl args]
	local p=$1 tok=$2 f=$3
	shift 3
	req POST "$p" -H "Authorization: Bearer $tok" -H 'Content-Type: message/rfc822' \
		--data-binary "@$f" "$@"
}

expect_code() { # want, what
	if [ "$CODE" = "$1" ]; then ok "$2 -> $1"; else fail "$2: want $1, got $CODE: $BODY"; fi
}

# jq-less JSON assertions through Debian's python
json() { # python expression over `j`, must be truthy
	$PY -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$BODY" "$1" 2>/dev/null
}

expect_json() { # expr, what
	if json "$1"; then ok "$2"; else fail "$2: $1 is false for $BODY"; fi
}

is_json_error() { json 'isinstance(j.get("error"), str) and len(j) == 1'; }

# The endpoint/status/auth matrix every spawning mode must pass.
api_matrix() {
	req GET /health
	expect_code 200 "GET /health"
	[ "$BODY" = ok ] && ok "health body is ok" || fail "health body '$BODY'"
	req GET /metrics
	expect_code 200 "GET /metrics"
	grep -q '^drp_build_info{version=' <<<"$BODY" && ok "metrics has build info" ||
		fail "metrics: no drp_build_info"
	req POST /health --data-binary x
	expect_code 405 "POST /health"
	is_json_error && ok "405 is a JSON error" || fail "405 body $BODY"
	req GET /check
	expect_code 405 "GET /check"
	grep -qi '^Allow: POST' <<<"$HDRS" && ok "405 says Allow: POST" || fail "no Allow header"
	req POST /nowhere --data-binary x
	expect_code 404 "POST /nowhere"
	is_json_error && ok "404 is a JSON error" || fail "404 body $BODY"
	# auth
	req POST /check --data-binary "@$MSG"
	expect_code 401 "no token"
	is_json_error && ok "401 is a JSON error" || fail "401 body $BODY"
	post /check wrong-token-0123456789abcdef "$MSG"
	expect_code 401 "wrong token"
	post /check "${TOKEN}x" "$MSG"
	expect_code 401 "token with a suffix"
	req POST /check -H "X-DRP-Token: $TOKEN" --data-binary "@$MSG"
	expect_code 200 "X-DRP-Token"
	post /check "$CTOKEN" "$MSG"
	expect_code 200 "check-only token may check"
	post /report "$CTOKEN" "$MSG"
	expect_code 403 "check-only token may not report"
	post /revoke "$CTOKEN" "$MSG"
	expect_code 403 "check-only token may not revoke"
	is_json_error && ok "403 is a JSON error" || fail "403 body $BODY"
	# the verdict
	post /check "$TOKEN" "$MSG"
	expect_code 200 "POST /check"
	expect_json 'j["dcc"]["action"] in ("accept","reject","unknown") and (j["dcc"]["bulk"] is None or type(j["dcc"]["bulk"]) is int)' "dcc fields have gozer's types"
	expect_json 'type(j["razor"]["hit"]) is bool and type(j["pyzor"]["count"]) is int and type(j["pyzor"]["wl"]) is int' "razor/pyzor fields have gozer's types"
	expect_json 'all(j[n]["status"] in ("ok","error","timeout","disabled") and type(j[n]["latency_ms"]) is int for n in ("dcc","razor","pyzor"))' "every network has status and latency_ms"
	expect_json 'j["dcc"]["status"] == "ok"' "dcc answered (loopback dcc_server)"
	check_optional_networks
	# envelope headers
	post /check "$TOKEN" "$MSG" -H 'X-DRP-Client-IP: 192.0.2.7' -H 'X-DRP-Helo: mx.example' \
		-H 'X-DRP-Env-From: a@example.org' -H 'X-DRP-Env-Rcpt: b@example.net, c@example.net' \
		-H 'X-DRP-Env-Rcpt: d@example.com'
	expect_code 200 "check with envelope headers"
	expect_json 'j["dcc"]["status"] == "ok"' "dcc answered with an envelope"
	post /check "$TOKEN" "$MSG" -H 'X-DRP-Client-IP: not-an-ip'
	expect_code 400 "bad X-DRP-Client-IP"
	is_json_error && ok "400 is a JSON error" || fail "400 body $BODY"
	# report, then the message is bulk for DCC; revoke has dcc null
	local m2=$T/msg2.eml
	{ sed -n '1,/^$/p' "$MSG"; echo "unique body $$ $RANDOM $(date +%s%N)"; sed '1,/^$/d' "$MSG"; } >"$m2"
	post /check "$TOKEN" "$m2"
	expect_json 'j["dcc"]["action"] == "accept" and j["dcc"]["bulk"] == 0' "fresh message is not bulk"
	post /report "$TOKEN" "$m2"
	expect_code 200 "POST /report"
	expect_json 'j["dcc"] is True and type(j["razor"]) is bool and type(j["pyzor"]) is bool' "report answer types"
	post /check "$TOKEN" "$m2"
	expect_json 'j["dcc"]["action"] == "reject" and j["dcc"]["bulk"] > 0' "reported message is now bulk (cache invalidated)"
	post /revoke "$TOKEN" "$m2"
	expect_code 200 "POST /revoke"
	expect_json 'j["dcc"] is None and type(j["razor"]) is bool and type(j["pyzor"]) is bool' "revoke: dcc is null"
	# sizes: drp's own max_body (64k in these tests) below nginx's 4m
	head -c 100000 /dev/urandom | base64 >"$T/big.eml"
	post /check "$TOKEN" "$T/big.eml"
	expect_code 413 "body over max_body"
	is_json_error && ok "413 is a JSON error" || fail "413 body $BODY"
	req POST /check -H "Authorization: Bearer $TOKEN" --data-binary ''
	expect_code 400 "empty body"
	# and the pool still serves after all that
	post /check "$TOKEN" "$MSG"
	expect_code 200 "still serving"
	req GET /metrics
	grep -q 'drp_requests_total{endpoint="check",status="401"} [1-9]' <<<"$BODY" &&
		ok "metrics count 401s" || fail "metrics lack 401 count"
	grep -q 'drp_network_queries_total{network="dcc"} [1-9]' <<<"$BODY" &&
		ok "metrics count dcc queries" || fail "metrics lack dcc queries"
}

# pyzor/razor: asserted when their loopback peers run and the client is in
# this build; otherwise they must be reported as not answering, never clean.
check_optional_networks() {
	local n
	for n in pyzor razor; do
		if json "j[\"$n\"][\"status\"] == \"ok\""; then
			ok "$n answered"
		elif json "j[\"$n\"][\"status\"] in (\"disabled\",\"error\",\"timeout\")"; then
			echo "note: $n status $($PY -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$BODY" $n) (peer or client not available in this build)"
		else
			fail "$n: $BODY"
		fi
	done
}

fcgi_done() {
	if [ "$FAILS" -gt 0 ]; then
		echo "$FAILS check(s) failed"
		echo "--- nginx error log"; tail -20 "$T/nginx/error.log" 2>/dev/null
		echo "--- drp log"; tail -20 "$T/drp.log" 2>/dev/null
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
