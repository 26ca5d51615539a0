"""Issue 7: two PS nodes and two P-CSCF nodes of the same routing script
(-A CLUSTER) on one PostgreSQL. What one node knows, the others know:
a digest challenge, a policy written through Ut, a subscription with its
bound S/MIME certificate, a dialog's privacy and its topos state.

Watchers talk to the PS nodes directly (an untrusted source: the watcher's
identity is its From URI, as at any PS reached without a P-CSCF), except
for the dialog case, which is all about the P-CSCF nodes. alice's policy
is the demo one (etc/demo/alice-pres-rules.xml): bob must prove
"garden-gate" with digest and gets her presence only encrypted."""
import contextlib
import os
import re
import subprocess
import time
import uuid

import pytest

import cluster as c
import harness as h
import sipua
from harness import DOMAIN, SIP_PORT

GARDEN_GATE = "garden-gate"  # README: the presence password alice gave bob
P7M_CTYPE = "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m"
# a tuple id of its own per publication: presence_xml keeps one tuple of an
# id, that of the latest publication by received_time, in seconds, so two
# publications within a second would leave either note in the NOTIFY
PIDF = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">\n'
        '  <tuple id="t-{note}"><status><basic>open</basic></status>\n'
        '    <note>{note}</note>\n  </tuple>\n</presence>\n')


def ua_to(user, ip):
    ua = sipua.UA(user, h.UA_IP[user], (ip, SIP_PORT))
    ua.notifies = []
    return ua


def bob_auth(r401):
    ch = sipua.challenges(r401)[0]
    return sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE", f"sip:alice@{DOMAIN}",
                               password=GARDEN_GATE)


def challenged(ua, expires=0):
    _, r = ua.subscribe("alice", expires=expires)
    assert r is not None and r.status == 401, r and r.first
    return r


def publish(ip, note):
    """alice publishes at the PS node on ip; the final response."""
    ua = ua_to("alice", ip)
    try:
        body = PIDF.format(note=note).encode()
        ua.request("PUBLISH", f"sip:alice@{DOMAIN}",
                   ["Event: presence", "Expires: 600",
                    "Content-Type: application/pidf+xml"], body)
        return ua.final_response()
    finally:
        ua.close()


def decrypt(nodes, user, der):
    d = os.path.join(nodes.run_dir, "certs")
    p = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-binary",
                        "-recip", os.path.join(d, f"{user}.pem"),
                        "-inkey", os.path.join(d, f"{user}.key")],
                       input=der, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


def raw_body(msg):
    return msg.raw.split(b"\r\n\r\n", 1)[1]


def binding(nodes, call_id):
    """The certificate digest bound to a subscription (smime_binding)."""
    return nodes.sql("ps", f"SELECT cert_sha256 FROM smime_binding WHERE callid = '{call_id}'")


def committed(nodes, call_id, timeout=5.0):
    """Waits until the subscription call_id is in active_watchers: presence
    answers a SUBSCRIBE inside its transaction, before the commit, so a
    node stopped right after its 200 may not have written it yet."""
    deadline = time.monotonic() + timeout
    while not nodes.sql("ps", f"SELECT 1 FROM active_watchers WHERE callid = '{call_id}'"):
        assert time.monotonic() < deadline, f"subscription {call_id} not in active_watchers"
        time.sleep(0.1)


@contextlib.contextmanager
def alone(nodes, name):
    """Only PS node `name` runs inside: the other PS node is stopped (its
    notifier would send some of the NOTIFYs, whichever polls first) and
    started again after."""
    other = nodes.node("ps-b" if name == "ps" else "ps")
    other.stop()
    try:
        yield nodes.node(name)
    finally:
        other.restart()


# ---- (a) digest across PS nodes -----------------------------------------

def test_challenge_of_node_a_answered_at_node_b(nodes):
    """The 401 comes from PS A; the answer, in the same dialog, goes to PS
    B, which has never seen that nonce: accepted (the auth secret is the
    same on both), and B answers it itself."""
    bob = ua_to("bob", c.PS_A)
    try:
        r401 = challenged(bob)
        assert sipua.challenges(r401)[0]["realm"] == f"alice@{DOMAIN}"
        mark = nodes.log_mark()
        bob.proxy = (c.PS_B, SIP_PORT)
        _, ok = bob.subscribe("alice", auth=bob_auth(r401))
        assert ok is not None and ok.status in (200, 202), ok and ok.first
        # answered by B: presence's Contact is B's server_address
        assert f"{c.PS_B}:{SIP_PORT}" in ok.first_value("Contact")
        assert nodes.errors_since(mark) == []
    finally:
        bob.close()


