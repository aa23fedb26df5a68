#!/usr/bin/env bash
# `drp digest` without --network: every section is exactly what
# `drp digest --network X` prints for the same message and options, the
# exit status combines theirs, and the pyzor section equals the digest
# of the real pyzor (Debian, run in-process over every test message).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
PY=/usr/bin/python3
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }
T=$(mktemp -d /tmp/drp-clidg.XXXXXX)
trap 'rm -rf "$T"' EXIT
export DRP_CONFIG=/dev/null
nfail=0
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }

# section NAME FILE: the lines under "# NAME" up to the next "# " line
section() { awk -v h="# $1" '/^# / { on = ($0 == h); next } on' "$2"; }

msgs=(tests/data/*.eml)
[ ${#msgs[@]} -gt 10 ] || { echo "FAIL: no test messages"; exit 1; }
n=0
for m in "${msgs[@]}"; do
	opts=(--client-ip 192.0.2.1 --helo mx.example.net --env-from a@example.org --env-to b@example.com)
	"$DRP" digest "${opts[@]}" <"$m" >"$T/all" 2>"$T/all.err"
	rc_all=$?
	grep -c '^# ' "$T/all" | grep -qx 3 || fail "$m: $(grep -c '^# ' "$T/all") section headers"
	worst=0
	for net in dcc razor pyzor; do
		case $net in
		dcc) nopts=("${opts[@]}") ;;
		*) nopts=() ;;
		esac
		"$DRP" digest --network "$net" "${nopts[@]}" <"$m" >"$T/one" 2>/dev/null
		rc=$?
		section "$net" "$T/all" >"$T/sec"
		cmp -s "$T/one" "$T/sec" || fail "$m: $net section differs from --network $net:
$(diff "$T/one" "$T/sec" | head -5)"
		if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then worst=2
		elif [ "$rc" = 3 ] && [ "$worst" = 0 ]; then worst=3; fi
	done
	[ "$rc_all" = "$worst" ] || fail "$m: drp digest exit $rc_all, per-network worst $worst"
	section pyzor "$T/all" >"$T/pyzor.$n"
	echo "$m" >>"$T/list"
	n=$((n + 1))
done
echo "ok: $n messages, sections equal the per-network output"

# the pyzor section against the reference's own digest
if [ -x "$PY" ] && $PY -c 'import pyzor.digest' 2>/dev/null; then
	$PY - "$T/list" >"$T/ref" <<'PYEOF'
import email, sys
import pyzor.digest
for path in open(sys.argv[1]).read().split():
    try:
        with open(path, "rb") as f:
            v = pyzor.digest.DataDigester(email.message_from_bytes(f.read())).value
        print(path, v)
    except Exception as e:  # the reference crashes on a few inputs
        print(path, "CRASH")
PYEOF
	i=0
	same=0
	while read -r path ref; do
		if [ "$ref" = CRASH ]; then
			echo "note: reference pyzor crashes on $path, not compared"
		elif [ "$(cat "$T/pyzor.$i")" != "$ref" ]; then
			fail "$path: pyzor section $(cat "$T/pyzor.$i"), pyzor digest $ref"
		else
			same=$((same + 1))
		fi
		i=$((i + 1))
	done <"$T/ref"
	[ "$same" -gt 0 ] || fail "no pyzor digest compared"
	echo "ok: pyzor section equals pyzor's digest for $same messages"
fi

# options go to the network that owns them
"$DRP" digest --ep4 7542-10 <tests/data/py_msg_01.eml >/dev/null 2>"$T/e" ||
	fail "--ep4 not routed to razor: $(cat "$T/e")"
"$DRP" digest --frob <tests/data/py_msg_01.eml >/dev/null 2>&1
[ $? = 2 ] || fail "unknown digest option accepted"
[ "$nfail" = 0 ] || { echo "$nfail failure(s)"; exit 1; }
echo PASS
