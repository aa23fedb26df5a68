#!/usr/bin/env bash
# drp-register pyzor: the accounts file it writes is used by the real pyzor
# client (Debian) to sign requests that a real pyzord on loopback accepts;
# the key derived from a passphrase equals what `pyzor genkey` prints.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
REG=$PWD/$BUILD/drp-register
PY=/usr/bin/python3
for t in pyzor pyzord "$PY"; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 0; }
done
[ -x "$REG" ] || { echo "FAIL: $REG not built"; exit 1; }

T=$(mktemp -d /tmp/drp-regpz.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# a snapshot: a rebuild in the tree must not swap binaries mid-test
cp "$REG" "$T/drp-register" && REG=$T/drp-register
fail() { echo "FAIL: $*"; exit 1; }

PORT=$($PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MSG=tests/data/py_msg_01.eml

# 1. genkey's derivation: the real genkey code prints salt,key for a
#    passphrase; drp-register given that salt and passphrase must agree.
printf 'correct horse battery\n' >"$T/pass"
read -r GSALT GKEY < <($PY - <<'PYEOF'
import getpass, importlib.machinery, importlib.util, io, contextlib
loader = importlib.machinery.SourceFileLoader("pyzor_bin", "/usr/bin/pyzor")
spec = importlib.util.spec_from_loader("pyzor_bin", loader)
mod = importlib.util.module_from_spec(spec)
loader.exec_module(mod)
getpass.getpass = lambda prompt="": "correct horse battery"
out = io.StringIO()
with contextlib.redirect_stdout(out):
    assert mod.genkey(None, None, None)
salt, key = out.getvalue().splitlines()[-1].split(",")
print(salt, key)
PYEOF
)
[ ${#GSALT} -eq 40 ] && [ ${#GKEY} -eq 40 ] || fail "genkey gave '$GSALT' '$GKEY'"
out=$("$REG" pyzor --home "$T/g" --user gk --server 127.0.0.1:1 --salt "$GSALT" \
	--passphrase-file "$T/pass")
echo "$out" | grep -qx "PYZOR_KEY=$GKEY" || fail "key differs from genkey's $GKEY: $out"
echo "ok: passphrase key matches pyzor genkey"

# 2. a client home written by drp-register (servers file written by hand,
#    as an admin would), a stale line for the server that must be replaced
mkdir -p "$T/client"
echo "127.0.0.1:$PORT" >"$T/client/servers"
printf '# my accounts\n127.0.0.1 : %s : old : 00,11\nother.example : 24441 : keep : aa,bb\n' \
	"$PORT" >"$T/client/accounts"
# no --server: the servers come from the pyzor home's servers file
out=$("$REG" pyzor --home "$T/client" --user tester --passphrase-file "$T/pass") ||
	fail "drp-register pyzor failed"
eval "$(echo "$out" | grep -E '^(PYZOR_[A-Z]+|PYZORD_PASSWD)=')"
[ "$PYZOR_USER" = tester ] || fail "user $PYZOR_USER"
[ "$(stat -c %a "$T/client/accounts")" = 600 ] || fail "accounts mode $(stat -c %a "$T/client/accounts")"
[ "$(stat -c %a "$T/client")" = 700 ] || fail "home mode $(stat -c %a "$T/client")"
grep -c "^127.0.0.1 : $PORT :" "$T/client/accounts" | grep -qx 1 || fail "server line not replaced"
grep -q '^other.example : 24441 : keep : aa,bb$' "$T/client/accounts" || fail "other line lost"
grep -q '^# my accounts$' "$T/client/accounts" || fail "comment lost"
# idempotent: a second run changes nothing
cp "$T/client/accounts" "$T/before"
"$REG" pyzor --home "$T/client" --user tester --passphrase-file "$T/pass" >/dev/null 2>&1 ||
	fail "second run failed"
cmp -s "$T/before" "$T/client/accounts" || fail "second run changed the file"
echo "ok: accounts file written, old line replaced, idempotent"

# 3. the real pyzord, with the key drp-register printed for the operator;
#    anonymous users may not whitelist, so a whitelist that succeeds was
#    signed with that account
mkdir -p "$T/server"
echo "$PYZORD_PASSWD" >"$T/server/pyzord.passwd"
printf 'check report ping pong info : anonymous : allow\nall : tester : allow\n' \
	>"$T/server/pyzord.access"
pyzord --homedir "$T/server" -a 127.0.0.1 -p "$PORT" -e gdbm --dsn "$T/server/db" \
	--password-file "$T/server/pyzord.passwd" --access-file "$T/server/pyzord.access" \
	--log-file "$T/server/log" >"$T/server/out" 2>&1 &
PID=$!
for _ in $(seq 50); do
	kill -0 "$PID" 2>/dev/null || break
	$PY -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1])))' "$PORT" 2>/dev/null || break
	sleep 0.1
done
pyzor --homedir "$T/anon" --servers-file "$T/client/servers" -t 2 ping >/dev/null 2>&1 ||
	fail "pyzord did not start: $(cat "$T/server/out")"

# control: anonymous whitelist is refused by this ACL
if pyzor --homedir "$T/anon" --servers-file "$T/client/servers" -t 2 whitelist <"$MSG" \
	>"$T/anon.out" 2>&1; then
	fail "anonymous whitelist accepted: the test proves nothing"
fi
grep -q 403 "$T/anon.out" || fail "anonymous whitelist: $(cat "$T/anon.out")"
# control: a wrong key is refused
mkdir -p "$T/bad"
cp "$T/client/servers" "$T/bad/servers"
printf '127.0.0.1 : %s : tester : %s,%s\n' "$PORT" "$PYZOR_SALT" \
	"0123456789abcdef0123456789abcdef01234567" >"$T/bad/accounts"
if pyzor --homedir "$T/bad" -t 2 whitelist <"$MSG" >"$T/bad.out" 2>&1; then
	fail "wrong key accepted"
fi
grep -q 401 "$T/bad.out" || fail "wrong key: $(cat "$T/bad.out")"

pyzor --homedir "$T/client" -t 2 whitelist <"$MSG" >"$T/wl.out" 2>&1 ||
	fail "signed whitelist refused: $(cat "$T/wl.out")"
grep -q "(200, 'OK')" "$T/wl.out" || fail "whitelist: $(cat "$T/wl.out")"
pyzor --homedir "$T/client" -t 2 check <"$MSG" >"$T/ck.out" 2>&1 || true
grep -qP "\(200, 'OK'\)\t0\t1$" "$T/ck.out" || fail "check after whitelist: $(cat "$T/ck.out")"
echo "ok: pyzor signs with the drp-register account, pyzord accepts it"

# 4. errors name the file and the reason
mkdir -p "$T/ro"
echo x >"$T/ro/accounts"
chmod 000 "$T/ro/accounts"
# root reads any file: as root, the check runs as nobody
as=()
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$T" "$T/ro"
	as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
if [ ${#as[@]} -eq 0 ] || command -v setpriv >/dev/null; then
	err=$("${as[@]}" "$REG" pyzor --home "$T/ro" --user tester 2>&1 >/dev/null) &&
		fail "unreadable file accepted"
	echo "$err" | grep -q "$T/ro/accounts" || fail "error does not name the file: $err"
else
	echo "note: root without setpriv: the unreadable-file check is skipped"
fi
err=$("$REG" pyzor --home "$T/client" --user 'bad:name' 2>&1 >/dev/null) && fail "bad user accepted"
echo "$err" | grep -q "bad user name" || fail "bad user: $err"
echo "PASS"
