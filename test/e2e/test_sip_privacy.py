"""Issue 5, first slice: sip_privacy at the P-CSCF. The trust domain by
address (the PS and the trusted peer), every P-Asserted-Identity from a UE
removed before anything reads it, identity privacy (RFC 3323 "id", RFC 3325)
toward a UE, and "critical" refused with 500. Checked on the wire:

 - toward the PS: a capture of the loopback interface shows the SUBSCRIBE
   as the P-CSCF sent it to the PS (the routing sends every SUBSCRIBE from
   a UE to the PS, so no test listener can stand in for it);
 - toward a UE: carol is registered from a raw UDP socket of this test, so
   that the P-CSCF delivers to it what it relays to her (MESSAGE after
   lookup("location"), and NOTIFYs within a dialog);
 - from the PS: a raw UDP socket on the PS's own address (another port),
   which the P-CSCF trusts by address like the PS, sends the NOTIFYs a
   Presence Server would, with the Privacy and PAI the case needs.
"""
import re
import socket
import struct
import time
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, PS_IP, SIP_PORT
from test_notify_smime import Capture


def stat(system, name):
    rc, out = system.rpc("pcscf", "stats.get_statistics", name)
    assert rc == 0, out
    m = re.search(rf"sip_privacy:{name} = (\d+)", out)
    assert m, out
    return int(m.group(1))


