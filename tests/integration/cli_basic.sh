#!/usr/bin/env bash
# drp's command line: usage and exit codes, `drp health` / `drp stats`
# against a loopback HTTP server (Debian's python3), a fake FastCGI
# responder and a real drp-fcgi, and the man pages' lint.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DRP=$PWD/$BUILD/drp
REG=$PWD/$BUILD/drp-register
FCGI=$PWD/$BUILD/drp-fcgi
PY=/usr/bin/python3
[ -x "$DRP" ] || { echo "FAIL: $DRP not built"; exit 1; }
[ -x "$PY" ] || { echo "SKIP: $PY missing"; exit 0; }

T=$(mktemp -d /tmp/drp-cli.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
# a snapshot: a rebuild in the tree must not swap binaries mid-test
cp "$DRP" "$T/drp" && DRP=$T/drp
[ -x "$REG" ] && cp "$REG" "$T/drp-register" && REG=$T/drp-register
export DRP_CONFIG=/dev/null
nfail=0
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
# expect CODE DESCRIPTION command... (stdout to $T/out, stderr to $T/err)
expect() {
	local want=$1 what=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null
	local got=$?
	[ "$got" = "$want" ] || fail "$what: exit $got, want $want ($(head -c 300 "$T/err"))"
}

# --- usage and exit codes ---
expect 0 "drp --help" "$DRP" --help
grep -q '^  check' "$T/out" || fail "--help lists no commands"
expect 0 "drp --version" "$DRP" --version
grep -qE '^drp [0-9]+\.[0-9]+' "$T/out" || fail "--version: $(cat "$T/out")"
expect 2 "drp without a command" "$DRP"
expect 2 "unknown command" "$DRP" frobnicate
grep -q "unknown command 'frobnicate'" "$T/err" || fail "unknown command message"
expect 2 "unknown network" "$DRP" check --network nosuch
grep -q "unknown network 'nosuch'" "$T/err" || fail "unknown network message"
expect 2 "--network without value" "$DRP" check --network
expect 2 "health with --network" "$DRP" health --network dcc
expect 2 "bad --set" "$DRP" ping --set novalue
expect 2 "missing --config file" "$DRP" ping --config "$T/nonexistent.conf"
grep -q "$T/nonexistent.conf" "$T/err" || fail "missing config not named: $(cat "$T/err")"
for c in check report revoke digest ping health stats; do
	expect 0 "drp $c --help" "$DRP" "$c" --help
	grep -q "usage: drp $c" "$T/out" || fail "drp $c --help: $(head -2 "$T/out")"
done
# --help must not wait for a message on stdin
timeout 3 "$DRP" check --help >/dev/null 2>&1 < <(sleep 10)
[ $? = 0 ] || fail "check --help waited for stdin"
expect 2 "digest: unknown option" "$DRP" digest --frobnicate
# ping with every network switched off: nothing to ping
expect 1 "ping, all disabled" "$DRP" ping --set dcc_enable=0 --set pyzor_enable=0 --set razor_enable=0
grep -q 'disabled' "$T/out" || fail "ping did not list disabled networks: $(cat "$T/out")"
"$DRP" ping --json --set dcc_enable=0 --set pyzor_enable=0 --set razor_enable=0 >"$T/out" 2>/dev/null
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["dcc"]["status"]=="disabled", d' \
	"$T/out" || fail "ping --json: $(cat "$T/out")"
if [ -x "$REG" ]; then
	expect 0 "drp-register --help" "$REG" --help
	expect 1 "drp-register unknown subcommand" "$REG" frob
	expect 1 "drp-register without subcommand" "$REG"
fi

# --- health / stats over HTTP against a tiny loopback server ---
cat >"$T/fake_httpd.py" <<'PYEOF'
import http.server, sys, time
mode = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if mode == "hang":
            time.sleep(30)
        if mode == "garbage":
            self.wfile.write(bytes(range(256)) * 4); return
        if mode in ("chunked", "badchunk"):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            self.wfile.write(b"3\r\nok \r\n5\r\nchunk\r\n0\r\n\r\n" if mode == "chunked"
                             else b"ffffffff\r\nshort\r\n"); return
        if mode == "huge":
            self.wfile.write(b"HTTP/1.0 200 OK\r\n\r\n")
            try:
                while True: self.wfile.write(b"x" * 65536)
            except Exception: return
        paths = {"/health": (200, b"ok\n"), "/metrics": (200, b"# TYPE drp_up gauge\ndrp_up 1\n"),
                 "/pre/health": (200, b"prefixed ok\n")}
        code, body = paths.get(self.path, (404, b'{"error":"not found"}\n'))
        if mode == "sick" and self.path.endswith("/health"):
            code, body = 503, b"cache down\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PYEOF
start_http() { # mode -> sets HPORT
	rm -f "$T/hport"
	$PY "$T/fake_httpd.py" "$T/hport" "$1" &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$T/hport" ] && break; sleep 0.05; done
	HPORT=$(cat "$T/hport")
}
start_http ok
expect 0 "health over HTTP" "$DRP" health --url "http://127.0.0.1:$HPORT"
[ "$(cat "$T/out")" = ok ] || fail "health printed: $(cat "$T/out")"
expect 0 "stats over HTTP" "$DRP" stats --url "http://127.0.0.1:$HPORT/"
grep -qx 'drp_up 1' "$T/out" || fail "stats printed: $(cat "$T/out")"
expect 0 "health with a path prefix" "$DRP" health --url "http://127.0.0.1:$HPORT/pre"
grep -q 'prefixed ok' "$T/out" || fail "prefix not used: $(cat "$T/out")"
expect 0 "health from probe_url in the config" "$DRP" health --set "probe_url=http://127.0.0.1:$HPORT"
expect 0 "health -q" "$DRP" health -q --url "http://127.0.0.1:$HPORT"
[ -s "$T/out" ] && fail "health -q printed: $(cat "$T/out")"
expect 1 "health, 404 path" "$DRP" health --url "http://127.0.0.1:$HPORT/nosuch"
start_http sick
expect 1 "health, pool says 503" "$DRP" health --url "http://127.0.0.1:$HPORT"
grep -q 'cache down' "$T/out" || fail "503 body not printed"
grep -q '503' "$T/err" || fail "503 not reported: $(cat "$T/err")"
start_http hang
start=$(date +%s%N)
expect 2 "health, server never answers" "$DRP" health --timeout 0.5 --url "http://127.0.0.1:$HPORT"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 2500 ] || fail "timeout not kept: ${ms} ms"
start_http chunked
expect 0 "chunked answer" "$DRP" health --url "http://127.0.0.1:$HPORT"
[ "$(cat "$T/out")" = "ok chunk" ] || fail "chunked body: $(cat "$T/out")"
start_http badchunk
expect 2 "bad chunked answer" "$DRP" health --url "http://127.0.0.1:$HPORT"
start_http garbage
expect 2 "garbage answer" "$DRP" health --url "http://127.0.0.1:$HPORT"
grep -q 'not an HTTP answer' "$T/err" || fail "garbage: $(cat "$T/err")"
start_http huge
expect 2 "endless answer" "$DRP" stats --timeout 10 --url "http://127.0.0.1:$HPORT"
grep -q 'too large' "$T/err" || fail "endless answer: $(cat "$T/err")"
# a closed port: bind, note the port, close
CPORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect 2 "health, connection refused" "$DRP" health --url "http://127.0.0.1:$CPORT"
grep -q "127.0.0.1:$CPORT" "$T/err" || fail "refusal does not name the target: $(cat "$T/err")"
expect 2 "https refused" "$DRP" health --url "https://127.0.0.1:$HPORT"
expect 2 "bad fcgi address" "$DRP" health --fcgi "tcp:nohostport"

