#!/usr/bin/env bash
# drp-register razor: the identity it obtains from the project's test Razor
# server (tests/peers/razor_server.pl, a=reg) is written in razor-agents'
# format, and the real razor-report / razor-check / razor-revoke (Debian)
# authenticate with it; a tampered copy is refused (so the test can fail).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
REG=$PWD/$BUILD/drp-register
SRV=$PWD/tests/peers/razor_server.pl
for t in razor-report razor-check razor-revoke razor-admin perl; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 0; }
done
[ -f "$SRV" ] || { echo "SKIP: $SRV missing"; exit 0; }
[ -x "$REG" ] || { echo "FAIL: $REG not built"; exit 1; }

T=$(mktemp -d /tmp/drp-regrz.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# a snapshot: a rebuild in the tree must not swap binaries mid-test
cp "$REG" "$T/drp-register" && REG=$T/drp-register
fail() {
	echo "FAIL: $*"
	[ -f "$T/log" ] && tail -20 "$T/log" | sed 's/^/    server| /'
	exit 1
}

perl "$SRV" --port-file "$T/port" --log "$T/log" >"$T/srv.out" 2>&1 &
PID=$!
for _ in $(seq 100); do
	[ -s "$T/port" ] && break
	kill -0 "$PID" 2>/dev/null || fail "razor server died: $(cat "$T/srv.out")"
	sleep 0.05
done
[ -s "$T/port" ] || fail "razor server did not start"
PORT=$(cat "$T/port")
SPAM=tests/data/syn_html_spam.eml
# discovery (and so the nomination list) points at the loopback server
export DRP_CONFIG=/dev/null RAZOR_TIMEOUT=5
unset RAZOR_SERVERS RAZOR_HOME RAZOR_USER RAZOR_PASS

# 1. register through discovery: the server invents user and password
out=$("$REG" razor --home "$T/h" --discovery "127.0.0.1:$PORT" 2>"$T/reg.err") ||
	fail "drp-register razor: $(cat "$T/reg.err")"
grep -q 'a=g&pm=nsl' "$T/log" || fail "no discovery of nomination servers"
export RAZOR_DISCOVERY=127.0.0.1:$PORT
eval "$(echo "$out" | grep -E '^RAZOR_(USER|PASS)=')"
[ -n "${RAZOR_USER:-}" ] && [ -n "${RAZOR_PASS:-}" ] || fail "no RAZOR_USER/RAZOR_PASS in: $out"
grep -q "a=reg" "$T/log" || fail "no a=reg reached the server"
[ -L "$T/h/identity" ] || fail "identity symlink missing"
[ "$(readlink "$T/h/identity")" = "identity-$RAZOR_USER" ] || fail "identity -> $(readlink "$T/h/identity")"
[ "$(stat -c %a "$T/h/identity-$RAZOR_USER")" = 600 ] || fail "identity mode $(stat -c %a "$T/h/identity-$RAZOR_USER")"

# 2. same layout as razor-admin -register writes (keys sorted, %-22s = value)
mkdir -p "$T/ref"
razor-admin -home="$T/ref" -rs "127.0.0.1:$PORT" -register -user=refuser -pass=refpass \
	>"$T/ref.out" 2>&1 || fail "razor-admin -register: $(cat "$T/ref.out")"
sed 's/= .*/= V/' "$T/ref/identity-refuser" >"$T/ref.shape"
sed 's/= .*/= V/' "$T/h/identity-$RAZOR_USER" >"$T/drp.shape"
diff "$T/ref.shape" "$T/drp.shape" >/dev/null || fail "identity layout differs from razor-admin's:
$(diff "$T/ref.shape" "$T/drp.shape")"
grep -qx "user                   = $RAZOR_USER" "$T/h/identity-$RAZOR_USER" || fail "user line"
echo "ok: registered as $RAZOR_USER, identity file as razor-admin writes it"

# 3. the real razor-agents authenticate with it
razor-report -home="$T/h" -rs "127.0.0.1:$PORT" -f <"$SPAM" >"$T/rep.out" 2>&1 ||
	fail "razor-report with the drp identity: $(cat "$T/rep.out")"
grep -q "a=ai&cn=razor-agents&cv=2.84&user=$RAZOR_USER" "$T/log" || fail "razor-report did not authenticate as $RAZOR_USER"
razor-check -home="$T/h" -rs "127.0.0.1:$PORT" <"$SPAM" || fail "razor-check: reported spam not listed"
razor-revoke -home="$T/h" -rs "127.0.0.1:$PORT" -f <"$SPAM" >"$T/rev.out" 2>&1 ||
	fail "razor-revoke with the drp identity: $(cat "$T/rev.out")"
echo "ok: razor-report / razor-check / razor-revoke work with it"

# control: the same identity with a wrong password is refused
mkdir -p "$T/bad"
sed "s/^pass .*/pass                   = not-$RAZOR_PASS/" "$T/h/identity-$RAZOR_USER" \
	>"$T/bad/identity-$RAZOR_USER"
chmod 600 "$T/bad/identity-$RAZOR_USER"
ln -s "identity-$RAZOR_USER" "$T/bad/identity"
if razor-report -home="$T/bad" -rs "127.0.0.1:$PORT" -f <tests/data/syn_url_heavy.eml \
	>"$T/bad.out" 2>&1; then
	fail "a wrong password was accepted: the checks above prove nothing"
fi

# 4. idempotent: a second run keeps the identity and does not register
n=$(grep -c 'a=reg' "$T/log")
out2=$("$REG" razor --home "$T/h" 2>/dev/null) || fail "second run failed"
[ "$(grep -c 'a=reg' "$T/log")" = "$n" ] || fail "second run registered again"
echo "$out2" | grep -qx "RAZOR_USER=$RAZOR_USER" || fail "second run printed: $out2"
# a different user is refused without --force, registered with it
if "$REG" razor --home "$T/h" --user other1 --pass pw1 >/dev/null 2>"$T/e"; then
	fail "clobbered an identity without --force"
fi
grep -q "$T/h" "$T/e" || fail "refusal does not name the razor home: $(cat "$T/e")"
"$REG" razor --home "$T/h" --user other1 --pass pw1 --force >"$T/o" 2>&1 || fail "--force: $(cat "$T/o")"
grep -qx 'RAZOR_USER=other1' "$T/o" || fail "--force output: $(cat "$T/o")"
[ "$(readlink "$T/h/identity")" = identity-other1 ] || fail "--force did not relink identity"
[ -f "$T/h/identity-$RAZOR_USER" ] || fail "--force lost the old identity file"
echo "PASS"
