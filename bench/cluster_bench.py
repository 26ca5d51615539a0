#!/usr/bin/python3
"""Authenticated SUBSCRIBE on PostgreSQL versus SQLite, two PS nodes versus
one (issue 7's row; `bench/bench.py --only cluster`, and a section of
`make bench` when `scripts/pg.sh available` says yes, unless
BENCH_SKIP_CLUSTER=1).

The same routing script (etc/ps.cfg) and the same load in every arm: bob
fetches alice's presence (bench/subscribe_auth.xml, Expires 0: nothing
accumulates), alice's pres-rules demand digest (bench.py's
auth_policy(1)); per call the PS challenges the first SUBSCRIBE (401),
watcher_auth authenticates the second, the PS answers it and sends one
NOTIFY. alice has published once.

  sqlite   one PS on SQLite: bench.py's System (NET.10, NET.20), as shipped
  pg       one PS on PostgreSQL: node "ps" of test/cluster/cluster.py's
           Cluster (-A CLUSTER, NET.120; PostgreSQL on NET.150:55432, as the
           cluster suite runs it)
  pg x2    both PS nodes of that cluster (NET.120, NET.121), the load split
           evenly: one SIPp per node at half the rate. That is what SRV
           records of equal weight (or a dispatcher's round robin) give a
           population of UAs, each UA on the node it resolved.

The load goes straight to the PS, not through a P-CSCF: the PS is what is
measured, and a P-CSCF in the path costs about as much CPU per call as the
PS (bench/README.md, the authenticated rows), on the same two cores. etc/ps.cfg
serves a SUBSCRIBE from any source: from an untrusted one (SIPp here) no
P-Asserted-Identity is believed and watcher_auth authenticates bob by
digest, as it does behind the P-CSCF. The P-CSCFs of both systems run idle.

Measured in ROUNDS rounds, the arms in the order A B C, then C B A, ...
(a drift of the shared machine's speed weighs on every arm alike):

  CPU   at FIXED_RATE calls/s for FIXED_SECONDS: CPU seconds (bench.py's
        proc_stat) of every process of the PS node(s) under load, and of
        PostgreSQL (postmaster and backends: the database work SQLite
        does inside the PS's own processes), per call; the sum over the
        rounds, and the ratio in each round
  max   the highest rate with no failed call, SIPp rc 0, >= 90 % of the
        target rate started (bench.py's SUSTAINED) and the server keeping
        up: retransmissions at most 1 % of the calls (RETRANS_MAX: SIPp
        starts calls on schedule even when the replies come seconds late,
        so the start rate alone is no proof) and 99 % of the calls done
        within 2 s (MAX_CALL_MS: the cluster's NOTIFY bound of 1 s plus
        1 s). STEP_RATES stepped up,
        STEP_SECONDS of load each, then one bisection; in the later rounds
        from the step below the arm's first best. The median of the rounds.
  idle  CPU per second of the PS node(s) and PostgreSQL with no load (the
        cluster's notifier processes poll the database 10 times a second).

Knobs: BENCH_CLUSTER_ROUNDS (3), BENCH_CLUSTER_FIXED_RATE (100 calls/s),
BENCH_CLUSTER_FIXED_SECONDS (5), BENCH_CLUSTER_STEP_RATES (comma list of
even rates, default 100,200,300,400,500,600,800,1000), BENCH_CLUSTER_STEP_SECONDS
(3), BENCH_CLUSTER_IDLE_SECONDS (4), BENCH_SKIP_CLUSTER=1. Results in
build/bench/cluster/results.txt and .json.
"""
import concurrent.futures
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as b  # noqa: E402
import memsub  # noqa: E402

# test/cluster/cluster.py on the bench's net, node A of each role on NET.110
# and NET.120 as test/cluster/conftest.py puts them
os.environ["TEST_NET"] = b.NET
os.environ["TEST_PCSCF_IP"] = f"{b.NET}.110"
os.environ["TEST_PS_IP"] = f"{b.NET}.120"
for _d in ("e2e", "cluster"):
    sys.path.insert(0, os.path.join(b.TOP, "test", _d))
