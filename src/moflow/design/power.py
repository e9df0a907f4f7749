"""How many samples does the study need? Per-layer power and the joint design across layers.

After MultiPower (Tarazona et al., Nat Commun 2020).

From a pilot cohort's layer and a two-group outcome, :func:`effect_sizes` estimates per feature what
the power formula of the layer's kind needs; :func:`feature_power` gives each feature's power of a
two-sided test at level ``alpha`` with ``n`` samples per group; :func:`fdr_alpha` finds the per-test
level at which the expected FDR of the layer equals the target (Pounds & Cheng, 2005);
:func:`layer_power_curve` gives the layer's average power over its non-null features against ``n``;
and :func:`joint_design` picks the sample size of every layer, either the same for all or at the
least total cost (an integer programme solved by CBC through PuLP).

Kinds and their tests:

* ``"counts"`` (raw counts, negative binomial ``var = mu + phi mu^2``): Wald test of the log fold
  change on the natural-log scale, ``Var(log mu2_hat - log mu1_hat) = (1/mu1 + phi)/n + (1/mu2 + phi)/n``;
  the effect is reported as a log2 fold change (``log2(mean2/mean1)``: 1 is a 2-fold change).
* ``"continuous"`` (any continuous, log-scale layer): two-sample t test (pooled SD), effect Cohen's d;
  power from the noncentral t distribution.
* ``"binary"`` (0/1 features): two-proportion test on Cohen's h (arcsine scale, normal approximation),
  effect ``p2 - p1``.

The effect is group 2 versus group 1 (group 1 is the reference: the first of ``order``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from moflow.errors import InputError

KINDS = ("counts", "continuous", "binary")
DISPERSION_FLOOR = 1e-8
_NEEDS = {"counts": ("mean1", "mean2", "dispersion"), "continuous": ("sd",), "binary": ("p1", "p2")}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"Unknown layer kind {kind!r} for the power study; use one of {', '.join(KINDS)}.")


def _two_groups(X: pd.DataFrame, groups: pd.Series, order) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Boolean masks over X's rows of group 1 and group 2, and the two labels."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"effect_sizes expects a samples x features pandas DataFrame, not {type(X).__name__}.")
    g = groups.reindex(X.index) if isinstance(groups, pd.Series) else pd.Series(np.asarray(groups), index=X.index)
    present = g.dropna()
    labels = list(present.unique())
    if order is None:
        if len(labels) != 2:
            names = sorted(map(str, labels))
            raise InputError(
                f"The power study compares two groups; the outcome has {len(names)} among the layer's "
                f"samples ({', '.join(names[:10])}). Pick the pair (order=(group1, group2)) or subset "
                "the samples to two classes."
            )
        if isinstance(g.dtype, pd.CategoricalDtype):
            order = tuple(c for c in g.cat.categories if c in labels)
        else:
            order = tuple(sorted(labels, key=str))
    order = tuple(order)
    if len(order) != 2 or order[0] == order[1]:
        raise InputError(f"order must name two different groups, not {order!r}.")
    m1, m2 = (g == order[0]).to_numpy(), (g == order[1]).to_numpy()
    if m1.sum() < 2 or m2.sum() < 2:
        raise InputError(
            f"Each group needs at least 2 samples of the layer for a power study; {order[0]!r} has "
            f"{int(m1.sum())} and {order[1]!r} has {int(m2.sum())}."
        )
    return m1, m2, order


def _group_stats(V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: number of observed values, mean and variance (ddof 1) ignoring NaN."""
    n = np.sum(~np.isnan(V), axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(V, axis=0) / n
        var = np.nansum((V - mean) ** 2, axis=0) / (n - 1)
    return n, mean, var


def effect_sizes(X: pd.DataFrame, groups: pd.Series, kind: str, *, order=None, normalize: bool = True) -> pd.DataFrame:
    """The effect of group 2 versus group 1 per feature of ``X``, and what :func:`feature_power` needs.

    Parameters
    ----------
    X : pandas.DataFrame
        The pilot layer (samples x features).
    groups : pandas.Series
        The group of each sample, matched to ``X`` by sample ID (samples without a group are left out); it
        must have exactly two classes among them (for more, subset to the pair or pass
        ``order=(group1, group2)``).
    kind : str
        The layer's kind: ``"counts"``, ``"continuous"`` or ``"binary"``.
    order : tuple, optional
        (group 1, group 2). Group 1 is ``order[0]``: by default the first category of a categorical, else
        the first label when sorted.
    normalize : bool
        Counts only: scale every sample to the median library size first.

    Returns
    -------
    pandas.DataFrame
        Columns: ``feature``, ``effect``, ``n1``, ``n2`` (observed values per group), ``pvalue`` (the
        pilot's own test, for the estimate of pi0) and by kind (below).

    Notes
    -----
    The columns by kind:

    * ``"counts"``: ``mean1``, ``mean2`` (per-group mean counts; a mean of 0 is replaced by half a count
      over the group, ``0.5/n_g``), ``dispersion`` (a common negative-binomial ``phi`` per feature by the
      method of moments, ``var = mu + phi mu^2`` pooled over the two groups, at least 1e-8). ``effect`` is
      the log2 fold change ``log2(mean2/mean1)`` (base 2: 1 is a 2-fold change; the Wald test works on
      the natural-log scale). With ``normalize`` every sample is first scaled to the median library size
      (as MultiPower does).
    * ``"continuous"``: ``mean1``, ``mean2``, ``sd`` (pooled); ``effect`` is Cohen's d.
    * ``"binary"``: ``p1``, ``p2``; ``effect`` is ``p2 - p1``.

    Features with no estimate (constant, all zero, under 2 values in a group) get NaN effects.
    """
    _check_kind(kind)
    m1, m2, order = _two_groups(X, groups, order)
    V = X.to_numpy(dtype=float, na_value=np.nan)
    if kind == "counts":
        if np.nanmin(V) < 0:
            raise InputError(
                "Negative values in a layer of kind 'counts': the power study needs raw counts "
                "(use kind 'continuous' for a log-scale or normalised layer)."
            )
        if normalize:
            depth = np.nansum(V, axis=1)
            depth[depth == 0] = np.nan
            V = V * (np.nanmedian(depth) / depth)[:, None]
    if kind == "binary":
        vals = V[~np.isnan(V)]
        if vals.size and not np.isin(vals, (0.0, 1.0)).all():
            raise InputError("A layer of kind 'binary' must hold 0/1 (or False/True) values only.")
    n1, mu1, v1 = _group_stats(V[m1])
    n2, mu2, v2 = _group_stats(V[m2])
    out = pd.DataFrame({"feature": X.columns.astype(str)})
    from scipy import stats

    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "counts":
            phi = ((n1 - 1) * (v1 - mu1) + (n2 - 1) * (v2 - mu2)) / ((n1 - 1) * mu1**2 + (n2 - 1) * mu2**2)
            phi = np.maximum(np.where(np.isfinite(phi), phi, np.nan), DISPERSION_FLOOR)
            dead = (mu1 + mu2 == 0) | (n1 < 2) | (n2 < 2)
            a, b = np.maximum(mu1, 0.5 / n1), np.maximum(mu2, 0.5 / n2)
            a[dead], b[dead], phi[dead] = np.nan, np.nan, np.nan
            effect = np.log2(b / a)
            z = np.log(b / a) / np.sqrt((1 / a + phi) / n1 + (1 / b + phi) / n2)
            pval = 2 * stats.norm.sf(np.abs(z))
            out = out.assign(effect=effect, mean1=a, mean2=b, dispersion=phi)
        elif kind == "continuous":
            sd = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
            sd[~(sd > 0)] = np.nan
            d = (mu2 - mu1) / sd
            t = d / np.sqrt(1 / n1 + 1 / n2)
            pval = 2 * stats.t.sf(np.abs(t), n1 + n2 - 2)
            out = out.assign(effect=d, mean1=mu1, mean2=mu2, sd=sd)
        else:
            h = 2 * np.arcsin(np.sqrt(mu2)) - 2 * np.arcsin(np.sqrt(mu1))
            pval = 2 * stats.norm.sf(np.abs(h) / np.sqrt(1 / n1 + 1 / n2))
            out = out.assign(effect=mu2 - mu1, p1=mu1, p2=mu2)
    out["n1"], out["n2"], out["pvalue"] = n1, n2, pval
    out.attrs.update(kind=kind, group1=order[0], group2=order[1])
    return out


def _columns(es: pd.DataFrame, kind: str) -> None:
    _check_kind(kind)
    missing = [c for c in ("effect",) + _NEEDS[kind] if c not in es.columns]
    if missing:
        raise InputError(
            f"Effect-size table for kind {kind!r} lacks column(s) {', '.join(missing)} (build it with effect_sizes)."
        )


def _standardized(es: pd.DataFrame, kind: str) -> np.ndarray:
    """|effect| in units of its standard error at n = 1 per group (the order of the features' power at any n)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "counts":
            mu1, mu2, phi = (es[c].to_numpy(float) for c in _NEEDS[kind])
            return np.abs(es["effect"].to_numpy(float) * math.log(2)) / np.sqrt(1 / mu1 + 1 / mu2 + 2 * phi)
        if kind == "continuous":
            return np.abs(es["effect"].to_numpy(float)) / math.sqrt(2)
        p1, p2 = (np.clip(es[c].to_numpy(float), 0, 1) for c in _NEEDS[kind])
        return np.abs(2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))) / math.sqrt(2)


def feature_power(es: pd.DataFrame, kind: str, n_per_group: int | np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """Power per feature (row of ``es``) of a two-sided test at level ``alpha``.

    Parameters
    ----------
    es : pandas.DataFrame
        The effect-size table (:func:`effect_sizes`).
    kind : str
        The layer's kind: ``"counts"``, ``"continuous"`` or ``"binary"``.
    n_per_group : int or numpy.ndarray
        Samples in each group (a scalar or an array over the features); at least 2.
    alpha : float or numpy.ndarray
        The per-test level (a scalar or an array over the features), in [0, 1].

    Returns
    -------
    numpy.ndarray
        The power of each feature; NaN where the feature has no effect estimate.

    Notes
    -----
    * counts: Wald test of ``beta = ln(mu2/mu1)`` (``effect * ln 2``), standard error
      ``sqrt((1/mu1 + phi)/n + (1/mu2 + phi)/n)``; power ``Phi(z - c) + Phi(-z - c)``, ``c = z_{1-alpha/2}``.
    * continuous: two-sample t test, ``df = 2n - 2``, noncentrality ``d sqrt(n/2)``, both tails of the
      noncentral t (as statsmodels' ``TTestIndPower``).
    * binary: normal test of Cohen's ``h = 2 asin sqrt(p2) - 2 asin sqrt(p1)``, ``z = |h| sqrt(n/2)`` (as
      statsmodels' ``NormalIndPower`` with ``proportion_effectsize``).
    """
    _columns(es, kind)
    from scipy import stats

    n = np.broadcast_to(np.asarray(n_per_group, float), (len(es),))
    a = np.broadcast_to(np.asarray(alpha, float), (len(es),))
    if np.any(n < 2):
        raise InputError("The power study needs at least 2 samples per group.")
    if np.any((a < 0) | (a > 1)):
        raise InputError("alpha must lie in [0, 1].")
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "continuous":
            df = 2 * n - 2
            ncp = np.abs(es["effect"].to_numpy(float)) * np.sqrt(n / 2)
            crit = stats.t.isf(a / 2, df)
            # lower tail as sf(crit; -ncp): scipy's nct.cdf(-crit, df, ncp) is NaN for a large ncp
            power = stats.nct.sf(crit, df, ncp) + stats.nct.sf(crit, df, -ncp)
        else:
            z = _standardized(es, kind) * np.sqrt(n)
            crit = stats.norm.isf(a / 2)
            power = stats.norm.cdf(z - crit) + stats.norm.cdf(-z - crit)
    power = np.where(a == 0, 0.0, np.where(a == 1, 1.0, power))
    return np.where(np.isfinite(es["effect"].to_numpy(float)), np.clip(power, 0.0, 1.0), np.nan)


def storey_pi0(pvalues, lam: float = 0.5) -> float:
    """Storey's estimate of the share of null features: ``#{p > lam} / ((1 - lam) m)``, at most 1."""
    p = np.asarray(pvalues, float)
    p = p[np.isfinite(p)]
    if not p.size:
        raise InputError("No p-values to estimate pi0 from; give pi0 or an effect threshold.")
    return float(min(1.0, np.mean(p > lam) / (1 - lam)))


def expected_fdr(alpha: float, avg_power: float, pi0: float) -> float:
    """Pounds & Cheng (2005): ``pi0 alpha / (pi0 alpha + (1 - pi0) avg_power)`` (0 when nothing is called)."""
    den = pi0 * alpha + (1 - pi0) * avg_power
    return float(pi0 * alpha / den) if den > 0 else 0.0


def fdr_alpha(power_fn: Callable[[float], float], m: int, pi0: float, fdr: float) -> float:
    """The per-test level ``alpha`` at which the expected FDR of ``m`` tests equals ``fdr``.

    A share ``pi0`` of the tests is null. The solution of
    ``pi0 alpha / (pi0 alpha + (1 - pi0) power_fn(alpha)) = fdr`` (Pounds & Cheng, 2005), with ``power_fn(alpha)``
    the average power of the non-null features at level ``alpha`` (increasing).

    Bisection on ``log(alpha)`` over [1e-20, 1] to a relative width of 1e-13.

    Parameters
    ----------
    power_fn : callable
        alpha -> the average power of the non-null features at that level (increasing).
    m : int
        The number of tests (features).
    pi0 : float
        The share of null features, in [0, 1].
    fdr : float
        The target FDR, in (0, 1).

    Returns
    -------
    float
        The level; 1.0 when even ``alpha = 1`` keeps the FDR at the target (``pi0 <= fdr``), and 0.0 when
        no level does or when fewer than one of the ``m`` features is non-null (``m (1 - pi0) < 1``):
        nothing can be discovered.
    """
    if not 0 < fdr < 1:
        raise InputError(f"The target FDR must lie in (0, 1), not {fdr}.")
    if not 0 <= pi0 <= 1:
        raise InputError(f"pi0 (the share of null features) must lie in [0, 1], not {pi0}.")
    if m < 1 or m * (1 - pi0) < 1 - 1e-9:
        return 0.0

    def gap(a: float) -> float:
        return expected_fdr(a, float(power_fn(a)), pi0) - fdr

    if gap(1.0) <= 0:
        return 1.0
    lo, hi = 1e-20, 1.0
    if gap(lo) > 0:
        return 0.0
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        g = gap(mid)
        if g == 0:
            return mid
        lo, hi = (mid, hi) if g < 0 else (lo, mid)
        if hi / lo - 1 < 1e-13:
            break
    return lo


def layer_power_curve(
    es: pd.DataFrame, kind: str, sizes, fdr: float = 0.05, pi0: float | None = None, effect_threshold: float = 0.0
) -> pd.DataFrame:
    """Average power over the layer's non-null features at each ``n`` per group in ``sizes``.

    Each at the per-test level that holds the expected FDR at ``fdr`` (:func:`fdr_alpha`).

    Parameters
    ----------
    es : pandas.DataFrame
        The layer's effect-size table (:func:`effect_sizes`).
    kind : str
        The layer's kind: ``"counts"``, ``"continuous"`` or ``"binary"``.
    sizes : sequence of int
        The samples per group to evaluate.
    fdr : float
        The target FDR.
    pi0 : float, optional
        The share of null features (see below).
    effect_threshold : float
        The smallest ``|effect|`` of a non-null feature; 0: non-null features by ``pi0`` (see below).

    Returns
    -------
    pandas.DataFrame
        One row per size (columns below).

    Notes
    -----
    Which features are non-null, and ``pi0``:

    * ``effect_threshold > 0``: the features with ``|effect| >= effect_threshold`` (in the kind's effect
      units: log2 fold change, Cohen's d, ``p2 - p1``); the others count as null, so ``pi0`` is their share
      unless ``pi0`` is given.
    * otherwise ``pi0`` (default: Storey's estimate with lambda = 0.5 from the pilot's ``pvalue`` column),
      and the ``round((1 - pi0) m)`` features with the largest standardised effects are the non-null ones.

    Features without an effect estimate are left out (``m`` counts the rest). Columns: ``n_per_group``,
    ``alpha``, ``power`` (NaN when no feature is non-null), ``pi0``, ``m``, ``m_nonnull``, ``fdr``.
    """
    _columns(es, kind)
    es = es[np.isfinite(es["effect"].to_numpy(float))]
    m = len(es)
    if m == 0:
        raise InputError("No feature of the layer has an effect estimate; the power study needs some.")
    if effect_threshold > 0:
        nonnull = np.abs(es["effect"].to_numpy(float)) >= effect_threshold
        pi0 = float(1 - nonnull.mean()) if pi0 is None else float(pi0)
    else:
        if pi0 is None:
            if "pvalue" not in es.columns:
                raise InputError(
                    "Estimating pi0 needs the pilot's p-values (column 'pvalue'); give pi0 or an effect threshold."
                )
            pi0 = storey_pi0(es["pvalue"])
        k = int(round((1 - float(pi0)) * m))
        nonnull = np.zeros(m, bool)
        nonnull[np.argsort(-np.nan_to_num(_standardized(es, kind)), kind="stable")[:k]] = True
    sub = es[nonnull]
    rows = []
    for n in sizes:
        n = int(n)

        def avg_power(a: float, n: int = n) -> float:
            return float(np.nanmean(feature_power(sub, kind, n, a)))

        if not len(sub):
            rows.append((n, 0.0, np.nan))
            continue
        alpha = fdr_alpha(avg_power, m, pi0, fdr)
        rows.append((n, alpha, avg_power(alpha)))
    out = pd.DataFrame(rows, columns=["n_per_group", "alpha", "power"])
    out["pi0"], out["m"], out["m_nonnull"], out["fdr"] = float(pi0), m, int(nonnull.sum()), fdr
    return out


def samples_needed(curve: pd.DataFrame, target_power: float) -> int | float:
    """The smallest ``n`` per group of ``curve`` whose power reaches ``target_power`` (NaN if none does)."""
    c = curve.sort_values("n_per_group")
    hit = c.loc[c["power"].to_numpy(float) >= target_power, "n_per_group"]
    return int(hit.iloc[0]) if len(hit) else float("nan")


def _design(n: dict, power: dict, costs: dict, target: float, min_power: float, message: str, **extra) -> dict:
    feasible = bool(n)
    return {
        "feasible": feasible,
        "n_per_group": dict(n),
        "power": dict(power),
        "mean_power": float(np.mean(list(power.values()))) if feasible else float("nan"),
        "total_cost": float(sum(costs[k] * v for k, v in n.items())) if feasible else float("nan"),
        "message": message,
        **extra,
    }


def _tables(curves: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """Layer -> power indexed by n per group (sorted, NaN powers dropped)."""
    if not curves:
        raise InputError("joint_design needs the power curve of at least one layer.")
    out = {}
    for name, c in curves.items():
        if not {"n_per_group", "power"} <= set(c.columns):
            raise InputError(
                f"The power curve of layer {name!r} needs columns 'n_per_group' and 'power' "
                "(build it with layer_power_curve)."
            )
        s = pd.Series(c["power"].to_numpy(float), index=c["n_per_group"].astype(int).to_numpy()).dropna()
        out[name] = s[~s.index.duplicated()].sort_index()
    return out


def _equal_design(tables: dict[str, pd.Series], target: float, min_power: float, costs: dict) -> dict:
    common = sorted(set.intersection(*(set(s.index) for s in tables.values())))
    for n in common:
        p = {k: float(s[n]) for k, s in tables.items()}
        if min(p.values()) >= min_power and np.mean(list(p.values())) >= target:
            return _design(
                {k: n for k in tables},
                p,
                costs,
                target,
                min_power,
                f"{n} per group in every layer reaches power >= {min_power:g} in each and a mean of >= {target:g}.",
            )
    top = f" (largest common size {common[-1]})" if common else " (the curves share no sample size)"
    return _design(
        {},
        {},
        costs,
        target,
        min_power,
        f"Infeasible: no sample size common to every layer's curve{top} gives each layer power >= "
        f"{min_power:g} and a mean >= {target:g}; extend the sizes or lower the targets.",
    )


def _cost_design(tables: dict[str, pd.Series], target: float, min_power: float, costs: dict) -> dict:
    try:
        import pulp
    except ImportError as exc:  # pragma: no cover - pulp is a dependency
        raise ImportError("The cost-optimal design needs PuLP (pip install pulp).") from exc
    layers = list(tables)
    ok = {k: s[s >= min_power] for k, s in tables.items()}
    short = [k for k in layers if not len(ok[k])]
    if short:
        return _design(
            {},
            {},
            costs,
            target,
            min_power,
            f"Infeasible: layer(s) {', '.join(map(str, short))} never reach power {min_power:g} "
            "within their curves' sizes; extend the sizes or lower min_power.",
            solver_status="Infeasible",
        )
    if np.mean([ok[k].max() for k in layers]) < target:
        return _design(
            {},
            {},
            costs,
            target,
            min_power,
            f"Infeasible: even the largest sizes give a mean power under {target:g}.",
            solver_status="Infeasible",
        )
    prob = pulp.LpProblem("joint_design", pulp.LpMinimize)
    x = {(i, n): pulp.LpVariable(f"x_{i}_{n}", cat="Binary") for i, k in enumerate(layers) for n in ok[k].index}
    prob += pulp.lpSum(costs[layers[i]] * n * v for (i, n), v in x.items())
    for i, _k in enumerate(layers):
        prob += pulp.lpSum(v for (j, _), v in x.items() if j == i) == 1
    prob += pulp.lpSum(float(ok[layers[i]][n]) * v for (i, n), v in x.items()) >= len(layers) * target
    status = pulp.LpStatus[prob.solve(pulp.PULP_CBC_CMD(msg=False))]
    if status != "Optimal":
        return _design(
            {}, {}, costs, target, min_power, f"Infeasible: the solver reports {status}.", solver_status=status
        )
    chosen = {layers[i]: int(n) for (i, n), v in x.items() if (v.value() or 0) > 0.5}
    power = {k: float(tables[k][n]) for k, n in chosen.items()}
    return _design(
        chosen,
        power,
        costs,
        target,
        min_power,
        f"Least total cost {sum(costs[k] * n for k, n in chosen.items()):g} with each layer's power >= "
        f"{min_power:g} and a mean >= {target:g}.",
        solver_status=status,
    )


def joint_design(
    curves: dict[str, pd.DataFrame], target_power: float, min_power: float, costs: dict | None = None
) -> dict:
    """MultiPower's two designs from the layers' power curves (:func:`layer_power_curve`).

    * ``"equal_n"``: the same ``n`` per group for every layer, the smallest one in all curves such that
      every layer's power is at least ``min_power`` and their mean at least ``target_power``.
    * ``"cost_optimal"``: one ``n`` per layer from its curve's sizes, by an integer programme (binary
      ``x[layer, n]``, one chosen per layer; CBC through PuLP) minimising ``sum(cost_l * n_l)`` subject to
      the same two power constraints. ``n_l`` is per group, so a two-group study costs twice the total
      (the optimum is the same).

    Parameters
    ----------
    curves : dict of str to pandas.DataFrame
        Each layer's power curve (columns ``n_per_group`` and ``power``).
    target_power : float
        The least mean power over the layers, in [0, 1].
    min_power : float
        The least power of every layer, in [0, 1].
    costs : dict, optional
        Layer -> cost per sample (default 1 each).

    Returns
    -------
    dict
        ``equal_n`` and ``cost_optimal``, each design: ``feasible``, ``n_per_group`` and ``power`` (dicts by
        layer), ``mean_power``, ``total_cost`` (``sum(cost_l * n_l)``, NaN when infeasible) and a
        ``message`` (saying why, when infeasible); the cost-optimal one adds ``solver_status``. The result
        also repeats ``target_power``, ``min_power`` and ``costs``.
    """
    if not (0 <= min_power <= 1 and 0 <= target_power <= 1):
        raise InputError("min_power and target_power must lie in [0, 1].")
    tables = _tables(curves)
    costs = {k: 1.0 for k in tables} if costs is None else dict(costs)
    missing = [k for k in tables if k not in costs]
    if missing:
        raise InputError(f"No cost given for layer(s) {', '.join(map(str, missing))}.")
    costs = {k: float(costs[k]) for k in tables}
    return {
        "equal_n": _equal_design(tables, target_power, min_power, costs),
        "cost_optimal": _cost_design(tables, target_power, min_power, costs),
        "target_power": target_power,
        "min_power": min_power,
        "costs": costs,
    }
