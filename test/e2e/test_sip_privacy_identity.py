"""Issue 5: identity assertion at the P-CSCF (RFC 3325, TS 24.229) and the
subscriber tables of sip_privacy. Checked on the wire:

 - bob and alice are registered from raw sockets of this test (UDP or TLS),
   so that the P-CSCF delivers to alice what it relays to her (a MESSAGE
   after lookup("location")) and bob's source is exactly known;
 - toward the PS: a capture of the loopback interface shows the SUBSCRIBE
   as the P-CSCF sent it.

The demo identities (scripts/provision.sh): each user owns sip:USER@DOMAIN
(default) and tel:+155501000N (alice 1, bob 2, carol 3).
"""
import os
import re
import sqlite3

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, SIP_PORT, TLS_PORT
from test_sip_privacy import answer_200, stat, subscribe_to_ps

BOB_SIP = f"sip:bob@{DOMAIN}"
BOB_TEL = "tel:+15550100002"
FORGED = f"P-Asserted-Identity: <sip:carol@{DOMAIN}>, <tel:+15550100003>"


def register(ua, contact, expires=600):
    r = ua.register(h.USERS[ua.user], contact, expires)
    assert r is not None and r.status == 200, r and r.first
    return r


def registered_ua(user, transport="udp", ca=None):
    """A UA registered as the only contact of `user`."""
    port = SIP_PORT if transport == "udp" else TLS_PORT
    ua = sipua.new_ua(user, h.UA_IP[user], (PCSCF_IP, port), transport,
                      ca=ca, register=False)
    tp = "" if transport == "udp" else ";transport=tls"
    register(ua, "*", 0)
    register(ua, f"<sip:{user}@{ua.ip}:{ua.port}{tp}>")
    return ua


def unregister(ua):
    try:
        ua.register(h.USERS[ua.user], "*", 0)
    finally:
        ua.close()


@pytest.fixture
def alice(system):
    ua = registered_ua("alice")
    yield ua
    unregister(ua)


@pytest.fixture
def bob(system):
    ua = registered_ua("bob")
    yield ua
    unregister(ua)


def wait_message(ua, call_id, timeout=3.0):
    """The MESSAGE of call_id that reaches ua (answered 200), or None."""
    for _ in range(50):
        m = ua.recv(timeout)
        if m is None:
            return None
        if m.method == "MESSAGE" and m.first_value("Call-ID") == call_id:
            answer_200(ua, m)
            return m
    return None


def message(src, dst, headers=(), body=b"hi"):
    """A MESSAGE from src to dst's AOR: (what dst got or None, the final
    response src got)."""
    call_id = src.request("MESSAGE", f"sip:{dst.user}@{DOMAIN}",
                      ["Content-Type: text/plain", *headers], body)
    got = wait_message(dst, call_id)
    return got, src.final_response()


def pai_of(m):
    vals = []
    for v in m.get("P-Asserted-Identity"):
        vals += [x.strip() for x in v.split(",")]
    return vals


def test_forged_pai_replaced_by_asserted_default(system, alice, bob):
    """bob forges carol's identities: alice receives bob's default identity
    as the only P-Asserted-Identity."""
    asserted = stat(system, "pai_asserted")
    removed = stat(system, "pai_removed_untrusted")
    got, r = message(bob, alice, [FORGED])
    assert got is not None, "MESSAGE not delivered to alice"
    assert r is not None and r.status == 200, r and r.first
    assert pai_of(got) == [f"<{BOB_SIP}>"]
    assert b"carol" not in got.raw
    assert stat(system, "pai_asserted") - asserted == 1
    assert stat(system, "pai_removed_untrusted") - removed == 1


