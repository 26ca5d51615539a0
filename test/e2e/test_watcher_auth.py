"""Issue 3: watcher_auth, digest authentication of watchers against the
presentity's Subscription Authorization Policy, through P-CSCF -> PS."""
import re
import time
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, PS_IP, SIP_PORT, TLS_PORT, XCAP_PORT

NS = ('xmlns:cr="urn:ietf:params:xml:ns:common-policy" '
      'xmlns:pr="urn:ietf:params:xml:ns:pres-rules" '
      'xmlns:ps="urn:x-presence-security:rules"')
TRANSFORMATIONS = ("<cr:transformations><pr:provide-services><pr:all-services/>"
                   "</pr:provide-services><pr:provide-persons><pr:all-persons/>"
                   "</pr:provide-persons><pr:provide-devices><pr:all-devices/>"
                   "</pr:provide-devices><pr:provide-all-attributes/>"
                   "</cr:transformations>")
PRESENTITY_REALM = f"alice@{DOMAIN}"
BOB_SECRET = "alice-gave-bob-this"
BOB_HA1 = sipua.ha1_of("MD5", f"bob@{DOMAIN}", PRESENTITY_REALM, BOB_SECRET)
BOB_HA1_256 = sipua.ha1_of("SHA-256", f"bob@{DOMAIN}", PRESENTITY_REALM, BOB_SECRET)


def policy(authenticate=None, watcher="bob", sub="allow"):
    """alice's pres-rules: one rule for watcher, with an optional
    <ps:authenticate .../> whose attributes are given."""
    auth = ""
    if authenticate is not None:
        attrs = " ".join(f'{k}="{v}"' for k, v in authenticate.items())
        auth = f"<ps:authenticate {attrs}/>"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset {NS}>'
            f'<cr:rule id="r1"><cr:conditions><cr:identity>'
            f'<cr:one id="sip:{watcher}@{DOMAIN}"/></cr:identity></cr:conditions>'
            f"<cr:actions><pr:sub-handling>{sub}</pr:sub-handling>{auth}"
            f"</cr:actions>{TRANSFORMATIONS}</cr:rule></cr:ruleset>")


@pytest.fixture
def published(system, tmp_path):
    """alice and bob registered, alice's presence published: the note."""
    h.register("alice", tmp_path)
    h.register("bob", tmp_path)
    note = "note-" + uuid.uuid4().hex
    r = h.sipp("publish", "alice", tmp_path, keys={"note": note})
    assert r.rc == 0, r.stderr
    return note


def bob_ua(system, transport="udp"):
    port = SIP_PORT if transport == "udp" else TLS_PORT
    return sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, port), transport, ca=system.ca)


def subscribe_with(ua, creds, alg_pick=None):
    """SUBSCRIBE (a fetch), answer the challenge with creds (dict with ha1 or
    password); returns (challenge response, final response)."""
    _, r401 = ua.subscribe("alice")
    assert r401 is not None and r401.status == 401, r401 and r401.first
    chs = sipua.challenges(r401)
    ch = chs[0] if alg_pick is None else next(c for c in chs if c.get("algorithm") == alg_pick)
    auth = sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE",
                               f"sip:alice@{DOMAIN}", **creds)
    _, final = ua.subscribe("alice", auth=auth)
    return r401, final


def test_challenge_then_success_md5_sipp(system, published, tmp_path):
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}))
    r = h.sipp("subscribe_auth", "bob", tmp_path,
               keys={"presentity": "alice", "expires": "0"},
               auth=(f"bob@{DOMAIN}", BOB_SECRET),
               extra=["-auth_uri", f"alice@{DOMAIN}"])
    assert r.rc == 0, r.stderr
    r401 = sipua.Msg(r.received()[0].replace("\n", "\r\n").encode())
    chs = sipua.challenges(r401)
    # an ha1 alone can verify MD5 only: exactly one challenge
    assert [c.get("algorithm") for c in chs] == ["MD5"]
    assert chs[0]["realm"] == PRESENTITY_REALM and chs[0]["qop"] == "auth"
    notify = [m for m in r.received() if m.startswith("NOTIFY ")][0]
    assert published in notify


