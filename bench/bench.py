#!/usr/bin/python3
"""`make bench`: a first baseline of the presence service under SIPp load.

Both roles of the real routing script (scripts/provision.sh +
scripts/role.sh) run on their own loopback addresses, 127.0.2.10 (P-CSCF)
and 127.0.2.20 (PS), with the user agents on other 127.0.2.x addresses, so
the bench never collides with `make run` (127.0.0.x) or `make test`
(127.0.1.x). Every process started here is stopped by its PID (the roles by
their process group), also on an error or Ctrl-C.

For every arm (a workload, see ARMS at the end) the bench measures:

  fixed   SIPp at a fixed call rate; CPU seconds (utime+stime from
          /proc/<pid>/stat) of every process of each role, per request
  max     the rate stepped up with a fixed number of calls per step; the
          highest rate with no failed call, and its CPU per request
  cg      instructions (Ir) per received SIP message of each role from
          valgrind --tool=callgrind --toggle-collect=receive_msg, the
          median of CG_REPS runs

and prints one table with the ratios side by side (PS/P-CSCF, max/fixed):
two cores shared by SIPp and both roles make absolute figures meaningless
on their own. bench/README.md describes the measures and denominators.

Knobs (environment, for a quicker or longer run): BENCH_FIXED_RATE,
BENCH_FIXED_CALLS, BENCH_STEP_RATES (comma list), BENCH_STEP_CALLS,
BENCH_REFINE_STEPS, BENCH_CG_RATE, BENCH_CG_CALLS, BENCH_CG_REPS, BENCH_CG_LIMIT,
BENCH_LOG_LEVEL, BENCH_SKIP_CALLGRIND=1.
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BENCH_DIR = os.path.join(TOP, "bench")
TEST_SIPP = os.path.join(TOP, "test", "sipp")
RUN_DIR = os.path.join(TOP, "build", "bench-run")
OUT_DIR = os.path.join(TOP, "build", "bench")
DOMAIN = "example.com"

PCSCF_IP, PS_IP = "127.0.2.10", "127.0.2.20"
SIP_PORT, TLS_PORT, XCAP_PORT = 5060, 5061, 5443
UA_IP = {"alice": "127.0.2.31", "bob": "127.0.2.32", "carol": "127.0.2.33",
         "probe": "127.0.2.99"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def knob(name, default):
    return int(os.environ.get("BENCH_" + name, default))


FIXED_RATE = knob("FIXED_RATE", 50)          # calls/s
FIXED_CALLS = knob("FIXED_CALLS", 1500)
STEP_RATES = [int(r) for r in
              os.environ.get("BENCH_STEP_RATES", "100,200,400,800,1600").split(",")]
STEP_CALLS = knob("STEP_CALLS", 2000)        # the same for every step
REFINE_STEPS = knob("REFINE_STEPS", 2)       # bisections after the first failure
SUSTAINED = 0.9                              # achieved/target call rate
CG_RATE = knob("CG_RATE", 10)
CG_CALLS = knob("CG_CALLS", 120)
CG_REPS = knob("CG_REPS", 3)
CG_LIMIT = knob("CG_LIMIT", 2)                # calls at once under callgrind
LOG_LEVEL = knob("LOG_LEVEL", 2)
SKIP_CALLGRIND = os.environ.get("BENCH_SKIP_CALLGRIND") == "1"
START_TIMEOUT = 30       # s, plain kamailio
CG_START_TIMEOUT = 180   # s, both roles under callgrind (about 15 s here)
CG_STOP_TIMEOUT = 120    # s, callgrind writes its files at exit

T0 = time.monotonic()
RUNNING = []             # roles started and not yet stopped
DIED = []                # (role, during what) for every role that died


class BenchError(Exception):
    """The bench cannot go on (setup failed, a role died, ...)."""


def say(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


# ---------------------------------------------------------------- processes

def proc_stat(pid):
    """(pgrp, utime+stime in ticks) of a process, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15
    return int(fields[2]), int(fields[11]) + int(fields[12])


