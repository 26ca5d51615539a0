"""Issue 5: the trust domain by TLS peer certificate (sip_privacy
trusted_tls). The P-CSCF's cfg trusts "dns:peer.example.com": a TLS client
on mallory's address (outside the trust domain by address) that presents
the demo CA's certificate for peer.example.com is trusted, its
P-Asserted-Identity kept; the same client with another demo-CA certificate
(bob's), with none, or with a self-signed certificate for the same name is
not: the PAI is removed and counted. Seen on the wire at carol's socket,
the next hop of an in-dialog NOTIFY the client sends through the P-CSCF.
"""
import os
import socket
import ssl
import subprocess
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, TLS_PORT
from test_sip_privacy import carol, req_lines, send, sppriv, stat, wait_request  # noqa: F401

PAI = f"<sip:alice@{DOMAIN}>"


class TlsClient(sipua.UA):
    """A UA over TLS from `ip` whose client certificate is (cert, key), or
    none; it verifies the P-CSCF against the demo CA."""

    def __init__(self, user, ip, ca, cert=None):
        self.user, self.ip, self.proxy = user, ip, (PCSCF_IP, TLS_PORT)
        self.transport = "tls"
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.bind((ip, 0))
        raw.settimeout(5)
        raw.connect(self.proxy)
        ctx = ssl.create_default_context(cafile=ca)
        if cert:
            ctx.load_cert_chain(*cert)
        self.sock = ctx.wrap_socket(raw, server_hostname=PCSCF_IP)
        self.buf = b""
        self.port = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex
        self.tag = uuid.uuid4().hex[:10]
        self.cseq = 0
        self.notifies = []


def certs(system, name):
    d = os.path.join(system.run_dir, "certs")
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def notify_over_tls(client, carol):
    """An in-dialog NOTIFY with a PAI and Privacy: none from client through
    the P-CSCF (the Record-Route entry it would have written for carol's
    SUBSCRIBE without privacy) to carol; (what carol got or None, the
    client's response)."""
    call_id = uuid.uuid4().hex
    ctag = f"c{uuid.uuid4().hex[:8]}"
    lines = req_lines(
        client, "NOTIFY", f"sip:carol@{carol.ip}:{carol.port}",
        [f"Route: <sip:{PCSCF_IP}:{TLS_PORT};transport=tls;lr;ftag={ctag};"
         f"sppriv={sppriv('-', ctag, call_id)}>",
         f"Contact: <sip:peer@{client.ip}:{client.port};transport=tls>",
         "Event: presence", "Subscription-State: active;expires=60",
         f"P-Asserted-Identity: {PAI}", "Privacy: none"],
        call_id=call_id, to=f"<sip:carol@{DOMAIN}>;tag={ctag}")
    lines[1] = lines[1].replace("SIP/2.0/UDP", "SIP/2.0/TLS")
    send(client, lines)
    got = wait_request(carol, "NOTIFY", call_id, timeout=3.0)
    return got, client.final_response()


@pytest.mark.parametrize("cert,trusted", [
    ("peer", True),    # demo CA, DNS:peer.example.com: configured
    ("bob", False),    # demo CA, but sip:bob@example.com: not configured
    (None, False),     # no certificate at all
])
def test_tls_peer_trusted_by_certificate(system, carol, cert, trusted):
    before = stat(system, "pai_removed_untrusted")
    client = TlsClient("mallory", h.UA_IP["mallory"], system.ca,
                       certs(system, cert) if cert else None)
    try:
        got, r = notify_over_tls(client, carol)
    finally:
        client.close()
    assert got is not None, "NOTIFY not delivered to carol"
    assert r is not None and r.status == 200, r and r.first
    assert got.get("P-Asserted-Identity") == ([PAI] if trusted else [])
    assert stat(system, "pai_removed_untrusted") - before == (0 if trusted else 1)


def test_self_signed_certificate_for_the_name_never_trusted(system, carol, tmp_path):
    """A certificate for DNS:peer.example.com that the demo CA did not issue:
    the P-CSCF's tls profile does not verify it (the handshake fails, or if
    it went through the certificate would not count): the NOTIFY never
    reaches carol with the PAI."""
    key, pem = str(tmp_path / "fake.key"), str(tmp_path / "fake.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "1", "-keyout", key, "-out", pem,
                    "-subj", "/CN=peer.example.com",
                    "-addext", "subjectAltName=DNS:peer.example.com"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    offset = len(system.pcscf.log_text())
    got = None
    try:
        client = TlsClient("mallory", h.UA_IP["mallory"], system.ca, (pem, key))
        try:
            got, _ = notify_over_tls(client, carol)
        finally:
            client.close()
    except (ssl.SSLError, OSError):
        pass  # refused in the handshake (TLS 1.2)
    assert got is None or got.get("P-Asserted-Identity") == []
    # the P-CSCF says why (tls module: verification failed)
    assert system.pcscf.wait_log(r"verify error|certificate verify failed|self.signed",
                                 timeout=5, start=offset)


def test_rpc_lists_tls_peers(system):
    rc, out = system.rpc("pcscf", "sip_privacy.trusted")
    assert rc == 0, out
    assert "tls dns:peer.example.com" in out.splitlines()
