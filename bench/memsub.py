#!/usr/bin/python3
"""Memory per active subscription (`bench/bench.py --only memsub`, and a
section of `make bench` unless BENCH_SKIP_MEMSUB=1).

Both roles of the real routing script (bench/bench.py's System, on
BENCH_NET) with shared memory sized for the largest count (-m, SHM_MB).
alice's policy lets bob watch her after digest (watcher_auth) and demands
encryption (notify_smime: every subscription of bob gets a binding to his
certificate, every NOTIFY is encrypted to it). bob then holds more and
more subscriptions to alice (bench/subscribe_auth.xml with Expires 3600,
challenged and answered, each call leaves one subscription; SIPp at
MEMSUB_RATE calls/s), and at each count of MEMSUB_COUNTS, once the load
has drained (shared memory settled), the shared memory of both roles is
read (core.shmmem) against the same read before the first subscription:
bytes per subscription = (real_used at N - real_used at 0) / N. The
counts are checked on the server: rows of active_watchers and
notify_smime's bound statistic.

Knobs: BENCH_MEMSUB_COUNTS (comma list, default 1000,10000; 50000 is
measured with BENCH_MEMSUB_COUNTS=1000,10000,50000), BENCH_MEMSUB_RATE
(calls/s, default 50), BENCH_MEMSUB_SHM_MB (default sized from the
largest count), BENCH_MEMSUB_MEM_MANAGER (default tlsf, as shipped).
Results: build/bench/memsub/results.txt and .json.
"""
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as b  # noqa: E402
import memstat  # noqa: E402

