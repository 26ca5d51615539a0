"""Issue 5, RFC 3323 "header" privacy: Kamailio's topos on the P-CSCF.

The P-CSCF runs topos by default (-A WITHOUT_TOPOS turns it off). The
roles run here on addresses of their own (P-CSCF .12, PS .22 of TEST_NET),
so that the capture between them sees this test's traffic alone.

A UE's presence dialog through the P-CSCF, checked on the wire: what bob's
UE receives (the 200 to his SUBSCRIBE, the NOTIFYs) carries no Via, no
Record-Route and no Contact of the Presence Server, nor of the P-CSCF's
leg toward it — one Via (the P-CSCF's), no Record-Route, a Contact at the
P-CSCF — while the PS's own NOTIFY, captured on the loopback interface
between the PS and the P-CSCF, does carry the PS's Contact (the hiding is
the P-CSCF's doing). The dialog keeps working: bob's refresh and his
unsubscribe are sent to the Contact topos gave him, without a Route, and
reach the PS, which answers them within the dialog (a refresh the PS could
not match would get 481).
"""
import contextlib
import os
import re
import time
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, SIP_PORT
from test_foundation import rules
from test_notify_smime import Capture
from test_sip_privacy import stat, udp_payloads


def assert_hidden(msg, what, pcscf_ip=None, ps_ip=None):
    """msg as bob's UE got it: only the P-CSCF shows (this module's roles
    unless the addresses of others are given)."""
    assert msg is not None, f"no {what}"
    pcscf_ip, ps_ip = pcscf_ip or PCSCF_IP, ps_ip or PS_IP
    raw = msg.raw.decode(errors="replace") if isinstance(msg.raw, bytes) else msg.raw
    head = raw.split("\r\n\r\n", 1)[0]
    vias = [v for hv in msg.get("Via") for v in hv.split(",")]
    # requests: the P-CSCF's Via only; responses: bob's own Via only
    if msg.method:
        assert len(vias) == 1 and pcscf_ip in vias[0], (what, vias)
    else:
        assert len(vias) == 1 and h.UA_IP["bob"] in vias[0], (what, vias)
    assert msg.get("Record-Route") == [], (what, msg.get("Record-Route"))
    contacts = msg.get("Contact")
    assert len(contacts) == 1, (what, contacts)
    assert re.search(rf"@{re.escape(pcscf_ip)}[:;>]", contacts[0]), (what, contacts)
    for name in ("Via", "Record-Route", "Route", "Contact"):
        for v in msg.get(name):
            assert ps_ip not in v, (what, name, v)
    assert PS_IP not in head, (what, head)


def in_dialog_subscribe(ua, target, to_tag, expires):
    """A SUBSCRIBE within bob's dialog, to the Contact he was given and
    without a Route (topos left no Record-Route to build one from)."""
    ua.cseq += 1
    lines = [f"SUBSCRIBE {target} SIP/2.0",
             f"Via: SIP/2.0/UDP {ua.ip}:{ua.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
             f"From: <sip:bob@{DOMAIN}>;tag={ua.tag}",
             f"To: <sip:alice@{DOMAIN}>;tag={to_tag}",
             f"Call-ID: {ua.call_id}", f"CSeq: {ua.cseq} SUBSCRIBE",
             f"Contact: <sip:bob@{ua.ip}:{ua.port}>", "Max-Forwards: 70",
             "Event: presence", "Accept: application/pidf+xml",
             f"Expires: {expires}", "Content-Length: 0"]
    ua.send(("\r\n".join(lines) + "\r\n\r\n").encode())
    return ua.final_response()


def next_notify(ua, timeout=5.0):
    return ua.wait_notify(timeout)


PCSCF_IP, PS_IP = f"{h.NET}.12", f"{h.NET}.22"