import cluster as c  # noqa: E402

SKIP = os.environ.get("BENCH_SKIP_CLUSTER") == "1"
ROUNDS = b.knob("CLUSTER_ROUNDS", 3)
FIXED_RATE = b.knob("CLUSTER_FIXED_RATE", 100)
FIXED_SECONDS = b.knob("CLUSTER_FIXED_SECONDS", 5)
STEP_RATES = [int(r) for r in
              os.environ.get("BENCH_CLUSTER_STEP_RATES", "100,200,300,400,500,600,800,1000").split(",")]
STEP_SECONDS = b.knob("CLUSTER_STEP_SECONDS", 3)
IDLE_SECONDS = b.knob("CLUSTER_IDLE_SECONDS", 4)
RECOVER_SECONDS = 3       # after a failed step: retransmissions and timers drain
# SIPp starts its calls on schedule whatever the replies do, so the start
# rate alone is met far above what the server keeps up with (seen: 800/s
# "achieved" on PostgreSQL with replies seconds late). A server that falls
# behind shows retransmissions first: a SUBSCRIBE unanswered, or a NOTIFY
# not acknowledged, for 500 ms. A step keeps up with at most this many per
# call (a rare stall of the shared machine is not a limit).
RETRANS_MAX = 0.01
# ... or by its NOTIFYs falling behind: in a cluster a NOTIFY leaves from the
# notifier process within CLUSTER_NOTIFY_WAIT (1 s) of the SUBSCRIBE, and a
# notifier that cannot keep up answers every SUBSCRIBE at once but sends the
# NOTIFYs later and later (seen: p99 of a call 3.4 s at 300/s, 5 s at 500/s,
# no retransmission). A step keeps up when 99 % of its calls (first
# SUBSCRIBE to the 200 of the NOTIFY) end within this bound.
MAX_CALL_MS = 2000
CLUSTER_DIR = os.path.join(b.OUT_DIR, "cluster")
SCENARIO = os.path.join(b.BENCH_DIR, "subscribe_auth.xml")


class Target:
    """One PS node under load: where SIPp sends to, and whose processes
    (the process group its main PID leads) and log the bench reads."""

    def __init__(self, name, ip, proc, log_path):
        self.name, self.ip, self.proc, self.log_path = name, ip, proc, log_path
        self.pid = proc.pid

    def alive(self):
        return self.proc.poll() is None

    def group(self):
        return b.group_cpu(self.pid)

    log_size = b.Role.log_size
    log_errors = b.Role.log_errors


class Arm:
    def __init__(self, name, targets, pg_pid=None):
        self.name, self.targets, self.pg_pid = name, targets, pg_pid
        self.slug = name.replace(" ", "")


def pg_pid(cl):
    """The PID of the cluster's PostgreSQL postmaster."""
    root = cl.pg_dir
    if os.path.exists(os.path.join(root, "pgroot")):
        with open(os.path.join(root, "pgroot")) as f:
            root = f.read().strip()
    with open(os.path.join(root, "data", "postmaster.pid")) as f:
        pid = int(f.readline())
    if len(pg_cpu(pid)) < 3:
        raise b.BenchError(f"PostgreSQL's postmaster (PID {pid}) runs with fewer than 2 children")
    return pid


