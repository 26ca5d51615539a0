"""Issue 5: sip_privacy at the P-CSCF. The trust domain by address (the PS
and the trusted peer), every P-Asserted-Identity from a UE removed before
anything reads it, the RFC 3323 privacy service (sp_privacy_apply(): "id",
"user", "critical" refused with 500) toward a UE for every request and
response of a dialog (INVITE calls between registered UEs, MESSAGE,
NOTIFYs), the dialog's rule in an authenticated Record-Route parameter.
Checked on the wire:

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
import hashlib
import hmac
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


def stat(system, name, role="pcscf"):
    rc, out = system.rpc(role, "stats.get_statistics", name)
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
    r = register_response(ua, call_id)
    assert r is not None and r.status == 401, r and r.first
    ch = sipua.challenges(r)[0]
    auth = sipua.authorization(ch, ua.user, "REGISTER", ruri,
                               password=h.USERS[ua.user])
    send(ua, req_lines(ua, "REGISTER", ruri, hdrs + [f"Authorization: {auth}"],
                       call_id=call_id, to=to))
    return register_response(ua, call_id)


def register_response(ua, call_id):
    """The final response to the REGISTER of call_id; late responses of
    earlier calls on the same socket (a 200 to a CANCEL) are skipped."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        r = ua.final_response(deadline - time.monotonic())
        if r is None or r.first_value("Call-ID") == call_id:
            return r
    return None


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
def no_topo_guard(system):
    """sip_privacy's topology guard off (RPC) for a test whose NOTIFYs come
    in dialogs topos never saw: topos leaves them as they are, and the
    guard would stop every one (it shows the PS's Via and Contact)."""
    rc, out = system.rpc("pcscf", "sip_privacy.topology_guard", "0")
    assert rc == 0 and out.strip() == "0", out
    try:
        yield
    finally:
        rc, out = system.rpc("pcscf", "sip_privacy.topology_guard", "1")
        assert rc == 0 and out.strip() == "1", out


@pytest.fixture
def fake_ps(no_topo_guard):
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


def subscribe_to_ps(ua, expires=0, extra=()):
    """ua's SUBSCRIBE to alice, with a fresh Call-ID; (its final response,
    the SUBSCRIBEs the P-CSCF sent to the PS for it, captured on the
    loopback interface)."""
    ua.call_id = uuid.uuid4().hex
    cap = Capture()
    try:
        _, r = ua.subscribe("alice", expires=expires, extra=extra)
    finally:
        cap.stop()
    sent = [p for p in udp_payloads(cap.data, PCSCF_IP, PS_IP, SIP_PORT)
            if ua.call_id.encode() in p and p.startswith(b"SUBSCRIBE ")]
    assert sent, "no SUBSCRIBE to the PS captured"
    return r, sent


def test_rpc_lists_trust_domain(system):
    rc, out = system.rpc("pcscf", "sip_privacy.trusted")
    assert rc == 0, out
    assert out.splitlines() == [f"net {PS_IP}/32", f"net {h.TRUSTED_PEER_IP}/32",
                                "tls dns:peer.example.com"]


def test_forged_pai_never_reaches_ps(system, tmp_path):
    """carol forges bob's identity in a SUBSCRIBE to alice (two headers,
    one of them with two values): the SUBSCRIBE the P-CSCF sends to the PS
    has none of them, only the identity the P-CSCF asserts for carol's
    registered source, and each header removed is counted."""
    h.register("carol", tmp_path)
    before = stat(system, "pai_removed_untrusted")
    ua = sipua.new_ua("carol", h.UA_IP["carol"], (PCSCF_IP, SIP_PORT))
    try:
        r, sent = subscribe_to_ps(ua, extra=[
            f"P-Asserted-Identity: <sip:bob@{DOMAIN}>",
            f"P-Asserted-Identity: \"Bob\" <sip:bob@{DOMAIN}>, <tel:+15551234567>"])
        assert r is not None, "no final response to the SUBSCRIBE"
    finally:
        ua.close()
    for p in sent:
        assert b"P-Watcher-Leg: udp" in p  # the P-CSCF's copy indeed
        assert re.findall(rb"(?im)^P-Asserted-Identity:[ \t]*([^\r\n]*)", p) \
            == [f"<sip:carol@{DOMAIN}>".encode()]
        assert b"bob" not in p
    assert stat(system, "pai_removed_untrusted") - before == 2


def test_forged_pai_removed_toward_ue(system, tmp_path, carol):
    """A MESSAGE from alice to carol with a PAI alice wrote herself reaches
    carol without it, with the identity the P-CSCF asserted for alice
    (no Privacy: absent_policy keep)."""
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
        assert m.get("P-Asserted-Identity") == [f"<sip:alice@{DOMAIN}>"]
        assert m.body == "hello carol"
        r = alice.final_response()
        assert r is not None and r.status == 200, r and r.first
    finally:
        alice.close()
    assert stat(system, "pai_removed_untrusted") - before == 1


