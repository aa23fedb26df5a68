#!/usr/bin/env bash
# DCC wire conformance against $SHARED/vectors/dcc:
#  1. the project's test server answers every captured request of
#     packets.txt byte for byte like the reference dccd, and gives the
#     counts of answers.tsv (tests/peers/dcc_server.py --selftest);
#  2. drp reproduces every captured request byte for byte from its inputs
#     (message, envelope options, client-ID/password, -Q / -t), op_nums and
#     the signature over them aside (the signature is checked instead);
#  3. drp decodes the answers of a dccd-like server to the counts
#     answers.tsv lists, for every message reported 1, 2 and 3 times, and
#     sends exactly the checksums listed there.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
V=$SHARED/vectors/dcc
C=$SHARED/corpus/visible
DRP=$PWD/$BUILD/drp
PY=/usr/bin/python3
SRV=$PWD/tests/peers/dcc_server.py
[ -f "$V/packets.txt" ] || { echo "dcc_packets: skipped: no $V"; exit 0; }
[ -x "$DRP" ] || { echo "dcc_packets: $DRP not built"; exit 1; }

T=$(mktemp -d /tmp/drp-dccconf.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
export DRP_CONFIG=$T/none.conf
: >"$DRP_CONFIG"
unset DCC_SERVERS DCC_CLIENT_ID DCC_CLIENT_PASSWD DCC_CLIENT_PASSWD_FILE DCC_IDS DCC_MAP \
	DCC_REPORT_TGTS DCC_THRESHOLD 2>/dev/null || true
fails=0

# 1. the server against the captures
if "$PY" "$SRV" --selftest "$V/packets.txt" "$V/answers.tsv" >"$T/self.out" 2>&1; then
	echo "server answers: $(tail -1 "$T/self.out") (plus 15 answers.tsv reports)"
else
	cat "$T/self.out"
	fails=$((fails + 1))
fi

start() { # name [host]
	"$PY" "$SRV" --host "${2:-127.0.0.1}" --port-file "$T/$1.port" --log "$T/$1.log" \
		--lifetime 120 --id 32768:testpass32768 >"$T/$1.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$T/$1.port" ] && break
		sleep 0.05
	done
	cat "$T/$1.port"
}

# 2. every captured request from its inputs.  Columns: capture, message,
#    client-ID, password, command, report tgts (the dccproc/cdcc command
#    lines packets.txt records for each).
P=$(start req)
ENV=(--client-ip 192.0.2.7 --env-from sender@example.com)
match=0
total=0
while read -r name msg id pw cmd tgts; do
	total=$((total + 1))
	before=$(wc -l <"$T/req.log")
	envs=(DCC_SERVERS=127.0.0.1:$P DCC_REPORT_TGTS=$tgts)
	[ "$id" != 1 ] && envs+=(DCC_CLIENT_ID=$id DCC_CLIENT_PASSWD=$pw)
	env "${envs[@]}" "$DRP" "$cmd" --network dcc "${ENV[@]}" <"$C/$msg" >"$T/out" 2>&1
	if "$PY" - "$V/packets.txt" "$name" "$T/req.log" "$before" "$pw" <<'EOF'; then
import hashlib, json, sys
caps, name, log, before, pw = sys.argv[1:]
want, grab = None, False
for line in open(caps):
    if line.startswith("#%s " % name):
        grab = True
    elif line.startswith("HEX ") and grab and want is None:
        want = bytes.fromhex(line.split()[1])
got = [bytes.fromhex(json.loads(l)["hex"]) for l in open(log)][int(before):]
got = [g for g in got if g[3] == want[3]]
if len(got) != 1:
    sys.exit("%s: drp sent %d such requests" % (name, len(got)))
g = got[0]
# everything but op_nums (h, p, r, t) and the signature over them
if g[:8] != want[:8] or g[24:-16] != want[24:-16]:
    sys.exit("%s: differs\n  want %s\n  got  %s" % (name, want.hex(), g.hex()))
if pw != "-":
    sig = hashlib.md5(pw.encode().ljust(32, b"\0") + g[:-16]).digest()
    if sig != g[-16:]:
        sys.exit("%s: bad signature" % name)
elif any(g[-16:]):
    sys.exit("%s: anonymous request signed" % name)
EOF
		match=$((match + 1))
	else
		cat "$T/out"
	fi
done <<EOF
5 gdcc_plain1.eml 1 - check 1
7 gdcc_plain1.eml 32768 testpass32768 check 1
9 gdcc_plain2.eml 1 - report 1
11 gdcc_plain3.eml 32768 testpass32768 report 1
13 gdcc_plain3.eml 32768 testpass32768 report many
e15 gdcc_plain1.eml 32768 wrongpassword check 1
e21 gdcc_plain1.eml 40000 somepassword check 1
EOF

