"""An external XCAP server for the end-to-end suite: a real nginx over HTTPS.

nginx (the Debian package) serves pres-rules documents as static files from
a throwaway docroot, laid out as an XCAP root (RFC 4825, RFC 5025):

    <docroot>/xcap-root/pres-rules/users/sip:alice@example.com/index

on 127.0.1.50:8443 with a server certificate issued from the test run's demo
CA (<run>/certs/ca.pem + ca.key, SAN IP:127.0.1.50), so the Presence Server
verifies it with the same CA file as everything else. nginx answers GET with
an ETag and a 304 to a matching If-None-Match on its own; every document is
served as application/auth-policy+xml. Its prefix, configuration, pid file,
logs and certificate live under <run>/nginx/.

`start_slow()` puts something else on the same address and port: a server
that completes the TLS handshake (or, with tls=False, never starts it) and
then never answers, so that fetches run into the client's timeout.
`start_answer()` puts there a server that answers every request with one
fixed status and body (a 500, garbage in place of a document);
`stop_slow()` stops either.

Every process is started with subprocess.Popen in its own session and
stopped by its PID; waits are on the port, bounded in time.

Usage (after the run folder is provisioned):

    x = XcapNginx(run_dir)
    x.put_policy("sip:alice@example.com", xml)
    x.start()
    ... x.root_url, x.url("sip:alice@example.com") ...
    x.stop()
    x.close()        # also removes the docroot

Self-check:  python3 test/e2e/xcap_nginx.py [RUN_DIR]
"""
import grp
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
XCAP_IP = os.environ.get(
    "TEST_XCAP_EXT_IP", os.environ.get("TEST_NET", "127.0.1") + ".50")
XCAP_PORT = int(os.environ.get("TEST_XCAP_EXT_PORT", "8443"))
XCAP_CN = "xcap-ext.example.com"
CONTENT_TYPE = "application/auth-policy+xml"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# what the C client keeps unencoded in a path segment (RFC 3986 pchar)
_SEGMENT_SAFE = "!$&'()*+,;=:@~"


