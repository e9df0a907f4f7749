"""Timing and memory helpers shared by the benchmarks (run them as ``python bench/<name>.py``)."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np


def timed(fn, repeats: int):
    """(median wall time in seconds over ``repeats`` calls, the last call's result)."""
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def peak_mb(fn) -> float:
    """Peak memory traced by tracemalloc (MiB) during one call of ``fn`` (numpy buffers included)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20
