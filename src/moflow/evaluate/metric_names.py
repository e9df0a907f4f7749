"""The metrics each outcome is scored with, by name, and their ranges.

Kept apart from :mod:`moflow.evaluate.metrics` (which imports scikit-learn): the start-up checks
every Snakemake run makes (``design: metric``) need only the names.
"""

from __future__ import annotations

import numpy as np

CLASS_METRICS = ("balanced_accuracy", "roc_auc", "balanced_error_rate")
REG_METRICS = ("r2", "pearson_r", "rmse")
# survival: Harrell's and Uno's C, the time-dependent AUC (mean over the AUC times; also per time, as
# auc_<time> columns) and the integrated Brier score (lower is better)
SURV_METRICS = ("harrell_c", "uno_c", "td_auc", "integrated_brier")
# the range a metric can take: its interval is clipped to it (R2 cannot exceed 1, however wide)
METRIC_BOUNDS = {
    **{m: (0.0, 1.0) for m in CLASS_METRICS + SURV_METRICS},
    "r2": (-np.inf, 1.0),
    "pearson_r": (-1.0, 1.0),
    "rmse": (0.0, np.inf),
}
