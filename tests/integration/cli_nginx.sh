#!/usr/bin/env bash
# drp health / drp stats through real nginx (the shipped location config)
# in front of a standalone drp-fcgi pool, and straight to the pool over
# FastCGI; what they report agrees with curl, and they notice when the
# pool is gone (nginx answers 5xx -> exit 1, socket gone -> exit 2).
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
DRP=$BUILD/drp
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }
cp "$DRP" "$T/drp" && DRP=$T/drp
start_dcc
write_conf "$T/drp.conf" "cache = off" "pyzor_enable = 0" "razor_enable = 0"
SOCK=$T/run/drp.sock
"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers 1 --socket-mode 0666 \
	>"$T/drp.log" 2>&1 &
POOL=$!
PIDS+=($POOL)
wait_for test -S "$SOCK" || { echo "FAIL: pool did not start"; cat "$T/drp.log"; exit 1; }
NGINX_SHIPPED=1 start_nginx "unix:$SOCK"
export DRP_CONFIG=/dev/null

req GET /health
"$DRP" health --url "$URL" >"$T/h.out" 2>"$T/h.err"
rc=$?
[ "$CODE" = 200 ] && [ "$rc" = 0 ] && [ "$(cat "$T/h.out")" = "$BODY" ] &&
	ok "drp health over nginx: exit 0, '$BODY' as curl" ||
	fail "drp health over nginx: exit $rc, '$(cat "$T/h.out")' $(cat "$T/h.err"); curl $CODE '$BODY'"
"$DRP" health --fcgi "unix:$SOCK" >"$T/h2.out" 2>&1 &&
	[ "$(cat "$T/h2.out")" = "$BODY" ] && ok "drp health over FastCGI agrees" ||
	fail "drp health --fcgi: $(cat "$T/h2.out")"

"$DRP" stats --url "$URL" >"$T/m.out" 2>"$T/m.err" || fail "drp stats over nginx: $(cat "$T/m.err")"
req GET /metrics
names() { grep -v '^#' | sed 's/[{ ].*//' | sort -u; }
if [ "$(names <"$T/m.out")" = "$(names <<<"$BODY")" ] && grep -q '^drp_build_info' "$T/m.out"; then
	ok "drp stats prints the metrics curl gets"
else
	fail "drp stats: $(diff <(names <"$T/m.out") <(names <<<"$BODY") | head -5)"
fi
"$DRP" stats --fcgi "unix:$SOCK" | grep -q '^drp_requests_total' &&
	ok "drp stats over FastCGI" || fail "drp stats --fcgi"

# the pool goes away: nginx answers 502, the socket disappears
kill "$POOL"
for _ in $(seq 50); do running "$POOL" || break; sleep 0.1; done
"$DRP" health --url "$URL" >/dev/null 2>"$T/e"
rc=$?
# (the shipped config turns nginx's 502 into a JSON 503)
[ "$rc" = 1 ] && grep -qE 'answered 50[23]' "$T/e" && ok "pool down behind nginx: exit 1 ($(grep -oE '50[23]' "$T/e"))" ||
	fail "pool down behind nginx: exit $rc: $(cat "$T/e")"
"$DRP" health --fcgi "unix:$SOCK" >/dev/null 2>"$T/e"
rc=$?
[ "$rc" = 2 ] && ok "pool socket gone: exit 2" || fail "pool socket gone: exit $rc: $(cat "$T/e")"
fcgi_done
