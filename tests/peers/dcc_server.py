#!/usr/bin/python3
"""dcc_server: the project's loopback DCC server for tests.

It answers the way the reference dccd 2.3.167 answered in
../shared/vectors/dcc/packets.txt and answers.tsv (see
../shared/docs/dcc-protocol.md sections 2-5):

* NOP -> OK (108 bytes: max_pkt_vers 12, qdelay_ms, brand).
* QUERY / REPORT -> ANSWER with one (c, p) pair per checksum, in request
  order.  Only Body, Fuz1, Fuz2 and the reputation types are counted; the
  others answer c=0, p=0x01000000 ("not counted").  The counting follows
  dccd's do_report/make_answer: a SPAM-flagged report makes the body
  counts "many"; reputation (rep-total, rep) is recorded only for
  authenticated clients, and a spam report records it in a separate
  record before the answer is made, as the capture shows.
* Malformed requests (bad length, unknown version, checksums out of
  order, bad types, bogus target counts) are dropped silently, like dccd.
* Clients are authenticated by the ids file (or --id ID:PASSWORD): MD5 of
  the NUL-padded password and the packet.  A wrong password or an unknown
  ID is treated as anonymous and answered unsigned, as dccd does.
* Retransmissions (same header except t, same client port) are not
  counted again: the saved answer is resent with the new t (dccd's RIDC).

Fault modes for the client's tests: --silent, --garbage, --spoof (answer
only from another port), --spoof-then-real, --drop-answers N (count but
do not answer the first N requests), --wrong-count, --delay-ms.

--selftest PACKETS [ANSWERS] replays every captured request through a
fresh server model and compares the answers with the captured ones byte
for byte; exits non-zero on any difference.
"""

import argparse
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import time

VERSION = 12
OP_NOP, OP_REPORT, OP_QUERY, OP_ANSWER, OP_ADMN, OP_OK, OP_ERROR, OP_DELETE = range(1, 9)
OP_NAMES = {1: "NOP", 2: "REPORT", 3: "QUERY", 4: "ANSWER", 5: "ADMN", 6: "OK", 7: "ERROR",
            8: "DELETE"}
ID_ANON = 1
TOO_MANY = 0x00FFFFF0
TGTS_MASK = 0x00FFFFFF
INVALID = 0x01000000
SPAM = 0x01000000
REP_SPAM = 0x02000000
RPT_MAX = 2000
BULK_THRESHOLD = 10
QUERY_MAX = 14
T_IP, T_ENV_FROM, T_FROM, T_SUB, T_MSGID, T_RECEIVED = 1, 2, 3, 4, 5, 6
T_BODY, T_FUZ1, T_FUZ2, T_REP_TOTAL, T_REP = 7, 8, 9, 10, 11
TYPE_NAMES = {1: "IP", 2: "env_From", 3: "From", 4: "substitute", 5: "Message-ID",
              6: "Received", 7: "Body", 8: "Fuz1", 9: "Fuz2", 10: "rep-total", 11: "rep"}
BODY_TYPES = (T_BODY, T_FUZ1, T_FUZ2)
KEPT_TYPES = (T_BODY, T_FUZ1, T_FUZ2, T_REP_TOTAL, T_REP)  # dccd's default -K


def sign(passwd, pkt):
    """MD5(password NUL-padded to 32 bytes || packet without its signature)."""
    pw = passwd.encode() if isinstance(passwd, str) else passwd
    return hashlib.md5(pw.ljust(32, b"\0")[:32] + pkt[:-16]).digest()


def db_sum(stored, add):
    """Add a report to a count; 'many' and the special values stick."""
    if stored >= TOO_MANY:
        return stored
    if add >= TOO_MANY:
        return TOO_MANY
    return min(stored + add, TOO_MANY)


def load_ids(path):
    """DCC ids file: 'ID[,opt...] passwd1 [passwd2]'; '#' comments at line start."""
    ids = {}
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            ident = int(words[0].split(",")[0])
            ids[ident] = [w for w in words[1:3]]
    return ids


