"""Pathway enrichment of what the integration found, from local gene-set files only.

What is tested
--------------
* **Prerank** (GSEA, gene-set permutation) of MOFA weights per factor and layer, and of early/late
  model coefficients per layer and target class. Each set gets one signed NES: a positive NES means
  the set sits at the top of the list (positive weights), a negative NES at the bottom. GSEA's
  nominal p-values and FDR q-values are computed separately for the two signs, so the positive and
  negative sides are two separately controlled lists (``direction`` and ``side_rank``).
* **Conditional test**: every set retested without the genes of the more significant sets it
  overlaps, so that a set enriched only through genes it shares with a stronger set is recognised.
* **Competitive test** (PCGSE-style, Frost et al. 2015, with CAMERA's inter-gene correlation
  correction, Wu & Smyth 2012): set members' weights (or their ranks) against non-members, the
  variance inflated by the members' mean correlation in the layer's data after removing the factors.
* **Over-representation** (gseapy ``enrich``, hypergeometric) of selected features (the top
  positive and the top negative scores) against an explicit background: every feature of the layer
  that received a score. gseapy's default background (the union of the gene sets) is never used.
* **Multi-omics combination**: per pathway, Stouffer's method on the layers' signed z-scores,
  BH-adjusted, so a pathway supported by RNA and protein together ranks above one seen in a single
  layer.

Every collection is tested and corrected on its own (no pooled null across collections). Features
are mapped to genes per layer (:class:`GeneMap`); a layer without genes can bring its own feature
sets. Gene sets are parsed from GMT lines (read by :mod:`moflow.io`) and handed to gseapy as a dict,
never as a name: gseapy takes a string that is not a file as an Enrichr library and goes to the
network.

The prerank engine
------------------
``engine="moflow"`` (default) computes the GSEA statistics here: the same enrichment score and
leading edge as gseapy (identical values), NES by the mean of the same-sign null, nominal p and
GSEA's FDR. Under gene-set permutation the null of a set depends only on its size (and, for
``weight > 0``, on the list's values). The sets of one size therefore share their null, drawn as
one batch of ``permutations`` random subsets per set (the same number of null draws as gseapy, so
GSEA's pooled FDR keeps its resolution), vectorised; with ``weight=0`` the batches also serve every
list of the same length. 20 factors x 3 layers x Hallmark + Reactome take seconds instead of the
hour gseapy needs (bench/bench_enrich.py). p-values carry the (b + 1) / (n + 1) correction, so none
is 0. ``engine="gseapy"`` runs ``gseapy.prerank`` instead.
"""

from __future__ import annotations

import contextlib
import io as _io
import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from .errors import InputError

PRERANK_COLUMNS = ["term", "es", "nes", "p", "fdr", "z", "set_size", "leading_edge"]
ONE_TO_MANY = ("expand", "first", "drop")
MANY_TO_ONE = ("max_abs", "mean")
ENGINES = ("moflow", "gseapy")

log = logging.getLogger("moflow")


# ---------------------------------------------------------------------------------------------
# gene sets
# ---------------------------------------------------------------------------------------------


def parse_gmt(lines: list[str], *, path: str = "gene sets") -> dict[str, list[str]]:
    """Parse GMT lines: name, description, genes (tab-separated). Bad lines are reported by number."""
    sets: dict[str, list[str]] = {}
    problems = []
    for i, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.rstrip("\n").split("\t")]
        if len(parts) < 3 or not parts[0]:
            problems.append(f"line {i}: needs a name, a description and at least one gene, tab-separated")
            continue
        genes = [g for g in parts[2:] if g]
        if not genes:
            problems.append(f"line {i} ('{parts[0]}'): no genes")
            continue
        if parts[0] in sets:
            problems.append(f"line {i}: gene set '{parts[0]}' defined twice")
            continue
        sets[parts[0]] = list(dict.fromkeys(genes))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise InputError(f"{path}: malformed GMT ({shown}). Fix or delete these lines.")
    if not sets:
        raise InputError(f"{path}: no gene set found. A GMT file has one set per line: name, description, genes.")
    return sets


def check_overlap(gene_sets: dict[str, list[str]], genes, *, path: str, layer: str, min_overlap: float) -> float:
    """Fraction of the layer's genes that appear in any set; stop below ``min_overlap``."""
    genes = set(genes)
    in_sets = set().union(*gene_sets.values())
    frac = len(genes & in_sets) / max(len(genes), 1)
    if frac < min_overlap:
        example = next(iter(sorted(genes)), "")
        raise InputError(
            f"{path}: only {len(genes & in_sets)} of the {len(genes)} genes of layer '{layer}' "
            f"({frac:.1%}) appear in any gene set (minimum {min_overlap:.0%}). Are the identifiers of the same "
            f"type (e.g. symbols like '{example}' vs Ensembl IDs)? Map features to genes or use a matching GMT."
        )
    return frac


def testable_sets(gene_sets: dict[str, list[str]], universe, *, min_size: int, max_size: int) -> dict[str, list[str]]:
    """Each set restricted to ``universe``, kept when its size there lies in [min_size, max_size]."""
    universe = set(universe)
    out = {}
    for name, genes in gene_sets.items():
        members = list(dict.fromkeys(g for g in genes if g in universe))
        if min_size <= len(members) <= max_size:
            out[name] = members
    return out


