"""Survival metrics for the nested-CV evaluation of Cox models on time-to-event outcomes.

Pure functions of arrays. Conventions shared by all of them:

- ``time`` is the observed time (event or censoring), ``event`` is true where the event was observed.
- ``risk`` is a linear predictor / risk score: HIGHER risk = SHORTER survival (as sksurv's ``predict``).
- Metrics that cannot be computed on the data given (no event, no comparable pair, no time point inside
  the follow-up, ...) return NaN instead of raising.
- The censoring distribution of Uno's C, the time-dependent AUC and the Brier score is the Kaplan-Meier
  estimate on the TRAINING samples (``train_time``, ``train_event``).

scikit-survival, statsmodels and scipy are imported inside the functions, so importing this module costs
numpy and pandas only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# Risk scores closer than this count as tied, as in sksurv's concordance_index_censored (tied_tol).
TIED_TOL = 1e-8


def _vec(a, dtype=float) -> np.ndarray:
    return np.asarray(a, dtype=dtype).ravel()


def _event(a) -> np.ndarray:
    return np.asarray(a).astype(bool).ravel()


def as_structured(time, event) -> np.ndarray:
    """scikit-survival's structured outcome array (fields ``event``: bool, ``time``: float)."""
    from sksurv.util import Surv

    return Surv.from_arrays(event=_event(event), time=_vec(time))


def harrell_c(time, event, risk) -> float:
    """Harrell's concordance index (sksurv ``concordance_index_censored``).

    Higher risk = shorter survival, risk ties within 1e-8 count 1/2. NaN with fewer than 2 samples, no
    event, no comparable pair or a non-finite risk.
    """
    t, e, r = _vec(time), _event(event), _vec(risk)
    if len(t) < 2 or not e.any() or not np.isfinite(r).all():
        return float("nan")
    from sksurv.metrics import _estimate_concordance_index

    try:  # sksurv's concordance_index_censored after its input checks (done above): weights 1
        with np.errstate(invalid="ignore", divide="ignore"):  # tied events only: sksurv divides 0 by 0
            return float(_estimate_concordance_index(e, t, r, np.ones_like(r), TIED_TOL)[0])
    except ValueError:  # NoComparablePairException is a ValueError
        return float("nan")


def _step(unique_time: np.ndarray, prob: np.ndarray, time) -> np.ndarray:
    """A Kaplan-Meier step function at ``time``, as sksurv's ``SurvivalFunctionEstimator.predict_proba``.

    0 beyond the last time where it reached 0, ValueError beyond it where it did not.
    """
    time = np.asarray(time, float)
    extends = time > unique_time[-1]
    if prob[-1] > 0 and extends.any():
        raise ValueError(f"time must be smaller than largest observed time point: {unique_time[-1]}")
    out = np.empty(time.shape, dtype=float)
    out[extends] = 0.0
    valid = ~extends
    idx = np.searchsorted(unique_time, time[valid])
    eps = np.finfo(unique_time.dtype).eps
    exact = np.absolute(unique_time[idx] - time[valid]) < eps
    idx[~exact] -= 1
    out[valid] = prob[idx]
    return out


