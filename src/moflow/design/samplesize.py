"""How many samples does the study need: learning curves from the nested CV.

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

Riley et al.'s minimum sample size, the floor beside the learning curve, is in :mod:`moflow.design.riley`.
"""

from __future__ import annotations

import math
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

    Parameters
    ----------
    train : list of str
        The split's training samples.
    strata : numpy.ndarray or pandas.Series
        The stratum of each training sample; none may be missing.
    fraction : float
        The share of each stratum kept, in (0, 1].
    seed : int
        The random seed.

    Returns
    -------
    list of str
        The kept samples, in the order of ``train``.
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


def learning_curve(
    splits: Sequence[tuple[list[str], list[str]]],
    strata: pd.Series,
    fractions: Sequence[float],
    fit_and_score: Callable[[list[str], list[str]], float],
    seed: int = 0,
) -> pd.DataFrame:
    """Per-split held-out scores at several training fractions (the same splits, training sets subsampled).

    Parameters
    ----------
    splits : sequence of tuple
        The splits, each (training samples, held-out samples).
    strata : pandas.Series
        The stratum of each sample (:func:`subsample_training`).
    fractions : sequence of float
        The training fractions.
    fit_and_score : callable
        ``fit_and_score(train, test)`` trains on ``train`` and returns the score on ``test``.
    seed : int
        The random seed of the first split's subsamples (split ``i`` uses ``seed + i``).

    Returns
    -------
    pandas.DataFrame
        One row per split and fraction: ``split``, ``fraction``, ``n_train``, ``score`` (the input of
        :func:`fit_learning_curve`, with ``groups=split``).
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
    """Level of each point's training size.

    Sizes within 10% of a level's smallest size share it (stratified subsamples of one fraction differ by a
    sample or two between splits).
    """
    sizes = np.unique(n)
    level, start, of_size = -1, -np.inf, {}
    for s in sizes:
        if s > 1.1 * start:
            level, start = level + 1, s
        of_size[s] = level
    return np.array([of_size[s] for s in n])


def size_levels(n) -> int:
    """How many distinct training sizes ``n`` holds (sizes within 10% of each other count once).

    A curve needs at least 3.
    """
    n = np.asarray(n, float)
    return int(_levels(n).max()) + 1 if len(n) else 0


def _sigma(n: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-point standard deviation for the weights.

    The SD of the scores at the point's training-size level (floored at a quarter of their median) where every
    level has at least 3 points, else proportional to n^-1/2.
    """
    lev = _levels(n)
    counts = np.bincount(lev)
    if counts.min() >= 3:
        sd = np.array([y[lev == k].std(ddof=1) for k in range(len(counts))])
        med = np.median(sd)
        if med > 0:
            return np.maximum(sd, 0.25 * med)[lev]
    return 1.0 / np.sqrt(n)


def _profile(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, sign: float, a_bounds: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The least weighted SSE over a in ``a_bounds`` and b >= 0 for fixed c, exactly.

    For fixed c (each column of ``x`` = n^-c, points in rows) the curve is linear in (a, b): the least
    weighted SSE over a in ``a_bounds`` and b >= 0, exactly (a convex quadratic on a box: the free optimum
    where feasible, else the best of the optima on the edges a = bound and b = 0). Returns (sse, a, b), one
    value per column.
    """
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
    """(a, b, c) of one weighted least-squares fit of ``a - sign b n^-c``, by variable projection.

    a in ``a_bounds``, b > 0, c in [0.001, 5]. For each c the best (a, b) is exact (:func:`_profile`), so only c is
    searched, on a log grid refined four times around its best point (log c to within 1e-4). The same
    optimum as a bounded curve_fit from a good start, in a fraction of its time
    (bench/results/learning_curve_fit.md); raises ValueError with fewer than 3 distinct training sizes.
    """
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


def fit_learning_curve(
    n: np.ndarray,
    score: np.ndarray,
    *,
    kind: str = "gain",
    groups: np.ndarray | None = None,
    n_boot: int = 500,
    seed: int = 0,
    test_to_train: float | None = None,
    a_bounds: tuple[float, float] | None = None,
) -> dict:
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
    return {
        "kind": kind,
        "params": {"a": a, "b": b, "c": c},
        "boot": boot,
        "n_boot": int(n_boot),
        "n_failed": int(failed),
        "inflation": inflation,
        "a_bounds": a_bounds,
        "n_range": (float(n.min()), float(n.max())),
        "predict": lambda nn: _curve(nn, a, b, c, sign),
    }


def predict_score(fit: dict, n_new, level: float = 0.95) -> pd.DataFrame:
    """Point prediction and bootstrap percentile interval of the score at each ``n_new``.

    Parameters
    ----------
    fit : dict
        A fitted curve (:func:`fit_learning_curve`).
    n_new : float or array-like
        The training sizes.
    level : float
        The interval's coverage.

    Returns
    -------
    pandas.DataFrame
        Columns ``n``, ``score``, ``low``, ``high``, ``extrapolated`` (n beyond the largest observed training
        size).
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
        n = np.where(gap > 0, np.power(np.asarray(b, float) / np.where(gap > 0, gap, 1.0), 1.0 / np.asarray(c)), np.inf)
    return np.where(n > n_max, np.inf, n)


def size_for_target(fit: dict, target: float, n_max: float = 1e6, level: float = 0.95) -> dict:
    """The training size at which the fitted curve reaches ``target``, with its bootstrap interval.

    Parameters
    ----------
    fit : dict
        A fitted curve (:func:`fit_learning_curve`).
    target : float
        The target score.
    n_max : float
        Sizes beyond it count as not reachable.
    level : float
        The interval's coverage.

    Returns
    -------
    dict
        ``target``, ``n_exact`` (the solution of the fitted curve; inf when not reachable), ``n`` (rounded up),
        ``low``/``high`` (percentiles over the bootstrap fits, unreachable ones counted as inf), ``reachable``,
        ``boot_unreachable`` (share of bootstrap fits that never reach the target) and ``status``:
        ``"reachable"``, ``"not reachable: asymptote a=... below target"`` (above, for an error) or
        ``"not reachable within n_max"``.
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
    return {
        "target": float(target),
        "n_exact": n_star,
        "n": n_up,
        "low": low,
        "high": high,
        "reachable": bool(np.isfinite(n_star)),
        "boot_unreachable": unreachable,
        "status": status,
    }


def size_table(fits: dict[str, dict], target: float, n_max: float = 1e6) -> pd.DataFrame:
    """:func:`size_for_target` for each strategy's fitted curve, one row per strategy."""
    rows = [{"strategy": name, **size_for_target(fit, target, n_max)} for name, fit in fits.items()]
    return pd.DataFrame(rows).set_index("strategy")