# ---------------------------------------------------------------------------------------------
# features -> genes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneMap:
    """How one layer's features become genes.

    ``pairs`` (columns feature, gene) lists every feature-gene link after the one-to-many rule;
    ``None`` means the features are genes already. ``many_to_one`` says how the scores of several
    features of one gene become the gene's score: ``max_abs`` (the score with the largest absolute
    value, sign kept) or ``mean``.
    """

    layer: str
    pairs: pd.DataFrame | None = None
    many_to_one: str = "max_abs"
    source: str = ""

    @classmethod
    def identity(cls, layer: str) -> GeneMap:
        return cls(layer=layer)

    @property
    def is_identity(self) -> bool:
        return self.pairs is None

    def genes(self, features) -> list[str]:
        """The genes of ``features`` (sorted): every gene a feature maps to."""
        features = pd.Index(pd.unique(pd.Index(features).astype(str)))
        if self.is_identity:
            return sorted(features)
        return sorted(set(self.pairs.loc[self.pairs["feature"].isin(features), "gene"]))

    def scores(self, scores: pd.Series) -> pd.Series:
        """Feature scores -> gene scores (``many_to_one`` rule); features without a gene are dropped."""
        s = scores.dropna()
        s.index = s.index.astype(str)
        if self.is_identity:
            return s.groupby(level=0).mean() if s.index.has_duplicates else s
        d = self.pairs.merge(s.rename("score"), left_on="feature", right_index=True)
        if d.empty:
            return pd.Series(dtype=float)
        if self.many_to_one == "mean":
            return d.groupby("gene", sort=True)["score"].mean()
        d = d.assign(a=d["score"].abs()).sort_values(["gene", "a", "feature"], ascending=[True, False, True])
        return d.drop_duplicates("gene").set_index("gene")["score"].sort_index()

    def matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        """A samples x features matrix -> samples x genes: the mean of the standardized features of
        each gene (missing cells count as the feature's mean). Used for inter-gene correlations."""
        if self.is_identity:
            return X
        from scipy import sparse

        Z = ((X - X.mean()) / X.std(ddof=1).replace(0, np.nan)).fillna(0.0)
        d = self.pairs[self.pairs["feature"].isin(Z.columns)]
        if d.empty:
            return pd.DataFrame(index=X.index)
        genes = sorted(d["gene"].unique())
        rows = pd.Index(Z.columns).get_indexer(d["feature"])
        cols = pd.Index(genes).get_indexer(d["gene"])
        n = np.bincount(cols, minlength=len(genes))
        M = sparse.csr_matrix((1.0 / n[cols], (rows, cols)), shape=(Z.shape[1], len(genes)))
        return pd.DataFrame(np.asarray(M.T @ Z.to_numpy().T).T, index=X.index, columns=genes)


def gene_map_from_annotation(annotation: pd.DataFrame, *, layer: str, path: str, feature_column: str = "feature",
                             gene_column: str = "gene", separator: str = ";", one_to_many: str = "expand",
                             many_to_one: str = "max_abs", features=None) -> GeneMap:
    """Build a :class:`GeneMap` from an annotation table (every cell a string).

    One row per feature (several rows of one feature are merged); the gene column may list several
    genes separated by ``separator`` (protein groups ``'A;B'``, CpG probes annotated to several
    genes). ``one_to_many``: ``expand`` (the feature counts for every gene), ``first`` (the first
    gene listed, as for MaxQuant's leading gene) or ``drop`` (features of several genes are left
    out). ``features``: the layer's features, to check that the annotation describes them.
    """
    if one_to_many not in ONE_TO_MANY:
        raise InputError(f"{path}: one_to_many for layer '{layer}' must be one of {', '.join(ONE_TO_MANY)}, "
                         f"not '{one_to_many}'.")
    if many_to_one not in MANY_TO_ONE:
        raise InputError(f"{path}: many_to_one for layer '{layer}' must be one of {', '.join(MANY_TO_ONE)}, "
                         f"not '{many_to_one}'.")
    missing = [c for c in (feature_column, gene_column) if c not in annotation.columns]
    if missing:
        raise InputError(
            f"{path}: annotation of layer '{layer}' has no column {' or '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(map(str, annotation.columns[:10]))}). Set feature_column and gene_column under "
            f"enrichment: layers: {layer}."
        )
    a = pd.DataFrame({"feature": annotation[feature_column].astype(str).str.strip(),
                      "genes": annotation[gene_column].fillna("").astype(str)})
    a = a[a["feature"] != ""]
    a["gene"] = a["genes"].str.split(separator, regex=False)
    long = a[["feature", "gene"]].explode("gene")
    long["gene"] = long["gene"].fillna("").str.strip()
    long = long[(long["gene"] != "") & (~long["gene"].str.upper().isin({"NA", "NAN", "NONE", "-"}))]
    long = long.drop_duplicates(["feature", "gene"])
    n_genes = long.groupby("feature")["gene"].transform("size")
    if one_to_many == "first":
        long = long.drop_duplicates("feature", keep="first")
    elif one_to_many == "drop":
        long = long[n_genes == 1]
    pairs = long.reset_index(drop=True)
    if features is not None:
        features = pd.Index(features).astype(str)
        known = features.isin(pairs["feature"])
        if not known.any():
            raise InputError(
                f"{path}: none of the {len(features)} features of layer '{layer}' (e.g. '{features[0]}') appears "
                f"with a gene in column '{feature_column}' (e.g. '{a['feature'].iloc[0] if len(a) else ''}'). "
                "Use an annotation whose feature column holds the layer's feature IDs."
            )
    return GeneMap(layer=layer, pairs=pairs, many_to_one=many_to_one, source=path)


def build_gene_maps(omics: pd.DataFrame, layer_settings: dict, annotations: dict[str, pd.DataFrame], *,
                    features: dict[str, list] | None = None) -> dict[str, GeneMap]:
    """One :class:`GeneMap` per layer that has genes: gene-symbol layers (omics sheet ``gene_ids``)
    map to themselves, layers with an ``annotation`` in config through it.

    ``annotations``: layer -> the annotation table read by :func:`moflow.io.read_annotation`.
    """
    maps = {}
    symbol = set(omics.loc[omics["gene_ids"].astype(str).str.strip() == "symbol", "layer"]) \
        if "gene_ids" in omics.columns else set()
    for layer in omics["layer"]:
        s = (layer_settings or {}).get(layer) or {}
        if s.get("annotation"):
            maps[layer] = gene_map_from_annotation(
                annotations[layer], layer=layer, path=s["annotation"],
                feature_column=s.get("feature_column", "feature"), gene_column=s.get("gene_column", "gene"),
                separator=s.get("separator", ";"), one_to_many=s.get("one_to_many", "expand"),
                many_to_one=s.get("many_to_one", "max_abs"),
                features=(features or {}).get(layer))
        elif layer in symbol:
            maps[layer] = GeneMap.identity(layer)
    return maps


