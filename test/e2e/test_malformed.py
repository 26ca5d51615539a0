"""Issue 6, hostile input: the malformed-SIP suite.

Crafted messages, one test each, sent to both roles from the three kinds of
source the routing script tells apart: a registered UE (bob's own socket,
toward the P-CSCF, so they go on to the Presence Server when the P-CSCF
relays them), an untrusted address (mallory, to either role directly) and
the trusted peer (to the Presence Server directly, believed like the
P-CSCF). The kinds RFC 4475 catalogues, and messages aimed at this
project's code: Authorization for watcher_auth, Privacy and
P-Asserted-Identity for sip_privacy, S/MIME bodies for notify_smime.

For each: the exact response code the sender gets (or that it is dropped,
with the log line that says so), then, before the next message, a valid
request is served by both roles (OPTIONS; and for the module cases a real
SUBSCRIBE of bob authenticated with digest, whose NOTIFY is encrypted), and
every Kamailio process of both roles is still there with the same PID. All
through the module, every packet on the loopback interface is captured:
alice's published note never crosses it (she published it before), no
reply to an untrusted sender carries a P-Asserted-Identity, and the
watcher's presence password never appears anywhere.
"""
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass, field

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, PS_IP, SIP_PORT
from test_notify_smime import (P7M_CTYPE, Capture, certs, certs_only, openssl,
                               request, send, store_cert)
from test_sip_privacy import (assert_anonymous, is_req, message_bob_to_alice,
                              register_raw, register_ua)

DROP = "drop"
DROP_WAIT = 1.0  # seconds without any reply that count as dropped
REPLY_WAIT = 6.0  # a relayed request gets its final answer within fr_timer
NOTE = "malformed-note-" + uuid.uuid4().hex
PRESENCE_PASSWORD = "garden-gate"  # alice gave bob (etc/demo)
PRESENTITY_REALM = f"alice@{DOMAIN}"
CRLF = "\r\n"
CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only"


# ---- message templates ---------------------------------------------------
#
# A template is text with {placeholders} filled when it is sent: {src}
# {sport} (the sender's address and port), {dst} {dport} (where it goes),
# {user} (the sender's user name), {cid} {tag} {branch} (fresh each time),
# {cl} (the length of what follows the blank line). Header lines are joined
# with CRLF unless a case says otherwise.

VIA = "Via: SIP/2.0/UDP {src}:{sport};rport;branch={branch}"
STD = {
    "via": VIA,
    "from": "From: <sip:{user}@example.com>;tag={tag}",
    "call-id": "Call-ID: {cid}",
    "max-forwards": "Max-Forwards: 70",
}


def msg(first, headers, body=b"", eol=CRLF, cl=True):
    """One message: first line, header lines, Content-Length (unless cl is
    False or a header already gives it), blank line, body."""
    lines = [first] + list(headers)
    if cl and not any(re.match(r"(?i)(content-length|l)\s*:", x) for x in lines):
        lines.append("Content-Length: {cl}")
    head = (eol.join(lines) + eol + eol).encode("latin-1")
    return head + (body if isinstance(body, bytes) else body.encode("latin-1"))


def options(*extra, sub=None, first="OPTIONS sip:{dst}:{dport} SIP/2.0", eol=CRLF, body=b""):
    """An OPTIONS to the server itself (its keepalive: 200 when it is
    served), with headers replaced (sub: name -> line, None removes) and
    extra lines added."""
    hdrs = {"via": VIA, "from": STD["from"], "to": "To: <sip:{dst}:{dport}>",
            "call-id": STD["call-id"], "cseq": "CSeq: 1 OPTIONS",
            "max-forwards": STD["max-forwards"]}
    return msg(first, _apply(hdrs, sub, extra), body, eol)


def subscribe(*extra, sub=None, presentity="alice", body=b"", ctype=None, expires=0):
    """A SUBSCRIBE of {user} to a presentity (a fetch by default, so that
    nothing lingers), its Contact the sender's own address."""
    ruri = f"sip:{presentity}@{DOMAIN}"
    hdrs = {"via": VIA, "from": STD["from"], "to": f"To: <{ruri}>",
            "call-id": STD["call-id"], "cseq": "CSeq: 1 SUBSCRIBE",
            "contact": "Contact: <sip:{user}@{src}:{sport}>",
            "max-forwards": STD["max-forwards"], "event": "Event: presence",
            "accept": "Accept: application/pidf+xml, application/pkcs7-mime",
            "expires": f"Expires: {expires}"}
    if ctype:
        hdrs["content-type"] = f"Content-Type: {ctype}"
    return msg(f"SUBSCRIBE {ruri} SIP/2.0", _apply(hdrs, sub, extra), body)


