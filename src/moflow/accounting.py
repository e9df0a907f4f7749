"""CPU accounting of one workflow job: start-up, reading, analysis and writing.

A job's CPU time (all threads of the process, ``time.process_time``) is split into
* start-up: the interpreter, Snakemake's script preamble and every import, wherever it happens (a
  function that imports scikit-learn on first use pays it here, not in its analysis);
* read and write: the time inside :mod:`moflow.io`'s readers and writers (imports excluded);
* analysis: the rest.
:func:`start` (called by ``runtime.setup``) begins it; at exit the job's log gets one line
``moflow cpu: startup S s, read R s, analysis A s, write W s`` that ``bench/bench_workflow_scale.py``
sums over the jobs of a run. Outside a workflow job nothing is measured (the decorator is a no-op).
"""

from __future__ import annotations

import builtins
import functools
import sys
import time

_state = {"on": False, "depth": 0, "imports": 0.0, "startup": 0.0, "read": 0.0, "write": 0.0}
_original_import = builtins.__import__


def _timed_import(name, globals=None, locals=None, fromlist=(), level=0):
    args = (name, globals, locals, fromlist, level)
    if _state["depth"]:
        return _original_import(*args)
    if level == 0 and name in sys.modules:  # already loaded: a lookup, not worth two clock reads
        module = sys.modules[name]
        if not fromlist or all(hasattr(module, f) for f in fromlist if f != "*"):
            return _original_import(*args)
    _state["depth"] += 1
    t = time.process_time()
    try:
        return _original_import(*args)
    finally:
        _state["imports"] += time.process_time() - t
        _state["depth"] -= 1


def start() -> None:
    """Begin accounting: everything so far was start-up; imports from now on are timed."""
    if _state["on"]:
        return
    _state.update(on=True, startup=time.process_time(), imports=0.0, read=0.0, write=0.0, children=_children())
    builtins.__import__ = _timed_import


def phase(name: str):
    """Decorator: the CPU time of calls to the function counts as ``name`` (read | write).

    Nested calls and imports inside it count once, where they belong.
    """

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if not _state["on"] or _state.get("in_phase"):
                return fn(*args, **kwargs)
            _state["in_phase"] = True
            t, imp = time.process_time(), _state["imports"]
            try:
                return fn(*args, **kwargs)
            finally:
                _state[name] += (time.process_time() - t) - (_state["imports"] - imp)
                _state["in_phase"] = False

        return inner

    return wrap


_PHASES = ("imports", "read", "write")


def counters() -> dict[str, float]:
    """The CPU seconds counted so far in imports, reading and writing.

    A forked worker reports what it added to them back to its job (:func:`add`).
    """
    return {k: _state[k] for k in _PHASES}


def add(counted: dict[str, float]) -> None:
    """Add a forked worker's imports, reading and writing (:func:`counters` differences) to this job's.

    The worker's CPU time comes in with the finished children's; without this, all of it is analysis.
    """
    for k in _PHASES:
        _state[k] += counted.get(k, 0.0)


def _children() -> float:
    """CPU seconds of the process's finished (waited-for) child processes."""
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def summary() -> dict[str, float]:
    """CPU seconds so far: startup, read, analysis, write.

    They add up to the process's CPU time and that of its child processes finished since :func:`start`
    (the forked workers of :func:`moflow.runtime.fork_map`, whose work is analysis).
    """
    total = time.process_time() + _children() - _state.get("children", 0.0)
    startup = _state["startup"] + _state["imports"]
    out = {"startup": startup, "read": _state["read"], "write": _state["write"]}
    out["analysis"] = max(0.0, total - sum(out.values()))
    return out


def line() -> str:
    """The accounting line that ends a job's log: ``moflow cpu: startup S s, read R s, analysis A s, write W s``."""
    s = summary()
    return (
        f"moflow cpu: startup {s['startup']:.2f} s, read {s['read']:.2f} s, analysis {s['analysis']:.2f} s, "
        f"write {s['write']:.2f} s"
    )


def stop() -> None:
    """End accounting (tests): the original import back, the decorator a no-op again."""
    builtins.__import__ = _original_import
    _state["on"] = False