# ---------------------------------------------------------------------------------------------
# score lists
# ---------------------------------------------------------------------------------------------


def weight_lists(weights: pd.DataFrame, *, layers, variance: pd.DataFrame | None = None,
                 min_variance_explained: float = 0.0) -> dict[tuple[str, str], pd.Series]:
    """MOFA weights (long: view, feature, factor, weight) -> {(layer, factor): feature scores}.

    A factor that explains less than ``min_variance_explained`` of a layer's variance (table
    view, factor, r2) is not tested in that layer: its weights there are shrunk to noise, and the
    order of noise follows the layer's gene-gene correlation, which a gene-permutation test
    mistakes for enrichment. Factors with all weights zero in a layer are skipped too.
    """
    keep = None
    if variance is not None and min_variance_explained > 0:
        v = variance[variance["r2"] >= min_variance_explained]
        keep = set(zip(v["view"].astype(str), v["factor"].astype(str)))
    out = {}
    w = weights[weights["view"].isin(list(layers))]
    for (view, factor), d in w.groupby(["view", "factor"], sort=True):
        if keep is not None and (str(view), str(factor)) not in keep:
            continue
        s = d.set_index(d["feature"].astype(str))["weight"].astype(float)
        if s.abs().max() == 0:
            continue
        out[(str(view), str(factor))] = s
    return out


def coefficient_lists(coefficients: pd.DataFrame, *, layers) -> dict[tuple[str, str], pd.Series]:
    """A model's coefficient table (layer, feature, one column per target class) ->
    {(layer, target): feature scores}."""
    targets = [c for c in coefficients.columns if c not in ("layer", "feature")]
    out = {}
    c = coefficients[coefficients["layer"].isin(list(layers))]
    for layer, d in c.groupby("layer", sort=True):
        for t in targets:
            s = d.set_index(d["feature"].astype(str))[t].astype(float)
            if s.abs().max() == 0:
                continue
            out[(str(layer), str(t))] = s
    return out


# ---------------------------------------------------------------------------------------------
# prerank (GSEA)
# ---------------------------------------------------------------------------------------------


def _ranked(scores: pd.Series) -> pd.Series:
    """Scores sorted from largest to smallest; ties in gene-name order (deterministic)."""
    s = scores.dropna()
    s = s.groupby(level=0).mean() if s.index.has_duplicates else s
    order = np.lexsort((s.index.astype(str).to_numpy(), -s.to_numpy(dtype=float)))
    return s.iloc[order].astype(float)


def _running_extremes(P: np.ndarray, W: np.ndarray | None, N: int):
    """Enrichment scores of hit positions ``P`` (rows: sets or permutations, sorted, 0-based) in a
    list of ``N`` genes. ``W``: |score|^weight at the hits (None: weight 0). Returns ES, and the hit
    index where the maximum (ES >= 0) or the minimum (ES < 0) is reached."""
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
    """The j-th batch of ``n`` random m-subsets of range(N), rows sorted: disjoint windows of the rows
    of shared random permutations (a random m-subset is any m positions of a random permutation)."""
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
    """Null ES of size-m sets: ``c`` batches of ``n`` random subsets, one batch per set of that size,
    so a list's null holds as many distinct draws as gseapy's (sets x permutations). With weight 0
    the batches depend on (N, m) only and are cached across lists."""
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
    beyond_null = np.where(pos, len(vals) - np.searchsorted(vals, nes, side="left"),
                           np.searchsorted(vals, nes, side="right"))
    beyond_obs = np.where(pos, len(obs) - np.searchsorted(obs, nes, side="left"),
                          np.searchsorted(obs, nes, side="right"))
    tail = (beyond_null + 1) / (np.where(pos, n_pos_null, n_neg_null) + 1)
    fdr = np.minimum(1.0, tail / (beyond_obs / np.where(pos, max(n_pos_obs, 1), max(n_neg_obs, 1))))
    pooled_p = np.minimum(1.0, tail)
    # q-values: a set with a larger |NES| never gets a larger FDR than one with a smaller |NES| of its sign
    for side in (nes >= 0, nes < 0):
        idx = np.flatnonzero(side)
        order = idx[np.argsort(np.abs(nes[idx]), kind="stable")]
        fdr[order] = np.minimum.accumulate(fdr[order])
    return nes, p, fdr, signed_z(nes, pooled_p)


def _prerank_moflow(rnk: pd.Series, sets: dict[str, list[str]], *, permutations: int, weight: float,
                    seed: int) -> pd.DataFrame:
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
        P = np.sort(np.stack([pos[bounds[i]:bounds[i + 1]] for i in idx]), axis=1)
        e, at, is_pos = _running_extremes(P, W_all[P] if weight else None, N)
        es[idx] = e
        for j, i in enumerate(idx):
            hits = P[j, : at[j] + 1] if is_pos[j] else P[j, at[j]:][::-1]
            lead[i] = ";".join(genes[hits])
        nulls[m] = _null_es(N, m, len(idx), permutations, seed, W_all if weight else None)
    nes, p, fdr, z = _gsea_stats(es, sizes, nulls)
    return pd.DataFrame({"term": names, "es": es, "nes": nes, "p": p, "fdr": fdr, "z": z, "set_size": sizes,
                         "leading_edge": lead})