def publish(*extra, sub=None, body=b"", ctype=None):
    """A PUBLISH of {user}'s own presence."""
    ruri = "sip:{user}@" + DOMAIN
    hdrs = {"via": VIA, "from": STD["from"], "to": f"To: <{ruri}>",
            "call-id": STD["call-id"], "cseq": "CSeq: 1 PUBLISH",
            "max-forwards": STD["max-forwards"], "event": "Event: presence",
            "expires": "Expires: 60"}
    if ctype:
        hdrs["content-type"] = f"Content-Type: {ctype}"
    return msg(f"PUBLISH {ruri} SIP/2.0", _apply(hdrs, sub, extra), body)


def _apply(hdrs, sub, extra):
    hdrs = dict(hdrs)
    for k, v in (sub or {}).items():
        if v is None:
            hdrs.pop(k, None)
        else:
            hdrs[k] = v
    return [v for v in hdrs.values()] + list(extra)


def fill(tpl, ctx):
    for k, v in ctx.items():
        tpl = tpl.replace(b"{" + k.encode() + b"}", v.encode("latin-1"))
    if b"{cl}" in tpl:
        head, sep, body = tpl.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = tpl.partition(b"\n\n")
        tpl = tpl.replace(b"{cl}", str(len(body)).encode(), 1)
    return tpl


# ---- the cases -------------------------------------------------------------

@dataclass
class Case:
    name: str
    to: str  # "pcscf" | "ps"
    by: str  # "ue" (bob's registered socket) | "mallory" | "peer" | "alice"
    msg: object  # a template (bytes), or a callable(Probe) -> bytes
    expect: object  # the status code the sender gets, or DROP
    log: str = None  # a line the target role must log (a drop: why)
    check: object = None  # callable(Probe): more assertions
    module: bool = False  # a module case: a real authenticated SUBSCRIBE after
    run: object = None  # callable(Probe) -> final reply: the exchange itself

    @property
    def id(self):
        return f"{self.to}-{self.by}-{self.name}"


