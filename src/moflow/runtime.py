"""Run-time set-up shared by the workflow's scripts: logging and thread limits."""

from __future__ import annotations

import logging
import sys


def setup(log_path: str | None, threads: int = 1) -> logging.Logger:
    """Send log records and warnings to ``log_path`` and pin BLAS/OpenMP threads to ``threads``
    (extra BLAS threads were measured to double MOFA's CPU time for nothing)."""
    from threadpoolctl import threadpool_limits

    from .io import open_log

    threadpool_limits(limits=max(1, int(threads)))
    logger = logging.getLogger("moflow")
    logger.setLevel(logging.INFO)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = open_log(log_path) if log_path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(handler)

    def _log_uncaught(exc_type, exc, tb):
        # the rule's own log then holds the error (what --show-failed-logs prints on a cluster)
        logger.error("%s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = _log_uncaught
    return logger


def settings(smk):
    """The rule's settings: the sections ``rules/common.smk`` handed it (``params.settings``)."""
    from .settings import Settings

    return Settings.from_config(smk.params.settings)
