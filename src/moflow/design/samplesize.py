"""How many samples does the study need: learning curves from the nested CV and Riley's minimum sample size.

Learning curve. The outer splits of the nested CV are kept; each split's training samples are subsampled
(:func:`subsample_training`: stratified by class or event status, nested across fractions) and the model trained
on the subsample is scored on the split's held-out samples (:func:`learning_curve`). The per-split scores are
fitted by an inverse power law (:func:`fit_learning_curve`)::

    gain  (AUC, C-index, balanced accuracy):  score(n) = a - b * n**-c
    error (balanced error rate):              error(n) = a + b * n**-c        (b > 0, c > 0; a: the asymptote)

by weighted nonlinear least squares (each point weighted by the inverse variance of the scores at its training
size), with a cluster bootstrap over the splits (a split's points resampled together; widened for the samples the
splits share, ``test_to_train``) for the intervals of :func:`predict_score` and :func:`size_for_target`. A
bootstrap fit that does not converge is dropped and counted (``n_failed``).

Riley et al. minimum sample size (a floor for developing a regression-type prediction model):
:func:`riley_binary`, :func:`riley_survival`, :func:`riley_continuous` follow Riley et al. (Stat Med 2019, parts I
and II; BMJ 2020) and the R package pmsampsize (1.1.3). Deviations, documented where they occur: the C-statistic
is converted to the Cox-Snell R2 by the exact large-sample value of pmsampsize's ``cstat2rsq`` (binormal linear
predictor, computed by quadrature instead of a 10^6-sample simulation); the survival criterion 3 gives the smallest
n whose 95% interval of the risk at the timepoint is within the margin (pmsampsize only reports that interval).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

_KINDS = {"gain": 1.0, "error": -1.0}


def subsample_training(train: list[str], strata: np.ndarray | pd.Series, fraction: float, seed: int) -> list[str]:
    """A stratified subsample of a split's training samples, in their original order.

    ``strata`` is aligned to ``train`` (an array of its length) or indexed by sample (a Series). Each stratum keeps
    ``round(fraction * n_stratum)`` samples, at least 2 (all of a stratum of one). The samples of a stratum are put
    in a random order that depends only on the seed and the sample names, and the first ones are kept: the same seed
    gives the same subsample, and a smaller fraction gives a subset of a larger one's (nested).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    train = list(train)
    labels = strata.reindex(train).to_numpy() if isinstance(strata, pd.Series) else np.asarray(strata)
    if len(labels) != len(train):
        raise ValueError(f"strata has {len(labels)} entries for {len(train)} training samples")
    if pd.isna(labels).any():
        raise ValueError(f"strata lack a label for {int(pd.isna(labels).sum())} training samples (absent or missing)")
    rng = np.random.default_rng(seed)
    keep: set[str] = set()
    for label in sorted(pd.unique(labels), key=str):
        members = sorted(s for s, lab in zip(train, labels) if lab == label)
        order = rng.permutation(len(members))
        k = min(len(members), max(2, int(math.floor(fraction * len(members) + 0.5))))
        keep.update(members[i] for i in order[:k])
    return [s for s in train if s in keep]


def learning_curve(splits: Sequence[tuple[list[str], list[str]]], strata: pd.Series, fractions: Sequence[float],
                   fit_and_score: Callable[[list[str], list[str]], float], seed: int = 0) -> pd.DataFrame:
    """Per-split held-out scores at several training fractions (the same splits, training sets subsampled).

    ``fit_and_score(train, test)`` trains on ``train`` and returns the score on ``test``. Returns one row per split
    and fraction: ``split``, ``fraction``, ``n_train``, ``score`` (the input of :func:`fit_learning_curve`, with
    ``groups=split``).
    """
    rows = []
    for i, (train, test) in enumerate(splits):
        for f in sorted(fractions):
            sub = subsample_training(train, strata, f, seed + i)
            rows.append((i, float(f), len(sub), float(fit_and_score(sub, test))))
    return pd.DataFrame(rows, columns=["split", "fraction", "n_train", "score"])


def _curve(n, a, b, c, sign):
    return a - sign * b * np.power(np.asarray(n, float), -c)


def _levels(n: np.ndarray) -> np.ndarray:
    """Level of each point's training size: sizes within 10% of a level's smallest size share it (stratified
    subsamples of one fraction differ by a sample or two between splits)."""
    sizes = np.unique(n)
    level, start, of_size = -1, -np.inf, {}
    for s in sizes:
        if s > 1.1 * start:
            level, start = level + 1, s
        of_size[s] = level
    return np.array([of_size[s] for s in n])


