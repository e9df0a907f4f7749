"""Calibration of the out-of-fold probabilities, beside discrimination.

Every repeat of the outer CV predicts every training sample once, out of fold; the tables here pool those
predictions within a repeat and average over repeats (a split of 30 samples is too few for a slope):

* :func:`calibration_table`: per strategy, the Brier score (binary: of the positive class's probability;
  multiclass: summed over classes), the expected calibration error (top-label, 10 equal-width bins), and
  for a binary outcome the calibration intercept (calibration in the large: logistic regression of the
  outcome with the logit of the probability as offset) and slope (the coefficient of that logit), the
  ideal being 0 and 1 (Van Calster et al. 2019);
* :func:`reliability_table`: per strategy and bin of predicted probability, the mean predicted and the
  observed share (the reliability diagram);
* :func:`decision_curve`: a binary outcome's net benefit over threshold probabilities against treating
  everyone and no one (Vickers & Elkin 2006).

The strategies' probabilities are those their models give: classifiers with balanced class weights
estimate probabilities for equal class priors, so where the classes are imbalanced their calibration
intercept is off by the log of the prior odds by design; the naive baseline's are the class shares.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

CALIBRATION_COLUMNS = ["strategy", "brier", "ece", "calibration_intercept", "calibration_slope", "n_repeats"]
REGRESSION_COLUMNS = ["strategy", "calibration_in_the_large", "calibration_slope", "n_repeats"]
RELIABILITY_COLUMNS = ["strategy", "bin", "lower", "upper", "n", "mean_predicted", "observed"]
DECISION_CURVE_COLUMNS = ["strategy", "threshold", "net_benefit"]
BINS = 10


def _repeat(split: pd.Series) -> pd.Series:
    """The repeat of a CV split name (``r2f3`` -> ``r2``)."""
    return split.astype(str).str.extract(r"^(r\d+)", expand=False).fillna(split.astype(str))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def intercept_slope(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Calibration intercept (logit offset, slope fixed at 1) and slope of probabilities ``p`` of outcomes ``y``.

    Parameters
    ----------
    y : numpy.ndarray
        0/1 outcomes.
    p : numpy.ndarray
        Predicted probabilities of 1.

    Returns
    -------
    tuple of float
        (intercept, slope); NaN where both outcomes do not occur or the fit fails.
    """
    import statsmodels.api as sm

    y = np.asarray(y, float)
    if len(y) < 5 or y.min() == y.max():
        return np.nan, np.nan
    lp = _logit(np.asarray(p, float))
    spread = np.ptp(lp) > 1e-9  # one probability for every sample (the naive baseline): no slope
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit().params[0]
            b = (
                sm.GLM(y, np.column_stack([np.ones(len(y)), lp]), family=sm.families.Binomial()).fit().params[1]
                if spread
                else np.nan
            )
        except (ValueError, np.linalg.LinAlgError):  # separation or a failed fit: no estimate
            return np.nan, np.nan
    return float(a), float(b)


def expected_calibration_error(codes: np.ndarray, P: np.ndarray, bins: int = BINS) -> float:
    """Top-label expected calibration error: the bins' |accuracy - confidence|, weighted by their size."""
    conf = P.max(axis=1)
    right = (P.argmax(axis=1) == codes).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(right[sel].mean() - conf[sel].mean())
    return float(ece)


def _per_repeat(d: pd.DataFrame, classes: list[str]):
    """(class codes, probabilities) of each repeat's pooled out-of-fold predictions that holds any."""
    for _, r in d.groupby(_repeat(d["split"]), sort=True):
        codes, P = _probabilities(r, classes)
        if len(codes):
            yield codes, P


