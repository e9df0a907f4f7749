"""Prerank (GSEA) of score lists: two engines, ranking of results and the conditional test.

The moflow engine (shared per-size null, see the package docstring :mod:`moflow.enrich`), the gseapy
engine, ranking of results and the conditional test.
"""

from __future__ import annotations

import contextlib
import io as _io
import logging
from functools import lru_cache

import numpy as np
import pandas as pd

from moflow.enrich.combine import signed_z
from moflow.enrich.genemap import GeneMap
from moflow.enrich.genesets import testable_sets
from moflow.enrich.lists import coefficient_lists, weight_lists
from moflow.enrich.ora import blocked_sets

PRERANK_COLUMNS = ["term", "es", "nes", "p", "fdr", "z", "set_size", "leading_edge"]
ENGINES = ("moflow", "gseapy")


def _ranked(scores: pd.Series) -> pd.Series:
    """Scores sorted from largest to smallest; ties in gene-name order (deterministic)."""
    s = scores.dropna()
    s = s.groupby(level=0).mean() if s.index.has_duplicates else s
    order = np.lexsort((s.index.astype(str).to_numpy(), -s.to_numpy(dtype=float)))
    return s.iloc[order].astype(float)


def _running_extremes(P: np.ndarray, W: np.ndarray | None, N: int):
    """Enrichment scores of hit positions ``P`` (rows: sets or permutations, sorted, 0-based).

    In a list of ``N`` genes. ``W``: |score|^weight at the hits (None: weight 0). Returns ES, the hit
    index where the maximum (ES >= 0) or the minimum (ES < 0) is reached, and whether it is the
    maximum.
    """
    B, m = P.shape
    k = np.arange(m)
    miss = (P - k) / (N - m)  # misses strictly before hit k, as a fraction of all misses
    if W is None:
        after = np.broadcast_to((k + 1) / m, P.shape)
        before = np.broadcast_to(k / m, P.shape)
    else:
        cw = np.cumsum(W, axis=1)
        tot = cw[:, -1:]
        tot = np.where(tot > 0, tot, 1.0)
        after, before = cw / tot, (cw - W) / tot
    up = after - miss
    down = before - miss
    imax, imin = up.argmax(1), down.argmin(1)
    r = np.arange(B)
    mx = np.maximum(up[r, imax], 0.0)
    mn = np.minimum(down[r, imin], 0.0)
    pos = mx > -mn
    return np.where(pos, mx, mn), np.where(pos, imax, imin), pos


@lru_cache(maxsize=4)
def _permutations(N: int, n: int, seed: int, block: int) -> np.ndarray:
    """``n`` random permutations of range(N) (rows), one matrix per ``block``."""
    rng = np.random.default_rng([seed, N, block, 7])
    return rng.permuted(np.tile(np.arange(N, dtype=np.int32), (n, 1)), axis=1)


