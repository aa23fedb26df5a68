#!/usr/bin/env bash
# drp check/report --network dcc against the project's DCC test server
# (tests/peers/dcc_server.py, modelled on dccd) on loopback: query, report,
# repeated report, a retransmitted report that must not count twice,
# authenticated, wrong password, silent server within the budget, garbage,
# spoofed answers from another port, failover, IPv6, map and ids files.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
PY=/usr/bin/python3
SRV=$PWD/tests/peers/dcc_server.py
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }
[ -x "$PY" ] || { echo "SKIP: $PY not installed"; exit 0; }

T=$(mktemp -d /tmp/drp-dcc.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
unset DCC_SERVERS DCC_CLIENT_ID DCC_CLIENT_PASSWD DCC_CLIENT_PASSWD_FILE DCC_IDS DCC_MAP \
	DRP_CONFIG DRP_BACKEND_TIMEOUT DCC_THRESHOLD DCC_REPORT_TGTS 2>/dev/null || true
export DRP_CONFIG=$T/none.conf
: >"$DRP_CONFIG"

# start NAME [server options...]: a server on a free port; sets PORT_NAME
start() {
	local name=$1
	shift
	"$PY" "$SRV" --port-file "$T/$name.port" --log "$T/$name.log" --lifetime 60 "$@" \
		>"$T/$name.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$T/$name.port" ] && break
		sleep 0.05
	done
	[ -s "$T/$name.port" ] || fail "server $name did not start: $(cat "$T/$name.out")"
	eval "PORT_$name=$(cat "$T/$name.port")"
}

# jq-like field access: get FILE a.b.c  (prints JSON null as "null")
get() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(json.dumps(v) if not isinstance(v, str) else v)
EOF
}
# requests the server logged: count [field=value]
logged() {
	"$PY" - "$T/$1.log" "${2:-}" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])] if sys.argv[1] else []
if sys.argv[2]:
    k, v = sys.argv[2].split("=")
    rows = [r for r in rows if str(r.get(k)).lower() == v.lower()]
print(len(rows))
EOF
}

MSG=tests/data/gdcc_plain1.eml
MSG2=tests/data/gdcc_plain3.eml
ENV=(--client-ip 192.0.2.7 --env-from sender@example.com)
printf '32768\ttestpass32768\n' >"$T/ids.srv"
start main --ids "$T/ids.srv"
start auth --ids "$T/ids.srv"
start silent --silent
start garbage --garbage
start spoof --spoof
start spoofreal --spoof-then-real
start drop --drop-answers 1
start wrongcount --wrong-count
M=127.0.0.1:$PORT_main

run() { # out-file expected-rc drp-args...
	local out=$1 want=$2 rc=0
	shift 2
	"$DRP" "$@" >"$T/$out" 2>"$T/$out.err" || rc=$?
	[ "$rc" = "$want" ] || fail "drp $* exited $rc, want $want: $(cat "$T/$out" "$T/$out.err")"
}

# 1. anonymous query of an unknown message: counted nothing, not listed (exit 1)
DCC_SERVERS=$M run q1 1 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/q1" dcc.status)" = ok ] || fail "query status: $(cat "$T/q1")"
[ "$(get "$T/q1" dcc.action)" = accept ] || fail "query action"
[ "$(get "$T/q1" dcc.bulk)" = 0 ] || fail "bulk must be the number 0: $(cat "$T/q1")"
[ "$(get "$T/q1" dcc.counts.Body)" = 0 ] || fail "query Body"
[ "$(get "$T/q1" dcc.counts.IP)" = null ] || fail "IP is not counted by the server"
[ "$(get "$T/q1" dcc.client_id)" = 1 ] || fail "anonymous client-ID"
[ "$(logged main op=QUERY)" = 1 ] || fail "server saw $(logged main op=QUERY) queries"

# 2. reports with tgts 1 count 1, 2 (answers.tsv), and the query sees them
for n in 1 2; do
	DCC_SERVERS=$M DCC_REPORT_TGTS=1 run r$n 0 report --network dcc "${ENV[@]}" <"$MSG"
	[ "$(get "$T/r$n" dcc.status)" = ok ] || fail "report $n: $(cat "$T/r$n")"
	[ "$(get "$T/r$n" dcc.reported)" = true ] || fail "report $n not reported"
	for t in Body Fuz1 Fuz2; do
		[ "$(get "$T/r$n" dcc.counts.$t)" = $n ] || fail "report $n $t: $(cat "$T/r$n")"
	done