class TrainingCensoring:
    """The training samples' censoring survival G, fitted once (sksurv's ``CensoringDistributionEstimator``).

    Uno's C, the time-dependent AUC and the integrated Brier score against it, as :func:`uno_c`,
    :func:`time_auc` and :func:`integrated_brier` give them, without refitting G or repeating sksurv's input
    checks: a bootstrap of the test samples scores hundreds of resamples against the same training samples,
    and the refit and the checks took most of its time. Every value is the one sksurv's functions give (same
    arrays, same operations; tests/unit/test_survival.py compares them bit for bit).

    Parameters
    ----------
    train_time, train_event : array-like
        The training samples' outcome.
    """

    def __init__(self, train_time, train_event):
        self._tt, self._te = _vec(train_time), _event(train_event)
        self.n = len(self._tt)
        self.t_max = float(self._tt.max()) if self.n else float("nan")
        self.unique_time = self.prob = None

    def _fit(self) -> None:
        """Fit G at the first use, where sksurv fitted it.

        Its errors (every training sample censored, for instance) are raised where they were.
        """
        if self.unique_time is not None:
            return
        tt, te = self._tt, self._te
        if te.all():  # as sksurv: no censoring, G = 1
            self.unique_time, self.prob = np.unique(tt), np.ones(len(np.unique(tt)))
            return
        from sksurv.nonparametric import CensoringDistributionEstimator

        cens = CensoringDistributionEstimator().fit(as_structured(tt, te))
        self.unique_time, self.prob = cens.unique_time_, cens.prob_

    def proba(self, time: np.ndarray) -> np.ndarray:
        """G at ``time``, as sksurv's ``predict_proba``.

        0 beyond the last time where G reached 0, ValueError beyond it where it did not.
        """
        self._fit()
        return _step(self.unique_time, self.prob, time)

    def uno_c(self, time, event, risk, tau: float | None = None) -> float:
        """Uno's C of test samples: :func:`uno_c` with this censoring distribution."""
        return _uno_c(self, time, event, risk, tau)

    def time_auc(self, time, event, risk, times) -> tuple[np.ndarray, float]:
        """The time-dependent AUC at each of ``times`` and its mean: :func:`time_auc` with this distribution."""
        return _time_auc(self, time, event, risk, times)

    def integrated_brier(self, time, event, surv, grid) -> float:
        """The integrated Brier score: :func:`integrated_brier` with this censoring distribution."""
        return _integrated_brier(self, time, event, surv, grid)

    def ipcw(self, time: np.ndarray, event: np.ndarray) -> np.ndarray:
        """1 / G(time) for events, 0 for censored samples (sksurv ``predict_ipcw``)."""
        g = self.proba(time[event])
        if (g == 0.0).any():
            raise ValueError("censoring survival function is zero at one or more time points")
        weights = np.zeros(time.shape[0])
        weights[event] = 1.0 / g
        return weights


def uno_c(train_time, train_event, time, event, risk, tau: float | None = None) -> float:
    """Uno's IPCW concordance index (sksurv ``concordance_index_ipcw``).

    The censoring distribution comes from the training samples; only test pairs whose earlier time is
    below ``tau`` count.

    sksurv cannot weight test times at or beyond the largest training time, so ``tau`` is capped at the
    largest training time (and set to it when ``tau`` is None and some test time reaches it); with every test
    time below it, ``tau=None`` means no truncation. NaN when no event / comparable pair remains.

    Parameters
    ----------
    train_time, train_event : array-like
        The training samples' outcome (the censoring distribution).
    time, event, risk : array-like
        The test samples' outcome and risk scores.
    tau : float, optional
        The truncation time.

    Returns
    -------
    float
        Uno's C, or NaN.
    """
    return _uno_c(TrainingCensoring(train_time, train_event), time, event, risk, tau)


def _uno_c(cens: TrainingCensoring, time, event, risk, tau: float | None = None) -> float:
    t, e, r = _vec(time), _event(event), _vec(risk)
    if len(t) < 2 or cens.n == 0 or not np.isfinite(r).all():
        return float("nan")
    t_max = cens.t_max
    if tau is None:
        tau_eff = t_max if (t >= t_max).any() else None
    else:
        tau_eff = min(float(tau), t_max)
    keep = t < tau_eff if tau_eff is not None else np.ones(len(t), bool)
    if not (e & keep).any():
        return float("nan")
    from sksurv.metrics import _estimate_concordance_index

    try:  # sksurv's concordance_index_ipcw, with G fitted once
        ipcw = np.zeros(len(t))
        ipcw[keep] = cens.ipcw(t[keep], e[keep])
        with np.errstate(invalid="ignore", divide="ignore"):
            c = _estimate_concordance_index(e, t, r, np.square(ipcw), TIED_TOL)[0]
    except (ValueError, ZeroDivisionError):
        return float("nan")
    return float(c)


def _censoring_ok(cens: TrainingCensoring, times: np.ndarray) -> np.ndarray:
    """Whether the training censoring survival G is defined and > 0 at each of ``times``."""
    ok = times <= cens.t_max
    if ok.any():
        g = cens.proba(times[ok])
        ok[np.flatnonzero(ok)[g <= 0]] = False
    return ok


