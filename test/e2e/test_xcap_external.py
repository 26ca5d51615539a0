"""Issue 3: watcher_auth with policies from an external XCAP server over
HTTPS (a real nginx on loopback): served, changed, down, slow. A Presence
Server of its own (127.0.1.21) runs with -A WITH_XCAP_ROOT; watchers talk
to it directly."""
import os
import re
import time
import uuid

import pytest

import harness as h
import sipua
from harness import DOMAIN, SIP_PORT
from test_watcher_auth import BOB_HA1, policy
from xcap_nginx import XcapNginx

PS2_IP = f"{h.NET}.21"
XCAP_TIMEOUT_MS = 600
XCAP_TTL = 1
XCAP_STALE_TTL = 4
XCAP_RETRY = 2
ALICE = f"sip:alice@{DOMAIN}"


@pytest.fixture(scope="module")
def xsys():
    run_dir = os.path.join(h.TOP, "build", "test-run-xcap")
    s = h.System(run_dir)
    s.env = dict(s.env, PCSCF_IP=f"{h.NET}.11", PS_IP=PS2_IP,
                 EXTRA_DEFINES=" ".join([
                     "WITH_XCAP_ROOT",
                     f'XCAP_ROOT="https://{h.NET}.50:8443/xcap-root"',
                     f'XCAP_CA_FILE="{run_dir}/certs/ca.pem"',
                     f"XCAP_TIMEOUT={XCAP_TIMEOUT_MS}",
                     "XCAP_CONNECT_TIMEOUT=300",
                     f"XCAP_TTL={XCAP_TTL}", f"XCAP_STALE_TTL={XCAP_STALE_TTL}",
                     f"XCAP_RETRY={XCAP_RETRY}"]))
    s.ps = h.Role("ps", run_dir, s.env)
    s.provision()
    x = XcapNginx(run_dir)
    try:
        x.start()
        s.ps.start()
        deadline = time.monotonic() + 20
        assert h.wait_tcp(PS2_IP, SIP_PORT, deadline)
        while h.status_code(h.options(PS2_IP, h.PROBE_IP, timeout=0.5)) != 200:
            assert time.monotonic() < deadline, "PS with xcap_root does not answer"
        s.nginx = x
        yield s
    finally:
        s.ps.stop()
        x.stop_slow()
        x.stop()
        x.close()


def bob(xsys):
    return sipua.new_ua("bob", h.UA_IP["bob"], (PS2_IP, SIP_PORT))


def fresh(xsys):
    """Forget what the PS cached and any back-off: a clean start."""
    rc, out = xsys.rpc("ps", "watcher_auth.reload")
    assert rc == 0, out


def test_policy_from_xcap_server_challenges_then_accepts(xsys):
    xsys.nginx.put_policy(ALICE, policy({"method": "digest", "ha1": BOB_HA1}))
    fresh(xsys)
    ua = bob(xsys)
    try:
        _, r401 = ua.subscribe("alice")
        assert r401.status == 401
        ch = sipua.challenges(r401)[0]
        auth = sipua.authorization(ch, f"bob@{DOMAIN}", "SUBSCRIBE", ALICE, ha1=BOB_HA1)
        _, ok = ua.subscribe("alice", auth=auth)
        assert ok.status == 200
    finally:
        ua.close()


def test_changed_policy_seen_after_ttl(xsys):
    xsys.nginx.put_policy(ALICE, policy({"method": "digest", "ha1": BOB_HA1}))
    fresh(xsys)
    ua = bob(xsys)
    try:
        assert ua.subscribe("alice")[1].status == 401
        xsys.nginx.put_policy(ALICE, policy(None))
        time.sleep(XCAP_TTL + 1.2)
        # revalidated with If-None-Match: the new document has a new ETag
        assert ua.subscribe("alice")[1].status == 200
    finally:
        ua.close()


def test_no_document_404_no_authentication(xsys):
    xsys.nginx.delete_policy(ALICE)
    fresh(xsys)
    ua = bob(xsys)
    try:
        assert ua.subscribe("alice")[1].status == 200
    finally:
        ua.close()