def sppriv(rule, ftag, call_id, key=h.SP_RR_SECRET):
    """The P-CSCF's Record-Route parameter for a dialog's privacy rule:
    rule letters ("-" for none), ".", the first 12 bytes of HMAC-SHA256
    over the length-prefixed "sppriv", rule, ftag and Call-ID, in hex."""
    def f(b):
        return struct.pack(">I", len(b)) + b
    data = f(b"sppriv") + f(rule.encode()) + f(ftag.encode()) + f(call_id.encode())
    return f"{rule}.{hmac.new(key.encode(), data, hashlib.sha256).hexdigest()[:24]}"


def notify_from_ps(fake_ps, carol, headers):
    """A NOTIFY within a dialog from fake_ps (on the PS's address unless a
    test says otherwise) through the P-CSCF (the Record-Route entry it
    would have written for carol's SUBSCRIBE without privacy) to carol;
    (what carol got or None, the final response fake_ps got)."""
    call_id = uuid.uuid4().hex
    ctag = f"c{uuid.uuid4().hex[:8]}"
    route = f"<sip:{PCSCF_IP};lr;ftag={ctag};sppriv={sppriv('-', ctag, call_id)}>"
    send(fake_ps, req_lines(
        fake_ps, "NOTIFY", f"sip:carol@{carol.ip}:{carol.port}",
        [f"Route: {route}", f"Contact: <sip:{PS_IP}:{SIP_PORT}>",
         "Event: presence", "Subscription-State: active;expires=60",
         *headers], call_id=call_id, to=f"<sip:carol@{DOMAIN}>;tag={ctag}"))
    got = wait_request(carol, "NOTIFY", call_id, timeout=2.0)
    return got, fake_ps.final_response()


PAI = f"P-Asserted-Identity: <sip:alice@{DOMAIN}>"


@pytest.mark.parametrize("privacy,pai_kept,forwarded", [
    (["Privacy: id"], False, ["id"]),
    (["Privacy: id;critical"], False, ["id;critical"]),
    # the second header counts; "user" is provided, so it goes, "id" stays
    (["Privacy: user", "Privacy: id"], False, ["id"]),
    # unparsable: all privacy, never none; forwarded as received
    (["Privacy: id;;"], False, ["id;;"]),
    # not "id": the absent policy, keep; "foo" is for someone else
    (["Privacy: user;foo"], True, ["foo"]),
    (["Privacy: none"], True, ["none"]),
    ([], True, []),  # no Privacy: absent_policy keep (RFC 3325)
])
def test_privacy_id_toward_ue(system, carol, fake_ps, privacy, pai_kept,
                              forwarded):
    before = stat(system, "pai_removed_privacy")
    got, r = notify_from_ps(fake_ps, carol, [PAI, *privacy])
    assert got is not None, "NOTIFY not delivered to carol"
    assert r is not None and r.status == 200, r and r.first
    assert got.get("P-Asserted-Identity") == ([f"<sip:alice@{DOMAIN}>"] if pai_kept else [])
    # what the service satisfied leaves Privacy, "id" stays (RFC 3325 9.3)
    assert got.get("Privacy") == forwarded
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
def test_pai_kept_from_trusted_source_only(system, carol, who, kept,
                                           no_topo_guard):
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


# ---- the privacy service (RFC 3323) for every message of a dialog -------
#
# bob and alice are registered from raw UDP sockets of the test, so that
# everything the P-CSCF relays to alice's UA is seen on the wire as she
# gets it. bob asks for "id;user" on the dialog-creating request only; the
# later requests and responses of the dialog carry no Privacy, and are
# anonymous all the same (the rule in the Record-Route parameter sppriv).
#
# What still shows bob's address (never his name or URI) until topology
# hiding ("header", topos on the untrusted side) lands: his Via (address
# and port), his Contact (address and port; the user part and display name
# are removed, modparam anon_contact) and the SDP connection address
# ("session" privacy is not provided). The Call-ID is left as the UA made
# it (rewriting it needs state to restore it): a UA asking for privacy must
# not put its name there. assert_anonymous() checks exactly that.

USER_HDRS = ("Subject", "Call-Info", "Organization", "User-Agent",
             "Reply-To", "In-Reply-To")
ANON = '"Anonymous" <sip:anonymous@anonymous.invalid>'
BOB_HDRS = [
    ("User-Agent", "BobPhone/1.0"),
    ("Subject", "a call from bob"),
    ("Call-Info", "<http://bob.example.com/photo.jpg>;purpose=icon"),
    ("Organization", "Bob's Builders"),
    ("Reply-To", f"<sip:bob@{DOMAIN}>"),
    ("In-Reply-To", "70710@bob.example.com"),
    ("P-Asserted-Identity", f'"Bob" <sip:bob@{DOMAIN}>'),
]