@contextlib.contextmanager
def pair(name, pcscf_ip, ps_ip, defines=""):
    """Both roles on addresses of their own, in build/<name>, the P-CSCF
    with `defines` added; stopped on the way out."""
    s = h.System(os.path.join(h.TOP, "build", name))
    s.env = dict(s.env, PCSCF_IP=pcscf_ip, PS_IP=ps_ip)
    s.env["EXTRA_DEFINES"] += " " + defines
    s.pcscf = h.Role("pcscf", s.run_dir, s.env)
    s.ps = h.Role("ps", s.run_dir, s.env)
    s.provision()
    try:
        for role in (s.pcscf, s.ps):
            role.start()
        deadline = time.monotonic() + 20
        for ip in (pcscf_ip, ps_ip):
            assert h.wait_tcp(ip, SIP_PORT, deadline), f"{ip} did not open"
            while h.status_code(h.options(ip, h.PROBE_IP, timeout=0.5)) != 200:
                assert time.monotonic() < deadline, f"{ip} does not answer"
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def tsys():
    """Both roles, the P-CSCF with topos (its default)."""
    with pair("test-run-topos", PCSCF_IP, PS_IP) as s:
        yield s


@pytest.fixture
def bob_watching_alice(tsys, tmp_path):
    tsys.set_pres_rules("alice", rules(("bob", "allow")))
    r = h.sipp("register", "bob", tmp_path, auth=("bob", h.USERS["bob"]),
               remote=f"{PCSCF_IP}:{SIP_PORT}")
    assert r.rc == 0, r.stderr
    # its own P-CSCF (not h.PCSCF_IP): registered from this socket here
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT), register=True)
    try:
        yield ua
    finally:
        ua.close()


def test_presence_dialog_hides_trust_domain(tsys, bob_watching_alice):
    ua = bob_watching_alice
    cap = Capture()
    try:
        _, ok = ua.subscribe("alice", expires=120)
        assert ok is not None and ok.status == 200, ok and ok.first
        first = next_notify(ua)
    finally:
        cap.stop()
    assert_hidden(ok, "200 to the SUBSCRIBE")
    assert_hidden(first, "first NOTIFY")
    assert "active" in first.first_value("Subscription-State")
    # the PS itself sent its own Contact: the P-CSCF hid it
    from_ps = [p for p in udp_payloads(cap.data, PS_IP, PCSCF_IP, SIP_PORT)
               if ua.call_id.encode() in p and p.startswith(b"NOTIFY ")]
    assert from_ps, "no NOTIFY from the PS captured"
    assert re.search(rb"(?im)^(Contact|m)\s*:.*" + re.escape(PS_IP.encode()), from_ps[0])

    # the dialog goes on through the Contact topos gave bob
    target = re.search(r"<([^>]+)>", ok.first_value("Contact")).group(1)
    assert PS_IP not in target
    to_tag = re.search(r";tag=([^;>\s]+)", ok.first_value("To")).group(1)
    for expires, state in ((60, "active"), (0, "terminated")):
        # the refresh, then the unsubscribe
        ua.notifies.clear()
        r = in_dialog_subscribe(ua, target, to_tag, expires)
        assert r is not None and r.status == 200, r and r.first
        assert_hidden(r, f"200 to the SUBSCRIBE with Expires {expires}")
        n = next_notify(ua)
        assert_hidden(n, f"NOTIFY after the SUBSCRIBE with Expires {expires}")
        assert n.first_value("Subscription-State").startswith(state)

def test_refresh_of_unknown_dialog_not_served(tsys, bob_watching_alice):
    """A refresh to a topos Contact the P-CSCF never gave out is not routed
    to the PS as if it were a dialog: it gets an error, never a 200."""
    ua = bob_watching_alice
    fake = f"sip:atpsh-{uuid.uuid4()}@{PCSCF_IP}"
    r = in_dialog_subscribe(ua, fake, "nosuchtag", 60)
    assert r is None or r.status >= 400, r.first


