"""How fast this machine runs the suite's kind of work, against the machine its time budget was measured on.

The suite's budgets (tests/durations_budget.tsv) are seconds on a reference machine. Machines that count as
"2 cores" differ: the same suite took 449 s on one 2-core machine and 880 s on another (2026-12-06). Before
anything else runs, :func:`calibrate` times a small fixed workload of the suite's kind (a dense SVD, pandas
group-bys, interpreted Python) in two processes at once, as the suite keeps both cores busy, and the budgets
are scaled by how much slower this machine is (never tightened on a faster one).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

# wall seconds of one round of _workload (the median of 10 rounds in each of two processes side by side) on the
# machine the budgets were measured on, a quiet 2-core Intel Xeon (2026-12-06/07, BLAS threads 1): 0.091-0.096 s
# at the start and end of three whole suites, up to 0.144 s when a short pytest run starts (0.12-0.14 s in six
# calibrations from a fresh interpreter; one process alone 0.12-0.16 s, two real cores). The whole suites' value
# is the reference: a slower machine's budgets are rather scaled up than down.
REFERENCE_S = 0.10
REFERENCE_MACHINE = "a quiet 2-core Intel Xeon (2026-12-06)"


def _workload() -> float:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 400))
    total = 0.0
    for _ in range(8):
        total += float(np.linalg.svd(X, full_matrices=False)[1][0])
    frame = pd.DataFrame(X[:, :20])
    frame["g"] = np.arange(len(frame)) % 7
    for _ in range(60):
        total += float(frame.groupby("g").mean().to_numpy().sum())
    s = 0
    for i in range(600_000):
        s += i * i % 7
    return total + s


def _rounds(rounds: int) -> list[float]:
    _workload()  # warm caches and lazy imports
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        _workload()
        times.append(time.perf_counter() - t)
    return times


def calibrate(rounds: int = 10, processes: int = 2) -> float:
    """Median wall seconds of one round of the workload (about 0.15 s) with ``processes`` running it side by
    side, as the suite keeps both cores busy: two vCPUs that share a physical core show here, not in one
    process alone."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        times = pool.map(_rounds, [rounds] * processes)
    return statistics.median(t for each in times for t in each)


def slowdown(measured: float, reference: float = REFERENCE_S) -> float:
    """How many times slower this machine is than the reference, at least 1."""
    return max(1.0, measured / reference) if reference > 0 else 1.0
