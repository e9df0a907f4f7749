"""Test-wide set-up: one BLAS thread, and the suite's own time budget.

One BLAS thread: on a loaded 2-core machine multi-threaded OpenBLAS made tiny SVDs about 100x slower
(measured: 0.55 s vs 4 ms for 90 x 200); the workflow's jobs pin it the same way.

The time budget: every test's duration (setup, call and teardown: a module fixture that runs the
workflow counts in the first test that uses it) is recorded here, and ``tests/test_suite_budget.py``,
moved to the end of the run, compares them with ``tests/durations_budget.tsv``.
"""

from __future__ import annotations

import os

# before any BLAS is loaded: threadpool_limits below only reaches the libraries loaded by then, and
# scipy.optimize's OpenBLAS is loaded later (logistic regression's L-BFGS ran 8x slower on 2 threads)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402

import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(limits=1)

BUDGET_TEST = "test_suite_budget.py::test_durations_stay_within_budget"
_durations: dict[str, float] = {}
_session: dict = {}


def pytest_sessionstart(session):
    _session["start"] = time.perf_counter()


def pytest_collection_modifyitems(session, config, items):
    """The budget test runs last, when every other test's duration is known; the session remembers
    whether it is the whole suite (no selection) for the total's check."""
    last = [item for item in items if item.nodeid.endswith(BUDGET_TEST)]
    items[:] = [item for item in items if item not in last] + last
    chosen = {str(a).rstrip("/") for a in config.args} or {"tests"}
    _session["whole"] = (
        not config.option.keyword
        and not config.option.markexpr
        and not getattr(config.option, "lf", False)
        and chosen <= {"tests", str(config.rootpath / "tests")}
    )
    _session["collected"] = len(items)


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


@pytest.fixture
def suite_durations():
    """{test: seconds so far}, the seconds since the session started, and whether this is the whole suite."""
    return dict(_durations), time.perf_counter() - _session["start"], _session.get("whole", False)
