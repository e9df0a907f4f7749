"""How sure the CV scores are: corrected intervals, the corrected t-test and a label-permutation test.

The mean and Nadeau-Bengio corrected interval of split scores, the corrected resampled t-test of two
strategies on paired splits, and the label-permutation test of one strategy's held-out predictions
(by subject where samples share one).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from moflow.evaluate.folds import class_columns
from moflow.evaluate.metrics import primary_metric, score_predictions

log = logging.getLogger("moflow")


def corrected_interval(
    values: np.ndarray,
    n_train: float,
    n_test: float,
    level: float = 0.95,
    bounds: tuple[float, float] | None = (0.0, 1.0),
):
    """Mean and interval of CV split scores with the Nadeau-Bengio corrected variance.

    Splits share training samples, so the naive interval is too narrow.

    Parameters
    ----------
    values : numpy.ndarray
        The split scores (non-finite ones are left out).
    n_train, n_test : float
        The (mean) numbers of training and test samples of a split: the variance is multiplied by
        1 / J + n_test / n_train.
    level : float
        Coverage of the t interval.
    bounds : tuple of float, optional
        The range the metric can take: the interval is clipped to it.

    Returns
    -------
    tuple of float
        (mean, lower, upper); the bounds are NaN with fewer than 2 scores.
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    J = len(v)
    if J < 2:
        return (float(np.mean(v)) if J else np.nan), np.nan, np.nan
    m = v.mean()
    var = v.var(ddof=1) * (1 / J + n_test / n_train)
    half = stats.t.ppf(0.5 + level / 2, J - 1) * np.sqrt(var)
    lo, hi = m - half, m + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return float(m), float(lo), float(hi)


