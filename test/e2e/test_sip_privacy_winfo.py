"""Issue 5, anonymous watchers at the Presence Server: bob subscribes to
alice's presence through the P-CSCF with "Privacy: id" (or "user"); the PS
authorizes him on his identity, but every presence.winfo NOTIFY alice
receives shows him only as sip:anonymous@anonymous.invalid, with an opaque
id that stays the same for his subscription. Checked on what alice's UA
receives (the whole message, every NOTIFY: full and partial, initial, after
bob's refresh and un-SUBSCRIBE, after a restart of the PS), and, where her
winfo is S/MIME encrypted, on the body openssl decrypts with her key.
"""
import re
import time
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, SIP_PORT
from test_notify_smime import (certs_only, decrypt, raw_body, restart_ps,
                               rules, send, P7M_CTYPE)
from test_sip_privacy import stat
from test_watcher_auth import policy

ANON = "sip:anonymous@anonymous.invalid"
BOB_NAME = "Bob Bobson"
WINFO_CT = "application/watcherinfo+xml"


class Dialog:
    """A subscription of ua: the initial SUBSCRIBE, refreshes and the
    un-SUBSCRIBE within its dialog."""

    def __init__(self, ua, presentity, event, headers=(), body=b"",
                 ctype=None, from_hdr=None, expires=600):
        self.ua, self.event, self.from_hdr = ua, event, from_hdr
        ruri = f"sip:{presentity}@{DOMAIN}"
        accept = WINFO_CT if event == "presence.winfo" else "application/pidf+xml"
        self.final = send(ua, "SUBSCRIBE", ruri, f"<{ruri}>",
                          [f"Event: {event}", f"Accept: {accept}, application/pkcs7-mime",
                           f"Expires: {expires}", *headers], body, ctype,
                          call_id=ua.call_id, from_hdr=from_hdr)
        assert self.final is not None and self.final.status in (200, 202), \
            self.final and self.final.first

    @property
    def target(self):
        """The remote target: the Contact of the 2xx."""
        return re.search(r"<([^>]+)>", self.final.first_value("Contact")).group(1)

    def send(self, expires=600, headers=()):
        """A SUBSCRIBE within the dialog; its final response."""
        rr = []
        for v in self.final.get("Record-Route"):
            rr += [x.strip() for x in v.split(",")]
        return send(self.ua, "SUBSCRIBE", self.target, self.final.first_value("To"),
                    [f"Event: {self.event}", f"Expires: {expires}", *headers],
                    call_id=self.ua.call_id, routes=list(reversed(rr)),
                    from_hdr=self.from_hdr)

    def refresh(self, expires=600, headers=()):
        r = self.send(expires, headers)
        assert r is not None and r.status in (200, 202), r and r.first
        return r

    def end(self, headers=()):
        return self.refresh(0, headers)


def notifies(ua, event, until, timeout=8.0):
    """alice's NOTIFYs of `event` (already queued, then arriving) until
    until(list) is true; asserts it became true within the timeout."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        while ua.notifies:
            m = ua.notifies.pop(0)
            if m.first_value("Event") == event:
                got.append(m)
        if until(got):
            return got
        left = deadline - time.monotonic()
        assert left > 0, f"no such {event} NOTIFY: {[m.raw[:400] for m in got]}"
        m = ua.recv(left)
        if m is not None and m.method == "NOTIFY":
            ua.answer(m)
            ua.notifies.append(m)


def winfo_body(system, m):
    """The watcherinfo document of a NOTIFY: as it came, or decrypted with
    alice's key when it came S/MIME encrypted."""
    ct = m.first_value("Content-Type") or ""
    if ct == P7M_CTYPE:
        entity = decrypt(system, "alice", raw_body(m))
        head, _, body = entity.partition(b"\r\n\r\n")
        assert WINFO_CT.encode() in head, head
        return body.decode()
    assert ct.startswith(WINFO_CT), m.raw[:600]
    return raw_body(m).decode()


def entries(doc):
    """(id, status, uri) of every <watcher> of a watcherinfo document."""
    out = []
    for attrs, uri in re.findall(r"<watcher\s([^>]*)>([^<]*)</watcher>", doc):
        a = dict(re.findall(r'([\w:-]+)="([^"]*)"', attrs))
        out.append((a.get("id"), a.get("status"), uri.strip()))
    return out


def assert_hidden(system, m, secrets):
    """Nothing of `secrets` anywhere in the NOTIFY alice got, nor in the
    watcherinfo she reads (decrypted when encrypted)."""
    doc = winfo_body(system, m)
    for s in secrets:
        assert s.lower() not in m.raw.decode(errors="replace").lower(), (s, m.raw)
        assert s.lower() not in doc.lower(), (s, doc)
    return doc


def anon_entries(doc):
    return [e for e in entries(doc) if e[2] == ANON]


