"""Issue 6 (found by make soak): a subscription ends with the NOTIFY that
says terminated. presence kept an expired subscription until its timer
(db_update_period, 100 s) although its watcher had answered that NOTIFY:
a PUBLISH within the subscription's last second NOTIFYed it once more,
terminated (without a body: its certificate binding had ended with the
first), and the timer once again, to a dialog the watcher had ended; no
answer (408) or 481, the soak's failed NOTIFY transactions.
event_route[presence:notify-reply] of etc/ps.cfg has presence delete the
subscription as soon as its terminated NOTIFY is answered with a 2xx."""
import time

import harness as h
import sipua
from harness import PCSCF_IP, SIP_PORT
from test_notify_smime import P7M_CTYPE, publish, registered, rules, subscribe  # noqa: F401

EXPIRES = 30  # the PS's min_expires
TIMER = 100   # presence's db_update_period: the latest the timer ends it


def row_expires(system, call_id):
    """active_watchers.expires of the subscription (absolute), or None."""
    db = system.ps_db()
    try:
        row = db.execute("SELECT expires FROM active_watchers WHERE callid = ?",
                         (call_id,)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


def terminated(ua, seconds):
    """The first NOTIFY of ua's dialog that says terminated (answered 200),
    within seconds; the NOTIFYs before it are answered and counted."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        n = ua.wait_notify(min(5.0, deadline - time.monotonic()))
        if n is not None and n.first_value("Call-ID") == ua.call_id \
                and n.first_value("Subscription-State").startswith("terminated"):
            return n
    return None


def test_expired_subscription_deleted_when_terminated_notify_answered(system, registered):  # noqa: F811
    """...and only then: a fetch (Expires 0) presence removes itself; asking
    it again logs presence's 'Failed to delete subscription' (it did for
    every fetch of make soak when every answered terminated NOTIFY asked)."""
    system.set_pres_rules("alice", rules(("bob", True)))
    r, _ = publish(system, "before")
    assert r is not None and r.status == 200, r and r.first
    mark = len(system.ps.log_text())
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        final, n = subscribe(ua, "alice", expires=0)  # a fetch
        assert final is not None and final.status in (200, 202), final and final.first
        assert n is not None and n.first_value("Subscription-State").startswith("terminated")
        ua.close()
        ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
        final, n = subscribe(ua, "alice", expires=EXPIRES)
        assert final is not None and final.status in (200, 202), final and final.first
        assert n is not None and n.first_value("Content-Type") == P7M_CTYPE
        ends = row_expires(system, ua.call_id)
        assert ends is not None, "subscription not in active_watchers"
        # a PUBLISH in the subscription's last second: presence NOTIFYs it
        # terminated (or, if that second has passed when it gets there, its
        # timer does, within db_update_period)
        time.sleep(max(0.0, ends - time.time()) + 0.05)
        r, _ = publish(system, "last-second")
        assert r is not None and r.status == 200, r and r.first
        t = terminated(ua, TIMER + 15)
        assert t is not None, "the subscription never ended"
        assert "reason=timeout" in t.first_value("Subscription-State")
        # answered: gone from the table at once, not at the next timer run
        deadline = time.monotonic() + 3
        while row_expires(system, ua.call_id) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert row_expires(system, ua.call_id) is None, \
            "subscription still stored after its terminated NOTIFY was answered"
        # and nothing more reaches its dialog, whatever is published
        r, _ = publish(system, "after")
        assert r is not None and r.status == 200, r and r.first
        late = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            m = ua.recv(deadline - time.monotonic())
            if m is not None and m.method == "NOTIFY":
                late.append(m.first_value("Subscription-State"))
        assert late == [], f"NOTIFY after the terminated one: {late}"
        errors = [ln for ln in system.ps.log_text()[mark:].splitlines() if " ERROR:" in ln]
        assert errors == [], errors
    finally:
        ua.close()