def req_lines(ua, method, ruri, headers, cseq=None, call_id=None,
              from_tag=None, to=None):
    ua.cseq = cseq if cseq is not None else ua.cseq + 1
    return [f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {ua.ip}:{ua.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
            f"From: <sip:{ua.user}@{DOMAIN}>;tag={from_tag or ua.tag}",
            f"To: {to or f'<{ruri}>'}", f"Call-ID: {call_id or uuid.uuid4().hex}",
            f"CSeq: {ua.cseq} {method}", "Max-Forwards: 70", *headers]


def send(ua, lines, body=b""):
    lines = list(lines) + [f"Content-Length: {len(body)}"]
    ua.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def register_raw(ua, contact, expires):
    """REGISTER with digest from ua's own socket (sipp cannot keep a socket
    open for the test to receive on); returns the final response."""
    ruri = f"sip:{DOMAIN}"
    call_id = uuid.uuid4().hex
    hdrs = [f"Contact: {contact}", f"Expires: {expires}"]
    to = f"<sip:{ua.user}@{DOMAIN}>"
    send(ua, req_lines(ua, "REGISTER", ruri, hdrs, call_id=call_id, to=to))
    r = ua.final_response()
    assert r is not None and r.status == 401, r and r.first
    ch = sipua.challenges(r)[0]
    auth = sipua.authorization(ch, ua.user, "REGISTER", ruri,
                               password=h.USERS[ua.user])
    send(ua, req_lines(ua, "REGISTER", ruri, hdrs + [f"Authorization: {auth}"],
                       call_id=call_id, to=to))
    return ua.final_response()


def answer_200(ua, req):
    keep = ("via", "from", "to", "call-id", "cseq")
    lines = ["SIP/2.0 200 OK"] + [f"{n}: {v}" for n, v in req.headers
                                  if n.lower() in keep]
    send(ua, lines)


def wait_request(ua, method, call_id, timeout=3.0):
    """The first `method` of call_id that reaches ua (answered 200), or
    None; requests of other calls (earlier tests) are ignored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ua.recv(deadline - time.monotonic())
        if m is None:
            return None
        if m.method == method and m.first_value("Call-ID") == call_id:
            answer_200(ua, m)
            return m
    return None


@pytest.fixture
def carol(system, tmp_path):
    """carol, registered only at a socket of this test."""
    ua = sipua.new_ua("carol", h.UA_IP["carol"], (PCSCF_IP, SIP_PORT))
    try:
        r = register_raw(ua, "*", 0)
        assert r is not None and r.status == 200, r and r.first
        r = register_raw(ua, f"<sip:carol@{ua.ip}:{ua.port}>", 600)
        assert r is not None and r.status == 200, r and r.first
        yield ua
        register_raw(ua, "*", 0)
    finally:
        ua.close()


@pytest.fixture
def fake_ps():
    """A socket on the PS's address: trusted by the P-CSCF like the PS."""
    ua = sipua.new_ua("alice", PS_IP, (PCSCF_IP, SIP_PORT))
    try:
        yield ua
    finally:
        ua.close()


def udp_payloads(frames, src, dst, dport):
    """UDP payloads of the captured loopback frames from src to dst:dport."""
    out = []
    for f in frames:
        if len(f) < 14 + 20 + 8 or f[12:14] != b"\x08\x00":
            continue
        ip = f[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:
            continue
        if socket.inet_ntoa(ip[12:16]) != src or socket.inet_ntoa(ip[16:20]) != dst:
            continue
        _, dp, ulen, _ = struct.unpack("!HHHH", ip[ihl:ihl + 8])
        if dp == dport:
            out.append(ip[ihl + 8:ihl + ulen])
    return out


def test_rpc_lists_trust_domain(system):
    rc, out = system.rpc("pcscf", "sip_privacy.trusted")
    assert rc == 0, out
    assert out.splitlines() == [f"net {PS_IP}/32", f"net {h.TRUSTED_PEER_IP}/32",
                                "tls dns:peer.example.com"]


def test_forged_pai_never_reaches_ps(system, tmp_path):
    """carol forges bob's identity in a SUBSCRIBE to alice (two headers,
    one of them with two values): the SUBSCRIBE the P-CSCF sends to the PS
    has none of them, and each header removed is counted."""
    h.register("carol", tmp_path)
    before = stat(system, "pai_removed_untrusted")
    ua = sipua.new_ua("carol", h.UA_IP["carol"], (PCSCF_IP, SIP_PORT))
    cap = Capture()
    try:
        _, r = ua.subscribe("alice", expires=0, extra=[
            f"P-Asserted-Identity: <sip:bob@{DOMAIN}>",
            f"P-Asserted-Identity: \"Bob\" <sip:bob@{DOMAIN}>, <tel:+15551234567>"])
        assert r is not None, "no final response to the SUBSCRIBE"
    finally:
        frames = cap.stop()
        ua.close()
    sent = [p for p in udp_payloads(cap.data, PCSCF_IP, PS_IP, SIP_PORT)
            if ua.call_id.encode() in p and p.startswith(b"SUBSCRIBE ")]
    assert sent, f"no SUBSCRIBE to the PS captured ({len(frames)} bytes)"
    for p in sent:
        assert b"P-Watcher-Leg: udp" in p  # the P-CSCF's copy indeed
        assert b"p-asserted-identity" not in p.lower()
        assert b"bob" not in p
    assert stat(system, "pai_removed_untrusted") - before == 2


def test_forged_pai_removed_toward_ue(system, tmp_path, carol):
    """A MESSAGE from alice to carol with a PAI alice wrote herself reaches
    carol without it."""
    h.register("alice", tmp_path)
    before = stat(system, "pai_removed_untrusted")
    alice = sipua.new_ua("alice", h.UA_IP["alice"], (PCSCF_IP, SIP_PORT))
    try:
        call_id = uuid.uuid4().hex
        ruri = f"sip:carol@{DOMAIN}"
        send(alice, req_lines(alice, "MESSAGE", ruri, [
            "P-Asserted-Identity: <sip:bob@example.com>",
            "Content-Type: text/plain"], call_id=call_id), b"hello carol")
        m = wait_request(carol, "MESSAGE", call_id)
        assert m is not None, "MESSAGE not delivered to carol"
        assert m.get("P-Asserted-Identity") == []
        assert m.body == "hello carol"
        r = alice.final_response()
        assert r is not None and r.status == 200, r and r.first
    finally:
        alice.close()
    assert stat(system, "pai_removed_untrusted") - before == 1


def notify_from_ps(fake_ps, carol, headers):
    """A NOTIFY within a dialog from fake_ps (on the PS's address unless a
    test says otherwise) through the P-CSCF (its Record-Route) to carol;
    (what carol got or None, the final response fake_ps got)."""
    call_id = uuid.uuid4().hex
    send(fake_ps, req_lines(
        fake_ps, "NOTIFY", f"sip:carol@{carol.ip}:{carol.port}",
        [f"Route: <sip:{PCSCF_IP};lr>", f"Contact: <sip:{PS_IP}:{SIP_PORT}>",
         "Event: presence", "Subscription-State: active;expires=60",
         *headers], call_id=call_id, to=f"<sip:carol@{DOMAIN}>;tag=c{uuid.uuid4().hex[:8]}"))
    got = wait_request(carol, "NOTIFY", call_id, timeout=2.0)
    return got, fake_ps.final_response()


PAI = f"P-Asserted-Identity: <sip:alice@{DOMAIN}>"


@pytest.mark.parametrize("privacy,pai_kept", [
    (["Privacy: id"], False),
    (["Privacy: id;critical"], False),
    (["Privacy: user", "Privacy: id"], False),  # the second header counts
    (["Privacy: id;;"], False),  # unparsable: all privacy, never none
    (["Privacy: user;foo"], True),  # not "id": the absent policy, keep
    (["Privacy: none"], True),
    ([], True),  # no Privacy: absent_policy keep (RFC 3325)
])
def test_privacy_id_toward_ue(system, carol, fake_ps, privacy, pai_kept):
    before = stat(system, "pai_removed_privacy")
    got, r = notify_from_ps(fake_ps, carol, [PAI, *privacy])
    assert got is not None, "NOTIFY not delivered to carol"
    assert r is not None and r.status == 200, r and r.first
    assert got.get("P-Asserted-Identity") == ([f"<sip:alice@{DOMAIN}>"] if pai_kept else [])
    # Privacy itself is forwarded as received ("id" stays, RFC 3325 9.3)
    assert got.get("Privacy") == [p.split(": ", 1)[1] for p in privacy]
    assert stat(system, "pai_removed_privacy") - before == (0 if pai_kept else 1)


@pytest.mark.parametrize("privacy,reason", [
    ("session;critical", "Privacy Not Provided: session"),
    ("id;x-other;critical", "Privacy Not Provided: x-other"),
])
def test_critical_not_provided_refused(system, carol, fake_ps, privacy, reason):
    before = stat(system, "critical_refused")
    got, r = notify_from_ps(fake_ps, carol, [PAI, f"Privacy: {privacy}"])
    assert r is not None and r.status == 500, r and r.first
    assert r.first == f"SIP/2.0 500 {reason}"
    assert got is None, "refused NOTIFY was delivered"
    assert stat(system, "critical_refused") - before == 1


@pytest.mark.parametrize("who,kept", [("peer", True), ("mallory", False)])
def test_pai_kept_from_trusted_source_only(system, carol, who, kept):
    """The same in-dialog NOTIFY with a PAI and Privacy: none: from the
    trusted peer the PAI stays, from mallory (outside the trust domain)
    sp_strip_pai() removes it and counts it."""
    src = sipua.new_ua(who, h.UA_IP[who], (PCSCF_IP, SIP_PORT))
    try:
        before = stat(system, "pai_removed_untrusted")
        got, r = notify_from_ps(src, carol, [PAI, "Privacy: none"])
        assert got is not None, "NOTIFY not delivered to carol"
        assert got.get("P-Asserted-Identity") == ([f"<sip:alice@{DOMAIN}>"] if kept else [])
        assert stat(system, "pai_removed_untrusted") - before == (0 if kept else 1)
    finally:
        src.close()