@pytest.mark.parametrize("ppi,expected,refused", [
    (f"<{BOB_TEL}>", [f"<{BOB_TEL}>"], 0),  # his tel identity
    (f"\"Bob\" <{BOB_SIP}>", [f"<{BOB_SIP}>"], 0),  # his sip one, no name
    ("<tel:+1-555-010-0002>", [f"<{BOB_TEL}>"], 0),  # same number, written apart
    (f"<{BOB_SIP}>, <{BOB_TEL}>", [f"<{BOB_SIP}>", f"<{BOB_TEL}>"], 0),
    (f"<sip:alice@{DOMAIN}>", [f"<{BOB_SIP}>"], 1),  # not his: default
    ("<tel:+15550100001>", [f"<{BOB_SIP}>"], 1),  # alice's tel: default
    ("not an identity", [f"<{BOB_SIP}>"], 1),  # unparsable: default
])
def test_ppi(system, alice, bob, ppi, expected, refused):
    before = stat(system, "ppi_refused")
    got, r = message(bob, alice, [f"P-Preferred-Identity: {ppi}"])
    assert got is not None, "MESSAGE not delivered to alice"
    assert pai_of(got) == expected
    assert got.get("P-Preferred-Identity") == []
    assert stat(system, "ppi_refused") - before == refused


@pytest.mark.parametrize("privacy,kept", [
    ("id", False), ("none", True), (None, True)])
def test_asserted_identity_obeys_privacy_toward_ue(system, alice, bob,
                                                  privacy, kept):
    """The identity the P-CSCF asserted itself is withheld from alice's UA
    (untrusted) when bob asks for "id", like any other PAI."""
    before = stat(system, "pai_removed_privacy")
    hdrs = [f"Privacy: {privacy}"] if privacy else []
    got, r = message(bob, alice, hdrs)
    assert got is not None, "MESSAGE not delivered to alice"
    assert pai_of(got) == ([f"<{BOB_SIP}>"] if kept else [])
    assert got.get("Privacy") == ([privacy] if privacy else [])
    assert stat(system, "pai_removed_privacy") - before == (0 if kept else 1)


def test_other_port_refused_without_pai(system, alice, bob):
    """A request from bob's address but another port than his registered
    contact: 403, nothing delivered, nothing asserted."""
    other = sipua.new_ua("bob", bob.ip, (PCSCF_IP, SIP_PORT), register=False)
    try:
        asserted = stat(system, "pai_asserted")
        got, r = message(other, alice, [FORGED])
        assert r is not None and r.status == 403, r and r.first
        assert r.first == "SIP/2.0 403 Not A Registered Contact"
        assert got is None, "MESSAGE from an unregistered port delivered"
        assert stat(system, "pai_asserted") == asserted
    finally:
        other.close()


def test_other_transport_refused(system, alice, bob):
    """bob registered over UDP; the same address over TLS is not his
    contact."""
    other = sipua.new_ua("bob", bob.ip, (PCSCF_IP, TLS_PORT), "tls",
                         ca=system.ca, register=False)
    try:
        got, r = message(other, alice)
        assert r is not None and r.status == 403, r and r.first
        assert got is None
    finally:
        other.close()


def test_tls_connection_is_the_contact(system, alice):
    """bob registered over a TLS connection: requests over it are asserted
    (the connection matched), a second connection from the same address is
    refused."""
    bob = registered_ua("bob", "tls", ca=system.ca)
    other = None
    try:
        got, r = message(bob, alice, [f"P-Preferred-Identity: <{BOB_TEL}>"])
        assert got is not None, "MESSAGE over bob's TLS connection not delivered"
        assert r is not None and r.status == 200, r and r.first
        assert pai_of(got) == [f"<{BOB_TEL}>"]
        other = sipua.new_ua("bob", bob.ip, (PCSCF_IP, TLS_PORT), "tls",
                         ca=system.ca, register=False)
        got, r = message(other, alice)
        assert r is not None and r.status == 403, r and r.first
        assert got is None
    finally:
        if other:
            other.close()
        unregister(bob)


def test_subscribe_to_ps_carries_asserted_identity(system, bob):
    """The SUBSCRIBE the P-CSCF sends to the PS carries bob's asserted
    identity, once, and nothing bob forged."""
    r, sent = subscribe_to_ps(bob, extra=[FORGED])
    assert r is not None, "no final response to the SUBSCRIBE"
    for p in sent:
        pais = re.findall(rb"(?im)^P-Asserted-Identity:\s*(.*?)\r$", p)
        assert pais == [f"<{BOB_SIP}>".encode()]
        assert b"carol" not in p