def test_password_policy_offers_sha256_first(system, published):
    system.set_pres_rules("alice", policy({"method": "digest", "password": BOB_SECRET}))
    ua = bob_ua(system)
    try:
        r401, final = subscribe_with(ua, {"password": BOB_SECRET})
        assert [c.get("algorithm") for c in sipua.challenges(r401)] == ["SHA-256", "MD5"]
        assert final.status == 200
        n = ua.wait_notify()
        assert n is not None and published in n.body
    finally:
        ua.close()


@pytest.mark.parametrize("stored,creds,alg", [
    # the policy holds the password; the client knows only the MD5 HA1
    ({"password": BOB_SECRET}, {"ha1": BOB_HA1}, "MD5"),
    # the policy holds the MD5 HA1; the client knows the password
    ({"ha1": BOB_HA1}, {"password": BOB_SECRET}, "MD5"),
    # SHA-256 HA1 stored, SHA-256 answered
    ({"ha1-sha256": BOB_HA1_256}, {"password": BOB_SECRET}, "SHA-256"),
    ({"ha1": BOB_HA1, "ha1-sha256": BOB_HA1_256}, {"ha1": BOB_HA1_256}, "SHA-256"),
], ids=["password-vs-ha1-client", "ha1-vs-password-client", "sha256", "sha256-ha1-client"])
def test_credential_kinds_succeed(system, published, stored, creds, alg):
    system.set_pres_rules("alice", policy(dict(method="digest", **stored)))
    ua = bob_ua(system)
    try:
        _, final = subscribe_with(ua, creds, alg_pick=alg)
        assert final.status == 200, final.first
    finally:
        ua.close()


def test_wrong_password_403_logged_without_secrets(system, published, tmp_path):
    """auth_retries=1 in the test system: the first wrong answer is
    challenged again, the second gets 403; nothing secret is logged."""
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}))
    offset = len(system.ps.log_text())
    ua = bob_ua(system)
    nonces = []
    try:
        _, r = ua.subscribe("alice")
        codes = [r.status]
        for _ in range(h.AUTH_RETRIES + 1):
            ch = sipua.challenges(r)[0]
            nonces.append(ch["nonce"])
            auth = sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE",
                                       f"sip:alice@{DOMAIN}", password="not-what-alice-said")
            _, r = ua.subscribe("alice", auth=auth)
            codes.append(r.status)
        assert codes == [401] * (h.AUTH_RETRIES + 1) + [403]
        # a new attempt (another Call-ID) starts counting again
        ua2 = bob_ua(system)
        try:
            _, r = ua2.subscribe("alice")
            ch = sipua.challenges(r)[0]
            auth = sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE",
                                       f"sip:alice@{DOMAIN}", ha1=BOB_HA1)
            assert ua2.subscribe("alice", auth=auth)[1].status == 200
        finally:
            ua2.close()
    finally:
        ua.close()
    assert system.ps.wait_log(r"digest authentication of watcher sip:bob@example.com "
                              r"for presentity sip:alice@example.com from " + re.escape(PCSCF_IP),
                              start=offset)
    log = system.ps.log_text()[offset:]
    for secret in ["not-what-alice-said", BOB_HA1] + nonces:
        assert secret not in log


def test_wrong_password_sipp_never_200(system, published, tmp_path):
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}))
    r = h.sipp("subscribe_auth", "bob", tmp_path,
               keys={"presentity": "alice", "expires": "0"},
               auth=(f"bob@{DOMAIN}", "not-what-alice-said"),
               extra=["-auth_uri", f"alice@{DOMAIN}"])
    codes = [h.status_code(m.encode()) for m in r.received() if m.startswith("SIP/2.0")]
    assert r.rc != 0 and codes[0] == 401 and 200 not in codes


def test_replayed_authorization_never_200(system, published):
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}))
    ua = bob_ua(system)
    try:
        _, r401 = ua.subscribe("alice")
        ch = sipua.challenges(r401)[0]
        auth = sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE",
                                   f"sip:alice@{DOMAIN}", ha1=BOB_HA1)
        _, ok = ua.subscribe("alice", auth=auth)
        assert ok.status == 200
        # the same Authorization again, in a new transaction
        _, again = ua.subscribe("alice", auth=auth)
        assert again.status == 401
        assert all(c.get("stale") == "true" for c in sipua.challenges(again))
        # and in a new dialog altogether
        ua2 = bob_ua(system)
        try:
            _, other = ua2.subscribe("alice", auth=auth)
            assert other.status != 200
        finally:
            ua2.close()
    finally:
        ua.close()


