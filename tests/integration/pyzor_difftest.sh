#!/bin/sh
# pyzor_difftest: drp's pyzor digest against Debian pyzor's own digest code
# (in-process, /usr/bin/python3) on random MIME/HTML/charset/encoding
# messages from tests/peers/pyzor_difftest.py.  Fixed seeds keep it
# reproducible; PYZOR_DIFF_SEED / PYZOR_DIFF_COUNT explore further.
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) DRP=$BUILD/drp ;; *) DRP=$ROOT/$BUILD/drp ;; esac
/usr/bin/python3 -c 'import pyzor.digest' 2>/dev/null || { echo "SKIP: no pyzor module"; exit 0; }
T=$(mktemp -d /tmp/drp-pyzor-diff.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
SEED=${PYZOR_DIFF_SEED:-7}
COUNT=${PYZOR_DIFF_COUNT:-250}
/usr/bin/python3 "$ROOT/tests/peers/pyzor_difftest.py" "$T" "$COUNT" "$SEED" || exit 1
# and as many edited copies of the repo's test messages
mkdir -p "$T/mut"
/usr/bin/python3 "$ROOT/tests/peers/pyzor_difftest.py" "$T/mut" "$COUNT" "$SEED" "$ROOT/tests/data" || exit 1
sed 's#^#mut/#' "$T/mut/expected.tsv" >>"$T/expected.tsv"
ok=0 bad=0 skip=0
while IFS='	' read -r f want; do
	[ "$want" = SKIP ] && { skip=$((skip + 1)); continue; }
	got=$("$DRP" digest --network pyzor <"$T/$f" 2>/dev/null)
	if [ "$got" = "$want" ]; then ok=$((ok + 1)); else
		bad=$((bad + 1)); echo "differs: seed $SEED $f: drp $got pyzor $want"; fi
done <"$T/expected.tsv"
echo "pyzor_difftest: $ok/$((ok + bad)) random messages match pyzor (seed $SEED; $skip where pyzor itself dies skipped)"
[ $bad -eq 0 ]