def anon_ids_hidden(system, ua, secrets):
    """The ids of the anonymous watchers in the winfo NOTIFYs ua gets
    until one has any, each NOTIFY checked to hide every one of secrets."""
    n = notifies(ua, "presence.winfo",
                 lambda g: any(anon_entries(winfo_body(system, m)) for m in g))
    for m in n:
        doc = assert_hidden(system, m, secrets)
    return [e[0] for e in anon_entries(doc)]


def full_after_refresh(system, ua, secrets):
    """After ua refreshed its winfo subscription: its NOTIFYs until the
    full document the refresh brings (a partial one of an earlier change may
    still arrive before it), each checked to hide every one of secrets;
    (that full NOTIFY, its document)."""
    n = notifies(ua, "presence.winfo",
                 lambda g: any('state="full"' in winfo_body(system, m) for m in g))
    docs = [assert_hidden(system, m, secrets) for m in n]
    return [(m, d) for m, d in zip(n, docs) if 'state="full"' in d][-1]


@pytest.fixture
def users(system, tmp_path):
    for u in ("alice", "bob", "carol"):
        h.register(u, tmp_path)
    note = "note-" + uuid.uuid4().hex
    r = h.sipp("publish", "alice", tmp_path, keys={"note": note})
    assert r.rc == 0, r.stderr
    uas = {u: sipua.new_ua(u, h.UA_IP[u], (PCSCF_IP, SIP_PORT))
           for u in ("alice", "bob", "carol")}
    try:
        yield note, uas
    finally:
        for ua in uas.values():
            ua.close()


def winfo_of_alice(system, ua, smime=False):
    """alice's own presence.winfo subscription and its first NOTIFY."""
    kw = {}
    if smime:
        kw = dict(body=certs_only(system, "alice"),
                  ctype="application/pkcs7-mime; smime-type=certs-only")
    d = Dialog(ua, "alice", "presence.winfo", **kw)
    first = notifies(ua, "presence.winfo", lambda g: len(g) >= 1)[0]
    return d, first


# "id=1" cannot be parsed (not a token): read as asking for all privacy
@pytest.mark.parametrize("privacy", ["id", "user", "id=1"])
def test_anonymous_watcher_never_shown(system, users, privacy):
    """bob, allowed by alice's rules, subscribes with Privacy: id (user, or
    one that cannot be parsed):
    alice sees carol by URI and bob only as the anonymous URI with one
    stable id, in the partial NOTIFY of his arrival, the full one of her
    refresh, the one of his refresh (which carries no Privacy: the dialog
    stays anonymous) and the one of his un-SUBSCRIBE; bob himself gets
    alice's presence."""
    note, uas = users
    alice, bob, carol = uas["alice"], uas["bob"], uas["carol"]
    system.set_pres_rules("alice", rules(("bob", False), ("carol", False)))
    before = stat(system, "winfo_anonymized", "ps")
    secrets = ["sip:bob@", "bob@example.com", BOB_NAME, bob.call_id]

    aw, _ = winfo_of_alice(system, alice)
    cd = Dialog(carol, "alice", "presence")
    n = notifies(alice, "presence.winfo",
                 lambda g: any(f"sip:carol@{DOMAIN}" in winfo_body(system, m) for m in g))
    assert f"sip:carol@{DOMAIN}" in [e[2] for e in entries(winfo_body(system, n[-1]))]

    bd = Dialog(bob, "alice", "presence", headers=[f"Privacy: {privacy}"],
                from_hdr=f'"{BOB_NAME}" <sip:bob@{DOMAIN}>')
    # bob's own subscription works: he gets alice's presence
    pres = [m for m in bob.notifies if m.first_value("Event") == "presence"]
    if not pres:
        pres = [bob.wait_notify(5)]
    assert pres[0] is not None and note in pres[0].body, pres
    n = notifies(alice, "presence.winfo",
                 lambda g: any(anon_entries(winfo_body(system, m)) for m in g))
    for m in n:
        assert_hidden(system, m, secrets)
    doc = winfo_body(system, n[-1])
    assert 'state="partial"' in doc, doc
    (anon_id, status, _), = anon_entries(doc)
    assert status == "active"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", anon_id), anon_id

    # alice's refresh: a full document, carol by URI, bob by the same id
    aw.refresh()
    _, doc = full_after_refresh(system, alice, secrets)
    assert f"sip:carol@{DOMAIN}" in [e[2] for e in entries(doc)]
    assert [e[0] for e in anon_entries(doc)] == [anon_id]

    # bob's refresh, without Privacy this time: still anonymous
    bd.refresh()
    n = notifies(alice, "presence.winfo",
                 lambda g: any(anon_entries(winfo_body(system, m)) for m in g))
    for m in n:
        assert_hidden(system, m, secrets)
    assert [e[0] for e in anon_entries(winfo_body(system, n[-1]))] == [anon_id]

    # bob leaves: the NOTIFY about it hides him too
    bd.end()
    n = notifies(alice, "presence.winfo", lambda g: len(g) >= 1)
    for m in n:
        doc = assert_hidden(system, m, secrets)
        assert all(e[0] == anon_id for e in anon_entries(doc)), doc
    assert stat(system, "winfo_anonymized", "ps") >= before + 3

    cd.end()
    aw.end()


