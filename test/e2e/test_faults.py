"""Issue 6, faults: each injected, its outcome asserted, and the service goes
on afterwards; the security outcomes stay closed under every one (no
unauthenticated subscription accepted, no NOTIFY in clear when encryption
is demanded, no identity revealed).

- the SQLite file of a role missing, unreadable, read-only, empty or not a
  database at start-up: the role does not start, and says which file;
  locked by another writer at run time: the request fails (500), nothing of
  it is written, and the next one is served once the lock goes;
- the external XCAP server and the certificate credential server refusing
  connections, hanging, answering 500, answering garbage, presenting a
  certificate that does not verify: not authorized (500), or no
  certificate (403), never a policy-less pass nor presence in clear;
- the server's own keys (notify_smime's and tls's) missing, unreadable,
  garbage or not matching the certificate: no start at all; at reload, an
  RPC error and the old keys stay in force;
- a clean stop and start of both roles in the middle of an anonymous,
  encrypted subscription and of an anonymous call: the subscription, its
  bound certificate, the anonymous watcher and the dialog's privacy rule
  survive; the next NOTIFY is encrypted, the next winfo and BYE anonymous.

Roles started for start-up faults run on addresses of their own (P-CSCF
.15, PS .25 of TEST_NET) without CAP_DAC_OVERRIDE when the suite runs as
root, so that file permissions bind them; the external servers' PS is .24,
its XCAP server .52 and its credential server .53.
"""
import contextlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, PCSCF_IP, PS_IP, SIP_PORT, TLS_PORT
from test_foundation import ut, xcap_url
from test_notify_smime import (P7M_CTYPE, PIDF, certs_only, decrypt, openssl,
                               ps_rows, publish, raw_body, request, rules,
                               store_cert)
from test_sip_privacy import (Call, alice_bob, assert_anonymous,  # noqa: F401
                              is_rsp, respond, stat, wait_for)
from test_sip_privacy_topology import assert_hidden
from test_sip_privacy_winfo import (Dialog, anon_entries, anon_ids_hidden,
                                    notifies, winfo_body)
from test_watcher_auth import BOB_HA1, policy
from xcap_nginx import XcapNginx

ALICE = f"sip:alice@{DOMAIN}"
BOOT_PCSCF_IP, BOOT_PS_IP = f"{h.NET}.15", f"{h.NET}.25"
EXT_PS_IP = f"{h.NET}.24"
EXT_XCAP_IP, EXT_CERT_IP = f"{h.NET}.52", f"{h.NET}.53"
FETCH_TIMEOUT_MS = 600  # XCAP and credential server: the fetch bound


def unprivileged_env(env):
    """Roles started as root keep every capability but the two that let
    root read and write any file, so that a file's mode binds them. A
    wrapper already asked for (make sanitize's LD_PRELOAD of ASan) still
    runs, inside setpriv."""
    if os.geteuid() != 0:
        return env
    inner = env.get("KAMAILIO_WRAPPER", "")
    return dict(env, KAMAILIO_WRAPPER="setpriv --bounding-set="
                "-dac_override,-dac_read_search -- " + inner)


@contextlib.contextmanager
def swapped(path, data=None, mode=None):
    """path with other content (None: removed) and/or mode, for a while."""
    with open(path, "rb") as f:
        good = f.read()
    good_mode = os.stat(path).st_mode & 0o777
    try:
        if data is None and mode is None:
            os.unlink(path)
        else:
            if data is not None:
                with open(path, "wb") as f:
                    f.write(data)
            if mode is not None:
                os.chmod(path, mode)
        yield path
    finally:
        with open(path, "wb") as f:
            f.write(good)
        os.chmod(path, good_mode)


def wait_serving(ip, deadline):
    while h.status_code(h.options(ip, h.PROBE_IP, timeout=0.5)) != 200:
        if time.monotonic() > deadline:
            return False
    return True


# ---- start-up ------------------------------------------------------------

