#!/usr/bin/python3
"""`make bench`: the presence service under SIPp load.

Both roles of the real routing script (scripts/provision.sh +
scripts/role.sh) run on their own loopback addresses, 127.0.2.10 (P-CSCF)
and 127.0.2.20 (PS), with the user agents on other 127.0.2.x addresses, so
the bench never collides with `make run` (127.0.0.x) or `make test`
(127.0.1.x). Every process started here is stopped by its PID (the roles by
their process group), also on an error or Ctrl-C.

For every arm (a workload, see ARMS at the end) the bench measures:

  fixed   SIPp at a fixed call rate; CPU seconds (/proc/<pid>/schedstat,
          or utime+stime of /proc/<pid>/stat) of every process of each
          role, per request
  max     the rate stepped up with a fixed number of calls per step; the
          highest rate with no failed call, and its CPU per request
  cg      instructions (Ir) per received SIP message of each role from
          valgrind --tool=callgrind --toggle-collect=receive_msg, the
          median of CG_REPS runs

and prints one table with the ratios side by side (PS/P-CSCF, max/fixed):
two cores shared by SIPp and both roles make absolute figures meaningless
on their own. The authenticating arms (auth_db vs watcher_auth) add their
comparison, the policy cache cold and warm, policies of SIZE_RULES rules
and bench/policy_bench.c (see "watcher authentication" below).
bench/README.md describes the measures and denominators.

Knobs (environment, for a quicker or longer run): BENCH_FIXED_RATE,
BENCH_FIXED_CALLS, BENCH_STEP_RATES (comma list), BENCH_STEP_CALLS,
BENCH_REFINE_STEPS, BENCH_CG_RATE, BENCH_CG_CALLS, BENCH_CG_REPS, BENCH_CG_LIMIT,
BENCH_LOG_LEVEL, BENCH_SKIP_CALLGRIND=1, BENCH_ARMS (comma list of arm
names), BENCH_AUTH_CALLS, BENCH_AUTH_ROUNDS, BENCH_AUTH_CG_CALLS,
BENCH_AUTH_CG_RATE, BENCH_AUTH_CG_LIMIT, BENCH_AUTH_WARMUP, BENCH_COLD_CALLS,
BENCH_SKIP_SIZES=1, BENCH_SIZE_RULES, BENCH_SIZE_CALLS, BENCH_NEW_CALLS,
BENCH_COLD_SIZE_CALLS (comma lists, one value per size), BENCH_SKIP_SMIME=1,
BENCH_SMIME_ITERS, BENCH_SMIME_REPS, BENCH_SKIP_NOTIFY=1, BENCH_NOTIFY_WATCHERS,
BENCH_NOTIFY_PUBLISHES, BENCH_NOTIFY_RATE, BENCH_NOTIFY_ROUNDS,
BENCH_SKIP_PRIVACY=1, BENCH_PRIVACY_ROUNDS, BENCH_PRIVACY_CG_CALLS,
BENCH_PRIVACY_CG_RATE, BENCH_NET (the loopback /24, default 127.0.2), and
those of bench/memsub.py, bench/policy_cost.py and bench/cluster_bench.py
(`--only memsub`, `--only policycost`, `--only cluster`, BENCH_SKIP_MEMSUB=1,
BENCH_SKIP_POLICYCOST=1, BENCH_SKIP_CLUSTER=1). `bench.py
--only smime` runs the notify_smime section (bench/smime_bench.c) alone,
without Kamailio; `--only notify` its end-to-end section (PS CPU per NOTIFY,
clear against encrypted) alone; `--only privacy` the sip_privacy section
(P-CSCF CPU and instructions per message with and without it) alone.
"""
import hashlib
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
# BENCH_NET, BENCH_RUN_DIR, BENCH_OUT_DIR: another loopback net and other
# directories, for a second system run at the same time (the sip_privacy
# section runs its two arms side by side that way)
NET = os.environ.get("BENCH_NET", "127.0.2")
RUN_DIR = os.environ.get("BENCH_RUN_DIR") or os.path.join(TOP, "build", "bench-run")
OUT_DIR = os.environ.get("BENCH_OUT_DIR") or os.path.join(TOP, "build", "bench")
DOMAIN = "example.com"

if not re.fullmatch(r"127\.\d{1,3}\.\d{1,3}", NET):
    sys.exit(f"bench: BENCH_NET must be a loopback /24 like 127.0.2, not {NET!r}")
PCSCF_IP, PS_IP = f"{NET}.10", f"{NET}.20"
SIP_PORT, TLS_PORT, XCAP_PORT = 5060, 5061, 5443
UA_IP = {"alice": f"{NET}.31", "bob": f"{NET}.32", "carol": f"{NET}.33",
         "probe": f"{NET}.99"}
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
SKIP_SIZES = os.environ.get("BENCH_SKIP_SIZES") == "1"     # policy sizes and policy_bench
ONLY_ARMS = [a for a in os.environ.get("BENCH_ARMS", "").split(",") if a]   # names; all if empty
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
    """(pgrp, CPU seconds) of a process, or None if gone. The CPU time is
    the scheduler's own count of nanoseconds on a CPU (user + system,
    /proc/<pid>/schedstat, first field) where the kernel has it; otherwise
    utime + stime of /proc/<pid>/stat, which counts in clock ticks (10 ms):
    too coarse for the per-segment figures of the authenticating arms."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15
    if SCHEDSTAT:
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                return int(fields[2]), int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / CLK_TCK


SCHEDSTAT = os.path.exists("/proc/self/schedstat")


def group_cpu(pgid):
    """{pid: CPU seconds} of every process in the process group pgid."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(d)
            if st and st[0] == pgid:
                out[int(d)] = st[1]
    return out


class Role:
    """One Kamailio role, started by scripts/role.sh in its own session, so
    that its processes form one process group led by the main PID."""

    def __init__(self, name, ip, env, args=()):
        """args: extra kamailio arguments (e.g. -f FILE: the last -f wins),
        appended by bench/kamailio-args.sh."""
        self.name, self.ip, self.env, self.args = name, ip, env, list(args)
        self.ctl = f"unix:{RUN_DIR}/{name}/kamailio_ctl"
        self.proc = None
        self.log = None

    def start(self, log_path, wrapper=None):
        env = dict(self.env)
        env.pop("KAMAILIO_WRAPPER", None)
        env.pop("BENCH_KAMAILIO_ARGS", None)
        if self.args:
            env["BENCH_KAMAILIO_ARGS"] = "\n".join(self.args)
            wrapper = os.path.join(BENCH_DIR, "kamailio-args.sh") + (" " + wrapper if wrapper else "")
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
        """{pid: CPU seconds} of every process in the role's process group."""
        return group_cpu(self.pid)

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

    def __init__(self, extra_env=None, role_args=None):
        """role_args: {role name: extra kamailio arguments}."""
        self.env = dict(os.environ, PCSCF_IP=PCSCF_IP, PS_IP=PS_IP,
                        SIP_PORT=str(SIP_PORT), TLS_PORT=str(TLS_PORT),
                        XCAP_PORT=str(XCAP_PORT), LOG_LEVEL=str(LOG_LEVEL))
        self.env.update(extra_env or {})
        role_args = role_args or {}
        self.pcscf = Role("pcscf", PCSCF_IP, self.env, role_args.get("pcscf", ()))
        self.ps = Role("ps", PS_IP, self.env, role_args.get("ps", ()))
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
        self.write_pres_rules(user, xml)

    def write_pres_rules(self, user, xml):
        """A pres-rules document, with a fresh etag, into the PS's xcap
        table; a running PS with watcher_auth drops its cached copy."""
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
         limit=None, extra=(), dst=None):
    """One SIPp run as user, to the P-CSCF (or dst, "ip:port")."""
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
    cmd.append(dst or f"{PCSCF_IP}:{SIP_PORT}")
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
               auth=arm.auth, timeout=int(calls / rate) + 60, extra=arm.sipp_extra)
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
            "cpu_s": sum(delta.values()),
            "busiest_cpu_s": delta[busiest] if busiest else 0.0,
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


def callgrind_whole(system, arm):
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
                   limit=CG_LIMIT, extra=["-nr"] + arm.sipp_extra)
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
    ("row", -28, lambda r: r.label),
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
                 fixed_calls=FIXED_CALLS, step_rates=STEP_RATES, extra_env=None,
                 role_args=None, sipp_extra=(), callgrind=None, cold=False, prepare=None,
                 interleave=False, cg_reps=CG_REPS):
        """requests: the methods SIPp sends that are counted as requests
        (the us/req denominator), per_call: how many per call (for the
        notes); nominal_msgs: {role: SIP messages it receives per call
        without retransmissions}; auth: (user, password) for SIPp -au/-ap;
        step_rates: empty for no "max" row; role_args: a function giving
        {role: extra kamailio arguments}, called when the arm starts;
        sipp_extra: more SIPp arguments; callgrind: the function measuring
        the instructions (default callgrind_whole(): both roles, whole run);
        cold: measure the cold policy cache too (cg_auth); prepare: called
        before the roles start; interleave: the fixed row is measured in
        AUTH_ROUNDS segments alternating with the other interleaved arms
        (run_interleaved), which have no max row; cg_reps: its callgrind
        runs (cg_auth)."""
        self.name, self._scenario, self.ua, self.keys = name, scenario, ua, keys
        self.setup, self.requests, self.per_call = setup, requests, per_call
        self.nominal_msgs, self.auth = nominal_msgs or {}, auth
        self.fixed_rate, self.fixed_calls = fixed_rate, fixed_calls
        self.step_rates, self.extra_env = step_rates, extra_env or {}
        self.role_args = role_args or (lambda: {})
        self.sipp_extra = list(sipp_extra)
        self.callgrind = callgrind or callgrind_whole
        self.cold, self.prepare, self.interleave = cold, prepare, interleave
        self.cg_reps = min(cg_reps, CG_REPS)
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
             auth=arm.auth, timeout=15, extra=arm.sipp_extra)
    if not r.ok:
        raise BenchError(f"setup: one {arm.name} call of {arm._scenario} failed "
                         f"(sipp rc {r.rc}; see {r.err_file})")


# ---------------------------------------------------------------- watcher authentication
#
# Two arms with the same scenario (bench/subscribe_auth.xml: a fetch,
# Expires 0, challenged once and answered with digest) and the same rate:
# "auth_db", the PS authenticating every SUBSCRIBE with stock auth_db
# (www_authorize against the subscriber table, -A BENCH_AUTH_DB), and
# "watcher_auth", the PS as shipped, authenticating bob as alice's
# pres-rules demand. Both use MD5 with qop=auth. Their callgrind runs put
# only the PS under valgrind and measure phases between dumps
# (callgrind_control -d): a warm-up that is thrown away, then the load; for
# watcher_auth also the cold cache. A third session measures policies of
# SIZE_RULES rules, and bench/policy_bench.c the policy engine alone.

AUTH_CALLS = knob("AUTH_CALLS", 1500)        # fixed row, at FIXED_RATE, in AUTH_ROUNDS segments
AUTH_ROUNDS = knob("AUTH_ROUNDS", 6)
AUTH_CG_CALLS = knob("AUTH_CG_CALLS", 40)    # per callgrind run
AUTH_CG_RATE = knob("AUTH_CG_RATE", 10)
AUTH_CG_LIMIT = knob("AUTH_CG_LIMIT", 2)
AUTH_WARMUP = knob("AUTH_WARMUP", 8)         # calls per warm-up round (4 at once)
COLD_CALLS = knob("COLD_CALLS", 8)           # one at a time, reload before each
SIZE_RULES = [int(n) for n in os.environ.get("BENCH_SIZE_RULES", "1,100,1000").split(",")]
SIZE_CALLS = [int(n) for n in os.environ.get("BENCH_SIZE_CALLS", "20,20,20").split(",")]
NEW_CALLS = [int(n) for n in os.environ.get("BENCH_NEW_CALLS", "4,4,3").split(",")]
COLD_SIZE_CALLS = [int(n) for n in os.environ.get("BENCH_COLD_SIZE_CALLS", "4,4,3").split(",")]
MICRO_ITERS = {1: 200, 100: 10, 1000: 2}     # policy_bench; eval runs 100 times as many
TARGET = 1.10                                # watcher_auth / auth_db, Ir and PS CPU
AUTH_SIPP = ["-auth_uri", f"alice@{DOMAIN}"]
AUTH_KEYS = {"presentity": "alice", "expires": "0"}
WATCHER_SECRET = "bench-secret-of-bob"
WATCHER_HA1 = hashlib.md5(f"bob@{DOMAIN}:alice@{DOMAIN}:{WATCHER_SECRET}".encode()).hexdigest()
# the largest policy does not fit watcher_auth's defaults (65536 bytes, 256
# rules): the size session's PS gets these two lines after loadmodule
# "watcher_auth.so" (Kamailio's --modparam only reaches modules loaded before
# the cfg, and etc/ps.cfg has no define for them)
SIZE_MODPARAMS = ['modparam("watcher_auth", "max_policy_size", 4194304)',
                  'modparam("watcher_auth", "max_policy_rules", 100000)']

PS_NS = ('xmlns:cr="urn:ietf:params:xml:ns:common-policy" '
         'xmlns:pr="urn:ietf:params:xml:ns:pres-rules" '
         'xmlns:ps="urn:x-presence-security:rules"')
TRANSFORMATIONS = ("<cr:transformations><pr:provide-services><pr:all-services/>"
                   "</pr:provide-services><pr:provide-persons><pr:all-persons/>"
                   "</pr:provide-persons><pr:provide-devices><pr:all-devices/>"
                   "</pr:provide-devices><pr:provide-all-attributes/>"
                   "</cr:transformations>")