CORE = [
    # (name, template, expected at the P-CSCF from bob, at the PS from
    #  mallory, log line of a drop). The same bytes to both roles.
    ("folded-headers", options(
        "Subject: a folded\r\n  subject line", sub={
            "to": "To:\r\n <sip:{dst}:{dport}>"}), 200, 200, None),
    ("lf-line-ends", options(eol="\n"), 200, 200, None),
    ("compact-forms-odd-case-space", msg(
        "OPTIONS sip:{dst}:{dport} SIP/2.0",
        ["v:SIP/2.0/UDP   {src}:{sport} ;rport;branch={branch}",
         "f   :<sip:{user}@example.com>;tag={tag}", "t: <sip:{dst}:{dport}>",
         "i:{cid}", "cSeQ:   1   OPTIONS", "mAX-fORWARDS:\t70", "l: {cl}"]),
     200, 200, None),
    ("escaped-ruri-user", options(first="OPTIONS sip:%61lice%40x@{dst}:{dport} SIP/2.0"),
     403, 200, None),
    # the presentity's user part reaches watcher_auth, which percent-decodes it
    ("bad-escape-presentity", subscribe(presentity="al%G0ice"), 400, 400, None),
    ("escaped-nul-presentity", subscribe(presentity="nul-%00-nul"), 400, 400, None),
    ("raw-nul-in-header", options("Subject: before\x00after"), 200, 200, None),
    ("raw-nul-in-body", options("Content-Type: text/plain", body=b"a\x00b\x00c"),
     200, 200, None),
    ("huge-content-length", options("Content-Length: 99999999999999999999"),
     DROP, DROP, r"bad|content.length|parse"),
    ("content-length-past-end", options("Content-Length: 5000", body=b"short"),
     400, 400, None),
    ("negative-content-length", options("Content-Length: -999"), DROP, DROP,
     r"bad|content.length|parse"),
    ("two-content-lengths", options("Content-Length: 0", "Content-Length: 20"),
     DROP, DROP, r"duplicate Content-Length header field"),
    ("unterminated-quote-from", options(sub={
        "from": 'From: "bob <sip:{user}@example.com>;tag={tag}'}), 400, 400, None),
    # Kamailio's Via parser takes the unterminated quoted parameter value
    ("unterminated-quote-via", options(sub={
        "via": 'Via: SIP/2.0/UDP {src}:{sport};rport;branch={branch};x="open'}),
     200, 200, None),
    ("unbalanced-angle-to", options(sub={"to": "To: <sip:{dst}:{dport}"}),
     DROP, DROP, r"bad header field \[To: "),
    ("two-call-ids", options("Call-ID: second-{cid}"), DROP, DROP,
     r"duplicate Call-ID header field"),
    ("two-froms", options("From: <sip:carol@example.com>;tag=x{tag}"), DROP, DROP,
     r"duplicate From header field"),
    ("two-cseqs", options("CSeq: 2 OPTIONS"), DROP, DROP, r"duplicate CSeq header field"),
    ("overlong-header-value", options("Subject: " + "x" * 30000), 200, 200, None),
    ("overlong-ruri-user", options(first="OPTIONS sip:" + "u" * 5000 + "@{dst}:{dport} SIP/2.0"),
     403, 200, None),
    ("overlong-call-id", options(sub={"call-id": "Call-ID: " + "c" * 3000 + "{cid}"}),
     200, 200, None),
    ("hundred-vias", options(*[f"Via: SIP/2.0/UDP 127.0.0.{i % 250 + 1}:5060;branch=z9hG4bKv{i}"
                               for i in range(100)]), 200, 200, None),
    # the core drops another SIP version without a log line at the default level
    ("unknown-sip-version", options(first="OPTIONS sip:{dst}:{dport} SIP/7.0"),
     DROP, DROP, None),
    ("unknown-ruri-scheme", options(first="OPTIONS nobodyKnowsThisScheme:totallyopaque SIP/2.0"),
     400, 400, None),
    ("lowercase-method", options(first="options sip:{dst}:{dport} SIP/2.0",
                                 sub={"cseq": "CSeq: 1 options"}), 200, 200, None),
    ("max-forwards-zero", options(sub={"max-forwards": "Max-Forwards: 0"}), 483, 483, None),
    ("max-forwards-not-a-number", options(sub={"max-forwards": "Max-Forwards: 7x0"}),
     400, 400, None),
    ("cseq-beyond-32-bits", options(sub={"cseq": "CSeq: 36893488147419103232 OPTIONS"}),
     400, 400, None),
    ("negative-expires", subscribe(sub={"expires": "Expires: -1"}), 400, 400, None),
    ("no-via", options(sub={"via": None}), DROP, DROP, r"parse|via|required"),
    ("no-from", options(sub={"from": None}), DROP, DROP,
     r"required headers not found in request"),
    ("space-in-ruri", options(first="OPTIONS sip:al ice@{dst}:{dport} SIP/2.0"),
     DROP, DROP, r"parse|request"),
    ("header-without-colon", options("This line has no colon"), DROP, DROP, r"parse|header"),
    ("crlf-only", b"\r\n\r\n\r\n\r\n", DROP, DROP, None),
    ("stray-response", b"SIP/2.0 200 OK\r\n" + b"\r\n".join(
        x.encode() for x in [VIA, STD["from"], "To: <sip:{dst}>;tag=x", STD["call-id"],
                             "CSeq: 1 OPTIONS", "Content-Length: 0"]) + b"\r\n\r\n",
     DROP, DROP, None),
]

CASES = []
for name, tpl, at_pcscf, at_ps, log in CORE:
    CASES.append(Case(name, "pcscf", "ue", tpl, at_pcscf,
                      log if at_pcscf == DROP else None))
    CASES.append(Case(name, "ps", "mallory", tpl, at_ps,
                      log if at_ps == DROP else None))



# ---- watcher_auth: Authorization at the Presence Server ---------------------

DIGEST_URI = f"sip:alice@{DOMAIN}"
QUOTED = ("username", "realm", "nonce", "uri", "response", "cnonce")


def digest_params(ch, nc="00000001"):
    """The parameters of a right answer to challenge ch, in order."""
    cnonce = uuid.uuid4().hex[:16]
    alg = ch.get("algorithm", "MD5")
    ha1 = sipua.ha1_of(alg, f"bob@{DOMAIN}", ch["realm"], PRESENCE_PASSWORD)
    ha2 = sipua.H(alg, f"SUBSCRIBE:{DIGEST_URI}")
    resp = sipua.H(alg, f"{ha1}:{ch['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return [("username", f"bob@{DOMAIN}"), ("realm", ch["realm"]),
            ("nonce", ch["nonce"]), ("uri", DIGEST_URI), ("response", resp),
            ("algorithm", alg), ("cnonce", cnonce), ("qop", "auth"), ("nc", nc)]