SKIP = os.environ.get("BENCH_SKIP_MEMSUB") == "1"
COUNTS = [int(n) for n in os.environ.get("BENCH_MEMSUB_COUNTS", "1000,10000").split(",")]
RATE = b.knob("MEMSUB_RATE", 50)
MEM_MANAGER = os.environ.get("BENCH_MEMSUB_MEM_MANAGER", "tlsf")
# 64 MB as the roles ship, plus 8 KB per subscription of headroom
SHM_MB = b.knob("MEMSUB_SHM_MB", 64 + (max(COUNTS) * 8 + 1023) // 1024)
WARMUP = 20            # fetches (Expires 0) before the baseline: one-off caches filled
LONG_EXPIRES = 3600    # the PS's and P-CSCF's max_expires
MEMSUB_DIR = os.path.join(b.OUT_DIR, "memsub")


def long_scenario(name, out_dir, expires=LONG_EXPIRES):
    """test/sipp/<name> with every "Expires: 600" as expires, written to
    out_dir: a registration or publication that outlives the run."""
    with open(os.path.join(b.TEST_SIPP, name)) as f:
        text = f.read()
    if "Expires: 600\n" not in text:
        raise b.BenchError(f"test/sipp/{name}: no 'Expires: 600' line to lengthen")
    path = os.path.join(out_dir, f"long-{name}")
    with open(path, "w") as f:
        f.write(text.replace("Expires: 600\n", f"Expires: {expires}\n"))
    return path


def encrypt_policy():
    """alice's 1-rule policy of bench.py (bob allowed after digest with
    WATCHER_SECRET) with encryption demanded too."""
    xml = b.auth_policy(1)
    if xml.count("</cr:actions>") != 1:
        raise b.BenchError("bench.auth_policy(1): not one <cr:actions>")
    return xml.replace("</cr:actions>", "<ps:encrypt/></cr:actions>")


def setup_users(system, out_dir, extra=None):
    """alice's policy; alice and bob registered for LONG_EXPIRES s, alice
    published for as long (a publication expiring under thousands of
    subscriptions would NOTIFY every one). extra: {user: SIPp arguments}
    (e.g. a fixed local port) for the registration."""
    system.write_pres_rules("alice", encrypt_policy())
    reg = long_scenario("register.xml", out_dir)
    for user in ("alice", "bob"):
        r = b.sipp(reg, user, f"setup-register-{user}", auth=(user, b.USERS[user]), timeout=10,
                   extra=(extra or {}).get(user, ()))
        if not r.ok:
            raise b.BenchError(f"setup: REGISTER of {user} failed (see {r.err_file})")
    r = b.sipp(long_scenario("publish.xml", out_dir), "alice", "setup-publish-alice",
               keys={"note": "memsub"}, timeout=10, extra=(extra or {}).get("alice", ()))
    if not r.ok:
        raise b.BenchError(f"setup: PUBLISH of alice failed (see {r.err_file})")


def subscribe(tag, calls, rate, expires):
    """calls authenticated subscriptions of bob to alice; the SIPp result."""
    return b.sipp(os.path.join(b.BENCH_DIR, "subscribe_auth.xml"), "bob", tag, calls=calls,
                  rate=rate, keys={"presentity": "alice", "expires": str(expires)},
                  auth=(f"bob@{b.DOMAIN}", b.WATCHER_SECRET), timeout=int(calls / rate) + 120,
                  extra=b.AUTH_SIPP)


def server_counts():
    """(alice's subscriptions in the PS's active_watchers table, rows of
    notify_smime's binding table): write-through, the tables hold what the
    PS holds in memory."""
    db = sqlite3.connect(f"file:{os.path.join(b.RUN_DIR, 'ps', 'ps.db')}?mode=ro", uri=True,
                         timeout=10)
    try:
        return (db.execute("SELECT COUNT(*) FROM active_watchers WHERE presentity_uri = ?",
                           (f"sip:alice@{b.DOMAIN}",)).fetchone()[0],
                db.execute("SELECT COUNT(*) FROM smime_binding").fetchone()[0])
    finally:
        db.close()


def point(system, label):
    """Both roles' settled memory and the server's counts."""
    out = {"label": label, "roles": {}}
    for role in system.roles:
        snap, settled = memstat.settle(role)
        out["roles"][role.name] = {"shm": snap["shm"], "settled": settled,
                                   "pkg": memstat.pkg_by_kind(snap)}
    out["active_watchers"], out["bindings"] = server_counts()
    db = os.path.join(b.RUN_DIR, "ps", "ps.db")
    out["db_bytes"] = sum(os.path.getsize(f) for f in (db, db + "-wal") if os.path.exists(f))
    out["subscriptions"] = out["active_watchers"]
    st = b.notify_stats(system.ps)
    out["bound"] = st.get("notify_smime:bound", 0)
    out["encrypted"] = st.get("notify_smime:encrypted", 0)
    shm = out["roles"]["ps"]["shm"]
    b.say(f"  {label}: PS shm real_used {shm['real_used']:,} B, used {shm['used']:,} B, "
          f"{shm['fragments']} fragments; P-CSCF shm real_used "
          f"{out['roles']['pcscf']['shm']['real_used']:,} B; active_watchers {out['active_watchers']}, "
          f"smime_binding rows {out['bindings']}, notify_smime bound {out['bound']}, encrypted {out['encrypted']}")
    return out


def measure():
    """The whole section; its result (a dict)."""
    os.makedirs(os.path.join(MEMSUB_DIR), exist_ok=True)
    counts = sorted(set(COUNTS))
    b.check_addresses_free()
    env = {"SHM_MB": str(SHM_MB), "MEM_MANAGER": MEM_MANAGER}
    system = b.System(env)
    b.say(f"memsub: provisioning {os.path.relpath(b.RUN_DIR, b.TOP)}; shared memory -m {SHM_MB} "
          f"(MEM_MANAGER {MEM_MANAGER}); counts {', '.join(map(str, counts))} at {RATE}/s")
    system.provision()
    system.start("memsub")
    res = {"counts": counts, "rate": RATE, "shm_mb": SHM_MB, "mem_manager": MEM_MANAGER,
           "points": [], "loads": [], "ok": True}
    try:
        setup_users(system, MEMSUB_DIR)
        w = subscribe("memsub-warmup", WARMUP, 10, 0)
        if not w.ok:
            raise b.BenchError(f"memsub: warm-up fetches failed (see {w.err_file})")
        base = point(system, "baseline")
        if base["active_watchers"] != 0:
            raise b.BenchError(f"memsub: {base['active_watchers']} subscriptions left before the baseline")
        res["points"].append(base)
        have = 0
        for n in counts:
            t = time.monotonic()
            r = subscribe(f"memsub-{n}", n - have, RATE, LONG_EXPIRES)
            b.check_modules()
            system.check_alive()
            res["loads"].append({"to": n, "calls": n - have, "successful": r.successful,
                                 "failed": r.failed, "rc": r.rc, "rate": r.rate,
                                 "retrans": r.retrans, "wall_s": round(time.monotonic() - t, 1)})
            b.say(f"  {n - have} subscriptions at {RATE}/s: {r.successful} ok, {r.failed} failed, "
                  f"achieved {r.rate:.1f}/s, {r.retrans} retrans, {time.monotonic() - t:.0f}s")
            have += r.successful
            if not r.ok:
                # on to the next count all the same: the figures are per
                # subscription the server holds
                res["ok"] = False
            p = point(system, f"{n} subscriptions")
            res["points"].append(p)
            if p["active_watchers"] != have:
                # a NOTIFY retransmitted after SIPp ended its call times
                # out and presence drops that subscription: per
                # subscription is per subscription the server holds
                b.say(f"  the PS holds {p['active_watchers']} subscriptions, SIPp made {have}")
            have = p["active_watchers"]
        res["errors"] = {r.name: r.log_errors(0) for r in system.roles}
    finally:
        system.stop()
    return res


def per_sub(res, role, key="real_used"):
    """[(n, bytes per subscription, total delta)] of a role."""
    base = res["points"][0]["roles"][role]["shm"][key]
    return [(p["subscriptions"], (p["roles"][role]["shm"][key] - base) / p["subscriptions"],
             p["roles"][role]["shm"][key] - base)
            for p in res["points"][1:] if p["subscriptions"]]


def table(res):
    lines = [f"Memory per active subscription: bob's authenticated subscriptions to alice (watcher_auth",
             f"  digest, notify_smime binding to his certificate, NOTIFYs encrypted), Expires {LONG_EXPIRES},",
             f"  created at {res['rate']}/s; shared memory -m {res['shm_mb']} ({res['mem_manager']}); "
             "core.shmmem after the load drained,",
             "  against the same read before the first subscription (after "
             f"{WARMUP} fetches that fill the one-off caches).", ""]
    head = (f"{'subscriptions':>13} {'PS shm real_used':>16} {'delta':>12} {'B/sub':>7} {'B/sub used':>10} "
            f"{'fragments':>9} {'P-CSCF B/sub':>12} {'active_watchers':>15} {'bindings':>8}")
    lines += [head, "-" * len(head)]
    ps, psu, pc = per_sub(res, "ps"), dict((n, v) for n, v, d in per_sub(res, "ps", "used")), \
        dict((n, v) for n, v, d in per_sub(res, "pcscf"))
    base = res["points"][0]
    lines.append(f"{0:>13} {base['roles']['ps']['shm']['real_used']:>16,} {'':>12} {'':>7} {'':>10} "
                 f"{base['roles']['ps']['shm']['fragments']:>9} {'':>12} {base['active_watchers']:>15} "
                 f"{base['bindings']:>8}")
    pts = {p["subscriptions"]: p for p in res["points"][1:]}
    for n, v, d in ps:
        p = pts[n]
        lines.append(f"{n:>13} {p['roles']['ps']['shm']['real_used']:>16,} {d:>12,} {v:>7.0f} "
                     f"{psu.get(n, 0):>10.0f} {p['roles']['ps']['shm']['fragments']:>9} "
                     f"{pc.get(n, 0):>12.1f} {p['active_watchers']:>15} {p['bindings']:>8}"
                     + ("" if all(r["settled"] for r in p["roles"].values()) else "  (not settled)"))
    for ld in res["loads"]:
        lines.append(f"  load to {ld['to']}: {ld['calls']} calls, {ld['successful']} ok, {ld['failed']} failed, "
                     f"achieved {ld['rate']:.1f}/s, {ld['retrans']} retrans, {ld['wall_s']}s")
    db = [(p["subscriptions"], (p["db_bytes"] - base["db_bytes"]) / p["subscriptions"])
          for p in res["points"][1:] if p["subscriptions"] and "db_bytes" in p]
    if db:
        lines.append("  PS database file (ps.db + WAL) per subscription: "
                     + "; ".join(f"{n}: {v:,.0f} B" for n, v in db)
                     + " (active_watchers and smime_binding rows; a binding row holds the certificate's PEM)")
    if len(ps) > 1:
        (n0, v0, d0), (n1, v1, d1) = ps[0], ps[-1]
        lines.append(f"  slope between {n0} and {n1}: {(d1 - d0) / (n1 - n0):.0f} B per subscription")
    errs = {n: sum(v.values()) for n, v in (res.get("errors") or {}).items()}
    lines.append(f"  log ERROR lines: " + ", ".join(f"{n} {v}" for n, v in errs.items()))
    lines.append("  B/sub: (real_used at N - at 0) / N, real_used with the allocator's own headers;")
    lines.append("  B/sub used: the same of used (what was asked for). N: the subscriptions the PS holds (rows of")
    lines.append("  active_watchers); bindings: rows of smime_binding (a binding outlives a subscription that")
    lines.append("  presence dropped after an unanswered NOTIFY until it expires).")
    return "\n".join(lines)


def ok(res):
    return res["ok"] and len(res["points"]) == len(res["counts"]) + 1


def run_only():
    """`bench.py --only memsub`."""
    os.makedirs(os.path.join(b.OUT_DIR, "logs"), exist_ok=True)
    res = measure()
    b.only_results("memsub", MEMSUB_DIR, {"memsub": res}, table(res))
    return 0 if ok(res) and not b.DIED else 1

