"""Test-wide set-up: one BLAS thread, and the suite's own time budget.

One BLAS thread: on a loaded 2-core machine multi-threaded OpenBLAS made tiny SVDs about 100x slower
(measured: 0.55 s vs 4 ms for 90 x 200); the workflow's jobs pin it the same way.

Workflow runs started early: the modules that define ``workflow_jobs`` (the scenario matrix, the real
cohorts' runs, the e2e run) have their runs started in the background when collection ends, two at a
time (tests/side_by_side.py), and the tests that read them run last: a workflow run leaves a core idle
much of the time, and the unit tests use it meanwhile. ``MOFLOW_TEST_EARLY=0`` turns it off (each
module's first test then starts its runs, as before).

The time budget: the machine's speed is measured first (tests/machine_speed.py), then every test's own
duration (setup, call and teardown, less what it spent waiting for workflow runs: those count in the whole
suite's time, and their wall times are printed at the end) is recorded here, and
``tests/test_suite_budget.py``, moved to the end of the run, compares them with
``tests/durations_budget.tsv``, scaled by the machine's speed.
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
# the fixtures through which a test reads a module's workflow runs (tests/side_by_side.py)
RUN_FIXTURES = {"scenario_runs", "cohort_runs", "cohort", "runs", "finished_run"}
# the order the modules' runs start in: the longest first
EARLY_ORDER = ("test_scenarios", "test_realdata_workflow", "test_workflow")
_durations: dict[str, float] = {}
_session: dict = {}


def pytest_sessionstart(session):
    _session["start"] = time.perf_counter()


def pytest_terminal_summary(terminalreporter):
    from side_by_side import RUN_SECONDS

    if RUN_SECONDS:
        slowest = sorted(RUN_SECONDS.items(), key=lambda kv: -kv[1])
        terminalreporter.write_line(
            "workflow runs (wall s, side by side): " + ", ".join(f"{k} {v:.0f}" for k, v in slowest)
        )
    if "speed" in _session:
        from machine_speed import REFERENCE_MACHINE, REFERENCE_S, slowdown

        took = " s and ".join(f"{_session[k]:.3f}" for k in ("speed", "speed_end") if k in _session)
        slower = max(_session["speed"], _session.get("speed_end", 0.0))
        terminalreporter.write_line(
            f"machine speed: the calibration workload took {took} s (at the start and the end), {REFERENCE_S:.3f} s "
            f"on {REFERENCE_MACHINE}: time budgets x{slowdown(slower):.2f}"
        )


def pytest_collection_modifyitems(session, config, items):
    """The budget test runs last, when every other test's duration is known; the session remembers
    whether it is the whole suite (no selection) for the total's check."""
    last = [item for item in items if item.nodeid.endswith(BUDGET_TEST)]
    runs = [item for item in items if _reads_runs(item) and item not in last]
    if _early(config):  # the tests that read early-started runs: after every other, in the runs' order
        runs.sort(key=lambda item: _rank(item.module))
    else:
        runs = []
    items[:] = [item for item in items if item not in last and item not in runs] + runs + last
    chosen = {str(a).rstrip("/") for a in config.args} or {"tests"}
    _session["whole"] = (
        not config.option.keyword
        and not config.option.markexpr
        and not getattr(config.option, "lf", False)
        and chosen <= {"tests", str(config.rootpath / "tests")}
    )
    _session["collected"] = len(items)


def _reads_runs(item) -> bool:
    module = getattr(item, "module", None)
    return hasattr(module, "workflow_jobs") and bool(RUN_FIXTURES & set(getattr(item, "fixturenames", ())))


def _rank(module) -> int:
    name = module.__name__.rpartition(".")[2]
    return EARLY_ORDER.index(name) if name in EARLY_ORDER else len(EARLY_ORDER)


def _early(config) -> bool:
    return os.environ.get("MOFLOW_TEST_EARLY", "1") != "0" and not config.option.collectonly


def pytest_collection_finish(session):
    """Where the budget test runs, the machine's speed first, while nothing else runs (tests/machine_speed.py;
    its 1.5 s are left out of the suite's time); then the workflow runs the selected tests read start in the
    background (tests/side_by_side.py)."""
    if any(item.nodeid.endswith(BUDGET_TEST) for item in session.items):
        from machine_speed import calibrate

        started = time.perf_counter()
        _session["speed"] = calibrate()
        _session["start"] += time.perf_counter() - started
    if not _early(session.config):
        return
    from side_by_side import start_early

    modules = {}
    for item in session.items:
        if _reads_runs(item):
            modules.setdefault(item.module, []).append(item)
    for module in sorted(modules, key=_rank):
        mine = [item for item in session.items if getattr(item, "module", None) is module]
        jobs = module.workflow_jobs(mine, session.config._tmp_path_factory)
        if jobs:
            start_early(module.__name__, jobs)


def pytest_sessionfinish(session):
    from side_by_side import stop_early

    stop_early()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test's own time: what it spent waiting for workflow runs (tests/side_by_side.py) is left out."""
    from side_by_side import WAITED

    before = WAITED[0]
    yield
    _durations[item.nodeid] = _durations.get(item.nodeid, 0.0) - (WAITED[0] - before)


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


@pytest.fixture
def suite_durations():
    """{test: seconds so far}, the seconds since the session started, whether this is the whole suite, and the
    seconds the calibration workload took on this machine (tests/machine_speed.py): measured again now, when
    the workflow runs are done, and the slower of the two (a machine's speed can change during a run, and one
    measurement of a second is noisy)."""
    from machine_speed import calibrate

    elapsed = time.perf_counter() - _session["start"]
    _session["speed_end"] = calibrate()
    speed = max(_session["speed"], _session["speed_end"])
    return dict(_durations), elapsed, _session.get("whole", False), speed
