#!/usr/bin/python3
"""`make soak`: a bounded soak of both roles under a mixed load.

Both roles of the real routing script (bench/bench.py's System: on
BENCH_NET, default 127.0.2; every process stopped by its PID), with Kamailio's
q_malloc (MEM_MANAGER=qm, so that pkg.stats shows every process's private
memory live). The user agents are SIPp processes, one per kind of load,
each from a fixed address and port that is a registered contact of its
user (the P-CSCF serves a request only from one):

  fetch      bob -> alice, bench/subscribe_auth.xml (Expires 0): digest as
             alice's policy demands (watcher_auth: 401, then the answer)
  register   carol, bench/soak_register.xml: REGISTER and un-REGISTER,
             each challenged (auth_db at the P-CSCF)
  publish    alice, bench/soak_publish.xml: publish, modify, remove; each
             PUBLISH NOTIFYs every subscription of bob to her, encrypted
             to his certificate (notify_smime)
  subscribe  bob -> alice, bench/soak_subscribe.xml: digest, a subscription
             bound to bob's certificate (Expires SOAK_SUB_EXPIRES), held
             and never un-subscribed: the PS's timer ends it (within
             presence's db_update_period, 100 s, after it expires) with a
             NOTIFY that says terminated; at a fixed SOAK_SUB_RATE (0.2
             calls/s: about 20 held at a time), so that the NOTIFYs grow
             with the publications, linearly
  (SIPp computes the digest uri from -auth_uri, the same for every request
  of a call, so its in-dialog SUBSCRIBEs, challenged too, could not be
  answered: subscriptions end by expiry, see RELIABILITY.md)

A load of U units is, in calls per second, MIX[kind] x U (subscribe at
its fixed rate). First the highest sustained load: the short kinds (all
but subscribe, which runs under them) for SOAK_STEP_SECONDS at each of
SOAK_STEP_UNITS, until a step fails (a failed
call, or less than 90 % of the target rate achieved), then one step
between the last that passed and the first that failed (SOAK_UNITS=N
skips this and takes N as the highest). Then the soak: every kind at
SOAK_LOAD (0.7) of the highest, for SOAK_SECONDS (default 600).

Memory: shared (core.shmmem) of each role and private (pkg.stats) of every
process, after a warm-up (one-off caches filled) and before the load, and
again after the load has drained: every subscription ended or expired,
every publication removed, the transactions gone (shared memory settled).
Target: back within 2 %. Results: build/soak/results.txt (the table) and
results.json; logs in build/soak/logs, SIPp's files in build/soak/sipp.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as b  # noqa: E402
import memstat  # noqa: E402
import memsub  # noqa: E402


def env_int(name, default):
    return int(os.environ.get(name, default))


SECONDS = env_int("SOAK_SECONDS", 600)
STEP_SECONDS = env_int("SOAK_STEP_SECONDS", 20)
STEP_UNITS = [float(u) for u in os.environ.get("SOAK_STEP_UNITS", "5,10,20,40,80").split(",")]
FIXED_UNITS = float(os.environ.get("SOAK_UNITS", "0"))
LOAD = float(os.environ.get("SOAK_LOAD", "0.7"))
SHM_MB = env_int("SOAK_SHM_MB", 128)
EXPIRES = 60                 # the subscriptions', registrations' and publications' Expires
SUB_EXPIRES = env_int("SOAK_SUB_EXPIRES", 30)   # the PS's min_expires
SUB_RATE = float(os.environ.get("SOAK_SUB_RATE", "0.2"))
DRAIN_LIMIT = 400            # s: state back to the baseline after the load
TARGET = 0.02                # memory back within 2 %
MIX = {"fetch": 1.0, "register": 0.5, "publish": 0.1}   # calls/s per unit
SOAK_DIR = os.path.join(b.TOP, "build", "soak")


class Kind:
    def __init__(self, name, scenario, user, port, keys, auth=None, extra=(), hold=10):
        """hold: how long a call lasts at most, s (the SIPp call limit)."""
        self.name, self.scenario, self.user, self.port = name, scenario, user, port
        self.keys, self.auth, self.extra, self.hold = keys, auth, list(extra), hold


KINDS = [
    Kind("fetch", "subscribe_auth.xml", "bob", 5072,
         {"presentity": "alice", "expires": "0"}, (f"bob@{b.DOMAIN}", b.WATCHER_SECRET), b.AUTH_SIPP),
    Kind("register", "soak_register.xml", "carol", 5071, {"expires": str(EXPIRES)},
         ("carol", b.USERS["carol"])),
    Kind("publish", "soak_publish.xml", "alice", 5073, {"expires": str(EXPIRES)}),
    Kind("subscribe", "soak_subscribe.xml", "bob", 5075, {"presentity": "alice", "expires": str(SUB_EXPIRES)},
         (f"bob@{b.DOMAIN}", b.WATCHER_SECRET), b.AUTH_SIPP, hold=SUB_EXPIRES + 100 + 60),
]
HELD = KINDS[-1]
SHORT = KINDS[:-1]


def kind_rate(kind, units):
    return SUB_RATE if kind is HELD else MIX[kind.name] * units


def port_args(kind):
    return ["-p", str(kind.port)]


def setup(system):
    """alice's policy, the registrations the load sends from (long ones),
    alice's long publication; then a warm-up of every kind."""
    memsub.setup_users(system, SOAK_DIR, extra={"alice": port_args(KINDS[2]), "bob": port_args(KINDS[0])})
    for k in (KINDS[1], HELD):   # carol's and bob's other contacts
        r = b.sipp(memsub.long_scenario("register.xml", SOAK_DIR), k.user, f"setup-register-{k.name}",
                   auth=(k.user, b.USERS[k.user]), timeout=10, extra=port_args(k))
        if not r.ok:
            raise b.BenchError(f"setup: REGISTER of {k.user} failed (see {r.err_file})")
    for k in SHORT:
        r = run_kind(k, "warmup", 2.0, 3, limit=10)
        if not r.ok:
            raise b.BenchError(f"warm-up of {k.name} failed (see {r.err_file})")


