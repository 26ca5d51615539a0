import os
import sys

import pytest

# node A of each role on the addresses the e2e harness calls PCSCF_IP and
# PS_IP, away from the e2e suite's own (.10, .20) on the same TEST_NET
_net = os.environ.get("TEST_NET", "127.0.1")
os.environ.setdefault("TEST_PCSCF_IP", f"{_net}.110")
os.environ.setdefault("TEST_PS_IP", f"{_net}.120")
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import cluster  # noqa: E402
import harness  # noqa: E402


@pytest.fixture(scope="session")
def nodes():
    ok, why = cluster.available()
    if not ok:
        pytest.skip(f"cluster suite skipped: {why}")
    c = cluster.Cluster(os.path.join(harness.TOP, "build", "cluster-run"))
    try:
        c.provision()
        c.start()
        yield c
    finally:
        c.stop()
