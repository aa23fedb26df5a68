#!/usr/bin/python3
"""bench/pyzor.sh's reference side: pyzor 1.0.0's own digest code in-process
(what `pyzor digest` runs: email.message_from_bytes + DataDigester), over
the given files for SECONDS of CPU time.  usage: SECONDS FILE..."""
import email
import sys
import time

import pyzor.digest

secs = float(sys.argv[1])
msgs = [open(f, "rb").read() for f in sys.argv[2:]]
done = 0
nbytes = 0
t0 = time.process_time()
while True:
    for m in msgs:
        try:
            pyzor.digest.DataDigester(email.message_from_bytes(m))
        except Exception:
            pass
        done += 1
        nbytes += len(m)
    el = time.process_time() - t0
    if el >= secs:
        break
print("msg_per_s %.0f" % (done / el))
print("mb_per_s %.2f" % (nbytes / el / 1e6))
