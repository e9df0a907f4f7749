"""One multi-omics pathway table: the layers' signed z-scores combined by Stouffer's and Brown's methods.

Signed z-scores per layer, combined by Stouffer's method, and beside it by Brown's method with the
directional penalty of DPM (ActivePathways), which accounts for correlated layers;
:func:`combine_sources` makes it of the MOFA factors' and the models' tables.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from moflow.stats import bh


def signed_z(stat: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Z = sign(stat) * Phi^-1(1 - p/2), p clipped to [1e-300, 1].

    Standard normal under the null when p is conditional on the sign (GSEA's nominal p) or two-sided.
    """
    from scipy import stats  # here, not at the top: the Snakefile imports this module

    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0)
    return np.sign(np.asarray(stat, dtype=float)) * stats.norm.isf(p / 2)


def combine_layers(table: pd.DataFrame, *, by: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Stouffer's combination of the layers' signed z-scores per (by..., term).

    ``table``: per-layer results with columns layer, term, nes, fdr, and ``z`` (from the prerank;
    where absent it is computed from nes and p). Z = sum_l z_l / sqrt(L) over the L layers where the
    term was tested; two-sided p; BH within each group ``by`` (e.g. collection, source, component):
    every collection keeps its own FDR. A pathway found in two layers with the same sign scores
    higher than in one; opposite signs cancel. ``layers_significant``: the layers whose own FDR is
    below ``alpha``, with the combined sign. With ``z_conditional`` in the table (see
    :func:`conditional_prerank`), the conditional z-scores are combined the same way (a layer where
    the set had too few genes left counts as z = 0).

    Parameters
    ----------
    table : pandas.DataFrame
        Per-layer results (columns layer, term, nes, fdr, the ``by`` columns, ``z`` or ``p``).
    by : list of str
        The grouping columns; BH is applied within each group.
    alpha : float
        The FDR level of ``layers_significant``.

    Returns
    -------
    pandas.DataFrame
        One row per (by..., term): z, p, fdr, mean_nes, n_layers, layers, layers_significant (and the
        conditional columns), rank, direction and one ``z_<layer>`` column per layer.
    """
    from scipy import stats  # here, not at the top: the Snakefile imports this module

    cols = [*by, "term", "z", "p", "fdr", "mean_nes", "n_layers", "layers", "layers_significant"]
    cond = "z_conditional" in table.columns
    if cond:
        cols += ["z_conditional", "p_conditional", "fdr_conditional"]
    cols += ["rank", "direction"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    t = table.copy()
    if "z" not in t.columns:
        t["z"] = signed_z(t["nes"], t["p"])
    if cond:
        t["zc"] = t["z_conditional"].fillna(0.0)
    layers = sorted(t["layer"].astype(str).unique())
    g = t.groupby([*by, "term"], sort=True)
    out = g.agg(zsum=("z", "sum"), n_layers=("z", "size"), mean_nes=("nes", "mean"))
    out["z"] = out["zsum"] / np.sqrt(out["n_layers"])
    out["p"] = 2 * stats.norm.sf(out["z"].abs())
    if cond:
        out["z_conditional"] = g["zc"].sum() / np.sqrt(out["n_layers"])
        out["p_conditional"] = 2 * stats.norm.sf(out["z_conditional"].abs())
    out["layers"] = g["layer"].agg(lambda x: ",".join(sorted(map(str, x))))
    sig = t[t["fdr"] < alpha].join(out["z"].rename("z_all"), on=[*by, "term"])
    sig = sig[np.sign(sig["z"]) == np.sign(sig["z_all"])]
    out["layers_significant"] = sig.groupby([*by, "term"])["layer"].agg(lambda x: ",".join(sorted(map(str, x))))
    out["layers_significant"] = out["layers_significant"].fillna("")
    zw = t.pivot_table(index=[*by, "term"], columns="layer", values="z", aggfunc="first")
    out = out.join(zw.rename(columns=lambda c: f"z_{c}")).reset_index()
    out["fdr"] = out.groupby(by)["p"].transform(lambda p: pd.Series(bh(p.to_numpy()), index=p.index))
    if cond:
        out["fdr_conditional"] = out.groupby(by)["p_conditional"].transform(
            lambda p: pd.Series(bh(p.to_numpy()), index=p.index)
        )
    out = out.assign(abs_z=out["z"].abs(), abs_nes=out["mean_nes"].abs())
    out = out.sort_values(
        [*by, "p", "abs_z", "abs_nes", "term"], ascending=[True] * len(by) + [True, False, False, True]
    )
    out["rank"] = out.groupby(by).cumcount() + 1
    out["direction"] = np.where(out["z"] >= 0, "positive", "negative")
    zcols = [f"z_{c}" for c in layers if f"z_{c}" in out.columns]
    return out[[*cols, *zcols]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Brown's method with a directional penalty (DPM)
# ---------------------------------------------------------------------------------------------

_HERMITE_TERMS = 200


@functools.lru_cache(maxsize=2)
def _m2lp_mehler(side: int) -> np.ndarray:
    """Coefficients c_1..c_N of Cov(-2 ln p_1, -2 ln p_2) = sum_n c_n rho^n (Mehler's formula).

    p = Phi(-Z) (``side=1``) or 2 Phi(-|Z|) (``side=2``) for standard normal Z; g(Z) = -2 ln p is
    expanded in the orthonormal Hermite polynomials psi_n, c_n = E[g(Z) psi_n(Z)]^2, the expectation
    by Gauss-Legendre quadrature (on [0, 14] for the even two-sided g, which has its kink at 0). Since
    -2 ln p ~ chi2_2, sum_n c_n = Var = 4; the truncated tail (2e-4 for two-sided p) is added to the
    last term so that rho = 1 gives exactly 4. The one-sided series reproduces Kost & McDermott's
    polynomial (3.263 rho + 0.710 rho^2 + 0.027 rho^3).
    """
    from numpy.polynomial.legendre import leggauss
    from scipy import stats

    x, w = leggauss(800)
    if side == 1:
        z, w = 14.0 * x, 14.0 * w
        g = -2 * stats.norm.logsf(z)
    else:
        z, w = 7.0 * (x + 1), 2 * 7.0 * w  # twice the half line: g is even
        g = -2 * (np.log(2) + stats.norm.logsf(z))
    wg = w * stats.norm.pdf(z) * g
    a = np.zeros(_HERMITE_TERMS + 1)
    prev, cur = np.ones_like(z), z.copy()
    a[1] = (wg * cur).sum()
    for n in range(1, _HERMITE_TERMS):
        prev, cur = cur, (z * cur - np.sqrt(n) * prev) / np.sqrt(n + 1)
        a[n + 1] = (wg * cur).sum()
    if side == 2:
        a[1::2] = 0.0  # exactly zero by symmetry
    c = a[1:] ** 2
    c[-1] += max(4.0 - c.sum(), 0.0)
    return c


def m2lp_covariance(rho, *, side: int = 2) -> np.ndarray:
    """Cov(-2 ln p_i, -2 ln p_j) for the p-values of two standard normal statistics with correlation ``rho``.

    Brown (1975): two-sided p (``side=2``, an even function of rho, 3.907 rho^2 + ...; 4 at
    |rho| = 1) or one-sided (``side=1``, Kost & McDermott 2002). Exact up to the series truncation
    (about 1e-4); the same quantity as poolr's ``mvnconv(target="m2lp")`` lookup table.
    """
    if side not in (1, 2):
        raise ValueError(f"side must be 1 or 2, not {side!r}")
    r = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    return r * np.polynomial.polynomial.polyval(r, _m2lp_mehler(side))


def _pair_correlations(z: np.ndarray, min_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations of the columns of ``z`` (terms x layers, NaN where not tested).

    Each pair over the terms tested in both layers; 0 (independent) where fewer than ``min_terms``
    or a constant column.
    """
    n_layers = z.shape[1]
    rho, n = np.zeros((n_layers, n_layers)), np.zeros((n_layers, n_layers), dtype=int)
    ok = np.isfinite(z)
    for i in range(n_layers):
        for j in range(i + 1, n_layers):
            both = ok[:, i] & ok[:, j]
            n[i, j] = n[j, i] = int(both.sum())
            if n[i, j] < max(min_terms, 3):
                continue
            a, b = z[both, i], z[both, j]
            if np.ptp(a) == 0 or np.ptp(b) == 0:
                continue
            rho[i, j] = rho[j, i] = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    return rho, n


def _levels(by: list[str]):
    """The groupby ``level`` of the ``by`` columns in a (by..., term) index.

    A scalar for one column (keys stay scalars), a list otherwise.
    """
    return 0 if len(by) == 1 else list(range(len(by)))


def _z_wide(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    t = table.copy()
    if "z" not in t.columns:
        t["z"] = signed_z(t["nes"], t["p"])
    t["layer"] = t["layer"].astype(str)
    t = t[np.isfinite(t["z"].to_numpy(dtype=float))]
    return t.pivot_table(index=[*by, "term"], columns="layer", values="z", aggfunc="first")


def layer_correlations(table: pd.DataFrame, *, by: list[str], min_terms: int = 10) -> pd.DataFrame:
    """Per group ``by`` and pair of layers: the correlations :func:`brown_combine` uses.

    The number of terms tested in both, the correlation of their z-scores (0 where fewer than
    ``min_terms``: treated as independent) and the covariance of their -2 ln p it implies
    (:func:`m2lp_covariance`), as :func:`brown_combine` uses them.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-layer results, as for :func:`combine_layers`.
    by : list of str
        The grouping columns.
    min_terms : int
        The fewest terms tested in both layers for a correlation to be estimated.

    Returns
    -------
    pandas.DataFrame
        Columns by..., layer_a, layer_b, n_terms, rho, cov.
    """
    cols = [*by, "layer_a", "layer_b", "n_terms", "rho", "cov"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    zw = _z_wide(table, by)
    rows = []
    for key, block in zw.groupby(level=_levels(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        block = block.dropna(axis=1, how="all")
        layers = list(block.columns)
        rho, n = _pair_correlations(block.to_numpy(dtype=float), min_terms)
        for i in range(len(layers)):
            for j in range(i + 1, len(layers)):
                rows.append((*key, layers[i], layers[j], n[i, j], rho[i, j], float(m2lp_covariance(rho[i, j]))))
    return pd.DataFrame(rows, columns=cols)


def brown_combine(
    table: pd.DataFrame, *, by: list[str], alpha: float = 0.05, directional: bool = True, min_terms: int = 10
) -> pd.DataFrame:
    """Brown's combination of the layers' p-values per (by..., term), with DPM's directional penalty.

    Each layer's evidence is its signed z (the one :func:`combine_layers` sums; computed from nes and
    p where absent): p_l = 2 Phi(-|z_l|), o_l = sign(z_l). Statistic over the k layers where the term
    was tested: DPM (``directional=True``; Slobodyanyuk et al. 2024, ActivePathways' ``merge_p_values
    (method="DPM")`` with every layer's expected sign +1) X = |sum_l o_l (-2 ln p_l)|, so layers of
    opposite sign penalize each other; plain Brown (``directional=False``) X = sum_l -2 ln p_l
    (Fisher's statistic). Brown (1975): E = 2k, Var = 4k + 2 sum_{l<m} cov_lm, scale c = Var / (2E),
    df f = 2E^2 / Var (f capped at 2k with c = 1, as ActivePathways does), p_brown = P(chi2_f > X / c).
    cov_lm = Cov(-2 ln p_l, -2 ln p_m) for two-sided p of normal statistics with correlation rho_lm
    (:func:`m2lp_covariance`); rho_lm is the correlation of the two layers' z over every term of the
    group tested in both (fewer than ``min_terms``: rho = 0, i.e. Fisher's method, or DPM without
    correction). With independent layers Brown is Fisher; with perfectly correlated layers it is the
    single layer's p (no double counting). DPM's p is never below Brown's. BH within each group ``by``.

    Columns: by..., term, p_brown, fdr_brown, chisq_brown (X), df_brown, scale_brown, n_layers,
    direction (sign of the DPM sum, or of sum_l z_l for plain Brown), layers_opposing (layers with own
    FDR < ``alpha`` whose sign opposes ``direction``).

    Parameters
    ----------
    table : pandas.DataFrame
        Per-layer results, as for :func:`combine_layers`.
    by : list of str
        The grouping columns (correlations and BH within each group).
    alpha : float
        The FDR level of ``layers_opposing``.
    directional : bool
        DPM (True) or plain Brown (False).
    min_terms : int
        The fewest terms tested in both layers for their correlation to be estimated.

    Returns
    -------
    pandas.DataFrame
        One row per (by..., term), the columns above.
    """
    from scipy import stats  # here, not at the top: the Snakefile imports this module

    cols = [
        *by,
        "term",
        "p_brown",
        "fdr_brown",
        "chisq_brown",
        "df_brown",
        "scale_brown",
        "n_layers",
        "direction",
        "layers_opposing",
    ]
    if table.empty:
        return pd.DataFrame(columns=cols)
    zw = _z_wide(table, by)
    parts = []
    for _, block in zw.groupby(level=_levels(by), sort=True):
        block = block.dropna(axis=1, how="all").dropna(axis=0, how="all")
        if block.empty:
            continue
        z = block.to_numpy(dtype=float)
        rho, _ = _pair_correlations(z, min_terms)
        cov = m2lp_covariance(rho)
        np.fill_diagonal(cov, 0.0)
        tested = np.isfinite(z)
        m = tested.astype(float)
        k = m.sum(axis=1)
        var = 4 * k + ((m @ cov) * m).sum(axis=1)  # 4k + 2 sum_{l<m} cov_lm
        expected = 2 * k
        scale = var / (2 * expected)
        df = 2 * expected**2 / var
        cap = df > 2 * k
        df, scale = np.where(cap, 2 * k, df), np.where(cap, 1.0, scale)
        zz = np.where(tested, z, 0.0)
        m2lp = np.maximum(-2 * (np.log(2) + stats.norm.logsf(np.abs(zz))), 0.0)
        if directional:
            signed = (np.sign(zz) * m2lp).sum(axis=1)
            chisq, sign = np.abs(signed), signed
        else:
            chisq, sign = m2lp.sum(axis=1), zz.sum(axis=1)
        parts.append(
            pd.DataFrame(
                {
                    "p_brown": stats.chi2.sf(chisq / scale, df),
                    "chisq_brown": chisq,
                    "df_brown": df,
                    "scale_brown": scale,
                    "n_layers": k.astype(int),
                    "direction": np.where(sign >= 0, "positive", "negative"),
                },
                index=block.index,
            )
        )
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts)
    t = table.assign(layer=table["layer"].astype(str))
    if "z" not in t.columns:
        t["z"] = signed_z(t["nes"], t["p"])
    fdr = t["fdr"] if "fdr" in t.columns else pd.Series(np.nan, index=t.index)
    out = out.reset_index()
    opp = t.loc[fdr < alpha, [*by, "term", "layer", "z"]].merge(out[[*by, "term", "direction"]], on=[*by, "term"])
    opp = opp[np.where(opp["direction"] == "positive", 1.0, -1.0) * np.sign(opp["z"].to_numpy(dtype=float)) < 0]
    out["layers_opposing"] = ""
    if len(opp):
        opp = opp.sort_values("layer").groupby([*by, "term"])["layer"].agg(",".join).rename("opposing").reset_index()
        out = out.merge(opp, on=[*by, "term"], how="left")
        out["layers_opposing"] = out.pop("opposing").fillna("")
    out["fdr_brown"] = out.groupby(by)["p_brown"].transform(lambda p: pd.Series(bh(p.to_numpy()), index=p.index))
    out = out.sort_values([*by, "p_brown", "term"])
    return out[cols].reset_index(drop=True)


def combine_sources(mofa: pd.DataFrame, models: pd.DataFrame, *, alpha: float) -> pd.DataFrame:
    """One multi-omics pathway table of the MOFA factors' and the models' enrichment.

    The two tables stacked (columns ``source``: ``mofa`` or the model, ``component``: the factor or
    the target class), combined across layers by Stouffer's method (:func:`combine_layers`, BH per
    collection and component), with Brown's combination with DPM's directional penalty beside it
    (:func:`brown_combine`; columns ``p_brown``, ``fdr_brown``, after the Stouffer columns).

    Parameters
    ----------
    mofa : pandas.DataFrame
        The prerank table of MOFA weights (column ``factor``).
    models : pandas.DataFrame
        The prerank table of model coefficients (columns ``model``, ``target``).
    alpha : float
        The FDR level.

    Returns
    -------
    pandas.DataFrame
        One row per collection, source, component and term.
    """
    by = ["collection", "source", "component"]
    mofa = mofa.rename(columns={"factor": "component"})
    mofa.insert(1, "source", "mofa")
    models = models.rename(columns={"model": "source", "target": "component"})
    table = pd.concat([mofa, models], ignore_index=True)
    table["component"] = table["component"].astype(str)
    res = combine_layers(table, by=by, alpha=alpha)
    brown = brown_combine(table, by=by, alpha=alpha, directional=True)
    return res.merge(brown[[*by, "term", "p_brown", "fdr_brown"]], on=[*by, "term"], how="left", validate="one_to_one")
