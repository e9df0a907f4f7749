"""The CPU accounting every job's log ends with (moflow.accounting): its parts add up and land where
they belong (imports in start-up, io's readers and writers in read / write)."""

import sys
import time

import numpy as np
import pandas as pd
import pytest

from moflow import accounting, io


def _burn(seconds: float) -> None:
    t = time.process_time()
    x = 0.0
    while time.process_time() - t < seconds:
        x += float(np.sum(np.arange(1000.0)))


def test_parts_add_up_and_land_in_their_phase(tmp_path, monkeypatch):
    sys.modules.pop("moflow_accounting_probe", None)
    (tmp_path / "moflow_accounting_probe.py").write_text(
        "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # this process's own CPU only: the suite's workflow runs, started in the background from this process, are
    # its children too, and one that ends meanwhile would add its CPU (the forked workers' test checks children)
    monkeypatch.setattr(accounting, "_children", lambda: 0.0)
    X = pd.DataFrame(np.ones((50, 2000)), index=[f"S{i}" for i in range(50)])
    X.columns = X.columns.astype(str)
    accounting.start()
    try:
        before = accounting.summary()
        import moflow_accounting_probe  # noqa: F401  (0.3 s of CPU at import)

        io.write_matrix(X, tmp_path / "x.parquet")
        io.read_matrix(tmp_path / "x.parquet")
        _burn(0.3)
        after = accounting.summary()
    finally:
        accounting.stop()
    gained = {k: after[k] - before[k] for k in after}
    assert gained["startup"] >= 0.29
    assert gained["read"] > 0 and gained["write"] > 0
    assert gained["analysis"] >= 0.29
    assert sum(after.values()) == pytest.approx(time.process_time(), abs=0.05)
    assert "moflow cpu: startup" in accounting.line()


def test_decorator_is_a_no_op_outside_a_job(tmp_path):
    X = pd.DataFrame(np.ones((3, 2)), index=["a", "b", "c"], columns=["f", "g"])
    io.write_matrix(X, tmp_path / "x.parquet")
    assert io.read_matrix(tmp_path / "x.parquet").equals(X.rename_axis("sample"))
    assert not accounting._state["on"]  # nothing measured, nothing patched


def _burn_and_pid(seconds: float) -> int:
    import os

    _burn(seconds)
    return os.getpid()


def test_forked_workers_keep_order_and_count_where_they_belong(tmp_path):
    """moflow.runtime.fork_map: results in the order of the items, computed in other processes; their CPU
    time in the job's analysis, and what they spent writing in its writing (the design stage's
    learning-curve refits, the CV splits beside the cohort fit)."""
    import os

    from moflow.runtime import fork_map

    assert fork_map(lambda x: x * 2, [3, 1, 2], workers=1) == [6, 2, 4]  # one worker: in this process
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 2000)), index=[f"S{i}" for i in range(300)])
    X.columns = X.columns.astype(str)

    def work(i):
        for k in range(5):
            io.write_matrix(X, tmp_path / f"x{i}_{k}.parquet")
        return _burn_and_pid(0.4)

    accounting.start()
    try:
        before = accounting.summary()
        pids = fork_map(work, [0, 1], workers=2)
        after = accounting.summary()
    finally:
        accounting.stop()
    assert os.getpid() not in pids
    gained = {k: after[k] - before[k] for k in after}
    assert gained["analysis"] >= 0.7  # both workers' 0.4 s
    assert gained["write"] > 0.05  # the workers' writing, not analysis