def test_server_down_cached_copy_then_closed(xsys):
    xsys.nginx.put_policy(ALICE, policy({"method": "digest", "ha1": BOB_HA1}))
    fresh(xsys)
    ua = bob(xsys)
    try:
        assert ua.subscribe("alice")[1].status == 401  # cached now
        xsys.nginx.stop()
        offset = len(xsys.ps.log_text())
        time.sleep(XCAP_TTL + 1.2)
        # past the ttl, the server refuses connections: the cached policy
        # is still obeyed, with a warning
        assert ua.subscribe("alice")[1].status == 401
        assert xsys.ps.wait_log(r"policy of sip:alice@example.com from https://"
                                + re.escape(f"{h.NET}.50") + r".*: using the cached copy",
                                start=offset)
        # past the stale bound (and the back-off): not authorized, never open
        time.sleep(max(XCAP_STALE_TTL, XCAP_RETRY) + 0.5)
        assert ua.subscribe("alice")[1].status == 500
        # and a presentity never fetched gets no policy-less pass either
        _, r = ua.subscribe("carol")
        assert r.status == 500
        assert h.status_code(h.options(PS2_IP, h.PROBE_IP)) == 200
    finally:
        ua.close()
        xsys.nginx.start()


@pytest.mark.parametrize("tls", [True, False], ids=["hangs-after-handshake", "no-handshake"])
def test_slow_server_bounded_and_closed(xsys, tls):
    fresh(xsys)
    xsys.nginx.stop()
    xsys.nginx.start_slow(tls=tls)
    ua = bob(xsys)
    try:
        t0 = time.monotonic()
        _, r = ua.subscribe("alice")
        took = time.monotonic() - t0
        assert r is not None and r.status == 500
        # the SIP worker was held for about the XCAP timeout, not more
        assert took < XCAP_TIMEOUT_MS / 1000 + 1.0, took
        assert h.status_code(h.options(PS2_IP, h.PROBE_IP)) == 200
    finally:
        ua.close()
        xsys.nginx.stop_slow()
        xsys.nginx.start()


def test_untrusted_certificate_refused(xsys, tmp_path):
    """A server whose certificate does not verify against xcap_ca_file is
    never believed: nothing cached, 500."""
    xsys.nginx.stop()
    # the same nginx with a certificate from another CA
    other = XcapNginx(str(tmp_path / "otherrun"))
    try:
        os.makedirs(tmp_path / "otherrun" / "certs")
        import subprocess
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-days", "2", "-keyout", str(tmp_path / "otherrun/certs/ca.key"),
                        "-out", str(tmp_path / "otherrun/certs/ca.pem"),
                        "-subj", "/CN=Other CA"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        other.put_policy(ALICE, policy(None))
        other.start()
        fresh(xsys)
        offset = len(xsys.ps.log_text())
        ua = bob(xsys)
        try:
            assert ua.subscribe("alice")[1].status == 500
        finally:
            ua.close()
        assert xsys.ps.wait_log(r"policy of sip:alice@example.com from https://.*TLS", start=offset)
    finally:
        other.stop()
        other.close()
        xsys.nginx.start()


def test_failing_server_does_not_hold_every_worker(xsys):
    """After a timeout, lookups within xcap_retry seconds do not wait for
    the server again, whichever worker serves them."""
    fresh(xsys)
    xsys.nginx.stop()
    xsys.nginx.start_slow(tls=True)
    ua = bob(xsys)
    try:
        t0 = time.monotonic()
        assert ua.subscribe("alice")[1].status == 500
        first = time.monotonic() - t0
        assert first >= XCAP_TIMEOUT_MS / 1000 * 0.9, first
        times = []
        for _ in range(4):
            t0 = time.monotonic()
            assert ua.subscribe("alice")[1].status == 500
            times.append(time.monotonic() - t0)
        assert max(times) < XCAP_TIMEOUT_MS / 1000 / 2, times
    finally:
        ua.close()
        xsys.nginx.stop_slow()
        xsys.nginx.start()
