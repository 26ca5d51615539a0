"""Memory of a running Kamailio role, read over its ctl socket: shared
memory (core.shmmem) and the private (pkg) memory of every process
(pkg.stats, named by core.psx). Used by bench/memsub.py and bench/soak.py.

pkg.stats shows what each process last published: Kamailio's q_malloc and
f_malloc publish on every allocation (MALLOC_STATS, which Debian's build
has), tlsf never after start-up. A caller that needs per-process pkg
figures runs the roles with MEM_MANAGER=qm (scripts/role.sh)."""
import re
import time


def rpc_records(text):
    """[{key: value}] of kamcmd's output of an array of structs."""
    out, cur = [], None
    for line in (text or "").splitlines():
        t = line.strip()
        if t == "{":
            cur = {}
        elif t == "}":
            if cur is not None:
                out.append(cur)
            cur = None
        elif cur is not None and ":" in t:
            k, v = t.split(":", 1)
            v = v.strip()
            cur[k.strip()] = int(v) if re.fullmatch(r"-?\d+", v) else v
    return out


def snapshot(role):
    """{"shm": {total, free, used, real_used, max_used, fragments},
    "pkg": {pid: {"desc", "used", "real_used", "free"}}} of a role, or
    None when its ctl does not answer."""
    shm = rpc_records(role.rpc("core.shmmem"))
    pkg = rpc_records(role.rpc("pkg.stats"))
    if not shm or not pkg:
        return None
    procs = {}
    for r in pkg:
        procs[r["pid"]] = {"desc": re.sub(r" sock=\S+", "", str(r.get("desc", ""))).strip(),
                           "used": r["used"], "real_used": r["real_used"], "free": r["free"]}
    return {"shm": shm[0], "pkg": procs}


def settle(role, key="real_used", quiet=6.0, limit=90.0, tolerance=0.001):
    """Shared memory read until two reads quiet seconds apart differ by at
    most tolerance (relative), at most limit seconds: transactions and
    timers release what they hold after a load (quiet is longer than tm's
    5 s wait timer). The last snapshot, and
    whether it settled."""
    deadline = time.monotonic() + limit
    last = snapshot(role)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        cur = snapshot(role)
        if last and cur:
            a, b = last["shm"][key], cur["shm"][key]
            if abs(b - a) <= tolerance * max(a, 1):
                return cur, True
        last = cur
    return last, False


def pkg_by_kind(snap):
    """{process description: real_used} of a snapshot; processes of the
    same description (e.g. the UDP receivers) get their rank appended."""
    out = {}
    for pid in sorted(snap["pkg"]):
        p = snap["pkg"][pid]
        name, i = p["desc"], 1
        while name in out:
            i += 1
            name = f"{p['desc']} #{i}"
        out[name] = p["real_used"]
    return out