def rpc_ok(system, *args):
    rc, out = system.rpc("pcscf", *args)
    assert rc == 0 and not out.startswith("error:"), out
    return out


def test_rpc_subscriber(system):
    out = rpc_ok(system, "sip_privacy.subscriber", BOB_SIP)
    assert f"aor: {BOB_SIP}" in out
    ids = re.findall(r"uri: (\S+)\s+default: (\d)", out)
    assert ids == [(BOB_SIP, "1"), (BOB_TEL, "0")], out
    assert re.search(r"blocking: none", out), out


@pytest.mark.parametrize("aor,error", [
    ("bob", "400 - malformed AOR"),
    ("tel:+15550100002", "400 - malformed AOR"),
    (f"sip:{DOMAIN}", "400 - malformed AOR"),
    (f"sip:zed@{DOMAIN}", "404 - unknown user"),
    ("sip:bob@other.example", "404 - unknown user"),
])
def test_rpc_subscriber_errors(system, aor, error):
    # kamcmd exits 0 and prints "error: CODE - TEXT" for an RPC fault
    _, out = system.rpc("pcscf", "sip_privacy.subscriber", aor)
    assert out.startswith(f"error: {error}"), out


def pcscf_db(system):
    return sqlite3.connect(os.path.join(system.run_dir, "pcscf", "pcscf.db"),
                           timeout=5)


def db_exec(system, sql, *args):
    db = pcscf_db(system)
    with db:
        db.execute(sql, args)
    db.close()


def test_reload(system, alice, bob):
    """A row inserted then sip_privacy.reload: the RPC shows it and the
    message path uses it; a bad row makes the reload fail and the tables in
    force stay. (The MESSAGEs say Privacy: none: bob's network-provided
    blocking of MESSAGE would otherwise withhold the identity from alice.)"""
    extra = "tel:+15559990002"
    try:
        db_exec(system, "INSERT INTO sp_identity (username, domain, identity,"
                " is_default) VALUES ('bob', ?, ?, 0)", DOMAIN, extra)
        db_exec(system, "INSERT INTO sp_blocking (username, domain, methods)"
                " VALUES ('bob', ?, 'SUBSCRIBE, message')", DOMAIN)
        # not yet in force
        got, _ = message(bob, alice, [f"P-Preferred-Identity: <{extra}>", "Privacy: none"])
        assert got is not None and pai_of(got) == [f"<{BOB_SIP}>"]
        assert "ok" in rpc_ok(system, "sip_privacy.reload")
        out = rpc_ok(system, "sip_privacy.subscriber", BOB_SIP)
        assert extra in out and "blocking: SUBSCRIBE,MESSAGE" in out, out
        got, _ = message(bob, alice, [f"P-Preferred-Identity: <{extra}>", "Privacy: none"])
        assert got is not None and pai_of(got) == [f"<{extra}>"]

        # a bad row: the reload fails, naming it, and nothing changes
        db_exec(system, "INSERT INTO sp_blocking (username, domain, methods)"
                " VALUES ('carol', ?, 'SUBSCRIBE,FETCH')", DOMAIN)
        _, out = system.rpc("pcscf", "sip_privacy.reload")
        assert out.startswith("error: 500 - reload failed"), out
        assert "methods list unreadable" in out and "carol" in out, out
        out = rpc_ok(system, "sip_privacy.subscriber", BOB_SIP)
        assert extra in out and "blocking: SUBSCRIBE,MESSAGE" in out, out
        got, _ = message(bob, alice, [f"P-Preferred-Identity: <{extra}>", "Privacy: none"])
        assert got is not None and pai_of(got) == [f"<{extra}>"]
    finally:
        db_exec(system, "DELETE FROM sp_identity WHERE identity = ?", extra)
        db_exec(system, "DELETE FROM sp_blocking")
        assert "ok" in rpc_ok(system, "sip_privacy.reload")
    out = rpc_ok(system, "sip_privacy.subscriber", BOB_SIP)
    assert extra not in out and "blocking: none" in out, out