def _prerank_gseapy(rnk: pd.Series, sets: dict[str, list[str]], *, permutations: int, min_size: int,
                    max_size: int, weight: float, seed: int, threads: int) -> pd.DataFrame:
    import gseapy

    logging.getLogger("gseapy").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(_io.StringIO()), contextlib.redirect_stderr(_io.StringIO()):
        res = gseapy.prerank(rnk=rnk, gene_sets=sets, permutation_num=int(permutations), min_size=min_size,
                             max_size=max_size, weight=float(weight), seed=int(seed), threads=int(threads),
                             outdir=None, no_plot=True, verbose=False)
    r = res.res2d
    nes, p = pd.to_numeric(r["NES"]), pd.to_numeric(r["NOM p-val"])
    return pd.DataFrame({
        "term": r["Term"].astype(str),
        "es": pd.to_numeric(r["ES"]),
        "nes": nes,
        "p": p,
        "fdr": pd.to_numeric(r["FDR q-val"]),
        "z": signed_z(nes, np.maximum(p, 1 / (permutations + 1))),
        "set_size": [len(sets[t]) for t in r["Term"].astype(str)],
        "leading_edge": r["Lead_genes"].astype(str),
    })


def prerank(scores: pd.Series, gene_sets: dict[str, list[str]], *, permutations: int = 1000,
            min_size: int = 10, max_size: int = 500, weight: float = 0.0, seed: int = 0,
            threads: int = 1, engine: str = "moflow") -> pd.DataFrame:
    """GSEA prerank of one list; returns term, ES, NES, p, FDR, set size, leading-edge genes.

    Sets are restricted to the ranked genes and tested when their size there lies in
    [min_size, max_size]. Ties in the scores are ordered by gene name.

    ``weight`` is GSEA's enrichment-score exponent. The default 0 (the classic, rank-based
    Kolmogorov-Smirnov statistic) suits sparse MOFA weights: measured on the demo, with weight 1 a
    single large weight gave decoy sets an ES of 0.97 and the planted sets an NES of only 1.1-1.2,
    while weight 0 ranked every planted set first with NES 7.5.

    ``engine``: ``moflow`` (the null shared by sets of one size, see the module docstring) or
    ``gseapy`` (``gseapy.prerank``; its p and FDR may be 0).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    rnk = _ranked(scores)
    sets = testable_sets(gene_sets, rnk.index, min_size=min_size, max_size=min(max_size, len(rnk) - 1))
    if not sets:
        return pd.DataFrame(columns=PRERANK_COLUMNS)
    if engine == "gseapy":
        return _prerank_gseapy(rnk, sets, permutations=permutations, min_size=min_size, max_size=max_size,
                               weight=weight, seed=seed, threads=threads)
    return _prerank_moflow(rnk, sets, permutations=int(permutations), weight=float(weight), seed=int(seed))


def rank_results(df: pd.DataFrame, by: list[str], *, stat: str = "nes") -> pd.DataFrame:
    """Rank terms within each group: smallest FDR first, ties broken by larger |stat|, then name.

    ``rank`` orders both directions together; ``side_rank`` orders each direction (positive:
    stat >= 0, negative) on its own.
    """
    df = df.assign(abs_stat=df[stat].abs())
    df = df.sort_values([*by, "fdr", "abs_stat", "term"], ascending=[True] * len(by) + [True, False, True])
    df["rank"] = df.groupby(by).cumcount() + 1
    df["direction"] = np.where(df[stat] >= 0, "positive", "negative")
    df["side_rank"] = df.groupby([*by, "direction"]).cumcount() + 1
    return df.drop(columns="abs_stat").reset_index(drop=True)


def _empty(keys: list[str], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=[*keys, *columns, "rank", "direction", "side_rank"])


def prerank_lists(lists: dict[tuple, pd.Series], gene_sets: dict[str, list[str]], *, keys: list[str],
                  gene_maps: dict[str, GeneMap] | None = None, permutations: int = 1000, min_size: int = 10,
                  max_size: int = 500, weight: float = 0.0, seed: int = 0, engine: str = "moflow",
                  conditional_alpha: float | None = 0.05) -> pd.DataFrame:
    """Prerank of many lists ({(layer, ...): feature scores}), features mapped to genes per layer
    (``gene_maps``; a layer without a map is tested on its feature IDs). Ranked per list; with
    ``conditional_alpha``, each list also gets :func:`conditional_prerank`."""
    out = []
    for key, scores in lists.items():
        gm = (gene_maps or {}).get(key[0])
        s = gm.scores(scores) if gm is not None else scores
        res = prerank(s, gene_sets, permutations=permutations, min_size=min_size, max_size=max_size,
                      weight=weight, seed=seed, engine=engine)
        if conditional_alpha is not None and not res.empty:
            res = conditional_prerank(res, s, gene_sets, alpha=conditional_alpha, min_size=min_size,
                                      max_size=max_size, permutations=permutations, weight=weight, seed=seed,
                                      engine=engine)
        for name, value in reversed(list(zip(keys, key))):
            res.insert(0, name, value)
        out.append(res)
    out = [o for o in out if not o.empty]
    if not out:
        extra = ["nes_conditional", "p_conditional", "fdr_conditional", "z_conditional", "explained_by"] \
            if conditional_alpha else []
        return _empty(keys, PRERANK_COLUMNS + extra)
    return rank_results(pd.concat(out, ignore_index=True), keys)


def factor_enrichment(weights: pd.DataFrame, gene_sets: dict[str, list[str]], *, layers: list[str],
                      gene_maps: dict[str, GeneMap] | None = None, variance: pd.DataFrame | None = None,
                      min_variance_explained: float = 0.0, permutations: int = 1000, min_size: int = 10,
                      max_size: int = 500, weight: float = 0.0, seed: int = 0, engine: str = "moflow") -> pd.DataFrame:
    """Prerank of MOFA weights, per factor and per gene-mapped layer (see :func:`weight_lists`).

    ``weights``: long table with columns view, feature, factor, weight.
    """
    lists = weight_lists(weights, layers=layers, variance=variance, min_variance_explained=min_variance_explained)
    return prerank_lists(lists, gene_sets, keys=["layer", "factor"], gene_maps=gene_maps, permutations=permutations,
                         min_size=min_size, max_size=max_size, weight=weight, seed=seed, engine=engine)


def model_enrichment(coefficients: pd.DataFrame, gene_sets: dict[str, list[str]], *, layers: list[str],
                     gene_maps: dict[str, GeneMap] | None = None, permutations: int = 1000, min_size: int = 10,
                     max_size: int = 500, weight: float = 0.0, seed: int = 0, engine: str = "moflow") -> pd.DataFrame:
    """Prerank of a model's coefficients per layer and target class (columns layer, target, ...)."""
    lists = coefficient_lists(coefficients, layers=layers)
    return prerank_lists(lists, gene_sets, keys=["layer", "target"], gene_maps=gene_maps, permutations=permutations,
                         min_size=min_size, max_size=max_size, weight=weight, seed=seed, engine=engine)


