"""Issue 4: notify_smime, S/MIME protection of presence bodies from the PS
to the watcher, through P-CSCF -> PS. OpenSSL's own `cms` command decrypts
what the server encrypted; a capture of every packet on the loopback
interface proves that presence which must be encrypted never crosses it in
clear."""
import os
import re
import socket
import subprocess
import threading
import time
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, SIP_PORT
from test_watcher_auth import NS, TRANSFORMATIONS

P7M_CTYPE = "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m"
P7M_DISP = "attachment; filename=smime.p7m; handling=required"


def rules(*watchers):
    """alice's pres-rules: (user, encrypt) pairs, every one allowed, no
    authentication asked."""
    out = []
    for i, (user, enc) in enumerate(watchers):
        out.append(f'<cr:rule id="r{i}"><cr:conditions><cr:identity>'
                   f'<cr:one id="sip:{user}@{DOMAIN}"/></cr:identity>'
                   f'</cr:conditions><cr:actions><pr:sub-handling>allow'
                   f'</pr:sub-handling>{"<ps:encrypt/>" if enc else ""}'
                   f'</cr:actions>{TRANSFORMATIONS}</cr:rule>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset {NS}>'
            + "".join(out) + "</cr:ruleset>")


class Capture:
    """Every IPv4 packet on the loopback interface from or to the suite's
    own net (TEST_NET: other suites or a bench may run beside it) while it
    runs (AF_PACKET)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.net = bytes(int(x) for x in h.NET.split("."))
        self.data = []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                pkt = self.sock.recv(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            # Ethernet header (14 bytes, zeros on lo), IPv4 source at 26,
            # destination at 30
            if len(pkt) >= 34 and pkt[12:14] == b"\x08\x00" \
                    and self.net in (pkt[26:29], pkt[30:33]):
                self.data.append(pkt)

    def stop(self):
        self.stop_ev.set()
        self.t.join(5)
        self.sock.close()
        return b"".join(self.data)


def certs(system):
    return os.path.join(system.run_dir, "certs")


def store_cert(system, user, present):
    """The operator's smime_cert row of user: kept or removed."""
    db = system.ps_db()
    with db:
        db.execute("DELETE FROM smime_cert WHERE aor = ?", (f"sip:{user}@{DOMAIN}",))
        if present:
            with open(os.path.join(certs(system), f"{user}.pem")) as f:
                db.execute("INSERT INTO smime_cert (aor, cert) VALUES (?, ?)",
                           (f"sip:{user}@{DOMAIN}", f.read()))
    db.close()


def ps_rows(system, table, where, *args):
    """Rows of a PS table that match `where`."""
    db = system.ps_db()
    try:
        return db.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0]
    finally:
        db.close()


def openssl(*args, data=None):
    p = subprocess.run(["openssl", *args], input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def certs_only(system, user):
    rc, der, err = openssl("crl2pkcs7", "-nocrl", "-certfile",
                           os.path.join(certs(system), f"{user}.pem"), "-outform", "DER")
    assert rc == 0, err
    return der


def raw_body(msg):
    return msg.raw.split(b"\r\n\r\n", 1)[1]


def decrypt(system, user, der):
    """openssl cms -decrypt with user's certificate and key: the MIME entity."""
    c = certs(system)
    rc, out, err = openssl("cms", "-decrypt", "-inform", "DER", "-binary",
                           "-recip", os.path.join(c, f"{user}.pem"),
                           "-inkey", os.path.join(c, f"{user}.key"), data=der)
    assert rc == 0, err
    return out


def send(ua, method, ruri, to, headers=(), body=b"", ctype=None,
         call_id=None, routes=(), from_hdr=None):
    """One request from ua (a new transaction, CSeq counted); returns its
    final response. from_hdr: the From value without its tag."""
    ua.cseq += 1
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/UDP {ua.ip}:{ua.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
             *[f"Route: {r}" for r in routes],
             f"From: {from_hdr or f'<sip:{ua.user}@{DOMAIN}>'};tag={ua.tag}", f"To: {to}",
             f"Call-ID: {call_id or uuid.uuid4().hex}", f"CSeq: {ua.cseq} {method}",
             f"Contact: <sip:{ua.user}@{ua.ip}:{ua.port}>", "Max-Forwards: 70",
             *headers]
    if ctype:
        lines.append(f"Content-Type: {ctype}")
    lines.append(f"Content-Length: {len(body)}")
    ua.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return ua.final_response()


def request(ua, method, ruri, headers, body=b"", ctype=None):
    """One out-of-dialog request from ua with a binary body."""
    return send(ua, method, ruri, f"<{ruri}>", headers, body, ctype)


def subscribe(ua, presentity, expires=60, body=b"", ctype=None):
    """SUBSCRIBE with an optional body; (final response, first NOTIFY)."""
    ruri = f"sip:{presentity}@{DOMAIN}"
    final = send(ua, "SUBSCRIBE", ruri, f"<{ruri}>",
                 ["Event: presence", "Accept: application/pidf+xml, application/pkcs7-mime",
                  f"Expires: {expires}"], body, ctype, call_id=ua.call_id)
    return final, (ua.wait_notify(5) if final is not None and final.status < 300 else None)


PIDF = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">\n'
        '  <tuple id="t1"><status><basic>open</basic></status>\n'
        '    <note>{note}</note>\n  </tuple>\n</presence>\n')


