import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


@pytest.fixture(scope="session")
def system():
    run_dir = os.path.join(harness.TOP, "build", "test-run")
    s = harness.System(run_dir)
    s.provision()
    try:
        s.start()
        yield s
    finally:
        s.stop()