class Model:
    """The counting part of dccd, without sockets."""

    def __init__(self, server_id=1001, brand="refdcc", ids=None, qdelay_anon=450,
                 qdelay_auth=400):
        self.server_id = server_id
        self.brand = brand.encode()
        self.ids = ids or {}
        self.qdelay_anon = qdelay_anon
        self.qdelay_auth = qdelay_auth
        self.db = {}  # (type, sum) -> count
        self.ridc = {}  # (client, header without t) -> saved answer body and op
        self.counted = 0  # reports that changed the database
        self.whitelist = set()  # (type, sum) answered "ok"

    # -- parsing ---------------------------------------------------------
    def parse(self, pkt):
        """Decode a client datagram; None when dccd would drop it."""
        if len(pkt) < 40:
            return None
        ln, vers, op, sender = struct.unpack(">HBBI", pkt[:8])
        if ln != len(pkt) or vers < 4 or vers > VERSION:
            return None
        req = {"len": ln, "vers": vers, "op": op, "sender": sender, "op_nums": pkt[8:24],
               "t": pkt[20:24], "sig": pkt[-16:], "cks": [], "tgts": 0}
        if op == OP_NOP:
            return req if ln == 40 else None
        if op not in (OP_QUERY, OP_REPORT):
            return None
        body = pkt[24:-16]
        if len(body) < 4 or (len(body) - 4) % 18 != 0:
            return None
        req["tgts"] = struct.unpack(">I", body[:4])[0]
        last = 0
        for i in range(4, len(body), 18):
            typ, cklen = body[i], body[i + 1]
            # strictly ascending client types of length 18 (dccd start_work)
            if cklen != 18 or typ < 1 or typ > T_REP or typ <= last:
                return None
            last = typ
            req["cks"].append((typ, bytes(body[i + 2:i + 18])))
        if len(req["cks"]) > QUERY_MAX:
            return None
        return req

    def authenticate(self, pkt, req):
        """The password that verifies the request, or None (anonymous)."""
        if req["sender"] == ID_ANON:
            return None
        for pw in self.ids.get(req["sender"], []):
            if pw and sign(pw, pkt) == req["sig"]:
                return pw
        return None

    # -- answers ---------------------------------------------------------
    def finish(self, req, op, body, passwd):
        hdr = struct.pack(">HBBI", 24 + len(body) + 16, req["vers"], op, self.server_id)
        pkt = hdr + req["op_nums"] + body + b"\0" * 16
        if passwd is not None:
            pkt = pkt[:-16] + sign(passwd, pkt)
        return pkt

    def handle(self, pkt, client=("-", 0)):
        """The answer datagram for pkt, or None when dccd would stay silent."""
        req = self.parse(pkt)
        if req is None:
            return None
        passwd = self.authenticate(pkt, req)
        key = (client, pkt[:20])  # whole header except t, and the client port
        saved = self.ridc.get(key)
        if saved is not None:
            # a retransmission: resend the earlier answer, never count again
            return self.finish(req, saved[0], saved[1], passwd)
        if req["op"] == OP_NOP:
            qd = self.qdelay_auth if passwd is not None else self.qdelay_anon
            body = struct.pack(">BBH", VERSION, 0, qd) + self.brand.ljust(64, b"\0")[:64]
            op = OP_OK
        else:
            body = self.answer(req, passwd is not None)
            if body is None:
                return None
            op = OP_ANSWER
        self.ridc[key] = (op, body)
        return self.finish(req, op, body, passwd)

    def answer(self, req, authed):
        report = req["op"] == OP_REPORT
        tgts0 = req["tgts"] if report else 0
        tgts = tgts0
        if tgts0 & (SPAM | REP_SPAM):
            tgts &= TGTS_MASK
            tgts = tgts or 1
            gross = TOO_MANY
        elif tgts0 == TOO_MANY:
            tgts, gross = 1, TOO_MANY
        elif tgts0 > RPT_MAX:
            return None  # "bogus target count": dropped
        else:
            gross = tgts
        is_bulk = False
        rep_total_ck = rep_bulk_ck = None
        main = []  # (type, sum) recorded with the gross count
        for typ, s in req["cks"]:
            if typ == T_IP and authed and not tgts0 & REP_SPAM:
                rep_total_ck = rep_bulk_ck = s
            if typ not in KEPT_TYPES:
                continue
            if typ in BODY_TYPES:
                if not is_bulk:
                    if gross >= BULK_THRESHOLD:
                        is_bulk = True
                    else:
                        c = db_sum(tgts, self.db.get((typ, s), 0))
                        if BULK_THRESHOLD <= c <= TOO_MANY:
                            is_bulk = True
            elif typ == T_REP_TOTAL:
                if not authed or tgts0 & REP_SPAM:
                    rep_total_ck = None
                    continue
                if BULK_THRESHOLD <= gross <= TOO_MANY:
                    is_bulk = True
                if gross == TOO_MANY:
                    rep_total_ck = s  # kept apart: needs a real count
                    continue
                rep_total_ck = None
            elif typ == T_REP:
                if not authed or tgts0 & REP_SPAM or not is_bulk:
                    rep_bulk_ck = None
                    continue
                if gross == TOO_MANY:
                    rep_bulk_ck = s
                    continue
                rep_bulk_ck = None
            main.append((typ, s))
        before = {}
        if report:
            for k in main:
                before[k] = self.db.get(k, 0)
                self.db[k] = db_sum(before[k], gross)
            if rep_total_ck is not None:
                k = (T_REP_TOTAL, rep_total_ck)
                self.db[k] = db_sum(self.db.get(k, 0), tgts)
            if rep_bulk_ck is not None and is_bulk:
                k = (T_REP, rep_bulk_ck)
                self.db[k] = db_sum(self.db.get(k, 0), tgts)
            self.counted += 1
        out = b""
        for typ, s in req["cks"]:
            k = (typ, s)
            if k in self.whitelist:
                c, p = 0x00FFFFF1, self.db.get(k, 0)
            elif report and k in before:
                c = self.db[k]
                p = c - gross if c < TOO_MANY else before[k]
            else:
                p = self.db.get(k, 0)
                if typ not in KEPT_TYPES:
                    c = p
                    if p == 0:
                        p = INVALID
                elif typ == T_REP_TOTAL:
                    c = db_sum(p, tgts)
                elif typ == T_REP:
                    c = db_sum(p, tgts) if is_bulk else p
                else:
                    c = db_sum(p, gross)
            out += struct.pack(">II", c, p)
        return out


