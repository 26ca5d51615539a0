"""A minimal SIP user agent for the end-to-end tests, for what SIPp cannot
do: SHA-256 digest, a client that holds only an HA1, replaying a captured
Authorization, waiting out a nonce, SIP over TLS. UDP or TLS, one request
at a time, bounded waits."""
import hashlib
import re
import socket
import ssl
import time
import uuid

DOMAIN = "example.com"


def parse_msg(data):
    """(first line, [(name, value)], body) of one SIP message."""
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            n, v = headers[-1]
            headers[-1] = (n, v + " " + line.strip())
        elif ":" in line:
            n, v = line.split(":", 1)
            headers.append((n.strip(), v.strip()))
    return lines[0], headers, body


class Msg:
    def __init__(self, data):
        self.raw = data
        self.first, self.headers, self.body = parse_msg(data)

    @property
    def status(self):
        m = re.match(r"SIP/2\.0 (\d{3})", self.first)
        return int(m.group(1)) if m else None

    @property
    def method(self):
        return None if self.first.startswith("SIP/2.0") else self.first.split(" ", 1)[0]

    def get(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def first_value(self, name):
        v = self.get(name)
        return v[0] if v else None


def challenges(msg):
    """Parsed WWW-Authenticate headers, in order: [{param: value}]."""
    out = []
    for v in msg.get("WWW-Authenticate"):
        assert v.startswith("Digest ")
        params = dict((k.lower(), a if a else b) for k, a, b in
                      re.findall(r'([\w-]+)=(?:"([^"]*)"|([^\s,]+))', v[7:]))
        out.append(params)
    return out


def H(alg, s):
    h = hashlib.sha256 if alg.upper() == "SHA-256" else hashlib.md5
    return h(s.encode()).hexdigest()


def ha1_of(alg, username, realm, password):
    return H(alg, f"{username}:{realm}:{password}")


def authorization(ch, username, method, uri, ha1=None, password=None,
                  nc="00000001", cnonce=None):
    """Authorization header value answering challenge ch (a dict) with qop=auth."""
    alg = ch.get("algorithm", "MD5")
    realm, nonce = ch["realm"], ch["nonce"]
    if ha1 is None:
        ha1 = ha1_of(alg, username, realm, password)
    cnonce = cnonce or uuid.uuid4().hex[:16]
    ha2 = H(alg, f"{method}:{uri}")
    resp = H(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{username}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{resp}", algorithm={alg}, '
            f'cnonce="{cnonce}", qop=auth, nc={nc}')


class UA:
    """One user agent on its own loopback address, UDP or TLS."""

    def __init__(self, user, ip, proxy, transport="udp", ca=None):
        self.user, self.ip, self.proxy = user, ip, proxy
        self.transport = transport
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((ip, 0))
        else:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.bind((ip, 0))
            raw.settimeout(5)
            raw.connect(proxy)
            ctx = ssl.create_default_context(cafile=ca)
            self.sock = ctx.wrap_socket(raw, server_hostname=proxy[0])
            self.buf = b""
        self.port = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex
        self.tag = uuid.uuid4().hex[:10]
        self.cseq = 0

    def close(self):
        self.sock.close()

    def send(self, data):
        if self.transport == "udp":
            self.sock.sendto(data, self.proxy)
        else:
            self.sock.sendall(data)

    def _recv_tls(self, deadline):
        while True:
            m = re.search(rb"\r\n\r\n", self.buf)
            if m:
                head = self.buf[:m.end()]
                cl = re.search(rb"(?im)^(?:Content-Length|l)\s*:\s*(\d+)", head)
                n = m.end() + (int(cl.group(1)) if cl else 0)
                if len(self.buf) >= n:
                    data, self.buf = self.buf[:n], self.buf[n:]
                    return data
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65535)
            except (socket.timeout, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def recv(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        if self.transport != "udp":
            data = self._recv_tls(deadline)
            return Msg(data) if data else None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            if data.strip():
                return Msg(data)

    def subscribe(self, presentity, expires=0, auth=None, extra=(),
                  branch=None, cseq=None, from_user=None, timeout=5.0):
        """Sends one SUBSCRIBE; returns (raw request, final response)."""
        self.cseq = cseq if cseq is not None else self.cseq + 1
        branch = branch or "z9hG4bK" + uuid.uuid4().hex[:16]
        proto = "UDP" if self.transport == "udp" else "TLS"
        tp = "" if self.transport == "udp" else ";transport=tls"
        ruri = f"sip:{presentity}@{DOMAIN}"
        lines = [f"SUBSCRIBE {ruri} SIP/2.0",
                 f"Via: SIP/2.0/{proto} {self.ip}:{self.port};rport;branch={branch}",
                 f"From: <sip:{from_user or self.user}@{DOMAIN}>;tag={self.tag}",
                 f"To: <{ruri}>", f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} SUBSCRIBE",
                 f"Contact: <sip:{self.user}@{self.ip}:{self.port}{tp}>",
                 "Max-Forwards: 70", "Event: presence",
                 "Accept: application/pidf+xml", f"Expires: {expires}"]
        if auth:
            lines.append(f"Authorization: {auth}")
        lines += list(extra)
        lines.append("Content-Length: 0")
        req = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.send(req)
        return req, self.final_response(timeout)

    def final_response(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(deadline - time.monotonic())
            if m is None:
                return None
            if m.method == "NOTIFY":
                self.answer(m)
                self.notifies.append(m)
                continue
            if m.status and m.status >= 200:
                return m
        return None

    notifies = None

    def request(self, method, ruri, headers=(), body=b"", call_id=None,
                to=None):
        """Sends one request over this UA's transport (a new transaction,
        CSeq counted, no Contact unless in headers); returns its Call-ID."""
        self.cseq += 1
        call_id = call_id or uuid.uuid4().hex
        proto = "UDP" if self.transport == "udp" else "TLS"
        lines = [f"{method} {ruri} SIP/2.0",
                 f"Via: SIP/2.0/{proto} {self.ip}:{self.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
                 f"From: <sip:{self.user}@{DOMAIN}>;tag={self.tag}",
                 f"To: {to or f'<{ruri}>'}", f"Call-ID: {call_id}",
                 f"CSeq: {self.cseq} {method}", "Max-Forwards: 70",
                 *headers, f"Content-Length: {len(body)}"]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return call_id

    def register(self, password, contact=None, expires=120):
        """REGISTER with digest from this UA's own socket (or connection):
        by default its own address as the contact, which the P-CSCF then
        takes as this user's source. Returns the final response."""
        tp = "" if self.transport == "udp" else ";transport=tls"
        contact = contact or f"<sip:{self.user}@{self.ip}:{self.port}{tp}>"
        ruri = f"sip:{DOMAIN}"
        to = f"<sip:{self.user}@{DOMAIN}>"
        hdrs = [f"Contact: {contact}", f"Expires: {expires}"]
        call_id = self.request("REGISTER", ruri, hdrs, to=to)
        r = self.final_response()
        if r is None or r.status != 401:
            return r
        auth = authorization(challenges(r)[0], self.user, "REGISTER", ruri,
                             password=password)
        self.request("REGISTER", ruri, hdrs + [f"Authorization: {auth}"],
                     call_id=call_id, to=to)
        return self.final_response()

    def answer(self, req):
        """200 OK to a request received (a NOTIFY); over UDP to the sent-by
        of its top Via (RFC 3261 18.2.2), which need not be this UA's proxy:
        in a cluster any Presence Server node may send a NOTIFY."""
        keep = ("via", "from", "to", "call-id", "cseq")
        lines = ["SIP/2.0 200 OK"] + [f"{n}: {v}" for n, v in req.headers if n.lower() in keep]
        lines.append("Content-Length: 0")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        m = re.match(r"SIP/2\.0/UDP\s+([^;:\s]+)(?::(\d+))?", req.first_value("Via") or "", re.I)
        if self.transport == "udp" and m:
            self.sock.sendto(data, (m.group(1), int(m.group(2) or 5060)))
        else:
            self.send(data)

    def wait_notify(self, timeout=3.0):
        if self.notifies:
            return self.notifies.pop(0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(deadline - time.monotonic())
            if m is None:
                return None
            if m.method == "NOTIFY":
                self.answer(m)
                return m
        return None


def new_ua(*args, register=None, **kw):
    """A UA; a demo user's UA on her own address toward the P-CSCF is
    registered from its socket first (register=None), since the P-CSCF
    serves a user only from a registered contact (address, port and
    transport, or connection). register=False: an unregistered source."""
    import harness as h
    ua = UA(*args, **kw)
    ua.notifies = []
    if register is None:
        register = (ua.user in h.USERS and ua.ip == h.UA_IP.get(ua.user)
                    and ua.proxy[0] == h.PCSCF_IP)
    if register:
        r = ua.register(h.USERS[ua.user])
        if r is None or r.status != 200:
            ua.close()
            raise RuntimeError(f"REGISTER of {ua.user} from {ua.ip}:{ua.port}"
                               f" failed: {r and r.first}")
    return ua
