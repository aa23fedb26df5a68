#!/usr/bin/env bash
# DCC checksums vs the reference dccproc 2.3.167 vectors in $SHARED:
#  * every row of vectors/dcc/checksums.tsv (all four option variants; the
#    dccproc options of each row are translated to drp's: -a --client-ip,
#    -f --env-from, -R --ip-from-received, -S --substitute), including the
#    types dccproc did NOT print (ABSENT) and no type it did not print;
#  * every refusal of vectors/dcc/checksums_notes.tsv (exit 3, nothing on
#    stdout, the reason on stderr);
#  * core/dcc_tables.c is what scripts/gen-dcc-tables.py makes of data/dcc.
# Prints the counts; exits non-zero below 100%.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
DRP=$BUILD/drp
PY=/usr/bin/python3
if [ ! -f "$SHARED/vectors/dcc/checksums.tsv" ]; then
	echo "dcc: skipped: no vectors at $SHARED/vectors/dcc"
	exit 0
fi
if [ ! -x "$DRP" ]; then
	echo "dcc: FAIL: $DRP not built"
	exit 1
fi
if [ ! -x "$PY" ]; then
	echo "dcc: FAIL: $PY (Debian python3) is needed"
	exit 1
fi

fail=0
tables_tmp=$(mktemp)
trap 'rm -f "$tables_tmp"' EXIT
if ! command -v clang-format >/dev/null; then
	echo "dcc tables: not checked (no clang-format)"
elif "$PY" scripts/gen-dcc-tables.py data/dcc | clang-format --assume-filename=core/dcc_tables.c >"$tables_tmp" &&
	cmp -s "$tables_tmp" core/dcc_tables.c; then
	echo "dcc tables: core/dcc_tables.c matches data/dcc"
else
	echo "dcc tables: FAIL: core/dcc_tables.c is stale (run scripts/gen-dcc-tables.py | clang-format)"
	fail=1
fi

DRP="$DRP" SHARED="$SHARED" timeout 300 "$PY" - <<'EOF' || fail=1
import os, subprocess, sys

drp, shared = os.environ["DRP"], os.environ["SHARED"]
corpus = os.path.join(shared, "corpus", "visible")
vec = os.path.join(shared, "vectors", "dcc")
OPTMAP = {"-a": "--client-ip", "-f": "--env-from", "-S": "--substitute"}


def drp_args(opts):
    words, out, i = opts.split(), [], 0
    while i < len(words):
        w = words[i]
        if w == "-R":
            out.append("--ip-from-received")
        elif w in OPTMAP and i + 1 < len(words):
            out += [OPTMAP[w], words[i + 1]]
            i += 1
        else:
            sys.exit("dcc: unknown dccproc option %r in checksums.tsv" % w)
        i += 1
    return out


def run(fn, args):
    with open(os.path.join(corpus, fn), "rb") as f:
        p = subprocess.run([drp, "digest", "--network", "dcc"] + args, stdin=f,
                           capture_output=True, timeout=20)
    return p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1")


cases = {}
for line in open(os.path.join(vec, "checksums.tsv"), encoding="utf-8"):
    if line.startswith("#") or line.startswith("file\t"):
        continue
    f = line.rstrip("\n").split("\t")
    c = cases.setdefault((f[0], f[1]), {"opts": f[2], "want": {}})
    c["want"][f[3]] = None if f[4] == "ABSENT" else f[5]

refused = {}
for line in open(os.path.join(vec, "checksums_notes.tsv"), encoding="utf-8"):
    if line.startswith("#") or line.startswith("file\t"):
        continue
    f = line.rstrip("\n").split("\t")
    refused[(f[0], f[1])] = f[3].replace("; fatal error", "").strip()

ok = bad = 0
per_variant = {}
for (fn, var), c in sorted(cases.items()):
    if (fn, var) in refused:
        continue
    rc, out, err = run(fn, drp_args(c["opts"]))
    got = {}
    for l in out.splitlines():
        t, _, h = l.partition("\t")
        got[t] = h
    v = per_variant.setdefault(var, [0, 0])
    if rc != 0:
        print("dcc: %s [%s]: exit %d: %s" % (fn, var, rc, err.strip()))
    for t, h in c["want"].items():
        if rc == 0 and got.get(t) == h:
            ok += 1
            v[0] += 1
        else:
            bad += 1
            v[1] += 1
            print("dcc: %s [%s] %s: want %s got %s" % (fn, var, t, h or "ABSENT", got.get(t, "ABSENT")))
    for t in got:
        if t not in c["want"]:
            bad += 1
            v[1] += 1
            print("dcc: %s [%s]: unexpected %s" % (fn, var, t))

rok = rbad = 0
for (fn, var), why in sorted(refused.items()):
    c = cases.get((fn, var), {"opts": ""})
    rc, out, err = run(fn, drp_args(c["opts"]))
    if rc == 3 and out == "" and why in err:
        rok += 1
    else:
        rbad += 1
        print("dcc: %s [%s]: want refusal %r, got exit %d stdout %r stderr %r" % (fn, var, why, rc, out[:80], err.strip()))

for var, (a, b) in sorted(per_variant.items()):
    print("dcc checksums [%s]: %d/%d match" % (var, a, a + b))
print("dcc checksums: %d/%d match" % (ok, ok + bad))
print("dcc refusals: %d/%d match" % (rok, rok + rbad))
sys.exit(0 if bad == 0 and rbad == 0 and ok > 0 and rok > 0 else 1)
EOF
exit $fail
