#!/usr/bin/python3
"""bob watches alice through the running demo (`make run`): SUBSCRIBE with
digest (alice's presence password for him), the first NOTIFY's headers
printed and its body saved for `openssl cms -decrypt`.

    scripts/smime-watch.py [OUT_FILE]      (default: notify.p7m)

bob must be registered first from 127.0.0.32 (see README)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "e2e"))
import sipua  # noqa: E402

PCSCF = ("127.0.0.10", 5060)
out = sys.argv[1] if len(sys.argv) > 1 else "notify.p7m"
ua = sipua.new_ua("bob", "127.0.0.32", PCSCF)
_, r = ua.subscribe("alice", expires=60)
if r is not None and r.status == 401:
    ch = sipua.challenges(r)[0]
    auth = sipua.authorization(ch, "bob@example.com", "SUBSCRIBE",
                               "sip:alice@example.com", password="garden-gate")
    _, r = ua.subscribe("alice", expires=60, auth=auth)
if r is None or r.status >= 300:
    sys.exit(f"SUBSCRIBE refused: {r.first if r else 'no answer'}")
n = ua.wait_notify(5)
if n is None:
    sys.exit("no NOTIFY")
head, _, body = n.raw.partition(b"\r\n\r\n")
print(head.decode())
with open(out, "wb") as f:
    f.write(body)
print(f"\n{len(body)} bytes of body saved in {out}")