@pytest.fixture(scope="module")
def boot():
    """A run folder for roles that are started only to see whether they
    start. The PS's TLS profile gets a copy of its certificate and key, so
    that notify_smime's key_file can be broken alone."""
    s = h.System(os.path.join(h.TOP, "build", "test-run-faults-boot"))
    s.env = unprivileged_env(dict(s.env, PCSCF_IP=BOOT_PCSCF_IP,
                                  PS_IP=BOOT_PS_IP))
    s.provision()
    certs = os.path.join(s.run_dir, "certs")
    for ext in ("pem", "key"):
        shutil.copy2(os.path.join(certs, f"ps.{ext}"),
                     os.path.join(certs, f"ps-tls.{ext}"))
    tls_cfg = os.path.join(s.run_dir, "ps", "tls.cfg")
    with open(tls_cfg) as f:
        text = f.read()
    with open(tls_cfg, "w") as f:
        f.write(text.replace(f"{certs}/ps.", f"{certs}/ps-tls."))
    s.pcscf = h.Role("pcscf", s.run_dir, s.env)
    s.ps = h.Role("ps", s.run_dir, s.env)
    s.ips = {"pcscf": BOOT_PCSCF_IP, "ps": BOOT_PS_IP}
    try:
        yield s
    finally:
        s.stop()


def start_refused(system, name, timeout=40):
    """Starts role `name`; asserts it exits non-zero without ever having
    answered; returns what it logged."""
    role = getattr(system, name)
    offset = len(role.log_text()) if os.path.exists(role.log_path) else 0
    role.start()
    deadline = time.monotonic() + timeout
    answered = False
    while role.proc.poll() is None and time.monotonic() < deadline:
        answered = answered or h.status_code(
            h.options(system.ips[name], h.PROBE_IP, timeout=0.3)) == 200
    rc = role.proc.poll()
    role.stop()
    assert rc is not None, f"{name} still running after {timeout} s"
    assert rc != 0 and not answered, (rc, answered)
    return role.log_text()[offset:]


def error_naming(log, pattern):
    """The ERROR line matching pattern (a file is named in it)."""
    m = re.search(r"^.*ERROR.*" + pattern + ".*$", log, re.M)
    assert m, f"no ERROR line /{pattern}/ in:\n{log[-3000:]}"
    return m.group(0)


@pytest.mark.parametrize("role", ["pcscf", "ps"])
def test_database_missing_at_startup(boot, role):
    db = os.path.join(boot.run_dir, role, f"{role}.db")
    with swapped(db):
        log = start_refused(boot, role)
    assert f"{db} missing" in log


DB_FAULTS = {
    # fault: (content, mode, what the log says)
    "unreadable": (None, 0o000, r"failed to open sqlite database '/?{db}'"),
    "read-only": (None, 0o444, r"SQLite database {db} can be opened read-only only"),
    "empty": (b"", None, r"SQLite database {db} holds no table"),
    "not-a-database": (b"\x00garbage" * 512, None,
                       r"SQLite database {db} unreadable: file is not a database"),
}


@pytest.mark.parametrize("fault", list(DB_FAULTS))
@pytest.mark.parametrize("role", ["pcscf", "ps"])
def test_database_fault_at_startup(boot, role, fault):
    """A role whose database cannot be written through does not start
    (SQLite would open a write-protected file read-only, and create a
    missing one empty, without a word): sqlite_busy's open_check."""
    data, mode, says = DB_FAULTS[fault]
    db = os.path.join(boot.run_dir, role, f"{role}.db")
    with swapped(db, data, mode):
        log = start_refused(boot, role)
    error_naming(log, says.format(db=re.escape(db.lstrip("/"))
                                  if fault == "unreadable" else re.escape(db)))


