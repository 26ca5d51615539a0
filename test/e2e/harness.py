"""End-to-end harness: the real routing script, both roles on loopback.

The suite uses its own loopback addresses (127.0.1.x) so that it never
collides with `make run` (127.0.0.x). Every process it starts is stopped by
its PID; waits are on ports and replies, bounded in time.
"""
import os
import re
import signal
import socket
import sqlite3
import ssl
import subprocess
import time
import uuid

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SIPP_DIR = os.path.join(TOP, "test", "sipp")
DOMAIN = "example.com"

# TEST_NET moves the whole suite to another 127.0.N net (two suites at once).
NET = os.environ.get("TEST_NET", "127.0.1")
PCSCF_IP = os.environ.get("TEST_PCSCF_IP", f"{NET}.10")
PS_IP = os.environ.get("TEST_PS_IP", f"{NET}.20")
SIP_PORT, TLS_PORT, XCAP_PORT = 5060, 5061, 5443
UA_IP = {"alice": f"{NET}.31", "bob": f"{NET}.32", "carol": f"{NET}.33",
         "mallory": f"{NET}.66", "peer": f"{NET}.40"}
PROBE_IP = f"{NET}.99"  # source of liveness OPTIONS
TRUSTED_PEER_IP = UA_IP["peer"]  # trusted by the PS like the P-CSCF
NONCE_EXPIRE = 5  # seconds; short so that a stale nonce can be waited out
AUTH_RETRIES = 1  # a wrong digest answer is challenged once more, then 403
POLICY_CACHE_TTL = 2  # writes that bypass the Ut interface: seen within
SMIME_PURGE_INTERVAL = 1  # s: notify_smime removes expired bindings that often
SP_RR_SECRET = "e2e-dialog-rule-key"  # sip_privacy rr_secret of the P-CSCF