def pg_cpu(pid):
    """{pid: CPU seconds} of PostgreSQL's postmaster and its children (each
    child of the postmaster is in a session of its own: not a process
    group)."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    data = f.read()
            except OSError:
                continue
            if int(d) == pid or int(data[data.rindex(")") + 2:].split()[1]) == pid:
                st = b.proc_stat(d)
                if st:
                    out[int(d)] = st[1]
    return out


def cpu(arm):
    """(CPU seconds of the arm's PS nodes, of its PostgreSQL or 0)."""
    ps = sum(sum(t.group().values()) for t in arm.targets)
    return ps, sum(pg_cpu(arm.pg_pid).values()) if arm.pg_pid else 0.0


def one_sipp(target, tag, rate, calls):
    return b.sipp(SCENARIO, "bob", tag, calls=calls, rate=rate, keys=b.AUTH_KEYS,
                  auth=(f"bob@{b.DOMAIN}", b.WATCHER_SECRET), timeout=int(calls / rate) + 30,
                  limit=max(20, int(4 * rate)), extra=b.AUTH_SIPP, dst=f"{target.ip}:{b.SIP_PORT}")


def load(arm, tag, rate, calls):
    """calls at rate calls/s, split evenly over the arm's PS nodes (one
    SIPp each, at the same time); CPU of the PS nodes and PostgreSQL read
    before and after."""
    n = len(arm.targets)
    offsets = [t.log_size() for t in arm.targets]
    ps0, pg0 = cpu(arm)
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        futs = [ex.submit(one_sipp, t, f"{tag}-{t.name}", rate / n, calls // n) for t in arm.targets]
        res = [f.result() for f in futs]
    ps1, pg1 = cpu(arm)
    b.check_modules()
    died = [t.name for t in arm.targets if not t.alive()]
    b.DIED.extend((name, tag) for name in died)
    m = {"tag": tag, "target_rate": rate, "calls": calls // n * n,
         "successful": sum(r.successful for r in res), "failed": sum(r.failed for r in res),
         "rc": max((r.rc for r in res), key=abs), "rate": sum(r.rate for r in res),
         "per_node_rate": [round(r.rate, 1) for r in res],
         "requests": sum(r.sent.get("SUBSCRIBE", 0) for r in res),
         "retrans": sum(r.retrans for r in res),
         "call_ms_p99": max((r.call_ms["p99"] for r in res if r.call_ms["p99"] is not None), default=None), "sipp_cpu_s": sum(r.cpu for r in res),
         "ps_cpu_s": ps1 - ps0, "pg_cpu_s": pg1 - pg0, "died": died,
         "errors": sum(sum(t.log_errors(o).values()) for t, o in zip(arm.targets, offsets))}
    m["ok"] = (all(r.ok for r in res) and m["rate"] >= b.SUSTAINED * rate and not died
               and m["retrans"] <= RETRANS_MAX * m["calls"]
               and (m["call_ms_p99"] or 0) <= MAX_CALL_MS)
    calls_ok = m["requests"] / 2
    b.say(f"  {tag}: {rate} calls/s x {m['calls']}: {m['successful']} ok, {m['failed']} failed, "
          f"started {m['rate']:.1f}/s ({' + '.join(map(str, m['per_node_rate']))}), {m['retrans']} retrans, "
          f"call p99 {b.fmt(m['call_ms_p99'], '.0f')} ms, "
          f"CPU us/call PS {us(m['ps_cpu_s'], calls_ok)} PG {us(m['pg_cpu_s'], calls_ok)}, "
          f"log ERRORs {m['errors']}" + "".join(f", {d} DIED" for d in died)
          + f" -> {'pass' if m['ok'] else 'FAIL'}")
    if died:
        raise b.BenchError(f"{', '.join(died)} died during {tag}")
    return m


def us(cpu_s, calls):
    return b.fmt(cpu_s / calls * 1e6 if calls else None, ".0f")


def row_max(arm, rnd, start):
    """The highest passing rate of STEP_RATES from index start (stepping
    down while the first step fails), then one bisection towards the
    first failing rate; (best or None, steps)."""
    steps, best, fail, i = [], None, None, start
    while 0 <= i < len(STEP_RATES):
        rate = STEP_RATES[i]
        time.sleep(1)
        m = load(arm, f"{arm.slug}-r{rnd}-{rate}", rate, rate * STEP_SECONDS)
        steps.append(m)
        if m["ok"]:
            best, i = rate, i + 1
        else:
            fail = rate
            time.sleep(RECOVER_SECONDS)
            if best is not None:
                break
            i -= 1
    mid = (best + fail) // 4 * 2 if best and fail else None
    if mid and best < mid < fail:
        time.sleep(1)
        m = load(arm, f"{arm.slug}-r{rnd}-{mid}", mid, mid * STEP_SECONDS)
        steps.append(m)
        if m["ok"]:
            best = mid
        else:
            time.sleep(RECOVER_SECONDS)
    return best, steps


def idle(arm):
    """CPU seconds per second of the arm's PS nodes and PostgreSQL, no load."""
    ps0, pg0 = cpu(arm)
    t0 = time.monotonic()
    time.sleep(IDLE_SECONDS)
    ps1, pg1 = cpu(arm)
    dt = time.monotonic() - t0
    return {"ps_cpu_per_s": (ps1 - ps0) / dt, "pg_cpu_per_s": (pg1 - pg0) / dt}


# ---------------------------------------------------------------- set-up

def check_call(arm):
    for t in arm.targets:
        r = one_sipp(t, f"{arm.slug}-check-{t.name}", 1, 1)
        if not r.ok:
            raise b.BenchError(f"setup: one authenticated fetch at {t.name} ({t.ip}) failed "
                               f"(sipp rc {r.rc}; see {r.err_file})")


def publish(ip, tag):
    """alice publishes once, straight at the PS on ip, for longer than the
    run (a NOTIFY of every arm carries the same document)."""
    r = b.sipp(memsub.long_scenario("publish.xml", CLUSTER_DIR), "alice", tag,
               keys={"note": "bench"}, timeout=10, dst=f"{ip}:{b.SIP_PORT}")
    if not r.ok:
        raise b.BenchError(f"setup: PUBLISH of alice at {ip} failed (sipp rc {r.rc}; see {r.err_file})")


def pg_pres_rules(cl, user, xml):
    """A pres-rules document with a fresh etag into the shared xcap table
    (what bench.py's System.write_pres_rules does on SQLite); the cluster's
    PS nodes check the etag on every SUBSCRIBE (cache_ttl 0)."""
    if "$doc$" in xml:
        raise b.BenchError("pres-rules document contains $doc$")
    uri = f"/xcap-root/pres-rules/users/sip:{user}@{b.DOMAIN}/index"
    cl.sql("ps", f"DELETE FROM xcap WHERE doc_uri = '{uri}'; "
           "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) "
           f"VALUES ('{user}', '{b.DOMAIN}', convert_to($doc${xml}$doc$, 'UTF8'), 2, "
           f"md5(random()::text), 1, '{uri}', 0)")


def start_sqlite():
    b.say(f"cluster: SQLite system: provisioning {os.path.relpath(b.RUN_DIR, b.TOP)}")
    system = b.System()
    system.provision()
    system.start("cluster-sqlite")
    system.write_pres_rules("alice", b.auth_policy(1))
    publish(b.PS_IP, "cluster-publish-sqlite")
    return system, Arm("sqlite", [Target("ps", b.PS_IP, system.ps.proc, system.ps.log_path)])


def start_cluster(cl):
    b.say(f"cluster: PostgreSQL on {c.PG_IP}:{c.PG_PORT} and 2 PS + 2 P-CSCF nodes: provisioning "
          f"{os.path.relpath(cl.run_dir, b.TOP)}")
    cl.provision()
    cl.start()
    pg_pres_rules(cl, "alice", b.auth_policy(1))
    publish(c.PS_A, "cluster-publish-pg")
    pid = pg_pid(cl)
    nodes = [Target(n, cl.node(n).ip, cl.node(n).proc, cl.node(n).log_path) for n in ("ps", "ps-b")]
    return Arm("pg", nodes[:1], pid), Arm("pg x2", nodes, pid)


# ---------------------------------------------------------------- measure

def measure():
    """The whole section; its result (a dict), or {"skipped": why}."""
    ok, why = c.available()
    if not ok:
        b.say(f"cluster: skipped: {why}")
        return {"skipped": why}
    if c.NET != b.NET:
        raise b.BenchError(f"cluster: test/e2e/harness.py on {c.NET}, not BENCH_NET {b.NET}")
    os.makedirs(os.path.join(b.OUT_DIR, "logs"), exist_ok=True)
    os.makedirs(CLUSTER_DIR, exist_ok=True)
    b.check_addresses_free()
    cl = c.Cluster(f"{b.RUN_DIR}-cluster")
    system = None
    res = {"rounds": ROUNDS, "fixed_rate": FIXED_RATE, "fixed_seconds": FIXED_SECONDS,
           "step_rates": STEP_RATES, "step_seconds": STEP_SECONDS, "arms": {}}
    try:
        system, sq = start_sqlite()
        pg1, pg2 = start_cluster(cl)
        arms = [sq, pg1, pg2]
        for arm in arms:
            check_call(arm)
        for arm in arms:
            res["arms"][arm.name] = {"nodes": [t.ip for t in arm.targets], "fixed": [], "max": [],
                                     "steps": [], "idle": idle(arm)}
            i = res["arms"][arm.name]["idle"]
            b.say(f"  {arm.name} idle: PS {i['ps_cpu_per_s'] * 1e3:.1f} ms/s, "
                  f"PostgreSQL {i['pg_cpu_per_s'] * 1e3:.1f} ms/s")
        start = {arm.name: 0 for arm in arms}
        for rnd in range(1, ROUNDS + 1):
            for arm in (arms if rnd % 2 else list(reversed(arms))):
                r = res["arms"][arm.name]
                b.say(f"cluster: {arm.name}: round {rnd}/{ROUNDS}: {FIXED_RATE} calls/s for "
                      f"{FIXED_SECONDS}s, then the highest rate")
                r["fixed"].append(load(arm, f"{arm.slug}-r{rnd}-fixed", FIXED_RATE,
                                       FIXED_RATE * FIXED_SECONDS))
                best, steps = row_max(arm, rnd, start[arm.name])
                r["max"].append(best)
                r["steps"] += steps
                if rnd == 1 and best:
                    # the step below the best (or below the step the
                    # bisection passed above)
                    start[arm.name] = max(0, sum(1 for x in STEP_RATES if x <= best) - 2)
        res["errors"] = {"SQLite PS": sum(system.ps.log_errors(0).values()),
                         "cluster nodes": len(cl.errors_since({}))}
    finally:
        if system:
            system.stop()
        cl.stop()
    return res


def summary(res):
    """Per arm: CPU us per call (PS, PostgreSQL, PS + PG, SIPp) over all
    rounds, the per-round figures, and the max rates."""
    out = {}
    for name, r in res["arms"].items():
        fx = r["fixed"]
        calls = sum(m["requests"] for m in fx) / 2
        per = lambda k: sum(m[k] for m in fx) / calls * 1e6 if calls else None  # noqa: E731
        rounds = [(m["ps_cpu_s"] + m["pg_cpu_s"]) / (m["requests"] / 2) * 1e6 if m["requests"] else None
                  for m in fx]
        passed = [x for x in r["max"] if x]
        out[name] = {"ps_us": per("ps_cpu_s"), "pg_us": per("pg_cpu_s"), "sipp_us": per("sipp_cpu_s"),
                     "round_ps_us": [m["ps_cpu_s"] / (m["requests"] / 2) * 1e6 if m["requests"] else None
                                     for m in fx],
                     "round_all_us": rounds, "max": r["max"],
                     "max_median": statistics.median(passed) if len(passed) == len(r["max"]) else None,
                     "fixed_ok": all(m["ok"] for m in fx), "idle": r["idle"]}
        out[name]["all_us"] = (out[name]["ps_us"] + out[name]["pg_us"]) if calls else None
    return out


def ok(res):
    if "skipped" in res:
        return True
    s = summary(res)
    return all(v["fixed_ok"] and v["max_median"] for v in s.values()) and len(s) == 3


def table(res):
    if "skipped" in res:
        return f"PostgreSQL vs SQLite, 2 PS vs 1 (issue 7): skipped: {res['skipped']}"
    s = summary(res)
    lines = ["Authenticated SUBSCRIBE (bob fetches alice, digest demanded by her policy, Expires 0), SIPp",
             "  straight to the PS: one PS on SQLite, one PS on PostgreSQL (-A CLUSTER), two PS nodes on",
             "  the same PostgreSQL (the load split evenly, one SIPp per node). "
             f"{res['rounds']} rounds, ABC CBA ...",
             f"  CPU: us per call at {res['fixed_rate']} calls/s, {res['fixed_seconds']} s a round, summed over"
             " the rounds: PS (all processes",
             "  of the node(s) under load), PG (postmaster and backends), SIPp. max: highest rate with 0",
             f"  failed calls, >= {b.SUSTAINED:.0%} started, retransmissions <= {RETRANS_MAX:.0%} of the calls "
             f"and call p99 <= {MAX_CALL_MS} ms,",
             f"  steps of {res['step_seconds']} s; median of the rounds (each round listed). idle: CPU with no",
             "  load (the cluster's notifiers poll PostgreSQL 10 times a second), in the CPU per call too.", ""]
    head = (f"{'arm':<8} {'PS us':>6} {'PG us':>6} {'PS+PG us':>8} {'SIPp us':>7} | {'max/s':>6} "
            f"{'rounds':<16} | {'idle PS ms/s':>12} {'idle PG ms/s':>12}")
    lines += [head, "-" * len(head)]
    for name, v in s.items():
        lines.append(f"{name:<8} {b.fmt(v['ps_us'], '.0f'):>6} {b.fmt(v['pg_us'], '.0f'):>6} "
                     f"{b.fmt(v['all_us'], '.0f'):>8} {b.fmt(v['sipp_us'], '.0f'):>7} | "
                     f"{b.fmt(v['max_median'], '.0f'):>6} {', '.join(b.fmt(x, 'd') for x in v['max']):<16} | "
                     f"{v['idle']['ps_cpu_per_s'] * 1e3:>12.1f} {v['idle']['pg_cpu_per_s'] * 1e3:>12.1f}"
                     + ("" if v["fixed_ok"] else "  (a fixed-rate call FAILED)"))
    for label, a, d in (("PG/SQLite", "pg", "sqlite"), ("2-PS/1-PS", "pg x2", "pg")):
        x, y = s[a], s[d]
        lines.append(f"{label:<9} PS {b.fmt(b.ratio(x['ps_us'], y['ps_us']), '.2f')}, PS+PG "
                     f"{b.fmt(b.ratio(x['all_us'], y['all_us']), '.2f')} us/call; max "
                     f"{b.fmt(b.ratio(x['max_median'], y['max_median']), '.2f')}; per round PS+PG "
                     + ", ".join(b.fmt(b.ratio(p, q), ".2f") for p, q in zip(x["round_all_us"], y["round_all_us"]))
                     + ", max " + ", ".join(b.fmt(b.ratio(p, q), ".2f") for p, q in zip(x["max"], y["max"])))
    errs = res.get("errors") or {}
    lines.append("  log ERROR lines: " + ", ".join(f"{k} {v}" for k, v in errs.items()))
    return "\n".join(lines)


def run_only():
    """`bench.py --only cluster`."""
    res = measure()
    b.only_results("cluster", CLUSTER_DIR, {"cluster": res}, table(res))
    return 0 if ok(res) and not b.DIED else 1
