#!/usr/bin/env bash
# rspamd (Debian) on loopback with rspamd/plugins/drp.lua against a real
# drp-fcgi pool behind nginx, whose networks are the project's loopback
# test servers (DCC, Razor) and the real pyzord.  Asserts:
#   - a reported message shows DRP_DCC_BULK, DRP_RAZOR and DRP_PYZOR with
#     the scores of rspamd/local.d/groups.conf;
#   - a clean message shows none of them and no DRP_FAIL;
#   - a whitelisted (revoked) message shows DRP_PYZOR_WL;
#   - the envelope reaches drp (DCC's IP/HELO checksums change the answer);
#   - authenticated senders are skipped;
#   - drp down or hanging: DRP_FAIL with a reason, the scan completes
#     within the configured timeout, and no spam symbol;
#   - symbol_names = external_services: DCC_REJECT, RAZOR, PYZOR.
# The plugin itself passes luacheck.
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
for t in rspamd rspamc; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed (make deps)"; exit 1; }
done
if command -v luacheck >/dev/null; then
	(cd "$ROOT" && luacheck --no-color rspamd/plugins/drp.lua) >"$T/luacheck.log" 2>&1 &&
		ok "luacheck clean" || { cat "$T/luacheck.log"; fail "luacheck"; }
else
	fail "luacheck not installed (make deps)"
fi

start_dcc
start_razor
# pyzord with one account: anonymous may check and report, the account may
# also whitelist (what /revoke does)
PYZOR_PORT=$(free_port udp)
PZ_USER=drprspamd
PZ_KEY=$($PY -c 'import os; print(os.urandom(20).hex())')
mkdir -p "$T/pyzord"
printf '%s : %s\n' "$PZ_USER" "$PZ_KEY" >"$T/pyzord/pyzord.passwd"
printf 'check report ping pong info : anonymous : allow\nall : %s : allow\n' "$PZ_USER" \
	>"$T/pyzord/pyzord.access"
pyzord --homedir "$T/pyzord" -a 127.0.0.1 -p "$PYZOR_PORT" -e gdbm --dsn "$T/pyzord/db" \
	--password-file "$T/pyzord/pyzord.passwd" --access-file "$T/pyzord/pyzord.access" \
	>"$T/pyzord.log" 2>&1 &
PIDS+=($!)
echo "127.0.0.1:$PYZOR_PORT" >"$T/pyzor.servers"
wait_for pyzor --homedir "$T/pyzord" --servers-file "$T/pyzor.servers" -t 1 ping ||
	{ echo "FAIL: pyzord did not start"; cat "$T/pyzord.log"; exit 1; }
[ -n "$RAZOR_PORT" ] || { echo "FAIL: the Razor test server is needed"; exit 1; }
write_conf "$T/drp.conf" "cache = off" "razor_min_cf = ac" "pyzor_user = $PZ_USER" \
	"pyzor_key = $PZ_KEY"
# a Razor identity (reports and revokes are authenticated)
"$BUILD/drp-register" --config "$T/drp.conf" razor >"$T/reg.log" 2>&1 ||
	{ echo "FAIL: drp-register razor"; cat "$T/reg.log"; exit 1; }
SOCK=$T/run/drp.sock
"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers 2 --socket-mode 0666 \
	>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK" || { echo "FAIL: pool did not start"; cat "$T/drp.log"; exit 1; }
NGINX_SHIPPED=1 start_nginx "unix:$SOCK"

RSPAMD_PORT=$(free_port tcp)
TIMEOUT=3
# A TCP server that accepts and never answers: drp "hanging".
HANG_PORT=$(free_port tcp)
$PY -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); c=[]
t=time.time()
while time.time()-t < 300: c.append(s.accept()[0])' "$HANG_PORT" &
PIDS+=($!)

start_rspamd() { # url symbol_names
	local d=$T/rspamd
	# a new instance on a new port: the old one's workers may linger
	if [ -n "${RSPAMD_PID:-}" ]; then
		kill "$RSPAMD_PID" 2>/dev/null
		RSPAMD_PORT=$(free_port tcp)
	fi
	rm -rf "$d"
	mkdir -p "$d/db"
	chmod 777 "$d" "$d/db"
	cat >"$d/rspamd.conf" <<CONF
options {
  pidfile = "$d/rspamd.pid";
  filters = "";
  dns { nameserver = ["127.0.0.1:9"]; timeout = 0.2s; retransmits = 1; }
  task_timeout = 20s;
}
logging { type = "file"; filename = "$d/rspamd.log"; level = "info"; }
worker "normal" { bind_socket = "127.0.0.1:$RSPAMD_PORT"; count = 1; }
modules { path = "$ROOT/rspamd/plugins/"; }
.include "$ROOT/rspamd/local.d/groups.conf"
drp {
  .include(priority=1) "$ROOT/rspamd/local.d/drp.conf"
  .include(priority=2) "$d/drp-test.conf"
}
CONF
	cat >"$d/drp-test.conf" <<CONF
url = "$1";
token = "$TOKEN";
timeout = $TIMEOUT;
symbol_names = "$2";
skip_local = false;
dcc_bulk_threshold = 1;
pyzor_count_threshold = 1;
CONF
	rspamd -i -f -u "$(id -un)" -g "$(id -gn)" -c "$d/rspamd.conf" >"$d/stdout.log" 2>&1 &
	RSPAMD_PID=$!
	PIDS+=($RSPAMD_PID)
	# rspamd compiles its TLD list at start: allow it a minute on a busy machine
	local i
	for i in $(seq 600); do curl -sf "http://127.0.0.1:$RSPAMD_PORT/ping" >/dev/null && break; sleep 0.1; done
	curl -sf "http://127.0.0.1:$RSPAMD_PORT/ping" >/dev/null ||
		{ echo "FAIL: rspamd did not start"; tail -n 30 "$d/rspamd.log"; tail -n 30 "$d/stdout.log"; exit 1; }
}

