"""Issue 2: the routing script runs a real presence service."""
import base64
import re
import socket
import ssl
import urllib.error
import urllib.request
import uuid

import pytest

import harness as h
from harness import DOMAIN, PCSCF_IP, PS_IP, SIP_PORT, TLS_PORT, XCAP_PORT

RULES_NS = ('xmlns:cr="urn:ietf:params:xml:ns:common-policy" '
            'xmlns:pr="urn:ietf:params:xml:ns:pres-rules"')


def rules(*pairs):
    """pres-rules with one rule per (watcher, sub-handling) pair."""
    body = "".join(
        f'<cr:rule id="r{i}"><cr:conditions><cr:identity>'
        f'<cr:one id="sip:{w}@{DOMAIN}"/></cr:identity></cr:conditions>'
        f"<cr:actions><pr:sub-handling>{a}</pr:sub-handling></cr:actions>"
        "<cr:transformations><pr:provide-services><pr:all-services/>"
        "</pr:provide-services><pr:provide-persons><pr:all-persons/>"
        "</pr:provide-persons><pr:provide-devices><pr:all-devices/>"
        "</pr:provide-devices><pr:provide-all-attributes/>"
        "</cr:transformations></cr:rule>"
        for i, (w, a) in enumerate(pairs))
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset {RULES_NS}>{body}</cr:ruleset>'


def publish(user, tmp_path):
    note = "note-" + uuid.uuid4().hex
    r = h.sipp("publish", user, tmp_path, keys={"note": note})
    assert r.rc == 0, f"PUBLISH failed (sipp rc {r.rc}): {r.stderr}"
    return note


def notifies(result):
    return [m for m in result.received() if m.startswith("NOTIFY ")]


def test_register_challenged_then_accepted(system, tmp_path):
    r = h.register("bob", tmp_path)
    codes = [h.status_code(m.encode()) for m in r.received()]
    assert codes == [401, 200]
    challenge = r.received()[0]
    assert f'realm="{DOMAIN}"' in challenge and "WWW-Authenticate: Digest" in challenge


def test_register_wrong_password_refused(system, tmp_path):
    r = h.sipp("register", "carol", tmp_path, auth=("carol", "not-her-password"))
    assert r.rc != 0
    codes = [h.status_code(m.encode()) for m in r.received()]
    assert codes[0] == 401 and 200 not in codes


def test_publish_then_subscribe_notifies_pidf(system, tmp_path):
    system.set_pres_rules("alice", rules(("bob", "allow"), ("carol", "block")))
    h.register("alice", tmp_path)
    h.register("bob", tmp_path)
    note = publish("alice", tmp_path)
    r = h.sipp("subscribe", "bob", tmp_path, keys={"presentity": "alice"})
    assert r.rc == 0, r.stderr
    first = notifies(r)[0]
    assert "application/pidf+xml" in first
    assert note in first, "the NOTIFY does not carry alice's published PIDF"
    assert "Subscription-State: active" in first
    # the dialog goes through the P-CSCF, which shows bob nothing behind
    # it (topos, RFC 3323 header privacy): its 2xx gives the P-CSCF as the
    # remote target (where the un-SUBSCRIBE went) and no Record-Route, the
    # NOTIFY has the P-CSCF's Via alone
    ok = next(m for m in r.received() if re.match(r"SIP/2\.0 20[02] ", m))
    assert re.search(rf"^Contact: <sip:[^>]*@{re.escape(PCSCF_IP)}[:;>]", ok, re.M), ok
    assert "Record-Route:" not in ok
    vias = [v for line in re.findall(r"^Via: (.*)$", first, re.M) for v in line.split(",")]
    assert len(vias) == 1 and f"/UDP {PCSCF_IP};" in vias[0], vias
    assert PS_IP not in ok.split("\n\n")[0] + first.split("\n\n")[0]


def test_blocked_watcher_gets_nothing(system, tmp_path):
    system.set_pres_rules("alice", rules(("bob", "allow"), ("carol", "block")))
    h.register("alice", tmp_path)
    h.register("carol", tmp_path)
    note = publish("alice", tmp_path)
    r = h.sipp("subscribe_refused", "carol", tmp_path, keys={"presentity": "alice"})
    assert r.rc == 0, r.stderr
    wire = "\n".join(r.received())
    assert note not in wire and "<presence" not in wire
    codes = [h.status_code(m.encode()) for m in r.received() if m.startswith("SIP/2.0")]
    if codes[0] != 403:
        n = notifies(r)
        assert n and "Subscription-State: terminated;reason=rejected" in n[0]


