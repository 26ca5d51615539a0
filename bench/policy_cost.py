"""Cost per authenticated SUBSCRIBE as the presentity's policy grows
(`bench/bench.py --only policycost`, and a section of `make bench` unless
BENCH_SKIP_POLICYCOST=1).

alice's pres-rules of N rules (bench.py's auth_policy(): N - 1 rules for
other watchers, bob's last, digest demanded), N in COST_RULES; one
authenticated SUBSCRIBE = one call of bench/subscribe_auth.xml (401,
SUBSCRIBE with Authorization, 2xx, NOTIFY; Expires 0), through both roles
(the PS from a copy of etc/ps.cfg with bench.py's SIZE_MODPARAMS: the
defaults refuse 1000 rules). Per size, side by side:

  hit   watcher_auth's policy cache warm (and bob known to presence, as
        for every SUBSCRIBE after his first)
  miss  alice's cached policy dropped before each call (watcher_auth.reload
        over ctl): the call's first SUBSCRIBE fetches and compiles it

  CPU   PS CPU seconds (all its processes, bench.py's Role.group) per call,
        natively: hit COST_HIT_CALLS calls at COST_RATE/s, miss
        COST_MISS_CALLS calls one at a time; ratio to the 1-rule policy
  Ir    callgrind instructions of the PS inside receive_msg per call,
        bench.py's policy_sizes() (known = hit, cold = miss, new: bob's
        first SUBSCRIBE) on the same documents; ratio to 1 rule
  micro bench/policy_bench.c on the same documents (bench.py's
        policy_micro()): compile (the miss's own work) and eval (the hit's)

Knobs: BENCH_COST_RULES (default 1,10,100,1000), BENCH_COST_RATE (10),
BENCH_COST_HIT_CALLS (200), BENCH_COST_MISS_CALLS (20), and
BENCH_SKIP_CALLGRIND=1 (CPU only). Results in
build/bench/policycost/results.txt and .json.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as b  # noqa: E402

SKIP = os.environ.get("BENCH_SKIP_POLICYCOST") == "1"
RULES = [int(n) for n in os.environ.get("BENCH_COST_RULES", "1,10,100,1000").split(",")]
RATE = b.knob("COST_RATE", 10)
HIT_CALLS = b.knob("COST_HIT_CALLS", 200)
MISS_CALLS = b.knob("COST_MISS_CALLS", 20)
COST_DIR = os.path.join(b.OUT_DIR, "policycost")


def cpu(system):
    """{role: CPU seconds of all its processes}."""
    return {r.name: sum(r.group().values()) for r in system.roles}


def cpu_phases(system, arm):
    """Per size: hit and miss PS CPU per call (native roles)."""
    out = {}
    for n in RULES:
        system.write_pres_rules("alice", b.auth_policy(n))
        # one call first: the cache filled and bob's watchers row there
        r = b.sipp(arm.scenario(), arm.ua, f"cost{n}-prime", keys=arm.keys, auth=arm.auth,
                   timeout=30, extra=arm.sipp_extra)
        if not r.ok:
            raise b.BenchError(f"policy cost: the first call with {n} rules failed (see {r.err_file})")
        hit = b.load(system, arm, f"cost{n}-hit", RATE, HIT_CALLS)
        st0, c0 = b.wa_stats(system.ps), cpu(system)
        t = time.monotonic()
        ok, failed, sipp_ok, retrans = b.cold_run(system, arm, f"cost{n}-miss", MISS_CALLS)
        c1, st1 = cpu(system), b.wa_stats(system.ps)
        system.check_alive()
        miss = {"calls": ok, "failed": failed, "sipp_ok": sipp_ok, "retrans": retrans,
                "wall_s": round(time.monotonic() - t, 1),
                "cpu_s": {k: c1[k] - c0[k] for k in c1},
                "wa_stats": {k: st1.get(k, 0) - st0.get(k, 0) for k in st1}}
        units = hit["requests"] / 2 if hit["requests"] else 0
        res = {"rules": n, "bytes": len(b.auth_policy(n).encode()), "hit": hit, "miss": miss,
               "hit_us": hit["roles"]["ps"]["cpu_s"] / units * 1e6 if units else None,
               "miss_us": miss["cpu_s"]["ps"] / ok * 1e6 if ok else None,
               "ok": hit["ok"] and sipp_ok and failed == 0 and ok == MISS_CALLS}
        b.say(f"  {n} rules: PS CPU per authenticated SUBSCRIBE hit {b.fmt(res['hit_us'], '.0f')} us, "
              f"miss {b.fmt(res['miss_us'], '.0f')} us ({ok} ok, {failed} failed); watcher_auth "
              + ", ".join(f"{k} {v}" for k, v in miss["wa_stats"].items() if v))
        out[n] = res
    return out


def measure():
    os.makedirs(COST_DIR, exist_ok=True)
    os.makedirs(os.path.join(b.OUT_DIR, "logs"), exist_ok=True)
    b.check_addresses_free()
    b.say(f"policy cost: provisioning; {', '.join(map(str, RULES))} rules")
    b.System().provision()
    arm = b.AUTH_ARMS["watcher_auth"]
    b.clear_publications()
    system = b.System({}, b.size_role_args())
    system.start("policycost")
    try:
        b.setup_auth(system, arm)
        res = {"rules": RULES, "cpu": cpu_phases(system, arm)}
    finally:
        system.stop()
    res["cg"] = res["micro"] = None
    if not b.SKIP_CALLGRIND:
        saved = (b.SIZE_RULES, b.SIZE_CALLS, b.NEW_CALLS, b.COLD_SIZE_CALLS)
        k = len(RULES)
        # bench.py's sizes session on these documents: known (hit) 20
        # calls, new and cold (miss) 4 one at a time (3 from 1000 rules)
        b.SIZE_RULES, b.SIZE_CALLS = RULES, [20] * k
        b.NEW_CALLS = b.COLD_SIZE_CALLS = [3 if n >= 1000 else 4 for n in RULES]
        try:
            res["cg"] = b.policy_sizes()
            res["micro"] = b.policy_micro()
        finally:
            b.SIZE_RULES, b.SIZE_CALLS, b.NEW_CALLS, b.COLD_SIZE_CALLS = saved
    return res


def ok(res):
    cg_ok = res["cg"] is None or all(
        ph.get("valid") and not ph["died"] for sz in res["cg"].values() for ph in sz["phases"])
    return all(r["ok"] for r in res["cpu"].values()) and cg_ok and len(res["cpu"]) == len(RULES)


def table(res):
    cpu, cg, micro = res["cpu"], res["cg"] or {}, res["micro"] or {}
    one = RULES[0]

    def ir(n, kind):
        return ((cg.get(n) or {}).get(kind) or {}).get("ir_per_call")
    lines = ["Cost per authenticated SUBSCRIBE by policy size: alice's pres-rules of N rules, bob's last",
             "  (digest demanded), bench/subscribe_auth.xml through both roles (401, SUBSCRIBE with",
             "  Authorization, 2xx, NOTIFY). hit: watcher_auth's cache warm, bob known to presence;",
             "  miss: alice's policy dropped before each call (fetched and compiled again).",
             f"  CPU: PS CPU us per call, native, hit {HIT_CALLS} calls at {RATE}/s, miss {MISS_CALLS} one at",
             "  a time; Ir: PS callgrind instructions per call (receive_msg); x1: ratio to "
             f"{one} rule{'s' if one != 1 else ''}.", ""]
    head = (f"{'rules':>5} {'doc bytes':>9} | {'hit CPU us':>10} {'x1':>6} {'hit Ir':>11} {'x1':>6} | "
            f"{'miss CPU us':>11} {'x1':>6} {'miss Ir':>11} {'x1':>6} | {'miss/hit CPU':>12} {'Ir':>6} | "
            f"{'eval Ir':>9} {'compile Ir':>11}")
    lines += [head, "-" * len(head)]
    c1 = cpu.get(one, {})
    for n in RULES:
        c = cpu.get(n, {})
        mi = micro.get(n, {})
        lines.append(
            f"{n:>5} {b.fmt(c.get('bytes'), ',d'):>9} | {b.fmt(c.get('hit_us'), '.0f'):>10} "
            f"{b.fmt(b.ratio(c.get('hit_us'), c1.get('hit_us')), '.2f'):>6} {b.fmt(ir(n, 'known'), ',.0f'):>11} "
            f"{b.fmt(b.ratio(ir(n, 'known'), ir(one, 'known')), '.2f'):>6} | {b.fmt(c.get('miss_us'), '.0f'):>11} "
            f"{b.fmt(b.ratio(c.get('miss_us'), c1.get('miss_us')), '.2f'):>6} {b.fmt(ir(n, 'cold'), ',.0f'):>11} "
            f"{b.fmt(b.ratio(ir(n, 'cold'), ir(one, 'cold')), '.2f'):>6} | "
            f"{b.fmt(b.ratio(c.get('miss_us'), c.get('hit_us')), '.2f'):>12} "
            f"{b.fmt(b.ratio(ir(n, 'cold'), ir(n, 'known')), '.2f'):>6} | "
            f"{b.fmt(mi.get('eval'), ',.0f'):>9} {b.fmt(mi.get('compile'), ',.0f'):>11}"
            + ("" if c.get("ok") else "  (a call FAILED)"))
    if cg:
        lines.append("  new (bob's first SUBSCRIBE, presence_xml parses the document too), PS Ir per call: "
                     + "; ".join(f"{n}: {b.fmt(ir(n, 'new'), ',.0f')}" for n in RULES))
    lines.append("  eval / compile: bench/policy_bench.c, Ir per wa_policy_eval / wa_policy_compile + free.")
    for n in RULES:
        c = cpu.get(n)
        if c:
            h, m = c["hit"], c["miss"]
            lines.append(f"  {n} rules: hit {h['successful']} ok {h['failed']} failed {h['rate']:.1f}/s "
                         f"{h['retrans']} retrans; miss {m['calls']} ok {m['failed']} failed in {m['wall_s']}s, "
                         "watcher_auth " + ", ".join(f"{k} {v}" for k, v in m["wa_stats"].items() if v))
    return "\n".join(lines)


def run_only():
    """`bench.py --only policycost`."""
    res = measure()
    b.only_results("policycost", COST_DIR, {"policycost": res}, table(res))
    return 0 if ok(res) and not b.DIED else 1
