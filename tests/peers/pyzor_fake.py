#!/usr/bin/python3
"""A misbehaving Pyzor server for the integration tests (loopback only).

usage: pyzor_fake.py PORTFILE MODE
Binds 127.0.0.1:0, writes the port to PORTFILE, then answers every request
according to MODE:
  silent        never answers
  garbage       answers random bytes
  wrongthread   a well-formed check reply (Count 7) with another thread id
  missing       a reply without the PV header
  garbage-then-good  garbage, wrong thread, then the right answer (Count 3)
Exits after 30 s.
"""
import os
import socket
import sys
import time

portfile, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
s.settimeout(0.5)
end = time.time() + 30


def reply(thread, count=7, pv=True):
    h = "Code: 200\nDiag: OK\n"
    if pv:
        h += "PV: 2.1\n"
    h += "Thread: %s\nCount: %d\nWL-Count: 0\n\n" % (thread, count)
    return h.encode()


while time.time() < end:
    try:
        data, addr = s.recvfrom(8192)
    except socket.timeout:
        continue
    thread = "0"
    for line in data.decode("utf-8", "replace").split("\n"):
        if line.startswith("Thread:"):
            thread = line.split(":", 1)[1].strip()
    other = str(1024 + (int(thread) + 1) % 60000) if thread.isdigit() else "4242"
    if mode == "silent":
        continue
    if mode == "garbage":
        s.sendto(os.urandom(64), addr)
    elif mode == "wrongthread":
        s.sendto(reply(other), addr)
    elif mode == "missing":
        s.sendto(reply(thread, pv=False), addr)
    elif mode == "garbage-then-good":
        s.sendto(b"\x00\xffnot a pyzor reply", addr)
        s.sendto(reply(other, 9), addr)
        s.sendto(reply(thread, 3), addr)
