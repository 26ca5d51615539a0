#!/usr/bin/python3
"""bob watches alice anonymously through the running demo (`make run`):
alice subscribes to her own watcher list (presence.winfo), then bob
subscribes to her presence with "Privacy: id" (and alice's presence password
for him, as her demo pres-rules demand). Every winfo NOTIFY alice receives is
printed as it arrived at her UA, and checked: bob's URI, his Call-ID and his
name never appear; he is listed as sip:anonymous@anonymous.invalid.

    scripts/anon-demo.py

alice (127.0.0.31) and bob (127.0.0.32) register from the script's own
sockets: the P-CSCF serves a user only from a registered contact."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "e2e"))
import sipua  # noqa: E402

PCSCF = ("127.0.0.10", 5060)
PASSWORDS = {"alice": "wonderland", "bob": "builder"}
DOMAIN = "example.com"


def ua_for(user, ip):
    ua = sipua.new_ua(user, ip, PCSCF, register=False)
    r = ua.register(PASSWORDS[user])
    if r is None or r.status != 200:
        sys.exit(f"REGISTER of {user} failed: {r.first if r else 'no answer'}")
    return ua


def winfo_notifies(ua, seconds):
    """The NOTIFYs that reach ua within `seconds`, each answered 200."""
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = ua.recv(deadline - time.monotonic())
        if m is not None and m.method == "NOTIFY":
            ua.answer(m)
            got.append(m)
    return got


alice = ua_for("alice", "127.0.0.31")
bob = ua_for("bob", "127.0.0.32")

# alice: her watcher list, in clear (no certificate in the SUBSCRIBE)
ruri = f"sip:alice@{DOMAIN}"
alice.request("SUBSCRIBE", ruri, [
    f"Contact: <sip:alice@{alice.ip}:{alice.port}>", "Event: presence.winfo",
    "Accept: application/watcherinfo+xml", "Expires: 120"])
r = alice.final_response()
if r is None or r.status >= 300:
    sys.exit(f"alice's winfo SUBSCRIBE refused: {r.first if r else 'no answer'}")
winfo_notifies(alice, 1.0)   # the list before bob

# bob: alice's presence, anonymously
privacy = ["Privacy: id"]
_, r = bob.subscribe("alice", expires=120, extra=privacy)
if r is not None and r.status == 401:
    auth = sipua.authorization(sipua.challenges(r)[0], "bob@example.com", "SUBSCRIBE",
                               ruri, password="garden-gate")
    _, r = bob.subscribe("alice", expires=120, auth=auth, extra=privacy)
if r is None or r.status >= 300:
    sys.exit(f"bob's SUBSCRIBE refused: {r.first if r else 'no answer'}")
print(f"bob subscribed to alice with {privacy[0]} (Call-ID {bob.call_id}, expires in 120 s)\n")

leaks = 0
for n in winfo_notifies(alice, 3.0):
    text = n.raw.decode(errors="replace")
    print("=== winfo NOTIFY as alice's UA received it\n" + text + "\n")
    for secret in ("bob", bob.call_id):
        if secret in text:
            print(f"!!! {secret!r} appears in this NOTIFY")
            leaks += 1
print("bob never shown to alice" if leaks == 0 else f"{leaks} leaks")
sys.exit(1 if leaks else 0)