done
DCC_SERVERS=$M run q2 1 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/q2" dcc.counts.Body)" = 2 ] || fail "query after 2 reports: $(cat "$T/q2")"
[ "$(get "$T/q2" dcc.bulk)" = 2 ] || fail "bulk after 2 reports"
# a threshold of 2 rejects it; the real counts are shown either way
DCC_SERVERS=$M DCC_THRESHOLD=2 run q3 0 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/q3" dcc.action)" = reject ] || fail "threshold 2: $(cat "$T/q3")"

# 3. a spam report (dccproc -t many, the default) makes it "many": listed
DCC_SERVERS=$M run r3 0 report --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/r3" dcc.counts.Body)" = 16777200 ] || fail "spam report: $(cat "$T/r3")"
DCC_SERVERS=$M run q4 0 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/q4" dcc.action)" = reject ] || fail "many must reject: $(cat "$T/q4")"
[ "$(get "$T/q4" dcc.bulk)" = 16777200 ] || fail "bulk many"
[ "$(get "$T/q4" dcc.metrics)" = "bulk Body=many Fuz1=many Fuz2=many" ] || fail "metrics"
DCC_SERVERS=$M DCC_THRESHOLD=never run q5 1 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/q5" dcc.counts.Body)" = 16777200 ] || fail "never still shows counts"

# 4. the first answer is lost: the retransmission (same h/p/r, next t,
#    same socket) is answered from the server's cache and not counted again
D=127.0.0.1:$PORT_drop
DCC_SERVERS=$D DCC_REPORT_TGTS=1 run rr 0 report --network dcc "${ENV[@]}" <"$MSG2"
[ "$(get "$T/rr" dcc.counts.Body)" = 1 ] || fail "retransmitted report counted twice: $(cat "$T/rr")"
[ "$(logged drop op=REPORT)" = 2 ] || fail "want 2 transmissions, server saw $(logged drop op=REPORT)"
[ "$(logged drop counted=true)" = 1 ] || fail "the report was counted $(logged drop counted=true) times"
"$PY" - "$T/drop.log" <<'EOF' || fail "retransmission header"
import json, struct, sys
a, b = [bytes.fromhex(json.loads(l)["hex"]) for l in open(sys.argv[1])]
assert a[:20] == b[:20], "h/p/r or header changed"
ta, tb = struct.unpack("<I", a[20:24])[0], struct.unpack("<I", b[20:24])[0]
assert (ta, tb) == (1, 2), (ta, tb)
assert a[24:-16] == b[24:-16], "body changed"
EOF
[ "$(sort -u <("$PY" -c 'import json,sys; [print(json.loads(l)["from_port"]) for l in open(sys.argv[1])]' "$T/drop.log") | wc -l)" = 1 ] ||
	fail "retransmission from another source port"
DCC_SERVERS=$D run rq 1 check --network dcc "${ENV[@]}" <"$MSG2"
[ "$(get "$T/rq" dcc.counts.Body)" = 1 ] || fail "after retransmission: $(cat "$T/rq")"

# 5. authenticated: password from a *_FILE, and from DCC's ids file
A=127.0.0.1:$PORT_auth
printf 'testpass32768\n' >"$T/pw"
DCC_SERVERS=$A DCC_CLIENT_ID=32768 DCC_CLIENT_PASSWD_FILE=$T/pw run a1 1 check --network dcc \
	"${ENV[@]}" <"$MSG"
[ "$(get "$T/a1" dcc.status)" = ok ] || fail "authenticated: $(cat "$T/a1")"
[ "$(get "$T/a1" dcc.client_id)" = 32768 ] || fail "client-ID"
[ "$(logged auth auth=true)" = 1 ] || fail "server did not authenticate us"
printf '# ids\n32768\ttestpass32768\n' >"$T/ids"
chmod 600 "$T/ids"
DCC_SERVERS=$A DCC_CLIENT_ID=32768 DCC_IDS=$T/ids DCC_REPORT_TGTS=1 run a2 0 report \
	--network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/a2" dcc.status)" = ok ] || fail "ids file: $(cat "$T/a2")"