def test_replay_at_other_node_refused_in_other_dialog(nodes):
    """A captured Authorization (answered at A) is worth nothing in another
    dialog at either node: the nonce is bound to its Call-ID and From tag
    (auth_checks_no_dlg), which a new dialog does not have."""
    bob = ua_to("bob", c.PS_A)
    try:
        auth = bob_auth(challenged(bob))
        _, ok = bob.subscribe("alice", auth=auth)
        assert ok is not None and ok.status in (200, 202), ok and ok.first
    finally:
        bob.close()
    for ip in (c.PS_B, c.PS_A):
        mallory = ua_to("bob", ip)  # a new dialog with bob's captured answer
        try:
            _, r = mallory.subscribe("alice", auth=auth)
            assert r is not None and r.status == 401, (ip, r and r.first)
        finally:
            mallory.close()


def test_replay_in_same_dialog_bounded_by_nonce_expire(nodes):
    """What holds across nodes, exactly: nonce counts are per node, so they
    are off in a cluster; the same Authorization replayed in its own dialog
    at the other node is accepted until the nonce expires (NONCE_EXPIRE),
    and refused with a stale challenge after."""
    bob = ua_to("bob", c.PS_A)
    try:
        auth = bob_auth(challenged(bob))
        _, ok = bob.subscribe("alice", auth=auth)
        assert ok is not None and ok.status in (200, 202), ok and ok.first
        issued = time.monotonic()
        bob.proxy = (c.PS_B, SIP_PORT)
        _, again = bob.subscribe("alice", auth=auth)
        assert again is not None and again.status in (200, 202), again.first
        time.sleep(max(0.0, issued + c.NONCE_EXPIRE + 1.5 - time.monotonic()))
        _, late = bob.subscribe("alice", auth=auth)
        assert late is not None and late.status == 401, late and late.first
        assert all(ch.get("stale") == "true" for ch in sipua.challenges(late))
    finally:
        bob.close()


# ---- (b) a policy written through Ut on A, obeyed by B --------------------

def put_policy(nodes, doc=None):
    """alice writes her pres-rules through PS A's Ut interface (None: the
    demo policy); the HTTP status."""
    from test_foundation import ut

    url = f"https://{c.PS_A}:{h.XCAP_PORT}/xcap-root/pres-rules/users/sip:alice@{DOMAIN}/index"
    if doc is None:
        with open(os.path.join(h.TOP, "etc", "demo", "alice-pres-rules.xml"), "rb") as f:
            doc = f.read()

    class Sys:  # what ut() needs of a system
        ca = os.path.join(nodes.run_dir, "certs", "ca.pem")

    code, _ = ut("PUT", url, Sys, ("alice", h.USERS["alice"]), doc)
    return code


def test_policy_written_on_a_obeyed_by_b_next_subscribe(nodes):
    """alice drops bob's authentication through PS A's Ut interface: the
    very next SUBSCRIBE at PS B is not challenged (cache_ttl 0 in a
    cluster: every SUBSCRIBE checks the policy's etag); she puts it back:
    the next one at B is challenged again."""
    from test_watcher_auth import policy

    bob = ua_to("bob", c.PS_B)
    try:
        challenged(bob)  # B has the demo policy compiled and cached
        assert put_policy(nodes, policy(None).encode()) in (200, 201)
        _, r = bob.subscribe("alice")
        assert r is not None and r.status in (200, 202), r and r.first
        assert put_policy(nodes) in (200, 201)
        challenged(bob)
    finally:
        bob.close()
        put_policy(nodes)


# ---- (c) a subscription of A notified by B, still encrypted ---------------