def test_unregistered_source_refused(system, tmp_path):
    # mallory never registered: the P-CSCF does not relay her SUBSCRIBE
    r = h.sipp("subscribe_refused", "mallory", tmp_path, keys={"presentity": "alice"})
    codes = [h.status_code(m.encode()) for m in r.received()]
    assert codes == [403]


# ---- Ut interface --------------------------------------------------------

def xcap_url(user):
    return (f"https://{PS_IP}:{XCAP_PORT}/xcap-root/pres-rules/users/"
            f"sip:{user}@{DOMAIN}/index")


def ut(method, url, system, auth=None, body=None):
    ctx = h.tls_client_context(system.ca)
    handlers = [urllib.request.HTTPSHandler(context=ctx)]
    if auth:
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, url, auth[0], auth[1])
        handlers.append(urllib.request.HTTPDigestAuthHandler(mgr))
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/auth-policy+xml")
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_ut_put_get_own_document(system):
    doc = rules(("bob", "allow"))
    code, _ = ut("PUT", xcap_url("alice"), system, ("alice", h.USERS["alice"]), doc.encode())
    assert code in (200, 201)
    code, body = ut("GET", xcap_url("alice"), system, ("alice", h.USERS["alice"]))
    assert code == 200 and body.decode() == doc


def test_ut_unauthenticated_401(system):
    code, _ = ut("GET", xcap_url("alice"), system)
    assert code == 401


def test_ut_other_users_document_403(system):
    code, _ = ut("GET", xcap_url("alice"), system, ("bob", h.USERS["bob"]))
    assert code == 403
    code, _ = ut("PUT", xcap_url("alice"), system, ("bob", h.USERS["bob"]),
                 rules(("bob", "allow")).encode())
    assert code == 403


def test_ut_wrong_password_never_200(system):
    code, _ = ut("GET", xcap_url("alice"), system, ("alice", "guess"))
    assert code == 401


def test_ut_not_served_in_clear(system):
    # plain HTTP on the SIP TCP socket is refused, digest never travels in clear
    s = socket.create_connection((PS_IP, SIP_PORT), timeout=3)
    s.sendall(f"GET /xcap-root/pres-rules/users/sip:alice@{DOMAIN}/index HTTP/1.1\r\n"
              f"Host: {PS_IP}\r\nContent-Length: 0\r\n\r\n".encode())
    s.settimeout(3)
    try:
        data = s.recv(4096)
    except socket.timeout:
        data = b""
    s.close()
    assert b"<cr:ruleset" not in data
    assert data == b"" or data.startswith(b"HTTP/1.1 403")


def test_ut_new_rules_apply_to_next_subscribe(system, tmp_path):
    h.register("alice", tmp_path)
    h.register("bob", tmp_path)
    note = publish("alice", tmp_path)
    # alice blocks bob through the Ut interface
    code, _ = ut("PUT", xcap_url("alice"), system, ("alice", h.USERS["alice"]),
                 rules(("bob", "block")).encode())
    assert code in (200, 201)
    r = h.sipp("subscribe_refused", "bob", tmp_path, keys={"presentity": "alice"})
    assert r.rc == 0, r.stderr
    assert note not in "\n".join(r.received())
    # and allows him again
    code, _ = ut("PUT", xcap_url("alice"), system, ("alice", h.USERS["alice"]),
                 rules(("bob", "allow")).encode())
    assert code in (200, 201)
    r = h.sipp("subscribe", "bob", tmp_path, keys={"presentity": "alice"})
    assert r.rc == 0, r.stderr
    assert note in notifies(r)[0]


# ---- TLS and bad input ----------------------------------------------------