def time_auc(train_time, train_event, time, event, risk, times) -> tuple[np.ndarray, float]:
    """Cumulative/dynamic time-dependent AUC (sksurv ``cumulative_dynamic_auc``) at each of ``times``.

    Cases: event at or before t, controls: time after t; censoring from the training samples. The AUCs
    are in the given order of ``times``.

    A time gets NaN where sksurv could not compute it: outside [min test time, max test time), no case by it,
    or a test event by it that the training censoring distribution cannot weight (beyond the training
    follow-up or G = 0). The second value is sksurv's mean AUC (weighted by the test Kaplan-Meier drop)
    over the valid times; NaN if none is valid.

    Parameters
    ----------
    train_time, train_event : array-like
        The training samples' outcome (the censoring distribution).
    time, event, risk : array-like
        The test samples' outcome and risk scores.
    times : array-like of float
        The evaluation times.

    Returns
    -------
    tuple
        (AUC per time as a numpy.ndarray, mean AUC as a float).
    """
    return _time_auc(TrainingCensoring(train_time, train_event), time, event, risk, times)


def _time_auc(cens: TrainingCensoring, time, event, risk, times) -> tuple[np.ndarray, float]:
    t, e, r = _vec(time), _event(event), _vec(risk)
    q = np.atleast_1d(_vec(times))
    out = np.full(len(q), np.nan)
    if len(t) < 2 or not e.any() or not np.isfinite(r).all() or len(q) == 0 or cens.n == 0:
        return out, float("nan")
    ev_t = np.sort(t[e])
    ev_ok = _censoring_ok(cens, ev_t)
    # first test event that cannot be weighted: every valid time must lie before it
    bad_from = ev_t[~ev_ok].min() if (~ev_ok).any() else np.inf
    valid = np.isfinite(q) & (q >= t.min()) & (q < t.max()) & (q < bad_from) & (q >= ev_t.min())
    if not valid.any():
        return out, float("nan")
    uq = np.unique(q[valid])
    # test events after the last valid time are never cases; censoring them leaves the AUCs and the
    # Kaplan-Meier weights at the valid times unchanged, and keeps sksurv from weighting them
    e_used = e & (t <= uq.max())
    try:
        scores, mean = _cumulative_dynamic_auc(cens, t, e_used, r, uq)
    except ValueError:
        return out, float("nan")
    out[valid] = np.asarray(scores, float)[np.searchsorted(uq, q[valid])]
    return out, float(mean)