def publish(system, note, body=None, ctype="application/pidf+xml"):
    """alice publishes (from her registered address, through the P-CSCF)."""
    ua = sipua.new_ua("alice", h.UA_IP["alice"], (PCSCF_IP, SIP_PORT))
    try:
        body = body if body is not None else PIDF.format(note=note).encode()
        return request(ua, "PUBLISH", f"sip:alice@{DOMAIN}",
                       ["Event: presence", "Expires: 600"], body, ctype), body
    finally:
        ua.close()


def publish_then_subscribe(system, ua, note):
    """alice publishes a PIDF with `note`, bob (ua) subscribes with his
    certificate as certs-only; (the PIDF, the 2xx, the first NOTIFY, which
    is encrypted)."""
    r, published = publish(system, note)
    assert r is not None and r.status == 200, r and r.first
    final, n = subscribe(ua, "alice", body=certs_only(system, "bob"),
                         ctype="application/pkcs7-mime; smime-type=certs-only")
    assert final is not None and final.status in (200, 202), final and final.first
    assert n is not None, "no NOTIFY"
    assert n.first_value("Content-Type") == P7M_CTYPE
    return published, final, n


@pytest.fixture
def registered(system, tmp_path):
    for u in ("alice", "bob", "carol"):
        h.register(u, tmp_path)
    store_cert(system, "bob", True)
    store_cert(system, "carol", True)
    yield
    store_cert(system, "bob", True)
    store_cert(system, "carol", True)


def unsubscribe(ua, final):
    """Ends the subscription within its dialog (Expires: 0): the route set
    and the remote target of the 2xx."""
    target = re.search(r"<([^>]+)>", final.first_value("Contact")).group(1)
    rr = []
    for v in final.get("Record-Route"):
        rr += [x.strip() for x in v.split(",")]
    r = send(ua, "SUBSCRIBE", target, final.first_value("To"),
             ["Event: presence", "Expires: 0"], call_id=ua.call_id,
             routes=list(reversed(rr)))
    assert r is not None and r.status in (200, 202), r and r.first


def test_notify_encrypted_to_certificate_from_subscribe(system, registered):
    """bob's certificate comes only with his SUBSCRIBE (certs-only): the
    NOTIFY (built by presence, changed in tm:local-request) carries exactly
    the S/MIME headers, and openssl cms with bob's key gives alice's PIDF
    byte for byte."""
    system.set_pres_rules("alice", rules(("bob", True)))
    store_cert(system, "bob", False)
    note = "enc-" + uuid.uuid4().hex
    cap = Capture()
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        published, final, n = publish_then_subscribe(system, ua, note)
        assert n.first_value("Content-Disposition") == P7M_DISP
        body = raw_body(n)
        assert int(n.first_value("Content-Length")) == len(body) > 0
        entity = decrypt(system, "bob", body)
        head, _, pidf = entity.partition(b"\r\n\r\n")
        assert head == b"Content-Type: application/pidf+xml"
        assert pidf == published, "decrypted body is not alice's PIDF byte for byte"
        unsubscribe(ua, final)
    finally:
        ua.close()
        wire = cap.stop()
    # the note crossed the loopback only inside alice's own PUBLISH
    assert wire.count(note.encode()) >= 1
    assert not re.search(rb"NOTIFY[^\x00]{0,2000}?" + note.encode(), wire), \
        "alice's PIDF went to bob in clear"