def render(params, scheme="Digest"):
    return scheme + " " + ", ".join(f'{k}="{v}"' if k in QUOTED else f"{k}={v}"
                                    for k, v in params)


def authorized(change, pai=None):
    """A case's message: bob's SUBSCRIBE challenged by the Presence Server
    (through the P-CSCF, or from the trusted peer asserting bob), then sent
    again with the answer that change(params, challenge) makes of a right
    one: a header line, or the list of parameters."""
    extra = [f"P-Asserted-Identity: {pai}"] if pai else []

    def build(p):
        p.send(p.build(subscribe(*extra, sub={"from": "From: <sip:bob@example.com>;tag={tag}"})))
        r401 = p.final(REPLY_WAIT, p.cid)
        assert r401 is not None and r401.status == 401, r401 and r401.first
        ch = sipua.challenges(r401)[0]
        out = change(digest_params(ch), ch, p)
        line = out if isinstance(out, str) else "Authorization: " + render(out)
        p.ctx["branch"] = "z9hG4bK" + uuid.uuid4().hex[:16]
        return subscribe(*extra, line, sub={"cseq": "CSeq: 2 SUBSCRIBE",
                                            "from": "From: <sip:bob@example.com>;tag={tag}"})
    return build


def without(name):
    return lambda ps, ch, p: [(k, v) for k, v in ps if k != name]


def replaced(name, value):
    return lambda ps, ch, p: [(k, value if k == name else v) for k, v in ps]


def doubled(name, first):
    """name given twice: a wrong value first, the right one second."""
    return lambda ps, ch, p: [(name, first)] + ps


def pcscf_nonce(ps, ch, p):
    """A nonce the P-CSCF gave bob for his registration (realm
    example.com), presented to the Presence Server for alice's realm."""
    ua = p.env.uas["ue"]
    ua.request("REGISTER", f"sip:{DOMAIN}", [f"Contact: <sip:bob@{ua.ip}:{ua.port}>", "Expires: 600"],
               to=f"<sip:bob@{DOMAIN}>")
    r = ua.final_response()
    assert r is not None and r.status == 401, r and r.first
    nonce = sipua.challenges(r)[0]["nonce"]
    return [(k, nonce if k == "nonce" else v) for k, v in ps]


AUTH = [
    # (name, change, expected): bob's answer to alice's challenge, changed
    ("auth-no-username", without("username"), 400),
    # no credentials for alice's realm: challenged
    ("auth-no-realm", without("realm"), 401),
    ("auth-no-nonce", without("nonce"), 400),
    ("auth-no-uri", without("uri"), 400),
    ("auth-no-response", without("response"), 400),
    ("auth-doubled-nonce", doubled("nonce", "0" * 40), 403),
    ("auth-doubled-response", doubled("response", "0" * 32), 403),
    # the first for the realm is taken: a wrong answer, challenged again
    # (auth_retries 1 in the test system)
    ("auth-two-headers", lambda ps, ch, p: (
        "Authorization: " + render(replaced("response", "0" * 32)(ps, ch, p))
        + "\r\nAuthorization: " + render(ps)), 401),
    # the auth module's nonce count check refuses the nc: a new challenge
    ("auth-nc-absurd", replaced("nc", "f" * 40), 401),
    ("auth-nc-zero", replaced("nc", "00000000"), 401),
    ("auth-nc-not-hex", replaced("nc", "zzzzzzzz"), 401),
    ("auth-nonce-of-pcscf-realm", pcscf_nonce, 401),
    ("auth-realm-of-another-presentity", replaced("realm", f"carol@{DOMAIN}"), 401),
    ("auth-basic-scheme", lambda ps, ch, p: "Authorization: Basic Ym9iOmdhcmRlbi1nYXRl", 401),
    ("auth-unterminated-quote", lambda ps, ch, p: "Authorization: " + render(ps)[:-12] + ', opaque="x', 400),
    ("auth-unknown-algorithm", replaced("algorithm", "ROT13"), 403),
    ("auth-overlong-response", replaced("response", "a" * 2000), 403),
    ("auth-qop-auth-int", replaced("qop", "auth-int"), 403),
    # no credentials at all: challenged
    ("auth-empty-header", lambda ps, ch, p: "Authorization:", 401),
]
for name, change, code in AUTH:
    CASES.append(Case(name, "pcscf", "ue", authorized(change), code, module=True))
