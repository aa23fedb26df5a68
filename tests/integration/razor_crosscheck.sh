#!/usr/bin/env bash
# Razor2 cross-checks on loopback, drp against the real razor-agents
# (Debian `razor`) through the project's test server:
#  1. fidelity: razor-admin -create/-register, razor-report -f, razor-check,
#     razor-revoke -f all work against tests/peers/razor_server.pl;
#  2. spam reported by razor-report -> `drp check --network razor` hits,
#     also from the razorhome razor-agents wrote;
#  3. spam reported by drp -> razor-check exits 0 (the server signs drp's
#     upload with the Razor2 modules, so the upload must be razor's);
#  4. revoke both ways, and drp's check queries equal razor-check's bytes;
#  5. a server that closes mid-answer, sends an oversized, garbled or
#     miscounted answer, or never answers -> error/timeout within the
#     budget, never a clean result; a split answer is reassembled.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
SRV=$PWD/tests/peers/razor_server.pl
for t in razor-check razor-report razor-revoke razor-admin perl; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 0; }
done
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }

T=$(mktemp -d /tmp/drp-razorx.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$T/a.log" ] && tail -30 "$T/a.log" | sed 's/^/    server| /'
	exit 1
}

# start_server NAME [options...]: sets PORT_<NAME>
start_server() {
	local name=$1
	shift
	perl "$SRV" --port-file "$T/$name.port" --log "$T/$name.log" "$@" >"$T/$name.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 200); do
		[ -s "$T/$name.port" ] && break
		kill -0 "${PIDS[-1]}" 2>/dev/null || fail "server $name died: $(cat "$T/$name.out")"
		sleep 0.05
	done
	[ -s "$T/$name.port" ] || fail "server $name did not start"
	eval "PORT_$name=$(cat "$T/$name.port")"
}

export DRP_CONFIG=/dev/null
unset RAZOR_HOME RAZOR_SERVERS RAZOR_DISCOVERY RAZOR_USER RAZOR_PASS RAZOR_MIN_CF || true
export DRP_BACKEND_TIMEOUT=3 RAZOR_TIMEOUT=3

start_server a
PA=$PORT_a
SPAM1=tests/data/syn_html_spam.eml
SPAM2=tests/data/gdcc_multipart1.eml
HAM=tests/data/syn_lang_dutch.eml

# a razorhome for razor-agents; discovery goes to the loopback server
RH=$T/razorhome
mkdir -p "$RH"
echo "razordiscovery = 127.0.0.1:$PA" >"$RH/razor-agent.conf"

# drp: its own fresh razor home, discovery from the same server
DH=$T/drphome
mkdir -p "$DH"
drp() { RAZOR_HOME=$DH RAZOR_DISCOVERY=127.0.0.1:$PA "$DRP" "$@"; }

# ---- 1. the real client against the test server
razor-admin -home="$RH" -create >"$T/o" 2>&1 || fail "razor-admin -create: $(cat "$T/o")"
razor-admin -home="$RH" -register -user=alice -pass=secret >"$T/o" 2>&1 ||
	fail "razor-admin -register: $(cat "$T/o")"
grep -q 'a=reg&pass=secret&registrar=Razor-Agents%20v2.84&user=alice' "$T/a.log" ||
	fail "register request not seen"
[ -s "$RH/servers.catalogue.lst" ] || fail "razor-admin wrote no catalogue list"
razor-check -home="$RH" "$SPAM1" && fail "razor-check: unreported message listed"
razor-report -home="$RH" -f "$SPAM1" >"$T/o" 2>&1 || fail "razor-report: $(cat "$T/o")"
grep -q '^C> -a=r&message=\*' "$T/a.log" || fail "razor-report did not upload the mail"
razor-check -home="$RH" "$SPAM1" || fail "razor-check: reported message not listed"
echo "ok: razor-admin, razor-report, razor-check work against the test server"

# ---- 2. razor-report -> drp check hits
out=$(drp check --network razor <"$SPAM1") && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "drp check after razor-report: rc=$rc $out"
echo "$out" | grep -q '"hit":true' || fail "drp check: $out"
echo "$out" | grep -q '"status":"ok"' || fail "drp check: $out"
[ -s "$DH/servers.catalogue.lst" ] && [ -s "$DH/servers.nomination.lst" ] ||
	fail "drp wrote no discovery lists"