[ "$(get "$T/a2" dcc.counts.rep-total)" = 1 ] || fail "reputation of an authenticated report"
[ "$(logged auth auth=true)" = 2 ] || fail "ids-file password not accepted"
chmod 644 "$T/ids"
DCC_SERVERS=$A DCC_CLIENT_ID=32768 DCC_IDS=$T/ids run a3 2 check --network dcc <"$MSG"
grep -q 'not private' "$T/a3.err" || fail "a readable ids file must be refused: $(cat "$T/a3.err")"

# 6. wrong password: dccd answers unsigned as to an anonymous client; the
#    answer must be ignored (error, no counts), not taken
DCC_SERVERS=$A DCC_CLIENT_ID=32768 DCC_CLIENT_PASSWD=wrongpassword run w1 2 check \
	--network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/w1" dcc.status)" = error ] || fail "wrong password: $(cat "$T/w1")"
grep -q 'rejected our password' "$T/w1" || fail "wrong password reason: $(cat "$T/w1")"
[ "$(get "$T/w1" dcc.counts.Body)" = null ] || fail "counts of an unverified answer shown"
[ "$(get "$T/w1" dcc.action)" = unknown ] || fail "action of an unverified answer"

# 7. silent server: retransmissions with the same h/p/r, then timeout
#    within the budget
t0=$(date +%s%N)
DCC_SERVERS=127.0.0.1:$PORT_silent DRP_BACKEND_TIMEOUT=1500ms run s1 2 check --network dcc \
	"${ENV[@]}" <"$MSG"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(get "$T/s1" dcc.status)" = timeout ] || fail "silent: $(cat "$T/s1")"
[ "$ms" -lt 2500 ] || fail "silent server took ${ms} ms with a 1500 ms budget"
n=$(logged silent)
[ "$n" -ge 3 ] && [ "$n" -le 4 ] || fail "silent: $n transmissions (want 3-4 within 1.5 s)"
"$PY" - "$T/silent.log" <<'EOF' || fail "retransmissions of the silent server"
import json, struct, sys
p = [bytes.fromhex(json.loads(l)["hex"]) for l in open(sys.argv[1])]
assert len({x[:20] for x in p}) == 1, "h/p/r changed between transmissions"
assert [struct.unpack("<I", x[20:24])[0] for x in p] == list(range(1, len(p) + 1))
EOF

# 8. garbage answers are never taken
DCC_SERVERS=127.0.0.1:$PORT_garbage DRP_BACKEND_TIMEOUT=1200ms run g1 2 check --network dcc \
	"${ENV[@]}" <"$MSG"
st=$(get "$T/g1" dcc.status)
[ "$st" = error ] || [ "$st" = timeout ] || fail "garbage: $(cat "$T/g1")"
[ "$(get "$T/g1" dcc.counts.Body)" = null ] || fail "garbage gave counts"
DCC_SERVERS=127.0.0.1:$PORT_wrongcount run g2 2 check --network dcc "${ENV[@]}" <"$MSG"
grep -q 'counts for 9 checksums' "$T/g2" || fail "wrong count: $(cat "$T/g2")"

# 9. answers from another port are dropped: alone they time out; before a
#    real answer they change nothing (they claim "many")
DCC_SERVERS=127.0.0.1:$PORT_spoof DRP_BACKEND_TIMEOUT=1s run p1 2 check --network dcc \
	"${ENV[@]}" <"$MSG"
[ "$(get "$T/p1" dcc.status)" = timeout ] || fail "spoof: $(cat "$T/p1")"
DCC_SERVERS=127.0.0.1:$PORT_spoofreal run p2 1 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/p2" dcc.counts.Body)" = 0 ] || fail "spoofed counts taken: $(cat "$T/p2")"

# 10. failover: a dead first server (port unreachable) costs nothing
DEAD=$("$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DCC_SERVERS="127.0.0.1:$DEAD,$M" run f1 0 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/f1" dcc.server)" = "$M" ] || fail "failover: $(cat "$T/f1")"
# a silent first server, no RTT measurement first: the check fails over
# within the budget
DCC_PROBE=0 DCC_SERVERS="127.0.0.1:$PORT_silent,$M" DRP_BACKEND_TIMEOUT=1500ms run f2 0 check \
	--network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/f2" dcc.server)" = "$M" ] || fail "failover from silent: $(cat "$T/f2")"
# a report is never sent to a second server: it becomes a query there
before=$(logged main op=REPORT)
DCC_PROBE=0 DCC_SERVERS="127.0.0.1:$PORT_silent,$M" DRP_BACKEND_TIMEOUT=1500ms run f3 2 report \
	--network dcc "${ENV[@]}" <"$MSG"