def size_levels(n) -> int:
    """How many distinct training sizes ``n`` holds (sizes within 10% of each other count once): a curve
    needs at least 3."""
    n = np.asarray(n, float)
    return int(_levels(n).max()) + 1 if len(n) else 0


def _sigma(n: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-point standard deviation for the weights: the SD of the scores at the point's training-size level
    (floored at a quarter of their median) where every level has at least 3 points, else proportional to n^-1/2."""
    lev = _levels(n)
    counts = np.bincount(lev)
    if counts.min() >= 3:
        sd = np.array([y[lev == k].std(ddof=1) for k in range(len(counts))])
        med = np.median(sd)
        if med > 0:
            return np.maximum(sd, 0.25 * med)[lev]
    return 1.0 / np.sqrt(n)


def _profile(x: np.ndarray, y: np.ndarray, w: np.ndarray, sign: float, a_bounds: tuple[float, float]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For fixed c (each column of ``x`` = n^-c, points in rows) the curve is linear in (a, b): the least
    weighted SSE over a in ``a_bounds`` and b >= 0, exactly (a convex quadratic on a box: the free optimum
    where feasible, else the best of the optima on the edges a = bound and b = 0). Returns (sse, a, b), one
    value per column."""
    x = x.reshape(len(y), -1)
    sw = w.sum()
    xm, ym = (w @ x) / sw, (w @ y) / sw
    sxx = w @ (x - xm) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(sxx > 0, (w @ ((x - xm) * (y - ym)[:, None])) / np.where(sxx > 0, sxx, 1.0), 0.0)
    cands = [(ym - beta * xm, -sign * beta)]
    xx = w @ (x * x)
    for a in a_bounds:  # a on a bound: b by weighted least squares of y - a on -sign x
        if np.isfinite(a):
            with np.errstate(divide="ignore", invalid="ignore"):
                b = np.where(xx > 0, (w @ (-sign * x * (y - a)[:, None])) / np.where(xx > 0, xx, 1.0), 0.0)
            cands.append((np.full(x.shape[1], float(a)), np.maximum(b, 0.0)))
    cands.append((np.full(x.shape[1], float(np.clip(ym, *a_bounds))), np.zeros(x.shape[1])))  # b = 0: flat
    best = np.full(x.shape[1], np.inf)
    best_a, best_b = np.full(x.shape[1], np.nan), np.full(x.shape[1], np.nan)
    for a, b in cands:
        ok = (a >= a_bounds[0]) & (a <= a_bounds[1]) & (b >= 0)
        sse = w @ (y[:, None] - (a - sign * b * x)) ** 2
        take = ok & (sse < best)
        best, best_a, best_b = np.where(take, sse, best), np.where(take, a, best_a), np.where(take, b, best_b)
    return best, best_a, best_b


_LOG_C = (np.log(1e-3), np.log(5.0))


def _fit_once(n: np.ndarray, y: np.ndarray, sign: float, a_bounds: tuple[float, float]) -> np.ndarray:
    """(a, b, c) of one weighted least-squares fit of ``a - sign b n^-c`` (a in ``a_bounds``, b > 0, c in
    [0.001, 5]) by variable projection: for each c the best (a, b) is exact (:func:`_profile`), so only c is
    searched, on a log grid refined four times around its best point (log c to within 1e-4). The same
    optimum as a bounded curve_fit from a good start, in a fraction of its time
    (bench/results/learning_curve_fit.md); raises ValueError with fewer than 3 distinct training sizes."""
    if _levels(n).max() < 2:
        raise ValueError("at least 3 distinct training sizes are needed")
    w = 1.0 / _sigma(n, y) ** 2
    logn = np.log(n)

    grid = np.linspace(*_LOG_C, 33)
    for _ in range(4):  # each pass: 33 values of c at once, then the same around the best (width / 16)
        values = _profile(np.exp(-np.outer(logn, np.exp(grid))), y, w, sign, a_bounds)[0]
        i = int(np.argmin(values))
        logc = float(grid[i])
        grid = np.linspace(grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)], 33)
    _, a, b = _profile(np.exp(-np.exp(logc) * logn), y, w, sign, a_bounds)
    params = np.array([a[0], max(b[0], 1e-12), np.exp(logc)])
    if not np.all(np.isfinite(params)):
        raise RuntimeError("non-finite parameters")
    return params