# scan FILE [rspamc args]: sets OUT (rspamc symbols output) and SECS
scan() {
	local f=$1 t0
	shift
	t0=$(date +%s.%N)
	OUT=$(rspamc -h "127.0.0.1:$RSPAMD_PORT" -t 30 -i 198.51.100.7 --helo mx.example.net \
		-F sender@example.org -r rcpt@example.com "$@" symbols <"$f" 2>&1)
	SECS=$(echo "$(date +%s.%N) - $t0" | bc)
}
has() { grep -qE "^Symbol: $1 \\(" <<<"$OUT"; }
score_of() { sed -nE "s/^Symbol: $1 \\(([-0-9.]+)\\).*/\\1/p" <<<"$OUT"; }
want_sym() { # name score what
	if has "$1"; then
		[ "$(score_of "$1")" = "$2" ] && ok "$3: $1 ($2)" || fail "$3: $1 scored $(score_of "$1"), want $2"
	else
		fail "$3: no $1 in: $OUT"
	fi
}
no_sym() { # name what
	has "$1" && fail "$2: unexpected $1 in: $OUT" || ok "$2: no $1"
}

fresh() { # a message nobody has seen: unique body
	local f=$T/msg.$1.eml
	{
		echo "From: Someone <someone@example.org>"
		echo "To: you@example.com"
		echo "Subject: offer $1"
		echo "Message-ID: <$1.$$.$RANDOM@example.org>"
		echo
		echo "Dear friend, this is message $1 of run $$ at $(date +%s%N)."
		echo "We have an unbelievable offer for you today only, visit"
		echo "http://offer-$1-$$.example.net/buy-now and claim your prize before it is gone."
		echo "Reply soon, this offer will not be repeated. Number $RANDOM$RANDOM."
	} >"$f"
	echo "$f"
}

start_rspamd "$URL/check" drp

# clean
clean=$(fresh clean)
scan "$clean"
for s in DRP_DCC_BULK DRP_RAZOR DRP_PYZOR DRP_FAIL DRP_PYZOR_WL; do no_sym $s "clean message"; done

# reported: /report through drp, then scan
spam=$(fresh spam)
post /report "$TOKEN" "$spam" -H 'X-DRP-Client-IP: 198.51.100.7' -H 'X-DRP-Helo: mx.example.net' \
	-H 'X-DRP-Env-From: sender@example.org' -H 'X-DRP-Env-Rcpt: rcpt@example.com'
expect_code 200 "report via drp"
expect_json 'j["dcc"] is True and j["razor"] is True and j["pyzor"] is True' "all three accepted the report"
scan "$spam"
want_sym DRP_DCC_BULK 2.00 "reported message"
want_sym DRP_RAZOR 2.50 "reported message"
want_sym DRP_PYZOR 2.50 "reported message"
no_sym DRP_FAIL "reported message"
grep -E '^Symbol: DRP_PYZOR ' <<<"$OUT" | grep -q 'count=1' && ok "DRP_PYZOR shows the count" ||
	fail "DRP_PYZOR options: $(grep DRP_PYZOR <<<"$OUT")"
grep -E '^Symbol: DRP_DCC_BULK ' <<<"$OUT" | grep -qi 'body=' && ok "DRP_DCC_BULK shows counts" ||
	fail "DRP_DCC_BULK options: $(grep DRP_DCC_BULK <<<"$OUT")"

# the envelope matters to DCC: the same body from another client IP still
# matches on Body/Fuz counts (content checksums), proving the scan carried on
scan "$spam" -i 203.0.113.9
has DRP_DCC_BULK && ok "content checksums match from another client" || fail "no DCC hit from another IP: $OUT"

# authenticated senders are skipped entirely
scan "$spam" --user alice
no_sym DRP_PYZOR "authenticated sender"
no_sym DRP_FAIL "authenticated sender"

# whitelisted: /revoke whitelists in Pyzor
ham=$(fresh ham)
post /revoke "$TOKEN" "$ham"
expect_code 200 "revoke via drp"
scan "$ham"
want_sym DRP_PYZOR_WL -1.00 "whitelisted message"
no_sym DRP_PYZOR "whitelisted message"

# external_services names
start_rspamd "$URL/check" external_services
scan "$spam"
want_sym DCC_REJECT 3.00 "external_services names"
want_sym RAZOR 2.50 "external_services names"
want_sym PYZOR 2.50 "external_services names"
no_sym DRP_RAZOR "external_services names"

# drp hanging: the scan completes within the configured timeout, DRP_FAIL
start_rspamd "http://127.0.0.1:$HANG_PORT/check" drp
scan "$spam"
want_sym DRP_FAIL 0.00 "drp hanging"
no_sym DRP_PYZOR "drp hanging"
[ "$(echo "$SECS < $TIMEOUT + 2" | bc)" = 1 ] && ok "scan finished in ${SECS}s (timeout ${TIMEOUT}s)" ||
	fail "scan took ${SECS}s with timeout ${TIMEOUT}s"

# drp stopped: nginx and the pool gone
start_rspamd "$URL/check" drp
kill "$(cat "$T/nginx.pid")" 2>/dev/null
kill "$POOL" 2>/dev/null
sleep 0.5
scan "$spam"
want_sym DRP_FAIL 0.00 "drp stopped"
no_sym DRP_RAZOR "drp stopped"
[ "$(echo "$SECS < $TIMEOUT + 2" | bc)" = 1 ] && ok "scan finished in ${SECS}s" || fail "scan took ${SECS}s"

fcgi_done
