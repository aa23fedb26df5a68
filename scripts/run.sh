#!/usr/bin/env bash
# run.sh — what `make run` calls after `make deps all`: starts the drp-fcgi
# pool and nginx on http://127.0.0.1:8077 with the embedded cache and a
# freshly generated token, prints how to curl it, and stays in the
# foreground until Ctrl-C, then stops both and removes its files.
#
# This is a real deployment: unless you configure them (/etc/drp/drp.conf,
# DRP_CONFIG, or PYZOR_SERVERS / RAZOR_* / DCC_SERVERS in the environment),
# the networks are the public DCC, Razor and Pyzor servers.
#   PORT=8077  WORKERS=2  DRP_TOKEN=...  (reuse a token)  BUILD=build
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
PORT=${PORT:-8077}
WORKERS=${WORKERS:-2}
FCGI=$ROOT/$BUILD/drp-fcgi
[ -x "$FCGI" ] || { echo "run: $FCGI not built (make all)" >&2; exit 1; }
command -v nginx >/dev/null || { echo "run: nginx not installed (make deps)" >&2; exit 1; }

RUN=$(mktemp -d "${TMPDIR:-/tmp}/drp-run.XXXXXX")
chmod 711 "$RUN"
POOL= WEB=
cleanup() {
	trap - EXIT INT TERM
	[ -n "$WEB" ] && kill -TERM "$WEB" 2>/dev/null
	[ -n "$POOL" ] && kill -TERM "$POOL" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$RUN"
	echo "drp: stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# the token: kept in a 0600 file, never on a command line
TOKEN=${DRP_TOKEN:-$(openssl rand -hex 24 2>/dev/null || od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}
umask 077
printf '%s\n' "$TOKEN" >"$RUN/token"
umask 022
unset DRP_TOKEN

# nginx's workers run as nobody when we are root: they need the socket
SOCKMODE=0600
USER_LINE=
if [ "$(id -u)" = 0 ]; then
	SOCKMODE=0666
	USER_LINE="user nobody nogroup;"
	getent group nogroup >/dev/null || USER_LINE="user nobody;"
fi

export DRP_RUN_DIR=$RUN
export DRP_TOKEN_FILE=$RUN/token
"$FCGI" --listen "unix:$RUN/drp.sock" --socket-mode "$SOCKMODE" --workers "$WORKERS" \
	--cache embedded &
POOL=$!
for _ in $(seq 100); do [ -S "$RUN/drp.sock" ] && break; kill -0 "$POOL" 2>/dev/null || break; sleep 0.05; done
[ -S "$RUN/drp.sock" ] || { echo "run: the pool did not start (see above)" >&2; exit 1; }

mkdir -p "$RUN/nginx"
cp /etc/nginx/fastcgi_params "$RUN/fastcgi_params"
cat >"$RUN/nginx.conf" <<NGX
$USER_LINE
daemon off;
worker_processes 2;
pid $RUN/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $RUN/nginx/body;
    fastcgi_temp_path $RUN/nginx/fastcgi;
    proxy_temp_path $RUN/nginx/proxy;
    uwsgi_temp_path $RUN/nginx/uwsgi;
    scgi_temp_path $RUN/nginx/scgi;
$(grep -E '^(limit_req_zone|limit_conn_zone|limit_req_status|limit_conn_status)' "$ROOT/nginx/drp.conf" | sed 's/^/    /')
    upstream drp_pool { server unix:$RUN/drp.sock max_fails=0; }
    server {
        listen 127.0.0.1:$PORT;
        include $ROOT/nginx/drp-locations.conf;
    }
}
NGX
[ -n "$USER_LINE" ] && chown -R nobody "$RUN/nginx"
nginx -p "$RUN" -c "$RUN/nginx.conf" -e stderr &
WEB=$!
for _ in $(seq 100); do
	"$FCGI" --probe --listen "unix:$RUN/drp.sock" >/dev/null 2>&1 && break
	sleep 0.05
done

cat <<EOF2

drp is running on http://127.0.0.1:$PORT  ($WORKERS workers, embedded cache)
token: $TOKEN

  curl -s http://127.0.0.1:$PORT/health
  curl -s -H "Authorization: Bearer $TOKEN" --data-binary @message.eml \\
       http://127.0.0.1:$PORT/check
  curl -s http://127.0.0.1:$PORT/metrics | head

Ctrl-C stops it.
EOF2
wait -n "$POOL" "$WEB" || true
echo "run: one of the processes exited" >&2
