"""The scoreboard of the strategies, and the best integration strategy against the best single layer.

The scoreboard holds every strategy's mean score and corrected interval over the CV splits, ranked by
the primary metric (external-test scores beside them); the best integration strategy is tested against
the best single layer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.evaluate.metrics import METRIC_BOUNDS, primary_metric, score_metrics
from moflow.evaluate.significance import corrected_interval, corrected_ttest

COMPARISON_COLUMNS = ["metric", "best_integration", "best_single_layer", "difference", "t", "p", "n_splits"]


def scoreboard(
    scores: pd.DataFrame,
    *,
    n_samples: int,
    min_class: int | None,
    task: str = "classification",
    external: pd.DataFrame | None = None,
    n_events: int | None = None,
) -> pd.DataFrame:
    """One row per strategy: mean and corrected 95% interval of each metric over the CV splits.

    Ranked by the primary metric; external-test scores beside them where there is an external test
    set. The effective sample size beside the scores: the smallest class, or the number of events
    (survival).

    Parameters
    ----------
    scores : pandas.DataFrame
        The scores of every split x strategy (:func:`moflow.evaluate.metrics.fold_scores`).
    n_samples : int
        The number of CV samples (with the mean test size, the training size of the correction).
    min_class : int or None
        The size of the smallest class (column ``smallest_class``); None: no such column.
    task : str
        classification, regression or survival.
    external : pandas.DataFrame, optional
        The external-test scores (:func:`moflow.evaluate.metrics.external_scores`).
    n_events : int, optional
        The number of events (column ``n_events``; survival).

    Returns
    -------
    pandas.DataFrame
        One row per strategy: ``<metric>``, ``<metric>_lo``, ``<metric>_hi``, ``n_splits``,
        ``n_samples``, ``kind`` (single layer or integration) and the external-test columns, best
        first (ties by name).
    """
    metrics = score_metrics(scores, task)
    rows = []
    for strat, d in scores.groupby("strategy", sort=True):
        n_test = d["n_test"].mean()
        row = {"strategy": strat, "n_splits": len(d)}
        for metric in metrics:
            bounds = METRIC_BOUNDS.get(metric, (0.0, 1.0) if metric.startswith("auc_") else None)
            m, lo, hi = corrected_interval(d[metric].to_numpy(), max(n_samples - n_test, 1), n_test, bounds=bounds)
            row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = m, lo, hi
        row["n_samples"] = n_samples
        if min_class is not None:
            row["smallest_class"] = min_class
        if n_events is not None:
            row["n_events"] = n_events
        rows.append(row)
    board = pd.DataFrame(rows)
    board["kind"] = np.where(board["strategy"].str.startswith("single_"), "single layer", "integration")
    if external is not None and len(external):
        ext = external.set_index("strategy")
        for col in ext.columns:
            board[col] = board["strategy"].map(ext[col])
    key = primary_metric(task)
    return board.sort_values([key, "strategy"], ascending=[False, True]).reset_index(drop=True)


def compare_best(scores: pd.DataFrame, board: pd.DataFrame, *, n_samples: int, task: str) -> pd.DataFrame:
    """Corrected resampled t-test: best integration strategy vs best single layer, on paired splits.

    Parameters
    ----------
    scores : pandas.DataFrame
        The scores of every split x strategy (:func:`moflow.evaluate.metrics.fold_scores`).
    board : pandas.DataFrame
        The scoreboard (:func:`scoreboard`): its first integration and first single-layer rows are
        compared.
    n_samples : int
        The number of CV samples.
    task : str
        classification, regression or survival (the primary metric is compared).

    Returns
    -------
    pandas.DataFrame
        One row with the columns :data:`COMPARISON_COLUMNS`; no row when either kind is missing.
    """
    metric = primary_metric(task)
    integ = board[board["kind"] == "integration"]
    single = board[board["kind"] == "single layer"]
    if integ.empty or single.empty:  # nothing to compare: the columns, no row
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    a_name, b_name = integ.iloc[0]["strategy"], single.iloc[0]["strategy"]
    wide = scores.pivot(index="split", columns="strategy", values=metric)
    n_test = scores["n_test"].mean()
    res = corrected_ttest(wide[a_name].to_numpy(), wide[b_name].to_numpy(), max(n_samples - n_test, 1), n_test)
    return pd.DataFrame([{"metric": metric, "best_integration": a_name, "best_single_layer": b_name, **res}])