def hexid(n=16):
    return uuid.uuid4().hex[:n]


def build(first, headers, body=b""):
    lines = [first] + [f"{n}: {v}" for n, v in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def via(ua, branch=None):
    return ("Via", f"SIP/2.0/UDP {ua.ip}:{ua.port};rport;"
                   f"branch={branch or 'z9hG4bK' + hexid()}")


def sdp(ua):
    return (f"v=0\r\no=- 1 1 IN IP4 {ua.ip}\r\ns=-\r\nc=IN IP4 {ua.ip}\r\n"
            f"t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n").encode()


def wait_for(ua, pred, timeout=5.0):
    """The first message ua gets that pred accepts, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ua.recv(deadline - time.monotonic())
        if m is None:
            return None
        if pred(m):
            return m
    return None


def is_req(method, call_id):
    return lambda m: m.method == method and m.first_value("Call-ID") == call_id


def is_rsp(status, method, call_id):
    return lambda m: (m.status == status and m.first_value("Call-ID") == call_id
                      and m.first_value("CSeq").split()[-1] == method)


def respond(ua, req, status, reason, to_tag=None, extra=(), rr=False):
    """A response to req from ua: Vias, From, To (with to_tag added when it
    has none), Call-ID, CSeq copied; Record-Route too when rr."""
    hdrs = []
    for n, v in req.headers:
        ln = n.lower()
        if ln in ("via", "from", "call-id", "cseq") or (rr and ln == "record-route"):
            hdrs.append((n, v))
        elif ln == "to":
            hdrs.append((n, v if ";tag=" in v or not to_tag else f"{v};tag={to_tag}"))
    ua.send(build(f"SIP/2.0 {status} {reason}", hdrs + list(extra)))


def routes(msg, reverse=False):
    rr = [v.strip() for h in msg.get("Record-Route") for v in h.split(",")]
    return [("Route", r) for r in (reversed(rr) if reverse else rr)]


def uri_of(nameaddr):
    return re.search(r"<([^>]*)>", nameaddr).group(1)


def tag_of(v):
    m = re.search(r";tag=([^;>\s]+)", v)
    return m.group(1) if m else None


TOPOS_CONTACT = re.compile(rf"sips?:[ab]tpsh-[0-9a-f-]+@{re.escape(h.PCSCF_IP)}(:\d+)?(?=[;>]|$)")


def assert_anonymous(m, bob, what):
    """Nothing in m names bob, and no header carries his address: topos
    ("header") leaves the P-CSCF's Via and a Contact at the P-CSCF whose
    user part is topos's key (or, topos off, a Contact without user part);
    only a body (SDP: "session" is not provided) may hold his address."""
    raw = m.raw.decode("utf-8", "replace")
    assert "bob" not in raw.lower(), f"{what} names bob:\n{raw}"
    for n, v in m.headers:
        assert bob.ip not in v, f"{what}: bob's address in {n}: {v}"
        if n.lower() in ("contact", "m"):
            u = uri_of(v)
            assert "@" not in u or TOPOS_CONTACT.match(u), \
                f"{what}: Contact with a user part: {v}"
    assert m.get("P-Asserted-Identity") == [], what
    assert m.get("P-Preferred-Identity") == [], what
    for n in USER_HDRS + ("Server",):
        assert m.get(n) == [], f"{what}: {n} kept"


def register_ua(user):
    ua = sipua.new_ua(user, h.UA_IP[user], (PCSCF_IP, SIP_PORT))
    try:
        for contact, expires in (("*", 0), (f"<sip:{user}@{ua.ip}:{ua.port}>", 600)):
            r = register_raw(ua, contact, expires)
            assert r is not None and r.status == 200, r and r.first
    except BaseException:
        ua.close()
        raise
    return ua


@pytest.fixture
def alice_bob(system):
    """alice and bob, each registered only at a socket of this test."""
    uas = []
    try:
        for user in ("alice", "bob"):
            uas.append(register_ua(user))
        yield uas
        for ua in uas:
            register_raw(ua, "*", 0)
    finally:
        for ua in uas:
            ua.close()


class Call:
    """bob's side of a call to alice, as raw messages."""

    def __init__(self, bob, alice, privacy=("id;user",)):
        self.bob, self.alice = bob, alice
        self.call_id = hexid(24)
        self.btag, self.atag = hexid(10), hexid(10)
        self.bfrom = f'"Bob" <sip:bob@{DOMAIN}>;tag={self.btag}'
        self.bcontact = f'"Bob" <sip:bob@{bob.ip}:{bob.port}>'
        self.privacy = [("Privacy", p) for p in privacy]
        self.cseq = 1
        self.branch = "z9hG4bK" + hexid()

    def invite(self):
        self.bob.send(build(
            f"INVITE sip:alice@{DOMAIN} SIP/2.0",
            [via(self.bob, self.branch), ("From", self.bfrom),
             ("To", f"<sip:alice@{DOMAIN}>"), ("Call-ID", self.call_id),
             ("CSeq", f"{self.cseq} INVITE"), ("Max-Forwards", "70"),
             ("Contact", self.bcontact), *self.privacy, *BOB_HDRS,
             ("Content-Type", "application/sdp")], sdp(self.bob)))
        return wait_for(self.alice, is_req("INVITE", self.call_id))

    def in_dialog(self, method, ok, extra=(), body=b""):
        """A request of bob's within the dialog (route set from alice's
        200, reversed; target her Contact); what alice gets."""
        if method != "ACK":
            self.cseq += 1
        self.bob.send(build(
            f"{method} {uri_of(ok.first_value('Contact'))} SIP/2.0",
            [via(self.bob), *routes(ok, reverse=True), ("From", self.bfrom),
             ("To", ok.first_value("To")), ("Call-ID", self.call_id),
             ("CSeq", f"{self.cseq} {method}"), ("Max-Forwards", "70"),
             ("Contact", self.bcontact), *BOB_HDRS, *extra], body))
        return wait_for(self.alice, is_req(method, self.call_id))

    def bye_from_alice(self, inv):
        """alice hangs up along the route set of the INVITE she got, to its
        Contact and From; bob's UA answers with its own identity in To (not
        the one alice used), its PAI, Server, Organization and a named
        Contact. The 200 as alice gets it."""
        alice, bob = self.alice, self.bob
        alice.send(build(
            f"BYE {uri_of(inv.first_value('Contact'))} SIP/2.0",
            [via(alice), *routes(inv),
             ("From", f"<sip:alice@{DOMAIN}>;tag={self.atag}"),
             ("To", inv.first_value("From")), ("Call-ID", self.call_id),
             ("CSeq", "1 BYE"), ("Max-Forwards", "70")]))
        bye = wait_for(bob, is_req("BYE", self.call_id))
        assert bye is not None, "alice's BYE not delivered to bob"
        bye.headers = [(n, self.bfrom if n.lower() == "to" else v)
                       for n, v in bye.headers]
        respond(bob, bye, 200, "OK", extra=[
            ("Server", "BobPhone/1.0"), ("Contact", self.bcontact),
            ("P-Asserted-Identity", f"<sip:bob@{DOMAIN}>"),
            ("Organization", "Bob's Builders")])
        ok = wait_for(alice, is_rsp(200, "BYE", self.call_id))
        assert ok is not None, "200 to BYE not relayed to alice"
        return ok


def test_invite_dialog_anonymous(system, alice_bob):
    """bob calls alice with Privacy: id;user on the INVITE only: the INVITE,
    the ACK, bob's re-INVITE and its ACK, and the 200 bob sends to alice's
    BYE all reach alice without bob's name, URI, PAI or user headers."""
    alice, bob = alice_bob
    c = Call(bob, alice)
    req_before = stat(system, "requests_anonymized")
    rsp_before = stat(system, "responses_anonymized")

    inv = c.invite()
    assert inv is not None, "INVITE not delivered to alice"
    assert_anonymous(inv, bob, "INVITE")
    assert inv.first_value("From") == f"{ANON};tag={c.btag}"
    assert inv.get("Privacy") == ["id"]  # "user" satisfied, "id" stays
    assert inv.first_value("To") == f"<sip:alice@{DOMAIN}>"
    # the rule is in the P-CSCF's Record-Route, which topos keeps from the UE
    assert inv.get("Record-Route") == [] and "sppriv" not in inv.raw.decode(errors="replace")
    acontact = ("Contact", f"<sip:alice@{alice.ip}:{alice.port}>")
    respond(alice, inv, 180, "Ringing", c.atag, [acontact], rr=True)
    respond(alice, inv, 200, "OK", c.atag, [acontact, ("User-Agent", "AlicePhone")], rr=True)
    ok = wait_for(bob, is_rsp(200, "INVITE", c.call_id))
    assert ok is not None, "200 not relayed to bob"
    # toward bob, who is not hidden from himself, alice's answer as she sent it
    assert ok.get("User-Agent") == ["AlicePhone"]

    ack = c.in_dialog("ACK", ok)
    assert ack is not None, "ACK not delivered"
    assert_anonymous(ack, bob, "ACK")
    assert ack.first_value("From") == f"{ANON};tag={c.btag}"

    reinv = c.in_dialog("INVITE", ok, [("Content-Type", "application/sdp")], sdp(bob))
    assert reinv is not None, "re-INVITE not delivered"
    assert_anonymous(reinv, bob, "re-INVITE")
    assert reinv.first_value("From") == f"{ANON};tag={c.btag}"
    respond(alice, reinv, 200, "OK", extra=[acontact, ("User-Agent", "AlicePhone")])
    ok2 = wait_for(bob, is_rsp(200, "INVITE", c.call_id))
    assert ok2 is not None
    # alice is not the one hidden: her answer reaches bob as she sent it
    assert ok2.first_value("To") == f"<sip:alice@{DOMAIN}>;tag={c.atag}"
    assert ok2.get("User-Agent") == ["AlicePhone"]
    ack2 = c.in_dialog("ACK", ok)
    assert ack2 is not None
    assert_anonymous(ack2, bob, "ACK of the re-INVITE")

    # alice hangs up: bob's 200 reaches her anonymous
    ok_bye = c.bye_from_alice(inv)
    assert_anonymous(ok_bye, bob, "200 to alice's BYE")
    assert ok_bye.first_value("To") == f"{ANON};tag={c.btag}"

    # INVITE, ACK, re-INVITE, ACK; the 200 to the BYE
    assert stat(system, "requests_anonymized") - req_before == 4
    assert stat(system, "responses_anonymized") - rsp_before == 1


def test_bye_from_bob_anonymous(system, alice_bob):
    """bob hangs up a call he made with Privacy: id;user: the BYE (no
    Privacy of its own) reaches alice anonymous. alice's 200 asks for "id"
    itself: bob gets it without her P-Asserted-Identity (Privacy in a
    response is honoured the same way)."""
    alice, bob = alice_bob
    c = Call(bob, alice)
    inv = c.invite()
    assert inv is not None
    acontact = ("Contact", f"<sip:alice@{alice.ip}:{alice.port}>")
    respond(alice, inv, 200, "OK", c.atag, [
        acontact, ("Privacy", "id"),
        ("P-Asserted-Identity", f"<sip:alice@{DOMAIN}>")], rr=True)
    ok = wait_for(bob, is_rsp(200, "INVITE", c.call_id))
    assert ok is not None
    assert ok.get("P-Asserted-Identity") == []
    assert ok.get("Privacy") == ["id"]
    assert ok.first_value("To") == f"<sip:alice@{DOMAIN}>;tag={c.atag}"
    assert c.in_dialog("ACK", ok) is not None
    bye = c.in_dialog("BYE", ok)
    assert bye is not None, "BYE not delivered"
    assert_anonymous(bye, bob, "BYE from bob")
    assert bye.first_value("From") == f"{ANON};tag={c.btag}"
    respond(alice, bye, 200, "OK")
    assert wait_for(bob, is_rsp(200, "BYE", c.call_id)) is not None


def test_cancel_early_dialog_anonymous(system, alice_bob):
    """bob cancels a call alice's phone is ringing for: the CANCEL and the
    ACK of the 487 that alice gets are anonymous (tm builds both from the
    INVITE it sent)."""
    alice, bob = alice_bob
    c = Call(bob, alice)
    inv = c.invite()
    assert inv is not None
    respond(alice, inv, 180, "Ringing", c.atag,
            [("Contact", f"<sip:alice@{alice.ip}:{alice.port}>")], rr=True)
    assert wait_for(bob, is_rsp(180, "INVITE", c.call_id)) is not None
    bob.send(build(
        f"CANCEL sip:alice@{DOMAIN} SIP/2.0",
        [via(bob, c.branch), ("From", c.bfrom), ("To", f"<sip:alice@{DOMAIN}>"),
         ("Call-ID", c.call_id), ("CSeq", "1 CANCEL"), ("Max-Forwards", "70"),
         *BOB_HDRS]))
    cancel = wait_for(alice, is_req("CANCEL", c.call_id))
    assert cancel is not None, "CANCEL not delivered"
    assert_anonymous(cancel, bob, "CANCEL")
    assert cancel.first_value("From") == f"{ANON};tag={c.btag}"
    respond(alice, cancel, 200, "OK")
    respond(alice, inv, 487, "Request Terminated", c.atag)
    ack = wait_for(alice, is_req("ACK", c.call_id))
    assert ack is not None, "ACK of the 487 not delivered"
    assert_anonymous(ack, bob, "ACK of the 487")
    r = wait_for(bob, is_rsp(487, "INVITE", c.call_id))
    assert r is not None, "487 not relayed to bob"
    bob.send(build(
        f"ACK sip:alice@{DOMAIN} SIP/2.0",
        [via(bob, c.branch), ("From", c.bfrom), ("To", r.first_value("To")),
         ("Call-ID", c.call_id), ("CSeq", "1 ACK"), ("Max-Forwards", "70")]))


def message_bob_to_alice(bob, alice, privacy, extra=BOB_HDRS):
    call_id = hexid(24)
    tag = hexid(10)
    bob.send(build(
        f"MESSAGE sip:alice@{DOMAIN} SIP/2.0",
        [via(bob), ("From", f'"Bob" <sip:bob@{DOMAIN}>;tag={tag}'),
         ("To", f"<sip:alice@{DOMAIN}>"), ("Call-ID", call_id),
         ("CSeq", "1 MESSAGE"), ("Max-Forwards", "70"),
         *[("Privacy", p) for p in privacy], *extra,
         ("Content-Type", "text/plain")], b"hello alice"))
    got = wait_for(alice, is_req("MESSAGE", call_id))
    if got is not None:
        respond(alice, got, 200, "OK", hexid(10))
    return got, tag, wait_for(bob, lambda m: m.status and m.status >= 200
                              and m.first_value("Call-ID") == call_id)


@pytest.mark.parametrize("privacy,forwarded", [
    (["id;user"], ["id"]),
    (["user", "id"], ["id"]),
    (["user;header;id"], ["id"]),
    # unparsable: every privacy the service gives, forwarded as received
    (["id;;user"], ["id;;user"]),
    (["none;user"], ["none;user"]),
    (["user,id"], ["user,id"]),
])
def test_message_anonymous(system, alice_bob, privacy, forwarded):
    alice, bob = alice_bob
    got, tag, r = message_bob_to_alice(bob, alice, privacy)
    assert got is not None, "MESSAGE not delivered"
    assert r is not None and r.status == 200, r and r.first
    assert_anonymous(got, bob, "MESSAGE")
    assert got.first_value("From") == f"{ANON};tag={tag}"
    assert got.get("Privacy") == forwarded
    assert got.body == "hello alice"


def test_message_privacy_none_untouched(system, alice_bob):
    alice, bob = alice_bob
    got, tag, r = message_bob_to_alice(bob, alice, ["none"])
    assert got is not None and r is not None and r.status == 200
    assert got.first_value("From") == f'"Bob" <sip:bob@{DOMAIN}>;tag={tag}'
    assert got.get("Privacy") == ["none"]
    for n, v in BOB_HDRS:
        if n != "P-Asserted-Identity":  # a UE's own: removed as untrusted
            assert got.get(n) == [v], n


def test_message_privacy_removed_with_proxy_require(system, alice_bob):
    """Privacy: user only, satisfied: the header goes, and the "privacy"
    option-tag with it from Proxy-Require (RFC 3323 5.1)."""
    alice, bob = alice_bob
    got, tag, r = message_bob_to_alice(
        bob, alice, ["user"], extra=[("Proxy-Require", "privacy"), *BOB_HDRS])
    # Proxy-Require privacy is for this proxy: it may not refuse with 420
    assert got is not None, r and r.first
    assert got.get("Privacy") == []
    assert got.get("Proxy-Require") == []
    assert got.first_value("From") == f"{ANON};tag={tag}"


@pytest.mark.parametrize("privacy,reason", [
    ("session;critical", "Privacy Not Provided: session"),
    ("id;user;x-other;critical", "Privacy Not Provided: x-other"),
])
def test_invite_critical_refused(system, alice_bob, privacy, reason):
    alice, bob = alice_bob
    before = stat(system, "critical_refused")
    c = Call(bob, alice, privacy=(privacy,))
    got = c.invite()
    assert got is None, "refused INVITE was delivered"
    r = wait_for(bob, lambda m: m.status and m.status >= 200
                 and m.first_value("Call-ID") == c.call_id)
    assert r is not None and r.first == f"SIP/2.0 500 {reason}", r and r.first
    assert stat(system, "critical_refused") - before == 1


def test_notify_user_privacy(system, carol, fake_ps):
    """A NOTIFY whose notifier asks for "user": anonymous From with its
    tag, the user headers gone, Privacy gone (all satisfied)."""
    got, r = notify_from_ps(fake_ps, carol, [
        "Privacy: user", "Subject: hi", "User-Agent: PS", "Organization: Op",
        "Call-Info: <http://x.example.com/a>;purpose=info",
        "Reply-To: <sip:alice@example.com>", "In-Reply-To: 1@x"])
    assert got is not None and r is not None and r.status == 200
    assert re.fullmatch(re.escape(ANON) + r";tag=\w+", got.first_value("From"))
    for n in USER_HDRS:
        assert got.get(n) == [], n
    assert got.get("Privacy") == []


def test_subscribe_rule_recorded_and_written_for_ps(system, alice_bob):
    """bob's anonymous SUBSCRIBE reaches the Presence Server (trusted) with
    its identity and its Privacy; the dialog's rule stays in the P-CSCF's
    Record-Route, which topos keeps to itself: the PS gets no route set
    (its NOTIFYs go to the P-CSCF's topos Contact, which restores it)."""
    alice, bob = alice_bob
    _, sent = subscribe_to_ps(bob, extra=["Privacy: id;user"])
    for p in sent:
        assert b"Privacy: id;user" in p
        assert f"<sip:bob@{DOMAIN}>".encode() in p  # not hidden from the PS
        assert b"Record-Route" not in p and b"sppriv" not in p, p
        assert TOPOS_CONTACT.search(p.decode(errors="replace").split("Contact: <", 1)[1]), p


def tamper_rr(msg, how, call_id):
    """msg's Record-Route as a UA that wants to unmask the caller would
    echo it: the rule stripped, turned into "-", or replaced with a rule
    the P-CSCF really made for another dialog."""
    out = []
    # topos: the callee never sees the route set, so there is nothing of
    # the rule she could tamper with; what she echoes is ignored
    assert "sppriv" not in msg.raw.decode(errors="replace")
    for n, v in msg.headers:
        if n.lower() == "record-route":
            m = re.search(r";sppriv=([^;>]*)", v)
            assert m, v
            if how == "strip":
                v = v.replace(m.group(0), "")
            elif how == "none":
                v = v.replace(m.group(0), ";sppriv=-" + m.group(1)[m.group(1).index("."):])
            else:
                ftag = re.search(r";ftag=([^;>]*)", v).group(1)
                v = v.replace(m.group(0), ";sppriv=" + sppriv("-", ftag, hexid(24)))
        out.append((n, v))
    msg.headers = out
    return msg


@pytest.mark.parametrize("how", ["strip", "none", "other-dialog"])
def test_rule_tampered_by_callee_fails_closed(system, alice_bob, how):
    """alice echoes the Record-Route with the privacy rule removed or
    changed, in her 200 (bob's route set) and in her own BYE: bob's ACK and
    re-INVITE, and bob's 200 to her BYE, still reach her anonymous."""
    alice, bob = alice_bob
    c = Call(bob, alice)
    inv = c.invite()
    assert inv is not None
    tamper_rr(inv, how, c.call_id)
    respond(alice, inv, 200, "OK", c.atag,
            [("Contact", f"<sip:alice@{alice.ip}:{alice.port}>")], rr=True)
    ok = wait_for(bob, is_rsp(200, "INVITE", c.call_id))
    assert ok is not None
    assert all(";sppriv=ui." not in v for v in ok.get("Record-Route"))
    for method in ("ACK", "INVITE"):
        got = c.in_dialog(method, ok)
        assert got is not None, f"{method} not delivered"
        assert_anonymous(got, bob, f"{method} on a tampered route")
        if method == "INVITE":
            respond(alice, got, 200, "OK")
            assert wait_for(bob, is_rsp(200, "INVITE", c.call_id)) is not None
            c.in_dialog("ACK", ok)
    ok_bye = c.bye_from_alice(inv)
    assert_anonymous(ok_bye, bob, "200 to BYE on a tampered route")


def test_resubscribe_rule_written_for_ps(system, carol):
    """carol subscribes with Privacy: id;user, then refreshes within the
    dialog without a Privacy header: the refresh reaches the Presence
    Server (trusted, nothing hidden) with "Privacy: id;user" written from
    the dialog's rule, so the PS still knows the watcher is anonymous.
    (Network-provided blocking is written the same way, by the same code.)"""
    carol.call_id = hexid(24)
    _, r = carol.subscribe("alice", expires=60, extra=["Privacy: id;user"])
    assert r is not None and 200 <= r.status < 300, r and r.first
    cap = Capture()
    try:
        carol.cseq += 1
        carol.send(build(
            f"SUBSCRIBE {uri_of(r.first_value('Contact'))} SIP/2.0",
            [via(carol), *routes(r, reverse=True),
             ("From", f"<sip:carol@{DOMAIN}>;tag={carol.tag}"),
             ("To", r.first_value("To")), ("Call-ID", carol.call_id),
             ("CSeq", f"{carol.cseq} SUBSCRIBE"), ("Max-Forwards", "70"),
             ("Contact", f"<sip:carol@{carol.ip}:{carol.port}>"),
             ("Event", "presence"), ("Expires", "0")]))
        r2 = carol.final_response()
    finally:
        cap.stop()
    assert r2 is not None and 200 <= r2.status < 300, r2 and r2.first
    sent = [p for p in udp_payloads(cap.data, PCSCF_IP, PS_IP, SIP_PORT)
            if carol.call_id.encode() in p and p.startswith(b"SUBSCRIBE ")]
    assert sent, "no re-SUBSCRIBE to the PS captured"
    for p in sent:
        assert b"\r\nPrivacy: id;user\r\n" in p, p
        assert f"<sip:carol@{DOMAIN}>;tag={carol.tag}".encode() in p


def test_fork_to_trusted_contact_still_anonymous(system, alice_bob):
    """alice registers, next to her phone, a contact on the trusted peer's
    address with a higher q, so that the first branch of a request to her
    goes into the trust domain: the privacy service looks at every branch,
    and her phone still gets bob's MESSAGE anonymous."""
    alice, bob = alice_bob
    peer = sipua.new_ua("alice", h.UA_IP["peer"], (PCSCF_IP, SIP_PORT))
    try:
        r = register_raw(alice, f"<sip:alice@{peer.ip}:{peer.port}>;q=1.0, "
                                f"<sip:alice@{alice.ip}:{alice.port}>;q=0.5", 600)
        assert r is not None and r.status == 200, r and r.first
        got, tag, _ = message_bob_to_alice(bob, alice, ["id;user"])
        assert got is not None, "MESSAGE not delivered to alice's phone"
        assert_anonymous(got, bob, "MESSAGE on the second branch")
        assert got.first_value("From") == f"{ANON};tag={tag}"
        # the first branch did go to the trusted address
        assert wait_for(peer, lambda m: m.method == "MESSAGE", timeout=2) is not None
    finally:
        peer.close()


def test_network_blocking_without_privacy(system, alice_bob):
    """bob's operator blocks his identity for MESSAGE, INVITE and SUBSCRIBE
    (sp_blocking): what he sends without a Privacy header is anonymous
    toward alice as if he had asked for "id;user" (a call: every message of
    the dialog, the rule written from the network's blocking); a Privacy of
    his own wins ("none" shows him); toward the Presence Server his
    SUBSCRIBE keeps its identity and says "Privacy: id;user"."""
    from test_sip_privacy_identity import db_exec, rpc_ok
    alice, bob = alice_bob
    bob_pai = f"<sip:bob@{DOMAIN}>"
    try:
        db_exec(system, "INSERT INTO sp_blocking (username, domain, methods)"
                " VALUES ('bob', ?, 'MESSAGE, INVITE, SUBSCRIBE')", DOMAIN)
        assert "ok" in rpc_ok(system, "sip_privacy.reload")

        got, tag, r = message_bob_to_alice(bob, alice, [])
        assert got is not None and r is not None and r.status == 200
        assert_anonymous(got, bob, "MESSAGE under network blocking")
        assert got.first_value("From") == f"{ANON};tag={tag}"
        assert got.get("Privacy") == []
        got, tag, r = message_bob_to_alice(bob, alice, ["none"])
        assert got is not None
        assert got.first_value("From") == f'"Bob" <sip:bob@{DOMAIN}>;tag={tag}'
        assert got.get("P-Asserted-Identity") == [bob_pai]

        c = Call(bob, alice, privacy=())
        inv = c.invite()
        assert inv is not None
        assert_anonymous(inv, bob, "INVITE under network blocking")
        # the rule is in the P-CSCF's Record-Route, which topos keeps from the UE
        assert inv.get("Record-Route") == [] and "sppriv" not in inv.raw.decode(errors="replace")
        respond(alice, inv, 200, "OK", c.atag,
                [("Contact", f"<sip:alice@{alice.ip}:{alice.port}>")], rr=True)
        ok = wait_for(bob, is_rsp(200, "INVITE", c.call_id))
        assert ok is not None
        for method in ("ACK", "BYE"):
            got = c.in_dialog(method, ok)
            assert got is not None, f"{method} not delivered"
            assert_anonymous(got, bob, f"{method} under network blocking")
        respond(alice, got, 200, "OK")
        assert wait_for(bob, is_rsp(200, "BYE", c.call_id)) is not None

        _, sent = subscribe_to_ps(bob)
        for p in sent:
            assert b"\r\nPrivacy: id;user\r\n" in p, p
            assert f"P-Asserted-Identity: {bob_pai}".encode() in p
    finally:
        db_exec(system, "DELETE FROM sp_blocking WHERE username = 'bob'")
        assert "ok" in rpc_ok(system, "sip_privacy.reload")


def test_forged_pai_in_response_removed(system, alice_bob):
    """alice's UA answers bob's call (no privacy asked) with
    P-Asserted-Identity values of her own making: a UE is never believed,
    in a response no more than in a request (RFC 3325 5), so the 200 bob
    gets carries none of them, and each removal is counted."""
    alice, bob = alice_bob
    c = Call(bob, alice, privacy=())
    inv = c.invite()
    assert inv is not None
    before = stat(system, "pai_removed_untrusted")
    respond(alice, inv, 200, "OK", c.atag,
            [("Contact", f"<sip:alice@{alice.ip}:{alice.port}>"),
             ("P-Asserted-Identity", f"<sip:carol@{DOMAIN}>"),
             ("P-Asserted-Identity", "<tel:+15550100003>")])
    ok = wait_for(bob, is_rsp(200, "INVITE", c.call_id))
    assert ok is not None, "alice's 200 not relayed to bob"
    assert ok.get("P-Asserted-Identity") == []
    raw = ok.raw.decode(errors="replace")
    assert "carol" not in raw and "+15550100003" not in raw
    assert stat(system, "pai_removed_untrusted") == before + 2
