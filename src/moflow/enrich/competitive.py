"""Competitive test on the weights (PCGSE with CAMERA's inter-gene correlation correction)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.enrich.genemap import GeneMap
from moflow.enrich.genesets import testable_sets
from moflow.enrich.prerank import empty_ranked_results, rank_results
from moflow.stats import bh

COMPETITIVE_COLUMNS = ["term", "set_size", "statistic", "correlation", "vif", "mean_in", "mean_out", "p", "fdr"]


def residual_correlation_data(X: pd.DataFrame, factors: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """The layer's data (samples x genes) with the factors regressed out, columns standardized.

    CAMERA estimates inter-gene correlation from the residuals of the model: correlation that the
    factors themselves induce among a set's members is signal, not nuisance. MOFA estimates all
    factors jointly, so all of them are removed (pass one column to remove one). Missing cells are
    set to the column mean.
    """
    F = factors.to_frame() if isinstance(factors, pd.Series) else factors
    common = X.index.intersection(F.dropna().index)
    Y = X.loc[common].astype(float)
    Y = Y.fillna(Y.mean()).fillna(0.0)
    D = np.column_stack([np.ones(len(common)), F.loc[common].to_numpy(dtype=float)])
    beta, *_ = np.linalg.lstsq(D, Y.to_numpy(), rcond=None)
    R = Y.to_numpy() - D @ beta
    sd = R.std(axis=0, ddof=1)
    R = np.divide(R, sd, out=np.zeros_like(R), where=sd > 0)
    return pd.DataFrame(R, index=common, columns=Y.columns)


def mean_set_correlation(R: pd.DataFrame, sets: dict[str, list[str]]) -> pd.Series:
    """Mean pairwise correlation of each set's members, from standardized columns ``R``.

    sum_{i != j} r_ij = (|sum_j z_j|^2 / (n - 1) - m). 0 for a set with fewer than 2 members in
    ``R`` or with fewer than 3 samples.
    """
    n = R.shape[0]
    out = {}
    cols = pd.Index(R.columns)
    A = R.to_numpy()
    for name, genes in sets.items():
        idx = cols.get_indexer([g for g in genes if g in cols])
        idx = idx[idx >= 0]
        m = len(idx)
        if m < 2 or n < 3:
            out[name] = 0.0
            continue
        s = A[:, idx].sum(axis=1)
        out[name] = float((s @ s / (n - 1) - m) / (m * (m - 1)))
    return pd.Series(out, dtype=float)


def competitive_test(
    scores: pd.Series,
    gene_sets: dict[str, list[str]],
    *,
    correlation: pd.Series | float = 0.0,
    ranks: bool = True,
    min_size: int = 10,
    max_size: int = 500,
) -> pd.DataFrame:
    """Competitive test of every set: whether its members' scores are larger (or smaller) than the others'.

    ``ranks=True``: Wilcoxon rank-sum with the correlation-adjusted variance of limma's
    ``rankSumTestWithCorrelation``; ``ranks=False``: CAMERA's two-sample t-statistic with variance
    inflation factor 1 + (m - 1) * rho (df = G - 2). ``correlation``: rho per set (Series, from
    :func:`mean_set_correlation`) or one value for all; negative estimates count as 0 (they would
    shrink the variance below the independent case on noise alone). Two-sided p; the sign of
    ``statistic`` gives the direction (positive: members score higher). BH-adjusted across the sets of
    this list.

    Parameters
    ----------
    scores : pandas.Series
        Gene -> score (missing scores dropped, duplicated genes averaged).
    gene_sets : dict of str to list of str
        The sets; tested when their size among the scored genes lies in [min_size, max_size] (at
        most G - 2).
    correlation : pandas.Series or float
        The inter-gene correlation rho, per set or one for all.
    ranks : bool
        Rank-sum test (True) or CAMERA's t-test (False).
    min_size, max_size : int
        The set size limits.

    Returns
    -------
    pandas.DataFrame
        One row per tested set, columns :data:`COMPETITIVE_COLUMNS`.
    """
    from scipy import stats  # here, not at the top: the Snakefile imports this module

    s = scores.dropna().astype(float)
    s = s.groupby(level=0).mean() if s.index.has_duplicates else s
    G = len(s)
    sets = testable_sets(gene_sets, s.index, min_size=min_size, max_size=min(max_size, G - 2))
    if not sets:
        return pd.DataFrame(columns=COMPETITIVE_COLUMNS)
    values = s.to_numpy()
    r = stats.rankdata(values)
    index = pd.Index(s.index)
    _, tie_counts = np.unique(r, return_counts=True)
    tie_adj = 1 - (tie_counts**3 - tie_counts).sum() / (G**3 - G) if G > 1 else 1.0
    var_all = values.var(ddof=1)
    total = values.sum()
    rows = []
    for name, genes in sets.items():
        idx = index.get_indexer(genes)
        m = len(idx)
        n2 = G - m
        rho = float(correlation.get(name, 0.0)) if isinstance(correlation, pd.Series) else float(correlation)
        rho = max(rho, 0.0) if m > 1 else 0.0
        sum_in = values[idx].sum()
        mean_in, mean_out = sum_in / m, (total - sum_in) / n2
        vif = 1 + (m - 1) * rho
        if ranks:
            U = r[idx].sum() - m * (m + 1) / 2
            mu = m * n2 / 2
            if rho == 0 or m == 1:
                sigma2 = m * n2 * (G + 1) / 12
            else:
                sigma2 = (
                    np.arcsin(1) * m * n2
                    + np.arcsin(0.5) * m * n2 * (n2 - 1)
                    + np.arcsin(rho / 2) * m * (m - 1) * n2 * (n2 - 1)
                    + np.arcsin((rho + 1) / 2) * m * (m - 1) * n2
                ) / (2 * np.pi)
            sigma2 *= tie_adj
            d = U - mu
            z = (d - np.sign(d) * 0.5) / np.sqrt(sigma2) if abs(d) > 0.5 else 0.0
            stat, p = z, 2 * stats.norm.sf(abs(z))
        else:
            delta = G / n2 * (mean_in - values.mean())
            t = delta / np.sqrt(var_all * (vif / m + 1 / n2))
            stat, p = t, 2 * stats.t.sf(abs(t), df=G - 2)
        rows.append(
            {
                "term": name,
                "set_size": m,
                "statistic": stat,
                "correlation": rho,
                "vif": vif,
                "mean_in": mean_in,
                "mean_out": mean_out,
                "p": min(1.0, p),
            }
        )
    out = pd.DataFrame(rows)
    out["fdr"] = bh(out["p"].to_numpy())
    return out[COMPETITIVE_COLUMNS]


def competitive_lists(
    lists: dict[tuple, pd.Series],
    gene_sets: dict[str, list[str]],
    *,
    keys: list[str],
    gene_maps: dict[str, GeneMap] | None = None,
    data: dict[str, pd.DataFrame] | None = None,
    factors: pd.DataFrame | None = None,
    inter_gene_correlation: float | None = None,
    ranks: bool = True,
    min_size: int = 10,
    max_size: int = 500,
) -> pd.DataFrame:
    """:func:`competitive_test` of many lists keyed (layer, factor).

    With ``data`` (layer -> samples x features) and ``factors`` (samples x factors), the inter-gene
    correlation of each set is estimated from the layer's data after regressing out the factors;
    ``inter_gene_correlation`` (a number) fixes it instead (as CAMERA's preset 0.01).

    Parameters
    ----------
    lists : dict of tuple to pandas.Series
        {(layer, ...): feature scores}.
    gene_sets : dict of str to list of str
        The sets.
    keys : list of str
        The names of the key columns (one per element of a list's key).
    gene_maps : dict of str to GeneMap, optional
        Layer -> feature-to-gene map; a layer without one is tested on its feature IDs.
    data : dict of str to pandas.DataFrame, optional
        Layer -> samples x features.
    factors : pandas.DataFrame, optional
        Samples x factors, regressed out of ``data``.
    inter_gene_correlation : float, optional
        A fixed inter-gene correlation. Where it is None and ``data``, ``factors`` or the layer's
        data is missing, the correlation is 0.
    ranks : bool
        Rank-sum test (True) or CAMERA's t-test (False).
    min_size, max_size : int
        The set size limits.

    Returns
    -------
    pandas.DataFrame
        The key columns and :data:`COMPETITIVE_COLUMNS`, ranked by :func:`rank_results` on
        ``statistic``.
    """
    out = []
    residuals: dict[str, pd.DataFrame] = {}
    for key, scores in lists.items():
        layer = key[0]
        gm = (gene_maps or {}).get(layer)
        s = gm.scores(scores) if gm is not None else scores
        if inter_gene_correlation is not None or data is None or factors is None or layer not in data:
            corr: pd.Series | float = float(inter_gene_correlation or 0.0)
        else:
            if layer not in residuals:
                X = gm.matrix(data[layer]) if gm is not None else data[layer]
                residuals[layer] = residual_correlation_data(X, factors)
            R = residuals[layer]
            R = R.loc[:, R.columns.isin(s.index)]
            sets = testable_sets(gene_sets, s.index, min_size=min_size, max_size=max_size)
            corr = mean_set_correlation(R, sets)
        res = competitive_test(s, gene_sets, correlation=corr, ranks=ranks, min_size=min_size, max_size=max_size)
        for name, value in reversed(list(zip(keys, key))):
            res.insert(0, name, value)
        out.append(res)
    out = [o for o in out if not o.empty]
    if not out:
        return empty_ranked_results(keys, COMPETITIVE_COLUMNS)
    return rank_results(pd.concat(out, ignore_index=True), keys, stat="statistic")
