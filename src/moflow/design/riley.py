"""Riley et al.'s minimum sample size: a floor for developing a regression-type prediction model.

:func:`riley_binary`, :func:`riley_survival`, :func:`riley_continuous` follow Riley et al. (Stat Med 2019, parts I
and II; BMJ 2020) and the R package pmsampsize (1.1.3). Deviations, documented where they occur: the C-statistic
is converted to the Cox-Snell R2 by the exact large-sample value of pmsampsize's ``cstat2rsq`` (binormal linear
predictor, computed by quadrature instead of a 10^6-sample simulation; :func:`r2cs_from_c_statistic`, and
:func:`r2cs_from_c_index` for a survival model); the survival criterion 3 gives the smallest n whose 95% interval
of the risk at the timepoint is within the margin (pmsampsize only reports that interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd


def r2cs_from_c_statistic(c_statistic: float, prevalence: float) -> float:
    """Cox-Snell R2 of a logistic model with this C-statistic and outcome proportion.

    The model of pmsampsize's ``cstat2rsq`` (Riley et al. 2022, "A note on estimating the Cox-Snell R2 from a
    reported C statistic (AUROC)"): the linear predictor is N(0, 1) among non-events and N(mu, 1) among events with
    mu = sqrt(2) Phi^-1(C); the logistic calibration model is then exact (slope mu, intercept logit(phi) - mu^2/2),
    and its expected log-likelihood ratio per person is computed by Gauss-Hermite quadrature (the limit of the
    package's simulation of 10^6 people).
    """
    from scipy.stats import norm

    if not 0.5 < c_statistic < 1 or not 0 < prevalence < 1:
        raise ValueError("need 0.5 < c_statistic < 1 and 0 < prevalence < 1")
    mu = math.sqrt(2) * norm.ppf(c_statistic)
    x, w = np.polynomial.hermite_e.hermegauss(160)
    w = w / w.sum()
    logit0 = math.log(prevalence / (1 - prevalence)) - mu**2 / 2
    ll_events = np.sum(w * -np.logaddexp(0, -(logit0 + mu * (x + mu))))  # log P(y=1 | LP) among events
    ll_nonevents = np.sum(w * -np.logaddexp(0, logit0 + mu * x))  # log P(y=0 | LP) among non-events
    ll_model = prevalence * ll_events + (1 - prevalence) * ll_nonevents
    ll_null = prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence)
    return float(1 - math.exp(-2 * (ll_model - ll_null)))


def _n_shrinkage(p: int, r2: float, s: float) -> int:
    """Riley criterion 1 (binary/survival): n = p / ((S - 1) ln(1 - R2cs / S))."""
    if s <= r2:
        raise ValueError(f"shrinkage {s} must exceed the Cox-Snell R2 {r2}")
    return int(math.ceil(p / ((s - 1) * math.log(1 - r2 / s))))


def _criteria_table(rows: list[tuple], events_per_person: float, p: int) -> pd.DataFrame:
    t = pd.DataFrame(rows, columns=["criterion", "n", "shrinkage"]).set_index("criterion")
    return t.assign(events=t["n"] * events_per_person, epp=t["n"] * events_per_person / p)


def riley_binary(
    n_parameters: int,
    prevalence: float,
    c_statistic: float | None = None,
    r2_cs: float | None = None,
    shrinkage: float = 0.9,
    optimism: float = 0.05,
    margin: float = 0.05,
) -> dict:
    """Minimum sample size for developing a logistic prediction model (Riley et al. 2020, pmsampsize type "b").

    Criterion 1: expected uniform shrinkage >= ``shrinkage``; 2: optimism of Nagelkerke's R2 <= ``optimism``
    (S = R2cs / (R2cs + optimism max R2cs), n as in criterion 1); 3: the overall risk within +-``margin``
    (n = (1.96 / margin)^2 phi (1 - phi)). The answer is the largest. Give ``r2_cs`` (adjusted Cox-Snell R2) or
    ``c_statistic`` (converted by :func:`r2cs_from_c_statistic`).

    Parameters
    ----------
    n_parameters : int
        The candidate predictor parameters.
    prevalence : float
        The outcome proportion phi, in (0, 1).
    c_statistic, r2_cs : float, optional
        The anticipated C-statistic or adjusted Cox-Snell R2; exactly one.
    shrinkage, optimism, margin : float
        The targets of criteria 1, 2 and 3.

    Returns
    -------
    dict
        ``n`` (the minimum sample size), ``events``, ``epp`` (events per parameter), ``criteria`` (a table
        by criterion: n, shrinkage, events, epp), ``r2_cs``, ``r2_source``, ``max_r2_cs``, ``nagelkerke_r2``,
        ``shrinkage`` and ``binding`` (the criterion that sets ``n``).
    """
    if (r2_cs is None) == (c_statistic is None):
        raise ValueError("give exactly one of r2_cs and c_statistic")
    if not 0 < prevalence < 1:
        raise ValueError("prevalence must be in (0, 1)")
    source = "given"
    if r2_cs is None:
        r2_cs, source = r2cs_from_c_statistic(c_statistic, prevalence), "c_statistic (binormal, pmsampsize cstat2rsq)"
    max_r2 = 1 - math.exp(2 * (prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence)))
    if r2_cs >= max_r2:
        raise ValueError(f"Cox-Snell R2 {r2_cs} is not below its maximum {max_r2:.4f} for this prevalence")
    s2 = r2_cs / (r2_cs + optimism * max_r2)
    n1, n2 = _n_shrinkage(n_parameters, r2_cs, shrinkage), _n_shrinkage(n_parameters, r2_cs, s2)
    n3 = int(math.ceil((1.96 / margin) ** 2 * prevalence * (1 - prevalence)))
    final = max(n1, n2, n3)
    table = _criteria_table(
        [(1, n1, shrinkage), (2, n2, s2), (3, n3, np.nan), ("final", final, max(shrinkage, s2))],
        prevalence,
        n_parameters,
    )
    return {
        "n": final,
        "events": final * prevalence,
        "epp": final * prevalence / n_parameters,
        "criteria": table,
        "r2_cs": float(r2_cs),
        "r2_source": source,
        "max_r2_cs": max_r2,
        "nagelkerke_r2": r2_cs / max_r2,
        "shrinkage": max(shrinkage, s2),
        "binding": int(table["n"].iloc[:3].idxmax()),
    }


def r2cs_from_c_index(c_index: float, events_per_person: float) -> float:
    """Approximate Cox-Snell R2 of a Cox model from its C-index (Riley et al. 2019 part II, section 4).

    Royston's D from the C-index (Jinks et al. 2015: D = 5.50 (C - 0.5) + 10.26 (C - 0.5)^3), R2_D = D^2/kappa^2 /
    (pi^2/6 + D^2/kappa^2) with kappa^2 = 8/pi, taken as Kent & O'Quigley's R2 so that LR = -E ln(1 - R2_D) and
    R2cs = 1 - exp(-LR/n) = 1 - (1 - R2_D)^(E/n). An approximation; an R2cs reported by a previous study is better.
    """
    if not 0.5 < c_index < 1:
        raise ValueError("need 0.5 < c_index < 1")
    d = 5.50 * (c_index - 0.5) + 10.26 * (c_index - 0.5) ** 3
    r2_d = (d**2 * math.pi / 8) / (math.pi**2 / 6 + d**2 * math.pi / 8)
    return float(1 - (1 - r2_d) ** min(events_per_person, 1.0))


def riley_survival(
    n_parameters: int,
    rate: float | None = None,
    mean_followup: float = 1.0,
    timepoint: float = 1.0,
    r2_cs: float | None = None,
    c_statistic: float | None = None,
    *,
    event_fraction: float | None = None,
    shrinkage: float = 0.9,
    optimism: float = 0.05,
    margin: float = 0.05,
) -> dict:
    """Minimum sample size for developing a Cox prediction model (Riley et al. 2019/2020, pmsampsize type "s").

    ``rate``: events per person-time (the units of ``mean_followup`` and ``timepoint``); or ``event_fraction``
    (events per person over the follow-up), giving rate = event_fraction / mean_followup. Criteria 1 and 2 as
    :func:`riley_binary` with max R2cs = 1 - exp(2 lnL_null / n), lnL_null = E ln(E / n) - E, evaluated as
    pmsampsize does at n = 10000 with E = ceil(rate * mean_followup * n) (events per person lambda = rate *
    mean_followup; the rounding moves criterion 2 by at most a few participants).
    Criterion 3: the smallest n whose 95% interval of the risk at ``timepoint``, 1 - exp(-(rate +- 1.96
    sqrt(rate / (n mean_followup))) timepoint), lies within +-``margin`` of the risk (pmsampsize only reports the
    interval at the final n, given as ``risk_interval``). Give ``r2_cs`` or ``c_statistic`` (Harrell's C-index,
    converted by :func:`r2cs_from_c_index`).

    Parameters
    ----------
    n_parameters : int
        The candidate predictor parameters.
    rate : float, optional
        Events per person-time; or give ``event_fraction`` (exactly one of the two).
    mean_followup : float
        The mean follow-up per person.
    timepoint : float
        The time at which criterion 3 bounds the risk.
    r2_cs, c_statistic : float, optional
        The anticipated Cox-Snell R2 or Harrell's C-index; exactly one.
    event_fraction : float, optional
        Events per person over the follow-up.
    shrinkage, optimism, margin : float
        The targets of criteria 1, 2 and 3.

    Returns
    -------
    dict
        ``n`` (the minimum sample size), ``events``, ``epp`` (events per parameter), ``person_time``,
        ``criteria`` (a table by criterion), ``r2_cs``, ``r2_source``, ``max_r2_cs``, ``nagelkerke_r2``,
        ``shrinkage``, ``risk`` (at ``timepoint``), ``risk_interval`` and ``binding`` (the criterion that sets
        ``n``).
    """
    if (rate is None) == (event_fraction is None):
        raise ValueError("give exactly one of rate and event_fraction")
    if (r2_cs is None) == (c_statistic is None):
        raise ValueError("give exactly one of r2_cs and c_statistic")
    rate = float(rate) if rate is not None else float(event_fraction) / mean_followup
    if rate <= 0 or mean_followup <= 0 or timepoint <= 0:
        raise ValueError("rate, mean_followup and timepoint must be positive")
    lam = rate * mean_followup
    source = "given"
    if r2_cs is None:
        r2_cs, source = r2cs_from_c_index(c_statistic, lam), "c_statistic (Royston D, Jinks et al. 2015)"
    events = math.ceil(lam * 10000)  # pmsampsize's reference cohort of 10000 with the events rounded up
    max_r2 = 1 - math.exp(2 * (events * math.log(events / 10000) - events) / 10000)
    if r2_cs >= max_r2:
        raise ValueError(f"Cox-Snell R2 {r2_cs} is not below its maximum {max_r2:.4f} for this event rate")
    s2 = r2_cs / (r2_cs + optimism * max_r2)
    n1, n2 = _n_shrinkage(n_parameters, r2_cs, shrinkage), _n_shrinkage(n_parameters, r2_cs, s2)
    risk = 1 - math.exp(-rate * timepoint)
    h = -math.log(1 - min(risk + margin, 1 - 1e-12)) / timepoint
    n3 = int(math.ceil(rate / ((h - rate) / 1.96) ** 2 / mean_followup))
    final = max(n1, n2, n3)
    half = 1.96 * math.sqrt(rate / (final * mean_followup))
    interval = (1 - math.exp(-(rate - half) * timepoint), 1 - math.exp(-(rate + half) * timepoint))
    table = _criteria_table(
        [(1, n1, shrinkage), (2, n2, s2), (3, n3, np.nan), ("final", final, max(shrinkage, s2))], lam, n_parameters
    )
    return {
        "n": final,
        "events": final * lam,
        "epp": final * lam / n_parameters,
        "person_time": final * mean_followup,
        "criteria": table,
        "r2_cs": float(r2_cs),
        "r2_source": source,
        "max_r2_cs": max_r2,
        "nagelkerke_r2": r2_cs / max_r2,
        "shrinkage": max(shrinkage, s2),
        "risk": risk,
        "risk_interval": interval,
        "binding": int(table["n"].iloc[:3].idxmax()),
    }


def _smallest(ok: Callable[[int], bool], start: int) -> int:
    """Smallest integer n >= start with ok(n), for ok monotone (false then true): doubling, then bisection."""
    if ok(start):
        return start
    lo, hi = start, start * 2
    while not ok(hi):
        if hi > 10**9:
            raise ValueError("no sample size up to 10^9 meets the criterion")
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def riley_continuous(
    n_parameters: int,
    r2: float,
    intercept: float,
    sd: float,
    shrinkage: float = 0.9,
    optimism: float = 0.05,
    mmoe: float = 1.1,
) -> dict:
    """Minimum sample size for developing a linear prediction model (Riley et al. 2019 part I, pmsampsize "c").

    Criterion 1: expected shrinkage 1 + (p - 2) / (n ln(1 - R2app)) >= ``shrinkage``, R2app = (R2 (n - p - 1) +
    p) / (n - 1); 2: R2app - R2adj <= ``optimism``, n = 1 + p (1 - R2) / optimism; 3: the residual SD within a
    multiplicative margin ``mmoe`` (chi-square interval); 4: the mean outcome within ``mmoe``
    (intercept + t_{0.975, n-p-1} sqrt(sd^2 (1 - R2) / n) <= mmoe intercept). ``r2`` is the adjusted R2.

    Parameters
    ----------
    n_parameters : int
        The candidate predictor parameters p.
    r2 : float
        The anticipated adjusted R2, in (0, 1).
    intercept : float
        The mean outcome (non-zero: criterion 4 is relative to it).
    sd : float
        The outcome's standard deviation (positive).
    shrinkage, optimism : float
        The targets of criteria 1 and 2.
    mmoe : float
        The multiplicative margin of error of criteria 3 and 4.

    Returns
    -------
    dict
        ``n`` (the minimum sample size), ``spp`` (samples per parameter), ``criteria`` (a table by criterion:
        n, shrinkage, spp), ``shrinkage`` (expected at ``n``) and ``binding`` (the criterion that sets ``n``).
    """
    from scipy.stats import chi2, t

    p = int(n_parameters)
    if not 0 < r2 < 1 or intercept == 0 or sd <= 0:
        raise ValueError("need 0 < r2 < 1, a non-zero intercept (criterion 4 is relative to it) and sd > 0")

    def shrink(n: int) -> float:
        r2app = (r2 * (n - p - 1) + p) / (n - 1)
        return 1 + (p - 2) / (n * math.log(1 - r2app)) if r2app < 1 else -np.inf

    n1 = _smallest(lambda n: shrink(n) >= shrinkage, p + 2)
    n2 = int(math.ceil(1 + p * (1 - r2) / optimism))
    df3 = _smallest(lambda df: max(math.sqrt(df / chi2.ppf(0.025, df)), math.sqrt(chi2.ppf(0.975, df) / df)) <= mmoe, 1)
    n3 = df3 + p + 1
    n4 = _smallest(
        lambda n: t.ppf(0.975, n - p - 1) * math.sqrt(sd**2 * (1 - r2) / n) <= (mmoe - 1) * abs(intercept),
        max(n1, n2, n3),
    )
    final = max(n1, n2, n3, n4)
    table = pd.DataFrame({"n": [n1, n2, n3, n4, final]}, index=pd.Index([1, 2, 3, 4, "final"], name="criterion"))
    table["shrinkage"] = [shrink(int(v)) for v in table["n"]]
    table["spp"] = table["n"] / p
    return {
        "n": final,
        "spp": final / p,
        "criteria": table,
        "shrinkage": shrink(final),
        "binding": int(table["n"].iloc[:4].idxmax()),
    }