def run_kind(kind, tag, rate, calls, limit=None, timeout=None):
    """calls calls of a kind at rate calls/s; the SIPp result, with the
    kinds of its failures from SIPp's statistics file."""
    stat = os.path.join(b.OUT_DIR, "sipp", f"{tag}-{kind.name}-stat.csv")
    if os.path.exists(stat):
        os.unlink(stat)
    extra = kind.extra + port_args(kind) + ["-trace_stat", "-stf", stat, "-fd", "10"]
    r = b.sipp(os.path.join(b.BENCH_DIR, kind.scenario), kind.user, f"{tag}-{kind.name}",
               calls=calls, rate=rate, keys=kind.keys, auth=kind.auth,
               timeout=timeout or int(calls / rate) + kind.hold + 60,
               limit=limit or int(rate * kind.hold) + 20, extra=extra)
    r.failures = failure_kinds(stat)
    return r


def failure_kinds(path):
    """{SIPp failure counter: count} (cumulative, non-zero) of the last
    line of a -trace_stat file."""
    try:
        with open(path) as f:
            rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    head, last = rows[0], rows[-1]
    out = {}
    for h, v in zip(head, last):
        if h.startswith("Failed") and h.endswith("(C)") and h != "FailedCall(C)":
            try:
                if int(v):
                    out[h[len("Failed"):-3]] = int(v)
            except ValueError:
                pass
    return out