def auth_policy(n_rules):
    """alice's pres-rules of n_rules rules written as test/e2e's policy()
    writes them: n_rules - 1 rules allowing other watchers
    (sip:w<i>@example.com), then bob's, last: allow, and digest with an MD5
    ha1. watcher_auth evaluates every rule anyway; presence_xml stops at the
    first match, so bob last makes it go through all of them too."""
    def rule(i, watcher, auth=""):
        return (f'<cr:rule id="r{i}"><cr:conditions><cr:identity>'
                f'<cr:one id="sip:{watcher}@{DOMAIN}"/></cr:identity></cr:conditions>'
                f"<cr:actions><pr:sub-handling>allow</pr:sub-handling>{auth}"
                f"</cr:actions>{TRANSFORMATIONS}</cr:rule>")
    rules = [rule(i, f"w{i}") for i in range(1, n_rules)]
    rules.append(rule(n_rules, "bob", f'<ps:authenticate method="digest" ha1="{WATCHER_HA1}"/>'))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset {PS_NS}>'
            + "".join(rules) + "</cr:ruleset>")


AUTHDB_CFG_NOTE = []   # what the auth_db arm ran from, for the notes


def ps_cfg_copy(tag, text):
    """etc/*.cfg copied to build/bench-run/cfg-<tag>/ with ps.cfg replaced
    by text; the PS arguments that make the PS use it (the last -f wins)."""
    d = os.path.join(RUN_DIR, f"cfg-{tag}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name in os.listdir(os.path.join(TOP, "etc")):
        if name.endswith(".cfg") and name != "ps.cfg":
            shutil.copy(os.path.join(TOP, "etc", name), d)
    with open(os.path.join(d, "ps.cfg"), "w") as f:
        f.write(text)
    return ["-f", os.path.join(d, "ps.cfg")]


def size_role_args():
    """The size session's PS: etc/ps.cfg plus SIZE_MODPARAMS."""
    with open(os.path.join(TOP, "etc", "ps.cfg")) as f:
        text = f.read()
    anchor = 'loadmodule "watcher_auth.so"\n'
    if text.count(anchor) != 1:
        raise BenchError(f"etc/ps.cfg: no single line {anchor.strip()} to add the size limits after")
    return {"ps": ps_cfg_copy("size", text.replace(anchor, anchor + "".join(
        line + "\n" for line in SIZE_MODPARAMS)))}


def authdb_role_args():
    """etc/ps.cfg started with -A BENCH_AUTH_DB still calls
    handle_subscribe("$wauth(identity)"): without watcher_auth_check() that
    variable is $null, presence fails ("failed to parse watcher URI") and
    the authenticated SUBSCRIBE is never answered. While that call stands
    outside any #!ifdef, the arm's PS runs from a copy of etc/ (in
    build/bench-run/cfg-authdb) where that one call is handle_subscribe("$fu"),
    the same watcher (bob's From, which the P-CSCF asserts); the rest is
    byte for byte etc/. Once etc/ps.cfg handles it, etc/ps.cfg is used."""
    src = os.path.join(TOP, "etc", "ps.cfg")
    old, new = 'handle_subscribe("$wauth(identity)")', 'handle_subscribe("$fu")'
    out, depth, n = [], 0, 0
    with open(src) as f:
        for line in f:
            t = line.strip()
            if t.startswith(("#!ifdef", "#!ifndef")):
                depth += 1
            elif t.startswith("#!endif"):
                depth -= 1
            if depth == 0 and old in line and not t.startswith("#"):
                line = line.replace(old, new)
                n += 1
            out.append(line)
    AUTHDB_CFG_NOTE.clear()
    if n == 0:
        AUTHDB_CFG_NOTE.append("auth_db arm: PS from etc/ps.cfg -A BENCH_AUTH_DB")
        return {}
    args = ps_cfg_copy("authdb", "".join(out))
    AUTHDB_CFG_NOTE.append(
        "auth_db arm: etc/ps.cfg -A BENCH_AUTH_DB calls handle_subscribe(\"$wauth(identity)\"),\n"
        "  $null without watcher_auth_check(): presence logs 'failed to parse watcher URI' and never\n"
        "  answers. The arm's PS ran from build/bench-run/cfg-authdb/ps.cfg, a copy of etc/ps.cfg with that\n"
        f"  call ({n}x) as handle_subscribe(\"$fu\") (the same watcher, bob), nothing else changed.")
    say("auth_db: etc/ps.cfg passes $wauth(identity), $null under BENCH_AUTH_DB: "
        "the PS runs from build/bench-run/cfg-authdb/ps.cfg with handle_subscribe(\"$fu\")")
    return {"ps": args}


def clear_publications():
    """alice's publications dropped from the PS's presentity table while
    the PS is stopped: each arm's setup publishes once, and a NOTIFY body
    aggregates every publication left, so without this a later arm would
    build its NOTIFYs from more documents than an earlier one."""
    db = sqlite3.connect(os.path.join(RUN_DIR, "ps", "ps.db"), timeout=5)
    with db:
        db.execute("DELETE FROM presentity WHERE username = ? AND domain = ?", ("alice", DOMAIN))
    db.close()
    settle_db()


def setup_auth(system, arm):
    """alice's 1-rule policy (bob allowed, digest demanded; under auth_db
    the same document, which presence_xml reads the same way), alice and
    bob registered, alice published, one call of the scenario through."""
    system.write_pres_rules("alice", auth_policy(1))
    register("alice")
    register("bob")
    publish("alice")
    r = sipp(arm.scenario(), arm.ua, f"{arm.slug}-setup-check", keys=arm.keys,
             auth=arm.auth, timeout=15, extra=arm.sipp_extra)
    if not r.ok:
        raise BenchError(f"setup: one {arm.name} call of {arm._scenario} failed "
                         f"(sipp rc {r.rc}; see {r.err_file})")


# ---- callgrind output: totals and inclusive costs

# Inclusive Ir per authenticated SUBSCRIBE of these functions (summed over
# the names of a group) are printed per phase; the names are what
# callgrind shows for Debian's kamailio (dynamic symbols only) and for the
# project's modules (built with -g).
PROFILE = [
    ("watcher_auth", ["w_watcher_auth_check"]),
    ("wa: store queries", ["wa_store_etag", "wa_store_fetch"]),
    ("wa: policy compile", ["wa_policy_compile"]),
    ("wa: policy eval", ["wa_policy_eval"]),
    ("wa: digest check", ["wa_digest_check"]),
    ("auth_db", ["www_authenticate", "auth_challenge_hftype"]),
    ("presence_xml", ["pres_watcher_allowed", "pres_apply_auth", "get_rules_doc"]),
    ("handle_subscribe", ["handle_subscribe"]),
    ("NOTIFY body", ["get_p_notify_body"]),
    ("db_sqlite queries", ["db_sqlite_query"]),
    # the P-CSCF's script functions of sip_privacy (its own instructions,
    # whatever the message) and topos
    ("sip_privacy", ["w_sp_privacy_apply", "w_sp_assert_identity", "w_sp_strip_pai",
                     "w_sp_trusted_dst", "w_sp_trusted_src", "w_sp_privacy_id"]),
    ("topos", ["tps_msg_received", "tps_msg_sent"]),
]
PROFILE_CALLS = ["get_rules_doc", "pres_watcher_allowed", "pres_apply_auth", "xmlParseMemory",
                 "wa_policy_compile", "wa_policy_eval", "sqlite3_prepare_v2", "sqlite3_step"]


def cg_parse(path):
    """(self Ir by function, inclusive Ir of calls (caller, callee), call
    counts (caller, callee), totals) of one callgrind output file."""
    names, self_ir, call_ir, call_n = {}, {}, {}, {}
    fn = cfn = None
    pending = None
    total = summary = None

    def name(spec):
        m = re.match(r"\((\d+)\)\s*(.*)", spec)
        if not m:
            return spec.strip()
        if m.group(2):
            names[m.group(1)] = m.group(2).strip()
        return names.get(m.group(1), m.group(1))
    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending is not None:
                    call_ir[(fn, cfn)] = call_ir.get((fn, cfn), 0) + ir
                    call_n[(fn, cfn)] = call_n.get((fn, cfn), 0) + pending
                    pending = None
                else:
                    self_ir[fn] = self_ir.get(fn, 0) + ir
            elif line.startswith("fn="):
                fn = name(line[3:])
            elif line.startswith("cfn="):
                cfn = name(line[4:])
            elif line.startswith("calls="):
                pending = int(line[6:].split()[0])
            elif line.startswith("totals:"):
                total = int(line.split()[1])
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
    return self_ir, call_ir, call_n, (total if total is not None else (summary or 0))


def cg_profile(files):
    """Total Ir, inclusive Ir by PROFILE group and calls of PROFILE_CALLS,
    summed over files; and per file {name: (Ir, calls of handle_subscribe,
    Ir of SQLite schema loads)}: a connection's first query reads the
    schema (sqlite3Init), a one-off of each process and module."""
    total, incl, calls, per_file = 0, {}, {}, {}

    def inclusive(self_ir, call_ir, fns):
        return sum(self_ir.get(fn, 0) for fn in fns) + sum(
            ir for (a, b), ir in call_ir.items() if a in fns and b != a)
    for path in files:
        self_ir, call_ir, call_n, t = cg_parse(path)
        total += t
        for group, fns in PROFILE:
            incl[group] = incl.get(group, 0) + inclusive(self_ir, call_ir, fns)
        for callee in PROFILE_CALLS:
            calls[callee] = calls.get(callee, 0) + sum(
                n for (a, b), n in call_n.items() if b == callee and a != callee)
        per_file[os.path.basename(path)] = (
            t, sum(n for (a, b), n in call_n.items() if b == "handle_subscribe" and a != b),
            sum(ir for (a, b), ir in call_ir.items() if b == "sqlite3Init" and a != b))
    return total, incl, calls, per_file


# ---- callgrind sessions with phases

class CgSession:
    """The roles in `roles` under callgrind (collecting inside receive_msg
    only), the others natively. measure() runs one phase: the counters of
    every SIP receiver process are dumped (and zeroed) after it, so each
    phase has its own files."""

    def __init__(self, system, tag, roles=("ps",)):
        self.system, self.tag, self.roles = system, tag, roles
        self.dir = os.path.join(OUT_DIR, "callgrind", tag)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.phases = 0

    def start(self):
        def wrapper(role):
            if role not in self.roles:
                return None
            return ("valgrind --tool=callgrind --trace-children=yes "
                    "--toggle-collect=receive_msg "
                    f"--callgrind-out-file={self.dir}/{role}.%p")
        t = time.monotonic()
        self.system.start(self.tag, wrapper)
        say(f"  {self.tag}: {', '.join(self.roles)} under valgrind, ready after "
            f"{time.monotonic() - t:.0f}s")

    def receivers(self, role):
        return sorted(pid for pid, dsc in self.system.names[role].items() if "receiver" in dsc)

    def dump(self, label):
        self.phases += 1
        files = {}
        for role in self.roles:
            pids = self.receivers(role)
            if not pids:
                raise BenchError(f"no SIP receiver process of {role} found (core.psx)")
            p = subprocess.run(["callgrind_control", "-d", label] + [str(x) for x in pids],
                               capture_output=True, text=True, timeout=120)
            got = [os.path.join(self.dir, f"{role}.{pid}.{self.phases}") for pid in pids]
            missing = [g for g in got if not os.path.exists(g)]
            if p.returncode != 0 or missing:
                raise BenchError(f"callgrind_control -d failed for {role} (rc {p.returncode}, "
                                 f"{len(missing)} dump files missing): {p.stderr.strip()[-300:]}")
            files[role] = got
        return files

    def measure(self, label, run, strict=True):
        """run() -> (successful calls, failed calls, SIPp ok, retransmissions);
        returns the phase's figures. The phase is valid when every call went
        through without a SIPp retransmission and the PS received exactly
        its 3 messages per call (strict) or at least those (not strict: a
        PS slow under valgrind gets the P-CSCF's retransmissions)."""
        ps = self.system.ps
        m0 = {r.name: r.received() for r in self.system.roles}
        st0 = wa_stats(ps)
        ok_calls, failed, sipp_ok, retrans = run()
        check_modules()
        died = [r.name for r in self.system.roles if not r.alive()]
        for name in died:
            DIED.append((name, f"{self.tag} {label}"))
        if died:
            return {"label": label, "died": died, "calls": ok_calls, "failed": failed}
        m1 = {r.name: r.received() for r in self.system.roles}
        st1 = wa_stats(ps)
        files = self.dump(label)
        out = {"label": label, "died": [], "calls": ok_calls, "failed": failed,
               "sipp_ok": sipp_ok, "retrans": retrans,
               "received": {n: m1[n] - m0[n] for n in m1},
               "wa_stats": {k: st1.get(k, 0) - st0.get(k, 0) for k in st1}, "roles": {}}
        out["files"] = {}
        for role, fl in files.items():
            total, incl, calls, per_file = cg_profile(fl)
            out["files"].update(per_file)
            n_msgs = out["received"][role]
            out["roles"][role] = {
                "ir": total, "files": len(fl),
                "ir_per_msg": total / n_msgs if n_msgs else None,
                "ir_per_call": total / ok_calls if ok_calls else None,
                "incl_per_call": {g: v / ok_calls for g, v in incl.items()} if ok_calls else {},
                "calls_per_call": {g: v / ok_calls for g, v in calls.items()} if ok_calls else {}}
        rcv = out["received"]["ps"]
        out["valid"] = (failed == 0 and sipp_ok and ok_calls > 0 and retrans == 0
                        and (rcv == 3 * ok_calls if strict else rcv >= 3 * ok_calls))
        out["schema_loads_ir"] = sum(v[2] for v in out["files"].values())
        ps_fig = out["roles"].get("ps", {})
        say(f"    {label}: {ok_calls} ok, {failed} failed, {retrans} retrans, PS received "
            f"{out['received']['ps']}; PS {fmt(ps_fig.get('ir'), ',')} Ir = "
            f"{fmt(ps_fig.get('ir_per_call'), ',.0f')} per call; watcher_auth stats "
            + ", ".join(f"{k} {v}" for k, v in out["wa_stats"].items() if v)
            + ("" if out["valid"] else " (NOT VALID: not counted)"))
        return out

    def warmup(self, run, rounds=5):
        """Warm-up phases (thrown away) until every UDP receiver of the PS
        has handled an accepted SUBSCRIBE (handle_subscribe: its database
        connections have made their first queries, which read the SQLite
        schema), so that no process's one-off costs fall into a measured
        phase; at most rounds phases."""
        names = self.system.names["ps"]
        udp = [pid for pid, dsc in names.items() if "udp receiver" in dsc] or self.receivers("ps")
        subs = {pid: 0 for pid in udp}
        phases = []
        for i in range(1, rounds + 1):
            ph = self.measure(f"warmup{i}", run)
            phases.append(ph)
            if ph["died"]:
                break
            for f, (ir, n, _) in ph["files"].items():
                pid = int(f.split(".")[1])
                if pid in subs:
                    subs[pid] += n
            if all(subs.values()):
                break
        else:
            say("    warm-up: UDP receivers without an accepted SUBSCRIBE: " +
                ", ".join(str(p) for p, v in subs.items() if not v))
        return phases

    def stop(self):
        """Every phase is in its dump files already: what callgrind writes
        at exit is not needed, so a process slow to exit (seen once: the
        main process waiting a minute for a child) is killed after 10 s."""
        t = time.monotonic()
        self.system.stop(10)
        say(f"  {self.tag}: stopped in {time.monotonic() - t:.0f}s")


def wa_stats(ps):
    text = ps.rpc("stats.get_statistics", "watcher_auth:") or ""
    return {k: int(v) for k, v in re.findall(r"watcher_auth:(\w+) = (\d+)", text)}


def sipp_run(arm, tag, calls, rate, limit, timeout=None):
    """The arm's scenario for calls calls, without retransmissions."""
    res = sipp(arm.scenario(), arm.ua, tag, calls=calls, rate=rate, keys=arm.keys,
               auth=arm.auth, timeout=timeout or int(calls / rate) + 90, limit=limit,
               extra=["-nr"] + arm.sipp_extra)
    return res.successful, res.failed, res.rc == 0, res.retrans


def cold_run(system, arm, tag, calls):
    """calls calls one at a time, alice's cached policy dropped
    (watcher_auth.reload over ctl, not a SIP message) before each: the
    first SUBSCRIBE of every call misses the cache (etag query, document
    query, compile), the second finds it."""
    ok = failed = retrans = 0
    sipp_ok = True
    for i in range(calls):
        if system.ps.rpc("watcher_auth.reload", f"sip:alice@{DOMAIN}") is None:
            raise BenchError("watcher_auth.reload failed")
        res = sipp(arm.scenario(), arm.ua, f"{tag}-{i + 1}", calls=1, keys=arm.keys,
                   auth=arm.auth, timeout=60, extra=["-nr"] + arm.sipp_extra)
        ok += res.successful
        failed += res.failed
        retrans += res.retrans
        sipp_ok = sipp_ok and res.rc == 0
    return ok, failed, sipp_ok, retrans


def cg_auth_run(system, arm, rep):
    """One callgrind session with fresh processes, the PS under callgrind:
    warm-up calls until every UDP receiver has worked (not counted: they
    fill the policy cache and take the processes' one-off costs), then
    AUTH_CG_CALLS calls measured ("warm"); for watcher_auth then COLD_CALLS
    calls with the policy dropped before each ("cold")."""
    say(f"{arm.name}: callgrind run {rep}/{arm.cg_reps}")
    settle_db()
    sess = CgSession(system, f"{arm.slug}-cg{rep}")
    sess.start()
    run = {"rep": rep, "phases": {}}
    try:
        for ph in sess.warmup(lambda: sipp_run(arm, f"{arm.slug}-cg{rep}-warmup", AUTH_WARMUP,
                                               AUTH_CG_RATE * 2, 4)):
            run["phases"][ph["label"]] = ph
        phases = [("warm", lambda: sipp_run(arm, f"{arm.slug}-cg{rep}", AUTH_CG_CALLS,
                                            AUTH_CG_RATE, AUTH_CG_LIMIT))]
        if arm.cold:
            phases.append(("cold", lambda: cold_run(system, arm, f"{arm.slug}-cg{rep}-cold",
                                                    COLD_CALLS)))
        for label, fn in phases:
            ph = sess.measure(label, fn)
            run["phases"][label] = ph
            if ph["died"]:
                break
    finally:
        sess.stop()
    return run


def cg_auth_summary(runs):
    out = {"runs": runs, "pcscf": None}
    for label in ("warm", "cold"):
        out[label] = phase_summary([r["phases"][label] for r in runs if label in r["phases"]])
    out["ps"] = out["warm"]["ir_per_msg"]    # the main table's "PS Ir/msg"
    return out


def cg_auth(system, arm):
    """arm.cg_reps runs of cg_auth_run (run_interleaved interleaves the
    runs of its arms instead)."""
    return cg_auth_summary([cg_auth_run(system, arm, rep) for rep in range(1, arm.cg_reps + 1)])


def settle_db():
    """The PS's SQLite WAL checkpointed and truncated (the PS is stopped),
    so that every session starts from the same state of the file."""
    db = sqlite3.connect(os.path.join(RUN_DIR, "ps", "ps.db"), timeout=5)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def phase_summary(phases):
    """Medians over the valid phases: PS Ir per call, inclusive Ir per
    PROFILE group and calls of PROFILE_CALLS per call."""
    ok = [p for p in phases if p.get("valid")]
    return {
        "n": len(ok), "of": len(phases),
        "ir_per_call": median([p["roles"]["ps"]["ir_per_call"] for p in ok]),
        "ir_per_msg": median([p["roles"]["ps"]["ir_per_msg"] for p in ok]),
        "incl_per_call": {g: median([p["roles"]["ps"]["incl_per_call"][g] for p in ok])
                          for g, _ in PROFILE} if ok else {},
        "calls_per_call": {g: median([p["roles"]["ps"]["calls_per_call"][g] for p in ok])
                           for g in PROFILE_CALLS} if ok else {},
    }


def new_watcher_run(system, arm, tag, calls):
    """calls calls one at a time, bob's row in the PS's watchers table
    deleted before each: presence then has no stored decision for him and
    asks presence_xml (get_rules_doc, pres_watcher_allowed), as for a
    watcher's first subscription. watcher_auth's cache stays warm."""
    ok = failed = retrans = 0
    sipp_ok = True
    for i in range(calls):
        db = sqlite3.connect(os.path.join(RUN_DIR, "ps", "ps.db"), timeout=5)
        with db:
            db.execute("DELETE FROM watchers WHERE presentity_uri = ?", (f"sip:alice@{DOMAIN}",))
        db.close()
        res = sipp(arm.scenario(), arm.ua, f"{tag}-{i + 1}", calls=1, keys=arm.keys,
                   auth=arm.auth, timeout=60, extra=["-nr"] + arm.sipp_extra)
        ok += res.successful
        failed += res.failed
        retrans += res.retrans
        sipp_ok = sipp_ok and res.rc == 0
    return ok, failed, sipp_ok, retrans


def policy_sizes():
    """One session, the PS under callgrind (SIZE_MODPARAMS), for each size
    in SIZE_RULES: alice's policy of that size written (fresh etag);
    COLD_SIZE_CALLS calls with the policy dropped before each ("cold",
    cold_run: the first SUBSCRIBE of each compiles it); SIZE_CALLS calls with bob known
    to presence (its watchers table holds his status: "known"); NEW_CALLS
    calls with bob's watchers row deleted before each ("new"). The
    processes are warmed up once, on the first size."""
    system = System({}, size_role_args())
    arm = AUTH_ARMS["watcher_auth"]
    settle_db()
    sess = CgSession(system, "policy-size")
    out = {}
    say(f"policy size: {', '.join(map(str, SIZE_RULES))} rules, PS under callgrind")
    system.write_pres_rules("alice", auth_policy(SIZE_RULES[0]))
    sess.start()
    try:
        sess.warmup(lambda: sipp_run(arm, "size-warmup", AUTH_WARMUP, AUTH_CG_RATE * 2, 4))
        for n, calls, new_calls, cold_calls in zip(SIZE_RULES, SIZE_CALLS, NEW_CALLS, COLD_SIZE_CALLS):
            xml = auth_policy(n)
            system.write_pres_rules("alice", xml)
            res = {"rules": n, "bytes": len(xml.encode()), "phases": []}
            out[n] = res
            for label, fn, strict in [
                    ("cold", lambda: cold_run(system, arm, f"size{n}-cold", cold_calls), False),
                    ("known", lambda: sipp_run(arm, f"size{n}-known", calls, AUTH_CG_RATE, 1,
                                               timeout=calls * 30 + 60), True),
                    ("new", lambda: new_watcher_run(system, arm, f"size{n}-new", new_calls), False)]:
                ph = sess.measure(f"rules{n}-{label}", fn, strict)
                ph["kind"] = label
                res["phases"].append(ph)
                res[label] = phase_summary([ph])
                if ph["died"]:
                    return out
    finally:
        sess.stop()
    return out


# lib/sip_canon.c: the SIP identity canonicalization of policy.c and cert.c
LIB_CANON = os.path.join(TOP, "lib", "sip_canon.c")


def build_micro(name, d, module, srcs, pkgs):
    """bench/<name>.c built into the emptied folder d against the pure C
    files srcs of modules/<module> (an absolute path: a shared file of lib/,
    LIB_CANON) (-O2 -g, as the module) and the pkg-config packages pkgs;
    the binary's path."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    binary = os.path.join(d, name)
    mod = os.path.join(TOP, "modules", module)
    pkg = subprocess.run(["pkg-config", "--cflags", "--libs", pkgs],
                         capture_output=True, text=True, check=True).stdout.split()
    cmd = ([os.environ.get("CC", "gcc"), "-std=gnu11", "-O2", "-g", "-Wall",
            "-I" + mod, "-I" + os.path.join(TOP, "lib"), "-o", binary, os.path.join(BENCH_DIR, f"{name}.c")]
           + [os.path.join(mod, x) for x in srcs] + pkg)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError(f"bench/{name}.c does not build:\n{' '.join(cmd)}\n{p.stderr}")
    return binary


def policy_micro():
    """bench/policy_bench.c, built against modules/watcher_auth/policy.c
    and libxml2 (as test/unit/run.sh builds unit tests, with the module's
    -O2 instead of the sanitizers), run under callgrind on the documents of
    SIZE_RULES; per operation: Ir of its loop / iterations."""
    d = os.path.join(OUT_DIR, "policy_bench")
    binary = build_micro("policy_bench", d, "watcher_auth", ["policy.c", LIB_CANON],
                         "libxml-2.0")
    args, iters = [], {}
    for n in SIZE_RULES:
        path = os.path.join(d, f"rules{n}.xml")
        with open(path, "w") as f:
            f.write(auth_policy(n))
        iters[n] = MICRO_ITERS.get(n, max(1, 1000 // n))
        args += [path, str(iters[n])]
    out_file = os.path.join(d, "callgrind.out")
    t = time.monotonic()
    p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                        binary, f"sip:bob@{DOMAIN}"] + args,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise BenchError(f"policy_bench failed (rc {p.returncode}):\n{p.stdout}{p.stderr[-2000:]}")
    say(f"policy_bench under callgrind: {time.monotonic() - t:.0f}s")
    out = {}
    for f in os.listdir(d):
        if not re.match(r"callgrind\.out\.\d+$", f):
            continue
        path = os.path.join(d, f)
        with open(path, errors="replace") as fh:
            head = fh.read(4096)
        m = re.search(r"desc: Trigger: Client Request: (\w+) (\S+)", head)
        if not m:
            continue
        kind, doc = m.group(1), m.group(2)
        n = int(re.search(r"rules(\d+)\.xml$", doc).group(1))
        div = iters[n] * (100 if kind == "eval" else 1)
        out.setdefault(n, {})[kind] = cg_total(path) / div
    for n in SIZE_RULES:
        out.setdefault(n, {})["bytes"] = len(auth_policy(n).encode())
    return out


ARMS = [
    # bob subscribes to alice and un-subscribes: 2 SUBSCRIBEs per call,
    # each with its NOTIFY; the P-CSCF receives 8 messages, the PS 4
    Arm("SUBSCRIBE", "subscribe.xml", "bob", {"presentity": "alice"},
        setup_subscribe, requests=["SUBSCRIBE"], per_call=2,
        nominal_msgs={"pcscf": 8, "ps": 4}),
    # bob fetches alice's presence (Expires 0), challenged once: 2
    # SUBSCRIBEs (the second with Authorization) and 1 NOTIFY per call; the
    # P-CSCF receives 6 messages, the PS 3. Same scenario, rate and
    # document; stock auth_db (realm example.com, bob's registration
    # password) ...
    Arm("auth_db", "subscribe_auth.xml", "bob", AUTH_KEYS, setup_auth,
        requests=["SUBSCRIBE"], per_call=2, nominal_msgs={"pcscf": 6, "ps": 3},
        auth=("bob", USERS["bob"]), fixed_calls=AUTH_CALLS, step_rates=[],
        extra_env={"EXTRA_DEFINES": "BENCH_AUTH_DB"}, role_args=authdb_role_args,
        sipp_extra=AUTH_SIPP, callgrind=cg_auth, prepare=clear_publications, interleave=True),
    # ... versus watcher_auth (realm alice@example.com, the ha1 of alice's
    # policy), and its cold cache
    Arm("watcher_auth", "subscribe_auth.xml", "bob", AUTH_KEYS, setup_auth,
        requests=["SUBSCRIBE"], per_call=2, nominal_msgs={"pcscf": 6, "ps": 3},
        auth=(f"bob@{DOMAIN}", WATCHER_SECRET), fixed_calls=AUTH_CALLS, step_rates=[],
        sipp_extra=AUTH_SIPP, callgrind=cg_auth, cold=True, prepare=clear_publications,
        interleave=True),
]
# ... and watcher_auth checking the row's etag on every SUBSCRIBE (cache_ttl
# 0: no trusted copy), instructions only (no CPU row), where etc/ps.cfg
# takes the cache_ttl from the define POLICY_CACHE_TTL
if "POLICY_CACHE_TTL" in open(os.path.join(TOP, "etc", "ps.cfg")).read():
    ARMS.append(
        Arm("watcher_auth_ttl0", "subscribe_auth.xml", "bob", AUTH_KEYS, setup_auth,
            requests=["SUBSCRIBE"], per_call=2, nominal_msgs={"pcscf": 6, "ps": 3},
            auth=(f"bob@{DOMAIN}", WATCHER_SECRET), fixed_calls=0, step_rates=[],
            extra_env={"EXTRA_DEFINES": "POLICY_CACHE_TTL=0"},
            sipp_extra=AUTH_SIPP, callgrind=cg_auth, prepare=clear_publications,
            interleave=True, cg_reps=1))
AUTH_ARMS = {a.name: a for a in ARMS if a.callgrind is cg_auth}


# ---------------------------------------------------------------- notify_smime: bench/smime_bench.c
# The "Speed" requirement of notify_smime, side by side in one run, without
# Kamailio: (a) the bare OpenSSL CMS_encrypt of the MIME entity of a PIDF
# body to the watcher's certificate, the floor; (b) ns_protect(), the
# module's encryption path for one NOTIFY body, on the same bytes and the
# same certificate; target (b) <= SMIME_TARGET x (a) in callgrind
# instructions, median of SMIME_REPS runs, for RSA-2048, RSA-3072 and EC
# P-256 recipients. Also (c) signing only and (d) sign-then-encrypt through
# ns_protect() with the server's EC P-256 certificate (no target).
# Skipped with BENCH_SKIP_SMIME=1 (or BENCH_SKIP_CALLGRIND=1); run alone
# with `bench/bench.py --only smime`.

import concurrent.futures  # noqa: E402 (this section's own)

SKIP_SMIME = os.environ.get("BENCH_SKIP_SMIME") == "1"
SMIME_ITERS = knob("SMIME_ITERS", 20)        # rounds per run, after one warm-up round
SMIME_REPS = knob("SMIME_REPS", 3)           # runs per (mode, key); the median is shown
SMIME_TARGET = 1.20                          # ns_protect encrypt / CMS_encrypt floor, Ir
SMIME_KEYS = [("rsa2048", "RSA-2048"), ("rsa3072", "RSA-3072"), ("p256", "P-256")]
SMIME_MODES = ["floor", "encrypt", "sign", "sign-encrypt"]
SMIME_SRCS = ["protect.c", "cms.c", "envelope.c", "mime.c", "cert.c", LIB_CANON]
SMIME_DIR = os.path.join(OUT_DIR, "smime_bench")


def cg_summary(path):
    """Ir of one callgrind dump: its summary: line, the event counter that
    CALLGRIND_ZERO_STATS zeroes (what callgrind_annotate calls PROGRAM
    TOTALS); the totals: line when there is none."""
    total = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
            if line.startswith("totals:"):
                total = int(line.split()[1])
    return total or 0


def smime_run(binary, mode, key, rep):
    """One run of smime_bench under callgrind: Ir per round of the path."""
    out = os.path.join(SMIME_DIR, f"callgrind.{mode}.{key}.{rep}")
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
           f"--callgrind-out-file={out}", binary, mode, key, str(SMIME_ITERS)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    with open(out + ".log", "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    if p.returncode != 0:
        raise BenchError(f"smime_bench {mode} {key} failed (rc {p.returncode}):\n"
                         f"{p.stdout}{p.stderr[-2000:]}")
    dump = out + ".1"   # the CALLGRIND_DUMP_STATS_AT after the rounds
    with open(dump, errors="replace") as f:
        head = f.read(4096)
    want = f"smime_bench {mode} {key} {SMIME_ITERS}"
    if f"Client Request: {want}" not in head:
        raise BenchError(f"{dump}: not the dump of {want}")
    m = re.search(r"result (\d+) bytes", p.stdout)
    return {"rep": rep, "ir": cg_summary(dump) / SMIME_ITERS,
            "bytes": int(m.group(1)) if m else None}


def smime_bench():
    """bench/smime_bench.c, built against modules/notify_smime/{protect,cms,
    mime,cert}.c and OpenSSL (-O2 -g, as the module), each (mode, key) run
    SMIME_REPS times under callgrind, two runs at a time (instruction counts
    do not depend on what else runs). "sign" does not depend on the
    recipient: it runs once per rep, with the first key."""
    binary = build_micro("smime_bench", SMIME_DIR, "notify_smime", SMIME_SRCS, "openssl")
    jobs = [(mode, key, rep) for rep in range(1, SMIME_REPS + 1) for key, _ in SMIME_KEYS
            for mode in SMIME_MODES if mode != "sign" or key == SMIME_KEYS[0][0]]
    t = time.monotonic()
    runs = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    try:
        futs = {pool.submit(smime_run, binary, *j): j for j in jobs}
        for fut in concurrent.futures.as_completed(futs):
            mode, key, rep = futs[fut]
            runs.setdefault(key, {}).setdefault(mode, []).append(fut.result())
    finally:
        # on a failure or Ctrl-C no further run starts; the (at most two)
        # running ones end by themselves within seconds
        pool.shutdown(wait=True, cancel_futures=True)
    say(f"smime_bench under callgrind: {len(jobs)} runs of {SMIME_ITERS} rounds, "
        f"{time.monotonic() - t:.0f}s")
    out = {"iters": SMIME_ITERS, "reps": SMIME_REPS, "target": SMIME_TARGET, "keys": {}}
    sign = runs[SMIME_KEYS[0][0]]["sign"]
    for key, label in SMIME_KEYS:
        r = {"label": label}
        for mode in SMIME_MODES:
            rs = sorted(sign if mode == "sign" else runs[key][mode], key=lambda x: x["rep"])
            r[mode] = {"ir": median([x["ir"] for x in rs]), "runs": [x["ir"] for x in rs],
                       "bytes": rs[0]["bytes"]}
        r["ratio"] = r["encrypt"]["ir"] / r["floor"]["ir"]
        r["met"] = r["ratio"] <= SMIME_TARGET
        out["keys"][key] = r
    return out


def smime_table(sm):
    if not sm:
        return ""
    head = (f"{'key':<9} {'CMS_encrypt floor Ir':>20} {'ns_protect encrypt Ir':>21} "
            f"{'ratio':>6} {'target <= ' + format(sm['target'], '.1f'):>14} "
            f"{'sign only Ir':>13} {'sign+encrypt Ir':>15}")
    lines = ["notify_smime: one NOTIFY body (PIDF, application/pidf+xml) encrypted to the watcher's",
             "certificate, bench/smime_bench.c under callgrind (Ir per body, median of "
             f"{sm['reps']} runs of {sm['iters']} rounds each):", "", head, "-" * len(head)]
    for key, label in SMIME_KEYS:
        r = sm["keys"].get(key)
        if not r:
            continue
        lines.append(f"{label:<9} {r['floor']['ir']:>20,.0f} {r['encrypt']['ir']:>21,.0f} "
                     f"{r['ratio']:>6.2f} {'met' if r['met'] else 'NOT MET':>14} "
                     f"{r['sign']['ir']:>13,.0f} {r['sign-encrypt']['ir']:>15,.0f}")
    worst = max(sm["keys"].values(), key=lambda r: r["ratio"])
    lines += ["",
              f"Target ns_protect encrypt <= {sm['target']:.1f}x the CMS_encrypt floor: "
              + ("met" if all(r["met"] for r in sm["keys"].values()) else "NOT MET")
              + f" (worst {worst['ratio']:.2f}x, {worst['label']})",
              "  floor:        CMS_encrypt(the recipient, BIO of \"Content-Type: application/pidf+xml\"",
              "                CRLF CRLF <pidf>, AES-128-CBC, CMS_BINARY) + i2d_CMS_ContentInfo, all freed",
              "                (ECDH: OpenSSL's default KDF, sha1; ns_protect uses sha256)",
              "  encrypt:      ns_protect(), default options (AES-128-CBC, RSA PKCS#1 v1.5, ECDH",
              "                sha256 kdf), + ns_protect_out_free; the same entity bytes (checked);",
              "                RSA: the EnvelopedData written directly (envelope.c), EC: OpenSSL's CMS",
              "  sign only:    ns_protect() multipart/signed with the server's EC P-256 certificate",
              "                (does not depend on the recipient: one measurement, in every row)",
              "  sign+encrypt: ns_protect() signed with it, then encrypted to the recipient",
              "  per run, Ir per body (and the body's bytes):"]
    for r in sm["keys"].values():
        lines.append(f"    {r['label']:<9}" + "; ".join(
            f"{m} " + " / ".join(f"{v:,.0f}" for v in r[m]["runs"]) + f" ({r[m]['bytes']} B)"
            for m in ("floor", "encrypt", "sign-encrypt")))
    sign = next(iter(sm["keys"].values()))["sign"]
    lines.append(f"    {'sign':<9}" + " / ".join(f"{v:,.0f}" for v in sign["runs"])
                 + f" ({sign['bytes']} B)")
    return "\n".join(lines)


def smime_only():
    """`bench.py --only smime`: this section alone, no Kamailio, no SIPp;
    its table in build/bench/smime_bench/results.txt (and .json), so that a
    full run's build/bench/results.txt stays as it was."""
    os.makedirs(OUT_DIR, exist_ok=True)
    sm = smime_bench()
    only_results("smime", SMIME_DIR, {"smime_bench": sm}, smime_table(sm))
    return 0


def only_results(name, out_dir, res, table_text):
    """A `--only NAME` run's table: printed, and in out_dir/results.txt
    (and res in results.json)."""
    os.makedirs(out_dir, exist_ok=True)
    text = (f"bench --only {name}: {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, "
            f"load average before: {BEFORE_LOAD}, {time.monotonic() - T0:.0f}s\n\n" + table_text + "\n")
    with open(os.path.join(out_dir, "results.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    print()
    print(text, end="")
    say(f"done; table in {os.path.relpath(os.path.join(out_dir, 'results.txt'), TOP)}")

# ---- end of notify_smime: bench/smime_bench.c


# ---------------------------------------------------------------- notify_smime end to end: --only notify
# The issue's requirement, end to end: PS CPU seconds per NOTIFY with
# encryption at most NOTIFY_TARGET x the same run without it (encryption
# only; signing reported separately). Arms, same load, one after the
# other with freshly started roles, NOTIFY_ROUNDS rounds in ABCD DCBA
# order (a drift of the machine's speed weighs on every arm alike):
#   clear          -A WITHOUT_SMIME: notify_smime is never called
#   smime, plain   notify_smime called, alice's policy asks no encryption
#   encrypt        the policy says <ps:encrypt/> for bob: every NOTIFY to
#                  him is S/MIME encrypted (his certificate from the
#                  smime_cert table that scripts/provision.sh fills)
#   sign+encrypt   the same with -A SMIME_SIGN
# Load per segment: NOTIFY_WATCHERS subscriptions of bob to alice
# (bench/notify_watcher.xml, one SIPp), then alice publishes once and
# modifies that one publication NOTIFY_PUBLISHES times at NOTIFY_RATE/s,
# then removes it (bench/notify_publish.xml): each PUBLISH makes the PS
# send one NOTIFY per subscription. Measured over the publishing only: CPU
# (as load() does) of every process of each role, divided by the NOTIFYs
# the PS sent and got answered (its core:rcv_replies: in that window the
# only replies it receives are the watchers' 200s to its NOTIFYs).
# `bench/bench.py --only notify` runs this section alone; its table goes to
# build/bench/notify/results.txt (and .json).

NOTIFY_WATCHERS = knob("NOTIFY_WATCHERS", 10)     # subscriptions of bob to alice
NOTIFY_PUBLISHES = knob("NOTIFY_PUBLISHES", 240)  # modifications per segment
NOTIFY_RATE = knob("NOTIFY_RATE", 20)             # PUBLISH/s
NOTIFY_ROUNDS = knob("NOTIFY_ROUNDS", 2)
SKIP_NOTIFY = os.environ.get("BENCH_SKIP_NOTIFY") == "1"
NOTIFY_TARGET = 1.25                              # encrypt / clear, PS CPU per NOTIFY
NOTIFY_DIR = os.path.join(OUT_DIR, "notify")
# name, EXTRA_DEFINES, policy with <ps:encrypt/>
NOTIFY_ARMS = [("clear", "WITHOUT_SMIME", True), ("smime, plain", "", False),
               ("encrypt", "", True), ("sign+encrypt", "SMIME_SIGN", True)]


def notify_policy(encrypt):
    """alice's pres-rules: bob allowed, no digest, encryption or not."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset {PS_NS}>'
            f'<cr:rule id="r1"><cr:conditions><cr:identity><cr:one id="sip:bob@{DOMAIN}"/>'
            f"</cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling>"
            f'{"<ps:encrypt/>" if encrypt else ""}</cr:actions>{TRANSFORMATIONS}</cr:rule></cr:ruleset>')


def notify_stats(role):
    """{name: value} of every counter of a role (stats.get_statistics all)."""
    text = role.rpc("stats.get_statistics", "all")
    if text is None:
        raise BenchError(f"cannot read statistics of {role.name}")
    return {k: int(v) for k, v in re.findall(r"([\w.-]+:[\w.-]+) = (\d+)", text)}


def notify_prepare():
    """While the PS is stopped: no publication and no subscription of alice
    left from an earlier segment."""
    db = sqlite3.connect(os.path.join(RUN_DIR, "ps", "ps.db"), timeout=5)
    with db:
        db.execute("DELETE FROM presentity WHERE username = ? AND domain = ?", ("alice", DOMAIN))
        db.execute("DELETE FROM active_watchers WHERE presentity_uri = ?", (f"sip:alice@{DOMAIN}",))
        db.execute("DELETE FROM watchers WHERE presentity_uri = ?", (f"sip:alice@{DOMAIN}",))
    db.close()
    settle_db()


def notify_segment(name, defines, encrypt, tag, watcher=None, sync=None):
    """One segment of the notify load (see above); watcher: the watcher
    scenario (default bench/notify_watcher.xml); sync: called when the
    subscriptions are set up, right before the measured window."""
    import threading
    system = System({"EXTRA_DEFINES": defines} if defines else {})
    notify_prepare()
    say(f"notify {name}: starting both roles{' -A ' + defines if defines else ''}")
    system.start(tag)
    try:
        system.write_pres_rules("alice", notify_policy(encrypt))
        register("alice")
        register("bob")
        ps0 = notify_stats(system.ps)
        box = {}
        wt = threading.Thread(target=lambda: box.update(r=sipp(
            watcher or os.path.join(BENCH_DIR, "notify_watcher.xml"), "bob", f"{tag}-watchers",
            calls=NOTIFY_WATCHERS, rate=NOTIFY_WATCHERS, keys={"presentity": "alice"},
            timeout=NOTIFY_PUBLISHES // NOTIFY_RATE + 60)))
        wt.start()
        # every subscription has its first NOTIFY answered
        deadline = time.monotonic() + 15
        while notify_stats(system.ps).get("core:rcv_replies", 0) - ps0.get("core:rcv_replies", 0) \
                < NOTIFY_WATCHERS:
            if time.monotonic() > deadline or not wt.is_alive():
                wt.join()
                r = box.get("r")
                raise BenchError(f"notify {name}: the {NOTIFY_WATCHERS} subscriptions were not set up "
                                 f"(see {r.err_file if r else 'build/bench/sipp'})")
            time.sleep(0.2)
        time.sleep(0.5)
        system.check_alive()
        if sync:
            sync()
        offsets = {r.name: r.log_size() for r in system.roles}
        st0 = {r.name: notify_stats(r) for r in system.roles}
        cpu0 = {r.name: r.group() for r in system.roles}
        pub = sipp(os.path.join(BENCH_DIR, "notify_publish.xml"), "alice", f"{tag}-publish",
                   timeout=NOTIFY_PUBLISHES // NOTIFY_RATE + 30,
                   extra=["-set", "count", str(NOTIFY_PUBLISHES), "-d", str(1000 // NOTIFY_RATE)])
        time.sleep(0.5)          # the last NOTIFYs answered
        cpu1 = {r.name: r.group() for r in system.roles}
        st1 = {r.name: notify_stats(r) for r in system.roles}
        check_modules()
        wt.join()
        wr = box.get("r")
        died = [r.name for r in system.roles if not r.alive()]
        for n in died:
            DIED.append((n, tag))
    finally:
        system.stop()

    def d(role, key):
        return st1[role].get(key, 0) - st0[role].get(key, 0)
    notifies = d("ps", "core:rcv_replies")
    m = {"arm": name, "tag": tag, "defines": defines, "encrypt_policy": encrypt,
         "publishes": pub.sent.get("PUBLISH", 0), "publish_ok": pub.ok, "publish_wall_s": round(pub.wall, 2),
         "publish_retrans": pub.retrans, "watchers_ok": wr.successful if wr else None,
         "watchers_failed": wr.failed if wr else None, "watcher_retrans": wr.retrans if wr else None,
         "notifies": notifies, "died": died,
         "smime": {k.split(":", 1)[1]: d("ps", k) for k in st1["ps"] if k.startswith("notify_smime:")},
         "pcscf_msgs": d("pcscf", "core:rcv_requests") + d("pcscf", "core:rcv_replies"),
         "privacy": {k.split(":", 1)[1]: d("pcscf", k) for k in st1["pcscf"]
                     if k.startswith("sip_privacy:")},
         "roles": {}}
    for role in system.roles:
        delta = {pid: cpu1[role.name][pid] - cpu0[role.name].get(pid, 0) for pid in cpu1[role.name]}
        m["roles"][role.name] = {"cpu_s": sum(delta.values()),
                                 "errors": role.log_errors(offsets[role.name])}
    m["ok"] = bool(pub.ok and wr and wr.failed == 0 and not died and notifies
                   and notifies >= NOTIFY_WATCHERS * (NOTIFY_PUBLISHES + 1))
    say(f"  {tag}: {m['publishes']} PUBLISH in {pub.wall:.1f}s, {notifies} NOTIFYs answered, "
        f"PS {m['roles']['ps']['cpu_s']:.2f} CPU s, P-CSCF {m['roles']['pcscf']['cpu_s']:.2f}, "
        f"notify_smime " + (", ".join(f"{k} {v}" for k, v in m["smime"].items() if v) or "-")
        + f", watchers {m['watchers_ok']} ok {m['watchers_failed']} failed"
        + "".join(f", {n} DIED" for n in died) + f" -> {'pass' if m['ok'] else 'FAIL'}")
    return m


def notify_bench():
    """NOTIFY_ROUNDS rounds of every arm; per arm the sums of its segments."""
    check_addresses_free()
    say("provisioning build/bench-run")
    System().provision()
    segs = {a[0]: [] for a in NOTIFY_ARMS}
    for rnd in range(1, NOTIFY_ROUNDS + 1):
        for name, defines, encrypt in (NOTIFY_ARMS if rnd % 2 else list(reversed(NOTIFY_ARMS))):
            slug = re.sub(r"\W+", "-", name).strip("-")
            segs[name].append(notify_segment(name, defines, encrypt, f"notify-{slug}-r{rnd}"))
    out = {}
    for name, ms in segs.items():
        n = sum(x["notifies"] for x in ms)
        out[name] = {"segments": ms, "notifies": n, "ok": all(x["ok"] for x in ms),
                     "encrypted": sum(x["smime"].get("encrypted", 0) for x in ms),
                     "us_per_notify": {r: (sum(x["roles"][r]["cpu_s"] for x in ms) / n * 1e6 if n else None)
                                       for r in ("ps", "pcscf")}}
    return out


def notify_table(res):
    base = res["clear"]["us_per_notify"]
    lines = [f"notify_smime end to end: PS CPU per NOTIFY, {NOTIFY_WATCHERS} subscriptions of bob to alice, "
             f"{NOTIFY_PUBLISHES} PUBLISH",
             f"  modifications at {NOTIFY_RATE}/s (+ first and removal) per segment, {NOTIFY_ROUNDS} rounds "
             "(arms interleaved, fresh roles each segment);",
             "  CPU of all processes of a role over the publishing / NOTIFYs the PS sent and got answered.",
             "  P-CSCF: relays the same PUBLISHes and NOTIFYs in every arm, a control for the machine's speed",
             "  (its ratio > 1 also holds the larger encrypted bodies it relays).", ""]
    head = (f"{'arm':<14} {'NOTIFYs':>8} {'encrypted':>9} {'PS us/NOTIFY':>12} {'x clear':>7} "
            f"{'P-CSCF us/NOTIFY':>16} {'x clear':>7}  per round PS us/NOTIFY")
    lines += [head, "-" * len(head)]
    for name, _, _ in NOTIFY_ARMS:
        r = res[name]
        u = r["us_per_notify"]
        rounds = "; ".join(fmt(x["roles"]["ps"]["cpu_s"] / x["notifies"] * 1e6 if x["notifies"] else None, ".0f")
                           for x in r["segments"])
        lines.append(f"{name:<14} {r['notifies']:>8} {r['encrypted']:>9} {fmt(u['ps'], '.1f'):>12} "
                     f"{fmt(ratio(u['ps'], base['ps']), '.2f'):>7} {fmt(u['pcscf'], '.1f'):>16} "
                     f"{fmt(ratio(u['pcscf'], base['pcscf']), '.2f'):>7}  {rounds}"
                     + ("" if r["ok"] else "  (FAILED segment: see the log lines)"))
    enc = ratio(res["encrypt"]["us_per_notify"]["ps"], base["ps"])
    sig = ratio(res["sign+encrypt"]["us_per_notify"]["ps"], base["ps"])
    ctl = ratio(res["encrypt"]["us_per_notify"]["pcscf"], base["pcscf"])
    valid = (res["encrypt"]["ok"] and res["clear"]["ok"]
             and res["encrypt"]["encrypted"] >= res["encrypt"]["notifies"] - NOTIFY_WATCHERS * NOTIFY_ROUNDS)
    lines.append("")
    lines.append(f"Target PS CPU per NOTIFY, encrypt <= {NOTIFY_TARGET:.2f}x clear: {fmt(enc, '.2f')}x, "
                 + ("not measured" if enc is None else "met" if enc <= NOTIFY_TARGET else "NOT met")
                 + ("" if valid else " (INVALID: a segment failed or NOTIFYs were not all encrypted)")
                 + f" (P-CSCF control {fmt(ctl, '.2f')}x)")
    lines.append(f"Signed and encrypted (reported separately, no target): {fmt(sig, '.2f')}x clear")
    lines.append(f"notify_smime loaded but no encryption asked: "
                 f"{fmt(ratio(res['smime, plain']['us_per_notify']['ps'], base['ps']), '.2f')}x clear")
    return "\n".join(lines)


def notify_only():
    """`bench.py --only notify`: this section alone."""
    os.makedirs(os.path.join(OUT_DIR, "logs"), exist_ok=True)
    os.makedirs(NOTIFY_DIR, exist_ok=True)
    res = notify_bench()
    only_results("notify", NOTIFY_DIR, {"notify": res}, notify_table(res))
    return 0 if all(r["ok"] for r in res.values()) and not DIED else 1

# ---- end of notify_smime end to end: --only notify


# ---------------------------------------------------------------- sip_privacy: --only privacy
# The issue's requirement: the P-CSCF relaying SUBSCRIBE/NOTIFY with
# sip_privacy on every message costs at most PRIVACY_TARGET x the CPU
# seconds per message of the same routing script without it (-A
# WITHOUT_PRIVACY: the script calls no sip_privacy function; every module,
# topos and the rest of the script are the same in both arms).
#  CPU: both arms at the same time, side by side, each a whole system of
#    its own (P-CSCF, PS, SIPp) on its own loopback net (PRIVACY_NETS) and
#    directories, so that whatever else the shared 2-core machine does in
#    a window slows both arms alike. Each runs the notify load above
#    (NOTIFY_WATCHERS subscriptions of bob to alice, alice publishing
#    NOTIFY_PUBLISHES times), bob's SUBSCRIBEs carrying "Privacy:
#    PRIVACY_VALUE"; both start publishing together once both have their
#    subscriptions set up. P-CSCF CPU of all its processes over the
#    publishing, divided by the SIP messages it received in that window
#    (core:rcv_requests + core:rcv_replies: PUBLISHes and their replies,
#    NOTIFYs and their 200s). PRIVACY_ROUNDS rounds; the arms swap nets
#    from one round to the next; fresh roles each segment, each starting
#    from the same state (topos's tables of the P-CSCF emptied: otherwise a
#    segment inherits the rows of the ones before it, and topos's timer
#    deletes them while it is measured). The target is judged on the
#    ratio of the sums over every round; the per-round ratios and their
#    median show the spread. The PS runs the same script in both arms: its
#    CPU per NOTIFY is the control.
#  Instructions: the P-CSCF under callgrind (inside receive_msg), one
#    session per arm; per Privacy value of PRIVACY_VALUES a phase of
#    PRIVACY_CG_CALLS calls of bench/subscribe.xml (SUBSCRIBE, NOTIFY,
#    un-SUBSCRIBE, NOTIFY) with that Privacy on both SUBSCRIBEs; Ir per
#    message the P-CSCF received.
# `bench/bench.py --only privacy` runs this section alone (table in
# build/bench/privacy/results.txt); a full run includes it unless
# BENCH_SKIP_PRIVACY=1.

PRIVACY_ROUNDS = knob("PRIVACY_ROUNDS", 6)
PRIVACY_CG_CALLS = knob("PRIVACY_CG_CALLS", 20)
PRIVACY_CG_RATE = knob("PRIVACY_CG_RATE", 4)
SKIP_PRIVACY = os.environ.get("BENCH_SKIP_PRIVACY") == "1"
PRIVACY_TARGET = 1.05
PRIVACY_VALUE = "id"
# None: no Privacy header at all
PRIVACY_VALUES = [None, "none", "id", "user", "header", "user;header;id"]
PRIVACY_ARMS = [("without sip_privacy", "WITHOUT_PRIVACY"), ("sip_privacy", "")]
PRIVACY_DIR = os.path.join(OUT_DIR, "privacy")


def privacy_scenario(base, value):
    """bench/<base> with "Privacy: value" after every "Event: presence"
    line (every SUBSCRIBE), written to build/bench/privacy."""
    with open(os.path.join(BENCH_DIR, base)) as f:
        text = f.read()
    if value is None:
        return os.path.join(BENCH_DIR, base)
    n = text.count("      Event: presence\n")
    if n != 2:
        raise BenchError(f"bench/{base}: expected 2 SUBSCRIBEs, found {n}")
    text = text.replace("      Event: presence\n", f"      Event: presence\n      Privacy: {value}\n")
    slug = re.sub(r"\W+", "-", value).strip("-")
    path = os.path.join(PRIVACY_DIR, f"{os.path.splitext(base)[0]}-{slug}.xml")
    with open(path, "w") as f:
        f.write(text)
    return path


PRIVACY_NETS = ("127.0.2", "127.0.3")


def privacy_reset_topos():
    """Empty the P-CSCF's topos tables (the role is stopped)."""
    db = sqlite3.connect(os.path.join(RUN_DIR, "pcscf", "pcscf.db"), timeout=5)
    try:
        db.execute("DELETE FROM topos_d")
        db.execute("DELETE FROM topos_t")
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def privacy_slot_env(slot):
    """Environment of the bench process that runs a segment on net slot."""
    return dict(os.environ, BENCH_NET=PRIVACY_NETS[slot],
                BENCH_RUN_DIR=os.path.join(TOP, "build", f"bench-run-privacy{slot}"),
                BENCH_OUT_DIR=os.path.join(PRIVACY_DIR, f"net{slot}"))


def privacy_segment_child(arm, tag, sync_dir, out):
    """`bench.py --privacy-segment ARM TAG SYNC_DIR OUT`, in the environment
    of privacy_slot_env(): one segment of arm (an index in PRIVACY_ARMS) on
    this process's net; waits in sync_dir for the other arm before its
    window; the segment's figures as JSON in out."""
    name, defines = PRIVACY_ARMS[int(arm)]
    for d in ("logs", "sipp", "privacy"):
        os.makedirs(os.path.join(OUT_DIR, d), exist_ok=True)
    check_addresses_free()
    if not os.path.exists(os.path.join(RUN_DIR, "ps", "ps.db")):
        say(f"provisioning {os.path.relpath(RUN_DIR, TOP)}")
        System().provision()
    privacy_reset_topos()

    def sync():
        open(os.path.join(sync_dir, f"ready-{arm}"), "w").close()
        other = os.path.join(sync_dir, f"ready-{1 - int(arm)}")
        deadline = time.monotonic() + 120
        while not os.path.exists(other):
            if time.monotonic() > deadline:
                raise BenchError(f"{name}: the other arm was not ready within 120 s")
            time.sleep(0.02)
    m = notify_segment(name, defines, False, tag,
                       watcher=privacy_scenario("notify_watcher.xml", PRIVACY_VALUE), sync=sync)
    with open(out, "w") as f:
        json.dump(m, f)
    return 0 if m["ok"] and not DIED else 1


def privacy_cpu():
    """PRIVACY_ROUNDS rounds of both arms side by side; per arm the sums of
    its segments."""
    for slot in range(len(PRIVACY_NETS)):
        shutil.rmtree(privacy_slot_env(slot)["BENCH_RUN_DIR"], ignore_errors=True)
        shutil.rmtree(privacy_slot_env(slot)["BENCH_OUT_DIR"], ignore_errors=True)
    segs = {a[0]: [] for a in PRIVACY_ARMS}
    timeout = NOTIFY_PUBLISHES // NOTIFY_RATE + 300
    for rnd in range(1, PRIVACY_ROUNDS + 1):
        sync_dir = os.path.join(PRIVACY_DIR, f"sync-r{rnd}")
        shutil.rmtree(sync_dir, ignore_errors=True)
        os.makedirs(sync_dir)
        procs = []
        for i, (name, _) in enumerate(PRIVACY_ARMS):
            slot = (i + rnd) % 2          # the arms swap nets every round
            slug = re.sub(r"\W+", "-", name).strip("-")
            out = os.path.join(sync_dir, f"arm{i}.json")
            log = open(os.path.join(PRIVACY_DIR, f"r{rnd}-{slug}.log"), "w")
            say(f"privacy round {rnd}: {name} on {PRIVACY_NETS[slot]}.x")
            procs.append((name, slot, out, log, subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--privacy-segment", str(i),
                 f"privacy-{slug}-r{rnd}", sync_dir, out],
                env=privacy_slot_env(slot), stdout=log, stderr=subprocess.STDOUT)))
        for name, slot, out, log, p in procs:
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            log.close()
            if not os.path.exists(out):
                raise BenchError(f"privacy round {rnd}: {name} failed (rc {rc}); see {log.name}")
            with open(out) as f:
                m = json.load(f)
            m["net"] = PRIVACY_NETS[slot]
            if rc != 0:
                m["ok"] = False
                DIED.extend((d, m["tag"]) for d in m.get("died", []))
            segs[name].append(m)
            say(f"  {name} on {m['net']}.x: P-CSCF {m['roles']['pcscf']['cpu_s']:.2f} CPU s for "
                f"{m['pcscf_msgs']} messages" + ("" if m["ok"] else " (FAILED)"))
    out = {}
    for name, ms in segs.items():
        n = sum(x["pcscf_msgs"] for x in ms)
        out[name] = {"segments": ms, "msgs": n, "ok": all(x["ok"] for x in ms),
                     "privacy": {k: sum(x["privacy"].get(k, 0) for x in ms)
                                 for k in sorted({k for x in ms for k in x["privacy"]})},
                     "us_per_msg": (sum(x["roles"]["pcscf"]["cpu_s"] for x in ms) / n * 1e6
                                    if n else None),
                     "ps_us_per_notify": (sum(x["roles"]["ps"]["cpu_s"] for x in ms)
                                          / sum(x["notifies"] for x in ms) * 1e6
                                          if sum(x["notifies"] for x in ms) else None)}
    return out


def privacy_cg_arm(name, defines):
    """One callgrind session of an arm: {privacy value: phase}."""
    class _Arm:   # what sipp_run needs of an Arm
        ua, keys, auth, sipp_extra = "bob", {"presentity": "alice"}, None, []
    slug = re.sub(r"\W+", "-", name).strip("-")
    system = System({"EXTRA_DEFINES": defines} if defines else {})
    notify_prepare()
    settle_db()
    # the roles start under callgrind and answer no SIP before the load:
    # registrations and alice's publication are made by a native run first
    system.start(f"privacy-cg-{slug}-setup")
    try:
        system.write_pres_rules("alice", notify_policy(False))
        register("alice")
        register("bob")
        publish("alice")
    finally:
        system.stop()
    sess = CgSession(system, f"privacy-cg-{slug}", roles=("pcscf",))
    sess.start()
    phases = {}
    try:
        for value in ["warmup"] + PRIVACY_VALUES:
            arm = _Arm()
            scen = privacy_scenario("subscribe.xml", None if value == "warmup" else value)
            arm.scenario = lambda scen=scen: scen
            label = "absent" if value is None else value
            ph = sess.measure(label, lambda: sipp_run(arm, f"privacy-cg-{slug}-{re.sub(r'[^a-z]+', '-', label)}",
                                                      PRIVACY_CG_CALLS, PRIVACY_CG_RATE, 4),
                              strict=False)
            if value != "warmup":
                phases[label] = ph
            if ph["died"]:
                break
    finally:
        sess.stop()
    return phases


def privacy_bench():
    check_addresses_free()
    os.makedirs(PRIVACY_DIR, exist_ok=True)
    say("provisioning build/bench-run")
    System().provision()
    res = {"cpu": privacy_cpu(), "cg": None}
    if not SKIP_CALLGRIND:
        res["cg"] = {name: privacy_cg_arm(name, defines) for name, defines in PRIVACY_ARMS}
    return res


def privacy_ok(res):
    cg_ok = res["cg"] is None or all(ph.get("valid") and not ph["died"]
                                     for arm in res["cg"].values() for ph in arm.values())
    return all(r["ok"] for r in res["cpu"].values()) and cg_ok


def privacy_table(res):
    cpu = res["cpu"]
    base, arm = cpu[PRIVACY_ARMS[0][0]], cpu[PRIVACY_ARMS[1][0]]
    lines = [f"sip_privacy at the P-CSCF: CPU per SIP message the P-CSCF received, {NOTIFY_WATCHERS} "
             f"subscriptions of bob to alice (Privacy: {PRIVACY_VALUE}),",
             f"  {NOTIFY_PUBLISHES} PUBLISH modifications at {NOTIFY_RATE}/s per segment, "
             f"{PRIVACY_ROUNDS} rounds, both arms at the same time, each on its own net and system",
             f"  ({' and '.join(n + '.x' for n in PRIVACY_NETS)}, swapped every round; fresh roles each segment);",
             "  window: the publishing (PUBLISH + reply, NOTIFY + 200 per watcher). PS CPU per NOTIFY: a",
             "  control for the machine's speed (the PS runs the same script in both arms).", ""]
    head = (f"{'arm':<20} {'P-CSCF msgs':>11} {'us/msg':>8} {'x without':>9} {'PS us/NOTIFY':>12} "
            f"{'x without':>9}  per round P-CSCF us/msg")
    lines += [head, "-" * len(head)]
    for name, _ in PRIVACY_ARMS:
        r = cpu[name]
        rounds = "; ".join(fmt(x["roles"]["pcscf"]["cpu_s"] / x["pcscf_msgs"] * 1e6
                               if x["pcscf_msgs"] else None, ".1f") for x in r["segments"])
        lines.append(f"{name:<20} {r['msgs']:>11} {fmt(r['us_per_msg'], '.1f'):>8} "
                     f"{fmt(ratio(r['us_per_msg'], base['us_per_msg']), '.3f'):>9} "
                     f"{fmt(r['ps_us_per_notify'], '.1f'):>12} "
                     f"{fmt(ratio(r['ps_us_per_notify'], base['ps_us_per_notify']), '.3f'):>9}  {rounds}"
                     + ("" if r["ok"] else "  (FAILED segment: see the log lines)"))
    st = ", ".join(f"{k} {v}" for k, v in arm["privacy"].items() if v) or "-"
    lines.append(f"  sip_privacy statistics over the sip_privacy arm's windows: {st}")
    rr = ratio(arm["us_per_msg"], base["us_per_msg"])

    def per_msg(x):
        return x["roles"]["pcscf"]["cpu_s"] / x["pcscf_msgs"] if x["pcscf_msgs"] else None
    rounds = [ratio(per_msg(a), per_msg(b)) for a, b in zip(arm["segments"], base["segments"])]
    rounds = [x for x in rounds if x is not None]
    if rounds:
        lines.append(f"  P-CSCF ratio per round: {', '.join(f'{x:.3f}' for x in rounds)}; "
                     f"median {statistics.median(rounds):.3f}, range {min(rounds):.3f}-{max(rounds):.3f}")
    lines.append("")
    lines.append(f"Target P-CSCF CPU per message, sip_privacy <= {PRIVACY_TARGET:.2f}x without: "
                 f"{fmt(rr, '.3f')}x, "
                 + ("not measured" if rr is None else "met" if rr <= PRIVACY_TARGET else "NOT met")
                 + ("" if arm["ok"] and base["ok"] else " (INVALID: a segment failed)"))
    if res["cg"]:
        lines += ["", f"P-CSCF instructions per message received (callgrind inside receive_msg), per Privacy "
                  f"value of bob's SUBSCRIBEs,", f"  {PRIVACY_CG_CALLS} calls of bench/subscribe.xml each "
                  "(8 messages per call at the P-CSCF):", ""]
        head = (f"{'Privacy':<16} {'Ir/msg without':>14} {'Ir/msg with':>12} {'x without':>9} "
                f"{'sip_privacy Ir/msg':>18} {'topos Ir/msg':>12}")
        lines += [head, "-" * len(head)]
        cw, cs = res["cg"][PRIVACY_ARMS[0][0]], res["cg"][PRIVACY_ARMS[1][0]]

        def own(ph, group):
            """Inclusive Ir of a PROFILE group per message the P-CSCF got."""
            r = (ph or {}).get("roles", {}).get("pcscf", {})
            n = (ph or {}).get("received", {}).get("pcscf")
            g = r.get("incl_per_call", {}).get(group)
            return g * ph["calls"] / n if g is not None and n else None
        for value in PRIVACY_VALUES:
            label = "absent" if value is None else value
            a = (cw.get(label) or {}).get("roles", {}).get("pcscf", {}).get("ir_per_msg")
            b = (cs.get(label) or {}).get("roles", {}).get("pcscf", {}).get("ir_per_msg")
            valid = all((x.get(label) or {}).get("valid") for x in (cw, cs))
            lines.append(f"{label:<16} {fmt(a, ',.0f'):>14} {fmt(b, ',.0f'):>12} {fmt(ratio(b, a), '.3f'):>9} "
                         f"{fmt(own(cs.get(label), 'sip_privacy'), ',.0f'):>18} "
                         f"{fmt(own(cs.get(label), 'topos'), ',.0f'):>12}"
                         + ("" if valid else "  (a phase NOT VALID)"))
        lines += ["  sip_privacy Ir/msg: inclusive in the module's script functions (with arm);",
                  "  the whole-message figures move by more than that with topos's SQLite tables,",
                  "  which grow from phase to phase (topos Ir/msg: its two message hooks)."]
    return "\n".join(lines)


def privacy_only():
    """`bench.py --only privacy`: this section alone."""
    os.makedirs(os.path.join(OUT_DIR, "logs"), exist_ok=True)
    res = privacy_bench()
    only_results("privacy", PRIVACY_DIR, {"privacy": res}, privacy_table(res))
    return 0 if privacy_ok(res) and not DIED else 1

# ---- end of sip_privacy: --only privacy


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
    if not provisioned:
        say("provisioning build/bench-run")
        System().provision()
    system = System(arm.extra_env, arm.role_args())
    if arm.prepare:
        arm.prepare()
    say(f"{arm.name}: starting both roles")
    system.start(f"{arm.slug}")
    say(f"{arm.name}: setup")
    arm.setup(system, arm)
    fixed = row_fixed(system, arm)
    top = None
    if arm.step_rates:
        ensure_up(system, arm, f"{arm.slug}-restart")
        top = row_max(system, arm, fixed)
    system.stop()
    if not SKIP_CALLGRIND:
        fixed.ir = arm.callgrind(system, arm)
    return fixed, top


def combine(arm, ms):
    """One fixed-row measure from the segments ms of an interleaved arm:
    counts and CPU seconds summed, the rate averaged."""
    if not ms:
        return None
    m = {"tag": f"{arm.slug}-fixed", "target_rate": ms[0]["target_rate"],
         "calls": sum(x["calls"] for x in ms), "rc": max((x["rc"] for x in ms), key=abs),
         "successful": sum(x["successful"] for x in ms), "failed": sum(x["failed"] for x in ms),
         "rate": statistics.mean(x["rate"] for x in ms),
         "wall_s": round(sum(x["wall_s"] for x in ms), 2),
         "call_ms": {"p50": median([x["call_ms"]["p50"] for x in ms]),
                     "p99": max((x["call_ms"]["p99"] for x in ms if x["call_ms"]["p99"] is not None),
                                default=None)},
         "requests": sum(x["requests"] for x in ms), "retrans": sum(x["retrans"] for x in ms),
         "sipp_cpu_s": round(sum(x["sipp_cpu_s"] for x in ms), 3),
         "died": sorted({d for x in ms for d in x["died"]}),
         "ok": all(x["ok"] for x in ms), "segments": ms, "roles": {}}
    for role in ("pcscf", "ps"):
        rs = [x["roles"][role] for x in ms]
        errors = {}
        for r in rs:
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        m["roles"][role] = {
            "cpu_s": sum(r["cpu_s"] for r in rs),
            "busiest_cpu_s": sum(r["busiest_cpu_s"] for r in rs),
            "busiest": "/".join(sorted({r["busiest"] for r in rs})),
            "processes": rs[0]["processes"],
            "received": None if any(r["received"] is None for r in rs) else sum(r["received"] for r in rs),
            "errors": errors}
    return m


def run_interleaved(arms, provisioned):
    """The fixed rows of arms measured in AUTH_ROUNDS rounds of
    AUTH_CALLS / AUTH_ROUNDS calls each, the arms alternating (ABBA...:
    the order reversed every round), each segment with freshly started
    roles (the arms differ in their defines); then each arm's callgrind.
    So a drift of the machine's speed (other work on the same cores)
    weighs on every arm alike."""
    segs = {arm.name: [] for arm in arms}
    per = max(1, AUTH_CALLS // AUTH_ROUNDS)
    timed = [arm for arm in arms if arm.fixed_calls]
    for rnd in range(1, AUTH_ROUNDS + 1):
        for arm in (timed if rnd % 2 else list(reversed(timed))):
            if not provisioned:
                say("provisioning build/bench-run")
                System().provision()
                provisioned = True
            system = System(arm.extra_env, arm.role_args())
            if arm.prepare:
                arm.prepare()
            say(f"{arm.name}: round {rnd}/{AUTH_ROUNDS}: starting both roles, setup")
            system.start(f"{arm.slug}-r{rnd}")
            arm.setup(system, arm)
            m = load(system, arm, f"{arm.slug}-fixed-r{rnd}", arm.fixed_rate, per)
            segs[arm.name].append(m)
            system.stop()
    # callgrind: the runs interleaved too (A1 B1 B2 A2 A3 B3 ...)
    runs = {arm.name: [] for arm in arms}
    if not SKIP_CALLGRIND:
        for rep in range(1, CG_REPS + 1):
            for arm in (arms if rep % 2 else list(reversed(arms))):
                system = System(arm.extra_env, arm.role_args())
                if arm.callgrind is cg_auth and rep <= arm.cg_reps:
                    runs[arm.name].append(cg_auth_run(system, arm, rep))
    out = []
    for arm in arms:
        fixed = Row(f"{arm.name} fixed {arm.fixed_rate}/s" if arm.fixed_calls else
                    f"{arm.name} callgrind", combine(arm, segs[arm.name]))
        if not SKIP_CALLGRIND:
            fixed.ir = (cg_auth_summary(runs[arm.name]) if arm.callgrind is cg_auth
                        else arm.callgrind(System(arm.extra_env, arm.role_args()), arm))
        out.append((arm, fixed, None))
    return out


def notes(results):
    out = []
    out.append(
        f"us/req: CPU microseconds ({'/proc/<pid>/schedstat, ns on a CPU' if SCHEDSTAT else 'utime+stime from /proc/<pid>/stat'}, all processes of the role)\n"
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
        for r in (fixed.m.get("segments") or [fixed] if fixed.m else [fixed]) + (top.steps if top else []):
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
        if fixed.ir and arm.callgrind is callgrind_whole:
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


def verdict(r):
    if r is None:
        return "not measured"
    return f"{'met' if r <= TARGET else 'NOT met'} ({r:.2f}x)"


def auth_tables(results, sizes, micro):
    """The authenticated SUBSCRIBE comparison, the cold cache and the
    policy sizes, as text."""
    arms = {arm.name: (arm, fixed) for arm, fixed, top in results if arm.callgrind is cg_auth}
    if not arms:
        return ""
    lines = [
        "Authenticated SUBSCRIBE: stock auth_db vs watcher_auth (bench/subscribe_auth.xml, Expires 0,",
        "  MD5 with qop=auth, same routing and SQLite, same document in the xcap table). Unit \"auth\": one",
        "  authenticated SUBSCRIBE = one SIPp call = SUBSCRIBE -> 401, SUBSCRIBE + Authorization -> 2xx,",
        "  NOTIFY -> 200 (the PS receives 3 messages). us/auth: CPU of the whole role at the fixed rate",
        "  per call, denominator SIPp's SUBSCRIBEs sent / 2. PS Ir/auth: callgrind, PS only, inside",
        f"  receive_msg, per call; median of {CG_REPS} runs of {AUTH_CG_CALLS} calls at {AUTH_CG_RATE}/s, each after warm-up",
        f"  rounds of {AUTH_WARMUP} calls until every UDP receiver has handled an accepted SUBSCRIBE (not counted).",
        ""]
    head = f"{'arm':<22} {'calls/s':>7} {'P-CSCF us/auth':>14} {'PS us/auth':>10} {'PS Ir/auth':>12} {'PS Ir/msg':>10} {'cg runs':>7}"
    lines += [head, "-" * len(head)]
    fig = {}
    for name in arms:
        arm, fixed = arms[name]
        m = fixed.m
        unit = (m["requests"] / 2) if m and m["requests"] else None
        pc = m["roles"]["pcscf"]["cpu_s"] / unit * 1e6 if unit else None
        ps = m["roles"]["ps"]["cpu_s"] / unit * 1e6 if unit else None
        warm = (fixed.ir or {}).get("warm") or {}
        fig[name] = {"pcscf": pc, "ps": ps, "ir": warm.get("ir_per_call"), "cg": warm}
        lines.append(f"{name:<22} {fmt(m and m['rate'], '.1f'):>7} {fmt(pc, '.1f'):>14} "
                     f"{fmt(ps, '.1f'):>10} {fmt(warm.get('ir_per_call'), ',.0f'):>12} "
                     f"{fmt(warm.get('ir_per_msg'), ',.0f'):>10} {warm.get('n', 0):>5}/{warm.get('of', 0)}")
    rat = {}
    if "auth_db" in fig and "watcher_auth" in fig:
        a, w = fig["auth_db"], fig["watcher_auth"]
        rat = {k: ratio(w[k], a[k]) for k in ("pcscf", "ps", "ir")}
        lines.append(f"{'watcher_auth/auth_db':<22} {'':>7} {fmt(rat['pcscf'], '.2f'):>14} "
                     f"{fmt(rat['ps'], '.2f'):>10} {fmt(rat['ir'], '.2f'):>12}")
        rat0 = ratio((fig.get("watcher_auth_ttl0") or {}).get("ir"), a["ir"])
        if "watcher_auth_ttl0" in fig:
            lines.append(f"{'watcher_auth_ttl0/auth_db':<26} {'':>3} {'':>14} {'':>10} {fmt(rat0, '.2f'):>12}")
        lines.append("  watcher_auth: the PS as etc/ps.cfg ships it (cache_ttl POLICY_CACHE_TTL, 5 s by default: a")
        lines.append("  validated copy is trusted without a query for that long). watcher_auth_ttl0: the same with")
        lines.append("  -A POLICY_CACHE_TTL=0, the row's etag queried on every SUBSCRIBE (callgrind only, 1 run).")
        # the rounds, paired, and the P-CSCF as a control: it does the
        # same work in both arms, so its ratio shows the machine's drift
        sa = (arms["auth_db"][1].m or {}).get("segments") or []
        sw = (arms["watcher_auth"][1].m or {}).get("segments") or []

        def us(seg, role):
            return seg["roles"][role]["cpu_s"] / (seg["requests"] / 2) * 1e6 if seg["requests"] else None
        pairs = list(zip(sa, sw))
        if pairs:
            lines.append("")
            lines.append("  per round (us/auth auth_db -> watcher_auth = ratio), interleaved:")
            for role, label in (("ps", "PS"), ("pcscf", "P-CSCF")):
                lines.append(f"    {label:<7}" + "; ".join(
                    f"r{i}: {fmt(us(a, role), '.0f')} -> {fmt(us(w, role), '.0f')} = "
                    f"{fmt(ratio(us(w, role), us(a, role)), '.2f')}"
                    for i, (a, w) in enumerate(pairs, 1)))
            ctl = rat["pcscf"]
            norm = ratio(rat["ps"], ctl)
            med = median([ratio(us(w, "ps"), us(a, "ps")) for a, w in pairs])
            lines.append(f"  PS ratio: of the totals {fmt(rat['ps'], '.2f')}, median of the rounds {fmt(med, '.2f')}; "
                         f"P-CSCF ratio (identical work in both")
            lines.append(f"  arms: a control for the machine's speed) {fmt(ctl, '.2f')}; PS ratio / P-CSCF ratio "
                         f"{fmt(norm, '.2f')}")
        lines.append("")
        lines.append(f"Target PS Ir/auth of watcher_auth <= {TARGET:.1f}x auth_db: {verdict(rat['ir'])}")
        lines.append(f"Target PS CPU us/auth of watcher_auth <= {TARGET:.1f}x auth_db at "
                     f"{FIXED_RATE}/s: {verdict(rat['ps'])}"
                     + (f" (but the control ratio is {rat['pcscf']:.2f}, not 1: the machine's speed "
                        "differed between the arms' segments by that much)"
                        if rat["pcscf"] and abs(rat["pcscf"] - 1) > 0.03 else ""))
        if "watcher_auth_ttl0" in fig:
            lines.append(f"(watcher_auth_ttl0, etag query on every SUBSCRIBE: PS Ir/auth {verdict(rat0)})")
        # where the instructions go
        lines.append("")
        lines.append("PS Ir/auth by function (inclusive, median of the runs; '-': not called):")
        cols = [("auth_db", fig["auth_db"]["cg"]), ("watcher_auth", fig["watcher_auth"]["cg"])]
        if "watcher_auth_ttl0" in fig:
            cols.append(("watcher_auth_ttl0", fig["watcher_auth_ttl0"]["cg"]))
        cold = (arms["watcher_auth"][1].ir or {}).get("cold") or {}
        if cold.get("n"):
            cols.append(("watcher_auth cold", cold))
        lines.append(f"  {'':<30}" + "".join(f"{c:>19}" for c, _ in cols) + f"{'watcher_auth - auth_db':>24}")
        rows = [("total (receive_msg)", lambda c: c.get("ir_per_call"))]
        rows += [(g, lambda c, g=g: (c.get("incl_per_call") or {}).get(g) or None) for g, _ in PROFILE]
        rows += [(f"calls of {f}", lambda c, f=f: (c.get("calls_per_call") or {}).get(f))
                 for f in PROFILE_CALLS]
        for label, get in rows:
            vals = [get(c) for _, c in cols]
            d = (vals[1] or 0) - (vals[0] or 0) if (vals[0] is not None or vals[1] is not None) else None
            spec = ".2f" if label.startswith("calls") else ",.0f"
            lines.append(f"  {label:<30}" + "".join(f"{fmt(v, spec):>19}" for v in vals)
                         + f"{fmt(d, '+' + spec):>24}")
        lines.append("  (groups: " + "; ".join(f"{g} = {' + '.join(fns)}" for g, fns in PROFILE) + ")")
    # cold cache
    if "watcher_auth" in arms:
        wa = arms["watcher_auth"][1].ir or {}
        warm, cold = wa.get("warm") or {}, wa.get("cold") or {}
        lines += ["", f"watcher_auth policy cache, 1-rule policy, PS Ir per call (median of {CG_REPS} runs):"]
        lines.append(f"  warm: both SUBSCRIBEs find alice's policy cached (as etc/ps.cfg configures the  "
                     f"{fmt(warm.get('ir_per_call'), ',.0f'):>12}")
        lines.append("        cache: trusted for cache_ttl s, then revalidated with an etag query)")
        d = (cold.get("ir_per_call") - warm.get("ir_per_call")
             if cold.get("ir_per_call") and warm.get("ir_per_call") else None)
        lines.append(f"  cold: policy dropped before each call ({COLD_CALLS} calls, one at a time)        "
                     f"{fmt(cold.get('ir_per_call'), ',.0f'):>12}  "
                     f"({fmt(ratio(cold.get('ir_per_call'), warm.get('ir_per_call')), '.2f')}x warm)")
        lines.append(f"  one cache miss (cold - warm): etag query, document query, compile, store  "
                     f"{fmt(d, ',.0f'):>12}")
        if d is not None and warm.get("ir_per_call"):
            lines.append(f"  a SUBSCRIBE whose policy is not cached costs {fmt(d, ',.0f')} Ir more than a "
                         f"cached one")
    # sizes
    if sizes:
        lines += ["", "Policy size: alice's pres-rules of N rules, bob's rule last (the others allow other watchers).",
                  "  PS Ir per call (= per authenticated SUBSCRIBE) end to end, the PS alone under callgrind, and",
                  "  the inclusive Ir of watcher_auth (w_watcher_auth_check, both SUBSCRIBEs) and of presence_xml",
                  "  (pres_watcher_allowed + pres_apply_auth + get_rules_doc) in it:",
                  "  known: bob's decision stored in presence's watchers table, i.e. every SUBSCRIBE after his first",
                  "         (presence does not ask presence_xml then); watcher_auth's cache warm",
                  "  new:   bob's watchers row deleted before each call (his first SUBSCRIBE): presence_xml reads and",
                  "         parses the document (parses: calls of pres_watcher_allowed + pres_apply_auth per call)",
                  "  cold:  alice's cached policy dropped before each call: its first SUBSCRIBE fetches and compiles",
                  "         the document (miss = cold - known: the cost of one cache miss at that size)",
                  ""]
        head = (f"{'rules':>5} {'doc bytes':>9} | {'known Ir/auth':>13} {'watcher_auth':>12} {'presence_xml':>12} | "
                f"{'new Ir/auth':>12} {'presence_xml':>12} {'parses':>6} | {'cold Ir/auth':>12} {'miss':>11}")
        lines += [head, "-" * len(head)]
        for n in SIZE_RULES:
            sz = sizes.get(n, {})
            kn, nw, cd = sz.get("known") or {}, sz.get("new") or {}, sz.get("cold") or {}
            kinc, ninc = kn.get("incl_per_call") or {}, nw.get("incl_per_call") or {}
            ncalls = nw.get("calls_per_call") or {}
            parses = ((ncalls.get("pres_watcher_allowed") or 0) + (ncalls.get("pres_apply_auth") or 0)
                      if ncalls else None)
            lines.append(f"{n:>5} {fmt(sz.get('bytes'), ',d'):>9} | {fmt(kn.get('ir_per_call'), ',.0f'):>13} "
                         f"{fmt(kinc.get('watcher_auth'), ',.0f'):>12} {fmt(kinc.get('presence_xml'), ',.0f'):>12} | "
                         f"{fmt(nw.get('ir_per_call'), ',.0f'):>12} {fmt(ninc.get('presence_xml'), ',.0f'):>12} "
                         f"{fmt(parses, '.1f'):>6} | {fmt(cd.get('ir_per_call'), ',.0f'):>12} "
                         f"{fmt(cd.get('ir_per_call') - kn['ir_per_call'] if cd.get('ir_per_call') and kn.get('ir_per_call') else None, ',.0f'):>11}")
        lines.append(f"  calls: known {', '.join(map(str, SIZE_CALLS))}; new {', '.join(map(str, NEW_CALLS))} "
                     f"and cold {', '.join(map(str, COLD_SIZE_CALLS))} (one at a time); 1 run each, after a")
        lines.append("  warm-up of every UDP receiver.")
        lines.append("  This session's PS alone runs from a copy of etc/ps.cfg with, after loadmodule")
        lines.append("  \"watcher_auth.so\": " + "; ".join(SIZE_MODPARAMS) + " (the defaults refuse 1000 rules).")
    if micro:
        lines += ["", "bench/policy_bench.c (callgrind, Ir per operation, the same documents):",
                  "  compile: wa_policy_compile + free = watcher_auth's cold cost (parse + compile), once per version",
                  "  eval:    wa_policy_eval for sip:bob@example.com = watcher_auth's warm cost, every SUBSCRIBE",
                  "  parse:   xmlReadMemory + xmlFreeDoc = one parse of the document by presence_xml",
                  ""]
        head = f"{'rules':>5} {'doc bytes':>9} {'compile':>12} {'eval':>10} {'parse':>12} {'compile/parse':>13}"
        lines += [head, "-" * len(head)]
        for n in SIZE_RULES:
            mi = micro.get(n, {})
            lines.append(f"{n:>5} {fmt(mi.get('bytes'), ',d'):>9} {fmt(mi.get('compile'), ',.0f'):>12} "
                         f"{fmt(mi.get('eval'), ',.0f'):>10} {fmt(mi.get('parse'), ',.0f'):>12} "
                         f"{fmt(ratio(mi.get('compile'), mi.get('parse')), '.2f'):>13}")
    return "\n".join(lines)


def auth_notes(results, sizes):
    out = []
    for arm, fixed, top in results:
        if arm.callgrind is not cg_auth or not fixed.ir:
            continue
        for run in fixed.ir["runs"]:
            for label, ph in run["phases"].items():
                ps = ph.get("roles", {}).get("ps", {})
                out.append(f"  {arm.name} callgrind run {run['rep']} {label}: {ph['calls']} ok, "
                           f"{ph['failed']} failed, {ph.get('retrans')} retrans, PS received "
                           f"{(ph.get('received') or {}).get('ps')}; PS {fmt(ps.get('ir'), ',')} Ir = "
                           f"{fmt(ps.get('ir_per_call'), ',.0f')}/call; watcher_auth "
                           + ", ".join(f"{k} {v}" for k, v in (ph.get("wa_stats") or {}).items() if v)
                           + (f"; SQLite schema loads {ph['schema_loads_ir']:,} Ir"
                              if ph.get("schema_loads_ir") and not label.startswith("warmup") else "")
                           + ("" if ph.get("valid") else " (not counted)")
                           + "".join(f"; {n} DIED" for n in ph.get("died", [])))
    for n, res in (sizes or {}).items():
        for ph in res["phases"]:
            ps = ph.get("roles", {}).get("ps", {})
            out.append(f"  policy size {n} rules, {ph['label']}: {ph['calls']} ok, {ph['failed']} failed, "
                       f"{ph.get('retrans')} retrans, PS received {(ph.get('received') or {}).get('ps')}; "
                       f"PS {fmt(ps.get('ir'), ',')} Ir = {fmt(ps.get('ir_per_call'), ',.0f')}/call; "
                       "watcher_auth " + ", ".join(f"{k} {v}" for k, v in (ph.get("wa_stats") or {}).items() if v)
                       + (f"; SQLite schema loads {ph['schema_loads_ir']:,} Ir" if ph.get("schema_loads_ir") else "")
                       + ("" if ph.get("valid") else " (not counted)"))
    if out:
        out.insert(0, "\ncallgrind phases of the authenticating arms (PS only under valgrind; a phase counts\n"
                      "  when every call succeeded, nothing was retransmitted and the PS received 3 messages per call):")
    return "\n".join(AUTHDB_CFG_NOTE + out)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for sub in ("logs", "sipp", "callgrind"):
        shutil.rmtree(os.path.join(OUT_DIR, sub), ignore_errors=True)
        os.makedirs(os.path.join(OUT_DIR, sub))
    check_addresses_free()
    results = []
    provisioned = False
    arms = [a for a in ARMS if not ONLY_ARMS or a.slug in ONLY_ARMS or a.name in ONLY_ARMS]
    for arm in arms:
        if arm.interleave:
            continue
        fixed, top = run_arm(arm, provisioned)
        provisioned = True
        results.append((arm, fixed, top))
    inter = [a for a in arms if a.interleave]
    if inter:
        results += run_interleaved(inter, provisioned)
    sizes = micro = None
    if not SKIP_SIZES and any(a.name == "watcher_auth" for a in arms):
        if not SKIP_CALLGRIND:
            sizes = policy_sizes()
        micro = policy_micro()
    smime = None if SKIP_SMIME or SKIP_CALLGRIND else smime_bench()   # notify_smime
    notify = None
    if not SKIP_NOTIFY:
        os.makedirs(NOTIFY_DIR, exist_ok=True)
        notify = notify_bench()     # notify_smime end to end
    privacy = None if SKIP_PRIVACY else privacy_bench()   # sip_privacy at the P-CSCF
    import memsub       # memory per subscription: bench/memsub.py
    import policy_cost  # cost of policy size: bench/policy_cost.py
    mem = None if memsub.SKIP else memsub.measure()
    cost = None if policy_cost.SKIP else policy_cost.measure()
    import cluster_bench  # PostgreSQL vs SQLite, 2 PS vs 1: bench/cluster_bench.py
    clu = None if cluster_bench.SKIP else cluster_bench.measure()
    lines = []
    for arm, fixed, top in results:
        lines.append(fixed)
        if top:
            lines += [top, ratio_line(f"{arm.name} max/fixed", top, fixed)]
    text = (f"make bench: {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, "
            f"load average before: {BEFORE_LOAD}, after: {' '.join(open('/proc/loadavg').read().split()[:3])}, "
            f"{time.monotonic() - T0:.0f}s\n\n" + table(lines) + "\n\n")
    auth = auth_tables(results, sizes, micro)
    if auth:
        text += auth + "\n\n"
    if smime:
        text += smime_table(smime) + "\n\n"
    if notify:
        text += notify_table(notify) + "\n\n"
    if privacy:
        text += privacy_table(privacy) + "\n\n"
    if mem:
        text += memsub.table(mem) + "\n\n"
    if cost:
        text += policy_cost.table(cost) + "\n\n"
    if clu:
        text += cluster_bench.table(clu) + "\n\n"
    text += notes(results) + "\n" + auth_notes(results, sizes) + "\n"
    with open(os.path.join(OUT_DIR, "results.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
        json.dump({"arms": [{"arm": a.name, "fixed": fx.m, "max": tp and tp.m,
                             "steps": tp and tp.steps, "callgrind": fx.ir}
                            for a, fx, tp in results],
                   "policy_size": sizes, "policy_bench": micro, "smime_bench": smime,
                   "notify": notify, "privacy": privacy, "memsub": mem, "policycost": cost,
                   "cluster": clu},
                  f, indent=1)
    print()
    print(text, end="")
    say(f"done; table in {os.path.relpath(os.path.join(OUT_DIR, 'results.txt'), TOP)}")
    rc = 0
    bad = [a.name for a, fx, tp in results
           if not SKIP_CALLGRIND and (not fx.ir or fx.ir["ps"] is None
                                      or (a.callgrind is callgrind_whole and fx.ir["pcscf"] is None))]
    if bad:
        print(f"bench: no callgrind figures for {', '.join(bad)}", file=sys.stderr)
        rc = 1
    if notify and not all(r["ok"] for r in notify.values()):
        print("bench: a notify_smime end-to-end segment failed (see its log lines)", file=sys.stderr)
        rc = 1
    if privacy and not privacy_ok(privacy):
        print("bench: a sip_privacy segment or callgrind phase failed (see its log lines)", file=sys.stderr)
        rc = 1
    if (mem and not memsub.ok(mem)) or (cost and not policy_cost.ok(cost)):
        print("bench: the memory per subscription or policy cost section failed (see its lines)",
              file=sys.stderr)
        rc = 1
    if clu and not cluster_bench.ok(clu):
        print("bench: the PostgreSQL vs SQLite (cluster) section failed (see its lines)", file=sys.stderr)
        rc = 1
    for name, during in DIED:
        print(f"bench: {name} DIED during {during} (see build/bench/logs/)", file=sys.stderr)
        rc = 1
    return rc


def on_signal(signum, frame):
    print(f"bench: signal {signum}: stopping", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


BEFORE_LOAD = " ".join(open("/proc/loadavg").read().split()[:3])

def run_guarded(fn, name="bench"):
    """fn() with SIGTERM and SIGHUP turned into an exit, every role still
    running stopped by its PID at the end whatever happened; the exit
    status (fn's, 2 for a BenchError, 130 for Ctrl-C). bench/soak.py runs
    under it too."""
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 1
    try:
        rc = fn()
    except BenchError as e:
        print(f"{name}: FAILED: {e}", file=sys.stderr)
        rc = 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        rc = 130
    finally:
        # the roles run in their own sessions: Ctrl-C does not reach them.
        # A second Ctrl-C must not cut this short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stop_all(5 if rc else 15)
    return rc


if __name__ == "__main__":
    if sys.argv[1:2] == ["--privacy-segment"] and len(sys.argv) == 6:
        # one arm's segment of the sip_privacy section (see privacy_cpu)
        sys.exit(run_guarded(lambda: privacy_segment_child(*sys.argv[2:])))
    # memory and policy cost: sections of their own files, which import
    # this one as "bench" (the same module, not a second copy)
    sys.modules.setdefault("bench", sys.modules[__name__])
    import memsub  # noqa: E402
    import policy_cost  # noqa: E402
    import cluster_bench  # noqa: E402
    only = {"smime": smime_only, "notify": notify_only,   # notify, privacy: see their sections
            "privacy": privacy_only, "memsub": memsub.run_only, "policycost": policy_cost.run_only,
            "cluster": cluster_bench.run_only}
    if sys.argv[1:] and (len(sys.argv) != 3 or sys.argv[1] != "--only" or sys.argv[2] not in only):
        print(f"usage: bench.py [--only {'|'.join(only)}]", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_guarded(lambda: only[sys.argv[2]]() if sys.argv[1:] else main()))