# -- the network server ------------------------------------------------------

def serve(args):
    ids = {}
    if args.ids:
        ids.update(load_ids(args.ids))
    for spec in args.id or []:
        ident, pw = spec.split(":", 1)
        ids.setdefault(int(ident), []).append(pw)
    model = Model(args.server_id, args.brand, ids)
    for spec in args.whitelist or []:
        typ, hexsum = spec.split(":", 1)
        tnum = [k for k, v in TYPE_NAMES.items() if v == typ][0]
        model.whitelist.add((tnum, bytes.fromhex(hexsum)))
    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    other = socket.socket(fam, socket.SOCK_DGRAM)  # the spoofer's port
    other.bind((args.host, 0))
    port = sock.getsockname()[1]
    log = open(args.log, "a", buffering=1) if args.log else None
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("PORT %d" % port, flush=True)
    deadline = time.time() + args.lifetime
    drops = args.drop_answers
    pending = []  # (when, socket, data, addr)
    while time.time() < deadline:
        timeout = 0.2
        if pending:
            timeout = max(0.0, min(timeout, min(p[0] for p in pending) - time.time()))
        r, _, _ = select.select([sock], [], [], timeout)
        now = time.time()
        for item in [p for p in pending if p[0] <= now]:
            pending.remove(item)
            item[1].sendto(item[2], item[3])
        if not r:
            continue
        pkt, addr = sock.recvfrom(65535)
        counted = model.counted
        ans = model.handle(pkt, addr[:2])
        req = model.parse(pkt)
        if req is not None:
            req["raw"] = pkt
        entry = {"from_port": addr[1], "len": len(pkt), "hex": pkt.hex(),
                 "auth": req is not None and model.authenticate(pkt, req) is not None,
                 "op": OP_NAMES.get(pkt[3], str(pkt[3])) if len(pkt) > 3 else "?",
                 "valid": req is not None, "counted": model.counted != counted,
                 "answered": False}
        if ans is not None and not args.silent:
            if drops > 0:
                drops -= 1
                entry["dropped_answer"] = True
            else:
                entry["answered"] = True
                when = now + args.delay_ms / 1000.0
                if args.garbage:
                    pending.append((when, sock, garbage(ans), addr))
                elif args.wrong_count and ans[3] == OP_ANSWER:
                    pending.append((when, sock, wrong_count(ans, ids, req), addr))
                elif args.spoof or args.spoof_then_real:
                    pending.append((when, other, forged(ans), addr))
                    if args.spoof_then_real:
                        pending.append((when + 0.05, sock, ans, addr))
                else:
                    pending.append((when, sock, ans, addr))
        if log:
            log.write(json.dumps(entry) + "\n")
    return 0