[ "$(logged main op=REPORT)" = "$before" ] || fail "report re-sent to another server"
grep -q 'report not confirmed' "$T/f3" || fail "fallback report: $(cat "$T/f3")"

# with the NOP measurement (the default with a choice of servers) the
# silent server is never asked: the report goes to the one that answered
nops=$(logged main op=NOP)
DCC_SERVERS="127.0.0.1:$PORT_silent,$M" DCC_REPORT_TGTS=1 DRP_BACKEND_TIMEOUT=1s run f4 0 report \
	--network dcc "${ENV[@]}" <"$MSG2"
[ "$(get "$T/f4" dcc.server)" = "$M" ] || fail "RTT choice: $(cat "$T/f4")"
[ "$(get "$T/f4" dcc.reported)" = true ] || fail "RTT choice report: $(cat "$T/f4")"
[ "$(logged main op=NOP)" = $((nops + 1)) ] || fail "no NOP measurement"

# 11. IPv6 loopback, when the host has it
if "$PY" -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null; then
	start v6 --host ::1
	DCC_SERVERS="[::1]:$PORT_v6" run v1 1 check --network dcc "${ENV[@]}" <"$MSG"
	[ "$(get "$T/v1" dcc.status)" = ok ] || fail "IPv6: $(cat "$T/v1")"
fi

# 12. a DCC map.txt (cdcc's text form) instead of dcc_servers
cat >"$T/map.txt" <<EOF
# DCC map (cdcc info)
version=3 IPv6 on
127.0.0.1,$PORT_auth	RTT+0 ms	32768 testpass32768
127.0.0.1,-	Greylist	32768 testpass32768
EOF
chmod 600 "$T/map.txt"
DCC_MAP=$T/map.txt run m1 1 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/m1" dcc.client_id)" = 32768 ] || fail "map credentials: $(cat "$T/m1")"
[ "$(get "$T/m1" dcc.status)" = ok ] || fail "map: $(cat "$T/m1")"

# 13. dcc_substitute (dccproc -S): the header's checksum is sent as type 4,
#     the same sum `drp digest --substitute` prints
want=$("$DRP" digest --network dcc --substitute Subject <"$MSG" | awk -F'\t' '/^substitute/ {print $2}')
before=$(logged main)
DCC_SERVERS=$M DCC_SUBSTITUTE=Subject run sb 0 check --network dcc "${ENV[@]}" <"$MSG"
got=$("$PY" - "$T/main.log" "$before" <<'EOF'
import json, sys
p = bytes.fromhex([json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2])]["hex"])
print("".join(p[i + 2:i + 18].hex() for i in range(28, len(p) - 16, 18) if p[i] == 4))
EOF
)
[ -n "$want" ] && [ "$got" = "$want" ] || fail "substitute: sent '$got', digest '$want'"

# whitelisted by the server (an "ok" From): not spam, whatever the body counts
FROMSUM=$("$DRP" digest --network dcc <"$MSG" | awk -F'\t' '$1 == "From" {print $2}')
start wl --whitelist "From:$FROMSUM"
DCC_SERVERS=127.0.0.1:$PORT_wl run wl1 0 report --network dcc "${ENV[@]}" <"$MSG"
DCC_SERVERS=127.0.0.1:$PORT_wl run wl2 1 check --network dcc "${ENV[@]}" <"$MSG"
[ "$(get "$T/wl2" dcc.whitelisted)" = true ] || fail "whitelist: $(cat "$T/wl2")"
[ "$(get "$T/wl2" dcc.action)" = accept ] || fail "whitelist action: $(cat "$T/wl2")"
[ "$(get "$T/wl2" dcc.counts.Body)" = 16777200 ] || fail "whitelist hides counts"
[ "$(get "$T/wl2" dcc.counts.From)" = 16777201 ] || fail "whitelist From count"

# 14. revoke: DCC has no un-report
DCC_SERVERS=$M run v 0 revoke --network dcc <"$MSG"
[ "$(cat "$T/v")" = '{"dcc":null}' ] || fail "revoke: $(cat "$T/v")"

# 15. bad configuration is an error before anything is sent
DCC_SERVERS=$M DCC_CLIENT_ID=32768 DCC_IDS=$T/missing run c1 2 check --network dcc <"$MSG"
DCC_SERVERS=$M DCC_THRESHOLD=lots run c2 2 check --network dcc <"$MSG"
echo "PASS dcc_client"