for name, change, code in AUTH[2:9:3]:
    CASES.append(Case(name, "ps", "peer", authorized(change, pai=f"<sip:bob@{DOMAIN}>"),
                      code, module=True))


# ---- P-Asserted-Identity at the Presence Server ----------------------------

PAI_PS = [
    # (name, P-Asserted-Identity lines, from the trusted peer, from mallory):
    # from the trusted peer the PAI is the watcher (bob's rule demands
    # digest: 401); from mallory it is never believed (no rule: no challenge)
    # the core's parser reads the first 10 values (and logs it); the first
    # SIP URI of a trusted hop is the watcher
    ("pai-many-values", ["P-Asserted-Identity: " + ", ".join(
        [f"<sip:bob@{DOMAIN}>"] + [f"<sip:u{i}@{DOMAIN}>" for i in range(40)])], 401, 200),
    ("pai-bad-uri", ["P-Asserted-Identity: <sip:@@bad>"], 403, 200),
    ("pai-tel-and-sip", [f"P-Asserted-Identity: <tel:+15550100002>, <sip:bob@{DOMAIN}>"], 401, 200),
    ("pai-two-sip", [f"P-Asserted-Identity: <sip:bob@{DOMAIN}>",
                     f"P-Asserted-Identity: <sip:carol@{DOMAIN}>"], 401, 200),
    # a trusted hop's PAI that is no SIP URI is the watcher all the same
    # (not a SIP URI: 403), never the From URI the watcher wrote (was: From)
    ("pai-garbage", ["P-Asserted-Identity: garbage"], 403, 200),
    ("pai-tel-only", ["P-Asserted-Identity: <tel:+15550100002>"], 403, 200),
]
for name, lines, trusted, untrusted in PAI_PS:
    CASES.append(Case(name, "ps", "peer", subscribe(*lines, sub={
        "from": "From: <sip:anonymous@anonymous.invalid>;tag={tag}"}), trusted, module=True))
    CASES.append(Case(name, "ps", "mallory", subscribe(*lines), untrusted, module=True))



# ---- sip_privacy at the P-CSCF: bob's MESSAGE to alice ----------------------

BOB_PAI = f"<sip:{'bob'}@{DOMAIN}>"


def message(privacy=(), extra=()):
    """bob's MESSAGE to alice through the P-CSCF (her UA answers 200 when
    it gets it); the final reply, and what alice got in p.delivered."""
    def run(p):
        got, _, r = message_bob_to_alice(p.env.uas["ue"], p.env.uas["alice"], list(privacy),
                                         extra=list(extra))
        p.delivered = got
        return r
    return run


def anonymous(p):
    assert p.delivered is not None, "not delivered"
    assert_anonymous(p.delivered, p.env.uas["ue"], "MESSAGE")


def not_delivered(p):
    assert p.delivered is None, "refused MESSAGE delivered"


def only_bob_asserted(p):
    """alice gets bob's identity as the P-CSCF asserts it, nothing the UE
    wrote (no other user, no tel URI he named)."""
    assert p.delivered is not None, "not delivered"
    pai = p.delivered.get("P-Asserted-Identity")
    assert pai and all("bob@" in v for v in pai), pai
    raw = p.delivered.raw.decode("latin-1")
    assert "carol" not in raw and "+15550100003" not in raw and "u7@" not in raw, raw


PRIVACY = [
    # (name, Privacy values, code bob gets, check of what alice got)
    ("privacy-unknown-value", ["x-foo"], 200, None),
    ("privacy-unknown-critical", ["x-foo;critical"], 500, not_delivered),
    ("privacy-repeated-id", ["id;id;id"], 200,
     lambda p: p.delivered is not None and p.delivered.get("P-Asserted-Identity") == []
     or pytest.fail("PAI kept")),
    # unparsable: every privacy the service gives
    ("privacy-empty", [""], 200, anonymous),
    ("privacy-none-with-id", ["none;id"], 200, anonymous),
    ("privacy-17-headers", ["id"] * 17, 200, anonymous),
    ("privacy-overlong", ["id;" + "x" * 600], 200, anonymous),
    ("privacy-odd-case-space", ["ID ; User"], 200, anonymous),
    ("privacy-session-critical", ["session;critical"], 500, not_delivered),
    ("privacy-critical-alone", ["critical"], 200, None),
]
for name, values, code, check in PRIVACY:
    CASES.append(Case(name, "pcscf", "ue", None, code, check=check, module=True,
                      run=message(values, [("Subject", "from bob")])))

