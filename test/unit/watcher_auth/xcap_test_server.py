#!/usr/bin/python3
"""HTTPS test server for test_xcap_fetch.c: one XCAP root, one behaviour
per presentity.

    xcap_test_server.py CERT KEY PORT ADDR [ADDR ...]

Listens on PORT of every ADDR (loopback addresses of the unit test's own,
127.0.5.x), HTTP/1.1 with keep-alive, a thread per connection, the TLS
handshake in that thread. Prints nothing; stops on SIGTERM.

Documents, under /xcap-root/pres-rules/users/<aor>/index:
  sip:alice@example.com       200 policy, ETag "alice-1", 304 on If-None-Match
  sip:nobody@example.com      404
  sip:error@example.com       500
  sip:html@example.com        200 text/html
  sip:param@example.com       200 Application/Auth-Policy+XML; charset="UTF-8"
  sip:plus@example.com        200 application/vnd.example+xml
  sip:text@example.com        200 text/xml
  sip:notxml@example.com      200 application/xmlfoo (a prefix, not XML)
  sip:noct@example.com        200 without Content-Type
  sip:empty@example.com       200 application/xml, empty body
  sip:exact@example.com       200 body of exactly BIG bytes
  sip:big@example.com         200 Content-Length BIG + 1
  sip:chunked@example.com     200 chunked, BIG + 1 bytes, no Content-Length
  sip:bigerror@example.com    404 with a body of BIG + 1 bytes
  sip:slow@example.com        sleeps SLOW seconds before answering
  sip:redirect@example.com    302 to alice's document
  sip:longetag@example.com    200 with an ETag of 200 characters
  sip:whoami@example.com      200 with the client's source port in the body
  sip:noinm@example.com       304 whatever the request (no If-None-Match)
and the raw path /xcap-root/pres-rules/users/sip:a%2Fb%20c%3F@example.com/index
(exactly so encoded on the wire) gives 200.
"""
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = 65536  # the client's max_body in the test
SLOW = 3.0
ROOT = "/xcap-root/pres-rules/users/"
POLICY = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
          b'<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy"/>\n')


def xml_of(size):
    head, tail = b"<x>", b"</x>"
    return head + b"a" * (size - len(head) - len(tail)) + tail


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xcap-test"
    sys_version = ""

    def setup(self):
        self.tls_ok = True
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.tls_ok = False
        super().setup()

    def handle(self):
        if self.tls_ok:
            try:
                super().handle()
            except (ssl.SSLError, OSError):
                pass

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body=b"", ctype="application/auth-policy+xml",
             etag=None, headers=()):
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        if etag is not None:
            self.send_header("ETag", etag)
        for k, v in headers:
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def do_GET(self):
        raw = self.path
        if raw == ROOT + "sip:a%2Fb%20c%3F@example.com/index":
            return self.send(200, POLICY)
        if not raw.startswith(ROOT) or not raw.endswith("/index"):
            return self.send(400, b"bad path\n", "text/plain")
        aor = raw[len(ROOT):-len("/index")]
        user = aor[4:].split("@")[0] if aor.startswith("sip:") else ""
        inm = self.headers.get("If-None-Match")
        if user == "alice":
            if inm == '"alice-1"':
                return self.send(304, etag='"alice-1"', ctype=None)
            return self.send(200, POLICY, etag='"alice-1"')
        if user == "nobody":
            return self.send(404, b"not found\n", "text/plain")
        if user == "error":
            return self.send(500, b"oops\n", "text/plain")
        if user == "html":
            return self.send(200, b"<html></html>", "text/html")
        if user == "param":
            return self.send(200, POLICY,
                             'Application/Auth-Policy+XML; charset="UTF-8"')
        if user == "plus":
            return self.send(200, POLICY, "application/vnd.example+xml")
        if user == "text":
            return self.send(200, POLICY, "text/xml")
        if user == "notxml":
            return self.send(200, POLICY, "application/xmlfoo")
        if user == "noct":
            return self.send(200, POLICY, None)
        if user == "empty":
            return self.send(200, b"", "application/xml")
        if user == "exact":
            return self.send(200, xml_of(BIG), "application/xml")
        if user == "big":
            return self.send(200, xml_of(BIG + 1), "application/xml")
        if user == "bigerror":
            return self.send(404, b"e" * (BIG + 1), "text/plain")
        if user == "chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            body = xml_of(BIG + 1)
            for i in range(0, len(body), 4096):
                part = body[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if user == "slow":
            time.sleep(SLOW)
            return self.send(200, POLICY)
        if user == "redirect":
            return self.send(302, b"", "text/plain", headers=(
                ("Location", ROOT + "sip:alice@example.com/index"),))
        if user == "longetag":
            return self.send(200, POLICY, etag='"' + "e" * 198 + '"')
        if user == "whoami":
            port = self.client_address[1]
            return self.send(200, b"<port>%d</port>" % port, "application/xml")
        if user == "noinm":
            return self.send(304, etag='"x"', ctype=None)
        return self.send(404, b"", "text/plain")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, ctx):
        self.ctx = ctx
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # the handshake runs in the connection's thread (Handler.setup)
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass


def main():
    if len(sys.argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    cert, key, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    servers = [Server((a, port), ctx) for a in sys.argv[4:]]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(1.0):
        if os.getppid() == 1:  # the test died without killing us
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
