"""Cluster harness: two Presence Server nodes and two P-CSCF nodes of the
same routing script (-A CLUSTER), on their own loopback addresses, sharing
one PostgreSQL (scripts/pg.sh, started here and stopped by its PID).

Builds on test/e2e/harness.py (Role, waits, OPTIONS probes). Node A of
each role is on the addresses the e2e harness knows as PCSCF_IP and PS_IP
(conftest.py moves them to NET.110 and NET.120), so the e2e helpers that
address "the" P-CSCF or PS address node A.

| node      | address  | routes to / trusts          | alias    |
|-----------|----------|-----------------------------|----------|
| pcscf (A) | NET.110  | PS A; trusts NET.120/31     | NET.111  |
| pcscf-b   | NET.111  | PS B; trusts NET.120/31     | NET.110  |
| ps (A)    | NET.120  | trusts NET.110/31 (P-CSCFs) |          |
| ps-b      | NET.121  | trusts NET.110/31 (P-CSCFs) |          |
| postgres  | NET.150:55432                                     |
"""
import ipaddress
import os
import re
import secrets
import shutil
import subprocess
import time

import harness as h

NET = h.NET
PCSCF_A, PCSCF_B = h.PCSCF_IP, f"{NET}.111"
PS_A, PS_B = h.PS_IP, f"{NET}.121"
PG_IP, PG_PORT = f"{NET}.150", 55432
NONCE_EXPIRE = 5  # seconds: short, so that the replay bound can be waited out


