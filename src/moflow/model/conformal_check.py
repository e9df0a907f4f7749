"""How often the bundle's prediction sets and intervals hold the truth, measured without touching it.

The bundle's conformal thresholds come from the outer CV's out-of-fold predictions, and the model that
uses them is the refit on every training sample (:mod:`moflow.model.conformal`). The same procedure is
run inside each outer split of the first repeat: the training side is split again (as many folds as
the outer CV, stratified the same way, subjects kept together), the chosen strategy refit on each inner
training side with its preprocessing, and the thresholds fitted on those inner out-of-fold predictions
are applied to the outer split's model, the one the evaluation scored on the held-out samples. Nothing
of the held-out samples enters the thresholds, so their coverage is an honest estimate of the coverage
of new samples from the same population (:func:`conformal_check`).

With an external test set, the bundle's own thresholds (every CV split's out-of-fold predictions) are
applied to the split ``final``'s predictions (the bundle's model): their coverage is the bundle's,
measured on samples it never saw (:func:`external_coverage`). :func:`coverage_summary` makes the table
the report shows: coverage with its 95% interval, set size or interval width, per class.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from moflow.errors import InputError
from moflow.model.conformal import Conformal, apply_conformal, covered, fit_conformal

log = logging.getLogger("moflow")


def cv_predictions(predictions: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """The out-of-fold rows of one strategy: every CV split (not ``final``)."""
    from moflow.evaluate import FINAL

    return predictions[(predictions["strategy"] == strategy) & (predictions["split"] != FINAL)]


def check_splits(splits: pd.DataFrame) -> list[str]:
    """The outer splits the check runs in: the first repeat's (``r1f*``; every training sample held out once)."""
    from moflow.evaluate import split_names

    return [s for s in split_names(splits) if str(s).startswith("r1f")]


def _rows(conf: Conformal, pred: pd.DataFrame, scope: str) -> pd.DataFrame:
    sets = apply_conformal(conf, pred)
    out = pred[["split", "sample", "y_true"]].copy()
    out.insert(0, "scope", scope)
    out = pd.concat([out, sets], axis=1)
    out["covered"] = covered(sets, pred["y_true"])
    return out.reset_index(drop=True)