def test_certificate_from_store_bound_and_shown(system, registered):
    """Without a certificate in the SUBSCRIBE, the operator's table gives
    bob's; notify_smime.cert shows it bound to the subscription."""
    system.set_pres_rules("alice", rules(("bob", True)))
    note = "store-" + uuid.uuid4().hex
    publish(system, note)
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        final, n = subscribe(ua, "alice")
        assert final.status in (200, 202)
        assert n.first_value("Content-Type") == P7M_CTYPE
        assert note.encode() in decrypt(system, "bob", raw_body(n))
        rc, out = system.rpc("ps", "notify_smime.cert", f"sip:bob@{DOMAIN}")
        assert rc == 0, out
        assert ua.call_id in out and "store" in out
        assert "CN=bob@example.com" in out and "Demo CA" in out
        unsubscribe(ua, final)
    finally:
        ua.close()


@pytest.mark.parametrize("expires", [60, 0], ids=["subscription", "fetch"])
def test_no_certificate_under_encrypt_403_never_clear(system, registered, expires):
    """carol must get presence encrypted and has no certificate anywhere:
    her subscription, or her fetch (Expires: 0), gets 403 with a Warning
    that says so, no NOTIFY, and her PIDF never crosses the wire."""
    system.set_pres_rules("alice", rules(("carol", True)))
    store_cert(system, "carol", False)
    note = "nocert-" + uuid.uuid4().hex
    cap = Capture()
    publish(system, note)
    ua = sipua.new_ua("carol", h.UA_IP["carol"], (PCSCF_IP, SIP_PORT))
    try:
        final, n = subscribe(ua, "alice", expires=expires)
        assert final is not None and final.status == 403, final and final.first
        assert "certificate required" in (final.first_value("Warning") or "")
        assert n is None
        assert ua.wait_notify(0.5) is None
    finally:
        ua.close()
        wire = cap.stop()
    assert not re.search(rb"NOTIFY[^\x00]{0,2000}?" + note.encode(), wire)


@pytest.mark.parametrize("source", ["subscribe", "store"])
def test_fetch_encrypted_to_certificate_no_binding_left(system, registered, source):
    """bob fetches alice's presence (Expires: 0, RFC 6665 4.4.3) through the
    P-CSCF, his certificate as certs-only in the SUBSCRIBE or in the
    operator's store: the one NOTIFY (terminated) is encrypted to it and
    gives alice's PIDF byte for byte; no binding is left behind, neither in
    smime_binding nor in the RPC."""
    system.set_pres_rules("alice", rules(("bob", True)))
    store_cert(system, "bob", source == "store")
    body, ctype = b"", None
    if source == "subscribe":
        body, ctype = certs_only(system, "bob"), "application/pkcs7-mime; smime-type=certs-only"
    note = "fetch-" + uuid.uuid4().hex
    offset = len(system.ps.log_text())
    cap = Capture()
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        r, published = publish(system, note)
        assert r is not None and r.status == 200, r and r.first
        final, n = subscribe(ua, "alice", expires=0, body=body, ctype=ctype)
        assert final is not None and final.status in (200, 202), final and final.first
        assert n is not None, "no NOTIFY for the fetch"
        assert n.first_value("Subscription-State").startswith("terminated")
        assert n.first_value("Content-Type") == P7M_CTYPE, \
            f"fetch NOTIFY not encrypted (Content-Length {n.first_value('Content-Length')})"
        entity = decrypt(system, "bob", raw_body(n))
        head, _, pidf = entity.partition(b"\r\n\r\n")
        assert head == b"Content-Type: application/pidf+xml"
        assert pidf == published, "decrypted body is not alice's PIDF byte for byte"
        assert ua.wait_notify(1) is None, "a second NOTIFY for a fetch"
        # bound in the PS's memory for the one NOTIFY, never in the table
        assert system.ps.wait_log(r"certificate [0-9a-f]{16}\.\.\. \(%s\) bound to"
                                  r" the fetch to sip:alice@" % source, start=offset)
        assert ps_rows(system, "smime_binding", "callid = ?", ua.call_id) == 0
        rc, out = system.rpc("ps", "notify_smime.cert", f"sip:bob@{DOMAIN}")
        assert rc == 0, out
        assert ua.call_id not in out, "the fetch left a binding"
    finally:
        ua.close()
        wire = cap.stop()
    assert not re.search(rb"NOTIFY[^\x00]{0,2000}?" + note.encode(), wire), \
        "alice's PIDF went to bob in clear"