def mix(system, units, seconds, kinds, tag, sampler=None):
    """Every kind of kinds at MIX x units calls/s for seconds, at once
    (one SIPp each, in threads); per kind its figures. The server's
    counters and log ERRORs around it."""
    system.check_alive()
    offsets = {r.name: r.log_size() for r in system.roles}
    st0 = {r.name: b.notify_stats(r) for r in system.roles}
    tm0 = {r.name: tm_stats(r) for r in system.roles}
    cpu0 = {r.name: sum(r.group().values()) for r in system.roles}
    res, threads = {}, []

    def one(k):
        rate = kind_rate(k, units)
        calls = max(1, int(round(rate * seconds)))
        res[k.name] = (rate, calls, run_kind(k, tag, rate, calls))
    t0 = time.monotonic()
    for k in kinds:
        th = threading.Thread(target=one, args=(k,), daemon=True)
        th.start()
        threads.append(th)
    while any(th.is_alive() for th in threads):
        for th in threads:
            th.join(timeout=1)
        if sampler:
            sampler(time.monotonic() - t0)
    b.check_modules()
    died = [r.name for r in system.roles if not r.alive()]
    for n in died:
        b.DIED.append((n, tag))
    st1 = {r.name: b.notify_stats(r) if r.alive() else {} for r in system.roles}
    tm1 = {r.name: tm_stats(r) if r.alive() else {} for r in system.roles}
    cpu1 = {r.name: sum(r.group().values()) for r in system.roles}
    out = {"units": units, "seconds": seconds, "wall_s": round(time.monotonic() - t0, 1),
           "died": died, "kinds": {}, "roles": {}}
    for name, (rate, calls, r) in res.items():
        out["kinds"][name] = {
            "rate": rate, "calls": calls, "successful": r.successful, "failed": r.failed,
            "rc": r.rc, "achieved": r.rate, "retrans": r.retrans, "sent": r.sent,
            "failures": r.failures,
            # held subscriptions last longer than the window: their rate is not checked
            "ok": r.ok and r.successful == calls and (name == HELD.name or r.rate >= b.SUSTAINED * rate)}
    for role in system.roles:
        d = {k: st1[role.name].get(k, 0) - st0[role.name].get(k, 0) for k in st1[role.name]}
        out["roles"][role.name] = {
            "cpu_s": round(cpu1[role.name] - cpu0[role.name], 2),
            "errors": role.log_errors(offsets[role.name]),
            "tm": {k: tm1[role.name][k] - tm0[role.name].get(k, 0) for k in TM_COUNTS if k in tm1[role.name]},
            "smime": {k.split(":", 1)[1]: v for k, v in d.items() if k.startswith("notify_smime:") and v},
            "wauth": {k.split(":", 1)[1]: v for k, v in d.items() if k.startswith("watcher_auth:") and v}}
    out["ok"] = not died and all(k["ok"] for k in out["kinds"].values())
    b.say(f"  {tag}: {units:g} units for {seconds}s: " + "; ".join(
        f"{n} {k['successful']}/{k['calls']} ok {k['failed']} failed {k['achieved']:.1f}/s"
        + (f" ({', '.join(f'{a} {c}' for a, c in k['failures'].items())})" if k["failures"] else "")
        for n, k in out["kinds"].items())
        + f"; CPU s pcscf {out['roles']['pcscf']['cpu_s']} ps {out['roles']['ps']['cpu_s']}"
        + "".join(f"; {n} DIED" for n in died) + f" -> {'pass' if out['ok'] else 'FAIL'}")
    return out


def step_up(system):
    """The highest load (units) of the short kinds that passes, with the
    held subscriptions made all along underneath (SIPp in a thread)."""
    planned = (len(STEP_UNITS) + 1) * (STEP_SECONDS + 3)
    pool = {}
    th = threading.Thread(target=lambda: pool.update(r=run_kind(
        HELD, "steps", SUB_RATE, max(1, int(SUB_RATE * planned)))), daemon=True)
    th.start()
    try:
        best, steps = step_up_short(system)
    finally:
        b.say(f"soak: waiting for the step-up's held subscriptions to end (up to {HELD.hold + planned} s)")
        th.join()
    r = pool.get("r")
    if r is not None:
        b.say(f"  held subscriptions under the steps: {r.successful} ok, {r.failed} failed")
    return best, steps


def step_up_short(system):
    steps, best, fail = [], None, None
    for u in STEP_UNITS:
        m = mix(system, u, STEP_SECONDS, SHORT, f"step{len(steps) + 1}")
        steps.append(m)
        if m["ok"]:
            best = u
        else:
            fail = u
            break
        time.sleep(2)
    if best and fail:
        mid = round((best + fail) / 2, 1)
        if best < mid < fail:
            time.sleep(5)
            m = mix(system, mid, STEP_SECONDS, SHORT, f"step{len(steps) + 1}")
            steps.append(m)
            if m["ok"]:
                best = mid
    if not best:
        raise b.BenchError(f"no step passed, not even {STEP_UNITS[0]:g} units (see the lines above)")
    return best, steps


def server_state():
    """Rows the load leaves behind while it runs, in the PS's tables."""
    db = sqlite3.connect(f"file:{os.path.join(b.RUN_DIR, 'ps', 'ps.db')}?mode=ro", uri=True, timeout=10)
    try:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("active_watchers", "presentity", "smime_binding", "watchers")}
    finally:
        db.close()


def memory(system):
    """{role: settled snapshot}."""
    out = {}
    for role in system.roles:
        snap, settled = memstat.settle(role)
        if snap is None:
            raise b.BenchError(f"no memory figures from {role.name}")
        snap["settled"] = settled
        out[role.name] = snap
    return out


def drain(system, target):
    """Waits (at most DRAIN_LIMIT s) until the PS's tables hold at most
    target rows each; the seconds waited, the last state, and whether it
    got there."""
    t0 = time.monotonic()
    while True:
        st = server_state()
        if all(st[k] <= v for k, v in target.items()):
            return round(time.monotonic() - t0, 1), st, True
        if time.monotonic() - t0 > DRAIN_LIMIT:
            return round(time.monotonic() - t0, 1), st, False
        time.sleep(5)