grep -qx "127.0.0.1:$PA" "$DH/servers.catalogue.lst" || fail "catalogue list: $(cat "$DH/servers.catalogue.lst")"
ls "$DH"/server.127.0.0.1.conf >/dev/null || fail "drp wrote no server state"
grep -q '^srl                    = 1$' "$DH/server.127.0.0.1.conf" || fail "server state: $(cat "$DH/server.127.0.0.1.conf")"
# the razorhome razor-agents wrote works unchanged, read-only: as root the
# check runs as nobody (root ignores file modes), and nothing may change
touch "$T/stamp"
sleep 0.01
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$T"
	chmod -R a+rX "$RH"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env RAZOR_HOME="$RH" \
		DRP_CONFIG=/dev/null "$DRP" check --network razor <"$SPAM1") && rc=0 || rc=$?
else
	chmod -R a-w "$RH"
	out=$(RAZOR_HOME=$RH "$DRP" check --network razor <"$SPAM1") && rc=0 || rc=$?
	chmod -R u+w "$RH"
fi
[ "$rc" = 0 ] || fail "drp check with razor-agents' razorhome, read-only: rc=$rc $out"
[ -z "$(find "$RH" -newer "$T/stamp")" ] || fail "read-only check wrote $(find "$RH" -newer "$T/stamp")"
# the negative control: an unreported message is not listed
out=$(drp check --network razor <"$HAM") && rc=0 || rc=$?
[ "$rc" = 1 ] || fail "drp check of an unreported message: rc=$rc $out"
echo "$out" | grep -q '"hit":false' || fail "ham: $out"
echo "ok: spam reported by razor-report is listed by drp check"

# drp ping: the greeting is the pong; a closed port is reported, not hidden
out=$(RAZOR_HOME=$DH "$DRP" ping --network razor --json) || fail "drp ping: $out"
echo "$out" | grep -q "\"server\":\"127.0.0.1:$PA\",\"ok\":true" || fail "drp ping: $out"
out=$(RAZOR_HOME=$DH RAZOR_SERVERS=127.0.0.1:1 "$DRP" ping --network razor --json) &&
	fail "drp ping of a closed port succeeded: $out"
echo "$out" | grep -q '"ok":false' || fail "drp ping of a closed port: $out"
echo "ok: drp ping"

# ---- 3. drp report -> razor-check hits (identity from razor-agents' home)
razor-check -home="$RH" "$SPAM2" && fail "razor-check: $SPAM2 listed before any report"
n0=$(wc -l <"$T/a.log")
out=$(RAZOR_HOME=$RH "$DRP" report --network razor <"$SPAM2") && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "drp report: rc=$rc $out"
echo "$out" | grep -q '"uploaded":true' || fail "drp report did not upload: $out"
tail -n +"$((n0 + 1))" "$T/a.log" | grep -q '^C> a=auth&aresp=' || fail "drp did not authenticate"
razor-check -home="$RH" "$SPAM2" || fail "razor-check: message reported by drp not listed"
echo "ok: spam reported by drp is listed by razor-check"

# the upload itself: razor-report and drp report, each to its own fresh
# server, send the same bytes; the server's signatures of drp's upload
# make razor-check hit
start_server up1
start_server up2
uploads() { # log from-line: the upload units logged after that line
	tail -n +"$2" "$1" | awk '/^C> -a=r&message=\*/ {u=1} u {print} u && /^C> \.\\r\\n$/ {u=0}'
}
for m in tests/data/syn_big_text.eml tests/data/syn_nul_bytes.eml tests/data/syn_crlf.eml \
	tests/data/syn_forward_rfc822.eml tests/data/syn_mixed_attach.eml; do
	n1=$(($(wc -l <"$T/up1.log") + 1))
	n2=$(($(wc -l <"$T/up2.log") + 1))
	razor-report -home="$RH" -rs "127.0.0.1:$PORT_up1" -f "$m" >"$T/o" 2>&1 ||
		fail "razor-report $m: $(cat "$T/o")"
	RAZOR_HOME=$RH "$DRP" report --network razor --server "127.0.0.1:$PORT_up2" <"$m" >"$T/o" ||
		fail "drp report $m: $(cat "$T/o")"
	uploads "$T/up1.log" "$n1" >"$T/u.rz"
	uploads "$T/up2.log" "$n2" >"$T/u.drp"
	[ -s "$T/u.rz" ] || fail "razor-report uploaded nothing for $m"
	cmp -s "$T/u.rz" "$T/u.drp" || fail "uploads differ for $m:
$(diff "$T/u.rz" "$T/u.drp" | head -20)"
	razor-check -home="$RH" -rs "127.0.0.1:$PORT_up2" "$m" || fail "razor-check: drp's report of $m not listed"
done
echo "ok: drp's uploads are byte-identical to razor-report's"

# ---- 4. revoke both ways
razor-revoke -home="$RH" -f "$SPAM1" >"$T/o" 2>&1 || fail "razor-revoke: $(cat "$T/o")"
out=$(drp check --network razor <"$SPAM1") && rc=0 || rc=$?
[ "$rc" = 1 ] || fail "drp check after razor-revoke: rc=$rc $out"
out=$(RAZOR_HOME=$RH "$DRP" revoke --network razor <"$SPAM2") && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "drp revoke: rc=$rc $out"
echo "$out" | grep -q '"status":"ok"' || fail "drp revoke: $out"
razor-check -home="$RH" "$SPAM2" && fail "razor-check: message revoked by drp still listed"
# identity from razor_user/razor_pass, a wrong password is refused
out=$(RAZOR_USER=alice RAZOR_PASS=wrong drp report --network razor <"$SPAM1") && rc=0 || rc=$?
[ "$rc" = 2 ] || fail "wrong password accepted: rc=$rc $out"
echo "$out" | grep -q 'authentication failed' || fail "wrong password: $out"
echo "ok: revoke both ways; bad credentials refused"

# min_cf = ac against the server's ac and growing confidence, razor-check
# and drp agree: one report (cf 30) is below ac 50, two (cf 60) are not
# (a new srl, so razor-check fetches this server's state instead of the
# ac it cached for 127.0.0.1; its own copy of the razorhome)
start_server cf --ac 50 --cf-per-report 30 --no-want-mail --srl 2
mkdir -p "$T/h_cf"
cp -a "$RH" "$T/rh_cf"
cfq() { RAZOR_HOME=$T/h_cf "$DRP" check --network razor --server "127.0.0.1:$PORT_cf" <"$SPAM1"; }
RAZOR_HOME=$RH "$DRP" report --network razor --server "127.0.0.1:$PORT_cf" <"$SPAM1" >/dev/null ||
	fail "report to the cf server"
out=$(cfq) && rc=0 || rc=$?
[ "$rc" = 1 ] || fail "cf 30 < min_cf 50 but drp says rc=$rc $out"
echo "$out" | grep -q '"cf":30,"min_cf":50' || fail "cf/min_cf: $out"
razor-check -home="$T/rh_cf" -rs "127.0.0.1:$PORT_cf" "$SPAM1" && fail "razor-check listed cf 30 < ac 50"
out=$(RAZOR_MIN_CF=ac-25 cfq) && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "min_cf ac-25: rc=$rc $out"
RAZOR_HOME=$RH "$DRP" report --network razor --server "127.0.0.1:$PORT_cf" <"$SPAM1" >/dev/null ||
	fail "second report to the cf server"
out=$(cfq) && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "cf 60 >= min_cf 50 but drp says rc=$rc $out"
razor-check -home="$T/rh_cf" -rs "127.0.0.1:$PORT_cf" "$SPAM1" ||
	fail "razor-check: cf 60 >= ac 50 not listed"
echo "ok: min_cf against the server's ac agrees with razor-check"