# NOPs: drp measures RTTs with one NOP per address when it has a choice
P6=$(start req2)
for spec in "1 1 -" "3 32768 testpass32768" "e13 32768 wrongpassword" "e19 40000 somepassword"; do
	set -- $spec
	total=$((total + 1))
	before=$(wc -l <"$T/req.log")
	envs=(DCC_SERVERS="127.0.0.1:$P,127.0.0.1:$P6" DRP_BACKEND_TIMEOUT=1s)
	[ "$2" != 1 ] && envs+=(DCC_CLIENT_ID=$2 DCC_CLIENT_PASSWD=$3)
	env "${envs[@]}" "$DRP" check --network dcc "${ENV[@]}" <"$C/gdcc_plain1.eml" >"$T/out" 2>&1
	pw=$3
	[ "$2" = 1 ] && pw=-
	if "$PY" - "$V/packets.txt" "$1" "$T/req.log" "$before" "$pw" <<'EOF'; then
import hashlib, json, sys
caps, name, log, before, pw = sys.argv[1:]
want, grab = None, False
for line in open(caps):
    if line.startswith("#%s " % name):
        grab = True
    elif line.startswith("HEX ") and grab and want is None:
        want = bytes.fromhex(line.split()[1])
got = [bytes.fromhex(json.loads(l)["hex"]) for l in open(log)][int(before):]
got = [g for g in got if g[3] == 1]
if len(got) != 1:
    sys.exit("%s: %d NOPs" % (name, len(got)))
g = got[0]
if g[:8] != want[:8] or len(g) != len(want):
    sys.exit("%s: NOP differs\n  want %s\n  got  %s" % (name, want.hex(), g.hex()))
if pw != "-":
    if hashlib.md5(pw.encode().ljust(32, b"\0") + g[:-16]).digest() != g[-16:]:
        sys.exit("%s: bad NOP signature" % name)
elif any(g[-16:]):
    sys.exit("%s: anonymous NOP signed" % name)
EOF
		match=$((match + 1))
	fi
done
echo "requests reproduced: $match/$total match"
[ "$match" = "$total" ] || fails=$((fails + 1))

# 3. answers.tsv: each message reported N=1,2,3 times by ID 32768 to a
#    fresh server, with -a IP -f sender<last octet>@example.com
P=$(start ans)
"$PY" - "$V/answers.tsv" >"$T/plan" <<'EOF'
import sys
seen = []
for line in open(sys.argv[1]):
    if line.startswith("#") or line.startswith("file\t"):
        continue
    f = line.split("\t")
    if (f[0], f[1]) not in seen:
        seen.append((f[0], f[1]))
        print(f[0], f[1], f[2])
EOF
ok=0
n=0
while read -r file N ip; do
	n=$((n + 1))
	before=$(wc -l <"$T/ans.log")
	DCC_SERVERS=127.0.0.1:$P DCC_CLIENT_ID=32768 DCC_CLIENT_PASSWD=testpass32768 \
		DCC_REPORT_TGTS=1 "$DRP" report --network dcc --client-ip "$ip" \
		--env-from "sender${ip##*.}@example.com" <"$C/$file" >"$T/rep.json" 2>&1
	if "$PY" - "$V/answers.tsv" "$file" "$N" "$T/rep.json" "$T/ans.log" "$before" <<'EOF'; then
import json, sys
tsv, file, n, out, log, before = sys.argv[1:]
names = {"IP": 1, "env_From": 2, "From": 3, "substitute": 4, "Message-ID": 5, "Received": 6,
         "Body": 7, "Fuz1": 8, "Fuz2": 9, "rep-total": 10, "rep": 11}
rows = [l.rstrip("\n").split("\t") for l in open(tsv)
        if not l.startswith("#") and not l.startswith("file\t")]
rows = [r for r in rows if r[0] == file and r[1] == n]
try:
    res = json.load(open(out))["dcc"]
except ValueError:
    sys.exit("%s N=%s: drp printed no JSON: %s" % (file, n, open(out).read()[:300]))
if res.get("status") != "ok":
    sys.exit("%s N=%s: %s" % (file, n, res))
sent = [bytes.fromhex(json.loads(l)["hex"]) for l in open(log)][int(before):]
sent = [s for s in sent if s[3] == 2]
cks = [(s[i], s[i + 2:i + 18].hex()) for s in sent[-1:] for i in range(28, len(s) - 16, 18)]
want = [(names[r[3]], r[4]) for r in rows]
if cks != want:
    sys.exit("%s N=%s: sent %s\n want %s" % (file, n, cks, want))
for r in rows:
    c, p = int(r[8], 16), int(r[9], 16)
    got = res["counts"].get(r[3])
    if p == 0x01000000 and c == 0:
        if got is not None:
            sys.exit("%s N=%s %s: not counted, drp shows %s" % (file, n, r[3], got))
    elif got != c:
        sys.exit("%s N=%s %s: c=%s, drp shows %s" % (file, n, r[3], c, got))
bulk = max(int(r[8], 16) for r in rows if r[3] in ("Body", "Fuz1", "Fuz2"))
if res["bulk"] != bulk:
    sys.exit("%s N=%s: bulk %s want %s" % (file, n, res["bulk"], bulk))
EOF
		ok=$((ok + 1))
	fi
done <"$T/plan"
echo "answers.tsv reports: $ok/$n match"
[ "$ok" = "$n" ] || fails=$((fails + 1))
[ "$fails" = 0 ]