class Node(h.Role):
    """One Kamailio node: role pcscf or ps, in its own folder."""

    def __init__(self, role, node_dir, run_dir, env, ip):
        super().__init__(role, run_dir, env)
        self.ip = ip
        self.dir = node_dir
        self.log_path = os.path.join(node_dir, "kamailio.log")

    def wait_ready(self, deadline):
        if not h.wait_tcp(self.ip, h.SIP_PORT, deadline):
            raise RuntimeError(f"{self.ip}:{h.SIP_PORT} did not open; see {self.log_path}")
        while h.status_code(h.options(self.ip, h.PROBE_IP, timeout=0.5)) != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.ip} does not answer OPTIONS; see {self.log_path}")

    def restart(self, timeout=30):
        self.stop()
        self.start()
        self.wait_ready(time.monotonic() + timeout)

    def rpc(self, *args):
        p = subprocess.run(["kamcmd", "-s", "unix:" + os.path.join(self.dir, "kamailio_ctl"), *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        return p.returncode, p.stdout.decode(errors="replace")


class Cluster:
    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.pg_dir = os.path.join(run_dir, "pg")
        self.nodes = {}

    # ---- PostgreSQL ------------------------------------------------------
    def pg(self, *args, **kw):
        env = dict(os.environ, PG_IP=PG_IP, PG_PORT=str(PG_PORT))
        return subprocess.run([os.path.join(h.TOP, "scripts", "pg.sh"), *args],
                              env=env, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120, **kw).stdout.decode()

    def sql(self, db, query):
        """One query as the superuser; rows as lists of strings."""
        out = self.pg("psql", self.pg_dir, db, "-qAt", "-F", "\t", "-c", query)
        return [line.split("\t") for line in out.splitlines() if line]

    # ---- set-up ----------------------------------------------------------
    def provision(self):
        if os.path.exists(self.pg_dir):
            self.pg("stop", self.pg_dir)
        subprocess.run(["rm", "-rf", self.run_dir], check=True)
        os.makedirs(self.run_dir)
        self.url = self.pg("start", self.pg_dir).strip()
        env = dict(os.environ, PCSCF_IP=PCSCF_A, PS_IP=PS_A, XCAP_PORT=str(h.XCAP_PORT))
        subprocess.run([os.path.join(h.TOP, "scripts", "provision-pg.sh"), self.run_dir,
                        self.pg_dir], check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=300)
        # node B of each role: its own folder, the same certificates and
        # secrets; the PS's Ut TLS profile on its own address
        for role, ip_a, ip_b in (("pcscf", PCSCF_A, PCSCF_B), ("ps", PS_A, PS_B)):
            a = os.path.join(self.run_dir, role)
            b = os.path.join(self.run_dir, role + "-b")
            os.makedirs(b, mode=0o700)
            for f in os.listdir(a):
                if f.endswith(".cfg") or f.endswith(".secret"):
                    shutil.copy2(os.path.join(a, f), b)
            with open(os.path.join(b, "tls.cfg")) as f:
                text = f.read()
            with open(os.path.join(b, "tls.cfg"), "w") as f:
                f.write(text.replace(f"[server:{ip_a}:", f"[server:{ip_b}:"))
        self.auth_secret = secrets.token_hex(32)
        self.rr_secret = secrets.token_hex(32)

    def _env(self, role, node_dir, ip, peer, routes_to, alias=None):
        defines = [
            "CLUSTER", f'AUTH_SECRET="{self.auth_secret}"',
            f'SP_RR_SECRET="{self.rr_secret}"', f"NONCE_EXPIRE={NONCE_EXPIRE}",
            f"AUTH_RETRIES={h.AUTH_RETRIES}",
            # every node of the other role: one subnet (sip_privacy's
            # "trusted" and the PS's trust checks take one)
            f'TRUSTED_PEER_ADDR="{peer}"']
        if alias:
            defines.append(f'CLUSTER_ALIAS="{alias}"')
        env = dict(os.environ, SIP_PORT=str(h.SIP_PORT), TLS_PORT=str(h.TLS_PORT),
                   XCAP_PORT=str(h.XCAP_PORT), LOG_LEVEL="2",
                   ROLE_DIR=node_dir, ROLE_DB_URL=f"{self.url}/{role}",
                   EXTRA_DEFINES=" ".join(defines))
        if role == "pcscf":
            env.update(PCSCF_IP=ip, PS_IP=routes_to)
        else:
            env.update(PS_IP=ip, PCSCF_IP=routes_to)
        return env

    def start(self, timeout=40):
        d = lambda n: os.path.join(self.run_dir, n)  # noqa: E731
        pcscfs, pss = subnet(PCSCF_A, PCSCF_B), subnet(PS_A, PS_B)
        spec = {
            "pcscf": ("pcscf", PCSCF_A, pss, PS_A, PCSCF_B),
            "pcscf-b": ("pcscf", PCSCF_B, pss, PS_B, PCSCF_A),
            "ps": ("ps", PS_A, pcscfs, PCSCF_A, None),
            "ps-b": ("ps", PS_B, pcscfs, PCSCF_B, None),
        }
        for name, (role, ip, peer, routes_to, alias) in spec.items():
            node = Node(role, d(name), self.run_dir,
                        self._env(role, d(name), ip, peer, routes_to, alias), ip)
            self.nodes[name] = node
            node.start()
        deadline = time.monotonic() + timeout
        for node in self.nodes.values():
            node.wait_ready(deadline)

    def stop(self):
        for node in self.nodes.values():
            node.stop()
        # the data folder is in pg_dir, or where pg_dir/pgroot names (when
        # the postgres user cannot reach pg_dir: pg.sh stop finds it)
        if any(os.path.exists(os.path.join(self.pg_dir, f)) for f in ("data", "pgroot")):
            self.pg("stop", self.pg_dir)

    def node(self, name):
        return self.nodes[name]

    def log_mark(self):
        return {n: len(node.log_text()) for n, node in self.nodes.items()}

    def errors_since(self, mark):
        """ERROR/CRITICAL lines every node logged since mark."""
        out = []
        for n, node in self.nodes.items():
            for line in node.log_text()[mark.get(n, 0):].splitlines():
                if re.search(r"\b(ERROR|CRITICAL|BUG)\b", line):
                    out.append(f"{n}: {line}")
        return out


def subnet(a, b):
    """The smallest IPv4 subnet that holds both addresses (NET.110 and
    NET.111: NET.110/31)."""
    x, y = int(ipaddress.IPv4Address(a)), int(ipaddress.IPv4Address(b))
    plen = 32 - (x ^ y).bit_length()
    return str(ipaddress.IPv4Network((x >> (32 - plen) << (32 - plen), plen)))


def available():
    """(True, "") when this machine can run the cluster, else (False, why)."""
    p = subprocess.run([os.path.join(h.TOP, "scripts", "pg.sh"), "available"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode == 0, p.stdout.decode().strip()