def read_users():
    users = {}
    with open(os.path.join(TOP, "etc", "demo", "users")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                users[parts[0]] = parts[1]
    return users


USERS = read_users()


def wait_tcp(ip, port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection((ip, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def udp_request(ip, port, data, src_ip, timeout=2.0):
    """Send one datagram from src_ip, return the first reply or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((src_ip, 0))
        s.settimeout(timeout)
        s.sendto(data, (ip, port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None
    finally:
        s.close()


def options(dst_ip, src_ip, port=SIP_PORT, timeout=2.0):
    """A valid out-of-dialog OPTIONS to the server itself; returns the reply."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, 0))
    sport = s.getsockname()[1]
    cid = uuid.uuid4().hex
    msg = (f"OPTIONS sip:{dst_ip}:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {src_ip}:{sport};branch=z9hG4bK{cid[:12]}\r\n"
           f"From: <sip:probe@{DOMAIN}>;tag={cid[:8]}\r\n"
           f"To: <sip:{dst_ip}:{port}>\r\n"
           f"Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           f"Content-Length: 0\r\n\r\n").encode()
    s.settimeout(timeout)
    try:
        s.sendto(msg, (dst_ip, port))
        return s.recvfrom(65535)[0]
    except socket.timeout:
        return None
    finally:
        s.close()


def status_code(reply):
    if not reply:
        return None
    m = re.match(rb"SIP/2\.0 (\d{3}) ", reply)
    return int(m.group(1)) if m else None


class Role:
    def __init__(self, name, run_dir, env):
        self.name, self.run_dir, self.env = name, run_dir, env
        self.log_path = os.path.join(run_dir, name, "kamailio.log")
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(TOP, "scripts", "role.sh"), self.name, "run",
             self.run_dir], stdout=self.log, stderr=subprocess.STDOUT,
            env=self.env, start_new_session=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if not self.proc:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        self.proc = None

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=5.0, start=0):
        """Wait for a log line matching pattern after offset start."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()[start:]
            if rx.search(text):
                return True
            time.sleep(0.1)
        return False


class System:
    """Both roles of the routing script, provisioned in a fresh folder."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.env = dict(os.environ, PCSCF_IP=PCSCF_IP, PS_IP=PS_IP,
                        SIP_PORT=str(SIP_PORT), TLS_PORT=str(TLS_PORT),
                        XCAP_PORT=str(XCAP_PORT), LOG_LEVEL="2",
                        EXTRA_DEFINES=f'TRUSTED_PEER_ADDR="{TRUSTED_PEER_IP}" '
                                      f"NONCE_EXPIRE={NONCE_EXPIRE} "
                                      f"AUTH_RETRIES={AUTH_RETRIES} "
                                      f"POLICY_CACHE_TTL={POLICY_CACHE_TTL} "
                                      f"SMIME_PURGE_INTERVAL={SMIME_PURGE_INTERVAL} "
                                      f'SP_RR_SECRET="{SP_RR_SECRET}"')
        self.pcscf = Role("pcscf", run_dir, self.env)
        self.ps = Role("ps", run_dir, self.env)

    def provision(self):
        subprocess.run(["rm", "-rf", self.run_dir], check=True)
        subprocess.run([os.path.join(TOP, "scripts", "provision.sh"),
                        self.run_dir], check=True, env=self.env,
                       stdout=subprocess.DEVNULL)

    def start(self, timeout=20):
        for role in (self.pcscf, self.ps):
            role.start()
        deadline = time.monotonic() + timeout
        for ip, port in ((PCSCF_IP, SIP_PORT), (PS_IP, SIP_PORT),
                         (PS_IP, XCAP_PORT), (PCSCF_IP, TLS_PORT)):
            if not wait_tcp(ip, port, deadline):
                raise RuntimeError(f"{ip}:{port} did not open; see logs in {self.run_dir}")
        for ip in (PCSCF_IP, PS_IP):
            while status_code(options(ip, PROBE_IP, timeout=0.5)) != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{ip} does not answer OPTIONS")

    def stop(self):
        for role in (self.ps, self.pcscf):
            role.stop()

    def restart(self, *names, timeout=30):
        """A clean stop (SIGTERM, by PID) of the named roles ("pcscf",
        "ps"), all of them first, then a start of each with its own
        environment; waits until each answers OPTIONS on its address."""
        roles = [getattr(self, n) for n in names]
        for role in roles:
            role.stop()
        for role in roles:
            role.start()
        deadline = time.monotonic() + timeout
        for role in roles:
            ip = role.env["PCSCF_IP" if role.name == "pcscf" else "PS_IP"]
            if not wait_tcp(ip, SIP_PORT, deadline):
                raise RuntimeError(f"{role.name} did not open {ip}:{SIP_PORT}")
            while status_code(options(ip, PROBE_IP, timeout=0.5)) != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{ip} does not answer OPTIONS")

    @property
    def ca(self):
        return os.path.join(self.run_dir, "certs", "ca.pem")

    def ps_db(self):
        return sqlite3.connect(os.path.join(self.run_dir, "ps", "ps.db"),
                               timeout=5)

    def set_pres_rules(self, user, xml, reload=True):
        """Write a presentity's pres-rules straight into the PS's xcap
        table (tests that exercise the Ut interface use HTTPS instead)."""
        uri = f"/xcap-root/pres-rules/users/sip:{user}@{DOMAIN}/index"
        db = self.ps_db()
        with db:
            db.execute("DELETE FROM xcap WHERE doc_uri = ?", (uri,))
            db.execute(
                "INSERT INTO xcap (username, domain, doc, doc_type, etag,"
                " source, doc_uri, port) VALUES (?, ?, ?, 2, ?, 1, ?, 0)",
                (user, DOMAIN, xml.encode(), uuid.uuid4().hex, uri))
        db.close()
        # written behind the Ut interface's back: what the Ut route does
        # after a write, drop watcher_auth's cached copy and have presence
        # apply the rules to the watchers it has stored (it reuses a
        # watcher's stored status for a new subscription otherwise)
        if reload:
            self.rpc("ps", "watcher_auth.reload", f"sip:{user}@{DOMAIN}")
            self.rpc("ps", "presence.updateWatchers", f"sip:{user}@{DOMAIN}", "presence")

    def rpc(self, role, *args):
        sock = os.path.join(self.run_dir, role, "kamailio_ctl")
        p = subprocess.run(["kamcmd", "-s", "unix:" + sock, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=10)
        return p.returncode, p.stdout.decode(errors="replace")


class SippResult:
    def __init__(self, rc, messages, stderr):
        self.rc, self.messages, self.stderr = rc, messages, stderr

    def received(self):
        return [m for d, m in self.messages if d == "received"]

    def sent(self):
        return [m for d, m in self.messages if d == "sent"]


def parse_sipp_messages(text):
    """Split SIPp's -trace_msg file into (direction, message) pairs."""
    out = []
    for block in re.split(r"^-{20,} [^\n]*\n", text, flags=re.M):
        head, _, msg = block.partition("\n")
        m = re.search(r"message (sent|received)", head)
        if m:
            out.append((m.group(1), msg.strip("\n").replace("\r\n", "\n")))
    return out


def sipp(scenario, user, tmp_path, keys=None, auth=None, transport="u1",
         remote=None, timeout=10, extra=(), port=None, register=None):
    """Run one SIPp call of test/sipp/<scenario>.xml as `user` from her own
    loopback address; returns its exit code and the messages on the wire.
    A demo user's call to the P-CSCF over UDP is made from a port she has
    just registered (register=None): the P-CSCF serves a user only from a
    registered contact (address, port and transport)."""
    if register is None:
        register = (scenario != "register" and user in USERS
                    and remote is None and transport == "u1")
    remote = remote or f"{PCSCF_IP}:{SIP_PORT}"
    msg_file = os.path.join(str(tmp_path), f"{os.path.basename(scenario)}-{user}-{uuid.uuid4().hex[:6]}.log")
    if port is None:
        # a fresh local port each time, as a real client would have: a
        # NOTIFY of an earlier test's subscription must not reach this call
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind((UA_IP[user], 0))
        port = probe.getsockname()[1]
        probe.close()
    if register:
        r = sipp("register", user, tmp_path, auth=(user, USERS[user]),
                 port=port, register=False)
        assert r.rc == 0, f"REGISTER of {user} from port {port} failed: {r.stderr}"
    cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, scenario + ".xml"),
           "-i", UA_IP[user], "-p", str(port), "-bind_local", "-s", user,
           "-t", transport, "-nostdin", "-timeout", f"{timeout}s",
           "-timeout_error", "-trace_msg", "-message_file", msg_file,
           "-max_recv_loops", "1000"]
    if "-m" not in extra:
        cmd += ["-m", "1"]
    if auth:
        cmd += ["-au", auth[0], "-ap", auth[1]]
    for k, v in (keys or {}).items():
        cmd += ["-key", k, v]
    cmd += list(extra)
    cmd.append(remote)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout + 15, cwd=str(tmp_path))
    text = ""
    if os.path.exists(msg_file):
        with open(msg_file, errors="replace") as f:
            text = f.read()
    return SippResult(p.returncode, parse_sipp_messages(text),
                      p.stderr.decode(errors="replace"))


def register(user, tmp_path):
    r = sipp("register", user, tmp_path, auth=(user, USERS[user]))
    assert r.rc == 0, f"REGISTER of {user} failed (sipp rc {r.rc}): {r.stderr}"
    return r


def tls_client_context(ca):
    """Verifies the server's chain to the demo CA and its IP SAN."""
    return ssl.create_default_context(cafile=ca)