def test_anonymous_across_ps_restart(system, users):
    """The anonymous subscription is in the sp_winfo table and the secret
    in a file: after a restart of the PS, alice's full winfo still shows
    bob only as the anonymous URI, with the id he had before."""
    note, uas = users
    alice, bob = uas["alice"], uas["bob"]
    system.set_pres_rules("alice", rules(("bob", False)))
    secrets = ["sip:bob@", "bob@example.com", bob.call_id]
    aw, _ = winfo_of_alice(system, alice)
    bd = Dialog(bob, "alice", "presence", headers=["Privacy: id"])
    n = notifies(alice, "presence.winfo",
                 lambda g: any(anon_entries(winfo_body(system, m)) for m in g))
    (anon_id, _, _), = anon_entries(winfo_body(system, n[-1]))

    offset = len(system.ps.log_text())
    restart_ps(system, system.ps.env)
    assert system.ps.wait_log(r"[1-9]\d* anonymous subscriptions loaded from table 'sp_winfo'",
                              start=offset)
    alice.notifies.clear()
    aw.refresh()
    _, doc = full_after_refresh(system, alice, secrets)
    assert [e[0] for e in anon_entries(doc)] == [anon_id]
    bd.end()
    n = notifies(alice, "presence.winfo", lambda g: len(g) >= 1)
    for m in n:
        assert_hidden(system, m, secrets)
    aw.end()


def test_encrypted_winfo_carries_the_rewritten_body(system, users):
    """alice's winfo subscription carries her certificate: her winfo
    NOTIFYs leave S/MIME encrypted, and what her key decrypts is the
    rewritten document (sp_winfo_anonymize() runs before
    notify_smime_notify())."""
    note, uas = users
    alice, bob, carol = uas["alice"], uas["bob"], uas["carol"]
    system.set_pres_rules("alice", rules(("bob", False), ("carol", False)))
    secrets = ["sip:bob@", "bob@example.com", bob.call_id]
    aw, first = winfo_of_alice(system, alice, smime=True)
    assert first.first_value("Content-Type") == P7M_CTYPE
    cd = Dialog(carol, "alice", "presence")
    bd = Dialog(bob, "alice", "presence", headers=["Privacy: id;critical"])
    n = notifies(alice, "presence.winfo",
                 lambda g: any(anon_entries(winfo_body(system, m)) for m in g))
    for m in n:
        assert m.first_value("Content-Type") == P7M_CTYPE
        assert_hidden(system, m, secrets)
    aw.refresh()
    m, doc = full_after_refresh(system, alice, secrets)
    assert m.first_value("Content-Type") == P7M_CTYPE
    assert f"sip:carol@{DOMAIN}" in [e[2] for e in entries(doc)]
    assert len(anon_entries(doc)) == 1
    bd.end()
    cd.end()
    aw.end()


def test_pending_and_waiting_watcher_hidden(system, users):
    """alice's rule for bob says "confirm": his anonymous subscription is
    pending, and once it ends presence keeps him as a "waiting" watcher
    (by URI, id = base64 of the URI): that entry is anonymous as well."""
    note, uas = users
    alice, bob = uas["alice"], uas["bob"]
    system.set_pres_rules("alice", policy(watcher="bob", sub="confirm"))
    secrets = ["sip:bob@", "bob@example.com", "c2lwOmJvYkBleGFtcGxlLmNvbQ", bob.call_id]
    aw, _ = winfo_of_alice(system, alice)
    bd = Dialog(bob, "alice", "presence", headers=["Privacy: user"])
    n = notifies(alice, "presence.winfo",
                 lambda g: any(anon_entries(winfo_body(system, m)) for m in g))
    for m in n:
        assert_hidden(system, m, secrets)
    assert [e[1] for e in anon_entries(winfo_body(system, n[-1]))] == ["pending"]
    bd.end()
    notifies(alice, "presence.winfo", lambda g: len(g) >= 1)
    alice.notifies.clear()
    aw.refresh()
    _, doc = full_after_refresh(system, alice, secrets)
    assert "waiting" in [e[1] for e in anon_entries(doc)], doc
    aw.end()


def test_rpc_counts_without_identities(system, users):
    note, uas = users
    bob = uas["bob"]
    system.set_pres_rules("alice", rules(("bob", False)))
    bd = Dialog(bob, "alice", "presence", headers=["Privacy: id"])
    rc, out = system.rpc("ps", "sip_privacy.winfo")
    assert rc == 0, out
    m = re.search(r"anonymous_subscriptions:\s*(\d+)", out)
    assert m and int(m.group(1)) >= 1, out
    assert "secret: configured" in out, out
    assert "bob" not in out and bob.call_id not in out
    bd.end()