def corrected_ttest(a: np.ndarray, b: np.ndarray, n_train: float, n_test: float) -> dict:
    """Corrected resampled t-test (Nadeau & Bengio 2003) of paired split scores a - b.

    Parameters
    ----------
    a, b : numpy.ndarray
        The two strategies' scores on the same splits (pairs with a non-finite difference are left
        out).
    n_train, n_test : float
        The (mean) numbers of training and test samples of a split.

    Returns
    -------
    dict
        ``difference`` (mean of a - b), ``t``, two-sided ``p`` and ``n_splits``; t and p are NaN
        with fewer than 2 pairs or a constant difference.
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    J = len(d)
    if J < 2 or d.var(ddof=1) == 0:
        return {"difference": float(d.mean()) if J else np.nan, "t": np.nan, "p": np.nan, "n_splits": J}
    t = d.mean() / np.sqrt(d.var(ddof=1) * (1 / J + n_test / n_train))
    return {"difference": float(d.mean()), "t": float(t), "p": float(2 * stats.t.sf(abs(t), J - 1)), "n_splits": J}


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN and is not counted)."""
    p = np.asarray(pvalues, float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out.tolist()


def permutation_pvalue(
    pred: pd.DataFrame, *, task: str, n_permutations: int = 1000, seed: int = 0, subjects: pd.Series | None = None
) -> dict:
    """Label-permutation test of held-out predictions of one strategy.

    Within each split the true labels are permuted against the fixed out-of-fold predictions, and the
    mean split score is recomputed. The predictions never saw their own labels, so under the null of
    no association between features and outcome the observed score is exchangeable with the permuted
    ones. p = (1 + #{permuted >= observed}) / (1 + n).

    ``subjects`` (sample -> subject, config ``evaluation: group_column``): samples of one subject are not
    exchangeable with each other's labels, so the subjects' labels are permuted among the subjects and
    every sample takes its subject's (``unit`` subject). Where a subject's samples carry different
    outcomes (or for a survival outcome) that cannot be done: samples are permuted (``unit`` sample)
    and a warning says the p-value may be too small.

    Parameters
    ----------
    pred : pandas.DataFrame
        The CV predictions of one strategy (every split).
    task : str
        classification, regression or survival (survival: Harrell's C, the risks permuted).
    n_permutations : int
        The number of permutations.
    seed : int
        Seed of the permutations.
    subjects : pandas.Series, optional
        Sample -> subject.

    Returns
    -------
    dict
        ``metric``, ``observed`` (mean split score), ``null_mean``, ``p``, ``n_permutations`` and
        ``unit`` (sample or subject).
    """
    metric = primary_metric(task)
    rng = np.random.default_rng(seed)
    groups = [d.reset_index(drop=True) for _, d in pred.groupby("split", sort=True)]
    blocks = _subject_blocks(groups, subjects, task)
    if task == "survival":
        return {**_survival_permutation(groups, rng, n_permutations), "unit": "sample"}
    observed = float(np.nanmean([score_predictions(d, task)[metric] for d in groups]))
    coded = [_permutation_codes(d, task) for d in groups]
    null = np.empty(n_permutations)
    with np.errstate(all="ignore"):
        if blocks is None:
            for b in range(n_permutations):
                # the same draws as permuting each split's y_true column (numpy shuffles any dtype alike)
                null[b] = np.nanmean([_permuted_score(rng.permutation(t), h, valid, task) for t, h, valid in coded])
        else:
            for b in range(n_permutations):
                null[b] = np.nanmean(
                    [
                        _permuted_score(first[rng.permutation(len(first))][inverse], h, valid, task)
                        for (t, h, valid), (first, inverse) in zip(coded, blocks)
                    ]
                )
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (1 + n_permutations)
    return {
        "metric": metric,
        "observed": observed,
        "null_mean": float(null.mean()),
        "p": p,
        "n_permutations": n_permutations,
        "unit": "sample" if blocks is None else "subject",
    }


def _subject_blocks(groups: list[pd.DataFrame], subjects: pd.Series | None, task: str):
    """Per split: (the label of each subject, each row's subject index) for permuting subjects' labels.

    None where that cannot be done: no subjects, a survival outcome, or a subject whose samples carry
    different labels.
    """
    if subjects is None:
        return None
    out = []
    for d in groups:
        subj = subjects.reindex(d["sample"].astype(str)).to_numpy()
        t = _permutation_codes(d, task)[0]
        codes, first_row, inverse = np.unique(subj.astype(str), return_index=True, return_inverse=True)
        if task == "survival" or not np.array_equal(t, t[first_row][inverse]):
            log.warning(
                "permutation test: samples are permuted one by one, not by subject (%s); with several "
                "samples per subject the p-value may be too small",
                "survival outcome" if task == "survival" else "a subject's samples carry different outcomes",
            )
            return None
        out.append((t[first_row], inverse))
    return out


def _survival_permutation(groups: list[pd.DataFrame], rng, n_permutations: int) -> dict:
    """:func:`permutation_pvalue` of Harrell's C.

    Within each split the held-out risks are permuted against the fixed (time, event) pairs, the same
    null as permuting the outcomes against the risks (the comparable pairs are computed once per
    split).
    """
    from moflow.evaluate.survival_scores import c_from_pairs, comparable_pairs

    coded = []
    for d in groups:
        d = d.dropna(subset=["risk"])
        i, j = comparable_pairs(d["time"].to_numpy(float), d["event"].to_numpy(float) > 0)
        coded.append((i, j, d["risk"].to_numpy(float)))
    with np.errstate(all="ignore"):
        observed = float(np.nanmean([c_from_pairs(i, j, r) for i, j, r in coded]))
        null = np.array(
            [np.nanmean([c_from_pairs(i, j, rng.permutation(r)) for i, j, r in coded]) for _ in range(n_permutations)]
        )
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (1 + n_permutations)
    return {
        "metric": "harrell_c",
        "observed": observed,
        "null_mean": float(np.nanmean(null)),
        "p": p,
        "n_permutations": n_permutations,
    }


def _permutation_codes(d: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One split's held-out rows as numbers for :func:`_permuted_score`.

    True labels (class codes, or values), calls (codes of the predicted class, or predictions) and
    the rows the strategy scored.
    """
    if task == "classification":
        pcols = class_columns(d)
        classes = [c[2:] for c in pcols]
        yt = d["y_true"].astype(str).to_numpy()
        labels = sorted(set(yt) | set(classes))
        P = d[pcols].to_numpy(float)
        valid = ~np.isnan(P).any(axis=1)
        calls = np.searchsorted(labels, np.asarray(classes)[np.argmax(np.where(np.isnan(P), -np.inf, P), axis=1)])
        return np.searchsorted(labels, yt), calls, valid
    yp = d["prediction"].to_numpy(float)
    return d["y_true"].to_numpy(float), yp, ~np.isnan(yp)


def _permuted_score(t: np.ndarray, h: np.ndarray, valid: np.ndarray, task: str) -> float:
    """The primary metric of permuted labels ``t`` against fixed calls ``h``.

    Balanced accuracy (mean recall over the classes present, as scikit-learn's) or R^2; what
    :func:`score_predictions` gives, without scikit-learn's input checks (25,000 calls for 1,000
    permutations of 25 splits: 11 minutes of checks on a 250-sample cohort).
    """
    t, h = t[valid], h[valid]
    if task == "classification":
        if not len(t):
            return np.nan
        k = int(max(t.max(), h.max())) + 1
        n_true = np.bincount(t, minlength=k)
        hit = np.bincount(t[t == h], minlength=k)
        present = n_true > 0
        return float(np.mean(hit[present] / n_true[present]))
    if len(t) < 3:
        return np.nan
    ss_tot = float(((t - t.mean()) ** 2).sum())
    ss_res = float(((t - h) ** 2).sum())
    return (1.0 - ss_res / ss_tot) if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