def compare(before, after):
    """Rows (role, what, before, after, change) and the verdict."""
    rows, ok = [], True
    for role in ("pcscf", "ps"):
        a, z = before[role], after[role]
        for key in ("real_used", "used"):
            ch = (z["shm"][key] - a["shm"][key]) / a["shm"][key]
            rows.append((role, f"shared memory {key}", a["shm"][key], z["shm"][key], ch))
            ok = ok and abs(ch) <= TARGET
        for pid in sorted(a["pkg"]):
            p0, p1 = a["pkg"][pid], z["pkg"].get(pid)
            if p1 is None:
                rows.append((role, f"pkg {p0['desc']} (pid {pid}) GONE", p0["real_used"], None, None))
                ok = False
                continue
            ch = (p1["real_used"] - p0["real_used"]) / p0["real_used"]
            rows.append((role, f"pkg {p0['desc']} (pid {pid})", p0["real_used"], p1["real_used"], ch))
            ok = ok and abs(ch) <= TARGET
    return rows, ok


def machine_load():
    la = " ".join(open("/proc/loadavg").read().split()[:3])
    mine = {r.pid for r in b.RUNNING}
    others = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() == "kamailio":
                        st = b.proc_stat(d)
                        if st and st[0] not in mine:
                            others += 1
            except OSError:
                pass
    return {"loadavg": la, "other_kamailio_processes": others}


TM_COUNTS = ("total", "total_local", "2xx", "4xx", "5xx", "6xx")


def tm_stats(role):
    """tm's own counters (RPC tm.stats): transactions, and how they ended."""
    recs = memstat.rpc_records(role.rpc("tm.stats"))
    return recs[0] if recs else {}


def table(res):
    L = [f"make soak: {res['started']}, {os.cpu_count()} cores; {res['seconds']} s at {res['load']:.0%} of "
         f"the highest sustained load ({res['max_units']:g} units{' from SOAK_UNITS' if res['fixed'] else ''})"
         f" = {res['units']:g} units",
         f"  machine: load average {res['machine_before']['loadavg']} before, "
         f"{res['machine_after']['loadavg']} after; other Kamailio processes on it (other users' runs): "
         f"{res['machine_before']['other_kamailio_processes']} before, "
         f"{res['machine_after']['other_kamailio_processes']} after",
         "  a unit = " + ", ".join(f"{MIX[k.name]:g} {k.name}" for k in SHORT) + " calls/s; "
         f"{HELD.name} at a fixed {SUB_RATE:g} calls/s (held until they expire)", ""]
    if res["steps"]:
        L.append("Highest sustained load: " + ", ".join(k.name for k in SHORT)
                 + f" for {STEP_SECONDS} s per step, held subscriptions underneath:")
        for m in res["steps"]:
            L.append(f"  {m['units']:>6g} units: " + "; ".join(
                f"{n} {k['successful']}/{k['calls']} {k['achieved']:.1f}/s" + (f" {k['failed']} FAILED" if k["failed"] else "")
                for n, k in m["kinds"].items()) + f" -> {'pass' if m['ok'] else 'fail'}")
        L.append("")
    s = res["soak"]
    head = (f"{'kind':<10} {'calls/s':>7} {'calls':>7} {'ok':>7} {'failed':>6} {'achieved':>8} "
            f"{'retrans':>7}  transactions sent  failures")
    L += ["Soak:", head, "-" * len(head)]
    for n, k in s["kinds"].items():
        L.append(f"{n:<10} {k['rate']:>7.2f} {k['calls']:>7} {k['successful']:>7} {k['failed']:>6} "
                 f"{k['achieved']:>8.1f} {k['retrans']:>7}  "
                 + "+".join(f"{v} {m}" for m, v in k["sent"].items())
                 + "  " + (", ".join(f"{a} {c}" for a, c in k["failures"].items()) or "-"))
    fails = sum(k["failed"] for k in s["kinds"].values())
    L.append(f"failed calls: {fails} (target 0)" + ("" if fails == 0 else "  NOT MET"))
    for role, r in s["roles"].items():
        errs = sorted(r["errors"].items(), key=lambda kv: -kv[1])
        L.append(f"  {role}: CPU {r['cpu_s']} s; tm " + ", ".join(f"{k} {v}" for k, v in r["tm"].items())
                 + (f"; notify_smime {', '.join(f'{k} {v}' for k, v in r['smime'].items())}" if r["smime"] else "")
                 + (f"; watcher_auth {', '.join(f'{k} {v}' for k, v in r['wauth'].items())}" if r["wauth"] else "")
                 + f"; log ERROR lines {sum(r['errors'].values())}"
                 + "".join(f"\n      {c}x {k}" for k, c in errs[:5]))
    L.append(f"  drained in {res['drain_s']} s (PS tables back to the baseline: "
             f"{'yes' if res['drained'] else 'NO'}; {res['state_after']} vs {res['state_before']})")
    L += ["", "Memory before the load (after the warm-up) and after it drained (real_used, bytes):"]
    head = f"{'role':<6} {'what':<52} {'before':>12} {'after':>12} {'change':>8}"
    L += [head, "-" * len(head)]
    for role, what, a, z, ch in res["memory"]:
        L.append(f"{role:<6} {what:<52} {a:>12,} {b.fmt(z, ',d'):>12} "
                 f"{b.fmt(ch * 100 if ch is not None else None, '+.2f'):>7}%")
    L.append(f"Memory back within {TARGET:.0%}: {'met' if res['memory_ok'] else 'NOT met'}")
    if res["samples"]:
        L += ["", "Shared memory real_used during the soak (bytes): "
              + "; ".join(f"{t:.0f}s pcscf {p:,} ps {q:,}" for t, p, q in res["samples"])]
    return "\n".join(L)