def conditional_prerank(res: pd.DataFrame, scores: pd.Series, gene_sets: dict[str, list[str]], *,
                        alpha: float = 0.05, min_size: int = 10, max_size: int = 500, permutations: int = 1000,
                        weight: float = 0.0, seed: int = 0, engine: str = "moflow") -> pd.DataFrame:
    """Add a conditional test to one list's prerank result (``res`` from :func:`prerank`; sets are
    taken in the order of :func:`rank_results`: FDR, then larger |NES|, then name).

    Overlapping collections share genes: a set that contains a few genes of a strongly enriched set
    is enriched too, through those genes alone. Each set B is retested without the genes of the
    sets ranked above it in the same direction whose FDR is below ``alpha`` (the "elim" idea of
    topGO, the set differences of SetRank); the reduced sets are then tested together as one
    collection, with GSEA's FDR. Columns added: ``nes_conditional``, ``p_conditional`` (equal to
    the marginal values where nothing was removed; NaN when fewer than ``min_size`` genes are
    left), ``fdr_conditional`` and ``explained_by`` (the sets whose genes were removed).
    """
    res = res.assign(_a=res["nes"].abs()).sort_values(["fdr", "_a", "term"], ascending=[True, False, True])
    res = res.drop(columns="_a").reset_index(drop=True)
    out = res.assign(nes_conditional=np.nan, p_conditional=np.nan, fdr_conditional=np.nan, z_conditional=np.nan,
                     explained_by="")
    if res.empty:
        return out
    rnk = _ranked(scores)
    universe = set(rnk.index)
    sets = {t: [g for g in dict.fromkeys(gene_sets[t]) if g in universe] for t in res["term"]}
    direction = np.where(res["nes"] >= 0, 1, -1)
    significant = (res["fdr"] < alpha).to_numpy()
    reduced, blocked = _blocked_sets(list(res["term"]), significant, sets, same_group=direction)
    out["explained_by"] = out["term"].map(blocked)
    again = prerank(rnk, reduced, permutations=permutations, min_size=min_size, max_size=max_size, weight=weight,
                    seed=seed, engine=engine).set_index("term")
    again = again.reindex(out["term"])
    out["nes_conditional"] = again["nes"].to_numpy()
    out["p_conditional"] = again["p"].to_numpy()
    out["fdr_conditional"] = again["fdr"].to_numpy()
    out["z_conditional"] = again["z"].to_numpy()
    return out


# ---------------------------------------------------------------------------------------------
# competitive test on the weights (PCGSE with CAMERA's correlation correction)
# ---------------------------------------------------------------------------------------------

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
    """Mean pairwise correlation of each set's members, from standardized columns ``R``:
    sum_{i != j} r_ij = (|sum_j z_j|^2 / (n - 1) - m)."""
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


