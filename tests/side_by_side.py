"""Workflow runs of the suite two at a time, as a user's 2-core machine can.

A workflow run keeps both cores busy only part of the time (Snakemake's start, the input check and the
report are one process each), so two runs side by side finish well before the two one after the other.
The e2e and real-data modules start their runs here, in a module fixture, and every test takes its own
run's outcome: a run that failed fails (or a dataset that is absent skips) only the tests that read it.

    runs = side_by_side({"a": lambda: run(folder_a), "b": lambda: run(folder_b)})
    runs.get("a")  # the callable's return value, or its exception raised again

Started early: a module that defines ``workflow_jobs(items, tmp_path_factory) -> {key: callable}`` (the
runs its selected tests ``items`` need) has them started when the session's collection ends
(tests/conftest.py: :func:`start_early`), two at a time over all such modules, in the background, while
the unit tests run in the foreground on the cores a run leaves idle (the runs at a lower priority: the
foreground is the suite's longest path); those modules' tests run last, and
their fixture takes the runs started for it (:func:`started`) instead of starting them again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

AT_ONCE = 2  # runs side by side: the suite's machine has 2 cores, and each run asks Snakemake for 2
# seconds the tests have spent waiting for workflow runs (the suite's time budget leaves them out of each test's
# own time: how long a test waits depends on where the background runs are, not on the test), and each run's
# wall seconds, by "module: key" (printed at the end of the session)
WAITED = [0.0]
RUN_SECONDS: dict[str, float] = {}


class Outcomes:
    """What each callable returned, or raised (raised again by :meth:`get`)."""

    def __init__(self, done: dict[str, tuple[bool, Any]]):
        self._done = done

    def get(self, key: str) -> Any:
        ok, value = self._done[key]
        if not ok:
            raise value
        return value

    def __contains__(self, key: str) -> bool:
        return key in self._done


def side_by_side(jobs: dict[str, Callable[[], Any]], at_once: int = AT_ONCE) -> Outcomes:
    """Call every job, ``at_once`` at a time (threads: each job waits on its own subprocess), in order.

    Put the longest first: the others fill the second slot meanwhile.
    """

    start = time.perf_counter()
    with ThreadPoolExecutor(max(1, at_once)) as pool:
        futures = {key: pool.submit(_call, job, key) for key, job in jobs.items()}
        outcomes = Outcomes({key: f.result() for key, f in futures.items()})
    WAITED[0] += time.perf_counter() - start
    return outcomes


class _Pending(Outcomes):
    """Outcomes of jobs still running: :meth:`get` waits for the one asked for."""

    def __init__(self, futures: dict[str, Future]):
        self._futures = futures

    def get(self, key: str) -> Any:
        start = time.perf_counter()
        ok, value = self._futures[key].result()
        WAITED[0] += time.perf_counter() - start
        if not ok:
            raise value
        return value

    def __contains__(self, key: str) -> bool:
        return key in self._futures


_POOL: list[ThreadPoolExecutor] = []
_EARLY: dict[str, _Pending] = {}


def _call(job: Callable[[], Any], name: str = "") -> tuple[bool, Any]:
    start = time.perf_counter()
    try:
        return True, job()
    except BaseException as err:  # pytest's skip and fail are BaseExceptions: kept for the test that reads it
        return False, err
    finally:
        RUN_SECONDS[name] = time.perf_counter() - start


def _yield_to_the_foreground() -> None:
    """Lower the pool thread's priority, which the runs it starts inherit (on Linux a nice value is a
    thread's): the foreground tests take the core they need, the runs every cycle left over."""
    import os

    try:
        os.nice(10)
    except (AttributeError, OSError):  # not on this platform: the runs share the cores evenly
        pass


def start_early(module: str, jobs: dict[str, Callable[[], Any]]) -> None:
    """Start ``module``'s runs now, in the session's background pool (``AT_ONCE`` runs over all modules)."""
    if not _POOL:
        _POOL.append(
            ThreadPoolExecutor(AT_ONCE, thread_name_prefix="workflow-run", initializer=_yield_to_the_foreground)
        )
    short = module.rpartition(".")[2]
    _EARLY[module] = _Pending({key: _POOL[0].submit(_call, job, f"{short}: {key}") for key, job in jobs.items()})


def started(module: str) -> Outcomes | None:
    """The runs started early for ``module`` (:func:`start_early`), or None."""
    return _EARLY.get(module)


def stop_early() -> None:
    """At the session's end: drop the runs nobody asked for, wait for those under way."""
    for pool in _POOL:
        pool.shutdown(wait=True, cancel_futures=True)
    _POOL.clear()
    _EARLY.clear()