def test_subscription_of_stopped_node_notified_encrypted_by_other(nodes):
    """bob subscribes at PS A (authenticated; alice's policy demands
    encryption, his certificate from the operator's store is bound to the
    subscription). PS A stops. alice publishes at PS B: B's notifier sends
    bob the NOTIFY, encrypted to the same certificate (his key opens it),
    never in clear."""
    a = nodes.node("ps")
    r = publish(c.PS_A, "before-" + uuid.uuid4().hex)
    assert r is not None and r.status == 200, r and r.first
    bob = ua_to("bob", c.PS_A)
    try:
        r401 = challenged(bob, expires=600)
        _, ok = bob.subscribe("alice", expires=600, auth=bob_auth(r401))
        assert ok is not None and ok.status in (200, 202), ok and ok.first
        first = bob.wait_notify(5)
        assert first is not None, "no first NOTIFY from A"
        assert first.first_value("Content-Type") == P7M_CTYPE
        bound = binding(nodes, bob.call_id)
        assert len(bound) == 1
        a.stop()
        note = "cluster-" + uuid.uuid4().hex
        r = publish(c.PS_B, note)
        assert r is not None and r.status == 200, r and r.first
        n = bob.wait_notify(10)
        assert n is not None, "no NOTIFY after A stopped"
        assert note.encode() not in n.raw, "presence in clear"
        assert n.first_value("Content-Type") == P7M_CTYPE
        assert n.first_value("Call-ID") == bob.call_id
        # sent by B (its Via), A being down; the Contact is still the one
        # the subscription was made with, A's server_address (README)
        assert not a.alive()
        assert re.match(rf"SIP/2\.0/UDP {re.escape(c.PS_B)}[:;]", n.first_value("Via"))
        assert n.first_value("Contact") == f"<sip:{c.PS_A}:{SIP_PORT}>"
        assert note.encode() in decrypt(nodes, "bob", raw_body(n))
        # the binding made on A is the one B used, unchanged
        assert binding(nodes, bob.call_id) == bound
    finally:
        bob.close()
        if not a.alive():
            a.restart()


# ---- (d) a dialog anonymized by P-CSCF A, continued through P-CSCF B ------

def test_dialog_anonymized_by_a_stays_anonymous_through_b(nodes):
    """bob calls alice through P-CSCF A with Privacy: id;user on the INVITE
    only. His BYE goes to P-CSCF B (as a UE would after DNS picked the
    other node): B knows the dialog's topos state (shared table), takes A's
    Record-Route as its own (alias) and reads the dialog's privacy rule
    from it (the same rr_secret): alice gets the BYE from B, anonymous."""
    from test_sip_privacy import ANON, Call, is_rsp, respond, wait_for

    uas = []
    try:
        for user in ("alice", "bob"):
            ua = ua_to(user, c.PCSCF_A)
            uas.append(ua)
            r = ua.register(h.USERS[user])
            assert r is not None and r.status == 200, r and r.first
        alice, bob = uas
        call = Call(bob, alice)
        inv = call.invite()
        assert inv is not None, "INVITE not delivered through A"
        assert inv.first_value("From") == f"{ANON};tag={call.btag}"
        acontact = ("Contact", f"<sip:alice@{alice.ip}:{alice.port}>")
        respond(alice, inv, 200, "OK", call.atag, [acontact], rr=True)
        ok = wait_for(bob, is_rsp(200, "INVITE", call.call_id))
        assert ok is not None, "200 not relayed to bob"
        assert call.in_dialog("ACK", ok) is not None

        mark = nodes.log_mark()
        bob.proxy = (c.PCSCF_B, SIP_PORT)
        bye = call.in_dialog("BYE", ok)
        assert bye is not None, "BYE through B not delivered"
        assert re.match(rf"SIP/2\.0/UDP {re.escape(c.PCSCF_B)}[:;]", bye.first_value("Via"))
        raw = bye.raw.decode("utf-8", "replace")
        assert "bob" not in raw.lower(), raw
        assert bob.ip not in raw, raw
        assert bye.first_value("From") == f"{ANON};tag={call.btag}"
        assert bye.get("P-Asserted-Identity") == []
        respond(alice, bye, 200, "OK")
        assert wait_for(bob, is_rsp(200, "BYE", call.call_id)) is not None
        assert nodes.errors_since(mark) == []
    finally:
        for ua in uas:
            ua.close()


# ---- (e) a watcher anonymous on PS A stays anonymous in PS B's winfo ------

def winfo_count(node):
    """The anonymous subscriptions a PS node holds in memory (its RPC)."""
    rc, out = node.rpc("sip_privacy.winfo")
    assert rc == 0, out
    return int(re.search(r"anonymous_subscriptions:\s*(\d+)", out).group(1))


