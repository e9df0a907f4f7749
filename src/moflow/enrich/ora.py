"""Over-representation (hypergeometric, gseapy ``enrich``) of selected features against a background.

The background is explicit; BH adjustment; the blocking of genes of more significant sets
(conditional tests).
"""

from __future__ import annotations

import contextlib
import io as _io
import logging

import numpy as np
import pandas as pd

from moflow.enrich.genemap import GeneMap
from moflow.enrich.genesets import testable_sets
from moflow.stats import bh

ORA_COLUMNS = [
    "term",
    "overlap",
    "set_size",
    "list_size",
    "background_size",
    "expected",
    "odds_ratio",
    "p",
    "fdr",
    "genes",
]


def select_features(scores: pd.Series, *, top: int, side: str) -> list[str]:
    """The ``top`` largest positive (``side='positive'``) or most negative scores; zeros never."""
    s = scores.dropna()
    s = s[s > 0] if side == "positive" else -s[s < 0]
    order = np.lexsort((s.index.astype(str).to_numpy(), -s.to_numpy(dtype=float)))
    return list(s.index[order[:top]].astype(str))


def overrepresentation(
    selected, background, gene_sets: dict[str, list[str]], *, min_size: int = 10, max_size: int = 500
) -> pd.DataFrame:
    """Hypergeometric over-representation (gseapy ``enrich``) of ``selected`` among ``background``.

    Sets are restricted to the background and tested when their size there lies in
    [min_size, max_size]; every tested set enters the BH correction, including those without a
    selected gene (gseapy leaves them out of its own adjustment). Identifiers are handed to gseapy
    as neutral tokens, so its upper-casing of gene lists cannot lose a match (``C1orf112``).

    Parameters
    ----------
    selected : iterable of str
        The selected features (those outside the background are left out).
    background : iterable of str
        Every feature that could have been selected; empty raises ValueError.
    gene_sets : dict of str to list of str
        The sets.
    min_size, max_size : int
        The set size limits within the background.

    Returns
    -------
    pandas.DataFrame
        One row per tested set, columns :data:`ORA_COLUMNS`.
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
        res = gseapy.enrich(
            gene_list=[token[g] for g in selected],
            gene_sets=tok_sets,
            background=[token[g] for g in background],
            outdir=None,
            cutoff=1.0,
            no_plot=True,
            verbose=False,
        )
    r = getattr(res, "res2d", None)
    hits = {}
    if r is not None and len(r):
        for _, row in r.iterrows():
            hits[str(row["Term"])] = (
                float(row["P-value"]),
                float(row["Odds Ratio"]),
                [back[t] for t in str(row["Genes"]).split(";") if t in back],
            )
    k, N = len(selected), len(background)
    rows = []
    for name, genes in sets.items():
        m = len(genes)
        p, odds, members = hits.get(name, (1.0, 0.0, []))
        rows.append(
            {
                "term": name,
                "overlap": len(members),
                "set_size": m,
                "list_size": k,
                "background_size": N,
                "expected": k * m / N,
                "odds_ratio": odds,
                "p": p,
                "genes": ";".join(sorted(members)),
            }
        )
    out = pd.DataFrame(rows)
    out["fdr"] = bh(out["p"].to_numpy())
    return out[ORA_COLUMNS]


def blocked_sets(order: list[str], significant: np.ndarray, sets: dict[str, list[str]], same_group=None):
    """The sets of a conditional test (:func:`ora_lists`, :func:`moflow.enrich.prerank.conditional_prerank`).

    For each set (in ``order``, most significant first): its genes without those of the
    significant sets ranked above it that share a gene with it (and, with ``same_group``, are in its
    group); and the names of those sets.

    Parameters
    ----------
    order : list of str
        The sets, most significant first.
    significant : numpy.ndarray of bool
        Per set of ``order``: whether its genes are removed from the sets below it.
    sets : dict of str to list of str
        The sets' genes.
    same_group : array-like, optional
        Per set of ``order``: its group (e.g. the sign of its NES); only sets of one group block
        each other.

    Returns
    -------
    (reduced, blocked_by)
        ``{set: remaining genes}`` and ``{set: comma-separated names of the sets whose genes were
        removed}``.
    """
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


def ora_lists(
    lists: dict[tuple, pd.Series],
    gene_sets: dict[str, list[str]],
    *,
    keys: list[str],
    gene_maps: dict[str, GeneMap] | None = None,
    top: int = 50,
    min_size: int = 10,
    max_size: int = 500,
    conditional_alpha: float | None = 0.05,
) -> pd.DataFrame:
    """Over-representation of the top positive and top negative features of every list.

    The background is every feature of the list's layer that received a score (mapped to genes).

    With ``conditional_alpha``, each set is also tested without the genes of the sets above it
    (same list and side) whose FDR is below ``conditional_alpha`` (``p_conditional``,
    ``fdr_conditional``, ``explained_by``; see :func:`conditional_prerank`).

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
    top : int
        The number of top positive (and of top negative) features selected (:func:`select_features`).
    min_size, max_size : int
        The set size limits within the background.
    conditional_alpha : float, optional
        The FDR level of the sets whose genes are removed; None: no conditional test.

    Returns
    -------
    pandas.DataFrame
        The key columns, ``side``, :data:`ORA_COLUMNS`, the conditional columns and ``rank`` (per
        list and side).
    """
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
                reduced, blocked = blocked_sets(list(res["term"]), (res["fdr"] < conditional_alpha).to_numpy(), sets)
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