def _cumulative_dynamic_auc(
    cens: TrainingCensoring, test_time, test_event, estimate, times
) -> tuple[np.ndarray, float]:
    """The cumulative/dynamic AUC of sksurv's ``cumulative_dynamic_auc``, with G fitted once.

    1-d risk scores, ``times`` checked by the caller; the same operations in the same order.
    """
    from sksurv.nonparametric import _compute_counts

    n_samples, n_times = estimate.shape[0], times.shape[0]
    km_time, km_event = test_time, test_event
    estimate = np.broadcast_to(estimate[:, np.newaxis], (n_samples, n_times))
    ipcw = cens.ipcw(test_time, test_event)
    test_time = np.broadcast_to(test_time[:, np.newaxis], (n_samples, n_times))
    test_event = np.broadcast_to(test_event[:, np.newaxis], (n_samples, n_times))
    times_2d = np.broadcast_to(times, (n_samples, n_times))
    ipcw = np.broadcast_to(ipcw[:, np.newaxis], (n_samples, n_times))
    o = np.argsort(-estimate, axis=0)
    test_time = np.take_along_axis(test_time, o, axis=0)
    test_event = np.take_along_axis(test_event, o, axis=0)
    estimate = np.take_along_axis(estimate, o, axis=0)
    ipcw = np.take_along_axis(ipcw, o, axis=0)
    is_case = (test_time <= times_2d) & test_event
    is_control = test_time > times_2d
    n_controls = is_control.sum(axis=0)
    estimate_diff = np.concatenate((np.broadcast_to(np.inf, (1, n_times)), estimate))
    is_tied = np.absolute(np.diff(estimate_diff, axis=0)) <= TIED_TOL
    cumsum_tp = np.cumsum(is_case * ipcw, axis=0)
    cumsum_fp = np.cumsum(is_control, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        true_pos = cumsum_tp / cumsum_tp[-1]
        false_pos = cumsum_fp / n_controls
    scores = np.empty(n_times, dtype=float)
    for i in range(n_times):
        idx = np.flatnonzero(is_tied[:, i]) - 1  # only the last of tied risk scores
        tp = np.r_[0, np.delete(true_pos[:, i], idx)]
        fp = np.r_[0, np.delete(false_pos[:, i], idx)]
        scores[i] = np.trapezoid(tp, fp)
    if n_times == 1:
        return scores, scores[0]
    # the mean: the AUCs integrated over the test samples' Kaplan-Meier survival (sksurv's
    # SurvivalFunctionEstimator: kaplan_meier_estimator, then its step lookup)
    uniq, n_events, n_at_risk, _ = _compute_counts(km_event, km_time)
    ratio = np.divide(n_events, n_at_risk, out=np.zeros(uniq.shape[0], dtype=float), where=n_events != 0)
    s_times = _step(np.r_[-np.inf, uniq], np.r_[1.0, np.cumprod(1.0 - ratio)], times)
    d = -np.diff(np.r_[1.0, s_times])
    return scores, (scores * d).sum() / (1.0 - s_times[-1])


def integrated_brier(train_time, train_event, time, event, surv, grid) -> float:
    """Integrated Brier score (sksurv ``integrated_brier_score``; lower is better) of predicted survival.

    The predicted survival probabilities are ``surv`` (n_test x len(grid), column k = S(grid[k] | x));
    the censoring distribution comes from the training samples.

    Only grid points inside the test follow-up [min test time, max test time) and below the largest training
    time are used (the other columns are dropped). NaN if fewer than 2 remain, with no test event (sksurv
    refuses it) or on a non-finite prediction; ValueError if ``surv`` does not have that shape.

    Parameters
    ----------
    train_time, train_event : array-like
        The training samples' outcome (the censoring distribution).
    time, event : array-like
        The test samples' outcome.
    surv : array-like
        Survival probabilities, n_test x len(grid) (a vector: one column).
    grid : array-like of float
        The times of the columns of ``surv``.

    Returns
    -------
    float
        The integrated Brier score, or NaN.
    """
    return _integrated_brier(TrainingCensoring(train_time, train_event), time, event, surv, grid)


def _integrated_brier(cens: TrainingCensoring, time, event, surv, grid) -> float:
    t, e = _vec(time), _event(event)
    g = _vec(grid)
    s = np.asarray(surv, float)
    if s.ndim == 1:
        s = s.reshape(-1, 1)
    if s.shape != (len(t), len(g)):
        raise ValueError(f"surv has shape {s.shape}, expected ({len(t)}, {len(g)})")
    if len(t) < 2 or cens.n == 0:
        return float("nan")
    t_max = cens.t_max
    cols = np.flatnonzero(np.isfinite(g) & (g >= t.min()) & (g < t.max()) & (g < t_max))
    if len(np.unique(g[cols])) < 2:
        return float("nan")
    cols = cols[np.unique(g[cols], return_index=True)[1]]  # ascending, one column per time
    s = s[:, cols]
    if not np.isfinite(s).all():
        return float("nan")
    # test samples beyond the training follow-up are controls at every grid point used; moving their time
    # to the training maximum (still after the grid) keeps sksurv from evaluating G beyond it
    t_used = np.where(t > t_max, t_max, t)
    if not e.any():  # sksurv's brier_score refuses an all-censored test set
        return float("nan")
    times = g[cols]
    try:  # sksurv's integrated_brier_score (brier_score, then the trapezoid), with G fitted once
        prob_cens_t = cens.proba(times)
        prob_cens_t[prob_cens_t == 0] = np.inf
        prob_cens_y = cens.proba(t_used)
        prob_cens_y[prob_cens_y == 0] = np.inf
    except ValueError:
        return float("nan")
    brier = np.empty(times.shape[0], dtype=float)
    for i, at in enumerate(times):
        est = s[:, i]
        is_case = (t_used <= at) & e
        is_control = t_used > at
        brier[i] = np.mean(
            np.square(est) * is_case.astype(int) / prob_cens_y
            + np.square(1.0 - est) * is_control.astype(int) / prob_cens_t[i]
        )
    return float(np.trapezoid(brier, times) / (times[-1] - times[0]))


def breslow(train_risk, train_time, train_event) -> tuple[np.ndarray, np.ndarray]:
    """Breslow estimate of the baseline cumulative hazard H0 given the training linear predictors (risk).

    Returns the unique event times (ascending) and H0 at each, H0(t) = sum over event times s <= t of
    d(s) / sum_{time_j >= s} exp(risk_j) (Breslow ties); both empty without an event. H0 is the hazard
    at risk = 0, consistent with :func:`survival_function` and with sksurv's CoxPHSurvivalAnalysis
    (which does not centre ``predict``). Computed with exp(risk - max risk) to avoid overflow.
    """
    r, t, e = _vec(train_risk), _vec(train_time), _event(train_event)
    if not e.any():
        return np.empty(0), np.empty(0)
    shift = float(r.max())
    w = np.exp(r - shift)
    order = np.argsort(t, kind="mergesort")
    ts, ws = t[order], w[order]
    at_risk = np.cumsum(ws[::-1])[::-1]  # at_risk[k] = sum of w over sorted samples k..n-1
    ev_times, d = np.unique(t[e], return_counts=True)
    first = np.searchsorted(ts, ev_times, side="left")
    log_inc = np.log(d) - np.log(at_risk[first]) - shift
    return ev_times, np.cumsum(np.exp(log_inc))


def survival_function(risk, base_times, base_cumhaz, times) -> np.ndarray:
    """S(t | x) = exp(-H0(t) exp(risk)) for each sample (rows) at each of ``times`` (columns).

    H0 is a step function from :func:`breslow` (its value at the last event time <= t; 0 before the
    first, so S = 1).

    Parameters
    ----------
    risk : array-like
        The samples' linear predictors.
    base_times, base_cumhaz : array-like
        The event times and baseline cumulative hazard of :func:`breslow`.
    times : array-like of float
        The times to predict at.

    Returns
    -------
    numpy.ndarray
        Survival probabilities, samples x times.
    """
    r = _vec(risk)
    bt, bh = _vec(base_times), _vec(base_cumhaz)
    q = np.atleast_1d(_vec(times))
    idx = np.searchsorted(bt, q, side="right") - 1
    h0 = np.where(idx >= 0, bh[np.clip(idx, 0, None)] if len(bh) else 0.0, 0.0)
    with np.errstate(divide="ignore", over="ignore"):
        log_h = np.log(h0)[None, :] + r[:, None]  # log of H(t | x); -inf where H0 = 0
        return np.exp(-np.exp(log_h))


def _signif(x: np.ndarray, digits: int = 4) -> np.ndarray:
    return np.array([float(f"{v:.{digits}g}") for v in x], dtype=float)


def default_times(time, event, quantiles: Sequence[float] = (0.25, 0.5, 0.75)) -> np.ndarray:
    """The default evaluation times of :func:`time_auc`: quantiles of the event times.

    Quantiles of the event times (of all times when there is no event), rounded to 4 significant
    digits, unique and ascending.
    """
    t, e = _vec(time), _event(event)
    src = t[e] if e.any() else t
    src = src[np.isfinite(src)]
    if len(src) == 0:
        return np.empty(0)
    return np.unique(_signif(np.quantile(src, list(quantiles))))


def time_grid(time, lo: float = 0.1, hi: float = 0.9, n: int = 15) -> np.ndarray:
    """``n`` evenly spaced points from the ``lo`` to the ``hi`` quantile of all observed times.

    The grid of :func:`integrated_brier`.
    """
    t = _vec(time)
    t = t[np.isfinite(t)]
    if len(t) == 0:
        return np.empty(0)
    a, b = np.quantile(t, [lo, hi])
    return np.linspace(a, b, n)


def comparable_pairs(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Harrell's comparable pairs exactly as sksurv's concordance_index_censored counts them.

    Index arrays (i, j) with event_i and either time_i < time_j, or time_i == time_j and j censored.
    Memory O(n_events x n).
    """
    t, e = _vec(time), _event(event)
    ev = np.flatnonzero(e)
    ti = t[ev][:, None]
    mask = (ti < t[None, :]) | ((ti == t[None, :]) & ~e[None, :])
    rows, j = np.nonzero(mask)
    return ev[rows], j


def c_from_pairs(i, j, risk) -> float:
    """Concordance over precomputed pairs (i had the event first).

    The mean of 1[risk_i > risk_j] + 1/2 1[tie], ties within 1e-8 as in sksurv, so it equals
    :func:`harrell_c` given :func:`comparable_pairs`. NaN with no pair or a non-finite risk.
    Vectorised (fast enough for permutation tests).
    """
    i, j = np.asarray(i), np.asarray(j)
    if len(i) == 0:
        return float("nan")
    r = _vec(risk)
    diff = r[i] - r[j]
    if not np.isfinite(diff).all():
        return float("nan")
    tied = np.abs(diff) <= TIED_TOL
    concordant = np.count_nonzero((diff > 0) & ~tied)
    return float((concordant + 0.5 * np.count_nonzero(tied)) / len(i))


def cox_univariate(x, time, event) -> dict:
    """Univariate Cox model (statsmodels PHReg, Breslow ties) of ``x`` standardised to unit SD (ddof=1).

    Hazard ratio per SD with its 95% Wald interval, Wald z and two-sided p, and the n / n_events used.
    Rows with a missing x, time or event are dropped; NaN estimates when x is constant, there is no event
    or the fit fails.

    Returns
    -------
    dict
        ``hr_per_sd``, ``hr_lo``, ``hr_hi``, ``z``, ``p``, ``n``, ``n_events``.
    """
    xv, t = _vec(x), _vec(time)
    ev = pd.to_numeric(pd.Series(np.asarray(event).ravel()), errors="coerce").to_numpy(float)
    ok = np.isfinite(xv) & np.isfinite(t) & np.isfinite(ev)
    xv, t, ev = xv[ok], t[ok], ev[ok] != 0
    res = {k: float("nan") for k in ("hr_per_sd", "hr_lo", "hr_hi", "z", "p")}
    res.update(n=int(len(xv)), n_events=int(ev.sum()))
    sd = float(np.std(xv, ddof=1)) if len(xv) > 1 else 0.0
    if not ev.any() or not np.isfinite(sd) or sd <= 0:
        return res
    import warnings

    from scipy.stats import norm
    from statsmodels.duration.hazard_regression import PHReg

    z_x = ((xv - xv.mean()) / sd)[:, None]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = PHReg(t, z_x, status=ev.astype(float), ties="breslow").fit()
        beta, se = float(fit.params[0]), float(fit.bse[0])
    except (ValueError, np.linalg.LinAlgError):
        return res
    if not (np.isfinite(beta) and np.isfinite(se) and se > 0):
        return res
    q = norm.ppf(0.975)
    z = beta / se
    res.update(
        hr_per_sd=float(np.exp(beta)),
        hr_lo=float(np.exp(beta - q * se)),
        hr_hi=float(np.exp(beta + q * se)),
        z=float(z),
        p=float(2 * norm.sf(abs(z))),
    )
    return res


def kaplan_meier(time, event) -> pd.DataFrame:
    """Kaplan-Meier estimate (statsmodels SurvfuncRight) at the event times.

    A first row at time 0 (survival 1) comes before them, and a last row at the last follow-up time where
    it is after the last event (the curve goes on, flat, as long as samples are followed; no event there).
    Columns: time, survival, lo, hi (95% pointwise, log(-log) transform of Greenwood's standard error; NaN
    where it is undefined, e.g. once survival reaches 0), at_risk (number with time >= t), events (number
    of events at t).
    """
    t, e = _vec(time), _event(event)
    cols = ["time", "survival", "lo", "hi", "at_risk", "events"]
    first = pd.DataFrame([[0.0, 1.0, 1.0, 1.0, int(len(t)), 0]], columns=cols)

    def followed(km: pd.DataFrame) -> pd.DataFrame:
        end = float(t.max()) if len(t) else 0.0
        if end <= float(km["time"].iloc[-1]):
            return km
        last = km.iloc[-1]
        tail = [end, last["survival"], last["lo"], last["hi"], int((t >= end).sum()), 0]
        return pd.concat([km, pd.DataFrame([tail], columns=cols)], ignore_index=True)

    if not e.any():
        return followed(first)
    from scipy.stats import norm
    from statsmodels.duration.survfunc import SurvfuncRight

    sf = SurvfuncRight(t, e.astype(float))
    s = np.asarray(sf.surv_prob, float)
    se = np.asarray(sf.surv_prob_se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = se / (s * np.abs(np.log(s)))  # SE of log(-log S) by the delta method
        half = norm.ppf(0.975) * sig
        lo = s ** np.exp(half)
        hi = s ** np.exp(-half)
    bad = ~np.isfinite(sig)
    lo[bad] = np.nan
    hi[bad] = np.nan
    body = pd.DataFrame(
        {
            "time": np.asarray(sf.surv_times, float),
            "survival": s,
            "lo": lo,
            "hi": hi,
            "at_risk": np.asarray(sf.n_risk).astype(int),
            "events": np.asarray(sf.n_events).astype(int),
        }
    )
    return followed(pd.concat([first, body], ignore_index=True))


def logrank(time, event, group) -> dict:
    """Log-rank test of equal survival across the groups (statsmodels survdiff).

    Returns chi2, df (= number of groups - 1) and p (chi-square upper tail). NaN with fewer than 2
    groups or no event.
    """
    t, e = _vec(time), _event(event)
    g = np.asarray(group).ravel()
    n_groups = len(pd.unique(g))
    nan = {"chi2": float("nan"), "df": max(n_groups - 1, 0), "p": float("nan")}
    if n_groups < 2 or not e.any():
        return nan
    from scipy.stats import chi2 as chi2_dist
    from statsmodels.duration.survfunc import survdiff

    try:
        stat = float(survdiff(t, e.astype(float), g)[0])
    except (ValueError, np.linalg.LinAlgError):
        return nan
    df = n_groups - 1
    return {"chi2": stat, "df": df, "p": float(chi2_dist.sf(stat, df)) if np.isfinite(stat) else float("nan")}


def number_at_risk(time, group, at) -> pd.DataFrame:
    """Number at risk (time >= t) in each group (rows, sorted) at each of ``at`` (columns)."""
    t = _vec(time)
    g = pd.Series(np.asarray(group).ravel())
    at = np.atleast_1d(_vec(at))
    levels = sorted(pd.unique(g))
    rows = [[int(np.count_nonzero(t[(g == lv).to_numpy()] >= a)) for a in at] for lv in levels]
    return pd.DataFrame(rows, index=pd.Index(levels, name="group"), columns=list(at))


def stratification_labels(time, event, folds: int) -> np.ndarray:
    """Labels for StratifiedKFold: "event" / "censored", each split further into time strata if large.

    Each status is split further into time tertiles ("event_t1of3", ...) or else halves
    ("event_t1of2", ...) when every such stratum of that status keeps at least ``folds`` members
    (decided per status; ranks by time, ties broken by order, so strata are of equal size up to one).
    A status with fewer than ``folds`` members stays whole.
    """
    t, e = _vec(time), _event(event)
    labels = np.where(e, "event", "censored").astype(object)
    for status, members in (("event", np.flatnonzero(e)), ("censored", np.flatnonzero(~e))):
        m = len(members)
        for k in (3, 2):
            if m // k >= folds:
                rank = np.empty(m, int)
                rank[np.argsort(t[members], kind="mergesort")] = np.arange(m)
                part = rank * k // m
                labels[members] = [f"{status}_t{p + 1}of{k}" for p in part]
                break
    return labels.astype(str)