def competitive_test(scores: pd.Series, gene_sets: dict[str, list[str]], *, correlation: pd.Series | float = 0.0,
                     ranks: bool = True, min_size: int = 10, max_size: int = 500) -> pd.DataFrame:
    """Competitive test of every set: are its members' scores larger (or smaller) than the others'?

    ``ranks=True``: Wilcoxon rank-sum with the correlation-adjusted variance of limma's
    ``rankSumTestWithCorrelation``; ``ranks=False``: CAMERA's two-sample t-statistic with variance
    inflation factor 1 + (m - 1) * rho (df = G - 2). ``correlation``: rho per set (Series, from
    :func:`mean_set_correlation`) or one value for all; negative estimates count as 0 (they would
    shrink the variance below the independent case on noise alone). Two-sided p; the sign of ``statistic`` gives
    the direction (positive: members score higher). BH-adjusted across the sets of this list.
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
    tie_adj = 1 - (tie_counts ** 3 - tie_counts).sum() / (G ** 3 - G) if G > 1 else 1.0
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
                sigma2 = (np.arcsin(1) * m * n2 + np.arcsin(0.5) * m * n2 * (n2 - 1)
                          + np.arcsin(rho / 2) * m * (m - 1) * n2 * (n2 - 1)
                          + np.arcsin((rho + 1) / 2) * m * (m - 1) * n2) / (2 * np.pi)
            sigma2 *= tie_adj
            d = U - mu
            z = (d - np.sign(d) * 0.5) / np.sqrt(sigma2) if abs(d) > 0.5 else 0.0
            stat, p = z, 2 * stats.norm.sf(abs(z))
        else:
            delta = G / n2 * (mean_in - values.mean())
            t = delta / np.sqrt(var_all * (vif / m + 1 / n2))
            stat, p = t, 2 * stats.t.sf(abs(t), df=G - 2)
        rows.append({"term": name, "set_size": m, "statistic": stat, "correlation": rho, "vif": vif,
                     "mean_in": mean_in, "mean_out": mean_out, "p": min(1.0, p)})
    out = pd.DataFrame(rows)
    out["fdr"] = bh(out["p"].to_numpy())
    return out[COMPETITIVE_COLUMNS]


def competitive_lists(lists: dict[tuple, pd.Series], gene_sets: dict[str, list[str]], *, keys: list[str],
                      gene_maps: dict[str, GeneMap] | None = None, data: dict[str, pd.DataFrame] | None = None,
                      factors: pd.DataFrame | None = None, inter_gene_correlation: float | None = None,
                      ranks: bool = True, min_size: int = 10, max_size: int = 500) -> pd.DataFrame:
    """:func:`competitive_test` of many lists keyed (layer, factor). With ``data`` (layer -> samples x
    features) and ``factors`` (samples x factors), the inter-gene correlation of each set is
    estimated from the layer's data after regressing out the factors; ``inter_gene_correlation``
    (a number) fixes it instead (as CAMERA's preset 0.01)."""
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
        return _empty(keys, COMPETITIVE_COLUMNS)
    return rank_results(pd.concat(out, ignore_index=True), keys, stat="statistic")


# ---------------------------------------------------------------------------------------------
# over-representation of selected features
# ---------------------------------------------------------------------------------------------

ORA_COLUMNS = ["term", "overlap", "set_size", "list_size", "background_size", "expected", "odds_ratio", "p", "fdr",
               "genes"]


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    from statsmodels.stats.multitest import multipletests

    return multipletests(np.nan_to_num(p, nan=1.0), method="fdr_bh")[1]


def select_features(scores: pd.Series, *, top: int, side: str) -> list[str]:
    """The ``top`` largest positive (``side='positive'``) or most negative scores; zeros never."""
    s = scores.dropna()
    s = s[s > 0] if side == "positive" else -s[s < 0]
    order = np.lexsort((s.index.astype(str).to_numpy(), -s.to_numpy(dtype=float)))
    return list(s.index[order[:top]].astype(str))


def overrepresentation(selected, background, gene_sets: dict[str, list[str]], *, min_size: int = 10,
                       max_size: int = 500) -> pd.DataFrame:
    """Hypergeometric over-representation (gseapy ``enrich``) of ``selected`` among ``background``.

    Sets are restricted to the background and tested when their size there lies in
    [min_size, max_size]; every tested set enters the BH correction, including those without a
    selected gene (gseapy leaves them out of its own adjustment). Identifiers are handed to gseapy
    as neutral tokens, so its upper-casing of gene lists cannot lose a match (``C1orf112``).
    """
    import gseapy

    background = list(dict.fromkeys(str(g) for g in background))
    if not background:
        raise ValueError("the background of an over-representation test is empty")
    bset = set(background)
    selected = [g for g in dict.fromkeys(str(g) for g in selected) if g in bset]
    sets = testable_sets(gene_sets, bset, min_size=min_size, max_size=max_size)
    if not sets or not selected:
        return pd.DataFrame(columns=ORA_COLUMNS)
    token = {g: f"ID{i:07d}" for i, g in enumerate(background)}
    back = {t: g for g, t in token.items()}
    tok_sets = {name: [token[g] for g in genes] for name, genes in sets.items()}
    logging.getLogger("gseapy").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(_io.StringIO()), contextlib.redirect_stderr(_io.StringIO()):
        res = gseapy.enrich(gene_list=[token[g] for g in selected], gene_sets=tok_sets,
                            background=[token[g] for g in background], outdir=None, cutoff=1.0, no_plot=True,
                            verbose=False)
    r = getattr(res, "res2d", None)
    hits = {}
    if r is not None and len(r):
        for _, row in r.iterrows():
            hits[str(row["Term"])] = (float(row["P-value"]), float(row["Odds Ratio"]),
                                      [back[t] for t in str(row["Genes"]).split(";") if t in back])
    k, N = len(selected), len(background)
    rows = []
    for name, genes in sets.items():
        m = len(genes)
        p, odds, members = hits.get(name, (1.0, 0.0, []))
        rows.append({"term": name, "overlap": len(members), "set_size": m, "list_size": k, "background_size": N,
                     "expected": k * m / N, "odds_ratio": odds, "p": p, "genes": ";".join(sorted(members))})
    out = pd.DataFrame(rows)
    out["fdr"] = bh(out["p"].to_numpy())
    return out[ORA_COLUMNS]


def _blocked_sets(order: list[str], significant: np.ndarray, sets: dict[str, list[str]], same_group=None):
    """For each set (in ``order``, most significant first): its genes without those of the
    significant sets ranked above it that share a gene with it (and, with ``same_group``, are in its
    group); and the names of those sets."""
    group = np.zeros(len(order), dtype=int) if same_group is None else np.asarray(same_group)
    # gene -> the significant sets (their positions in ``order``) that contain it, per group
    holders: dict[tuple, list[int]] = {}
    for j in np.flatnonzero(significant):
        for g in sets.get(order[j], ()):
            holders.setdefault((group[j], g), []).append(int(j))
    reduced, blocked_by = {}, {}
    for i, term in enumerate(order):
        genes = sets.get(term, ())
        blockers: set[int] = set()
        keep = []
        for g in genes:
            above = [j for j in holders.get((group[i], g), ()) if j < i]
            if above:
                blockers.update(above)
            else:
                keep.append(g)
        reduced[term] = keep
        blocked_by[term] = ",".join(order[j] for j in sorted(blockers))
    return reduced, blocked_by


def ora_lists(lists: dict[tuple, pd.Series], gene_sets: dict[str, list[str]], *, keys: list[str],
              gene_maps: dict[str, GeneMap] | None = None, top: int = 50, min_size: int = 10,
              max_size: int = 500, conditional_alpha: float | None = 0.05) -> pd.DataFrame:
    """Over-representation of the top positive and top negative features of every list; the
    background is every feature of the list's layer that received a score (mapped to genes).

    With ``conditional_alpha``, each set is also tested without the genes of the sets above it
    (same list and side) whose FDR is below ``conditional_alpha`` (``p_conditional``,
    ``fdr_conditional``, ``explained_by``; see :func:`conditional_prerank`)."""
    out = []
    for key, scores in lists.items():
        gm = (gene_maps or {}).get(key[0])
        s = gm.scores(scores) if gm is not None else scores.dropna()
        for side in ("positive", "negative"):
            chosen = select_features(s, top=top, side=side)
            if not chosen:
                continue
            res = overrepresentation(chosen, s.index, gene_sets, min_size=min_size, max_size=max_size)
            if res.empty:
                continue
            res = res.sort_values(["fdr", "p", "term"]).reset_index(drop=True)
            if conditional_alpha is not None:
                universe = set(s.index)
                sets = {t: [g for g in dict.fromkeys(gene_sets[t]) if g in universe] for t in res["term"]}
                reduced, blocked = _blocked_sets(list(res["term"]), (res["fdr"] < conditional_alpha).to_numpy(),
                                                 sets)
                changed = {t: g for t, g in reduced.items() if blocked[t]}
                again = overrepresentation(chosen, s.index, changed, min_size=min_size, max_size=max_size)
                p_cond = res.set_index("term")["p"].copy()
                p_cond[list(changed)] = np.nan  # too few genes left, unless retested below
                p_cond.update(again.set_index("term")["p"])
                res["p_conditional"] = p_cond.reindex(res["term"]).to_numpy()
                fdr = pd.Series(bh(res["p_conditional"].fillna(1.0).to_numpy()), index=res.index)
                res["fdr_conditional"] = fdr.where(res["p_conditional"].notna())
                res["explained_by"] = res["term"].map(blocked)
            res.insert(0, "side", side)
            for name, value in reversed(list(zip(keys, key))):
                res.insert(0, name, value)
            out.append(res)
    cond = ["p_conditional", "fdr_conditional", "explained_by"] if conditional_alpha is not None else []
    if not out:
        return pd.DataFrame(columns=[*keys, "side", *ORA_COLUMNS, *cond, "rank"])
    df = pd.concat(out, ignore_index=True)
    df = df.sort_values([*keys, "side", "fdr", "p", "term"]).reset_index(drop=True)
    df["rank"] = df.groupby([*keys, "side"]).cumcount() + 1
    return df


# ---------------------------------------------------------------------------------------------
# one multi-omics pathway table
# ---------------------------------------------------------------------------------------------


def signed_z(stat: np.ndarray, p: np.ndarray) -> np.ndarray:
    """z = sign(stat) * Phi^-1(1 - p/2): standard normal under the null when p is conditional on the
    sign (GSEA's nominal p) or two-sided."""
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
            lambda p: pd.Series(bh(p.to_numpy()), index=p.index))
    out = out.assign(abs_z=out["z"].abs(), abs_nes=out["mean_nes"].abs())
    out = out.sort_values([*by, "p", "abs_z", "abs_nes", "term"],
                          ascending=[True] * len(by) + [True, False, False, True])
    out["rank"] = out.groupby(by).cumcount() + 1
    out["direction"] = np.where(out["z"] >= 0, "positive", "negative")
    zcols = [f"z_{c}" for c in layers if f"z_{c}" in out.columns]
    return out[[*cols, *zcols]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# what to test against what: collections, layers, maps (assembled from config by the scripts)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    """One collection of sets and the layers it is tested in. ``gene_level``: the layers' features
    are mapped to genes first (gene-set collections); otherwise the sets name the layer's own
    features (a layer's ``feature_sets``)."""

    name: str
    path: str
    sets: dict
    layers: tuple
    gene_level: bool = True


@dataclass(frozen=True)
class EnrichmentPlan:
    collections: tuple
    gene_maps: dict

    @property
    def layers(self) -> list[str]:
        """Every layer some collection is tested in."""
        return sorted({lay for c in self.collections for lay in c.layers})

    def maps_for(self, collection: Collection) -> dict[str, GeneMap]:
        return self.gene_maps if collection.gene_level else {}


def enrichment_layers(omics: pd.DataFrame, settings: dict) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(layers with genes, {layer: {name: GMT path}} of layers with their own feature sets), from the
    omics sheet (``gene_ids``) and config ``enrichment: layers``."""
    layer_cfg = settings.get("layers") or {}
    gene_ids = omics.set_index("layer")["gene_ids"].astype(str).str.strip() if "gene_ids" in omics.columns \
        else pd.Series("none", index=omics["layer"])
    genes = [lay for lay in omics["layer"]
             if gene_ids.get(lay) == "symbol" or (layer_cfg.get(lay) or {}).get("annotation")]
    feats = {lay: dict((layer_cfg.get(lay) or {}).get("feature_sets") or {}) for lay in omics["layer"]}
    return genes, {k: v for k, v in feats.items() if v}


def plan_enrichment(omics: pd.DataFrame, settings: dict, *, gmt_lines: dict[str, list[str]],
                    annotations: dict[str, pd.DataFrame], layer_features: dict[str, list],
                    log: logging.Logger | None = None) -> EnrichmentPlan:
    """Parse every collection, build the gene maps and check that each collection shares at least
    ``min_overlap`` of every layer's genes (or features). Raises InputError naming the file, the
    line or layer, and the fix.

    ``gmt_lines``: path -> lines of every GMT named in config; ``annotations``: layer -> annotation
    table for layers with an ``annotation``; ``layer_features``: layer -> the features that have
    scores (the layer's features after preprocessing).
    """
    gene_layers, feature_sets = enrichment_layers(omics, settings)
    layer_cfg = settings.get("layers") or {}
    maps = build_gene_maps(omics[omics["layer"].isin(gene_layers)], layer_cfg, annotations, features=layer_features)
    min_overlap = float(settings.get("min_overlap", 0.05))
    collections = []
    for name, path in (settings.get("gene_sets") or {}).items():
        sets = parse_gmt(gmt_lines[path], path=path)
        for layer in gene_layers:
            genes = maps[layer].genes(layer_features.get(layer, []))
            frac = check_overlap(sets, genes, path=path, layer=layer, min_overlap=min_overlap)
            if log:
                log.info("%s: %d genes of layer %s, %.1f%% of them in a set", name, len(genes), layer, 100 * frac)
        if gene_layers:
            collections.append(Collection(name, path, sets, tuple(gene_layers), True))
    for layer, named in feature_sets.items():
        for name, path in named.items():
            sets = parse_gmt(gmt_lines[path], path=path)
            frac = check_overlap(sets, layer_features.get(layer, []), path=path, layer=layer, min_overlap=min_overlap)
            if log:
                log.info("%s: %.1f%% of the features of layer %s in a set", name, 100 * frac, layer)
            collections.append(Collection(name, path, sets, (layer,), False))
    names = [c.name for c in collections]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"config enrichment: the collection name(s) {', '.join(dup)} are used twice (gene_sets and a "
                         "layer's feature_sets, or two layers). Give every collection its own name.")
    return EnrichmentPlan(tuple(collections), maps)


def run_collections(plan: EnrichmentPlan, lists: dict[tuple, pd.Series], func, **kwargs) -> pd.DataFrame:
    """Run ``func`` (:func:`prerank_lists`, :func:`ora_lists`, ...) per collection on the lists of
    its layers; one table with a leading ``collection`` column."""
    out = []
    for c in plan.collections:
        sub = {k: v for k, v in lists.items() if k[0] in c.layers}
        res = func(sub, c.sets, gene_maps=plan.maps_for(c), **kwargs)
        res.insert(0, "collection", c.name)
        out.append(res)
    full = [o for o in out if not o.empty]
    if full:
        return pd.concat(full, ignore_index=True)
    empty = func({}, {}, **kwargs)  # the columns, no rows
    empty.insert(0, "collection", pd.Series(dtype=str))
    return empty


def check_enrichment_config(settings: dict, layers, *, exists, produced=(), download_dir: str = "resources/genesets"
                            ) -> None:
    """Check config ``enrichment`` when the workflow starts: known layers, and every file it names
    exists, is made by the workflow (``produced``, e.g. the demo's gene sets) or is a library that
    the download rule will fetch because downloads are on. A gene-set entry that is not a file is an
    error, never a lookup on a server. ``exists``: path -> bool."""
    problems = []
    layer_cfg = settings.get("layers") or {}
    for layer in layer_cfg:
        if layer not in layers:
            problems.append(f"layers: '{layer}' is not a layer of the omics sheet ({', '.join(layers)})")
    dl = settings.get("download") or {}
    enabled, libraries = bool(dl.get("enabled")), list(dl.get("libraries") or [])
    for name, path in (settings.get("gene_sets") or {}).items():
        path = str(path)
        if exists(path) or path in set(produced):
            continue
        stem = path[len(download_dir) + 1:-4] if path.startswith(download_dir + "/") and path.endswith(".gmt") else None
        if stem is not None and enabled and stem in libraries:
            continue
        if "/" not in path and "." not in path:
            problems.append(
                f"gene_sets: {name}: '{path}' is not a file. Gene sets are read from local GMT files only; a library "
                "name is never looked up online. Name a GMT file, or fetch the library once with enrichment: download: "
                f"{{enabled: true, libraries: [{path}]}} and gene_sets: {{{name}: {download_dir}/{path}.gmt}}")
        elif stem is not None and stem in libraries:
            problems.append(
                f"gene_sets: {name}: {path} is not here and downloads are off (enrichment: download: enabled: false). "
                "Copy the GMT file there, or turn downloads on")
        else:
            problems.append(f"gene_sets: {name}: file {path} not found. Name an existing GMT file"
                            + (f" (or list '{stem}' under download: libraries)" if stem is not None else ""))
    for layer, cfg in layer_cfg.items():
        cfg = cfg or {}
        if cfg.get("annotation") and not exists(str(cfg["annotation"])):
            problems.append(f"layers: {layer}: annotation file {cfg['annotation']} not found")
        for name, path in (cfg.get("feature_sets") or {}).items():
            if not exists(str(path)):
                problems.append(f"layers: {layer}: feature_sets: {name}: file {path} not found")
    if problems:
        raise InputError("config enrichment: " + "; ".join(problems) + ".")


# ---------------------------------------------------------------------------------------------
# optional download (network only when config asks for it)
# ---------------------------------------------------------------------------------------------

DOWNLOAD_HOSTS = {"enrichr": "maayanlab.cloud", "msigdb": "data.broadinstitute.org"}


def download_library(library: str, *, source: str = "enrichr", organism: str = "human",
                     msigdb_version: str = "2023.2.Hs", timeout: float = 10.0) -> dict[str, list[str]]:
    """Fetch one gene-set library through gseapy (Enrichr library name, or MSigDB category such as
    ``h.all``). The only function of the package that uses the network; the workflow calls it only
    when config ``enrichment: download: enabled`` is true. Fails at once, with the fix, when the
    server cannot be reached."""
    import socket

    host = DOWNLOAD_HOSTS.get(source)
    if host is None:
        raise InputError(f"config enrichment: download: source must be one of {', '.join(DOWNLOAD_HOSTS)}, "
                         f"not '{source}'.")
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as exc:
        raise InputError(
            f"cannot reach {host} to download gene-set library '{library}' ({exc}). This machine seems offline. "
            "Download the GMT file elsewhere, copy it here and name it in config enrichment: gene_sets, "
            "or set enrichment: download: enabled: false."
        ) from None
    import gseapy

    logging.getLogger("gseapy").setLevel(logging.ERROR)
    if source == "enrichr":
        sets = gseapy.get_library(name=library, organism=organism)
    else:
        sets = gseapy.Msigdb().get_gmt(category=library, dbver=msigdb_version)
    if not sets:
        lister = "gseapy.get_library_name()" if source == "enrichr" else "gseapy.Msigdb().list_category()"
        raise InputError(f"{source} returned no gene sets for library '{library}'. Check the name ({lister}).")
    return {str(k): [str(g) for g in v] for k, v in sets.items()}