def test_sip_over_tls_verified(system):
    ctx = h.tls_client_context(system.ca)
    raw = socket.create_connection((PCSCF_IP, TLS_PORT), timeout=5)
    with ctx.wrap_socket(raw, server_hostname=PCSCF_IP) as s:
        lport = s.getsockname()[1]
        cid = uuid.uuid4().hex
        s.sendall((f"OPTIONS sip:{PCSCF_IP}:{TLS_PORT};transport=tls SIP/2.0\r\n"
                   f"Via: SIP/2.0/TLS 127.0.0.1:{lport};branch=z9hG4bK{cid[:10]}\r\n"
                   f"From: <sip:probe@{DOMAIN}>;tag=1\r\nTo: <sip:{PCSCF_IP}>\r\n"
                   f"Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                   "Content-Length: 0\r\n\r\n").encode())
        reply = s.recv(4096)
    assert h.status_code(reply) == 200


def bad(first, headers, body=""):
    """A request from 127.0.1.66 with the given first line and headers."""
    return (first + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n" + body).encode()


VIA = f"Via: SIP/2.0/UDP {h.NET}.66:5999;rport;branch=z9hG4bK"
FROM = "From: <sip:m@example.com>;tag=1"
TO = "To: <sip:alice@example.com>"

MALFORMED = [
    # (name, datagram, expected status, or a log line when the core drops it)
    ("garbage", b"\x00\x01" + b"this is not SIP at all, " * 4 + b"\r\n\r\n",
     r"core parsing of SIP message failed"),
    ("bad request line", bad("SUBSCRIBE", [VIA + "m1"]), r"core parsing of SIP message failed"),
    ("no Call-ID", bad("SUBSCRIBE sip:alice@example.com SIP/2.0",
                       [VIA + "m2", FROM, TO, "CSeq: 1 SUBSCRIBE", "Max-Forwards: 70",
                        "Content-Length: 0"]), r"required headers not found"),
    ("CSeq method mismatch", bad("SUBSCRIBE sip:alice@example.com SIP/2.0",
                                 [VIA + "m3", FROM, TO, "Call-ID: m3", "CSeq: 1 INVITE",
                                  "Max-Forwards: 70", "Content-Length: 0"]), 400),
    ("bad CSeq number", bad("SUBSCRIBE sip:alice@example.com SIP/2.0",
                            [VIA + "m4", FROM, TO, "Call-ID: m4", "CSeq: x SUBSCRIBE",
                             "Max-Forwards: 70", "Content-Length: 0"]), 400),
    ("bad Expires", bad("SUBSCRIBE sip:alice@example.com SIP/2.0",
                        [VIA + "m5", FROM, TO, "Call-ID: m5", "CSeq: 1 SUBSCRIBE",
                         "Expires: soon", "Max-Forwards: 70", "Content-Length: 0"]), 400),
    ("bad Request-URI", bad("SUBSCRIBE sip:alice@@[example.com SIP/2.0",
                            [VIA + "m6", FROM, TO, "Call-ID: m6", "CSeq: 1 SUBSCRIBE",
                             "Max-Forwards: 70", "Content-Length: 0"]), 400),
]


@pytest.mark.parametrize("name,data,expected", MALFORMED, ids=[m[0] for m in MALFORMED])
@pytest.mark.parametrize("target", ["pcscf", "ps"])
def test_malformed_request_then_served(system, target, name, data, expected):
    ip = PCSCF_IP if target == "pcscf" else PS_IP
    role = system.pcscf if target == "pcscf" else system.ps
    offset = len(role.log_text())
    reply = h.udp_request(ip, SIP_PORT, data, f"{h.NET}.66", timeout=1.0)
    if isinstance(expected, int):
        assert h.status_code(reply) == expected
    else:
        assert reply is None
        assert role.wait_log(expected, timeout=3, start=offset), \
            f"no log line /{expected}/ for the dropped message"
    assert h.status_code(h.options(ip, h.PROBE_IP)) == 200
    assert system.pcscf.alive() and system.ps.alive()


def test_concurrent_publishes_lose_nothing(system, tmp_path):
    """Many PUBLISHes at once from several SIP workers: every one is stored
    (presence writes through to SQLite) and none fails on a locked
    database."""
    h.register("alice", tmp_path)
    offset = len(system.ps.log_text())
    r = h.sipp("publish", "alice", tmp_path, keys={"note": "burst"},
               extra=["-m", "150", "-r", "150", "-l", "60"], timeout=30)
    assert r.rc == 0, r.stderr
    ok = [m for m in r.received() if m.startswith("SIP/2.0 200")]
    assert len(ok) == 150
    log = system.ps.log_text()[offset:]
    assert "database is locked" not in log
    db = system.ps_db()
    n = db.execute("SELECT COUNT(*) FROM presentity WHERE username = 'alice'").fetchone()[0]
    db.close()
    assert n >= 150