def row_expires(nodes, call_id):
    return [int(r[0]) for r in nodes.sql(
        "ps", f"SELECT expires FROM sp_winfo WHERE callid = '{call_id}'")]


def test_watcher_anonymous_on_a_hidden_in_winfo_of_b(nodes):
    """bob subscribes to alice's presence at PS A with Privacy: id
    (recorded in A's memory and the shared sp_winfo table; PS B never sees
    that SUBSCRIBE). alice subscribes to her winfo at B, A stopped so that
    B's notifier sends it: the full document B sends shows bob only as the
    anonymous URI (B reads his record from the table, winfo_db_lookup, and
    caches it), with the id A gives him in the full document of her winfo
    subscription at A (B stopped; the ids of all anonymous watchers of
    alice are the same from both nodes). Nothing of bob (URI, name, Call-ID) in
    what either node sends her."""
    from test_notify_smime import rules
    from test_sip_privacy_winfo import BOB_NAME, Dialog

    assert put_policy(nodes, rules(("bob", False)).encode()) in (200, 201)
    bob = ua_to("bob", c.PS_A)
    uas = [bob]
    # bob's earlier subscriptions of this suite (not anonymous) are in
    # alice's winfo by URI: this one shows neither his name nor Call-ID,
    # and no entry of it names him
    secrets = [BOB_NAME, bob.call_id]
    mark = nodes.log_mark()
    try:
        Dialog(bob, "alice", "presence", headers=["Privacy: id"],
               from_hdr=f'"{BOB_NAME}" <sip:bob@{DOMAIN}>')
        committed(nodes, bob.call_id)
        ids = {}
        for name, ip in (("ps-b", c.PS_B), ("ps", c.PS_A)):
            with alone(nodes, name) as node:
                before = winfo_count(node)
                alice = ua_to("alice", ip)
                uas.append(alice)
                ids[name] = anon_id_in_full_winfo(nodes, alice, ip, bob.call_id, secrets)
                if name == "ps-b":  # B cached the record it read
                    assert winfo_count(node) == before + 1
        assert ids["ps"] == ids["ps-b"]
        assert nodes.errors_since(mark) == []
    finally:
        for ua in uas:
            ua.close()
        put_policy(nodes)


def anon_id_in_full_winfo(nodes, alice, ip, call_id, secrets):
    """alice subscribes to her winfo at the PS node on ip (the only one
    running): the full document it sends lists anonymous watchers, active,
    as the anonymous URI, and names bob only in subscriptions that are not
    anonymous (none in sp_winfo); nothing of secrets in any NOTIFY.
    Returns the ids of the anonymous watchers."""
    from test_sip_privacy_winfo import (ANON, Dialog, anon_entries, assert_hidden,
                                        entries, notifies, winfo_body)

    Dialog(alice, "alice", "presence.winfo")

    def full(m):  # the full document that lists an anonymous watcher
        doc = winfo_body(nodes, m)
        return 'state="full"' in doc and anon_entries(doc)

    n = notifies(alice, "presence.winfo", lambda g: any(full(m) for m in g))
    for m in n:
        assert_hidden(nodes, m, secrets)
    m = [m for m in n if full(m)][0]
    assert re.match(rf"SIP/2\.0/UDP {re.escape(ip)}[:;]", m.first_value("Via"))
    doc = winfo_body(nodes, m)
    # every anonymous subscription of alice's watchers has its sp_winfo row
    # (rows outlive subscriptions ended by a NOTIFY timeout: up to as many)
    anonymous = [r[0] for r in nodes.sql(
        "ps", f"SELECT callid FROM sp_winfo WHERE presentity = 'sip:alice@{DOMAIN}'")]
    assert call_id in anonymous
    assert all(st == "active" for _, st, _ in anon_entries(doc)), doc
    assert 1 <= len(anon_entries(doc)) <= len(anonymous), doc
    # an entry that names bob is one of his subscriptions that are not
    # anonymous (its id is its Call-ID), never an anonymous one
    named = [e for e in entries(doc) if e[2] != ANON]
    assert not [e for e in named if e[0] in anonymous], doc
    return sorted(e[0] for e in anon_entries(doc))


# ---- (f) in-dialog SUBSCRIBEs of a subscription of A, through B ----------