def test_policy_changed_later_notify_without_body(system, registered):
    """carol subscribed while alice did not demand encryption (no
    certificate bound); alice now demands it: the next NOTIFY leaves without
    its body (Content-Length 0), never with the new PIDF in clear."""
    system.set_pres_rules("alice", rules(("carol", False)))
    store_cert(system, "carol", False)
    publish(system, "before-" + uuid.uuid4().hex)
    ua = sipua.new_ua("carol", h.UA_IP["carol"], (PCSCF_IP, SIP_PORT))
    cap = None
    try:
        final, n = subscribe(ua, "alice")
        assert final.status in (200, 202) and n is not None
        assert n.first_value("Content-Type") == "application/pidf+xml"
        system.set_pres_rules("alice", rules(("carol", True)))
        note = "after-" + uuid.uuid4().hex
        cap = Capture()
        publish(system, note)
        n2 = ua.wait_notify(5)
        assert n2 is not None, "no NOTIFY after the change"
        assert n2.first_value("Content-Length") == "0"
        assert n2.first_value("Content-Type") is None
        assert raw_body(n2) == b""
        assert "active" in n2.first_value("Subscription-State")
        unsubscribe(ua, final)
    finally:
        ua.close()
        wire = cap.stop() if cap else b""
    assert not re.search(rb"NOTIFY[^\x00]{0,2000}?" + note.encode(), wire)


def test_encrypted_publish_decrypted_before_presence(system, registered):
    """alice's PUBLISH encrypted to the PS's certificate is decrypted before
    handle_publish: bob's NOTIFY (encrypted to him) holds her note."""
    system.set_pres_rules("alice", rules(("bob", True)))
    note = "encpub-" + uuid.uuid4().hex
    entity = b"Content-Type: application/pidf+xml\r\n\r\n" + PIDF.format(note=note).encode()
    rc, der, err = openssl("cms", "-encrypt", "-binary", "-outform", "DER", "-aes128",
                           os.path.join(certs(system), "ps.pem"), data=entity)
    assert rc == 0, err
    r, _ = publish(system, note, der, P7M_CTYPE)
    assert r is not None and r.status == 200, r and r.raw
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        final, n = subscribe(ua, "alice")
        assert note.encode() in decrypt(system, "bob", raw_body(n))
        unsubscribe(ua, final)
    finally:
        ua.close()