def fit_learning_curve(n: np.ndarray, score: np.ndarray, *, kind: str = "gain", groups: np.ndarray | None = None,
                       n_boot: int = 500, seed: int = 0, test_to_train: float | None = None,
                       a_bounds: tuple[float, float] | None = None) -> dict:
    """Inverse power law fitted to per-split scores at several training sizes, with a cluster bootstrap.

    Parameters
    ----------
    n, score
        Training size and held-out score of each point (one point per split and training size).
    kind
        ``"gain"`` (score increases with n: ``a - b n^-c``) or ``"error"`` (decreases: ``a + b n^-c``).
    groups
        The split of each point: the bootstrap resamples splits (all points of a drawn split together). ``None``:
        points are resampled one by one.
    test_to_train
        Held-out to training size ratio of the splits (1 / (K - 1) for K-fold). Splits of one cohort share their
        samples, so resampling them understates the uncertainty about a new cohort; when given (with ``groups``),
        the bootstrap deviations from the fit (of the score in :func:`predict_score`, of log n in
        :func:`size_for_target`) are widened by sqrt(1 + J * test_to_train), J splits: the Nadeau & Bengio (2003)
        variance factor 1/J + n_test/n_train over the naive 1/J, as for repeated K-fold (Bouckaert & Frank 2004).
        ``None``: the plain cluster bootstrap, an interval conditional on the cohort at hand.
    a_bounds
        Bounds of the asymptote; default (0, 1) when every score is in [0, 1], else unbounded.

    Returns
    -------
    dict
        ``kind``; ``params`` ({a, b, c}); ``boot`` (array of the converged bootstrap fits' (a, b, c), one per row);
        ``n_boot``; ``n_failed`` (bootstrap fits that did not converge, dropped); ``inflation`` (the widening
        factor, 1 without ``test_to_train``); ``n_range`` (observed sizes); ``predict`` (callable: n -> fitted score).
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
    sign = _KINDS[kind]
    n = np.asarray(n, float)
    y = np.asarray(score, float)
    if n.shape != y.shape or not (np.isfinite(n).all() and np.isfinite(y).all()):
        raise ValueError("n and score must be finite arrays of the same length")
    if (n <= 0).any():
        raise ValueError("training sizes must be positive")
    if a_bounds is None:
        a_bounds = (0.0, 1.0) if (y.min() >= 0 and y.max() <= 1) else (-np.inf, np.inf)
    params = _fit_once(n, y, sign, a_bounds)
    rng = np.random.default_rng(seed)
    if groups is None:
        cluster_index = [np.array([i]) for i in range(len(n))]
    else:
        g = np.asarray(groups)
        if len(g) != len(n):
            raise ValueError("groups must have one entry per point")
        cluster_index = [np.flatnonzero(g == u) for u in pd.unique(g)]
    boot, failed = [], 0
    for _ in range(n_boot):
        pick = np.concatenate([cluster_index[i] for i in rng.integers(0, len(cluster_index), len(cluster_index))])
        try:
            boot.append(_fit_once(n[pick], y[pick], sign, a_bounds))
        except (RuntimeError, ValueError, np.linalg.LinAlgError):
            failed += 1
    boot = np.array(boot).reshape(-1, 3)
    inflation = 1.0
    if test_to_train is not None:
        if groups is None or test_to_train < 0:
            raise ValueError("test_to_train needs groups (the split of each point) and must be >= 0")
        inflation = math.sqrt(1 + len(cluster_index) * test_to_train)
    a, b, c = (float(v) for v in params)
    return {"kind": kind, "params": {"a": a, "b": b, "c": c}, "boot": boot, "n_boot": int(n_boot),
            "n_failed": int(failed), "inflation": inflation, "a_bounds": a_bounds,
            "n_range": (float(n.min()), float(n.max())), "predict": lambda nn: _curve(nn, a, b, c, sign)}


def predict_score(fit: dict, n_new, level: float = 0.95) -> pd.DataFrame:
    """Point prediction and bootstrap percentile interval of the score at each ``n_new``.

    Columns ``n``, ``score``, ``low``, ``high``, ``extrapolated`` (n beyond the largest observed training size).
    """
    nn = np.atleast_1d(np.asarray(n_new, float))
    sign = _KINDS[fit["kind"]]
    point = fit["predict"](nn)
    boot = fit["boot"]
    if len(boot):
        curves = _curve(nn[None, :], boot[:, [0]], boot[:, [1]], boot[:, [2]], sign)
        curves = np.clip(point + fit["inflation"] * (curves - point), *fit["a_bounds"])
        low, high = np.quantile(curves, [(1 - level) / 2, (1 + level) / 2], axis=0)
    else:
        low = high = np.full(len(nn), np.nan)
    return pd.DataFrame({"n": nn, "score": point, "low": low, "high": high, "extrapolated": nn > fit["n_range"][1]})


def _size(a, b, c, sign, target, n_max):
    """The n where a - sign b n^-c reaches target (inf where the asymptote does not, or beyond n_max)."""
    gap = sign * (np.asarray(a, float) - target)  # > 0: the asymptote is beyond the target
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = np.where(gap > 0, np.power(np.asarray(b, float) / np.where(gap > 0, gap, 1.0), 1.0 / np.asarray(c)),
                     np.inf)
    return np.where(n > n_max, np.inf, n)


def size_for_target(fit: dict, target: float, n_max: float = 1e6, level: float = 0.95) -> dict:
    """The training size at which the fitted curve reaches ``target``, with its bootstrap interval.

    Returns ``target``, ``n_exact`` (the solution of the fitted curve; inf when not reachable), ``n`` (rounded up),
    ``low``/``high`` (percentiles over the bootstrap fits, unreachable ones counted as inf), ``reachable``,
    ``boot_unreachable`` (share of bootstrap fits that never reach the target) and ``status``: ``"reachable"``,
    ``"not reachable: asymptote a=... below target"`` (above, for an error) or ``"not reachable within n_max"``.
    """
    sign = _KINDS[fit["kind"]]
    p = fit["params"]
    n_star = float(_size(p["a"], p["b"], p["c"], sign, target, n_max))
    if np.isfinite(n_star):
        status = "reachable"
    elif sign * (p["a"] - target) <= 0:
        status = f"not reachable: asymptote a={p['a']:.4g} {'below' if sign > 0 else 'above'} target {target:g}"
    else:
        status = f"not reachable within n_max={n_max:g}"
    boot = fit["boot"]
    if len(boot):
        sizes = _size(boot[:, 0], boot[:, 1], boot[:, 2], sign, target, n_max)
        sizes = np.maximum(sizes, 1.0)  # a curve above the target everywhere: reached at any size
        finite = np.isfinite(sizes)
        if np.isfinite(n_star) and fit["inflation"] != 1:  # widened on the log scale
            sizes[finite] = n_star * np.exp(fit["inflation"] * np.log(sizes[finite] / n_star))
            sizes[sizes > n_max] = np.inf
        low, high = (float(np.quantile(sizes, q, method="inverted_cdf")) for q in ((1 - level) / 2, (1 + level) / 2))
        unreachable = float(np.mean(~np.isfinite(sizes)))
    else:
        low = high = unreachable = np.nan
    n_up = float(math.ceil(n_star)) if np.isfinite(n_star) else np.inf
    return {"target": float(target), "n_exact": n_star, "n": n_up,
            "low": low, "high": high, "reachable": bool(np.isfinite(n_star)), "boot_unreachable": unreachable,
            "status": status}


def size_table(fits: dict[str, dict], target: float, n_max: float = 1e6) -> pd.DataFrame:
    """:func:`size_for_target` for each strategy's fitted curve, one row per strategy."""
    rows = [{"strategy": name, **size_for_target(fit, target, n_max)} for name, fit in fits.items()]
    return pd.DataFrame(rows).set_index("strategy")


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