# --- health over FastCGI against a fake responder (Status: header) ---
cat >"$T/fake_fcgi.py" <<'PYEOF'
import os, socket, struct, sys
path, status = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path + ".sock"); srv.listen(4)
os.rename(path + ".sock", path)
def rec(t, rid, data):
    pad = (8 - len(data) % 8) % 8
    return struct.pack(">BBHHBB", 1, t, rid, len(data), pad, 0) + data + b"\0" * pad
while True:
    c, _ = srv.accept(); buf = b""; params = b""; done = False
    while not done:
        d = c.recv(65536)
        if not d: break
        buf += d
        while len(buf) >= 8:
            v, t, rid, ln, pad, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + ln + pad: break
            body, buf = buf[8:8 + ln], buf[8 + ln + pad:]
            if t == 4: params += body
            if t == 5 and ln == 0: done = True
    if status == "garbage":
        c.sendall(b"\x07\x06" + bytes(range(200))); c.close(); continue
    if status == "noheaders":
        c.sendall(rec(6, 1, b"just a body") + rec(6, 1, b"") + rec(3, 1, b"\0" * 8)); c.close(); continue
    uri = b"/metrics" if b"/metrics" in params else b"/health"
    if status == "200":
        out = b"Content-Type: text/plain\r\n\r\n" + (b"ok\n" if uri == b"/health" else b"drp_fake 1\n")
    else:
        out = b"Status: " + status.encode() + b" Nope\r\nContent-Type: text/plain\r\n\r\nnot serving\n"
    c.sendall(rec(6, rid, out) + rec(6, rid, b"") + rec(3, rid, b"\0\0\0\0\0\0\0\0"))
    c.close()
