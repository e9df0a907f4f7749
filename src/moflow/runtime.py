"""Run-time set-up shared by the workflow's scripts: logging and thread limits."""

from __future__ import annotations

import logging
import sys


def setup(log_path: str | None, threads: int = 1) -> logging.Logger:
    """Set up a workflow job: CPU accounting, logging to ``log_path``, thread limits, the error hook.

    Starts the job's CPU accounting (:mod:`moflow.accounting`; its line ends the log), sends log
    records and warnings to ``log_path`` and pins BLAS/OpenMP threads to ``threads`` (extra BLAS
    threads were measured to double MOFA's CPU time for nothing). An uncaught exception is printed as
    ``Error: <message>`` first, on stderr and in the log: without a traceback for an
    :class:`~moflow.errors.InputError` and for an output that cannot be written
    (:class:`~moflow.io.atomic.WriteError`: ``cannot write <path>: <cause> (errno N); <fix>``), with one
    for anything else.

    Parameters
    ----------
    log_path : str or None
        The job's log file; None: stderr.
    threads : int
        The BLAS/OpenMP thread limit (at least 1).

    Returns
    -------
    logging.Logger
        The ``moflow`` logger.
    """
    import atexit

    from moflow import accounting

    accounting.start()
    from threadpoolctl import threadpool_limits

    from moflow.io import open_log

    threadpool_limits(limits=max(1, int(threads)))
    logger = logging.getLogger("moflow")
    logger.setLevel(logging.INFO)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    try:
        handler = open_log(log_path) if log_path else logging.StreamHandler(sys.stderr)
    except OSError as exc:  # the log's folder cannot be written: one line, no traceback, exit status 1
        sys.stderr.write(f"Error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(handler)

    def _log_uncaught(exc_type, exc, tb):
        # The message comes first, on stderr and in the rule's own log (what --show-failed-logs prints
        # on a cluster). Bad input (InputError and its subclasses) is a message for the user: no
        # traceback, exit status 1 (Python's for an uncaught exception). Anything else is a bug or an
        # environment problem: a first line naming it, then the traceback.
        from moflow.errors import InputError
        from moflow.io import WriteError

        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if issubclass(exc_type, (InputError, WriteError)):
            # a WriteError (disk full, read-only folder) is no bug either: "cannot write <path>: <cause>; <fix>"
            first, trace = f"Error: {exc}", None
            if issubclass(exc_type, WriteError):
                logging.raiseExceptions = False  # the log may sit on the same full disk: no "Logging error" trace
        else:
            text = str(exc).splitlines()
            first = (
                f"Error: {exc_type.__name__}: {text[0] if text else ''} (not a known input problem; "
                "the traceback follows)"
            )
            trace = (exc_type, exc, tb)
        sys.stderr.write(first + "\n")
        sys.stderr.flush()
        if log_path:
            logger.error("%s", first, exc_info=trace)
        if trace is not None:
            sys.__excepthook__(*trace)

    sys.excepthook = _log_uncaught
    atexit.register(lambda: logger.info("%s", accounting.line()))
    return logger


def settings(smk):
    """The rule's settings: the sections ``rules/common.smk`` handed it (``params.settings``)."""
    from moflow.settings import Settings

    return Settings.from_config(smk.params.settings)


def sheets(smk):
    """The job's sample sheet (``input.samples``) and omics sheet (``input.omics``), as read."""
    from moflow import io

    return io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics)


def regulators(smk) -> dict:
    """The hierarchical strategy's regulator edge lists, checked: {name: edges}.

    Names from ``params.regulators``, files from ``input.edges``; empty without the strategy.
    """
    from moflow.inputs import regulator_edges

    return {name: regulator_edges(f) for name, f in zip(smk.params.regulators, smk.input.edges, strict=True)}


def outputs_of(named, step: str, index: int | None = None) -> dict:
    """The files of one step of a job that runs several (``<step>__<output>`` names).

    A merged job (rules ``fit_cohort``, ``report``) declares every step's files under
    ``<step>__<output>``; this gives one step's as ``{output: path}``, the form
    :func:`moflow.io.write_outputs` takes.

    Parameters
    ----------
    named
        The job's input or output files by name (Snakemake's ``input``/``output``, or a dict).
    step : str
        The step (``preprocess``, ``mofa``, ``evaluate``...).
    index : int, optional
        Where each name holds a list (one file per layer): the position to take.

    Returns
    -------
    dict
        {output name: path}.
    """
    prefix = f"{step}__"
    out = {}
    for key in named.keys():
        if key.startswith(prefix):
            value = named[key]
            out[key[len(prefix) :]] = value[index] if index is not None else value
    return out


_FORKED: dict = {}

# What a CV split and the cohort fit import on first use (every strategy, the preprocessing chain,
# mofapy2 and through them scikit-learn's models, statsmodels, h5py): loaded once before the workers
# fork (:func:`preload`), not once in each of them (measured: 215 modules, ~0.5 s, in the demo's second
# worker).
FIT_MODULES = (
    "moflow.evaluate.folds",
    "moflow.preprocess.chain",
    "moflow.preprocess.registry",
    "moflow.integrate.early",
    "moflow.integrate.late",
    "moflow.integrate.mixed",
    "moflow.integrate.mofa_strategy",
    "moflow.integrate.hierarchical",
    "mofapy2.run.entry_point",
)


def preload(modules=FIT_MODULES) -> None:
    """Import ``modules`` now, in the job's process, so that the workers :func:`fork_map` forks share them.

    Parameters
    ----------
    modules : sequence of str
        Module names (default :data:`FIT_MODULES`).
    """
    import importlib

    for name in modules:
        importlib.import_module(name)


def _one_thread() -> None:
    """A forked worker's set-up: one BLAS/OpenMP thread.

    The job's threads are the workers; each with the job's BLAS threads oversubscribed the cores and made
    the design refits four times slower.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _run_forked(i: int):
    from moflow import accounting

    fn, items = _FORKED["job"]
    before = accounting.counters()
    result = fn(items[i])
    after = accounting.counters()
    return result, {k: after[k] - before[k] for k in after}


def fork_map(fn, items, workers: int) -> list:
    """``[fn(item) for item in items]`` over up to ``workers`` forked processes, results in order.

    The workers are forks of the job: they share its imports and its data in memory (copy on write) and
    start in milliseconds, so a job that asked for several threads spreads independent pieces of work
    (the design stage's learning-curve splits) over them, one BLAS thread each. ``fn`` and ``items`` need
    not be picklable; the results must be. One worker (or one item), or a system other than Linux
    (macOS's Accelerate BLAS is not safe across fork): in this process, one item after another. The
    workers' CPU time counts in the job's accounting (:mod:`moflow.accounting`).

    Parameters
    ----------
    fn : callable
        Applied to each item.
    items : sequence
        The pieces of work.
    workers : int
        The most processes at once (the job's threads).

    Returns
    -------
    list
        ``fn(item)`` for every item, in the order of ``items``.
    """
    import sys

    items = list(items)
    workers = max(1, min(int(workers), len(items)))
    if workers == 1 or not sys.platform.startswith("linux"):  # fork is safe with numpy's BLAS on Linux only
        return [fn(item) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _FORKED["job"] = (fn, items)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
            done = list(pool.map(_run_forked, range(len(items))))
    finally:
        _FORKED.clear()
    from moflow import accounting

    for _, counted in done:  # the workers' imports, reading and writing, where they belong
        accounting.add(counted)
    return [result for result, _ in done]