def soak():
    b.OUT_DIR = SOAK_DIR
    b.RUN_DIR = os.path.join(SOAK_DIR, "run")   # never make bench's build/bench-run
    for sub in ("logs", "sipp"):
        shutil.rmtree(os.path.join(SOAK_DIR, sub), ignore_errors=True)
        os.makedirs(os.path.join(SOAK_DIR, sub))
    if SECONDS > 3000:
        raise b.BenchError("SOAK_SECONDS at most 3000: the setup's registrations last 3600 s")
    b.check_addresses_free()
    res = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": SECONDS, "load": LOAD,
           "fixed": bool(FIXED_UNITS), "machine_before": None}
    system = b.System({"MEM_MANAGER": "qm", "SHM_MB": str(SHM_MB)})
    b.say(f"soak: provisioning {os.path.relpath(b.RUN_DIR, b.TOP)}, both roles with -x qm -m {SHM_MB}")
    system.provision()
    system.start("soak")
    try:
        setup(system)
        res["machine_before"] = machine_load()
        if FIXED_UNITS:
            res["max_units"], res["steps"] = FIXED_UNITS, []
        else:
            b.say(f"soak: highest sustained load, {STEP_SECONDS} s per step")
            res["max_units"], res["steps"] = step_up(system)
        res["units"] = round(LOAD * res["max_units"], 2)
        # the baseline: after the warm-up and the steps, everything drained
        # (no subscription left, alice's long publication only)
        _, state0, ok = drain(system, {"active_watchers": 0, "smime_binding": 0, "presentity": 1})
        if not ok:
            raise b.BenchError(f"the step-up's subscriptions did not end: {state0}")
        res["state_before"] = state0
        before = memory(system)
        b.say("soak: baseline " + ", ".join(f"{n} shm {m['shm']['real_used']:,} B" for n, m in before.items()))
        samples, last = [], [0.0]

        def sampler(t):
            if t - last[0] >= 60:
                last[0] = t
                snaps = {r.name: memstat.snapshot(r) for r in system.roles}
                if all(snaps.values()):
                    samples.append((t, snaps["pcscf"]["shm"]["real_used"], snaps["ps"]["shm"]["real_used"]))
        b.say(f"soak: {res['units']:g} units for {SECONDS} s")
        res["soak"] = mix(system, res["units"], SECONDS, KINDS, "soak", sampler)
        res["samples"] = samples
        res["drain_s"], res["state_after"], res["drained"] = drain(
            system, {k: state0[k] for k in ("active_watchers", "smime_binding", "presentity")})
        after = memory(system)
        res["machine_after"] = machine_load()
        res["memory"], res["memory_ok"] = compare(before, after)
        res["before"], res["after"] = before, after
    finally:
        system.stop()
    return res


def main():
    res = soak()
    text = table(res) + "\n"
    with open(os.path.join(SOAK_DIR, "results.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(SOAK_DIR, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    print()
    print(text, end="")
    b.say(f"done; table in {os.path.relpath(os.path.join(SOAK_DIR, 'results.txt'), b.TOP)}")
    fails = sum(k["failed"] + (k["calls"] - k["successful"] - k["failed"]) for k in res["soak"]["kinds"].values())
    return 0 if fails == 0 and res["memory_ok"] and res["drained"] and not b.DIED else 1


if __name__ == "__main__":
    sys.exit(b.run_guarded(main, "soak"))