def _port_open(ip, port, timeout=0.3):
    try:
        socket.create_connection((ip, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def _wait_port(ip, port, want_open, deadline):
    while time.monotonic() < deadline:
        if _port_open(ip, port) == want_open:
            return True
        time.sleep(0.05)
    return False


def _stop_proc(proc, sig, timeout):
    """Signal the process by its PID, then its own process group (started
    with start_new_session, so the group is ours) if it does not exit."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _check_aor(aor):
    if not aor or aor in (".", "..") or "/" in aor or "\0" in aor:
        raise ValueError(f"not usable as an XCAP path segment: {aor!r}")


class XcapNginx:
    def __init__(self, run_dir, ip=XCAP_IP, port=XCAP_PORT):
        self.run_dir = os.path.abspath(run_dir)
        self.ip, self.port = ip, port
        self.dir = os.path.join(self.run_dir, "nginx")
        self.ca = os.path.join(self.run_dir, "certs", "ca.pem")
        self.ca_key = os.path.join(self.run_dir, "certs", "ca.key")
        self.cert = os.path.join(self.dir, "xcap-ext.pem")
        self.key = os.path.join(self.dir, "xcap-ext.key")
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.pid_file = os.path.join(self.dir, "nginx.pid")
        self.error_log = os.path.join(self.dir, "error.log")
        self.access_log = os.path.join(self.dir, "access.log")
        self.stderr_log = os.path.join(self.dir, "stderr.log")
        self.docroot = tempfile.mkdtemp(prefix="xcap-nginx-docroot-")
        # nginx's workers run unprivileged: the tree must be world-readable
        os.chmod(self.docroot, 0o755)
        self._users_dir = os.path.join(self.docroot, "xcap-root",
                                       "pres-rules", "users")
        os.makedirs(self._users_dir, mode=0o755, exist_ok=True)
        for d in ("xcap-root", os.path.join("xcap-root", "pres-rules")):
            os.chmod(os.path.join(self.docroot, d), 0o755)
        self.proc = None
        self.slow_proc = None
        self._mtimes = {}
        self._logs = []

    # ---- documents -------------------------------------------------------
    @property
    def root_url(self):
        return f"https://{self.ip}:{self.port}/xcap-root"

    def url(self, aor):
        """The document URL of aor's pres-rules, encoded as the C client
        (wa_xcap_url) encodes it."""
        return (f"{self.root_url}/pres-rules/users/"
                f"{urllib.parse.quote(aor, safe=_SEGMENT_SAFE)}/index")

    def doc_path(self, aor):
        _check_aor(aor)
        return os.path.join(self._users_dir, aor, "index")

    def put_policy(self, aor, xml):
        """Write aor's pres-rules (str or bytes); returns the file's path.

        The file is replaced atomically (nginx never serves half a
        document), and its mtime always moves forward by at least a second:
        nginx's ETag is mtime-size in hex, with a resolution of one second,
        so two writes of the same size within a second would otherwise keep
        the ETag and a client would get a wrong 304."""
        path = self.doc_path(aor)
        data = xml.encode() if isinstance(xml, str) else xml
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        os.chmod(os.path.dirname(path), 0o755)
        fd, tmp = tempfile.mkstemp(prefix=".index.", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            mtime = max(int(time.time()), self._mtimes.get(path, 0) + 1)
            os.utime(tmp, (mtime, mtime))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self._mtimes[path] = mtime
        return path

    def delete_policy(self, aor):
        try:
            os.unlink(self.doc_path(aor))
        except FileNotFoundError:
            pass

    # ---- certificate and configuration -----------------------------------
    def _issue_cert(self):
        if not (os.path.exists(self.ca) and os.path.exists(self.ca_key)):
            raise RuntimeError(f"no demo CA in {self.run_dir}/certs: "
                               "run scripts/provision.sh first")
        csr = os.path.join(self.dir, "xcap-ext.csr")
        ext = os.path.join(self.dir, "xcap-ext.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    f"subjectAltName=DNS:{XCAP_CN},IP:{self.ip}\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n")
        run = lambda *a: subprocess.run(  # noqa: E731
            ["openssl", *a], check=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        old = os.umask(0o077)
        try:
            run("req", "-new", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                self.key, "-out", csr, "-subj",
                f"/O=presence-security demo/CN={XCAP_CN}")
            # a random serial: the CA's serial file is not ours to touch
            run("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey",
                self.ca_key, "-set_serial", "0x" + secrets.token_hex(16),
                "-days", "30", "-sha256", "-extfile", ext, "-out", self.cert)
        finally:
            os.umask(old)
            for p in (csr, ext):
                if os.path.exists(p):
                    os.unlink(p)

    def _write_conf(self):
        tmp = os.path.join(self.dir, "tmp")
        if os.geteuid() == 0:
            try:
                grp.getgrnam("nogroup")
                user = "user nobody nogroup;"
            except KeyError:
                user = "user nobody;"
        else:
            user = ""
        conf = f"""# written by test/e2e/xcap_nginx.py
daemon off;
master_process on;
worker_processes 1;
{user}
pid {self.pid_file};
error_log {self.error_log} info;

events {{
    worker_connections 64;
}}

http {{
    access_log {self.access_log};
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    # every document is a pres-rules document
    types {{ }}
    default_type {CONTENT_TYPE};
    charset off;
    server_tokens off;
    log_not_found off;
    etag on;
    keepalive_timeout 30s;

    server {{
        listen {self.ip}:{self.port} ssl;
        ssl_certificate {self.cert};
        ssl_certificate_key {self.key};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {self.docroot};

        location /xcap-root/ {{
            limit_except GET {{ deny all; }}
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""
        with open(self.conf, "w") as f:
            f.write(conf)

    def _prepare(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self._issue_cert()
        self._write_conf()

    def _open_log(self):
        log = open(self.stderr_log, "ab")
        self._logs.append(log)
        return log

    def _tail(self, path, n=2000):
        try:
            with open(path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    # ---- nginx -----------------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10):
        if self.running():
            return
        if self.slow_proc is not None:
            raise RuntimeError("the slow server holds the port: stop_slow()")
        if _port_open(self.ip, self.port):
            raise RuntimeError(f"{self.ip}:{self.port} is already in use")
        self._prepare()
        base = [NGINX, "-p", self.dir + "/", "-c", self.conf,
                "-e", self.error_log]
        t = subprocess.run(base + ["-t", "-q"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if t.returncode != 0:
            raise RuntimeError("nginx -t failed:\n" + t.stdout.decode())
        self.proc = subprocess.Popen(base, stdout=self._open_log(),
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _port_open(self.ip, self.port):
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise RuntimeError(f"nginx exited with {rc}:\n"
                                   + self._tail(self.error_log))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not open {self.ip}:"
                                   f"{self.port}; see {self.error_log}")
            time.sleep(0.05)

    def stop(self, timeout=10):
        """Fast shutdown (SIGTERM to the master's PID); waits until the
        port is closed."""
        if self.proc is None:
            return
        _stop_proc(self.proc, signal.SIGTERM, timeout)
        self.proc = None
        _wait_port(self.ip, self.port, False, time.monotonic() + timeout)

    # ---- a server that never answers -------------------------------------
    def start_slow(self, tls=True, timeout=10):
        """Listen on the same address and port and never answer: with tls
        the handshake completes and the request is read and ignored (the
        client's total timeout fires), without it not even the handshake
        starts (the client's connect timeout fires)."""
        self._start_fault(["--hang", self.ip, str(self.port), self.cert,
                           self.key, "tls" if tls else "tcp"], tls, timeout)

    def start_answer(self, status, body, content_type=CONTENT_TYPE,
                     timeout=10):
        """Listen on the same address and port (TLS, the same certificate)
        and answer every request with `status` and `body` (bytes)."""
        self._start_fault(["--answer", str(status), content_type, body.hex(),
                           self.ip, str(self.port), self.cert, self.key],
                          True, timeout)

    def _start_fault(self, argv, tls, timeout):
        """This file run with argv, in place of nginx (slow_proc)."""
        if self.running():
            raise RuntimeError("nginx holds the port: stop() it first")
        if self.slow_proc is not None:
            return
        if _port_open(self.ip, self.port):
            raise RuntimeError(f"{self.ip}:{self.port} is already in use")
        os.makedirs(self.dir, exist_ok=True)
        if tls:
            self._issue_cert()
        self.slow_proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), *argv],
            stdout=self._open_log(), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _port_open(self.ip, self.port):
            if self.slow_proc.poll() is not None:
                rc, self.slow_proc = self.slow_proc.returncode, None
                raise RuntimeError(f"{argv[0]} server exited with {rc}:\n"
                                   + self._tail(self.stderr_log))
            if time.monotonic() > deadline:
                self.stop_slow()
                raise RuntimeError(f"{argv[0]} server did not open its port")
            time.sleep(0.05)

    def stop_slow(self, timeout=5):
        if self.slow_proc is None:
            return
        _stop_proc(self.slow_proc, signal.SIGTERM, timeout)
        self.slow_proc = None
        _wait_port(self.ip, self.port, False, time.monotonic() + timeout)

    # ---- cleanup ---------------------------------------------------------
    def close(self):
        self.stop()
        self.stop_slow()
        for log in self._logs:
            log.close()
        self._logs = []
        shutil.rmtree(self.docroot, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _hang_main(argv):
    """--hang IP PORT CERT KEY tls|tcp: accept, then never answer."""
    ip, port, cert, key, mode = argv[0], int(argv[1]), argv[2], argv[3], \
        argv[4]
    ctx = None
    if mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    held = []  # every connection stays open until the client gives up

    def serve(conn):
        try:
            s = ctx.wrap_socket(conn, server_side=True)
            held.append(s)
            while s.recv(4096):
                pass
        except OSError:
            pass

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.create_server((ip, port), backlog=64)
    while True:
        conn, _ = srv.accept()
        held.append(conn)
        if ctx is not None:
            threading.Thread(target=serve, args=(conn,), daemon=True).start()


def _answer_main(argv):
    """--answer STATUS CTYPE HEXBODY IP PORT CERT KEY: every request gets
    the same answer."""
    import http.server
    status, ctype, body = int(argv[0]), argv[1], bytes.fromhex(argv[2])
    ip, port, cert, key = argv[3], int(argv[4]), argv[5], argv[6]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write("answer: " + fmt % args + "\n")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = http.server.ThreadingHTTPServer((ip, port), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


# ---- self-check ------------------------------------------------------------
_POLICY = """<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy"
            xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
  <cr:rule id="{id}">
    <cr:conditions><cr:identity><cr:one id="sip:bob@example.com"/>
    </cr:identity></cr:conditions>
    <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
  </cr:rule>
</cr:ruleset>
"""


def _get(url, ctx, etag=None, timeout=5):
    req = urllib.request.Request(url)
    if etag:
        req.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:  # 304 and 404 land here
        return e.code, dict(e.headers), e.read()


def _self_check(run_dir):
    alice = "sip:alice@example.com"
    ca = os.path.join(run_dir, "certs", "ca.pem")
    if not os.path.exists(ca):
        print(f"no {ca}: provision first, e.g.\n  PCSCF_IP=127.0.1.10 "
              f"PS_IP=127.0.1.20 scripts/provision.sh {run_dir}")
        return 2
    ctx = ssl.create_default_context(cafile=ca)
    with XcapNginx(run_dir) as x:
        doc1 = _POLICY.format(id="r1")
        x.put_policy(alice, doc1)
        x.start()
        url = x.url(alice)
        assert url.endswith("/xcap-root/pres-rules/users/"
                            "sip:alice@example.com/index"), url

        st, h, body = _get(url, ctx)
        assert st == 200 and body == doc1.encode(), (st, body)
        assert h["Content-Type"] == CONTENT_TYPE, h
        etag1 = h["ETag"]
        assert etag1 and etag1.startswith('"'), h
        st, h, body = _get(url, ctx, etag1)
        assert st == 304 and body == b"" and h["ETag"] == etag1, (st, h)

        # same size, same second: the ETag must change all the same
        doc2 = _POLICY.format(id="r2")
        x.put_policy(alice, doc2)
        st, h, body = _get(url, ctx, etag1)
        assert st == 200 and body == doc2.encode(), (st, body)
        assert h["ETag"] != etag1, (h["ETag"], etag1)

        st, _, _ = _get(x.url("sip:nobody@example.com"), ctx)
        assert st == 404, st
        x.delete_policy(alice)
        st, _, _ = _get(url, ctx)
        assert st == 404, st

        # only the demo CA vouches for it
        try:
            _get(url, ssl.create_default_context())
            raise AssertionError("verified without the demo CA")
        except urllib.error.URLError as e:
            assert isinstance(e.reason, ssl.SSLCertVerificationError), e

        x.stop()
        assert not _port_open(x.ip, x.port)

        for tls in (True, False):
            x.start_slow(tls=tls)
            t0 = time.monotonic()
            try:
                _get(url, ctx, timeout=0.5)
                raise AssertionError("the slow server answered")
            except (TimeoutError, socket.timeout):
                pass
            except urllib.error.URLError as e:
                assert isinstance(e.reason, (TimeoutError, socket.timeout)), e
            dt = time.monotonic() - t0
            assert 0.4 < dt < 2.0, dt
            x.stop_slow()
            assert not _port_open(x.ip, x.port)

        # and back to normal
        x.put_policy(alice, doc1)
        x.start()
        st, _, body = _get(url, ctx)
        assert st == 200 and body == doc1.encode(), st
        x.stop()
    print(f"xcap_nginx self-check: ok (nginx on {XCAP_IP}:{XCAP_PORT}, "
          f"logs in {os.path.join(os.path.abspath(run_dir), 'nginx')})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--hang":
        _hang_main(sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--answer":
        _answer_main(sys.argv[2:])
        sys.exit(0)
    sys.exit(_self_check(sys.argv[1] if len(sys.argv) > 1
                         else os.path.join(TOP, "build", "test-run")))