def test_refresh_and_unsubscribe_through_other_node(nodes):
    """bob subscribes at PS A (alice's policy: allowed, encrypted); his
    refresh goes to PS B, which never saw the SUBSCRIBE and reads the
    dialog from the database under a row lock: 200 and a NOTIFY of the
    refreshed subscription, encrypted to the certificate bound on A. His
    un-SUBSCRIBE through B ends it: 200, a terminated NOTIFY, the row gone.
    (With presence's send_fast_notify 1 both got 500 from B.)"""
    from test_notify_smime import rules
    from test_sip_privacy_winfo import Dialog

    assert put_policy(nodes, rules(("bob", True)).encode()) in (200, 201)
    note = "refresh-" + uuid.uuid4().hex
    r = publish(c.PS_A, note)
    assert r is not None and r.status == 200, r and r.first
    bob = ua_to("bob", c.PS_A)
    mark = nodes.log_mark()
    try:
        d = Dialog(bob, "alice", "presence")
        first = bob.wait_notify(5)
        assert first is not None, "no first NOTIFY"
        assert first.first_value("Content-Type") == P7M_CTYPE
        bound = binding(nodes, bob.call_id)
        assert len(bound) == 1

        bob.proxy = (c.PS_B, SIP_PORT)
        t0 = time.monotonic()
        d.refresh(expires=300)
        n = bob.wait_notify(5)
        assert n is not None, "no NOTIFY after the refresh at B"
        print(f"refresh at B: NOTIFY {time.monotonic() - t0:.2f} s after the SUBSCRIBE")
        assert n.first_value("Call-ID") == bob.call_id
        state = n.first_value("Subscription-State")
        assert re.fullmatch(r"active;expires=(\d+)", state) and \
            int(state.split("=")[1]) <= 300, state
        assert note.encode() not in n.raw, "presence in clear"
        assert n.first_value("Content-Type") == P7M_CTYPE
        assert note.encode() in decrypt(nodes, "bob", raw_body(n))
        assert binding(nodes, bob.call_id) == bound

        t0 = time.monotonic()
        d.end()
        n = bob.wait_notify(5)
        assert n is not None, "no terminated NOTIFY after the un-SUBSCRIBE at B"
        print(f"un-SUBSCRIBE at B: NOTIFY {time.monotonic() - t0:.2f} s after the SUBSCRIBE")
        assert n.first_value("Call-ID") == bob.call_id
        assert n.first_value("Subscription-State").startswith("terminated"), n.first
        assert note.encode() not in n.raw, "presence in clear"
        deadline = time.monotonic() + 5
        while nodes.sql("ps", "SELECT 1 FROM active_watchers WHERE callid = "
                              f"'{bob.call_id}'"):
            assert time.monotonic() < deadline, "subscription still in active_watchers"
            time.sleep(0.2)
        assert nodes.errors_since(mark) == []
    finally:
        bob.close()
        put_policy(nodes)


def test_anonymous_refresh_through_b_stays_anonymous(nodes):
    """bob subscribes at PS A with Privacy: id; he refreshes through PS B
    without Privacy (the dialog stays anonymous, RFC 3323: B finds the
    record A wrote in sp_winfo). alice then subscribes to her winfo at B
    (A stopped, so B sends it): bob is still only the anonymous URI, his
    record still in sp_winfo, nothing of his name or Call-ID."""
    from test_notify_smime import rules
    from test_sip_privacy_winfo import BOB_NAME, Dialog

    assert put_policy(nodes, rules(("bob", False)).encode()) in (200, 201)
    bob = ua_to("bob", c.PS_A)
    uas = [bob]
    mark = nodes.log_mark()
    try:
        d = Dialog(bob, "alice", "presence", headers=["Privacy: id"],
                   from_hdr=f'"{BOB_NAME}" <sip:bob@{DOMAIN}>')
        committed(nodes, bob.call_id)
        assert len(row_expires(nodes, bob.call_id)) == 1
        bob.proxy = (c.PS_B, SIP_PORT)
        d.refresh(expires=300)
        assert len(row_expires(nodes, bob.call_id)) == 1
        with alone(nodes, "ps-b"):
            alice = ua_to("alice", c.PS_B)
            uas.append(alice)
            ids = anon_id_in_full_winfo(nodes, alice, c.PS_B, bob.call_id,
                                        [BOB_NAME, bob.call_id])
            assert len(ids) >= 1
        assert nodes.errors_since(mark) == []
    finally:
        for ua in uas:
            ua.close()
        put_policy(nodes)