def conformal_check(
    raw: dict[str, pd.DataFrame],
    splits: pd.DataFrame,
    predictions: pd.DataFrame,
    cohort,
    strategy: str,
    names: list[str],
    *,
    strategies: dict,
    preprocessors: dict,
    clinical: tuple | None,
    coverage: float,
    folds: int,
    seed: int,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """The coverage of the conformal procedure inside the outer splits ``names``.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}; every chain is refit inside each inner split.
    splits : pandas.DataFrame
        The outer splits (:func:`moflow.evaluate.make_splits`).
    predictions : pandas.DataFrame
        The evaluation's predictions (the outer split models' held-out rows are read from it).
    cohort : Cohort
        The cohort.
    strategy : str
        The bundle's strategy (a scoreboard row; ``<name>+clinical`` refits with the covariates).
    names : list of str
        The outer splits to check (:func:`check_splits`).
    strategies, preprocessors : dict
        {name: factory} and {layer: unfitted chain}, as the fold loop gets them.
    clinical : tuple or None
        (unfitted encoder, covariates) where the strategy uses them.
    coverage : float
        ``predictor: coverage``.
    folds, seed : int
        The inner folds (the outer CV's count) and the seed.
    groups : pandas.Series, optional
        Sample -> subject (kept on one side of every inner split).

    Returns
    -------
    pandas.DataFrame
        One row per held-out sample of the splits: scope (``cv``), split, sample, y_true, the set
        (``prediction_set``, ``set_size``) or interval (``interval_lower``, ``interval_upper``),
        ``covered``, and ``note`` (why a split could not be checked; then no sample rows).
    """
    from moflow.evaluate import make_splits, run_fold, split_members
    from moflow.integrate.baselines import WITH_CLINICAL

    base = strategy.removesuffix(WITH_CLINICAL)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    outer = predictions[predictions["strategy"] == strategy]
    out = []
    for name in names:
        train, test = split_members(splits, name)
        y = cohort.y.loc[train]
        try:
            inner = make_splits(
                y,
                folds=folds,
                repeats=1,
                seed=seed,
                task=cohort.task,
                groups=None if groups is None else groups.loc[train],
            )
            oof = []
            for part in dict.fromkeys(inner["split"]):
                itrain, itest = split_members(inner, part)
                pred = run_fold(
                    raw,
                    preprocessors,
                    {base: strategies[base]},
                    cohort.y,
                    itrain,
                    itest,
                    qc=qc,
                    split=f"{name}/{part}",
                    task=cohort.task,
                    clinical=clinical if strategy.endswith(WITH_CLINICAL) else None,
                )
                oof.append(pred[pred["strategy"] == strategy])
        except (InputError, ValueError) as exc:
            log.warning("conformal check: split %s cannot be split again: %s", name, exc)
            out.append(pd.DataFrame([{"scope": "cv", "split": name, "note": str(exc)}]))
            continue
        classes = sorted(y.astype(str).unique()) if cohort.task == "classification" else None
        conf = fit_conformal(pd.concat(oof, ignore_index=True), cohort.task, coverage, classes=classes)
        held = outer[outer["split"] == name].set_index("sample").reindex(test).reset_index()
        held["split"] = name
        rows = _rows(conf, held, "cv")
        rows["note"] = conf.note
        out.append(rows)
        log.info("conformal check: split %s, %d inner folds, coverage %.3f", name, folds, rows["covered"].mean())
    return pd.concat(out, ignore_index=True)


def external_coverage(conf: Conformal, predictions: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """The bundle's sets or intervals for the external test samples (split ``final``), and whether each holds.

    Parameters
    ----------
    conf : Conformal
        The bundle's thresholds.
    predictions : pandas.DataFrame
        The evaluation's predictions.
    strategy : str
        The bundle's strategy.

    Returns
    -------
    pandas.DataFrame
        As :func:`conformal_check`, scope ``external test`` (empty without an external test set).
    """
    from moflow.evaluate import FINAL

    rows = predictions[(predictions["strategy"] == strategy) & (predictions["split"] == FINAL)]
    if rows.empty:
        return pd.DataFrame()
    out = _rows(conf, rows.reset_index(drop=True), "external test")
    out["note"] = conf.note
    return out


def _wilson(k: float, n: int) -> tuple[float, float]:
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return np.nan, np.nan
    lo, hi = proportion_confint(int(k), n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def coverage_summary(rows: pd.DataFrame, coverage: float, strategy: str) -> pd.DataFrame:
    """Coverage, its 95% (Wilson) interval and the size of the sets or width of the intervals, per scope.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`conformal_check` and :func:`external_coverage` rows.
    coverage : float
        The target.
    strategy : str
        The bundle's strategy (a column of the table).

    Returns
    -------
    pandas.DataFrame
        One row per scope (``cv``, ``external test``) and group (``all`` and, for classes, each class):
        strategy, scope, group, n, target, coverage, coverage_low, coverage_high, and mean_set_size,
        empty_sets, single_sets (classes) or mean_width, median_width (intervals).
    """
    out = []
    if rows.empty or "covered" not in rows.columns:
        return pd.DataFrame(columns=["strategy", "scope", "group", "n", "target", "coverage"])
    scored = rows[rows["covered"].notna()]
    for scope, part in scored.groupby("scope", sort=False):
        groups = [("all", part)]
        if "prediction_set" in part.columns:
            groups += [(str(c), g) for c, g in part.groupby(part["y_true"].astype(str), sort=True)]
        for group, g in groups:
            n, k = len(g), float(g["covered"].sum())
            lo, hi = _wilson(k, n)
            row = {
                "strategy": strategy,
                "scope": scope,
                "group": group,
                "n": n,
                "target": coverage,
                "coverage": k / n if n else np.nan,
                "coverage_low": lo,
                "coverage_high": hi,
            }
            if "prediction_set" in g.columns:
                size = g["set_size"].astype(float)
                row |= {
                    "mean_set_size": float(size.mean()),
                    "empty_sets": float((size == 0).mean()),
                    "single_sets": float((size == 1).mean()),
                }
            else:
                width = (g["interval_upper"] - g["interval_lower"]).astype(float)
                row |= {"mean_width": float(width.mean()), "median_width": float(width.median())}
            out.append(row)
    return pd.DataFrame(out)