PAI_UE = [
    # (name, identity headers bob writes himself): removed, bob's asserted
    ("pai-ue-many-values", [("P-Asserted-Identity", ", ".join(
        [f"<sip:carol@{DOMAIN}>", "<tel:+15550100003>"] + [f"<sip:u{i}@{DOMAIN}>" for i in range(30)]))]),
    ("pai-ue-bad-uri", [("P-Asserted-Identity", "<sip:@@bad>")]),
    ("pai-ue-tel-and-sip", [("P-Asserted-Identity", f"<tel:+15550100003>, <sip:carol@{DOMAIN}>")]),
    ("ppi-ue-other-user", [("P-Preferred-Identity", f"<sip:carol@{DOMAIN}>")]),
    ("ppi-ue-garbage", [("P-Preferred-Identity", "<<garbage")]),
]
for name, hdrs in PAI_UE:
    CASES.append(Case(name, "pcscf", "ue", None, 200, check=only_bob_asserted, module=True,
                      run=message(["none"], hdrs)))



# ---- notify_smime: S/MIME bodies of a SUBSCRIBE and a PUBLISH ---------------

P7M_ENV = "application/pkcs7-mime; smime-type=enveloped-data"
INNER = (b"Content-Type: application/pidf+xml\r\n\r\n<?xml version='1.0'?>"
         b"<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:alice@example.com'/>")


def enveloped(system, entity, to="ps"):
    rc, der, err = openssl("cms", "-encrypt", "-binary", "-outform", "DER", "-aes128",
                           os.path.join(certs(system), f"{to}.pem"), data=entity)
    assert rc == 0, err
    return der


def nested(system, layers):
    """layers of enveloped-data to the server, one in another."""
    der = enveloped(system, INNER)
    for _ in range(layers - 1):
        der = enveloped(system, f"Content-Type: {P7M_ENV}\r\n\r\n".encode() + der)
    return der


def signed_garbage(boundary="sig-boundary"):
    return (f"--{boundary}\r\n".encode() + INNER + f"\r\n--{boundary}\r\n"
            "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\n".encode()
            + b"\x30\x82\x01\x00not a signature" + f"\r\n--{boundary}--\r\n".encode())


SIGNED = 'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=sig-boundary'