def _window_positions(N: int, m: int, j: int, n: int, seed: int) -> np.ndarray:
    """The j-th batch of ``n`` random m-subsets of range(N), rows sorted.

    Disjoint windows of the rows of shared random permutations (a random m-subset is any m positions
    of a random permutation).
    """
    per = max(1, N // m)
    block, k = divmod(j, per)
    perm = _permutations(N, n, seed, block)
    off = int(np.random.default_rng([seed, N, m, block]).integers(N))
    cols = (off + k * m + np.arange(m)) % N
    return np.sort(perm[:, cols], axis=1)


@lru_cache(maxsize=8192)
def _null_window_unweighted(N: int, m: int, j: int, n: int, seed: int) -> np.ndarray:
    es, _, _ = _running_extremes(_window_positions(N, m, j, n, seed), None, N)
    es.setflags(write=False)
    return es


def _null_es(N: int, m: int, c: int, n: int, seed: int, W_all: np.ndarray | None) -> np.ndarray:
    """Null ES of size-m sets: ``c`` batches of ``n`` random subsets, one batch per set of that size.

    So a list's null holds as many distinct draws as gseapy's (sets x permutations). With weight 0
    the batches depend on (N, m) only and are cached across lists.
    """
    if W_all is None:
        return np.concatenate([_null_window_unweighted(N, m, j, n, seed) for j in range(c)])
    P = np.concatenate([_window_positions(N, m, j, n, seed) for j in range(c)])
    return _running_extremes(P, W_all[P], N)[0]


def _gsea_stats(es: np.ndarray, sizes: np.ndarray, nulls: dict[int, np.ndarray]):
    """NES, nominal p, GSEA FDR and z of one list's sets from per-size nulls (rows of null ES).

    ``z`` is the signed normal score of the NES against the null NES of all the list's sets (the
    null that GSEA's FDR uses; resolution 1 / (sets x permutations) instead of the nominal p's
    1 / permutations): z = sign(NES) * Phi^-1(1 - q/2), q = share of same-sign null NES at least as
    extreme. It feeds the cross-layer combination.
    """
    S = len(es)
    nes = np.full(S, np.nan)
    p = np.full(S, np.nan)
    pooled = []
    for m in np.unique(sizes):
        null = nulls[int(m)]
        pos_null, neg_null = np.sort(null[null >= 0]), np.sort(null[null < 0])
        pos_mean = pos_null.mean() if len(pos_null) else np.nan
        neg_mean = -neg_null.mean() if len(neg_null) else np.nan  # > 0
        sel = np.flatnonzero(sizes == m)
        e = es[sel]
        ge = len(pos_null) - np.searchsorted(pos_null, e, side="left")
        le = np.searchsorted(neg_null, e, side="right")
        p[sel] = np.where(e >= 0, (ge + 1) / (len(pos_null) + 1), (le + 1) / (len(neg_null) + 1))
        nes[sel] = np.where(e >= 0, e / pos_mean, e / neg_mean)
        pooled.append(np.concatenate([pos_null / pos_mean, neg_null / neg_mean]))
    # GSEA's FDR: the share of all null NES (every set, every permutation) beyond an observed NES of
    # the same sign, over the share of observed NES beyond it
    vals = np.sort(np.concatenate(pooled))
    obs = np.sort(nes)
    zero_null = np.searchsorted(vals, 0.0, side="left")
    n_pos_null, n_neg_null = len(vals) - zero_null, zero_null
    zero_obs = np.searchsorted(obs, 0.0, side="left")
    n_pos_obs, n_neg_obs = len(obs) - zero_obs, zero_obs
    pos = nes >= 0
    beyond_null = np.where(
        pos, len(vals) - np.searchsorted(vals, nes, side="left"), np.searchsorted(vals, nes, side="right")
    )
    beyond_obs = np.where(
        pos, len(obs) - np.searchsorted(obs, nes, side="left"), np.searchsorted(obs, nes, side="right")
    )
    tail = (beyond_null + 1) / (np.where(pos, n_pos_null, n_neg_null) + 1)
    fdr = np.minimum(1.0, tail / (beyond_obs / np.where(pos, max(n_pos_obs, 1), max(n_neg_obs, 1))))
    pooled_p = np.minimum(1.0, tail)
    # q-values: a set with a larger |NES| never gets a larger FDR than one with a smaller |NES| of its sign
    for side in (nes >= 0, nes < 0):
        idx = np.flatnonzero(side)
        order = idx[np.argsort(np.abs(nes[idx]), kind="stable")]
        fdr[order] = np.minimum.accumulate(fdr[order])
    return nes, p, fdr, signed_z(nes, pooled_p)


def _prerank_moflow(
    rnk: pd.Series, sets: dict[str, list[str]], *, permutations: int, weight: float, seed: int
) -> pd.DataFrame:
    genes = pd.Index(rnk.index.astype(str))
    N = len(genes)
    names = list(sets)
    sizes = np.array([len(sets[n]) for n in names])
    flat = np.concatenate([np.asarray(sets[n], dtype=object) for n in names])
    pos = genes.get_indexer(flat)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    W_all = np.abs(rnk.to_numpy(dtype=float)) ** weight if weight else None
    es = np.empty(len(names))
    lead: list[str] = [""] * len(names)
    nulls: dict[int, np.ndarray] = {}
    for m in np.unique(sizes):
        m = int(m)
        idx = np.flatnonzero(sizes == m)
        P = np.sort(np.stack([pos[bounds[i] : bounds[i + 1]] for i in idx]), axis=1)
        e, at, is_pos = _running_extremes(P, W_all[P] if weight else None, N)
        es[idx] = e
        for j, i in enumerate(idx):
            hits = P[j, : at[j] + 1] if is_pos[j] else P[j, at[j] :][::-1]
            lead[i] = ";".join(genes[hits])
        nulls[m] = _null_es(N, m, len(idx), permutations, seed, W_all if weight else None)
    nes, p, fdr, z = _gsea_stats(es, sizes, nulls)
    return pd.DataFrame(
        {"term": names, "es": es, "nes": nes, "p": p, "fdr": fdr, "z": z, "set_size": sizes, "leading_edge": lead}
    )


def _prerank_gseapy(
    rnk: pd.Series,
    sets: dict[str, list[str]],
    *,
    permutations: int,
    min_size: int,
    max_size: int,
    weight: float,
    seed: int,
    threads: int,
) -> pd.DataFrame:
    import gseapy

    logging.getLogger("gseapy").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(_io.StringIO()), contextlib.redirect_stderr(_io.StringIO()):
        res = gseapy.prerank(
            rnk=rnk,
            gene_sets=sets,
            permutation_num=int(permutations),
            min_size=min_size,
            max_size=max_size,
            weight=float(weight),
            seed=int(seed),
            threads=int(threads),
            outdir=None,
            no_plot=True,
            verbose=False,
        )
    r = res.res2d
    nes, p = pd.to_numeric(r["NES"]), pd.to_numeric(r["NOM p-val"])
    return pd.DataFrame(
        {
            "term": r["Term"].astype(str),
            "es": pd.to_numeric(r["ES"]),
            "nes": nes,
            "p": p,
            "fdr": pd.to_numeric(r["FDR q-val"]),
            "z": signed_z(nes, np.maximum(p, 1 / (permutations + 1))),
            "set_size": [len(sets[t]) for t in r["Term"].astype(str)],
            "leading_edge": r["Lead_genes"].astype(str),
        }
    )


def prerank(
    scores: pd.Series,
    gene_sets: dict[str, list[str]],
    *,
    permutations: int = 1000,
    min_size: int = 10,
    max_size: int = 500,
    weight: float = 0.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = "moflow",
) -> pd.DataFrame:
    """GSEA prerank of one list; returns term, ES, NES, p, FDR, set size, leading-edge genes.

    Sets are restricted to the ranked genes and tested when their size there lies in
    [min_size, max_size]. Ties in the scores are ordered by gene name.

    ``weight`` is GSEA's enrichment-score exponent. The default 0 (the classic, rank-based
    Kolmogorov-Smirnov statistic) suits sparse MOFA weights: measured on the demo, with weight 1 a
    single large weight gave decoy sets an ES of 0.97 and the planted sets an NES of only 1.1-1.2,
    while weight 0 ranked every planted set first with NES 7.5.

    ``engine``: ``moflow`` (the null shared by sets of one size, see the package docstring) or
    ``gseapy`` (``gseapy.prerank``; its p and FDR may be 0).

    Parameters
    ----------
    scores : pandas.Series
        Gene -> score (missing scores dropped, duplicated genes averaged).
    gene_sets : dict of str to list of str
        The sets.
    permutations : int
        Gene-set permutations per set.
    min_size, max_size : int
        The set size limits among the ranked genes (at most the number of genes - 1).
    weight : float
        The enrichment-score exponent.
    seed : int
        Seed of the permutations.
    threads : int
        gseapy's threads (engine ``gseapy`` only).
    engine : str
        ``moflow`` or ``gseapy`` (:data:`ENGINES`).

    Returns
    -------
    pandas.DataFrame
        One row per tested set, columns :data:`PRERANK_COLUMNS`.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    rnk = _ranked(scores)
    sets = testable_sets(gene_sets, rnk.index, min_size=min_size, max_size=min(max_size, len(rnk) - 1))
    if not sets:
        return pd.DataFrame(columns=PRERANK_COLUMNS)
    if engine == "gseapy":
        return _prerank_gseapy(
            rnk,
            sets,
            permutations=permutations,
            min_size=min_size,
            max_size=max_size,
            weight=weight,
            seed=seed,
            threads=threads,
        )
    return _prerank_moflow(rnk, sets, permutations=int(permutations), weight=float(weight), seed=int(seed))


def rank_results(df: pd.DataFrame, by: list[str], *, stat: str = "nes") -> pd.DataFrame:
    """Rank terms within each group: smallest FDR first, ties broken by larger |stat|, then name.

    ``rank`` orders both directions together; ``side_rank`` orders each direction (positive:
    stat >= 0, negative) on its own.

    Parameters
    ----------
    df : pandas.DataFrame
        Results with columns ``by``, ``fdr``, ``term`` and ``stat``.
    by : list of str
        The group columns (one group per list).
    stat : str
        The statistic whose sign is the direction (``nes``, ``statistic``).

    Returns
    -------
    pandas.DataFrame
        ``df`` sorted, with ``rank``, ``direction`` and ``side_rank``.
    """
    df = df.assign(abs_stat=df[stat].abs())
    df = df.sort_values([*by, "fdr", "abs_stat", "term"], ascending=[True] * len(by) + [True, False, True])
    df["rank"] = df.groupby(by).cumcount() + 1
    df["direction"] = np.where(df[stat] >= 0, "positive", "negative")
    df["side_rank"] = df.groupby([*by, "direction"]).cumcount() + 1
    return df.drop(columns="abs_stat").reset_index(drop=True)


def empty_ranked_results(keys: list[str], columns: list[str]) -> pd.DataFrame:
    """An empty result table of many lists, with the columns a full one has.

    The key columns, ``columns`` and the columns :func:`rank_results` adds (``rank``, ``direction``,
    ``side_rank``).
    """
    return pd.DataFrame(columns=[*keys, *columns, "rank", "direction", "side_rank"])


def prerank_lists(
    lists: dict[tuple, pd.Series],
    gene_sets: dict[str, list[str]],
    *,
    keys: list[str],
    gene_maps: dict[str, GeneMap] | None = None,
    permutations: int = 1000,
    min_size: int = 10,
    max_size: int = 500,
    weight: float = 0.0,
    seed: int = 0,
    engine: str = "moflow",
    conditional_alpha: float | None = 0.05,
) -> pd.DataFrame:
    """Prerank of many lists ({(layer, ...): feature scores}), features mapped to genes per layer.

    ``gene_maps``: a layer without a map is tested on its feature IDs. Ranked per list; with
    ``conditional_alpha``, each list also gets :func:`conditional_prerank`.

    Parameters
    ----------
    lists : dict of tuple to pandas.Series
        {(layer, ...): feature scores}.
    gene_sets : dict of str to list of str
        The sets.
    keys : list of str
        The names of the key columns (one per element of a list's key).
    gene_maps : dict of str to GeneMap, optional
        Layer -> feature-to-gene map.
    permutations, min_size, max_size, weight, seed, engine
        As for :func:`prerank`.
    conditional_alpha : float, optional
        The FDR level of the conditional test; None: no conditional test.

    Returns
    -------
    pandas.DataFrame
        The key columns, :data:`PRERANK_COLUMNS`, the conditional columns and the columns of
        :func:`rank_results`.
    """
    out = []
    for key, scores in lists.items():
        gm = (gene_maps or {}).get(key[0])
        s = gm.scores(scores) if gm is not None else scores
        res = prerank(
            s,
            gene_sets,
            permutations=permutations,
            min_size=min_size,
            max_size=max_size,
            weight=weight,
            seed=seed,
            engine=engine,
        )
        if conditional_alpha is not None and not res.empty:
            res = conditional_prerank(
                res,
                s,
                gene_sets,
                alpha=conditional_alpha,
                min_size=min_size,
                max_size=max_size,
                permutations=permutations,
                weight=weight,
                seed=seed,
                engine=engine,
            )
        for name, value in reversed(list(zip(keys, key))):
            res.insert(0, name, value)
        out.append(res)
    out = [o for o in out if not o.empty]
    if not out:
        extra = (
            ["nes_conditional", "p_conditional", "fdr_conditional", "z_conditional", "explained_by"]
            if conditional_alpha
            else []
        )
        return empty_ranked_results(keys, PRERANK_COLUMNS + extra)
    return rank_results(pd.concat(out, ignore_index=True), keys)


def factor_enrichment(
    weights: pd.DataFrame,
    gene_sets: dict[str, list[str]],
    *,
    layers: list[str],
    gene_maps: dict[str, GeneMap] | None = None,
    variance: pd.DataFrame | None = None,
    min_variance_explained: float = 0.0,
    permutations: int = 1000,
    min_size: int = 10,
    max_size: int = 500,
    weight: float = 0.0,
    seed: int = 0,
    engine: str = "moflow",
) -> pd.DataFrame:
    """Prerank of MOFA weights, per factor and per gene-mapped layer (see :func:`weight_lists`).

    ``weights``: long table with columns view, feature, factor, weight.

    Parameters
    ----------
    weights : pandas.DataFrame
        MOFA weights (long: view, feature, factor, weight).
    gene_sets : dict of str to list of str
        The sets.
    layers : list of str
        The views to test.
    gene_maps : dict of str to GeneMap, optional
        Layer -> feature-to-gene map.
    variance, min_variance_explained
        As for :func:`moflow.enrich.lists.weight_lists`.
    permutations, min_size, max_size, weight, seed, engine
        As for :func:`prerank`.

    Returns
    -------
    pandas.DataFrame
        :func:`prerank_lists` with the keys layer, factor (conditional test at its default alpha).
    """
    lists = weight_lists(weights, layers=layers, variance=variance, min_variance_explained=min_variance_explained)
    return prerank_lists(
        lists,
        gene_sets,
        keys=["layer", "factor"],
        gene_maps=gene_maps,
        permutations=permutations,
        min_size=min_size,
        max_size=max_size,
        weight=weight,
        seed=seed,
        engine=engine,
    )


def model_enrichment(
    coefficients: pd.DataFrame,
    gene_sets: dict[str, list[str]],
    *,
    layers: list[str],
    gene_maps: dict[str, GeneMap] | None = None,
    permutations: int = 1000,
    min_size: int = 10,
    max_size: int = 500,
    weight: float = 0.0,
    seed: int = 0,
    engine: str = "moflow",
) -> pd.DataFrame:
    """Prerank of a model's coefficients per layer and target class (columns layer, target, ...).

    Parameters
    ----------
    coefficients : pandas.DataFrame
        The coefficient table (layer, feature, one column per target class).
    gene_sets : dict of str to list of str
        The sets.
    layers : list of str
        The layers to test.
    gene_maps : dict of str to GeneMap, optional
        Layer -> feature-to-gene map.
    permutations, min_size, max_size, weight, seed, engine
        As for :func:`prerank`.

    Returns
    -------
    pandas.DataFrame
        :func:`prerank_lists` with the keys layer, target (conditional test at its default alpha).
    """
    lists = coefficient_lists(coefficients, layers=layers)
    return prerank_lists(
        lists,
        gene_sets,
        keys=["layer", "target"],
        gene_maps=gene_maps,
        permutations=permutations,
        min_size=min_size,
        max_size=max_size,
        weight=weight,
        seed=seed,
        engine=engine,
    )


def conditional_prerank(
    res: pd.DataFrame,
    scores: pd.Series,
    gene_sets: dict[str, list[str]],
    *,
    alpha: float = 0.05,
    min_size: int = 10,
    max_size: int = 500,
    permutations: int = 1000,
    weight: float = 0.0,
    seed: int = 0,
    engine: str = "moflow",
) -> pd.DataFrame:
    """Add a conditional test to one list's prerank result (``res`` from :func:`prerank`).

    Sets are taken in the order of :func:`rank_results`: FDR, then larger |NES|, then name.

    Overlapping collections share genes: a set that contains a few genes of a strongly enriched set
    is enriched too, through those genes alone. Each set B is retested without the genes of the
    sets ranked above it in the same direction whose FDR is below ``alpha`` (the "elim" idea of
    topGO, the set differences of SetRank); the reduced sets are then tested together as one
    collection, with GSEA's FDR. Columns added: ``nes_conditional``, ``p_conditional`` (equal to
    the marginal values where nothing was removed; NaN when fewer than ``min_size`` genes are
    left), ``fdr_conditional`` and ``explained_by`` (the sets whose genes were removed).

    Parameters
    ----------
    res : pandas.DataFrame
        One list's :func:`prerank` result.
    scores : pandas.Series
        The list's gene scores.
    gene_sets : dict of str to list of str
        The sets.
    alpha : float
        The FDR below which a set's genes are removed from the sets ranked below it.
    min_size, max_size, permutations, weight, seed, engine
        As for :func:`prerank` (the retest of the reduced sets).

    Returns
    -------
    pandas.DataFrame
        ``res`` in rank order with the conditional columns (also ``z_conditional``).
    """
    res = res.assign(_a=res["nes"].abs()).sort_values(["fdr", "_a", "term"], ascending=[True, False, True])
    res = res.drop(columns="_a").reset_index(drop=True)
    out = res.assign(
        nes_conditional=np.nan, p_conditional=np.nan, fdr_conditional=np.nan, z_conditional=np.nan, explained_by=""
    )
    if res.empty:
        return out
    rnk = _ranked(scores)
    universe = set(rnk.index)
    sets = {t: [g for g in dict.fromkeys(gene_sets[t]) if g in universe] for t in res["term"]}
    direction = np.where(res["nes"] >= 0, 1, -1)
    significant = (res["fdr"] < alpha).to_numpy()
    reduced, blocked = blocked_sets(list(res["term"]), significant, sets, same_group=direction)
    out["explained_by"] = out["term"].map(blocked)
    again = prerank(
        rnk,
        reduced,
        permutations=permutations,
        min_size=min_size,
        max_size=max_size,
        weight=weight,
        seed=seed,
        engine=engine,
    ).set_index("term")
    again = again.reindex(out["term"])
    out["nes_conditional"] = again["nes"].to_numpy()
    out["p_conditional"] = again["p"].to_numpy()
    out["fdr_conditional"] = again["fdr"].to_numpy()
    out["z_conditional"] = again["z"].to_numpy()
    return out
