"""The SIPp scenarios that subscribe, against a scripted notifier.

A NOTIFY may reach the watcher before the 2xx of its SUBSCRIBE (RFC 6665
4.1.2.4 and 4.1.3), and through the P-CSCF, whose workers relay the two in
different processes after topos' SQLite writes, it often does. Every
scenario of test/sipp (and bench/) that subscribes accepts both orders, for
the SUBSCRIBE and for the un-SUBSCRIBE: a NOTIFY that came first is answered
once the 2xx is in, with the NOTIFY's own Via headers (one behind topos, two
without it), From, To, Call-ID and CSeq.

No Kamailio here: a notifier on its own address of TEST_NET (.77) plays
the P-CSCF and sends each order with one or two Via headers; what the
scenario answers is checked on the wire (its 200 OK to each NOTIFY, the
un-SUBSCRIBE sent to the 2xx's Contact with its To tag), and SIPp must end
the call successfully. The same scenario then fails if the notifier never
sends its NOTIFY, so that a scenario that stopped waiting for it would be
seen here.
"""
import os
import socket
import threading
import uuid

import pytest

import harness as h
import sipua

NOTIFIER_IP = f"{h.NET}.77"
BENCH = os.path.join(h.TOP, "bench")


class Notifier:
    """The other end of one SIPp call: a scripted presence notifier."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((NOTIFIER_IP, 0))
        self.port = self.sock.getsockname()[1]
        self.contact = f"sip:alice@{NOTIFIER_IP}:{self.port}"
        self.tag = uuid.uuid4().hex[:10]
        self.ncseq = 0
        self.sub = self.addr = None  # the last SUBSCRIBE and its source
        self.error = None
        self.answered = []  # (NOTIFY sent, 200 OK received)

    def close(self):
        self.sock.close()

    def recv(self, want, timeout=8.0):
        """Next message that `want` accepts (retransmissions of earlier
        requests are skipped); AssertionError after timeout."""
        self.sock.settimeout(timeout)
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                raise AssertionError(f"notifier: nothing for {want.__doc__} within {timeout} s")
            if not data.strip():
                continue
            m = sipua.Msg(data)
            if want(m):
                return m, addr

    def subscribe(self, cseq):
        def want(m):
            return m.method == "SUBSCRIBE" and m.first_value("CSeq") == f"{cseq} SUBSCRIBE"
        want.__doc__ = f"SUBSCRIBE with CSeq {cseq}"
        self.sub, self.addr = self.recv(want)
        return self.sub, self.addr

    def reply(self, req, addr, code, reason, extra=()):
        lines = [f"SIP/2.0 {code} {reason}"]
        lines += [f"Via: {v}" for v in req.get("Via")]
        to = req.first_value("To")
        if ";tag=" not in to:
            to += f";tag={self.tag}"
        lines += [f"From: {req.first_value('From')}", f"To: {to}",
                  f"Call-ID: {req.first_value('Call-ID')}", f"CSeq: {req.first_value('CSeq')}"]
        lines += list(extra) + ["Content-Length: 0"]
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), addr)

    def notify(self, nvia, state):
        """A NOTIFY in the dialog of the last SUBSCRIBE, with nvia Via
        headers (the second one as in a relayed NOTIFY: the Presence
        Server behind the P-CSCF)."""
        sub = self.sub
        self.ncseq += 1
        vias = [f"SIP/2.0/UDP {NOTIFIER_IP}:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:16]}",
                f"SIP/2.0/UDP {h.NET}.78:5060;received={h.NET}.78;branch=z9hG4bK{uuid.uuid4().hex[:16]}"]
        target = sub.first_value("Contact").strip("<>")
        lines = [f"NOTIFY {target} SIP/2.0"]
        lines += [f"Via: {v}" for v in vias[:nvia]]
        lines += [f"From: <sip:alice@{h.DOMAIN}>;tag={self.tag}",
                  f"To: {sub.first_value('From')}",
                  f"Call-ID: {sub.first_value('Call-ID')}", f"CSeq: {self.ncseq} NOTIFY",
                  f"Contact: <{self.contact}>", "Max-Forwards: 69", "Event: presence",
                  f"Subscription-State: {state}", "Content-Length: 0"]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.sock.sendto(raw, self.addr)
        return sipua.Msg(raw)

    def notify_answered(self, sent):
        cseq = sent.first_value("CSeq")

        def want(m):
            return m.status is not None and m.first_value("CSeq") == cseq
        want.__doc__ = f"the 200 OK to NOTIFY CSeq {cseq}"
        ok, _ = self.recv(want)
        self.answered.append((sent, ok))

    def accept(self, cseq, order, nvia, code, state, expires=120, in_dialog=False):
        """One SUBSCRIBE accepted: its 2xx and a NOTIFY in `order`. One
        in_dialog goes to the 2xx's Contact, with its To tag."""
        sub, addr = self.subscribe(cseq)
        if in_dialog:
            assert sub.first.split()[1] == self.contact, sub.first
            assert sub.first_value("To").endswith(f";tag={self.tag}"), sub.first_value("To")
        reason = "OK" if code == 200 else "Accepted"
        ok = (sub, addr, code, reason, [f"Contact: <{self.contact}>", f"Expires: {expires}"])
        if order == "notify first":
            sent = self.notify(nvia, state)
            self.reply(*ok)
        else:
            self.reply(*ok)
            sent = self.notify(nvia, state)
        self.notify_answered(sent)
        return sub

    def run(self, script):
        """script(self) in a thread; its failure is kept for the test."""
        def body():
            try:
                script(self)
            except BaseException as e:  # reported by the test
                self.error = e
        t = threading.Thread(target=body, daemon=True)
        t.start()
        return t