# drp's check queries are byte-identical to razor-check's for the same mail
# (an mbox of two mails too: razor numbers and queries them in one run)
{
	echo "From a@example.com Mon Nov  2 10:00:00 2026"
	cat "$SPAM1"
	echo "From b@example.com Mon Nov  2 10:01:00 2026"
	cat tests/data/syn_alt_qp.eml
} >"$T/two.mbox"
for m in "$SPAM1" "$SPAM2" tests/data/syn_mixed_attach.eml tests/data/syn_alt_qp.eml "$T/two.mbox"; do
	n0=$(wc -l <"$T/a.log")
	razor-check -home="$RH" -rs "127.0.0.1:$PA" "$m" >/dev/null || true
	n1=$(wc -l <"$T/a.log")
	drp check --network razor --server "127.0.0.1:$PA" <"$m" >/dev/null || true
	sed -n "$((n0 + 1)),${n1}p" "$T/a.log" | grep -E '^C> (-?a=c&|\.)' >"$T/q.rz"
	tail -n +"$((n1 + 1))" "$T/a.log" | grep -E '^C> (-?a=c&|\.)' >"$T/q.drp"
	[ -s "$T/q.rz" ] || fail "no razor-check queries for $m"
	diff "$T/q.rz" "$T/q.drp" >"$T/q.diff" || fail "check queries differ for $m:
$(cat "$T/q.diff")"
done
echo "ok: drp's check queries equal razor-check's"

# ---- 5. misbehaving servers: error or timeout within the budget
budget_ms=1500
check_bad() { # name expect-status server-options...
	local name=$1 want=$2
	shift 2
	start_server "$name" "$@"
	local p
	eval "p=\$PORT_$name"
	mkdir -p "$T/h_$name"
	# the message is known to the server, so a clean answer would be a hit
	if [ "$name" != mute ]; then
		RAZOR_HOME=$RH "$DRP" report --network razor --server "127.0.0.1:$p" <"$SPAM1" \
			>/dev/null || fail "$name: report to set up failed"
	fi
	local t0 t1 out rc ms
	t0=$(date +%s%N)
	out=$(DRP_BACKEND_TIMEOUT=${budget_ms}ms RAZOR_HOME=$T/h_$name "$DRP" check --network razor \
		--server "127.0.0.1:$p" <"$SPAM1") && rc=0 || rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "$out" | grep -q "\"status\":\"$want\"" || fail "$name: want $want, got rc=$rc $out"
	case $want in
	ok) [ "$rc" = 0 ] || fail "$name: rc=$rc $out" ;;
	*) [ "$rc" = 2 ] || fail "$name: rc=$rc (a failed server must not look clean) $out" ;;
	esac
	[ "$ms" -lt $((budget_ms + 1000)) ] || fail "$name: took ${ms}ms for a ${budget_ms}ms budget"
	if [ "$want" = timeout ]; then
		[ "$ms" -ge $((budget_ms - 100)) ] || fail "$name: timeout after only ${ms}ms"
	fi
	echo "ok: $name -> $want in ${ms}ms"
}
check_bad close error --misbehave close
check_bad oversize error --misbehave oversize
check_bad garbage error --misbehave garbage
check_bad count error --misbehave count
check_bad silent timeout --misbehave silent
check_bad mute timeout --misbehave silent --misbehave-on greeting
check_bad split ok --misbehave split --split-delay-ms 150

# fail-over: a server that never greets costs razor_connect_timeout, then
# the next listed server answers within the same budget
mkdir -p "$T/h_fo"
t0=$(date +%s%N)
out=$(DRP_BACKEND_TIMEOUT=3 RAZOR_CONNECT_TIMEOUT=400ms RAZOR_HOME=$T/h_fo "$DRP" check \
	--network razor --server "127.0.0.1:$PORT_mute,127.0.0.1:$PA" <"$HAM") && rc=0 || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 1 ] || fail "fail-over: rc=$rc $out"
echo "$out" | grep -q "\"server\":\"127.0.0.1:$PA\"" || fail "fail-over: $out"
[ "$ms" -ge 350 ] && [ "$ms" -lt 2500 ] || fail "fail-over took ${ms}ms"
echo "ok: a silent first server is skipped after the connect timeout (${ms}ms)"
echo "PASS"