def key_faults(certs):
    with open(os.path.join(certs, "alice.key"), "rb") as f:
        other = f.read()
    return {
        "missing": (None, None),
        "unreadable": (None, 0o000),
        "garbage": (b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n", None),
        "not-its-key": (other, None),
    }


def start_with_broken_key(boot, name, fault):
    """The PS started with certs/<name> broken by fault: (its path, what
    the refused start logged)."""
    certs = os.path.join(boot.run_dir, "certs")
    key = os.path.join(certs, name)
    data, mode = key_faults(certs)[fault]
    with swapped(key, data, mode):
        return key, start_refused(boot, "ps")


@pytest.mark.parametrize("fault", ["missing", "unreadable", "garbage", "not-its-key"])
def test_smime_key_fault_at_startup(boot, fault):
    key, log = start_with_broken_key(boot, "ps.key", fault)
    k = re.escape(key)
    says = {"missing": rf"modparam key_file: cannot read {k}: No such file",
            "unreadable": rf"modparam key_file: cannot read {k}: Permission denied",
            "garbage": rf"key_file {k}: ",
            "not-its-key": rf"key_file {k} is not the key of cert_file"}[fault]
    line = error_naming(log, says)
    assert "notify_smime" in line
    assert "BEGIN" not in log and "broken" not in log, "key material in the log"


@pytest.mark.parametrize("fault", ["garbage", "not-its-key"])
def test_tls_key_fault_at_startup(boot, fault):
    key, log = start_with_broken_key(boot, "ps-tls.key", fault)
    error_naming(log, rf"Unable to load private key '{re.escape(key)}'")
    if fault == "not-its-key":
        error_naming(log, "key values mismatch")


def test_roles_start_once_files_are_sound(boot):
    """The same run folder and privileges, every file restored: both roles
    start and serve (the refusals above were the faults' doing)."""
    try:
        for name in ("pcscf", "ps"):
            getattr(boot, name).start()
        deadline = time.monotonic() + 30
        for name, ip in boot.ips.items():
            assert wait_serving(ip, deadline), f"{name} does not serve"
    finally:
        boot.stop()


# ---- the database locked at run time --------------------------------------

@contextlib.contextmanager
def db_locked(system, role="ps"):
    """Another writer holds the write lock of the role's database (longer
    than sqlite_busy's busy_timeout)."""
    db = sqlite3.connect(os.path.join(system.run_dir, role, f"{role}.db"),
                         isolation_level=None, timeout=5)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def test_database_locked_at_run_time(system, tmp_path):
    """While another writer holds the PS's database: an encrypted
    subscription (its binding cannot be written), an anonymous one (its
    sp_winfo record cannot be written) and a policy write through the Ut
    interface each get 500, none leaves a row behind, and no NOTIFY comes.
    Once the lock goes, the same requests are served."""
    system.set_pres_rules("alice", rules(("bob", True), ("carol", False)))
    r, _ = publish(system, "locked-" + uuid.uuid4().hex)
    assert r is not None and r.status == 200
    uas = {u: sipua.new_ua(u, h.UA_IP[u], (PCSCF_IP, SIP_PORT)) for u in ("bob", "carol")}
    offset = len(system.ps.log_text())
    code, doc_before = ut("GET", xcap_url("alice"), system, ("alice", h.USERS["alice"]))
    assert code == 200
    try:
        with db_locked(system):
            bd = subscribe_raw(uas["bob"], [])
            cd = subscribe_raw(uas["carol"], ["Privacy: id"])
            code, _ = ut("PUT", xcap_url("alice"), system, ("alice", h.USERS["alice"]),
                         rules(("bob", False)).encode())
        # a write that meets the lock fails after busy_timeout (3 s), and
        # the PS answers 500; where the PS had more than one write to try
        # (sp_winfo: an insert, then an update for a row of another node)
        # that is longer than the P-CSCF's fr_timer (5 s), and the watcher
        # gets the P-CSCF's 408 first
        assert bd.status in (500, 408), bd.first
        assert cd.status in (500, 408), cd.first
        assert code == 500, code
        for u in ("bob", "carol"):
            assert uas[u].wait_notify(1) is None, f"NOTIFY to {u} of a failed SUBSCRIBE"
            cid = uas[u].call_id
            assert ps_rows(system, "active_watchers", "callid = ?", cid) == 0
            assert ps_rows(system, "smime_binding", "callid = ?", cid) == 0
            assert ps_rows(system, "sp_winfo", "callid = ?", cid) == 0
        code, doc = ut("GET", xcap_url("alice"), system, ("alice", h.USERS["alice"]))
        assert code == 200 and doc == doc_before, "half a policy write"
        assert system.ps.wait_log(r"ERROR.*still locked after \d+ ms", start=offset)
        assert system.ps.wait_log(r"ERROR.*notify_smime.*binding of Call-ID "
                                  + re.escape(uas["bob"].call_id), start=offset)
        assert system.ps.wait_log(r"ERROR.*" + re.escape(uas["carol"].call_id)
                                  + r".*table 'sp_winfo': the SUBSCRIBE is refused",
                                  start=offset)
        assert system.ps.wait_log(r"ERROR.*xcap_server.*could not store document",
                                  start=offset)
        # the lock gone: served again, encrypted as demanded
        for u in ("bob", "carol"):
            uas[u].call_id = uuid.uuid4().hex
        bd = Dialog(uas["bob"], "alice", "presence", expires=60)
        n = uas["bob"].wait_notify(5)
        assert n is not None and n.first_value("Content-Type") == P7M_CTYPE
        cd = Dialog(uas["carol"], "alice", "presence", headers=["Privacy: id"], expires=60)
        assert ps_rows(system, "sp_winfo", "callid = ?", uas["carol"].call_id) == 1
        bd.end()
        cd.end()
    finally:
        for ua in uas.values():
            ua.close()



def test_pcscf_database_locked_topology_stays_hidden(system):
    """While another writer holds the P-CSCF's database, topos cannot
    record a new dialog and (Kamailio 5.6.3, tps_msg_sent) sends the PS's
    answer unchanged: sip_privacy's topology guard stops it. bob's UE gets
    a 500 and nothing that shows the trust domain (the PS's address in
    Contact, Via or Record-Route), the guard counts and logs it; once the
    lock goes, the same SUBSCRIBE is served with the topology hidden."""
    system.set_pres_rules("alice", rules(("bob", False)))
    ua = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    try:
        before = stat(system, "topology_leaks_blocked")
        mark = len(system.pcscf.log_text())
        with db_locked(system, "pcscf"):
            r = subscribe_raw(ua, [], expires=0)
            # the PS's NOTIFY is stopped too: whatever else comes
            seen = [r] + ua.notifies + drain(ua, 3)
        for m in seen:
            assert PS_IP not in m.raw.decode(errors="replace"), m.raw[:800]
        assert r.status == 500, r.first
        assert r.get("Contact") == [] and r.get("Record-Route") == [], r.raw[:800]
        assert stat(system, "topology_leaks_blocked") > before
        assert system.pcscf.wait_log(
            r"ERROR: .*topology hiding failed .*: (Contact|Record-Route|Via) names "
            + re.escape(PS_IP) + r" of the trust domain in a reply to udp:"
            + re.escape(ua.ip) + rf":{ua.port}; 500 sent instead", start=mark)

        ua.notifies.clear()
        r = subscribe_raw(ua, [], expires=0)
        assert r.status == 200, r.first
        assert_hidden(r, "200 to the SUBSCRIBE", PCSCF_IP, PS_IP)
        assert_hidden(ua.wait_notify(5), "its NOTIFY", PCSCF_IP, PS_IP)
    finally:
        ua.close()


def drain(ua, seconds):
    """Every message ua gets within seconds."""
    got, deadline = [], time.monotonic() + seconds
    while (m := ua.recv(max(0.05, deadline - time.monotonic()))) is not None:
        got.append(m)
        if time.monotonic() > deadline:
            break
    return got


def subscribe_raw(ua, headers, expires=60):
    """A SUBSCRIBE of ua to alice's presence; the final reply (waited for
    past the P-CSCF's fr_timer)."""
    _, r = ua.subscribe("alice", expires=expires, extra=headers, timeout=12)
    assert r is not None, "no final reply"
    return r


# ---- the external XCAP server and the credential server -------------------

def other_ca(run_dir):
    """A run folder with a CA of its own: servers it issues for do not
    verify against the demo CA."""
    certs = os.path.join(run_dir, "certs")
    if not os.path.exists(os.path.join(certs, "ca.pem")):
        os.makedirs(certs, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-keyout", os.path.join(certs, "ca.key"),
                        "-out", os.path.join(certs, "ca.pem"), "-subj", "/CN=Other CA"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run_dir


@pytest.fixture(scope="module")
def ext():
    """A PS (.24) with policies from an external XCAP server (nginx, .52)
    and watchers' certificates from a credential server (nginx, .53); bob's
    certificate is in neither the SUBSCRIBE nor the store. Watchers talk to
    it directly."""
    run_dir = os.path.join(h.TOP, "build", "test-run-faults-ext")
    s = h.System(run_dir)
    s.env = dict(s.env, PCSCF_IP=f"{h.NET}.14", PS_IP=EXT_PS_IP)
    s.provision()
    ca = os.path.join(run_dir, "certs", "ca.pem")
    cert_url = f"https://{EXT_CERT_IP}:8443/xcap-root/certs/{{aor}}.pem"
    s.env["EXTRA_DEFINES"] += " " + " ".join([
        "WITH_XCAP_ROOT", f'XCAP_ROOT="https://{EXT_XCAP_IP}:8443/xcap-root"',
        f'XCAP_CA_FILE="{ca}"', f"XCAP_TIMEOUT={FETCH_TIMEOUT_MS}",
        "XCAP_CONNECT_TIMEOUT=300", "XCAP_TTL=1", "XCAP_STALE_TTL=4", "XCAP_RETRY=2",
        f'SMIME_CERT_URL="{cert_url}"', f'SMIME_CERT_URL_CA="{ca}"',
        f"SMIME_CERT_URL_TIMEOUT={FETCH_TIMEOUT_MS}",
        "SMIME_CERT_URL_CONNECT_TIMEOUT=300"])
    s.ps = h.Role("ps", run_dir, s.env)
    store_cert(s, "bob", False)
    # the credential server's nginx needs a folder of its own, same CA
    cert_run = run_dir + "-certsrv"
    shutil.rmtree(cert_run, ignore_errors=True)
    os.makedirs(cert_run)
    os.symlink(os.path.join(run_dir, "certs"), os.path.join(cert_run, "certs"))
    s.xcap = XcapNginx(run_dir, ip=EXT_XCAP_IP)
    s.certsrv = XcapNginx(cert_run, ip=EXT_CERT_IP)
    s.other_ca = other_ca(run_dir + "-otherca")
    certs_dir = os.path.join(s.certsrv.docroot, "xcap-root", "certs")
    os.makedirs(certs_dir, mode=0o755)
    with open(os.path.join(run_dir, "certs", "bob.pem")) as f, \
            open(os.path.join(certs_dir, f"bob@{DOMAIN}.pem"), "w") as g:
        g.write(f.read())
    os.chmod(os.path.join(certs_dir, f"bob@{DOMAIN}.pem"), 0o644)
    doc = policy({"method": "digest", "ha1": BOB_HA1}).replace(
        "</cr:actions>", "<ps:encrypt/></cr:actions>")
    s.xcap.put_policy(ALICE, doc)
    try:
        s.xcap.start()
        s.certsrv.start()
        s.ps.start()
        deadline = time.monotonic() + 30
        assert h.wait_tcp(EXT_PS_IP, SIP_PORT, deadline)
        assert wait_serving(EXT_PS_IP, deadline), "PS with xcap_root does not answer"
        # alice's presence, straight to this PS: what a NOTIFY would carry
        ua = sipua.new_ua("alice", h.UA_IP["alice"], (EXT_PS_IP, SIP_PORT))
        try:
            s.note = "ext-" + uuid.uuid4().hex
            r = request(ua, "PUBLISH", ALICE, ["Event: presence", "Expires: 3600"],
                        PIDF.format(note=s.note).encode(), "application/pidf+xml")
            assert r is not None and r.status == 200, r and r.first
        finally:
            ua.close()
        yield s
    finally:
        s.ps.stop()
        for x in (s.xcap, s.certsrv):
            x.close()


GARBAGE = {"xcap": (b"<cr:ruleset xmlns:cr='urn:ietf:params:xml:ns:common-policy'><cr:rule",
                    "application/auth-policy+xml"),
           "certsrv": (b"-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
                       "application/x-pem-file")}
SERVER_FAULTS = ["refused", "timeout", "500", "garbage", "untrusted"]


@contextlib.contextmanager
def server_fault(ext, which, fault):
    """ext's XCAP server ("xcap") or credential server ("certsrv") replaced
    by a faulty one for a while."""
    x = getattr(ext, which)
    other = None
    x.stop()
    try:
        if fault == "timeout":
            x.start_slow(tls=True)
        elif fault == "500":
            x.start_answer(500, b"internal error\n", "text/plain")
        elif fault == "garbage":
            x.start_answer(200, *GARBAGE[which])
        elif fault == "untrusted":
            # the same nginx with a certificate from another CA
            other = XcapNginx(ext.other_ca, ip=x.ip, port=x.port)
            other.start()
        yield
    finally:
        if other:
            other.close()
        x.stop_slow()
        x.start()


def ext_subscribe(ext, auth=None, ua=None):
    """bob's SUBSCRIBE to alice at the external servers' PS (60 s: a fetch
    binds no certificate), answering a challenge when auth; (final reply,
    the UA)."""
    ua = ua or sipua.new_ua("bob", h.UA_IP["bob"], (EXT_PS_IP, SIP_PORT))
    _, r = ua.subscribe("alice", expires=60)
    if auth and r is not None and r.status == 401:
        ch = sipua.challenges(r)[0]
        _, r = ua.subscribe("alice", expires=60, auth=sipua.authorization(
            ch, f"bob@{DOMAIN}", "SUBSCRIBE", ALICE, ha1=BOB_HA1))
    assert r is not None, "no final reply"
    return r, ua


def assert_served_encrypted(ext):
    """The servers sound again: challenged, then accepted, and the NOTIFY
    encrypted to the certificate the credential server gave."""
    ext.rpc("ps", "watcher_auth.reload")
    r, ua = ext_subscribe(ext)
    try:
        assert r.status == 401, r.first
        r, _ = ext_subscribe(ext, auth=True, ua=ua)
        assert r.status == 200, r.first
        n = ua.wait_notify(5)
        assert n is not None and n.first_value("Content-Type") == P7M_CTYPE
        assert ext.note.encode() in decrypt(ext, "bob", raw_body(n))
    finally:
        ua.close()


@pytest.mark.parametrize("fault", SERVER_FAULTS)
def test_xcap_server_fault_not_authorized(ext, fault):
    """No policy can be had (none cached): bob is not authorized, whether
    he answers a challenge or not; the log names the server and why."""
    ext.rpc("ps", "watcher_auth.reload")  # nothing cached, no back-off
    offset = len(ext.ps.log_text())
    with server_fault(ext, "xcap", fault):
        t0 = time.monotonic()
        r, ua = ext_subscribe(ext)
        took = time.monotonic() - t0
        try:
            assert r.status == 500, r.first
            assert ua.wait_notify(1) is None
        finally:
            ua.close()
        assert took < FETCH_TIMEOUT_MS / 1000 + 1.5, took
        assert h.status_code(h.options(EXT_PS_IP, h.PROBE_IP)) == 200
    if fault == "garbage":
        assert ext.ps.wait_log(r"pres-rules of sip:alice@example\.com .*do not compile", start=offset)
    else:
        assert ext.ps.wait_log(r"ERROR.*policy of sip:alice@example\.com from https://"
                               + re.escape(EXT_XCAP_IP) + r":8443/\S+: .*none cached",
                               start=offset)
    assert_served_encrypted(ext)


@pytest.mark.parametrize("fault", SERVER_FAULTS)
def test_credential_server_fault_no_presence(ext, fault):
    """bob proves who he is, but his certificate cannot be had: 403, no
    NOTIFY at all (never one in clear); the log names the server and why."""
    ext.rpc("ps", "watcher_auth.reload")
    offset = len(ext.ps.log_text())
    with server_fault(ext, "certsrv", fault):
        r, ua = ext_subscribe(ext, auth=True)
        try:
            assert r.status == 403, r.first
            assert ua.wait_notify(1) is None
        finally:
            ua.close()
        assert h.status_code(h.options(EXT_PS_IP, h.PROBE_IP)) == 200
    if fault == "garbage":
        assert ext.ps.wait_log(r"credential server: no PEM certificate for sip:bob@example\.com",
                               start=offset)
    else:
        assert ext.ps.wait_log(r"ERROR.*credential server https://" + re.escape(EXT_CERT_IP)
                               + r":8443/\S+: ", start=offset)
    assert_served_encrypted(ext)


# ---- the server's own keys at reload --------------------------------------

def tls_handshake_cert(system):
    """The certificate the PS presents on its SIP TLS socket (verified
    against the demo CA), in DER."""
    ctx = h.tls_client_context(system.ca)
    with ctx.wrap_socket(socket_to(PS_IP, TLS_PORT), server_hostname=PS_IP) as s:
        return s.getpeercert(binary_form=True)


def socket_to(ip, port):
    return socket.create_connection((ip, port), timeout=5)


# (unreadable: the session's PS runs as root with every capability, which
# reads any file; the start-up test covers it)
@pytest.mark.parametrize("fault", ["missing", "garbage", "not-its-key"])
def test_key_fault_at_reload_old_keys_stay(system, fault):
    """notify_smime.reload and tls.reload with the PS's key broken on disk:
    each an RPC error naming the key file, and the keys loaded before stay
    in force: a PUBLISH encrypted to the PS's certificate is still
    decrypted, the TLS socket still presents the same certificate. With
    the file repaired, both reload again."""
    certs = os.path.join(system.run_dir, "certs")
    key = os.path.join(certs, "ps.key")
    data, mode = key_faults(certs)[fault]
    system.set_pres_rules("alice", rules(("bob", True)))
    tls_before = tls_handshake_cert(system)
    with swapped(key, data, mode):
        rc, out = system.rpc("ps", "notify_smime.reload")
        assert rc != 0 or "error" in out.lower(), out
        assert "key_file" in out and key in out, out
        rc, out = system.rpc("ps", "tls.reload")
        assert rc != 0 or "error" in out.lower(), out
        # the old keys: an S/MIME PUBLISH to the PS is decrypted (a 493
        # would say the key is gone), the TLS certificate unchanged
        note = "reload-" + uuid.uuid4().hex
        entity = b"Content-Type: application/pidf+xml\r\n\r\n" + PIDF.format(note=note).encode()
        rc, der, err = openssl("cms", "-encrypt", "-binary", "-outform", "DER", "-aes128",
                               os.path.join(certs, "ps.pem"), data=entity)
        assert rc == 0, err
        r, _ = publish(system, note, der, P7M_CTYPE)
        assert r is not None and r.status == 200, r and r.first
        assert tls_handshake_cert(system) == tls_before
    for cmd in ("notify_smime.reload", "tls.reload"):
        rc, out = system.rpc("ps", cmd)
        assert rc == 0 and "error" not in out.lower(), (cmd, out)
    assert "BEGIN" not in system.ps.log_text()[-20000:], "key material in the log"


# ---- a restart in the middle of active subscriptions ----------------------

def test_restart_mid_dialogs_state_survives(system, alice_bob):
    """Both roles stopped cleanly and started again while bob watches alice
    anonymously (Privacy: id) with his presence encrypted to the
    certificate bound at SUBSCRIBE (gone from the store meanwhile), alice
    watches her watchers, and bob is in an anonymous call with alice.
    Afterwards: the next NOTIFY to bob is encrypted to that certificate and
    carries alice's new note; bob's refresh within the dialog is served;
    alice's winfo still shows him only as the anonymous URI with the id he
    had; bob's BYE of the call reaches alice anonymous (the dialog's rule
    from the Record-Route parameter, checked with the same secret)."""
    acall, bcall = alice_bob
    c = Call(bcall, acall)
    inv = c.invite()
    assert inv is not None, "INVITE not delivered"
    respond(acall, inv, 200, "OK", c.atag,
            [("Contact", f"<sip:alice@{acall.ip}:{acall.port}>")], rr=True)
    ok = wait_for(bcall, is_rsp(200, "INVITE", c.call_id))
    assert ok is not None and c.in_dialog("ACK", ok) is not None

    system.set_pres_rules("alice", rules(("bob", True)))
    r, _ = publish(system, "before-" + uuid.uuid4().hex)
    assert r is not None and r.status == 200
    alice = sipua.new_ua("alice", h.UA_IP["alice"], (PCSCF_IP, SIP_PORT))
    bob = sipua.new_ua("bob", h.UA_IP["bob"], (PCSCF_IP, SIP_PORT))
    secrets = ["sip:bob@", "bob@example.com", bob.call_id]
    try:
        aw = Dialog(alice, "alice", "presence.winfo")
        notifies(alice, "presence.winfo", lambda g: len(g) >= 1)
        bd = Dialog(bob, "alice", "presence", headers=["Privacy: id"],
                    body=certs_only(system, "bob"),
                    ctype="application/pkcs7-mime; smime-type=certs-only")
        n = bob.wait_notify(5)
        assert n is not None and n.first_value("Content-Type") == P7M_CTYPE
        got = notifies(alice, "presence.winfo",
                       lambda g: any(anon_entries(winfo_body(system, m)) for m in g))
        (anon_id, _, _), = anon_entries(winfo_body(system, got[-1]))
        store_cert(system, "bob", False)

        offset = {n: len(getattr(system, n).log_text()) for n in ("pcscf", "ps")}
        system.restart("ps", "pcscf")
        assert system.ps.wait_log(r"[1-9]\d* subscription bindings loaded from table 'smime_binding'",
                                  start=offset["ps"])
        assert system.ps.wait_log(r"[1-9]\d* anonymous subscriptions loaded from table 'sp_winfo'",
                                  start=offset["ps"])

        note = "after-" + uuid.uuid4().hex
        r, published = publish(system, note)
        assert r is not None and r.status == 200, r and r.first
        n = bob.wait_notify(5)
        assert n is not None, "no NOTIFY to bob after the restart"
        assert n.first_value("Content-Type") == P7M_CTYPE, n.raw[:600]
        assert decrypt(system, "bob", raw_body(n)).partition(b"\r\n\r\n")[2] == published
        assert note.encode() not in n.raw

        alice.notifies.clear()
        bd.refresh()
        aw.refresh()
        assert anon_ids_hidden(system, alice, secrets) == [anon_id]

        bye = c.in_dialog("BYE", ok)
        assert bye is not None, "BYE not delivered after the restart"
        assert_anonymous(bye, bcall, "BYE after the restart")
        respond(acall, bye, 200, "OK")
        assert wait_for(bcall, is_rsp(200, "BYE", c.call_id)) is not None
        bd.end()
        aw.end()
    finally:
        store_cert(system, "bob", True)
        alice.close()
        bob.close()
