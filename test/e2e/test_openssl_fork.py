"""OpenSSL's per-thread state is each Kamailio process's own (lib/kossl.c).

With the tls module loaded OpenSSL allocates in shared memory, and the error
queue the main process had made before fork() was one object every child
pointed to: two processes clearing it at once freed the same memory twice
(the PS died so under load, in ERR_clear_error). gdb asks each process of a
role for the address of its error queue.
"""
import re
import shutil
import subprocess

import pytest

from test_malformed import role_pids


@pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb")
@pytest.mark.parametrize("name", ["pcscf", "ps"])
def test_each_process_has_its_own_openssl_error_queue(system, name):
    role = getattr(system, name)
    children = sorted(p for p in role_pids(role) if p != role.proc.pid)[:6]
    assert len(children) >= 4, children
    addrs = {}
    for pid in children:
        out = subprocess.run(["gdb", "-batch", "-p", str(pid),
                              "-ex", "print (void*)ERR_get_state()"],
                             capture_output=True, text=True, timeout=60).stdout
        m = re.search(r"^\$1 = \(void \*\) (0x[0-9a-f]+)", out, re.M)
        assert m, out[-600:]
        addrs[pid] = m.group(1)
    assert len(set(addrs.values())) == len(addrs), addrs
