#!/usr/bin/env bash
# `drp check|report|revoke` without --network: the service's fan-out and
# verdict without HTTP.  Against the same loopback peers, the CLI and
# POST /check must give the same verdict fields, and the exit codes follow
# cli.h (check: 0 listed / 1 not / 2 error; report/revoke: 0 accepted).
set -u
. "$(dirname "$0")/fcgi_lib.sh"
fcgi_netns "$@"
fcgi_setup
DRP=$BUILD/drp
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }
start_dcc
start_pyzord
start_razor
write_conf "$T/drp.conf" "cache = off"
SOCK=$T/run/drp.sock
"$FCGI" --config "$T/drp.conf" --listen "unix:$SOCK" --workers 1 --socket-mode 0666 \
	>"$T/drp.log" 2>&1 &
PIDS+=($!)
wait_for test -S "$SOCK" || { echo "FAIL: pool did not start"; exit 1; }
start_nginx "unix:$SOCK"

{ sed -n '1,/^$/p' "$MSG"; echo "cli test $$ $RANDOM $(date +%s%N)"; sed '1,/^$/d' "$MSG"; } >"$T/m.eml"
BODY=$("$DRP" check --config "$T/drp.conf" <"$T/m.eml")
rc=$?
[ $rc = 1 ] && ok "drp check: fresh message exits 1" || fail "drp check exit $rc: $BODY"
expect_json 'j["dcc"]["status"] == "ok" and j["dcc"]["action"] == "accept"' "CLI verdict has gozer's fields"
cli=$BODY
post /check "$TOKEN" "$T/m.eml"
BODY=$($PY -c 'import json,sys
strip = lambda j: {n: {k: v for k, v in j[n].items() if k not in ("latency_ms", "servers", "server")} for n in ("dcc", "razor", "pyzor")}
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"same": strip(a) == strip(b), "a": strip(a), "b": strip(b)}))' "$cli" "$BODY")
expect_json 'j["same"]' "CLI and POST /check give the same verdict"
# no Razor identity in this razorhome: Razor refuses, so not all accepted
if [ -n "${RAZOR_PORT:-}" ]; then
	"$DRP" report --config "$T/drp.conf" <"$T/m.eml" >"$T/rep.json" 2>/dev/null
	rc=$?
	BODY=$(cat "$T/rep.json")
	if json 'j["razor"] is False'; then
		[ $rc = 2 ] && ok "drp report with a refusing network exits 2" || fail "report exit $rc: $BODY"
	fi
fi
"$DRP" report --config "$T/drp.conf" --set razor_enable=0 <"$T/m.eml" >"$T/rep.json"
rc=$?
[ $rc = 0 ] && ok "drp report exits 0" || fail "drp report exit $rc: $(cat "$T/rep.json")"
BODY=$(cat "$T/rep.json")
expect_json 'j["dcc"] is True' "report JSON"
BODY=$("$DRP" check --config "$T/drp.conf" <"$T/m.eml")
rc=$?
[ $rc = 0 ] && ok "drp check: reported message exits 0 (listed)" || fail "drp check after report exit $rc: $BODY"
BODY=$("$DRP" revoke --config "$T/drp.conf" <"$T/m.eml")
expect_json 'j["dcc"] is None' "revoke: dcc null"
# a dead DCC: not listed by the others is not "clean": exit 2
kill "$DCC_PID"
BODY=$("$DRP" check --config "$T/drp.conf" --timeout 300ms <"$MSG")
rc=$?
expect_json 'j["dcc"]["status"] in ("timeout", "error")' "dead dcc reported as failed"
if json 'not any(j[n]["status"] == "ok" and (j[n].get("hit") or j[n].get("action") == "reject") for n in ("dcc","razor","pyzor"))'; then
	[ $rc = 2 ] && ok "a failed network and no listing exits 2" || fail "exit $rc with a dead dcc"
fi
"$DRP" check --config "$T/drp.conf" --set dcc_enable=0 --set pyzor_enable=0 --set razor_enable=0 <"$MSG" >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && ok "no network enabled exits 2" || fail "no network enabled: exit $rc"
fcgi_done