# ---- (g) the subscriber tables reloaded on every P-CSCF node ---------------

def fan_out(nodes, *cmd, extra=()):
    """scripts/cluster-rpc.sh over both P-CSCF nodes' control sockets (and
    the sockets in extra): its exit status and output."""
    socks = [f"unix:{nodes.node(n).dir}/kamailio_ctl" for n in ("pcscf", "pcscf-b")]
    args = [a for s in (*socks, *extra) for a in ("-n", s)]
    p = subprocess.run([os.path.join(h.TOP, "scripts", "cluster-rpc.sh"), *args, *cmd],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace")


def test_identity_reload_fanned_out_to_every_pcscf(nodes):
    """bob gets a new public identity in the shared sp_identity table.
    Each P-CSCF node holds the table in its shared memory, so neither
    node asserts it until sip_privacy.reload reaches it: the fan-out
    (scripts/cluster-rpc.sh) asks every node, says which did not answer
    (a node that is down reads the tables when it starts) and exits 1 for
    it. After it both nodes assert the new identity at once; a bad row
    makes every node refuse the reload and keep the tables in force."""
    from test_sip_privacy_identity import message, pai_of, registered_ua, unregister

    extra = "tel:+15559990022"
    sql = lambda q: nodes.sql("pcscf", q)  # noqa: E731
    uas = []
    try:
        alice, bob = registered_ua("alice"), registered_ua("bob")
        uas += [alice, bob]
        hdrs = [f"P-Preferred-Identity: <{extra}>", "Privacy: none"]

        def asserted_via(node_ip):
            bob.proxy = (node_ip, SIP_PORT)
            got, r = message(bob, alice, hdrs)
            assert got is not None and r is not None and r.status == 200, r and r.first
            return pai_of(got)

        sql("INSERT INTO sp_identity (username, domain, identity, is_default)"
            f" VALUES ('bob', '{DOMAIN}', '{extra}', 0)")
        for ip in (c.PCSCF_A, c.PCSCF_B):  # in the database, not yet in force
            assert asserted_via(ip) == [f"<sip:bob@{DOMAIN}>"]

        mark = nodes.log_mark()
        rc, out = fan_out(nodes, "sip_privacy.reload", extra=["unix:/nonexistent/kamailio_ctl"])
        assert rc == 1, out
        assert out.count(": ok\n") == 2, out
        assert "unix:/nonexistent/kamailio_ctl: failed: cannot reach the node" in out, out
        for ip in (c.PCSCF_A, c.PCSCF_B):
            assert asserted_via(ip) == [f"<{extra}>"]
        for n in ("pcscf", "pcscf-b"):
            rc, out = nodes.node(n).rpc("sip_privacy.subscriber", f"sip:bob@{DOMAIN}")
            assert rc == 0 and extra in out, out
        assert nodes.errors_since(mark) == []

        # a bad row: every node refuses, naming it; the tables in force stay
        sql("INSERT INTO sp_blocking (username, domain, methods)"
            f" VALUES ('carol', '{DOMAIN}', 'SUBSCRIBE,FETCH')")
        rc, out = fan_out(nodes, "sip_privacy.reload")
        assert rc == 1, out
        assert out.count("failed: error: 500 - reload failed, the tables in force stay") == 2, out
        assert "carol" in out, out
        for ip in (c.PCSCF_A, c.PCSCF_B):
            assert asserted_via(ip) == [f"<{extra}>"]
    finally:
        sql(f"DELETE FROM sp_identity WHERE identity = '{extra}'")
        sql("DELETE FROM sp_blocking WHERE username = 'carol'")
        rc, out = fan_out(nodes, "sip_privacy.reload")
        for ua in uas:
            ua.proxy = (c.PCSCF_A, SIP_PORT)
            unregister(ua)
    assert rc == 0 and out.count(": ok\n") == 2, out
    for ip in (c.PCSCF_A, c.PCSCF_B):
        rc, out = nodes.node("pcscf" if ip == c.PCSCF_A else "pcscf-b").rpc(
            "sip_privacy.subscriber", f"sip:bob@{DOMAIN}")
        assert rc == 0 and extra not in out, out