class Role:
    """One Kamailio role, started by scripts/role.sh in its own session, so
    that its processes form one process group led by the main PID."""

    def __init__(self, name, ip, env):
        self.name, self.ip, self.env = name, ip, env
        self.ctl = f"unix:{RUN_DIR}/{name}/kamailio_ctl"
        self.proc = None
        self.log = None

    def start(self, log_path, wrapper=None):
        env = dict(self.env)
        env.pop("KAMAILIO_WRAPPER", None)
        if wrapper:
            env["KAMAILIO_WRAPPER"] = wrapper
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(TOP, "scripts", "role.sh"), self.name, "run", RUN_DIR],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True)
        RUNNING.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def group(self):
        """{pid: cpu ticks} of every process in the role's process group."""
        out = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                st = proc_stat(d)
                if st and st[0] == self.pid:
                    out[int(d)] = st[1]
        return out

    def rpc(self, *args, timeout=10):
        try:
            p = subprocess.run(["kamcmd", "-s", self.ctl, *args],
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return p.stdout if p.returncode == 0 else None

    def wait_ctl(self, deadline):
        while time.monotonic() < deadline:
            if not self.alive():
                raise BenchError(f"{self.name} exited during startup; see {self.log_path}")
            if self.rpc("core.uptime", timeout=5) is not None:
                return
            time.sleep(0.5)
        raise BenchError(f"{self.name} not ready in time; see {self.log_path}")

    def process_names(self):
        """{pid: description} from core.psx, e.g. 'udp receiver child=0'."""
        out, pid = {}, None
        for line in (self.rpc("core.psx") or "").splitlines():
            m = re.match(r"\s*PID:\s*(\d+)", line)
            if m:
                pid = int(m.group(1))
            m = re.match(r"\s*DSC:\s*(.*)", line)
            if m and pid is not None:
                out[pid] = re.sub(r" sock=\S+", "", m.group(1)).strip()
        return out

    def received(self):
        """SIP messages received so far: core rcv_requests + rcv_replies."""
        text = self.rpc("stats.get_statistics", "rcv_requests", "rcv_replies")
        if text is None:
            raise BenchError(f"cannot read statistics of {self.name}")
        vals = dict(re.findall(r"core:(rcv_requests|rcv_replies) = (\d+)", text))
        return int(vals.get("rcv_requests", 0)) + int(vals.get("rcv_replies", 0))

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_errors(self, offset):
        """ERROR lines written to the log after offset, by kind."""
        kinds = {}
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return kinds
        for line in text.splitlines():
            if " ERROR: " in line:
                m = re.search(r"\} (.*?\]: \w+\(\))", line) or re.search(r"ERROR: (.*)", line)
                k = m.group(1) if m else line
                kinds[k] = kinds.get(k, 0) + 1
        return kinds

    def stop(self, timeout=15):
        """SIGTERM to the main process (it stops its children), then wait;
        whatever is left of the process group gets SIGKILL."""
        if self.proc is None:
            return
        pgid = self.pid
        if self.proc.poll() is None:
            try:
                os.kill(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while self.group() and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.log.close()
        self.proc = None
        if self in RUNNING:
            RUNNING.remove(self)


def options_ok(ip, timeout=0.5):
    """An OPTIONS to the server itself answered 200."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((UA_IP["probe"], 0))
        sport = s.getsockname()[1]
        cid = uuid.uuid4().hex
        msg = (f"OPTIONS sip:{ip}:{SIP_PORT} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {UA_IP['probe']}:{sport};branch=z9hG4bK{cid[:12]}\r\n"
               f"From: <sip:probe@{DOMAIN}>;tag={cid[:8]}\r\n"
               f"To: <sip:{ip}:{SIP_PORT}>\r\n"
               f"Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
               f"Content-Length: 0\r\n\r\n").encode()
        s.settimeout(timeout)
        s.sendto(msg, (ip, SIP_PORT))
        return s.recvfrom(65535)[0].startswith(b"SIP/2.0 200 ")
    except OSError:
        return False
    finally:
        s.close()


class System:
    """Both roles in build/bench-run."""

    def __init__(self, extra_env=None):
        self.env = dict(os.environ, PCSCF_IP=PCSCF_IP, PS_IP=PS_IP,
                        SIP_PORT=str(SIP_PORT), TLS_PORT=str(TLS_PORT),
                        XCAP_PORT=str(XCAP_PORT), LOG_LEVEL=str(LOG_LEVEL))
        self.env.update(extra_env or {})
        self.pcscf = Role("pcscf", PCSCF_IP, self.env)
        self.ps = Role("ps", PS_IP, self.env)
        self.roles = (self.pcscf, self.ps)

    def provision(self):
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        p = subprocess.run([os.path.join(TOP, "scripts", "provision.sh"), RUN_DIR],
                           env=self.env, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise BenchError(f"scripts/provision.sh failed:\n{p.stdout}{p.stderr}")

    def start(self, tag, wrapper=None):
        """wrapper: role name -> KAMAILIO_WRAPPER (or None)."""
        for role in self.roles:
            role.start(os.path.join(OUT_DIR, "logs", f"{tag}-{role.name}.log"),
                       wrapper(role.name) if wrapper else None)
        deadline = time.monotonic() + (CG_START_TIMEOUT if wrapper else START_TIMEOUT)
        for role in self.roles:
            role.wait_ctl(deadline)
        if not wrapper:
            # SIP answers too (under callgrind only ctl is used: no SIP
            # message may reach the roles outside the measured load)
            for role in self.roles:
                while not options_ok(role.ip):
                    if time.monotonic() > deadline:
                        raise BenchError(f"{role.name} does not answer OPTIONS; see {role.log_path}")
        self.names = {role.name: role.process_names() for role in self.roles}

    def stop(self, timeout=15):
        for role in (self.ps, self.pcscf):
            role.stop(timeout)

    def check_alive(self):
        for role in self.roles:
            if not role.alive():
                raise BenchError(f"{role.name} died; see {role.log_path}")

    def set_pres_rules(self, user, allow=(), block=()):
        """A presentity's pres-rules, straight into the PS's xcap table (as
        test/e2e/harness.py System.set_pres_rules does)."""
        ns = ('xmlns:cr="urn:ietf:params:xml:ns:common-policy" '
              'xmlns:pr="urn:ietf:params:xml:ns:pres-rules"')
        rules = "".join(
            f'<cr:rule id="r{i}"><cr:conditions><cr:identity>'
            f'<cr:one id="sip:{w}@{DOMAIN}"/></cr:identity></cr:conditions>'
            f"<cr:actions><pr:sub-handling>{a}</pr:sub-handling></cr:actions>"
            "<cr:transformations><pr:provide-services><pr:all-services/>"
            "</pr:provide-services><pr:provide-persons><pr:all-persons/>"
            "</pr:provide-persons><pr:provide-devices><pr:all-devices/>"
            "</pr:provide-devices><pr:provide-all-attributes/>"
            "</cr:transformations></cr:rule>"
            for i, (w, a) in enumerate([(w, "allow") for w in allow] +
                                       [(w, "block") for w in block]))
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset {ns}>{rules}</cr:ruleset>'
        uri = f"/xcap-root/pres-rules/users/sip:{user}@{DOMAIN}/index"
        db = sqlite3.connect(os.path.join(RUN_DIR, "ps", "ps.db"), timeout=5)
        with db:
            db.execute("DELETE FROM xcap WHERE doc_uri = ?", (uri,))
            db.execute(
                "INSERT INTO xcap (username, domain, doc, doc_type, etag,"
                " source, doc_uri, port) VALUES (?, ?, ?, 2, ?, 1, ?, 0)",
                (user, DOMAIN, xml.encode(), uuid.uuid4().hex, uri))
        db.close()
        # written behind the Ut interface's back: a PS with watcher_auth
        # drops its cached copy (an older PS has no such RPC: ignored)
        if self.ps.alive():
            self.ps.rpc("watcher_auth.reload", f"sip:{user}@{DOMAIN}")


MODULES_DIR = os.path.join(TOP, "build", "modules")


def module_stamps():
    out = {}
    for f in sorted(os.listdir(MODULES_DIR)) if os.path.isdir(MODULES_DIR) else []:
        st = os.stat(os.path.join(MODULES_DIR, f))
        out[f] = (st.st_ino, st.st_ctime_ns, st.st_size)
    return out


MODULES_AT_START = module_stamps()


def check_modules():
    """A module replaced under running roles (a concurrent `make`
    rewrites build/modules/*.so in place) crashes them or skews figures."""
    now = module_stamps()
    if now != MODULES_AT_START:
        changed = sorted(set(now) ^ set(MODULES_AT_START) |
                         {f for f in now if MODULES_AT_START.get(f) != now[f]})
        raise BenchError("build/modules changed during the bench (" + ", ".join(changed) +
                         "): a concurrent build? run `make bench` again")


def stop_all(timeout):
    for role in list(RUNNING):
        try:
            role.stop(timeout)
        except Exception as e:  # keep stopping the others
            print(f"bench: stopping {role.name}: {e}", file=sys.stderr)


# ---------------------------------------------------------------- SIPp

def read_users():
    users = {}
    with open(os.path.join(TOP, "etc", "demo", "users")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                users[parts[0]] = parts[1]
    return users


class SippResult:
    def __init__(self, rc, text, wall, cpu, err_file, rtt):
        self.rc, self.text, self.wall, self.cpu, self.err_file = rc, text, wall, cpu, err_file
        screen = text[text.rfind("Scenario Screen"):] if "Scenario Screen" in text else text

        def cum(name):
            m = re.findall(rf"{name}\s*\|[^|]*\|\s*([\d.]+)", text)
            return float(m[-1]) if m else 0.0
        self.successful = int(cum("Successful call"))
        self.failed = int(cum("Failed call"))
        self.created = int(cum("Outgoing calls created"))
        # rtt: (end ms, length ms) of every successful call, from the
        # scenario's response time "call" (first SUBSCRIBE to last 200 OK)
        lengths = sorted(l for e, l in rtt)
        self.call_ms = {"p50": pct(lengths, 50), "p99": pct(lengths, 99)}
        # rate at which calls were started: from the start times of the
        # successful calls (end - length); SIPp's own Call Rate divides by
        # its total time, which includes the receive timeout of a failed call
        starts = sorted(e - l for e, l in rtt)
        if len(starts) > 10 and starts[-1] > starts[0]:
            self.rate = (len(starts) - 1) * 1000.0 / (starts[-1] - starts[0])
        else:
            self.rate = cum("Call Rate")
        # message table: "  SUBSCRIBE ---------->   100   0   0"
        self.sent = {}
        self.retrans = 0
        for m in re.finditer(r"^\s*(\S+) (---------->|<----------)\s+(?:[BE]-RTD\S*\s+)?"
                             r"(\d+)\s+(\d+)", screen, re.M):
            if m.group(2) == "---------->":
                self.sent[m.group(1)] = self.sent.get(m.group(1), 0) + int(m.group(3))
            self.retrans += int(m.group(4))

    @property
    def ok(self):
        return self.rc == 0 and self.failed == 0 and self.successful > 0


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * p / 100))]


def sipp(scenario, user, tag, calls=1, rate=None, keys=None, auth=None, timeout=20,
         limit=None, extra=()):
    os.makedirs(os.path.join(OUT_DIR, "sipp"), exist_ok=True)
    err = os.path.join(OUT_DIR, "sipp", f"{tag}-errors.log")
    if os.path.exists(err):
        os.unlink(err)
    cmd = ["sipp", "-sf", scenario, "-i", UA_IP[user], "-bind_local", "-s", user,
           "-t", "u1", "-nostdin", "-nd", "-m", str(calls),
           "-timeout", f"{timeout}s", "-timeout_error", "-recv_timeout", "5000",
           "-max_recv_loops", "1000", "-trace_err", "-error_file", err]
    if rate:
        cmd += ["-r", str(rate), "-rp", "1000", "-l", str(limit or max(20, 4 * rate))]
    cmd += list(extra)
    if auth:
        cmd += ["-au", auth[0], "-ap", auth[1]]
    for k, v in (keys or {}).items():
        cmd += ["-key", k, v]
    cmd += ["-trace_rtt", "-rtt_freq", "1"]
    cmd.append(f"{PCSCF_IP}:{SIP_PORT}")
    cwd = os.path.join(OUT_DIR, "sipp")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, cwd=cwd)
    try:
        out = p.communicate(timeout=timeout + 30)[0]
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out = p.communicate()[0]
        rc = -1
    finally:
        if p.poll() is None:   # interrupted: do not leave SIPp behind
            p.kill()
            p.wait()
    text = out.decode(errors="replace")
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    with open(os.path.join(cwd, f"{tag}.out"), "w") as f:
        f.write(" ".join(cmd) + "\n\n" + text)
    rtt = []
    rtt_file = os.path.join(cwd, f"{os.path.splitext(os.path.basename(scenario))[0]}_{p.pid}_rtt.csv")
    if os.path.exists(rtt_file):
        with open(rtt_file) as f:
            for line in f:
                parts = line.strip().split(";")
                if len(parts) >= 3 and parts[2] == "call":
                    try:
                        rtt.append((float(parts[0]), float(parts[1])))
                    except ValueError:
                        pass
        os.replace(rtt_file, os.path.join(cwd, f"{tag}-rtt.csv"))
    return SippResult(rc, text, wall, cpu, err, rtt)


# ---------------------------------------------------------------- measures

def load(system, arm, tag, rate, calls):
    """One SIPp run of the arm's scenario with CPU (per process, per role)
    and received messages (per role) read before and after."""
    system.check_alive()
    offsets = {r.name: r.log_size() for r in system.roles}
    msgs0 = {r.name: r.received() for r in system.roles}
    cpu0 = {r.name: r.group() for r in system.roles}
    res = sipp(arm.scenario(), arm.ua, tag, calls=calls, rate=rate, keys=arm.keys,
               auth=arm.auth, timeout=int(calls / rate) + 60)
    cpu1 = {r.name: r.group() for r in system.roles}
    check_modules()
    died = [r.name for r in system.roles if not r.alive()]
    for name in died:
        DIED.append((name, tag))
    msgs1 = {r.name: r.received() if r.alive() else None for r in system.roles}
    m = {"tag": tag, "target_rate": rate, "calls": calls, "rc": res.rc,
         "successful": res.successful, "failed": res.failed,
         "rate": res.rate, "wall_s": round(res.wall, 2),
         "call_ms": res.call_ms,
         "requests": sum(res.sent.get(q, 0) for q in arm.requests),
         "retrans": res.retrans, "sipp_cpu_s": round(res.cpu, 3),
         "died": died, "roles": {},
         "ok": res.ok and res.rate >= SUSTAINED * rate and not died}
    for role in system.roles:
        before, after = cpu0[role.name], cpu1[role.name]
        delta = {pid: after[pid] - before.get(pid, 0) for pid in after}
        busiest = max(delta, key=delta.get) if delta else None
        m["roles"][role.name] = {
            "cpu_s": sum(delta.values()) / CLK_TCK,
            "busiest_cpu_s": delta[busiest] / CLK_TCK if busiest else 0.0,
            "busiest": system.names[role.name].get(busiest, "main" if busiest == role.pid else str(busiest)),
            "processes": len(after),
            "received": None if msgs1[role.name] is None else msgs1[role.name] - msgs0[role.name],
            "errors": role.log_errors(offsets[role.name]),
        }
    errs = {n: sum(r["errors"].values()) for n, r in m["roles"].items()}
    say(f"  {tag}: {rate} calls/s x {calls}: {res.successful} ok, {res.failed} failed, "
        f"sipp rc {res.rc}, achieved {res.rate:.1f}/s, {res.retrans} retrans, "
        f"{m['requests']} {'+'.join(arm.requests)}, "
        f"CPU s pcscf {m['roles']['pcscf']['cpu_s']:.2f} ps {m['roles']['ps']['cpu_s']:.2f}, "
        f"log ERRORs pcscf {errs['pcscf']} ps {errs['ps']}"
        + "".join(f", {n} DIED (see {system.roles[0 if n == 'pcscf' else 1].log_path})" for n in died)
        + f" -> {'pass' if m['ok'] else 'FAIL'}")
    return m


def ensure_up(system, arm, tag):
    """After a role died: both roles again, and the arm's setup."""
    if all(r.alive() for r in system.roles):
        return
    say(f"{arm.name}: a role died; restarting both roles")
    system.stop(5)
    system.start(tag)
    arm.setup(system, arm)


def per_request_us(m, role, key="cpu_s"):
    if not m or not m["requests"]:
        return None
    return m["roles"][role][key] / m["requests"] * 1e6


def row_fixed(system, arm):
    say(f"{arm.name}: fixed rate {arm.fixed_rate} calls/s, {arm.fixed_calls} calls")
    m = load(system, arm, f"{arm.slug}-fixed", arm.fixed_rate, arm.fixed_calls)
    return Row(f"{arm.name} fixed {arm.fixed_rate}/s", m)


def row_max(system, arm, fixed):
    """Step the rate up (STEP_CALLS calls per step) until a step fails,
    then bisect between the last passing and the first failing rate."""
    say(f"{arm.name}: highest rate without failed calls, {STEP_CALLS} calls per step")
    steps, best, fail_rate = [], None, None
    for i, rate in enumerate(arm.step_rates):
        time.sleep(1)
        ensure_up(system, arm, f"{arm.slug}-restart-step{i + 1}")
        m = load(system, arm, f"{arm.slug}-step{i + 1}", rate, STEP_CALLS)
        steps.append(m)
        if m["ok"]:
            best = m
        else:
            fail_rate = rate
            break
    lo = best["target_rate"] if best else (fixed.m["target_rate"] if fixed.m["ok"] else None)
    for j in range(REFINE_STEPS if fail_rate and lo else 0):
        mid = int(round((lo + fail_rate) / 2 / 10.0) * 10) if fail_rate - lo > 20 else 0
        if mid <= lo or mid >= fail_rate:
            break
        time.sleep(1)
        ensure_up(system, arm, f"{arm.slug}-restart-refine{j + 1}")
        m = load(system, arm, f"{arm.slug}-refine{j + 1}", mid, STEP_CALLS)
        steps.append(m)
        if m["ok"]:
            best, lo = m, mid
        else:
            fail_rate = mid
    if best:
        label = f"{arm.name} max {best['target_rate']}/s"
    elif lo:
        label = f"{arm.name} max <{fail_rate}/s"   # only the fixed rate passed
    else:
        label = f"{arm.name} max (none)"
    row = Row(label, best)
    row.steps = steps
    row.first_fail = fail_rate
    return row


def cg_total(path):
    """Ir of one callgrind output file (its totals: or summary: line)."""
    total = summary = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("totals:"):
                total = int(line.split()[1])
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
    return total if total is not None else (summary or 0)


def callgrind(system, arm):
    """CG_REPS runs of both roles under callgrind, collecting only inside
    receive_msg (the SIP message path: no startup, no timers). No SIP
    message reaches a role except the load (readiness is checked over ctl),
    so Ir over the whole run / messages received over the whole run is the
    cost of one received message of this workload."""
    runs = []
    for rep in range(1, CG_REPS + 1):
        d = os.path.join(OUT_DIR, "callgrind", arm.slug, f"run{rep}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        say(f"{arm.name}: callgrind run {rep}/{CG_REPS}: starting both roles under valgrind")

        def wrapper(role, d=d):
            return ("valgrind --tool=callgrind --trace-children=yes "
                    "--toggle-collect=receive_msg "
                    f"--callgrind-out-file={d}/{role}.%p")
        t = time.monotonic()
        system.start(f"{arm.slug}-cg{rep}", wrapper)
        say(f"  ready after {time.monotonic() - t:.0f}s; {CG_CALLS} calls at {CG_RATE}/s")
        msgs0 = {r.name: r.received() for r in system.roles}
        # gentle: at most CG_LIMIT calls at once and no SIPp retransmission
        # (valgrind translates code on first use: the first messages of
        # every process are slow)
        res = sipp(arm.scenario(), arm.ua, f"{arm.slug}-cg{rep}", calls=CG_CALLS,
                   rate=CG_RATE, keys=arm.keys, auth=arm.auth,
                   timeout=int(CG_CALLS / CG_RATE) + 90,
                   limit=CG_LIMIT, extra=["-nr"])
        check_modules()
        died = [r.name for r in system.roles if not r.alive()]
        for name in died:
            DIED.append((name, f"{arm.slug}-cg{rep}"))
        msgs1 = {r.name: r.received() if r.alive() else None for r in system.roles}
        t = time.monotonic()
        system.stop(CG_STOP_TIMEOUT)
        run = {"rep": rep, "successful": res.successful, "failed": res.failed,
               "rc": res.rc, "retrans": res.retrans, "died": died, "roles": {}}
        for role in system.roles:
            files = [os.path.join(d, f) for f in os.listdir(d)
                     if f.startswith(role.name + ".")]
            ir = sum(cg_total(f) for f in files)
            n = msgs1[role.name]   # None: the role died, no valid figure
            run["roles"][role.name] = {
                "ir": ir, "received": n, "received_before_load": msgs0[role.name],
                "files": len(files), "ir_per_msg": ir / n if n else None}
        say(f"  stopped in {time.monotonic() - t:.0f}s: {res.successful} ok, {res.failed} failed, "
            f"{res.retrans} retrans; " + ", ".join(
                f"{n} {r['ir']:,} Ir / {r['received']} msgs = "
                f"{fmt(r['ir_per_msg'], ',.0f')}" for n, r in run["roles"].items())
            + "".join(f", {n} DIED" for n in died))
        runs.append(run)
    out = {"runs": runs}
    for role in ("pcscf", "ps"):
        vals = [r["roles"][role]["ir_per_msg"] for r in runs
                if r["roles"][role]["ir_per_msg"]]
        out[role] = statistics.median(vals) if vals else None
        msgs = [r["roles"][role]["received"] / max(1, r["successful"] + r["failed"])
                for r in runs if r["roles"][role]["received"]]
        out[role + "_msgs_per_call"] = statistics.median(msgs) if msgs else None
    return out


# ---------------------------------------------------------------- table

class Row:
    def __init__(self, label, m):
        self.label, self.m = label, m
        self.ir = None
        self.steps = []


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    return a / b if a is not None and b else None


COLUMNS = [  # header, width (negative: left-aligned), cell of a Row
    ("row", -26, lambda r: r.label),
    ("calls ok", 8, lambda r: fmt(r.m and r.m["successful"], "d")),
    ("failed", 6, lambda r: fmt(r.m and r.m["failed"], "d")),
    ("calls/s", 7, lambda r: fmt(r.m and r.m["rate"], ".1f")),
    ("P-CSCF us/req", 13, lambda r: fmt(per_request_us(r.m, "pcscf"), ".1f")),
    ("busiest", 7, lambda r: fmt(per_request_us(r.m, "pcscf", "busiest_cpu_s"), ".1f")),
    ("PS us/req", 9, lambda r: fmt(per_request_us(r.m, "ps"), ".1f")),
    ("busiest", 7, lambda r: fmt(per_request_us(r.m, "ps", "busiest_cpu_s"), ".1f")),
    ("PS/P-CSCF", 9, lambda r: fmt(ratio(per_request_us(r.m, "ps"), per_request_us(r.m, "pcscf")), ".2f")),
    ("SIPp us/req", 11, lambda r: fmt(r.m and r.m["requests"] and r.m["sipp_cpu_s"] / r.m["requests"] * 1e6, ".1f")),
    ("P-CSCF Ir/msg", 13, lambda r: fmt(r.ir and r.ir["pcscf"], ",.0f")),
    ("PS Ir/msg", 10, lambda r: fmt(r.ir and r.ir["ps"], ",.0f")),
    ("PS/P-CSCF", 9, lambda r: fmt(r.ir and ratio(r.ir["ps"], r.ir["pcscf"]), ".2f")),
]


def ratio_line(label, a, b):
    """max/fixed: CPU per request at the highest rate over the fixed rate."""
    vals = {"pcscf": ratio(per_request_us(a.m, "pcscf"), per_request_us(b.m, "pcscf")),
            "ps": ratio(per_request_us(a.m, "ps"), per_request_us(b.m, "ps"))}
    cells = [label, "", "", fmt(ratio(a.m and a.m["rate"], b.m and b.m["rate"]), ".2f"),
             fmt(vals["pcscf"], ".2f"), "", fmt(vals["ps"], ".2f"), "", "", "", "", "", ""]
    return cells


def table(rows_with_ratio):
    lines = []
    head = [h for h, w, f in COLUMNS]
    widths = [max(abs(w), len(h)) for h, w, f in COLUMNS]

    def line(cells):
        out = []
        for (h, w, f), width, c in zip(COLUMNS, widths, cells):
            out.append(c.ljust(width) if w < 0 else c.rjust(width))
        return "  ".join(out).rstrip()
    lines.append(line(head))
    lines.append(line(["-" * w for w in widths]))
    for item in rows_with_ratio:
        if isinstance(item, Row):
            lines.append(line([f(item) for h, w, f in COLUMNS]))
        else:
            lines.append(line(item))
    return "\n".join(lines)


# ---------------------------------------------------------------- arms

class Arm:
    """A workload: the rows "<name> fixed", "<name> max" and its callgrind
    figures. A module issue adds its own Arm to ARMS (extra_env, e.g.
    EXTRA_DEFINES, restarts both roles with it)."""

    def __init__(self, name, scenario, ua, keys, setup, requests, per_call,
                 nominal_msgs=None, auth=None, fixed_rate=FIXED_RATE,
                 fixed_calls=FIXED_CALLS, step_rates=STEP_RATES, extra_env=None):
        """requests: the methods SIPp sends that are counted as requests
        (the us/req denominator), per_call: how many per call (for the
        notes); nominal_msgs: {role: SIP messages it receives per call
        without retransmissions}; auth: (user, password) for SIPp -au/-ap."""
        self.name, self._scenario, self.ua, self.keys = name, scenario, ua, keys
        self.setup, self.requests, self.per_call = setup, requests, per_call
        self.nominal_msgs, self.auth = nominal_msgs or {}, auth
        self.fixed_rate, self.fixed_calls = fixed_rate, fixed_calls
        self.step_rates, self.extra_env = step_rates, extra_env or {}
        self.slug = re.sub(r"\W+", "-", name.lower()).strip("-")

    def scenario(self):
        return os.path.join(BENCH_DIR, self._scenario)


USERS = read_users()


def register(user):
    r = sipp(os.path.join(TEST_SIPP, "register.xml"), user, f"setup-register-{user}",
             auth=(user, USERS[user]), timeout=10)
    if not r.ok:
        raise BenchError(f"setup: REGISTER of {user} via the P-CSCF failed "
                         f"(sipp rc {r.rc}; see {r.err_file})")


def publish(user):
    r = sipp(os.path.join(TEST_SIPP, "publish.xml"), user, f"setup-publish-{user}",
             keys={"note": "bench"}, timeout=10)
    if not r.ok:
        raise BenchError(f"setup: PUBLISH of {user} failed (sipp rc {r.rc}; see {r.err_file})")


def setup_subscribe(system, arm):
    """bob may watch alice; both registered (the P-CSCF relays a SUBSCRIBE
    only from a registered contact of its From user); alice has published
    once; one call of the scenario goes through."""
    system.set_pres_rules("alice", allow=["bob"])
    register("alice")
    register("bob")
    publish("alice")
    r = sipp(arm.scenario(), arm.ua, f"{arm.slug}-setup-check", keys=arm.keys,
             auth=arm.auth, timeout=15)
    if not r.ok:
        raise BenchError(f"setup: one {arm.name} call of {arm._scenario} failed "
                         f"(sipp rc {r.rc}; see {r.err_file})")


ARMS = [
    # bob subscribes to alice and un-subscribes: 2 SUBSCRIBEs per call,
    # each with its NOTIFY; the P-CSCF receives 8 messages, the PS 4
    Arm("SUBSCRIBE", "subscribe.xml", "bob", {"presentity": "alice"},
        setup_subscribe, requests=["SUBSCRIBE"], per_call=2,
        nominal_msgs={"pcscf": 8, "ps": 4}),
]


# ---------------------------------------------------------------- main

def check_addresses_free():
    for ip in (PCSCF_IP, PS_IP):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((ip, SIP_PORT))
        except OSError as e:
            raise BenchError(f"{ip}:{SIP_PORT} is in use ({e}): is another bench running?")
        finally:
            s.close()


def run_arm(arm, provisioned):
    system = System(arm.extra_env)
    if not provisioned:
        say("provisioning build/bench-run")
        system.provision()
    say(f"{arm.name}: starting both roles")
    system.start(f"{arm.slug}")
    say(f"{arm.name}: setup")
    arm.setup(system, arm)
    fixed = row_fixed(system, arm)
    ensure_up(system, arm, f"{arm.slug}-restart")
    top = row_max(system, arm, fixed)
    system.stop()
    if not SKIP_CALLGRIND:
        fixed.ir = callgrind(system, arm)
    return fixed, top


def notes(results):
    out = []
    out.append(
        "us/req: CPU microseconds (utime+stime from /proc/<pid>/stat, all processes of the role)\n"
        "  per request the UA sent (the arm's requests, listed below); busiest: the role's single\n"
        "  busiest process. PS/P-CSCF: ratio of the totals in the same run.\n"
        "SIPp us/req: SIPp's own CPU, which shares the same cores.\n"
        f"Ir/msg: callgrind instructions inside receive_msg (SIP message path only) summed over all\n"
        f"  processes, per SIP message the role received (core rcv_requests+rcv_replies);\n"
        f"  median of {CG_REPS} runs of {CG_CALLS} calls at {CG_RATE}/s; shown on the fixed row.\n"
        f"max: highest rate with 0 failed calls, SIPp rc 0 and >= {SUSTAINED:.0%} of the target rate,\n"
        f"  {STEP_CALLS} calls per step. max/fixed: ratio of the rows above (calls/s and us/req).\n"
        f"Ratios only: {os.cpu_count()} cores shared by SIPp and both roles; absolute figures are not\n"
        "  comparable between machines or runs.")
    for arm, fixed, top in results:
        out.append(f"\n{arm.name} ({arm._scenario}; requests: {'+'.join(arm.requests)}, "
                   f"{arm.per_call} per call):")
        for r in [fixed] + top.steps:
            m = r.m if isinstance(r, Row) else r
            if not m:
                continue
            errs = {n: v["errors"] for n, v in m["roles"].items() if v["errors"]}
            out.append(
                f"  {m['tag']:<24} {m['target_rate']:>5}/s x {m['calls']}: "
                f"{m['successful']} ok, {m['failed']} failed, rc {m['rc']}, "
                f"{m['rate']:.1f}/s, {m['retrans']} retrans, call ms p50 "
                f"{m['call_ms']['p50']} p99 {m['call_ms']['p99']}, "
                f"{m['wall_s']}s; received "
                f"P-CSCF {m['roles']['pcscf']['received']} PS {m['roles']['ps']['received']}; "
                f"busiest P-CSCF '{m['roles']['pcscf']['busiest']}' PS '{m['roles']['ps']['busiest']}'"
                + "".join(f"; {n} DIED" for n in m["died"])
                + f" -> {'pass' if m['ok'] else 'FAIL'}")
            for n, kinds in errs.items():
                top3 = sorted(kinds.items(), key=lambda kv: -kv[1])[:3]
                out.append(f"    {n} log ERRORs: " + "; ".join(f"{c}x {k}" for k, c in top3))
        if fixed.ir:
            for run in fixed.ir["runs"]:
                out.append(
                    f"  callgrind run {run['rep']}: {run['successful']} ok, {run['failed']} failed, "
                    f"{run['retrans']} retrans; " + "; ".join(
                        f"{n} {v['ir']:,} Ir / {v['received']} msgs = {fmt(v['ir_per_msg'], ',.0f')}"
                        for n, v in run["roles"].items())
                    + "".join(f"; {n} DIED (run not counted)" for n in run["died"]))
            nominal = (f" ({arm.nominal_msgs.get('pcscf')} and {arm.nominal_msgs.get('ps')}"
                       " without retransmissions)") if arm.nominal_msgs else ""
            out.append(f"  received per call under callgrind: P-CSCF "
                       f"{fmt(fixed.ir['pcscf_msgs_per_call'], '.2f')}, PS "
                       f"{fmt(fixed.ir['ps_msgs_per_call'], '.2f')}{nominal}")
    return "\n".join(out)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for sub in ("logs", "sipp", "callgrind"):
        shutil.rmtree(os.path.join(OUT_DIR, sub), ignore_errors=True)
        os.makedirs(os.path.join(OUT_DIR, sub))
    check_addresses_free()
    results = []
    provisioned = False
    for arm in ARMS:
        fixed, top = run_arm(arm, provisioned)
        provisioned = True
        results.append((arm, fixed, top))
    lines = []
    for arm, fixed, top in results:
        lines += [fixed, top]
        lines.append(ratio_line(f"{arm.name} max/fixed", top, fixed))
    text = (f"make bench: {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, "
            f"load average before: {BEFORE_LOAD}\n\n" + table(lines) + "\n\n" + notes(results) + "\n")
    with open(os.path.join(OUT_DIR, "results.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
        json.dump([{"arm": a.name, "fixed": fx.m, "max": tp.m, "steps": tp.steps,
                    "callgrind": fx.ir} for a, fx, tp in results], f, indent=1)
    print()
    print(text, end="")
    say(f"done; table in {os.path.relpath(os.path.join(OUT_DIR, 'results.txt'), TOP)}")
    rc = 0
    bad = [a.name for a, fx, tp in results
           if not SKIP_CALLGRIND and (not fx.ir or fx.ir["pcscf"] is None or fx.ir["ps"] is None)]
    if bad:
        print(f"bench: no callgrind figures for {', '.join(bad)}", file=sys.stderr)
        rc = 1
    for name, during in DIED:
        print(f"bench: {name} DIED during {during} (see build/bench/logs/)", file=sys.stderr)
        rc = 1
    return rc


def on_signal(signum, frame):
    print(f"bench: signal {signum}: stopping", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


BEFORE_LOAD = " ".join(open("/proc/loadavg").read().split()[:3])

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 1
    try:
        rc = main()
    except BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        rc = 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        rc = 130
    finally:
        # the roles run in their own sessions: Ctrl-C does not reach them.
        # A second Ctrl-C must not cut this short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stop_all(5 if rc else 15)
    sys.exit(rc)
