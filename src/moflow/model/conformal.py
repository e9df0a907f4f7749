"""Conformal prediction sets (classes) and intervals (continuous outcomes) around a fitted predictor.

A conformal predictor turns a model's output into a set of classes, or an interval, that holds the
true outcome of a new sample with a stated probability (``predictor: coverage``, default 90%), from
the nonconformity scores of samples the model did not see in training:

* classification: the score of a sample is ``1 - p(true class)``; the thresholds are per class
  (Mondrian, class-conditional conformal): the set of a new sample holds every class ``c`` with
  ``1 - p_c <= q_c``, where ``q_c`` is the finite-sample quantile of the scores of the calibration
  samples of class ``c``. Each class is then covered at the target rate, not only the samples on
  average (a marginal threshold would cover a rare class less). A class with fewer calibration
  samples than the coverage needs (9 at 90%) is in every set, and :attr:`Conformal.note` says so.
  A set can be empty: no class is plausible at this coverage (the sample is unlike the training ones);
* regression: the score is the absolute residual ``|y - prediction|``; the interval is
  ``prediction +- q``.

The calibration scores are out-of-fold: the outer CV's held-out predictions for the bundle (every
repeat pooled, the quantile's finite-sample correction taken with the number of distinct samples),
the inner CV's for a check of the procedure inside an outer split
(:func:`moflow.model.conformal_check.conformal_check`). The model that predicts new samples is the
refit on every training sample (the cross-conformal "CV" rule, not CV+: CV+ needs every fold model
at prediction time); its coverage is therefore measured, not assumed, and reported beside the sets.

A survival outcome has no set or interval here (censored times need their own conformal
construction); its uncertainty is the predicted survival probabilities, checked by the calibration
table (:mod:`moflow.evaluate.calibration`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SET_SEP = "|"  # between the classes of a prediction set (its column `prediction_set`)
TASKS_WITH_SETS = ("classification", "regression")


@dataclass
class Conformal:
    """Thresholds of a split- or cross-conformal predictor (:func:`fit_conformal`).

    Attributes
    ----------
    task : str
        ``classification`` or ``regression``.
    coverage : float
        The target probability that a set or interval holds the true outcome.
    thresholds : dict of str to float
        {class: q_c} (classification) or {``""``: q} (regression); ``inf``: too few calibration
        samples for this coverage (the class is in every set; the interval is unbounded).
    n_calibration : dict of str to int
        The distinct calibration samples behind each threshold.
    classes : list of str
        The classes, in the order of the probability columns (classification).
    note : str
        What a reader of the sets must know (classes in every set for lack of calibration samples).
    """

    task: str
    coverage: float
    thresholds: dict
    n_calibration: dict
    classes: list = field(default_factory=list)
    note: str = ""


def _rank(coverage: float, n: int) -> int:
    """ceil(coverage (n + 1)), immune to float noise (0.9 * 10 is 9.000000000000002)."""
    return math.ceil(round(coverage * (n + 1), 9))


def conformal_quantile(scores, coverage: float, n: int | None = None) -> float:
    """The finite-sample conformal threshold of ``scores``: their ceil(coverage (n + 1)) / n quantile.

    Parameters
    ----------
    scores : array-like of float
        Nonconformity scores of the calibration samples (several per sample where repeats are pooled).
    coverage : float
        The target coverage, in (0, 1).
    n : int, optional
        The number of distinct calibration samples (default: the number of scores).

    Returns
    -------
    float
        The threshold; ``inf`` where ``n`` is too small for the coverage (ceil(coverage (n + 1)) > n).
    """
    s = np.asarray(scores, float)
    s = s[~np.isnan(s)]
    n = len(s) if n is None else int(n)
    if n == 0 or len(s) == 0:
        return math.inf
    level = _rank(coverage, n) / n
    if level > 1:
        return math.inf
    return float(np.quantile(s, level, method="inverted_cdf"))


def conformal_scores(pred: pd.DataFrame, task: str) -> pd.Series:
    """Nonconformity scores of the rows of a prediction table that have a prediction and an outcome.

    Parameters
    ----------
    pred : pandas.DataFrame
        A prediction table (:func:`moflow.evaluate.folds.predict_split`): ``y_true`` and ``p_<class>``
        (classification) or ``prediction`` (regression).
    task : str
        ``classification`` or ``regression``.

    Returns
    -------
    pandas.Series
        ``1 - p(true class)`` or ``|y_true - prediction|``, on the rows' index (rows without a
        prediction or an outcome left out).
    """
    if task == "classification":
        y = pred["y_true"].astype(str)
        cols = [f"p_{c}" for c in y]
        have = np.array([c in pred.columns for c in cols])
        p = np.full(len(pred), np.nan)
        if have.any():
            values = pred.reindex(columns=sorted(set(np.asarray(cols)[have])))
            idx = np.flatnonzero(have)
            p[idx] = [values.iloc[i][cols[i]] for i in idx]
        s = pd.Series(1.0 - p, index=pred.index)
    else:
        s = (pd.to_numeric(pred["y_true"], errors="coerce") - pred["prediction"].astype(float)).abs()
    return s.dropna()


def fit_conformal(pred: pd.DataFrame, task: str, coverage: float, *, classes: list | None = None) -> Conformal:
    """The conformal thresholds from out-of-fold predictions (every split of ``pred`` pooled).

    Parameters
    ----------
    pred : pandas.DataFrame
        Out-of-fold prediction rows of one strategy, with ``sample`` and ``y_true``: each sample's
        prediction by a model that did not see it (one row per sample and repeat).
    task : str
        ``classification`` or ``regression``.
    coverage : float
        The target coverage.
    classes : list of str, optional
        The classes of the predictor (classification; default: the ``p_<class>`` columns).

    Returns
    -------
    Conformal
        The thresholds.
    """
    if task not in TASKS_WITH_SETS:
        raise ValueError(f"conformal sets are defined for {TASKS_WITH_SETS}, not {task}")
    scores = conformal_scores(pred, task)
    rows = pred.loc[scores.index]
    if task == "regression":
        n = int(rows["sample"].nunique())
        q = conformal_quantile(scores, coverage, n)
        note = "" if math.isfinite(q) else f"{n} calibration samples are too few for {coverage:.0%} coverage"
        return Conformal(task, float(coverage), {"": q}, {"": n}, note=note)
    classes = [str(c) for c in (classes or [c[2:] for c in pred.columns if c.startswith("p_")])]
    labels = rows["y_true"].astype(str)
    thresholds, counts, always = {}, {}, []
    for c in classes:
        mine = labels == c
        n = int(rows.loc[mine, "sample"].nunique())
        thresholds[c] = conformal_quantile(scores[mine], coverage, n)
        counts[c] = n
        if not math.isfinite(thresholds[c]):
            always.append(f"{c} ({n} calibration samples)")
    need = next(m for m in range(1, 10**6) if _rank(coverage, m) <= m)
    note = (
        f"{', '.join(always)} {'is' if len(always) == 1 else 'are'} in every prediction set: at {coverage:.0%} "
        f"coverage a class needs {need} calibration samples"
        if always
        else ""
    )
    return Conformal(task, float(coverage), thresholds, counts, classes=classes, note=note)


def apply_conformal(conf: Conformal, pred: pd.DataFrame) -> pd.DataFrame:
    """The prediction set or interval of every row of a prediction table.

    Parameters
    ----------
    conf : Conformal
        The thresholds (:func:`fit_conformal`).
    pred : pandas.DataFrame
        Rows with ``p_<class>`` columns (classification) or ``prediction`` (regression).

    Returns
    -------
    pandas.DataFrame
        On ``pred``'s index: ``prediction_set`` (classes joined by ``|``; empty: no class conforms) and
        ``set_size``, or ``interval_lower`` and ``interval_upper``; missing where the row has no prediction.
    """
    if conf.task == "regression":
        q = conf.thresholds[""]
        y = pred["prediction"].astype(float)
        return pd.DataFrame({"interval_lower": y - q, "interval_upper": y + q}, index=pred.index)
    P = pred.reindex(columns=[f"p_{c}" for c in conf.classes]).to_numpy(float)
    q = np.array([conf.thresholds[c] for c in conf.classes], float)
    member = (1.0 - P) <= q[None, :] + 1e-12  # the threshold is one of the scores: it conforms
    scored = ~np.isnan(P).all(axis=1)
    names = np.asarray(conf.classes, dtype=object)
    sets = [SET_SEP.join(names[m]) if ok else None for m, ok in zip(member, scored, strict=True)]
    size = np.where(scored, member.sum(axis=1), np.nan)
    return pd.DataFrame({"prediction_set": sets, "set_size": size}, index=pred.index)


def covered(sets: pd.DataFrame, y_true: pd.Series) -> pd.Series:
    """Whether each row's set or interval (:func:`apply_conformal`) holds its true outcome (missing: no set).

    Parameters
    ----------
    sets : pandas.DataFrame
        The sets or intervals.
    y_true : pandas.Series
        The true outcome of the rows (same index).

    Returns
    -------
    pandas.Series of float
        1.0 covered, 0.0 not, NaN where the row has no set or no outcome.
    """
    if "prediction_set" in sets.columns:
        out = [
            np.nan if not isinstance(s, str) or pd.isna(y) else float(str(y) in s.split(SET_SEP))
            for s, y in zip(sets["prediction_set"], y_true, strict=True)
        ]  # an empty set ("") covers nothing
        return pd.Series(out, index=sets.index, dtype=float)
    y = pd.to_numeric(y_true, errors="coerce").to_numpy(float)
    lo, hi = sets["interval_lower"].to_numpy(float), sets["interval_upper"].to_numpy(float)
    ok = ~(np.isnan(y) | np.isnan(lo))
    return pd.Series(np.where(ok, ((y >= lo) & (y <= hi)).astype(float), np.nan), index=sets.index)