def test_expired_nonce_stale_challenge(system, published):
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}))
    ua = bob_ua(system)
    try:
        _, r401 = ua.subscribe("alice")
        ch = sipua.challenges(r401)[0]
        time.sleep(h.NONCE_EXPIRE + 1.5)
        auth = sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE",
                                   f"sip:alice@{DOMAIN}", ha1=BOB_HA1)
        _, r = ua.subscribe("alice", auth=auth)
        assert r.status == 401
        assert sipua.challenges(r)[0].get("stale") == "true"
    finally:
        ua.close()


def test_policy_without_authenticate_no_challenge(system, published):
    system.set_pres_rules("alice", policy(None))
    ua = bob_ua(system)
    try:
        _, r = ua.subscribe("alice")
        assert r.status == 200
        n = ua.wait_notify()
        assert n is not None and published in n.body
    finally:
        ua.close()


def test_tls_only_rule_over_udp_403(system, published):
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1,
                                           "transport": "tls"}))
    ua = bob_ua(system)
    try:
        # a UE cannot claim its own leg was TLS
        _, r = ua.subscribe("alice", extra=["P-Watcher-Leg: tls"])
        assert r.status == 403
        assert any("TLS required" in w for w in r.get("Warning"))
    finally:
        ua.close()


def test_tls_only_rule_over_tls_challenged_then_ok(system, published):
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1,
                                           "transport": "tls"}))
    ua = bob_ua(system, "tls")
    try:
        r401, final = subscribe_with(ua, {"ha1": BOB_HA1})
        assert final.status == 200, final.first
    finally:
        ua.close()


def test_trusted_pai_accepted_untrusted_ignored(system, published, tmp_path):
    # bob is allowed without digest; anybody else has no rule
    system.set_pres_rules("alice", policy(None))
    pai = [f"P-Asserted-Identity: <sip:bob@{DOMAIN}>"]
    # a trusted peer asserts bob for an anonymous From: bob's rule applies
    peer = sipua.new_ua("peer", h.TRUSTED_PEER_IP, (PS_IP, SIP_PORT))
    try:
        _, r = peer.subscribe("alice", extra=pai, from_user="anonymous")
        assert r.status == 200
        n = peer.wait_notify()
        assert n is not None and published in n.body
    finally:
        peer.close()
    # the same PAI from an untrusted address is not believed
    mallory = sipua.new_ua("mallory", h.UA_IP["mallory"], (PS_IP, SIP_PORT))
    try:
        _, r = mallory.subscribe("alice", extra=pai, from_user="mallory")
        assert r is not None
        n = mallory.wait_notify() if r.status in (200, 202) else None
        assert n is None or published not in n.body
    finally:
        mallory.close()


def ut_put(system, xml):
    from test_foundation import ut, xcap_url
    code, _ = ut("PUT", xcap_url("alice"), system, ("alice", h.USERS["alice"]), xml.encode())
    assert code in (200, 201)


def test_policy_change_through_ut_obeyed_next_subscribe(system, published):
    ua = bob_ua(system)
    try:
        ut_put(system, policy({"method": "digest", "ha1": BOB_HA1}))
        _, r = ua.subscribe("alice")
        assert r.status == 401
        ut_put(system, policy(None))
        _, r = ua.subscribe("alice")
        assert r.status == 200
    finally:
        ua.close()


@pytest.mark.parametrize("doc,why", [
    ("<cr:ruleset xmlns:cr='urn:ietf:params:xml:ns:common-policy'><cr:rule", "do not compile"),
    ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     "<r>&x;</r>", "do not compile"),
    (policy({"method": "basic", "password": "x"}), "authentication method other than digest"),
], ids=["truncated", "xxe", "unknown-method"])
def test_bad_policy_fails_closed(system, published, doc, why):
    system.set_pres_rules("alice", doc)
    offset = len(system.ps.log_text())
    ua = bob_ua(system)
    try:
        _, r = ua.subscribe("alice")
        assert r.status == 500
        assert ua.wait_notify(timeout=1) is None
    finally:
        ua.close()
    assert system.ps.wait_log(r"pres-rules of sip:alice@example.com .*" + re.escape(why),
                              start=offset)
    assert h.status_code(h.options(PS_IP, h.PROBE_IP)) == 200


def test_rpc_show_has_no_secrets(system):
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1,
                                           "password": BOB_SECRET}))
    rc, out = system.rpc("ps", "watcher_auth.show", f"sip:alice@{DOMAIN}")
    assert rc == 0 and "authenticate(digest" in out
    assert BOB_HA1 not in out and BOB_SECRET not in out


