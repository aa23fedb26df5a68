#!/usr/bin/env bash
# drp's Razor2 requests against the reference transcripts
# ($SHARED/vectors/razor/transcripts.txt, razor-agents 2.85 on loopback).
# The transcript's sessions are replayed with drp against the project's
# test server, whose log has the transcript's format; then, section by
# section, the client lines (and the server's answers) are compared line
# by line.  Normalised: discovery connections (drp does not rediscover on
# every run, see razor-protocol.md section 8), the state fetch of drp's
# first contact (razor-admin -create did it before the transcript's),
# the random challenge and its digest (the digest is verified separately
# with Razor2::String), and the order of a revoke batch (Perl hash order).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
TR=$SHARED/vectors/razor/transcripts.txt
CORPUS=$SHARED/corpus/visible
DRP=$PWD/$BUILD/drp
REG=$PWD/$BUILD/drp-register
SRV=$PWD/tests/peers/razor_server.pl
PY=/usr/bin/python3
[ -f "$TR" ] || { echo "razor_transcripts: skipped: no $TR"; exit 0; }
[ -x "$DRP" ] || { echo "razor_transcripts: $DRP not built"; exit 1; }

T=$(mktemp -d /tmp/drp-rztr.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# the transcript's server: ep4=7542-10, ac=0, srl=1, se=3BC8, bql=4, bqs=128;
# it stored only the VR4 signatures of an uploaded mail (its answers after
# the report say p=0 for e8), where a real server also signs it with VR8
perl "$SRV" --port-file "$T/port" --log "$T/log" --ep4 7542-10 --ac 0 --srl 1 --se 3BC8 \
	--bql 4 --bqs 128 --upload-engines 4 >"$T/srv.out" 2>&1 &
PID=$!
for _ in $(seq 200); do
	[ -s "$T/port" ] && break
	sleep 0.05
done
[ -s "$T/port" ] || { echo "razor_transcripts: server did not start: $(cat "$T/srv.out")"; exit 1; }
PORT=$(cat "$T/port")
touch "$T/log"
export DRP_CONFIG=/dev/null RAZOR_HOME=$T/home RAZOR_DISCOVERY=127.0.0.1:$PORT
unset RAZOR_SERVERS RAZOR_USER RAZOR_PASS RAZOR_MIN_CF || true
mkdir -p "$RAZOR_HOME"

marks=()
mark() { marks+=("$1:$(wc -l <"$T/log")"); }
run() { "$@" >>"$T/out" 2>&1 || true; }

MULTI=$CORPUS/gazor_multipart.eml
mark start
if [ -x "$REG" ]; then
	run "$REG" razor --home "$RAZOR_HOME" --user alice --pass secret
else
	echo "razor_transcripts: note: $REG not built, registering with razor-admin"
	run razor-admin -home="$RAZOR_HOME" -register -user=alice -pass=secret
fi
mark "razor-admin -register"
run "$DRP" check --network razor <"$MULTI"
mark "razor-check of an unreported message (not spam)"
run "$DRP" report --network razor <"$MULTI"
mark "razor-report (signature report"
run "$DRP" check --network razor <"$MULTI"
mark "razor-check of the reported message (spam, exit 0)"
run "$DRP" revoke --network razor <"$MULTI"
mark "razor-revoke"
run "$DRP" check --network razor <"$MULTI"
mark "razor-check after revoke (not spam, exit 1)"
run "$DRP" check --network razor --server "127.0.0.1:$PORT" <"$CORPUS/gazor_plain.eml"
mark "razor-check with -rs (no .lst use, no discovery)"

printf '%s\n' "${marks[@]}" >"$T/marks"
"$PY" - "$TR" "$T/log" "$T/marks" <<'PYEOF'
import re, subprocess, sys

tr_path, log_path, marks_path = sys.argv[1:4]

def sections(path):
    out, cur = {}, None
    for line in open(path, encoding="latin-1"):
        line = line.rstrip("\n")
        m = re.match(r"^=== (.*)$", line)
        if m and not m.group(1).startswith(("command:", "exit status:")):
            cur = m.group(1)
            out[cur] = []
        elif cur is not None and line[:3] in ("C> ", "S> "):
            out[cur].append((line[0], line[3:]))
    return out

log = [(l[0], l.rstrip("\n")[3:]) for l in open(log_path, encoding="latin-1")
       if l[:3] in ("C> ", "S> ")]
marks = [m.rsplit(":", 1) for m in open(marks_path).read().splitlines()]
segs = {}
for (name0, a), (name, b) in zip(marks, marks[1:]):
    segs[name] = log[int(a):int(b)]

def core(lines, drop_state):
    """Drop discovery connections, greetings and (drop_state) the state
    fetch; mask the random challenge and digest; returns (client lines,
    server lines)."""
    c, s, skip_state, after_nsl = [], [], False, False
    for d, t in lines:
        if d == "S" and t.startswith("sn="):
            continue                      # greetings: compared separately
        if t in ("a=g&pm=csl\\r\\n", "a=g&pm=nsl\\r\\n") or re.match(r"^[cn]sl=", t):
            after_nsl = t.startswith("nsl=")
            continue
        if after_nsl and d == "C" and t == "a=q\\r\\n":
            after_nsl = False
            continue
        after_nsl = False
        if drop_state and t == "a=g&pm=state\\r\\n":
            skip_state = True
            continue
        if skip_state and d == "S":
            if t == ".\\r\\n":
                skip_state = False
            continue
        skip_state = False
        t = re.sub(r"^(achal|a=auth&aresp)=[^\\]*", r"\1=*", t)
        (c if d == "C" else s).append(t)
    return c, s

def revoke_norm(lines):
    body = sorted(t.lstrip("-") for t in lines if t.startswith(("-a=revoke", "a=revoke")))
    rest = [t for t in lines if not t.startswith(("-a=revoke", "a=revoke"))]
    return rest + body

ref = sections(tr_path)
total = ok = lines = 0
for name, seg in segs.items():
    key = next((k for k in ref if k.startswith(name)), None)
    if key is None:
        print("razor_transcripts: no transcript section %r" % name)
        total += 1
        continue
    rc, rs = core(ref[key], False)
    # drp's first contact (the registration) fetches the state razor-admin
    # -create had cached before the transcript's registration; later
    # sessions must not fetch it again
    dc, ds = core(seg, name == "razor-admin -register")
    if name == "razor-revoke":
        rc, dc = revoke_norm(rc), revoke_norm(dc)
    total += 1
    lines += len(rc) + len(rs)
    if rc == dc and rs == ds:
        ok += 1
        print("  match: %s (%d client, %d server lines)" % (name, len(rc), len(rs)))
    else:
        print("  DIFFER: %s" % name)
        import difflib
        for l in difflib.unified_diff(["C> " + x for x in rc] + ["S> " + x for x in rs],
                                      ["C> " + x for x in dc] + ["S> " + x for x in ds],
                                      "reference", "drp", lineterm="", n=2):
            print("    " + l)

# greetings and first contact: the server greets like the reference, and
# drp's discovery asks what razor-agents asks
greet_ref = {t for k in ref for d, t in ref[k] if d == "S" and t.startswith("sn=")}
greet_log = {t for d, t in log if d == "S" and t.startswith("sn=")}
total += 1
if greet_ref == greet_log:
    ok += 1
    print("  match: greeting %s" % sorted(greet_log))
else:
    print("  DIFFER: greeting %s vs %s" % (sorted(greet_ref), sorted(greet_log)))
disc_ref = [t for d, t in ref["razor-admin -create (first contact: discovery + state fetch)"]
            if d == "C"][:3]
disc_log = [t for d, t in log if d == "C"][:3]
total += 1
if disc_ref == disc_log:
    ok += 1
    print("  match: discovery %s" % disc_log)
else:
    print("  DIFFER: discovery %s vs %s" % (disc_ref, disc_log))

# every digest drp sent answers its challenge (razor's hmac, computed by
# the installed Razor2::String)
chal = None
auths = 0
for d, t in log:
    m = re.match(r"^achal=(.*)\\r\\n$", t)
    if d == "S" and m:
        chal = m.group(1)
    m = re.match(r"^a=auth&aresp=(.*)\\r\\n$", t)
    if d == "C" and m and chal:
        want = subprocess.run(
            ["perl", "-MRazor2::String", "-e",
             "my ($a,$b)=xor_key($ARGV[1]); print hmac_sha1($ARGV[0],$a,$b)", chal, "secret"],
            capture_output=True, text=True).stdout
        total += 1
        auths += 1
        if want == m.group(1):
            ok += 1
        else:
            print("  DIFFER: aresp for %s: %s, razor computes %s" % (chal, m.group(1), want))
        chal = None
print("razor_transcripts: %d/%d match (%d reference lines compared, %d digests)" %
      (ok, total, lines, auths))
sys.exit(0 if ok == total else 1)
PYEOF