@pytest.mark.parametrize("name,body,ctype,code", [
    ("not for the server", None, P7M_CTYPE, 493),
    ("garbage", b"\x30\x82garbage", P7M_CTYPE, 493),
    ("truncated", "half", P7M_CTYPE, 493),
    ("wrong smime-type", b"\x30\x03\x02\x01\x00",
     "application/pkcs7-mime; smime-type=compressed-data", 415),
    ("certs-only garbage", b"garbage", "application/pkcs7-mime; smime-type=certs-only", 400),
])
def test_undecipherable_bodies_then_served(system, registered, name, body, ctype, code):
    """Bodies the PS cannot decrypt get 493 with its certificate as
    certs-only (RFC 3261 23.2); other bad S/MIME a clear 4xx; then a valid
    PUBLISH is served."""
    bob_env = None
    if body is None or body == "half":
        entity = b"Content-Type: application/pidf+xml\r\n\r\n<presence/>"
        rc, bob_env, err = openssl("cms", "-encrypt", "-binary", "-outform", "DER",
                                   os.path.join(certs(system), "bob.pem"), data=entity)
        assert rc == 0, err
        body = bob_env if body is None else bob_env[:len(bob_env) // 2]
    r, _ = publish(system, "x", body, ctype)
    assert r is not None and r.status == code, (name, r and r.first)
    if code == 493:
        assert r.first_value("Content-Type").startswith(
            "application/pkcs7-mime; smime-type=certs-only")
        der = raw_body(r)
        rc, out, err = openssl("pkcs7", "-inform", "DER", "-print_certs", data=der)
        assert rc == 0, err
        assert b"CN = ps.example.com" in out or b"CN=ps.example.com" in out
    r, _ = publish(system, "ok-" + uuid.uuid4().hex)
    assert r is not None and r.status == 200


def test_reload_rpc(system):
    """notify_smime.reload reloads the keys and CA set; with a broken key
    file it refuses and the loaded keys stay in force."""
    rc, out = system.rpc("ps", "notify_smime.reload")
    assert rc == 0 and "reloaded" in out, out
    key = os.path.join(certs(system), "ps.key")
    with open(key, "rb") as f:
        good = f.read()
    try:
        with open(key, "wb") as f:
            f.write(b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
        rc, out = system.rpc("ps", "notify_smime.reload")
        assert rc != 0 or "error" in out.lower(), out
        assert "key_file" in out
    finally:
        with open(key, "wb") as f:
            f.write(good)
    assert "BEGIN" not in system.ps.log_text()[-20000:], "key material in the log"


def restart_ps(system, env):
    """The PS stopped and started again with env; presence and
    notify_smime keep their state in the database."""
    system.ps.stop()
    system.ps = h.Role("ps", system.run_dir, env)
    system.ps.start()
    deadline = time.monotonic() + 20
    assert h.wait_tcp(h.PS_IP, SIP_PORT, deadline)
    while h.status_code(h.options(h.PS_IP, h.PROBE_IP, timeout=0.5)) != 200:
        assert time.monotonic() < deadline, "PS does not answer OPTIONS"


@pytest.fixture
def signing_ps(system):
    """The PS restarted with -A SMIME_SIGN (modparam sign 1) for one test,
    then restarted as before."""
    plain_env = system.ps.env
    restart_ps(system, dict(plain_env, EXTRA_DEFINES=plain_env["EXTRA_DEFINES"] + " SMIME_SIGN"))
    try:
        yield system
    finally:
        restart_ps(system, plain_env)


def test_binding_survives_restart(system, registered):
    """The binding is written to smime_binding before it is cached: after a
    restart of the PS the cache is loaded from the table, and the next
    NOTIFY of the subscription is still encrypted to the certificate bound
    at SUBSCRIBE (bob's store row is gone meanwhile, so no other source
    could give it)."""
    system.set_pres_rules("alice", rules(("bob", True)))
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        _, final, _ = publish_then_subscribe(system, ua, "before-" + uuid.uuid4().hex)
        store_cert(system, "bob", False)
        offset = len(system.ps.log_text())
        restart_ps(system, system.ps.env)
        assert system.ps.wait_log(r"[1-9]\d* subscription bindings loaded from table 'smime_binding'",
                                  start=offset)
        note = "after-" + uuid.uuid4().hex
        r, published = publish(system, note)
        assert r is not None and r.status == 200, r and r.first
        n = ua.wait_notify(5)
        assert n is not None, "no NOTIFY after the restart"
        assert n.first_value("Content-Type") == P7M_CTYPE
        pidf = decrypt(system, "bob", raw_body(n)).partition(b"\r\n\r\n")[2]
        assert pidf == published
        unsubscribe(ua, final)
    finally:
        ua.close()


def split_signed(body, boundary):
    """The two parts of a multipart/signed body (RFC 1847, RFC 2046 5.1.1),
    split here independently of the module: the signed entity exactly as
    signed, and the signature part's body (binary DER, as SIP carries it)."""
    delim = b"--" + boundary
    assert body.startswith(delim + b"\r\n"), body[:80]
    rest = body[len(delim) + 2:]
    first, _, rest = rest.partition(b"\r\n" + delim + b"\r\n")
    second, _, tail = rest.partition(b"\r\n" + delim + b"--")
    assert tail in (b"", b"\r\n"), tail[:40]
    sig_head, _, sig = second.partition(b"\r\n\r\n")
    assert b"application/pkcs7-signature" in sig_head, sig_head
    return first, sig


def test_signed_then_encrypted_verifies_with_openssl(signing_ps, registered, tmp_path):
    """modparam sign: bob's NOTIFY, decrypted with his key, is a
    multipart/signed entity (protocol application/pkcs7-signature,
    micalg sha-256) that `openssl cms -verify` accepts against the demo CA,
    signed by the PS's certificate, its content alice's PIDF byte for
    byte."""
    system = signing_ps
    system.set_pres_rules("alice", rules(("bob", True)))
    note = "signed-" + uuid.uuid4().hex
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        published, final, n = publish_then_subscribe(system, ua, note)
        entity = decrypt(system, "bob", raw_body(n))
        head = entity.split(b"\r\n\r\n", 1)[0].decode()
        assert re.match(r'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
                        r' micalg=sha-256; boundary="?[^"\r\n]+"?$', head), head
        boundary = re.search(r'boundary="?([^";\r\n]+)"?', head).group(1).encode()
        content, sig = split_signed(entity.split(b"\r\n\r\n", 1)[1], boundary)
        c = certs(system)
        files = {n: os.path.join(str(tmp_path), n) for n in ("content", "sig.p7s", "signer.pem")}
        with open(files["content"], "wb") as f:
            f.write(content)

        def verify(sig_der):
            with open(files["sig.p7s"], "wb") as f:
                f.write(sig_der)
            return openssl("cms", "-verify", "-inform", "DER", "-binary",
                           "-in", files["sig.p7s"], "-content", files["content"],
                           "-CAfile", os.path.join(c, "ca.pem"),
                           "-signer", files["signer.pem"])
        rc, out, err = verify(sig)
        assert rc == 0, err
        assert "Verification successful" in err
        # signed by the PS's own certificate
        rc2, fp_signer, _ = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", files["signer.pem"])
        rc3, fp_ps, _ = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", os.path.join(c, "ps.pem"))
        assert rc2 == rc3 == 0 and fp_signer == fp_ps
        inner_head, _, pidf = out.partition(b"\r\n\r\n")
        assert inner_head == b"Content-Type: application/pidf+xml"
        assert pidf == published, "signed content is not alice's PIDF byte for byte"
        # the same command refuses the signature over other bytes
        with open(files["content"], "wb") as f:
            f.write(content.replace(note.encode(), b"x" * len(note)))
        rc, _, err = verify(sig)
        assert rc != 0 and "Verification successful" not in err
        unsubscribe(ua, final)
    finally:
        ua.close()


@pytest.fixture
def cert_server_ps(system):
    """An HTTPS credential server (nginx, certificate from the demo CA) and
    the PS restarted with cert_url pointing at it, for one test."""
    from xcap_nginx import XcapNginx
    x = XcapNginx(system.run_dir)
    certs_dir = os.path.join(x.docroot, "xcap-root", "certs")
    os.makedirs(certs_dir, mode=0o755)
    os.chmod(certs_dir, 0o755)
    x.start()
    plain_env = system.ps.env
    url = f"https://{x.ip}:{x.port}/xcap-root/certs/{{aor}}.pem"
    try:
        restart_ps(system, dict(plain_env, EXTRA_DEFINES=plain_env["EXTRA_DEFINES"]
                                + f' SMIME_CERT_URL="{url}" SMIME_CERT_URL_CA="{system.ca}"'))
        yield system, certs_dir, x
    finally:
        restart_ps(system, plain_env)
        x.stop()
        x.close()


def serve_cert(certs_dir, aor_user, pem_of):
    path = os.path.join(certs_dir, f"{aor_user}@{DOMAIN}.pem")
    with open(pem_of) as f, open(path, "w") as g:
        g.write(f.read())
    os.chmod(path, 0o644)


def test_certificate_from_credential_server(cert_server_ps, registered):
    """Neither the SUBSCRIBE nor the table has bob's certificate: the PS
    fetches it over HTTPS from cert_url (checked against the CA), and the
    NOTIFY is encrypted to it. carol's certificate served for bob is
    refused (its subjectAltName is not bob's SIP URI): 403, and the log
    says which check failed."""
    system, certs_dir, nginx = cert_server_ps
    system.set_pres_rules("alice", rules(("bob", True)))
    store_cert(system, "bob", False)
    c = certs(system)
    serve_cert(certs_dir, "bob", os.path.join(c, "carol.pem"))
    offset = len(system.ps.log_text())
    note = "https-" + uuid.uuid4().hex
    r, published = publish(system, note)
    assert r is not None and r.status == 200, r and r.first
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        final, n = subscribe(ua, "alice")
        assert final is not None and final.status == 403, final and final.first
        assert n is None
        assert system.ps.wait_log(r"credential server's certificate for sip:bob@example\.com"
                                  r" refused: .*", start=offset)
        serve_cert(certs_dir, "bob", os.path.join(c, "bob.pem"))
        ua.call_id = uuid.uuid4().hex
        final, n = subscribe(ua, "alice")
        assert final is not None and final.status in (200, 202), final and final.first
        assert n is not None and n.first_value("Content-Type") == P7M_CTYPE
        pidf = decrypt(system, "bob", raw_body(n)).partition(b"\r\n\r\n")[2]
        assert pidf == published
        rc, out = system.rpc("ps", "notify_smime.cert", f"sip:bob@{DOMAIN}")
        assert rc == 0 and "https" in out, out
        unsubscribe(ua, final)
    finally:
        ua.close()
    with open(nginx.access_log) as f:
        assert f.read().count(f"GET /xcap-root/certs/bob@{DOMAIN}.pem") >= 2
