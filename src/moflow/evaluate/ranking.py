"""The scoreboard of the strategies, and the best integration strategy against the best single layer.

The scoreboard holds every strategy's mean score and corrected interval over the CV splits, ranked by
the primary metric (external-test scores beside them); the best integration strategy is tested against
the best single layer.
"""

from __future__ import annotations

import pandas as pd

from moflow.evaluate.metrics import METRIC_BOUNDS, primary_metric, score_metrics
from moflow.evaluate.significance import corrected_interval, corrected_ttest

COMPARISON_COLUMNS = ["metric", "best_integration", "best_single_layer", "difference", "t", "p", "n_splits"]
GAIN_COLUMNS = ["strategy", "kind", "baseline", "metric", "gain", "gain_lo", "gain_hi", "t", "p", "p_holm", "n_splits"]
# the kinds a strategy may be chosen from; baselines (naive, clinical) and the reference (trees) never are
CANDIDATE_KINDS = ("integration", "single layer", "integration + clinical", "single layer + clinical")
WITH_CLINICAL = "+clinical"  # as moflow.integrate.baselines.WITH_CLINICAL (this module stays light to import)


def kind_of(strategy: str) -> str:
    """A scoreboard row's kind: single layer, integration, either ``+ clinical``, baseline or reference.

    ``naive`` and ``clinical`` are baselines, ``trees`` the reference; ``<strategy>+clinical`` is the
    strategy with the clinical covariates.
    """
    if strategy in ("naive", "clinical"):
        return "baseline"
    if strategy == "trees":
        return "reference"
    base = strategy.removesuffix(WITH_CLINICAL)
    kind = "single layer" if base.startswith("single_") else "integration"
    return f"{kind} + clinical" if strategy.endswith(WITH_CLINICAL) else kind


def best_strategy(board: pd.DataFrame) -> pd.Series:
    """The best row of the scoreboard that may be chosen (:data:`CANDIDATE_KINDS`): the first such row."""
    rows = board[board["kind"].isin(CANDIDATE_KINDS)]
    return (rows if len(rows) else board).iloc[0]


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
        ``n_samples``, ``kind`` (:func:`kind_of`) and the external-test columns, best first (ties by
        name); baselines and the reference are ranked among the strategies, where their score puts them.
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
    board["kind"] = [kind_of(s) for s in board["strategy"]]
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


def gains(scores: pd.DataFrame, board: pd.DataFrame, *, n_samples: int, task: str) -> pd.DataFrame:
    """Every strategy's gain over each baseline (naive, clinical), on paired splits, corrected.

    Per strategy that may be chosen (:data:`CANDIDATE_KINDS`) and the reference, and per baseline
    present: the mean gain in the primary metric (positive is better, also for RMSE, whose difference
    is turned round), its Nadeau-Bengio corrected 95% interval, the corrected resampled t-test and its
    p, Holm-adjusted over a family of comparisons (``p_holm``): the best of many strategies is otherwise
    easily "significant". The families: against naive, every strategy; against clinical, the strategies
    with the covariates (``+clinical``: what the omics add to them) apart from those without (the omics
    instead of them).

    Parameters
    ----------
    scores : pandas.DataFrame
        The scores of every split x strategy (:func:`moflow.evaluate.metrics.fold_scores`).
    board : pandas.DataFrame
        The scoreboard (:func:`scoreboard`), for the order and the kinds.
    n_samples : int
        The number of CV samples.
    task : str
        classification, regression or survival.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GAIN_COLUMNS`, in board order within each baseline (naive first).
    """
    from moflow.evaluate.significance import holm

    metric = primary_metric(task)
    sign = -1.0 if metric in ("rmse",) else 1.0
    wide = scores.pivot(index="split", columns="strategy", values=metric)
    n_test = scores["n_test"].mean()
    n_train = max(n_samples - n_test, 1)
    rows = []
    for base in ("naive", "clinical"):
        if base not in wide.columns:
            continue
        family = []
        for _, r in board.iterrows():
            if r["kind"] not in (*CANDIDATE_KINDS, "reference") and not (
                base == "naive" and r["strategy"] == "clinical"
            ):
                continue
            a, b = wide[r["strategy"]].to_numpy(float), wide[base].to_numpy(float)
            d = sign * (a - b)
            m, lo, hi = corrected_interval(d, n_train, n_test, bounds=None)
            res = corrected_ttest(sign * a, sign * b, n_train, n_test)
            family.append(
                {
                    "strategy": r["strategy"],
                    "kind": r["kind"],
                    "baseline": base,
                    "metric": metric,
                    "gain": m,
                    "gain_lo": lo,
                    "gain_hi": hi,
                    "t": res["t"],
                    "p": res["p"],
                    "n_splits": res["n_splits"],
                }
            )
        groups = [[f for f in family if f["strategy"].endswith(WITH_CLINICAL) == w] for w in (True, False)]
        for group in groups if base == "clinical" else [family]:
            for f, q in zip(group, holm([f["p"] for f in group]), strict=True):
                f["p_holm"] = q
        rows += family
    return pd.DataFrame(rows, columns=GAIN_COLUMNS)