# (name, body (bytes, or callable(env)), Content-Type, code)
SMIME = [
    ("smime-certs-only-garbage", b"garbage", CERTS_ONLY, 400),
    # (a SUBSCRIBE with an empty body has no body to read: served)
    ("smime-certs-only-zero-length", b"", CERTS_ONLY, (200, 400)),
    ("smime-certs-only-truncated", lambda e: e.bob_cert[:len(e.bob_cert) // 2], CERTS_ONLY, 400),
    ("smime-wrong-smime-type", b"\x30\x03\x02\x01\x00",
     "application/pkcs7-mime; smime-type=compressed-data", 415),
    ("smime-no-smime-type", b"\x30\x03\x02\x01\x00", "application/pkcs7-mime", 415),
    ("smime-signed-garbage", signed_garbage(), SIGNED, 403),
    ("smime-nested-4-layers", lambda e: e.nested4, P7M_ENV, 400),
    ("smime-enveloped-truncated", lambda e: e.nested1[:len(e.nested1) // 2], P7M_ENV, 493),
    ("smime-enveloped-zero-length", b"", P7M_ENV, (200, 400)),
]


def smime_body(body, env):
    return body(env) if callable(body) else body


for name, body, ctype, code in SMIME:
    # a SUBSCRIBE of mallory (no rule: no digest asked) to the PS directly,
    # and the same body in alice's PUBLISH through the P-CSCF
    sub_code, pub_code = code if isinstance(code, tuple) else (code, code)
    CASES.append(Case(name, "ps", "mallory", lambda p, b=body, c=ctype: subscribe(
        body=smime_body(b, p.env), ctype=c), sub_code, module=True))
    CASES.append(Case(name, "pcscf", "alice", lambda p, b=body, c=ctype: publish(
        body=smime_body(b, p.env), ctype=c), pub_code, module=True))


def over_tcp(p):
    """The case's message over a TCP connection of its own from mallory;
    the first reply."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((p.ua.ip, 0))
        s.settimeout(REPLY_WAIT)
        s.connect(p.dst)
        p.ctx["sport"] = str(s.getsockname()[1])
        data = p.build(subscribe(sub={"via": VIA.replace("UDP", "TCP")},
                                 body=b"\x30" * 100000, ctype=CERTS_ONLY))
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65535)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, ConnectionError):
        return None
    finally:
        s.close()
    return sipua.Msg(buf) if buf else None


# 100 kB, more than notify_smime's max_body (64 kB), over TCP: Kamailio's
# core reads at most its TCP buffer (64 kB) of one message, so it closes the
# connection before any module sees the body
CASES.append(Case("smime-enormous-over-tcp", "ps", "mallory", None, DROP, module=True,
                  log=r"tcp_read\(\): buffer overrun, dropping", run=over_tcp))


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c.id for c in CASES])


# ---- the machinery ---------------------------------------------------------

def role_pids(role):
    """Every process of a role: kamailio runs in the foreground (-DD) in its
    own session, so its children are the processes of that session."""
    sid = role.proc.pid
    pids = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.add(int(d))
    return pids


class Probe:
    """One case sent: the filled message, the replies, what was delivered."""

    def __init__(self, env, case):
        self.env, self.case = env, case
        self.ua = env.uas[case.by]
        self.dst = (PCSCF_IP if case.to == "pcscf" else PS_IP, SIP_PORT)
        self.cid = "mal-" + uuid.uuid4().hex
        self.ctx = {"src": self.ua.ip, "sport": str(self.ua.port), "dst": self.dst[0],
                    "dport": str(self.dst[1]), "user": self.ua.user, "cid": self.cid,
                    "tag": uuid.uuid4().hex[:10], "branch": "z9hG4bK" + uuid.uuid4().hex[:16]}
        self.replies = []

    def build(self, tpl):
        return fill(tpl, self.ctx)

    def send(self, data):
        self.ua.sock.sendto(data, self.dst)

    def final(self, timeout, call_id=None):
        """The first final response (of call_id, when given), answering
        NOTIFYs meanwhile; every reply is kept."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.ua.recv(deadline - time.monotonic())
            if m is None:
                return None
            if m.method == "NOTIFY":
                self.ua.answer(m)
                self.replies.append(m)
                continue
            if m.status is None:
                continue
            self.replies.append(m)
            if m.status >= 200 and (call_id is None or m.first_value("Call-ID") == call_id):
                return m
        return None


class Env:
    def __init__(self, system):
        self.system = system
        self.uas = {}
        self.pids = {}


def drain(ua):
    while ua.recv(0.05) is not None:
        pass


@pytest.fixture(scope="module")
def env(system):
    e = Env(system)
    with open(os.path.join(h.TOP, "etc", "demo", "alice-pres-rules.xml")) as f:
        system.set_pres_rules("alice", f.read())
    store_cert(system, "bob", True)
    try:
        e.uas["alice"] = register_ua("alice")
        r = request(e.uas["alice"], "PUBLISH", f"sip:alice@{DOMAIN}",
                    ["Event: presence", "Expires: 3600"],
                    ("<?xml version='1.0'?><presence xmlns='urn:ietf:params:xml:ns:pidf'"
                     f" entity='sip:alice@{DOMAIN}'><tuple id='t'><status><basic>open"
                     f"</basic></status><note>{NOTE}</note></tuple></presence>").encode(),
                    "application/pidf+xml")
        assert r is not None and r.status == 200, r and r.first
        e.etag = r.first_value("SIP-ETag")
        e.uas["ue"] = register_ua("bob")
        e.uas["mallory"] = sipua.UA("mallory", h.UA_IP["mallory"], (PS_IP, SIP_PORT))
        e.uas["peer"] = sipua.UA("peer", h.TRUSTED_PEER_IP, (PS_IP, SIP_PORT))
        for ua in e.uas.values():
            ua.notifies = []
        e.bob_cert = certs_only(system, "bob")
        e.nested1, e.nested4 = nested(system, 1), nested(system, 4)
        e.pids = {r.name: role_pids(r) for r in (system.pcscf, system.ps)}
        assert all(e.pids.values())
        e.cap = Capture()
        yield e
    finally:
        cap = getattr(e, "cap", None)
        wire = cap.stop() if cap else b""
        if getattr(e, "etag", None):
            # alice's publication goes with the suite: later suites compare
            # her presence document with what they publish, byte for byte
            r = request(e.uas["alice"], "PUBLISH", f"sip:alice@{DOMAIN}",
                        ["Event: presence", "Expires: 0", f"SIP-If-Match: {e.etag}"])
            assert r is not None and r.status == 200, r and r.first
        for name in ("alice", "ue"):
            if name in e.uas:
                register_raw(e.uas[name], "*", 0)
        for ua in e.uas.values():
            ua.close()
        assert NOTE.encode() not in wire


def authenticated_subscribe(env):
    """bob fetches alice's presence through the P-CSCF with his certificate
    (certs-only) and answers the Presence Server's challenge with the
    password alice gave him: 200, and the NOTIFY carries her presence
    encrypted to his certificate."""
    ua = env.uas["ue"]
    ua.call_id, ua.notifies = uuid.uuid4().hex, []
    ruri = f"sip:alice@{DOMAIN}"
    hdrs = ["Event: presence", "Accept: application/pidf+xml, application/pkcs7-mime",
            "Expires: 0"]

    def fetch(extra=()):
        return send(ua, "SUBSCRIBE", ruri, f"<{ruri}>", hdrs + list(extra), env.bob_cert,
                    CERTS_ONLY, call_id=ua.call_id)
    r401 = fetch()
    assert r401 is not None and r401.status == 401, r401 and r401.first
    ch = sipua.challenges(r401)[0]
    assert ch["realm"] == PRESENTITY_REALM
    auth = sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE", ruri, password=PRESENCE_PASSWORD)
    ok = fetch([f"Authorization: {auth}"])
    assert ok is not None and ok.status in (200, 202), ok and ok.first
    n = ua.wait_notify(5)
    assert n is not None, "no NOTIFY for the authenticated SUBSCRIBE"
    assert n.first_value("Content-Type") == P7M_CTYPE, n.first_value("Content-Type")


def assert_served(env, case, wire_from):
    system = env.system
    for ip in (PCSCF_IP, PS_IP):
        assert h.status_code(h.options(ip, h.PROBE_IP)) == 200, f"{ip} does not serve OPTIONS"
    if case.module:
        authenticated_subscribe(env)
    for role in (system.pcscf, system.ps):
        assert role.alive(), f"{role.name} exited"
        now = role_pids(role)
        assert now == env.pids[role.name], \
            f"{role.name} processes changed: gone {env.pids[role.name] - now}, new {now - env.pids[role.name]}"
    wire = b"".join(env.cap.data[wire_from:])
    assert NOTE.encode() not in wire, "alice's presence crossed the wire in clear"
    assert PRESENCE_PASSWORD.encode() not in wire


def log_errors(role, offset):
    return "\n".join(x[:300] for x in role.log_text()[offset:].splitlines()
                     if re.search(r"ERROR|WARNING|NOTICE", x))


def test_malformed(env, case):
    system = env.system
    role = system.pcscf if case.to == "pcscf" else system.ps
    wire_from = len(env.cap.data)
    offset = len(role.log_text())
    p = Probe(env, case)
    drain(p.ua)
    if case.run and case.expect == DROP:
        reply = case.run(p)
        assert reply is None, f"dropped message answered: {reply.first}"
    elif case.run:
        reply = case.run(p)
        assert reply is not None, "no reply"
        assert reply.status == case.expect, reply.first + "\n" + log_errors(role, offset)
    elif case.expect == DROP:
        p.send(p.build(case.msg(p) if callable(case.msg) else case.msg))
        reply = p.final(DROP_WAIT)
        assert reply is None, f"dropped message answered: {reply.first}"
    else:
        p.send(p.build(case.msg(p) if callable(case.msg) else case.msg))
        reply = p.final(REPLY_WAIT)
        assert reply is not None, "no reply"
        assert reply.status == case.expect, \
            reply.raw[:400].decode("latin-1") + "\n" + log_errors(role, offset)
    if case.log:
        assert role.wait_log(case.log, timeout=3, start=offset), \
            f"no log line /{case.log}/ in:\n" + log_errors(role, offset)
    for m in p.replies:
        if case.by in ("ue", "mallory"):
            assert m.get("P-Asserted-Identity") == [], f"PAI sent to an untrusted UE: {m.first}"
    if case.check:
        case.check(p)
    assert_served(env, case, wire_from)
