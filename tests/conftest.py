import os

import numpy as np
import pytest

#: Optional extras whose tests must not be skipped (set by .ci/run where it installed them): a skipped
#: parity or kernel test there means a broken install, not a missing option, and fails the run.
REQUIRED_EXTRAS = {
    name.strip().lower() for name in os.environ.get("GLASSNET_REQUIRE_EXTRAS", "").split(",") if name.strip()
}
_skipped_required: list[str] = []


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``glassnet demo`` as a new user runs it, once: its process (output, exit status) and its folder."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("demo")
    completed = subprocess.run([sys.executable, "-m", "glassnet", "demo"], capture_output=True, text=True, cwd=folder)
    return completed, folder / "glassnet-demo"


@pytest.fixture(scope="module")
def dask_cluster():
    """A Dask cluster of two worker processes, one per test module that needs it. Not one per session:
    its scheduler's thread, left running, would allocate during the allocation tests."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster


def pytest_runtest_logreport(report):
    if report.skipped and REQUIRED_EXTRAS:
        reason = str(report.longrepr).lower()
        missing = sorted(name for name in REQUIRED_EXTRAS if name in reason)
        if missing:
            _skipped_required.append(f"{report.nodeid} ({', '.join(missing)})")


def pytest_sessionfinish(session, exitstatus):
    if _skipped_required:
        print(f"\nGLASSNET_REQUIRE_EXTRAS: {len(_skipped_required)} test(s) of required extras were skipped:")
        for line in _skipped_required[:20]:
            print(f"  {line}")
        session.exitstatus = 1