def riley_binary(n_parameters: int, prevalence: float, c_statistic: float | None = None, r2_cs: float | None = None,
                 shrinkage: float = 0.9, optimism: float = 0.05, margin: float = 0.05) -> dict:
    """Minimum sample size for developing a logistic prediction model (Riley et al. 2020, pmsampsize type "b").

    Criterion 1: expected uniform shrinkage >= ``shrinkage``; 2: optimism of Nagelkerke's R2 <= ``optimism``
    (S = R2cs / (R2cs + optimism max R2cs), n as in criterion 1); 3: the overall risk within +-``margin``
    (n = (1.96 / margin)^2 phi (1 - phi)). The answer is the largest. Give ``r2_cs`` (adjusted Cox-Snell R2) or
    ``c_statistic`` (converted by :func:`r2cs_from_c_statistic`).
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
    table = _criteria_table([(1, n1, shrinkage), (2, n2, s2), (3, n3, np.nan), ("final", final, max(shrinkage, s2))],
                            prevalence, n_parameters)
    return {"n": final, "events": final * prevalence, "epp": final * prevalence / n_parameters, "criteria": table,
            "r2_cs": float(r2_cs), "r2_source": source, "max_r2_cs": max_r2, "nagelkerke_r2": r2_cs / max_r2,
            "shrinkage": max(shrinkage, s2), "binding": int(table["n"].iloc[:3].idxmax())}


def r2cs_from_c_index(c_index: float, events_per_person: float) -> float:
    """Approximate Cox-Snell R2 of a Cox model from its C-index (Riley et al. 2019 part II, section 4): Royston's D
    from the C-index (Jinks et al. 2015: D = 5.50 (C - 0.5) + 10.26 (C - 0.5)^3), R2_D = D^2/kappa^2 /
    (pi^2/6 + D^2/kappa^2) with kappa^2 = 8/pi, taken as Kent & O'Quigley's R2 so that LR = -E ln(1 - R2_D) and
    R2cs = 1 - exp(-LR/n) = 1 - (1 - R2_D)^(E/n). An approximation; an R2cs reported by a previous study is better.
    """
    if not 0.5 < c_index < 1:
        raise ValueError("need 0.5 < c_index < 1")
    d = 5.50 * (c_index - 0.5) + 10.26 * (c_index - 0.5) ** 3
    r2_d = (d**2 * math.pi / 8) / (math.pi**2 / 6 + d**2 * math.pi / 8)
    return float(1 - (1 - r2_d) ** min(events_per_person, 1.0))


def riley_survival(n_parameters: int, rate: float | None = None, mean_followup: float = 1.0,
                   timepoint: float = 1.0, r2_cs: float | None = None, c_statistic: float | None = None, *,
                   event_fraction: float | None = None, shrinkage: float = 0.9, optimism: float = 0.05,
                   margin: float = 0.05) -> dict:
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
    table = _criteria_table([(1, n1, shrinkage), (2, n2, s2), (3, n3, np.nan), ("final", final, max(shrinkage, s2))],
                            lam, n_parameters)
    return {"n": final, "events": final * lam, "epp": final * lam / n_parameters, "person_time": final * mean_followup,
            "criteria": table, "r2_cs": float(r2_cs), "r2_source": source, "max_r2_cs": max_r2,
            "nagelkerke_r2": r2_cs / max_r2, "shrinkage": max(shrinkage, s2), "risk": risk, "risk_interval": interval,
            "binding": int(table["n"].iloc[:3].idxmax())}


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


def riley_continuous(n_parameters: int, r2: float, intercept: float, sd: float, shrinkage: float = 0.9,
                     optimism: float = 0.05, mmoe: float = 1.1) -> dict:
    """Minimum sample size for developing a linear prediction model (Riley et al. 2019 part I, pmsampsize "c").

    Criterion 1: expected shrinkage 1 + (p - 2) / (n ln(1 - R2app)) >= ``shrinkage``, R2app = (R2 (n - p - 1) +
    p) / (n - 1); 2: R2app - R2adj <= ``optimism``, n = 1 + p (1 - R2) / optimism; 3: the residual SD within a
    multiplicative margin ``mmoe`` (chi-square interval); 4: the mean outcome within ``mmoe``
    (intercept + t_{0.975, n-p-1} sqrt(sd^2 (1 - R2) / n) <= mmoe intercept). ``r2`` is the adjusted R2.
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
    n4 = _smallest(lambda n: t.ppf(0.975, n - p - 1) * math.sqrt(sd**2 * (1 - r2) / n) <= (mmoe - 1) * abs(intercept),
                   max(n1, n2, n3))
    final = max(n1, n2, n3, n4)
    table = pd.DataFrame({"n": [n1, n2, n3, n4, final]}, index=pd.Index([1, 2, 3, 4, "final"], name="criterion"))
    table["shrinkage"] = [shrink(int(v)) for v in table["n"]]
    table["spp"] = table["n"] / p
    return {"n": final, "spp": final / p, "criteria": table, "shrinkage": shrink(final),
            "binding": int(table["n"].iloc[:4].idxmax())}
