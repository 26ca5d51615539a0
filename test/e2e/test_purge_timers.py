"""Issue 6 (found by make soak): the modules' purge timers run at the
interval they are given. Kamailio's register_timer() takes seconds and
converts them to ticks itself; notify_smime and sip_privacy gave it
S_TO_TICKS(seconds), so their timers ran 16 times less often than
configured (notify_smime's default purge_interval of 60 s: every 16
minutes), and the binding of a subscription that ended without a NOTIFY
outlived it by that much."""
import glob
import os
import re
import time
import uuid

import harness as h

ALICE, BOB = f"sip:alice@{h.DOMAIN}", f"sip:bob@{h.DOMAIN}"


def add_binding(system, expires):
    """A binding row straight into the PS's table; its Call-ID."""
    cid = uuid.uuid4().hex
    db = system.ps_db()
    with db:
        db.execute("INSERT INTO smime_binding (callid, from_tag, pres_uri, watcher, source,"
                   " demanded, expires, cert_sha256, cert) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                   (cid, "purge-test", ALICE, BOB, "store", expires, "0" * 64, "-"))
    db.close()
    return cid


def present(system, cid):
    db = system.ps_db()
    try:
        return db.execute("SELECT COUNT(*) FROM smime_binding WHERE callid = ?",
                          (cid,)).fetchone()[0] > 0
    finally:
        db.close()


def wait_gone(system, cid, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not present(system, cid):
            return True
        time.sleep(0.2)
    return not present(system, cid)


def test_expired_binding_removed_within_purge_interval(system):
    live = add_binding(system, int(time.time()) + 600)
    try:
        # the first expired row marks a purge run (at most 16 intervals
        # away with the old bug); from there the next one must come
        # within the interval
        first = add_binding(system, int(time.time()) - 100)
        assert wait_gone(system, first, 20 * h.SMIME_PURGE_INTERVAL + 5), \
            "an expired binding was never purged"
        t = time.monotonic()
        second = add_binding(system, int(time.time()) - 100)
        assert wait_gone(system, second, 2 * h.SMIME_PURGE_INTERVAL + 3), \
            f"expired binding not purged within 2 x purge_interval ({h.SMIME_PURGE_INTERVAL} s)"
        assert time.monotonic() - t <= 2 * h.SMIME_PURGE_INTERVAL + 3
        assert present(system, live), "a binding that has not expired was purged"
    finally:
        db = system.ps_db()
        with db:
            db.execute("DELETE FROM smime_binding WHERE from_tag = 'purge-test'")
        db.close()


def test_no_module_gives_register_timer_ticks():
    """The same mistake anywhere (sip_privacy's winfo purge, 60 s, ran
    every 16 minutes): register_timer() wants seconds."""
    bad = []
    for path in glob.glob(os.path.join(h.TOP, "modules", "*", "*.c")):
        with open(path) as f:
            text = f.read()
        for m in re.finditer(r"register_timer\s*\(([^;]*?)\)\s*[<;]", text, re.S):
            if "S_TO_TICKS" in m.group(1) or "MS_TO_TICKS" in m.group(1):
                bad.append(f"{os.path.relpath(path, h.TOP)}: {' '.join(m.group(0).split())}")
    assert not bad, bad