def test_message_reply_keeps_senders_via(tsys):
    """bob's MESSAGE to alice through the P-CSCF: alice sees only the
    P-CSCF's Via, and the 200 she answers reaches bob with his own Via,
    as he sent it (RFC 3261 8.2.6.2; a UE drops a reply without it)."""
    uas = [sipua.new_ua(u, h.UA_IP[u], (PCSCF_IP, SIP_PORT), register=True)
           for u in ("alice", "bob")]
    alice, bob = uas
    try:
        call_id = bob.request("MESSAGE", f"sip:alice@{DOMAIN}",
                              ["Content-Type: text/plain"], b"hi")
        got = None
        for _ in range(20):
            m = alice.recv(3.0)
            if m is None or (m.method == "MESSAGE" and m.first_value("Call-ID") == call_id):
                got = m
                break
        assert got is not None, "MESSAGE not delivered to alice"
        vias = [v for hv in got.get("Via") for v in hv.split(",")]
        assert len(vias) == 1 and PCSCF_IP in vias[0], vias
        alice.answer(got)
        r = bob.final_response()
        assert r is not None and r.status == 200, r and r.first
        vias = [v.strip() for hv in r.get("Via") for v in hv.split(",")]
        assert len(vias) == 1 and vias[0].startswith(f"SIP/2.0/UDP {bob.ip}:{bob.port};"), vias
    finally:
        for ua in uas:
            ua.close()


NOTOPOS_PCSCF_IP, NOTOPOS_PS_IP = f"{h.NET}.17", f"{h.NET}.27"


def test_topology_guard_counts_nothing_in_normal_traffic(tsys, bob_watching_alice):
    """With topos working, sip_privacy's topology guard (on by default
    behind topos) stops nothing: a whole presence dialog, its refresh and
    its end leave topology_leaks_blocked where it was."""
    ua = bob_watching_alice
    before = stat(tsys, "topology_leaks_blocked")
    _, ok = ua.subscribe("alice", expires=60)
    assert ok is not None and ok.status == 200, ok and ok.first
    assert_hidden(next_notify(ua), "first NOTIFY")
    target = re.search(r"<([^>]+)>", ok.first_value("Contact")).group(1)
    to_tag = re.search(r";tag=([^;>\s]+)", ok.first_value("To")).group(1)
    ua.notifies.clear()
    r = in_dialog_subscribe(ua, target, to_tag, 0)
    assert r is not None and r.status == 200, r and r.first
    assert_hidden(next_notify(ua), "last NOTIFY")
    assert stat(tsys, "topology_leaks_blocked") == before
    assert tsys.pcscf.wait_log(r"INFO: .*topology guard on", timeout=1)


def test_without_topos_topology_guard_inactive():
    """-A WITHOUT_TOPOS: the P-CSCF does not hide the topology, and its
    topology guard says at start-up that it is inactive rather than stop
    every message that shows the PS: bob's SUBSCRIBE is served, its 200
    carries the PS's Contact as the PS wrote it, nothing is counted."""
    with pair("test-run-notopos", NOTOPOS_PCSCF_IP, NOTOPOS_PS_IP,
              "WITHOUT_TOPOS") as s:
        assert s.pcscf.wait_log(r"INFO: .*topology guard inactive: topos is"
                                r" not loaded", timeout=1)
        s.set_pres_rules("alice", rules(("bob", "allow")))
        ua = sipua.new_ua("bob", h.UA_IP["bob"], (NOTOPOS_PCSCF_IP, SIP_PORT),
                          register=True)
        try:
            _, ok = ua.subscribe("alice", expires=0)
            assert ok is not None and ok.status == 200, ok and ok.first
            assert NOTOPOS_PS_IP in ok.first_value("Contact"), ok.raw[:800]
            assert ua.wait_notify(5) is not None, "no NOTIFY"
        finally:
            ua.close()
        assert stat(s, "topology_leaks_blocked") == 0
        rc, out = s.rpc("pcscf", "sip_privacy.topology_guard")
        assert out.startswith("error: 500") and "inactive" in out, out