def forged(ans):
    """The same answer with every count 'many', from a port it must not come from."""
    if ans[3] != OP_ANSWER:
        return ans
    body = b"".join(struct.pack(">II", TOO_MANY, 0) for _ in range((len(ans) - 40) // 8))
    return ans[:24] + body + ans[-16:]


def garbage(ans):
    """Datagrams a broken server might send: the client must reject each."""
    kind = random.randrange(4)
    if kind == 0:  # length field disagrees with the datagram
        return struct.pack(">H", len(ans) + 8) + ans[2:]
    if kind == 1:  # unknown protocol version
        return ans[:2] + bytes([99]) + ans[3:]
    if kind == 2:  # truncated inside the counts
        return struct.pack(">H", len(ans) - 4) + ans[2:-4]
    return bytes(random.randrange(256) for _ in range(len(ans)))


def wrong_count(ans, ids, req):
    """A well-formed ANSWER with one pair too few, signed like the original."""
    short = struct.pack(">H", len(ans) - 8) + ans[2:24] + ans[32:]
    if any(ans[-16:]):
        for pw in ids.get(req["sender"], []):
            if sign(pw, req["raw"]) == req["sig"]:
                short = short[:-16] + sign(pw, short)
    return short


# -- the self test against the captures ---------------------------------------

def read_packets(path):
    pkts = []
    name = None
    with open(path) as f:
        for line in f:
            if line.startswith("#") and " len=" in line and ("C->S" in line or "S->C" in line):
                name = line.split()[0]
                direction = "C->S" if "C->S" in line else "S->C"
            elif line.startswith("HEX ") and name:
                pkts.append((name, direction, bytes.fromhex(line.split()[1])))
                name = None
    return pkts


def selftest(packets, answers):
    failures = 0
    checked = 0
    ids = {32768: ["testpass32768"], 1001: ["srvpass1001"]}
    model = Model(1001, "refdcc", ids)
    pkts = read_packets(packets)
    for i, (name, direction, pkt) in enumerate(pkts):
        if direction != "C->S":
            continue
        want = pkts[i + 1][2] if i + 1 < len(pkts) and pkts[i + 1][1] == "S->C" else None
        got = model.handle(pkt, ("capture", 1))
        checked += 1
        if got != want:
            failures += 1
            print("FAIL %s: answer differs\n  want %s\n  got  %s" % (
                name, want.hex() if want else None, got.hex() if got else None))
        else:
            print("ok   %s %s -> %d bytes" % (name, OP_NAMES[pkt[3]], len(got)))
    if answers:
        failures += selftest_answers(answers)
    print("%d captured requests answered, %d failures" % (checked, failures))
    return 1 if failures else 0


def selftest_answers(path):
    """answers.tsv: each message reported N=1,2,3 times by ID 32768 to a fresh server."""
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or line.startswith("file\t"):
                continue
            rows.append(line.rstrip("\n").split("\t"))
    model = Model(1001, "refdcc", {32768: ["testpass32768"]})
    groups = []
    for r in rows:
        key = (r[0], r[1])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(r)
    names = {v: k for k, v in TYPE_NAMES.items()}
    failures = 0
    r_num = 100
    for (fname, n), g in groups:
        tgts = int(g[0][5], 16)
        cks = b"".join(bytes([names[row[3]], 18]) + bytes.fromhex(row[4]) for row in g)
        r_num += 1
        body = struct.pack(">I", tgts) + cks
        hdr = struct.pack(">HBBI", 24 + len(body) + 16, VERSION, OP_REPORT, 32768)
        hdr += struct.pack("<IIII", 0x7F016D, 4242, r_num, 1)
        pkt = hdr + body + b"\0" * 16
        pkt = pkt[:-16] + sign("testpass32768", pkt)
        ans = model.handle(pkt, ("answers", 1))
        if ans is None or sign("testpass32768", ans) != ans[-16:]:
            print("FAIL %s N=%s: no signed answer" % (fname, n))
            failures += 1
            continue
        for k, row in enumerate(g):
            c, p = struct.unpack(">II", ans[24 + 8 * k:32 + 8 * k])
            if c != int(row[8], 16) or p != int(row[9], 16):
                print("FAIL %s N=%s %s: c=%#x p=%#x want %s %s" % (
                    fname, n, row[3], c, p, row[8], row[9]))
                failures += 1
        print("ok   answers.tsv %s N=%s (%d checksums)" % (fname, n, len(g)))
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--server-id", type=int, default=1001)
    ap.add_argument("--brand", default="refdcc")
    ap.add_argument("--ids", help="DCC ids file")
    ap.add_argument("--id", action="append", help="ID:PASSWORD (repeatable)")
    ap.add_argument("--whitelist", action="append", help="TYPE:HEX answered 'ok'")
    ap.add_argument("--log", help="append one JSON line per request")
    ap.add_argument("--lifetime", type=float, default=120.0, help="seconds before exiting")
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--garbage", action="store_true")
    ap.add_argument("--spoof", action="store_true")
    ap.add_argument("--spoof-then-real", action="store_true")
    ap.add_argument("--wrong-count", action="store_true")
    ap.add_argument("--drop-answers", type=int, default=0)
    ap.add_argument("--selftest", nargs="+", metavar=("PACKETS", "ANSWERS"))
    args = ap.parse_args()
    if args.selftest:
        return selftest(args.selftest[0], args.selftest[1] if len(args.selftest) > 1 else None)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
