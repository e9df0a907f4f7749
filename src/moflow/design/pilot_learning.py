"""Learning curves on this cohort as a pilot (rules design_fold and design_learning).

They are drawn from the nested CV's own splits and scores, with the models of :mod:`moflow.design.samplesize`
and :mod:`moflow.design.riley`.

* what is drawn: the metric and target score (:func:`design_metric`), the strategies
  (:func:`learning_strategies`), the splits (:func:`learning_splits`: the first repeat) and the strata a
  subsample keeps (:func:`subsample_strata`);
* design_fold's points: each split's training side subsampled, refit and scored (:func:`learning_points`);
* design_learning's tables: an inverse power law per strategy extrapolated to the target (:func:`size_row`),
  Riley et al.'s minimum sample size as a floor (:func:`riley_floor`), together in :func:`sample_size_design`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from moflow.cohort import Cohort
from moflow.errors import InputError
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")

DEFAULT_TARGET = {"classification": ("roc_auc", 0.8), "survival": ("harrell_c", 0.75), "regression": ("r2", 0.5)}
ERROR_METRICS = ("balanced_error_rate", "rmse", "integrated_brier")  # lower is better


@reads("design")
def design_metric(task: str, settings: Settings, board: pd.DataFrame | None = None) -> tuple[str, float, str]:
    """The metric, target score and kind of the learning curves.

    ``design: metric`` and ``target_score``, else the task's default; a metric without a default target aims
    at the best strategy's CV score.

    Parameters
    ----------
    task : str
        The outcome task: ``"classification"``, ``"survival"`` or ``"regression"``.
    settings : Settings
        The run's settings (``design: metric`` and ``design: target_score``).
    board : pandas.DataFrame, optional
        The scoreboard, best strategy first: its score is the target of a metric without a default one.

    Returns
    -------
    tuple
        (metric, target score, kind): kind is ``"error"`` for a metric where lower is better
        (:data:`ERROR_METRICS`), else ``"gain"``; the target is NaN where none can be set.
    """
    metric, target = DEFAULT_TARGET[task]
    d = settings.design
    if d.metric is not None and d.metric != metric:
        metric = d.metric
        target = float(board.iloc[0][metric]) if board is not None and metric in board.columns else np.nan
    if d.target_score is not None:
        target = float(d.target_score)
    return metric, target, "error" if metric in ERROR_METRICS else "gain"


def subsample_strata(cohort: Cohort, samples: list[str], min_fraction: float) -> pd.Series:
    """The strata whose proportions a subsample keeps.

    The class (the event status; outcome quartiles, or halves) crossed with every batch column of the layers,
    so that a subsample's batches hold the outcome groups as the training side's do (a subsample stratified
    by outcome alone can leave a batch with one class, which stops batch correction as confounded, or lets it
    remove the outcome). A crossing (or quartiles) is used only where every stratum keeps at least 2 samples
    at the smallest fraction (``min_fraction``), else the coarser strata: every stratum keeps at least 2, so
    strata too fine would make the fractions alike.

    Parameters
    ----------
    cohort : Cohort
        The cohort: its outcome, task, layers' batch columns and sample info.
    samples : list of str
        The samples to stratify (a split's training side).
    min_fraction : float
        The smallest training fraction drawn.

    Returns
    -------
    pandas.Series
        The stratum label of each sample, indexed by sample.
    """
    y = cohort.y.loc[samples]
    need = int(np.ceil(2.5 / min_fraction))  # a stratum this large keeps >= 2 samples at min_fraction

    def fine_enough(lab: pd.Series) -> bool:
        return int(lab.value_counts().min()) >= need

    if cohort.task == "classification":
        label = y.astype(str)
    elif cohort.task == "survival":
        label = pd.Series(np.where(y["event"].to_numpy(float) > 0, "event", "censored"), index=y.index)
    else:
        label = None
        for bins in (4, 2):
            lab = pd.Series(pd.qcut(y.rank(method="first"), bins, labels=False).astype(str), index=y.index)
            if fine_enough(lab) or bins == 2:
                label = lab
                break
    batch_columns = sorted({str(c) for c in cohort.omics["batch_column"] if isinstance(c, str) and c})
    for col in batch_columns:
        if col in cohort.info.columns:
            crossed = label + "|" + cohort.info[col].reindex(label.index).fillna("").astype(str)
            if fine_enough(crossed):
                label = crossed
    return label


@reads("design")
def learning_strategies(board: pd.DataFrame, settings: Settings | None = None) -> list[str]:
    """The strategies a learning curve is drawn for.

    ``design: strategies`` (those the scoreboard has), or the best integration and the best single layer.

    Parameters
    ----------
    board : pandas.DataFrame
        The scoreboard, best first (columns ``strategy`` and ``kind``).
    settings : Settings, optional
        The run's settings (``design: strategies``); ``None``: the best integration and single layer.

    Returns
    -------
    list of str
        The strategies' names.
    """
    named = list(settings.design.strategies) if settings is not None else []
    if named:
        return [s for s in named if s in set(board["strategy"])]
    return [
        board.loc[board["kind"] == k, "strategy"].iloc[0]
        for k in ("integration", "single layer")
        if (board["kind"] == k).any()
    ]


def learning_splits(splits: pd.DataFrame) -> list[str]:
    """The CV splits the learning curves use: those of the first repeat (every sample held out once)."""
    from moflow.evaluate import split_names

    names = split_names(splits)
    first = names[0].split("f")[0] if names else ""
    return [s for s in names if s.split("f")[0] == first]


@reads("design", "seed")
def learning_points(
    raw: dict[str, pd.DataFrame],
    splits: pd.DataFrame,
    names: list[str],
    cohort: Cohort,
    preprocessors: dict,
    strategies: dict,
    settings: Settings,
    *,
    times=(),
    grid=None,
) -> pd.DataFrame:
    """Learning-curve points of the splits ``names``, one after another.

    Each split's training side is subsampled (stratified, nested, seeded) to each of ``design: fractions``,
    every layer's chain (``preprocessors``) and the ``strategies`` refit on the subsample, scored on the
    split's held-out samples.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        Each layer's raw matrix (samples x features).
    splits : pandas.DataFrame
        The CV splits of the evaluation.
    names : list of str
        The splits to draw points of (:func:`learning_splits`).
    cohort : Cohort
        The cohort: outcome, task, QC samples and batch columns.
    preprocessors : dict
        Each layer's preprocessing chain.
    strategies : dict
        The strategies to refit, by name.
    settings : Settings
        The run's settings (``design: fractions``, ``seed``).
    times, grid
        A survival outcome's evaluation times.

    Returns
    -------
    pandas.DataFrame
        Columns: strategy, split, fraction, n_train, n_test, every metric, and note (why a subsample could
        not be fit).
    """
    from moflow.design.samplesize import subsample_training
    from moflow.evaluate import run_fold, score_predictions, split_members

    task = cohort.task
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    rows = []
    for split in names:
        train, test = split_members(splits, split)
        strata = subsample_strata(cohort, train, min(settings.design.fractions))
        for frac in sorted(settings.design.fractions):
            sub = subsample_training(train, strata, float(frac), int(settings.seed))
            try:
                pred = run_fold(
                    raw, preprocessors, strategies, cohort.y, sub, test, qc=qc, split=split, task=task, grid=grid
                )
            except InputError as exc:
                # the full training side ran in the evaluation; a subsample of it may not (a batch left with
                # one outcome group, a class too small for the inner folds): that point is missing, and says why
                log.warning(
                    "design: split %s at %.0f%% (%d samples) cannot be fit: %s", split, 100 * frac, len(sub), exc
                )
                rows += [
                    {"strategy": strat, "split": split, "fraction": float(frac), "n_train": len(sub), "note": str(exc)}
                    for strat in strategies
                ]
                continue
            for strat, p in pred.groupby("strategy"):
                sc = score_predictions(p, task, y_train=cohort.y.loc[sub] if task == "survival" else None, times=times)
                rows.append({"strategy": strat, "split": split, "fraction": float(frac), "n_train": len(sub), **sc})
            log.info(
                "design: split %s, %.0f%% of %d training samples (%d) done", split, 100 * frac, len(train), len(sub)
            )
    points = pd.DataFrame(rows)
    return points if "note" in points.columns else points.assign(note="")


def riley_floor(cohort: Cohort, board: pd.DataFrame, n_parameters: int, metric: str) -> dict:
    """Riley et al.'s minimum sample size for a model with ``n_parameters`` candidate parameters.

    The parameters are the MOFA factors (the compact predictor); the criteria use the cohort's prevalence or
    event rate and the best CV score (the C statistic, or R2, the criteria are built on; 0.7 / 0.25 where the
    scores are not those).

    Parameters
    ----------
    cohort : Cohort
        The cohort: the outcome of its training samples and the task.
    board : pandas.DataFrame
        The scoreboard, best first.
    n_parameters : int
        The candidate predictor parameters.
    metric : str
        The learning curves' metric (unused: the criteria read ``roc_auc``, ``harrell_c`` or ``r2``).

    Returns
    -------
    dict
        ``n`` (the minimum sample size) and ``basis`` (the model and values it assumes, as text).
    """
    from moflow.design.riley import riley_binary, riley_continuous, riley_survival

    y = cohort.y.loc[cohort.train]
    col = {"classification": "roc_auc", "survival": "harrell_c", "regression": "r2"}[cohort.task]
    best = float(board.iloc[0][col]) if col in board.columns else np.nan
    if cohort.task == "survival":
        c = float(np.clip(best, 0.55, 0.95)) if np.isfinite(best) else 0.7
        t, e = y["time"].to_numpy(float), y["event"].to_numpy(float) > 0
        rate = e.sum() / t.sum()
        res = riley_survival(
            n_parameters,
            rate=float(rate),
            mean_followup=float(t.mean()),
            timepoint=float(np.median(t[e])) if e.any() else float(np.median(t)),
            c_statistic=c,
        )
        return {
            "n": res["n"],
            "basis": f"Cox model with {n_parameters} parameters, event rate {rate:.3g} per time unit, C {c:.2f}",
        }
    if cohort.task == "regression":
        r2 = float(np.clip(best, 0.05, 0.95)) if np.isfinite(best) else 0.25
        res = riley_continuous(n_parameters, r2=r2, intercept=float(y.mean()), sd=float(y.std()))
        return {"n": res["n"], "basis": f"linear model with {n_parameters} parameters, R2 {r2:.2f}"}
    counts = y.astype(str).value_counts()
    prevalence = float(counts.min() / counts.sum())
    c = float(np.clip(best, 0.55, 0.95)) if np.isfinite(best) else 0.7
    res = riley_binary(n_parameters, prevalence=prevalence, c_statistic=c)
    return {
        "n": res["n"],
        "basis": f"logistic model with {n_parameters} parameters, smallest class "
        f"{prevalence:.2f} of the samples, AUC {c:.2f}",
    }


def size_row(fit: dict, need: dict, observed: pd.DataFrame, kind: str) -> dict:
    """The sample-size verdict of one strategy.

    The extrapolated size, or, where the pilot's own training sizes already reach the target (mean score at
    a drawn size), that smallest drawn size, not a curve read below the data.

    Parameters
    ----------
    fit : dict
        The strategy's fitted learning curve (:func:`moflow.design.samplesize.fit_learning_curve`; unused).
    need : dict
        Its size for the target (:func:`moflow.design.samplesize.size_for_target`).
    observed : pandas.DataFrame
        The strategy's points (columns ``n_train`` and ``score``).
    kind : str
        ``"gain"`` (higher is better) or ``"error"``.

    Returns
    -------
    dict
        ``n_training``, ``n_low``, ``n_high`` and ``status``.
    """
    means = observed.groupby("n_train")["score"].mean().sort_index()
    reached = means[means >= need["target"]] if kind == "gain" else means[means <= need["target"]]
    if len(reached):
        n0 = int(reached.index[0])
        return {
            "n_training": float(n0),
            "n_low": np.nan,
            "n_high": float(n0),
            "status": f"reached in this cohort: mean score {reached.iloc[0]:.3f} at {n0} training samples "
            f"(the smallest drawn size that reaches it)",
        }
    return {"n_training": need["n"], "n_low": need["low"], "n_high": need["high"], "status": need["status"]}


@reads("evaluation", "integration", "seed", uses=[design_metric, learning_strategies])
def sample_size_design(
    points: pd.DataFrame,
    scores: pd.DataFrame,
    splits: pd.DataFrame,
    board: pd.DataFrame,
    cohort: Cohort,
    settings: Settings,
) -> dict:
    """The learning curves and the sample-size table, with Riley's minimum sample size as a floor.

    The fold jobs' ``points`` and the full-size scores of the same splits (``scores``, the fold scores of the
    evaluation), an inverse power law per strategy with a split bootstrap, extrapolated to the target score;
    Riley's minimum sample size as a floor.

    Parameters
    ----------
    points : pandas.DataFrame
        The fold jobs' learning-curve points (:func:`learning_points`).
    scores : pandas.DataFrame
        The evaluation's fold scores (the full training sides).
    splits : pandas.DataFrame
        The CV splits of the evaluation.
    board : pandas.DataFrame
        The scoreboard, best first.
    cohort : Cohort
        The cohort.
    settings : Settings
        The run's settings (design, evaluation folds, MOFA factors, seed).

    Returns
    -------
    dict
        {points, curve, sample_size}: the points with the full-size ones (the metric as ``score``), each
        strategy's predicted curve with its band, and the sample-size table (one row per strategy and one
        for Riley's minimum).
    """
    from moflow.design.samplesize import fit_learning_curve, predict_score, size_for_target, size_levels
    from moflow.evaluate import split_members

    metric, target, kind = design_metric(cohort.task, settings, board)
    chosen = learning_strategies(board, settings)
    names = learning_splits(splits)
    full = scores[scores["split"].isin(names) & scores["strategy"].isin(chosen)].copy()
    full["fraction"] = 1.0
    full["n_train"] = [len(split_members(splits, s)[0]) for s in full["split"]]
    keep = ["strategy", "split", "fraction", "n_train", metric]
    points = points.reindex(columns=list(dict.fromkeys([*points.columns, *keep, "note"])))
    pts = pd.concat([points[keep], full[keep]], ignore_index=True).rename(columns={metric: "score"})
    pts = pts.sort_values(["strategy", "split", "n_train"], kind="mergesort").reset_index(drop=True)
    sizes = np.unique(np.round(np.geomspace(max(10, pts["n_train"].min()), 20 * len(cohort.train), 40)).astype(int))
    folds = int(settings.evaluation.folds)
    curves, table = [], []
    for strat in chosen:
        p = pts[(pts["strategy"] == strat)].dropna(subset=["score"])
        base = {"strategy": strat, "metric": metric, "target": target}
        levels = size_levels(p["n_train"])
        if levels < 3 or not np.isfinite(target):
            notes = points.loc[(points["strategy"] == strat) & points["note"].fillna("").astype(str).ne(""), "note"]
            why = (
                f"fewer than 3 distinct training sizes with a score ({levels}): on a cohort this small the "
                "subsamples of design: fractions come out alike; draw smaller fractions"
                if levels < 3
                else f"no target for {metric}: set design: target_score"
            )
            if len(notes):
                why += f"; a subsample could not be fit: {notes.iloc[0]}"
            table.append(
                {
                    **base,
                    "n_training": np.nan,
                    "n_low": np.nan,
                    "n_high": np.nan,
                    "status": why,
                    "asymptote": np.nan,
                    "score_at_full": np.nan,
                    "failed_bootstrap_fits": np.nan,
                }
            )
            continue
        fit = fit_learning_curve(
            p["n_train"].to_numpy(float),
            p["score"].to_numpy(float),
            kind=kind,
            groups=p["split"].to_numpy(),
            seed=int(settings.seed),
            test_to_train=1.0 / (folds - 1),
        )
        curves.append(predict_score(fit, sizes).assign(strategy=strat))
        need = size_for_target(fit, target)
        table.append(
            {
                **base,
                **size_row(fit, need, p, kind),
                "asymptote": fit["params"]["a"],
                "score_at_full": float(p.loc[p["fraction"] == 1.0, "score"].mean()),
                "failed_bootstrap_fits": fit["n_failed"],
            }
        )
    floor = riley_floor(cohort, board, int(settings.integration.mofa.factors), metric)
    table.append(
        {
            "strategy": "riley_minimum",
            "metric": metric,
            "target": np.nan,
            "n_training": floor["n"],
            "n_low": np.nan,
            "n_high": np.nan,
            "status": floor["basis"],
            "asymptote": np.nan,
            "score_at_full": np.nan,
            "failed_bootstrap_fits": np.nan,
        }
    )
    size = pd.DataFrame(table)
    size["n_cohort"] = len(cohort.train)  # the training samples of this cohort, for comparison
    curve = (
        pd.concat(curves, ignore_index=True)[["strategy", "n", "score", "low", "high", "extrapolated"]]
        if curves
        else pd.DataFrame(columns=["strategy", "n", "score", "low", "high", "extrapolated"])
    )
    log.info(
        "design: learning curves of %s; sample sizes for %s %.3g:\n%s",
        ", ".join(chosen),
        metric,
        target,
        size.to_string(index=False),
    )
    return {"points": pts, "curve": curve, "sample_size": size}