def _probabilities(d: pd.DataFrame, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    cols = [f"p_{c}" for c in classes]
    d = d.dropna(subset=cols)
    P = d[cols].to_numpy(float)
    total = P.sum(axis=1, keepdims=True)
    P = np.divide(P, total, out=np.full_like(P, np.nan), where=total > 0)
    codes = pd.Categorical(d["y_true"].astype(str), categories=classes).codes
    ok = (codes >= 0) & np.isfinite(P).all(axis=1)
    return codes[ok], P[ok]


def calibration_table(cv: pd.DataFrame, classes: list[str], positive: str | None = None) -> pd.DataFrame:
    """Per strategy: Brier score, ECE, and a binary outcome's calibration intercept and slope (see the module).

    Parameters
    ----------
    cv : pandas.DataFrame
        The CV splits' predictions (``split``, ``strategy``, ``y_true``, ``p_<class>``).
    classes : list of str
        The classes, sorted.
    positive : str, optional
        A binary outcome's positive class (default: the second).

    Returns
    -------
    pandas.DataFrame
        :data:`CALIBRATION_COLUMNS`, one row per strategy, in the order of ``cv``.
    """
    binary = len(classes) == 2
    pos = classes.index(positive) if binary and positive in classes else (1 if binary else None)
    rows = []
    for strategy, d in cv.groupby("strategy", sort=False):
        per = []
        for codes, P in _per_repeat(d, classes):
            onehot = np.eye(len(classes))[codes]
            if binary:
                brier = float(((P[:, pos] - onehot[:, pos]) ** 2).mean())
                a, b = intercept_slope(onehot[:, pos], P[:, pos])
            else:
                brier = float(((P - onehot) ** 2).sum(axis=1).mean())
                a, b = np.nan, np.nan
            per.append((brier, expected_calibration_error(codes, P), a, b))
        if not per:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # naive probabilities: no slope in any repeat
            m = np.nanmean(np.array(per, float), axis=0)
        rows.append(dict(zip(CALIBRATION_COLUMNS, [strategy, *map(float, m), len(per)], strict=True)))
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def reliability_table(cv: pd.DataFrame, classes: list[str], positive: str | None = None, bins: int = BINS):
    """Per strategy and bin: mean predicted and observed share, pooled over every out-of-fold prediction.

    Binary outcomes: the positive class's probability; multiclass: the top label's (confidence against
    accuracy).

    Returns
    -------
    pandas.DataFrame
        Columns strategy, bin, lower, upper, n, mean_predicted, observed.
    """
    binary = len(classes) == 2
    pos = classes.index(positive) if binary and positive in classes else (1 if binary else None)
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for strategy, d in cv.groupby("strategy", sort=False):
        codes, P = _probabilities(d, classes)
        if not len(codes):
            continue
        if binary:
            p, hit = P[:, pos], (codes == pos).astype(float)
        else:
            p, hit = P.max(axis=1), (P.argmax(axis=1) == codes).astype(float)
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        for b in range(bins):
            sel = which == b
            if sel.any():
                rows.append(
                    {
                        "strategy": strategy,
                        "bin": b + 1,
                        "lower": edges[b],
                        "upper": edges[b + 1],
                        "n": int(sel.sum()),
                        "mean_predicted": float(p[sel].mean()),
                        "observed": float(hit[sel].mean()),
                    }
                )
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


def decision_curve(cv: pd.DataFrame, classes: list[str], positive: str | None = None, thresholds=None) -> pd.DataFrame:
    """A binary outcome's net benefit per strategy and threshold probability, beside treat-all and treat-none.

    Net benefit at threshold t: TP/n - FP/n * t / (1 - t), out-of-fold predictions pooled within each
    repeat and averaged over repeats; treating everyone: prevalence - (1 - prevalence) * t / (1 - t);
    no one: 0.

    Returns
    -------
    pandas.DataFrame
        Columns strategy (``treat all`` among them), threshold, net_benefit; empty for other outcomes.
    """
    if len(classes) != 2:
        return pd.DataFrame(columns=DECISION_CURVE_COLUMNS)
    pos = classes.index(positive) if positive in classes else 1
    t = np.round(np.arange(0.05, 0.96, 0.05), 2) if thresholds is None else np.asarray(thresholds, float)
    w = t / (1 - t)
    rows, prevalence = [], []
    for strategy, d in cv.groupby("strategy", sort=False):
        nb = []
        for codes, P in _per_repeat(d, classes):
            y = codes == pos
            call = P[:, pos][:, None] >= t[None, :]
            tp = (call & y[:, None]).sum(axis=0) / len(y)
            fp = (call & ~y[:, None]).sum(axis=0) / len(y)
            nb.append(tp - fp * w)
            prevalence.append(y.mean())
        if nb:
            rows += [{"strategy": strategy, "threshold": a, "net_benefit": b} for a, b in zip(t, np.mean(nb, axis=0))]
    if prevalence:
        prev = float(np.mean(prevalence))
        rows += [{"strategy": "treat all", "threshold": a, "net_benefit": prev - (1 - prev) * b} for a, b in zip(t, w)]
    return pd.DataFrame(rows, columns=DECISION_CURVE_COLUMNS)


def regression_calibration(cv: pd.DataFrame) -> pd.DataFrame:
    """A continuous outcome's calibration per strategy: in the large (mean outcome minus mean prediction) and slope.

    The slope is that of the least-squares line of the outcome on the prediction (1 is ideal; below 1 the
    predictions spread too far, as an overfit model's do), out-of-fold predictions pooled within each
    repeat and averaged over repeats.

    Returns
    -------
    pandas.DataFrame
        :data:`REGRESSION_COLUMNS`, one row per strategy.
    """
    rows = []
    for strategy, d in cv.dropna(subset=["prediction"]).groupby("strategy", sort=False):
        per = []
        for _, r in d.groupby(_repeat(d["split"]), sort=True):
            y, p = r["y_true"].to_numpy(float), r["prediction"].to_numpy(float)
            if len(y) < 3:
                continue
            slope = float(np.cov(p, y)[0, 1] / np.var(p, ddof=1)) if np.var(p) > 1e-12 else np.nan
            per.append((float(y.mean() - p.mean()), slope))
        if per:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m = np.nanmean(np.array(per, float), axis=0)
            rows.append(dict(zip(REGRESSION_COLUMNS, [strategy, *map(float, m), len(per)], strict=True)))
    return pd.DataFrame(rows, columns=REGRESSION_COLUMNS)


def survival_calibration(cv: pd.DataFrame) -> pd.DataFrame:
    """A survival outcome's predicted against observed survival, per strategy, evaluation time and risk group.

    Out-of-fold predictions pooled over every split: within each risk group (``risk_group``: above or
    below the training median risk of the split), the mean predicted survival at each evaluation time
    (``S@<time>`` columns) beside the Kaplan-Meier estimate of the group's samples at that time.

    Parameters
    ----------
    cv : pandas.DataFrame
        The CV splits' predictions (``strategy``, ``time``, ``event``, ``risk_group``, ``S@<time>``).

    Returns
    -------
    pandas.DataFrame
        Columns strategy, time, risk_group, n, predicted, observed (NaN where the group's follow-up ends
        before the time).
    """
    from sksurv.nonparametric import kaplan_meier_estimator

    cols = [c for c in cv.columns if c.startswith("S@")]
    rows = []
    for (strategy, group), d in cv.dropna(subset=["risk_group"]).groupby(["strategy", "risk_group"], sort=False):
        t, e = d["time"].to_numpy(float), d["event"].to_numpy(float) > 0
        if len(d) < 2:
            continue
        km_t, km_s = kaplan_meier_estimator(e, t)
        for c in cols:
            at = float(c[2:])
            i = np.searchsorted(km_t, at, side="right") - 1
            observed = 1.0 if i < 0 else float(km_s[i])
            if at > t.max():
                observed = np.nan
            rows.append(
                {
                    "strategy": strategy,
                    "time": at,
                    "risk_group": group,
                    "n": len(d),
                    "predicted": float(d[c].mean()),
                    "observed": observed,
                }
            )
    return pd.DataFrame(rows, columns=["strategy", "time", "risk_group", "n", "predicted", "observed"])