def assert_answers_match(notifier):
    """Each 200 OK the scenario sent carries its NOTIFY's Via headers (all
    of them, in order), From, To, Call-ID and CSeq."""
    assert notifier.answered, "no NOTIFY was answered"
    for sent, ok in notifier.answered:
        assert ok.status == 200, ok.first

        def vias(m):
            return [v.strip() for hv in m.get("Via") for v in hv.split(",")]
        assert vias(ok) == vias(sent), (vias(ok), vias(sent))
        for name in ("From", "To", "Call-ID", "CSeq"):
            assert ok.first_value(name) == sent.first_value(name), name


def run(scenario, script, tmp_path, keys=None, auth=None, timeout=10):
    n = Notifier()
    try:
        t = n.run(script)
        r = h.sipp(scenario, "bob", tmp_path, keys=dict(keys or {}, presentity="alice"),
                   auth=auth, remote=f"{NOTIFIER_IP}:{n.port}", timeout=timeout)
        t.join(timeout=15)
        return n, r
    finally:
        n.close()


ORDERS = ["2xx first", "notify first"]
CASES = [(order, nvia, code) for order in ORDERS for nvia, code in ((1, 202), (2, 200))]


@pytest.mark.parametrize("scenario", ["subscribe", os.path.join(BENCH, "subscribe")])
@pytest.mark.parametrize("order,nvia,code", CASES)
def test_subscribe_then_unsubscribe(tmp_path, scenario, order, nvia, code):
    def script(n):
        n.accept(1, order, nvia, code, "active;expires=120")
        n.accept(2, order, nvia, code, "terminated;reason=timeout", expires=0, in_dialog=True)
    n, r = run(scenario, script, tmp_path)
    assert n.error is None, n.error
    assert r.rc == 0, r.stderr
    assert len(n.answered) == 2
    assert_answers_match(n)


@pytest.mark.parametrize("order,nvia,code", CASES)
def test_subscribe_auth(tmp_path, order, nvia, code):
    def script(n):
        sub, addr = n.subscribe(1)
        n.reply(sub, addr, 401, "Unauthorized",
                [f'WWW-Authenticate: Digest realm="{h.DOMAIN}", nonce="{uuid.uuid4().hex}", '
                 'qop="auth", algorithm=MD5'])
        sub = n.accept(2, order, nvia, code, "terminated;reason=timeout", expires=0)
        assert sub.first_value("Authorization").startswith("Digest "), sub.first_value("Authorization")
    n, r = run("subscribe_auth", script, tmp_path, keys={"expires": "0"},
               auth=(f"bob@{h.DOMAIN}", "secret"))
    assert n.error is None, n.error
    assert r.rc == 0, r.stderr
    assert_answers_match(n)


@pytest.mark.parametrize("order,nvia,code", CASES)
def test_subscribe_refused_accepted_then_terminated(tmp_path, order, nvia, code):
    def script(n):
        n.accept(1, order, nvia, code, "terminated;reason=rejected")
    n, r = run("subscribe_refused", script, tmp_path)
    assert n.error is None, n.error
    assert r.rc == 0, r.stderr
    assert_answers_match(n)


@pytest.mark.parametrize("order,nvia,code", CASES)
def test_notify_watcher(tmp_path, order, nvia, code):
    """bench/notify_watcher.xml: then two more NOTIFYs, silence (5 s),
    and its un-SUBSCRIBE."""
    def script(n):
        n.accept(1, order, nvia, code, "active;expires=3600", expires=3600)
        for _ in range(2):
            n.notify_answered(n.notify(nvia, "active;expires=3600"))
        n.accept(2, order, nvia, code, "terminated;reason=timeout", expires=0, in_dialog=True)
    n, r = run(os.path.join(BENCH, "notify_watcher"), script, tmp_path, timeout=20)
    assert n.error is None, n.error
    assert r.rc == 0, r.stderr
    assert len(n.answered) == 4
    assert_answers_match(n)


@pytest.mark.parametrize("scenario", ["subscribe", "subscribe_refused"])
def test_no_notify_is_a_failure(tmp_path, scenario):
    """The 2xx alone does not end the call well: the NOTIFY is awaited."""
    def script(n):
        sub, addr = n.subscribe(1)
        n.reply(sub, addr, 202, "Accepted", [f"Contact: <{n.contact}>", "Expires: 120"])
    n, r = run(scenario, script, tmp_path, timeout=3)
    assert n.error is None, n.error
    assert r.rc != 0