PYEOF
$PY "$T/fake_fcgi.py" "$T/ok.sock" 200 &
PIDS+=($!)
$PY "$T/fake_fcgi.py" "$T/bad.sock" 503 &
PIDS+=($!)
$PY "$T/fake_fcgi.py" "$T/garbage.sock" garbage &
PIDS+=($!)
$PY "$T/fake_fcgi.py" "$T/nohdr.sock" noheaders &
PIDS+=($!)
for _ in $(seq 100); do
	[ -S "$T/ok.sock" ] && [ -S "$T/bad.sock" ] && [ -S "$T/garbage.sock" ] && [ -S "$T/nohdr.sock" ] && break
	sleep 0.05
done
expect 2 "FastCGI garbage" "$DRP" health --fcgi "unix:$T/garbage.sock"
grep -q 'not a FastCGI answer' "$T/err" || fail "fcgi garbage: $(cat "$T/err")"
expect 2 "FastCGI answer without CGI headers" "$DRP" health --fcgi "unix:$T/nohdr.sock"
expect 0 "health over FastCGI" "$DRP" health --fcgi "unix:$T/ok.sock"
[ "$(cat "$T/out")" = ok ] || fail "fcgi health printed: $(cat "$T/out")"
expect 0 "stats over FastCGI" "$DRP" stats --fcgi "$T/ok.sock"
grep -qx 'drp_fake 1' "$T/out" || fail "fcgi stats printed: $(cat "$T/out")"
expect 1 "FastCGI Status: 503" "$DRP" health --fcgi "unix:$T/bad.sock"
grep -q 'not serving' "$T/out" || fail "fcgi 503 body: $(cat "$T/out")"
expect 2 "FastCGI socket missing" "$DRP" health --fcgi "unix:$T/none.sock"

# --- against a real drp-fcgi, when built ---
if [ -x "$FCGI" ]; then
	printf 'cli-basic-test-token-0123456789\n' >"$T/tokens"
	"$FCGI" --listen "unix:$T/pool.sock" --workers 1 --token-file "$T/tokens" \
		--set dcc_enable=0 --set pyzor_enable=0 --set razor_enable=0 \
		--set "metrics_path=$T/metrics" >"$T/fcgi.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -S "$T/pool.sock" ] && break; sleep 0.05; done
	[ -S "$T/pool.sock" ] || fail "drp-fcgi did not start: $(cat "$T/fcgi.log")"
	"$FCGI" --listen "unix:$T/pool.sock" --probe >/dev/null 2>&1
	want=$?
	expect "$want" "health against drp-fcgi (its own --probe said $want)" \
		"$DRP" health --fcgi "unix:$T/pool.sock"
	expect 0 "stats against drp-fcgi" "$DRP" stats --fcgi "unix:$T/pool.sock"
	grep -q '^drp_build_info' "$T/out" || fail "drp-fcgi metrics: $(head -3 "$T/out")"
else
	echo "note: $FCGI not built, skipped the real pool"
fi

# --- envelope options: one spelling and one check for every command ---
m1=$(ls tests/data/*.eml | head -1)
for net in "" "--network dcc"; do
	# shellcheck disable=SC2086
	out=$("$DRP" check $net --set dcc_enable=0 --set razor_enable=0 --set pyzor_enable=0 \
		--client-ip 192.0.2.1 --ip-from-received <"$m1" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && echo "$out" | grep -q 'exclude each other' ||
		fail "check $net --client-ip with --ip-from-received: exit $rc: $out"
done
many=()
for i in $(seq 65); do many+=(--env-to "r$i@example.com"); done
for cmd in "check" "check --network dcc" "digest --network dcc"; do
	# shellcheck disable=SC2086
	out=$("$DRP" $cmd --set dcc_enable=0 "${many[@]}" <"$m1" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && echo "$out" | grep -q 'too many --env-to' || fail "$cmd with 65 --env-to: exit $rc: $out"
done
a=$("$DRP" digest --network dcc --env-from a@example.org --env-to b@example.com <"$m1")
b=$("$DRP" digest --network dcc --env-from a@example.org --env-rcpt b@example.com <"$m1")
[ -n "$a" ] && [ "$a" = "$b" ] || fail "digest --env-rcpt is not --env-to"

# --- man pages render without warnings ---
for m in man/*.[0-9]; do
	[ -f "$m" ] || continue
	w=$(groff -ww -man -Tutf8 -z "$m" 2>&1)
	[ -z "$w" ] || fail "groff warns on $m: $w"
	if command -v mandoc >/dev/null; then
		w=$(mandoc -T lint "$m" 2>&1)
		[ -z "$w" ] || fail "mandoc lint on $m: $w"
	fi
done
for m in drp.1 drp-fcgi.8 drp-register.8 drp.conf.5; do
	[ -f "man/$m" ] || fail "man/$m missing"
done

[ "$nfail" = 0 ] || { echo "$nfail failure(s)"; exit 1; }
echo PASS