def test_response_without_qop_refused(system, published):
    """An RFC 2069 response (no qop, so no nonce count) could be replayed
    until its nonce expires: it is refused, never 200."""
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}))
    ua = bob_ua(system)
    try:
        _, r401 = ua.subscribe("alice")
        ch = sipua.challenges(r401)[0]
        uri = f"sip:alice@{DOMAIN}"
        resp = sipua.H("MD5", f"{BOB_HA1}:{ch['nonce']}:" + sipua.H("MD5", f"SUBSCRIBE:{uri}"))
        auth = (f'Digest username="bob@{DOMAIN}", realm="{ch["realm"]}", '
                f'nonce="{ch["nonce"]}", uri="{uri}", response="{resp}", algorithm=MD5')
        for _ in range(2):
            _, r = ua.subscribe("alice", auth=auth)
            assert r.status == 403
    finally:
        ua.close()


def test_reload_rpc_uses_canonical_key(system, published):
    """The presentity key is canonical (host lowercased): a reload named
    with another case drops the entry a SUBSCRIBE cached."""
    system.set_pres_rules("alice", policy(None))
    ua = bob_ua(system)
    try:
        assert ua.subscribe("alice")[1].status == 200  # cached now
    finally:
        ua.close()
    rc, out = system.rpc("ps", "watcher_auth.reload", "sip:alice@EXAMPLE.com")
    assert rc == 0 and "dropped 1 cached" in out, out
    rc, out = system.rpc("ps", "watcher_auth.reload", "not a uri")
    assert "400" in out and "Invalid presentity URI" in out, out


def test_write_bypassing_ut_seen_within_cache_ttl(system, published):
    """A policy written straight into the database (another node, plain
    SQL) is obeyed within cache_ttl seconds, without any reload."""
    system.set_pres_rules("alice", policy(None))
    ua = bob_ua(system)
    try:
        assert ua.subscribe("alice")[1].status == 200  # cached and trusted
        system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}),
                              reload=False)
        time.sleep(h.POLICY_CACHE_TTL + 1.1)
        assert ua.subscribe("alice")[1].status == 401
    finally:
        ua.close()


def test_refresh_and_unsubscribe_through_pcscf_authenticated(system, published):
    """A subscription authenticated with digest is refreshed and ended within
    its dialog through the P-CSCF. topos gives bob the P-CSCF's masked
    Contact as the remote target, which is the Request-URI he signs; the PS
    gets its own Contact there instead (flag h of watcher_auth_check(): the
    digest uri is not compared within a dialog). Each in-dialog SUBSCRIBE is
    challenged and accepted; the un-SUBSCRIBE ends the subscription."""
    from test_sip_privacy_winfo import Dialog
    system.set_pres_rules("alice", policy({"method": "digest", "ha1": BOB_HA1}))
    ua = bob_ua(system)
    try:
        _, r401 = ua.subscribe("alice", expires=60)
        assert r401 is not None and r401.status == 401, r401 and r401.first
        auth = sipua.authorization(sipua.challenges(r401)[0], f"bob@{DOMAIN}", "SUBSCRIBE",
                                   f"sip:alice@{DOMAIN}", ha1=BOB_HA1)
        d = Dialog(ua, "alice", "presence", headers=[f"Authorization: {auth}"], expires=60)
        assert PS_IP not in d.target, d.target   # topos: the P-CSCF's own
        for expires in (60, 0):
            r = d.send(expires)
            assert r is not None and r.status == 401, r and r.first
            auth = sipua.authorization(sipua.challenges(r)[0], f"bob@{DOMAIN}", "SUBSCRIBE",
                                       d.target, ha1=BOB_HA1)
            r = d.send(expires, [f"Authorization: {auth}"])
            assert r is not None and r.status in (200, 202), r and r.first
        # the un-SUBSCRIBE ended it: a NOTIFY saying so
        deadline = time.monotonic() + 5
        while not any("terminated" in (m.first_value("Subscription-State") or "")
                      for m in ua.notifies):
            assert time.monotonic() < deadline, "no terminating NOTIFY"
            m = ua.recv(0.5)
            if m is not None and m.method == "NOTIFY":
                ua.answer(m)
                ua.notifies.append(m)
    finally:
        ua.close()
