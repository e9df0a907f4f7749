"""Hierarchical features of one layer, learnt on training samples only, and the check of edge lists.

Features -> genes (:class:`GeneLevel`), genes -> gene-set scores (:class:`SetScores`), genes ->
regulator activities (:class:`RegulatorActivity`, decoupler's univariate linear model
:func:`ulm_activity`), and the check of a user's regulator edge list (:func:`parse_edges`).

Every class follows scikit-learn's estimator contract (``fit`` learns from the rows it is given only,
``transform`` applies the learnt state unchanged), as they run inside cross-validation training folds.
Conventions shared by all: a row whose values are all missing is a sample lacking the layer; ``fit``
ignores it and ``transform`` returns it all-NaN. Gene-level values are z-scores on the training
samples, so a missing cell in a present row counts as 0 (the training mean).
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from moflow.errors import DataError

SET_METHODS = ("plage", "mean", "rank")


def _present(X: pd.DataFrame) -> np.ndarray:
    """Rows with at least one value (the others are samples lacking the layer)."""
    return X.notna().any(axis=1).to_numpy()


def _check_frame(X, what: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{what} expects a samples x features pandas DataFrame, not {type(X).__name__}.")
    if X.columns.has_duplicates:
        dup = X.columns[X.columns.duplicated()][0]
        raise ValueError(f"{what}: column '{dup}' appears more than once.")
    return X


class GeneLevel(TransformerMixin, BaseEstimator):
    """Features -> genes: per gene the mean of its features, each standardized on the training samples.

    Each feature is standardized with its training mean and SD (ddof 1); a missing cell counts as 0
    (the training mean).

    Parameters
    ----------
    gene_map : moflow.enrich.genemap.GeneMap, optional
        A :class:`moflow.enrich.genemap.GeneMap` (its ``pairs``, columns feature and gene), or ``None`` /
        an identity map (the features are genes).

    Attributes
    ----------
    mean_, sd_ : pandas.Series
        The training mean and SD over the kept features: those with a training SD > 0 that map to a gene.
    pairs_ : pandas.DataFrame
        Feature, gene of the kept features.
    genes_ : pandas.Index
        The genes, sorted.
    matrix_ : scipy.sparse.csr_matrix
        Sparse features x genes averaging weights.
    """

    _parameter_constraints: ClassVar[dict] = {"gene_map": [HasMethods(["genes"]), None]}

    def __init__(self, gene_map=None):
        self.gene_map = gene_map

    def fit(self, X, y=None):
        """Learn the features' training means and SDs and the feature -> gene averaging matrix."""
        self._validate_params()
        from scipy import sparse

        X = _check_frame(X, "GeneLevel")
        cols = pd.Index(X.columns.astype(str))
        train = X.loc[_present(X)].set_axis(cols, axis=1)
        mean = train.mean(axis=0, skipna=True)
        sd = train.std(axis=0, skipna=True, ddof=1)
        ok = (sd > 0) & np.isfinite(sd) & np.isfinite(mean)
        if self.gene_map is None or self.gene_map.is_identity:
            pairs = pd.DataFrame({"feature": cols[ok.to_numpy()], "gene": cols[ok.to_numpy()]})
        else:
            p = self.gene_map.pairs[["feature", "gene"]].astype(str).drop_duplicates()
            pairs = p[p["feature"].isin(cols[ok.to_numpy()])]
        pairs = pairs.sort_values(["gene", "feature"]).reset_index(drop=True)
        features = pd.Index(sorted(pairs["feature"].unique()), dtype=object)
        self.mean_ = mean.reindex(features)
        self.sd_ = sd.reindex(features)
        self.pairs_ = pairs
        self.genes_ = pd.Index(sorted(pairs["gene"].unique()), dtype=object)
        rows = features.get_indexer(pairs["feature"])
        cols_ = self.genes_.get_indexer(pairs["gene"])
        n = np.bincount(cols_, minlength=len(self.genes_)).astype(float)
        self.matrix_ = sparse.csr_matrix((1.0 / n[cols_], (rows, cols_)), shape=(len(features), len(self.genes_)))
        return self

    def transform(self, X):
        """Standardize the kept features and average them per gene (samples x ``genes_``)."""
        check_is_fitted(self)
        X = _check_frame(X, "GeneLevel")
        present = _present(X)
        Z = X.set_axis(X.columns.astype(str), axis=1).reindex(columns=self.mean_.index)
        Z = ((Z - self.mean_) / self.sd_).fillna(0.0).to_numpy(float)
        out = np.asarray((self.matrix_.T @ Z.T).T, dtype=float).reshape(len(X), len(self.genes_))
        out[~present] = np.nan
        return pd.DataFrame(out, index=X.index, columns=self.genes_.copy())


class SetScores(TransformerMixin, BaseEstimator):
    """Genes -> one score per gene set (samples x genes input, as from :class:`GeneLevel`).

    Output columns ``prefix + name`` (sets in the order of ``sets``); rows lacking the layer stay NaN.

    Parameters
    ----------
    sets : dict, optional
        {name: [genes]}; a set is kept when the number of its members present among the training
        columns lies within [``min_size``, ``max_size``].
    method : str
        The score of a set:

        - ``plage``: the first principal component of the members (centred on their training means; SVD
          of the training block), scaled to unit SD on training; the loadings are signed so that the
          training scores correlate positively with the members' mean (a positive score: members high).
          Missing cells count as the training mean.
        - ``mean``: the members' mean (the input is z-scores; missing cells count as 0).
        - ``rank``: singscore-like: within each sample all training genes are ranked (ascending, ties
          averaged, missing values counting as 0) and the members' mean rank is scaled to [-0.5, 0.5], 0
          being the mean rank expected by chance. No training state except the gene universe.
    min_size, max_size : int
        The bounds (inclusive) on the number of a set's members present among the training columns.
    prefix : str
        Put before each set's name in the output columns.

    Attributes
    ----------
    members_ : dict
        {name: sorted genes} of the kept sets.
    genes_ : pandas.Index
        The training columns.
    center_ : dict
        {name: Series of training means} (plage).
    loadings_ : dict
        {name: Series, unit norm} (plage).
    scale_ : dict
        {name: training SD of the projection} (plage).
    explained_ : dict
        {name: share of the members' training variance PC1 explains} (plage).
    """

    _parameter_constraints: ClassVar[dict] = {
        "sets": [dict, None],
        "method": [StrOptions(set(SET_METHODS))],
        "min_size": [Interval(Integral, 2, None, closed="left")],
        "max_size": [Interval(Integral, 2, None, closed="left")],
        "prefix": [str],
    }

    def __init__(self, sets=None, method: str = "plage", min_size: int = 5, max_size: int = 500, prefix: str = ""):
        self.sets = sets
        self.method = method
        self.min_size = min_size
        self.max_size = max_size
        self.prefix = prefix

    def fit(self, G, y=None):
        """Learn the kept sets' members (and, for plage, each set's centre, loadings and scale)."""
        self._validate_params()
        if self.method not in SET_METHODS:
            raise ValueError(f"SetScores: method must be one of {', '.join(SET_METHODS)}, not '{self.method}'.")
        G = _check_frame(G, "SetScores")
        self.genes_ = pd.Index(G.columns)
        universe = set(self.genes_)
        self.members_ = {}
        for name, genes in (self.sets or {}).items():
            m = sorted({g for g in genes if g in universe})
            if self.min_size <= len(m) <= self.max_size:
                self.members_[name] = m
        if self.method != "plage":
            return self
        train = G.loc[_present(G)]
        self.center_, self.loadings_, self.scale_, self.explained_ = {}, {}, {}, {}
        for name, m in self.members_.items():
            block = train[m]
            center = block.mean(axis=0, skipna=True).fillna(0.0)
            B = (block - center).fillna(0.0).to_numpy(float)
            v, scale, explained = np.zeros(len(m)), 1.0, 0.0
            if B.shape[0] >= 2:
                _, s, vt = np.linalg.svd(B, full_matrices=False)
                total = float(np.sum(s**2))
                if total > 0 and s[0] > 0:
                    v = vt[0]
                    scores = B @ v
                    mean = B.mean(axis=1)
                    c = float(np.dot(scores - scores.mean(), mean - mean.mean()))
                    if c < 0 or (c == 0 and v.sum() < 0):
                        v = -v
                    scale = float(s[0] / np.sqrt(B.shape[0] - 1))
                    explained = float(s[0] ** 2 / total)
            self.center_[name] = center
            self.loadings_[name] = pd.Series(v, index=pd.Index(m, dtype=object))
            self.scale_[name] = scale
            self.explained_[name] = explained
        return self

    def transform(self, G):
        """Score every kept set in every sample (samples x sets)."""
        check_is_fitted(self)
        G = _check_frame(G, "SetScores")
        present = _present(G)
        names = list(self.members_)
        out = np.full((len(G), len(names)), np.nan)
        if self.method == "plage":
            for j, name in enumerate(names):
                m = self.members_[name]
                block = G.reindex(columns=m)
                B = (block - self.center_[name]).fillna(0.0).to_numpy(float)
                out[:, j] = B @ self.loadings_[name].to_numpy() / self.scale_[name]
        elif self.method == "mean":
            for j, name in enumerate(names):
                out[:, j] = G.reindex(columns=self.members_[name]).fillna(0.0).to_numpy(float).mean(axis=1)
        elif names:
            from scipy.stats import rankdata

            V = G.reindex(columns=self.genes_).fillna(0.0).to_numpy(float)
            R = rankdata(V, axis=1) if V.size else V
            n = V.shape[1]
            pos = pd.Index(self.genes_)
            for j, name in enumerate(names):
                k = len(self.members_[name])
                mean_rank = R[:, pos.get_indexer(self.members_[name])].mean(axis=1)
                low, high = (k + 1) / 2, (2 * n - k + 1) / 2
                out[:, j] = (mean_rank - low) / (high - low) - 0.5 if high > low else 0.0
        out[~present] = np.nan
        return pd.DataFrame(out, index=G.index, columns=pd.Index([f"{self.prefix}{n}" for n in names], dtype=object))


def ulm_activity(G: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Decoupler's univariate linear model: a t-value per sample and regulator.

    Per sample and regulator, the t-value of the slope of the sample's values over all genes (columns
    of ``G``) regressed, with an intercept (OLS), on the regulator's weights.

    Missing cells of a present row count as 0; rows with all values missing stay NaN. A regulator whose
    weights are constant over the genes has NaN activity; a sample whose values are constant has 0.

    Parameters
    ----------
    G : pandas.DataFrame
        Samples x genes.
    weights : pandas.DataFrame
        Genes x regulators, signed edge weights, 0 where no edge; rows are aligned to ``G``'s columns,
        genes absent from ``weights`` weighing 0.

    Returns
    -------
    pandas.DataFrame
        Samples x regulators (the columns of ``weights``).
    """
    W = weights.reindex(index=G.columns).fillna(0.0).to_numpy(float)
    present = _present(G)
    Y = G.fillna(0.0).to_numpy(float)
    p = Y.shape[1]
    Xc = W - W.mean(axis=0)
    Yc = Y - Y.mean(axis=1, keepdims=True)
    sxx = np.sum(Xc**2, axis=0)
    syy = np.sum(Yc**2, axis=1)
    sxy = Yc @ Xc
    df = p - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        r = sxy / np.sqrt(np.outer(syy, sxx))
        r = np.clip(r, -1.0, 1.0)
        t = r * np.sqrt(df / np.maximum((1.0 - r) * (1.0 + r), np.finfo(float).tiny)) if df > 0 else r * np.nan
    t[syy == 0, :] = 0.0
    t[:, sxx == 0] = np.nan
    t[~present] = np.nan
    return pd.DataFrame(t, index=G.index, columns=weights.columns.copy())


class RegulatorActivity(TransformerMixin, BaseEstimator):
    """Genes -> regulator activities (:func:`ulm_activity`) from an edge list.

    Output columns ``prefix + source``.

    Parameters
    ----------
    edges : pandas.DataFrame, optional
        Columns source, target, weight (a sign or a signed strength), as from :func:`parse_edges`;
        duplicated source-target edges have their weights averaged.
    min_targets : int
        ``fit`` keeps the regulators with at least ``min_targets`` targets (edges of non-zero weight)
        among the training columns (and weights not constant over them).
    prefix : str
        Put before each regulator's name (source) in the output columns.

    Attributes
    ----------
    genes_ : pandas.Index
        The training columns.
    weights_ : pandas.DataFrame
        ``genes_`` x kept regulators (sorted), 0 where no edge.
    """

    _parameter_constraints: ClassVar[dict] = {
        "edges": [pd.DataFrame, None],
        "min_targets": [Interval(Integral, 2, None, closed="left")],
        "prefix": [str],
    }

    def __init__(self, edges=None, min_targets: int = 5, prefix: str = ""):
        self.edges = edges
        self.min_targets = min_targets
        self.prefix = prefix

    def fit(self, G, y=None):
        """Learn the kept regulators' weights over the training columns."""
        self._validate_params()
        G = _check_frame(G, "RegulatorActivity")
        self.genes_ = pd.Index(G.columns)
        e = self.edges if self.edges is not None else pd.DataFrame(columns=["source", "target", "weight"])
        e = e[["source", "target", "weight"]].copy()
        e["weight"] = e["weight"].astype(float)
        e = e[e["target"].isin(self.genes_) & (e["weight"] != 0) & e["weight"].notna()]
        e = e.groupby(["source", "target"], sort=True, as_index=False)["weight"].mean()
        W = e.pivot(index="target", columns="source", values="weight") if len(e) else pd.DataFrame()
        W = W.reindex(index=self.genes_).fillna(0.0)
        W = W.reindex(columns=sorted(W.columns)) if W.shape[1] else pd.DataFrame(index=self.genes_, dtype=float)
        keep = [c for c in W.columns if (W[c] != 0).sum() >= self.min_targets and W[c].nunique() > 1]
        W = W[keep].astype(float)
        W.columns = pd.Index(list(W.columns), dtype=object, name=None)
        W.index.name = None
        self.weights_ = W
        return self

    def transform(self, G):
        """The kept regulators' activities in every sample (samples x regulators, :func:`ulm_activity`)."""
        check_is_fitted(self)
        G = _check_frame(G, "RegulatorActivity")
        present = _present(G)
        out = ulm_activity(G.reindex(columns=self.genes_), self.weights_)
        out.loc[~present, :] = np.nan
        out.columns = pd.Index([f"{self.prefix}{c}" for c in self.weights_.columns], dtype=object)
        return out


def _line(i: int) -> int:
    """The file's line of the table's i-th row (0-based; the header is line 1)."""
    return i + 2


def parse_edges(table: pd.DataFrame, *, path: str) -> pd.DataFrame:
    """Check a regulator edge list and return it with columns source, target, weight.

    Required columns ``source`` and ``target`` (header names compared without case or surrounding
    spaces); optional ``weight`` or ``sign`` (numbers; ``+`` and ``-`` stand for 1 and -1). Errors
    (:class:`moflow.errors.DataError`) name the file and the line (the header is line 1).

    Parameters
    ----------
    table : pandas.DataFrame
        The edge list, a TSV read elsewhere, every cell a string.
    path : str
        The file's path, for the error messages.

    Returns
    -------
    pandas.DataFrame
        Columns source, target (stripped strings) and weight (float; 1.0 without a weight column).

    Raises
    ------
    moflow.errors.DataError
        A required column is missing, both ``weight`` and ``sign`` are given, a source or target is
        blank, a weight is not a number, or a source-target pair is listed twice.
    """
    names = {str(c).strip().lower(): c for c in table.columns}
    found = ", ".join(map(str, table.columns[:10])) or "none"
    missing = [c for c in ("source", "target") if c not in names]
    if missing:
        raise DataError(
            f"{path}: the edge list has no column {' or '.join(repr(c) for c in missing)} (columns found: {found}). "
            "Give one edge per line with the regulator in a column named 'source', its target gene in 'target', "
            "and optionally a 'weight' or 'sign' column (tab-separated, with a header line)."
        )
    if "weight" in names and "sign" in names:
        raise DataError(
            f"{path}: the edge list has both a 'weight' and a 'sign' column (columns found: {found}). Keep one of them."
        )

    def text(col: str) -> pd.Series:
        return table[names[col]].astype(object).where(table[names[col]].notna(), "").astype(str).str.strip()

    source, target = text("source"), text("target")
    for col, s in (("source", source), ("target", target)):
        blank = np.flatnonzero((s == "").to_numpy())
        if len(blank):
            lines = ", ".join(str(_line(i)) for i in blank[:5]) + (" ..." if len(blank) > 5 else "")
            raise DataError(
                f"{path}, line {lines}: blank {col}. Every edge needs a source (the regulator) and "
                "a target (a gene); fill or delete the line."
            )
    wcol = "weight" if "weight" in names else "sign" if "sign" in names else None
    if wcol is None:
        weight = np.ones(len(table))
    else:
        raw = text(wcol)
        num = pd.to_numeric(raw.replace({"+": "1", "-": "-1"}), errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(num))
        if len(bad):
            i = bad[0]
            more = f" (and {len(bad) - 1} more line(s))" if len(bad) > 1 else ""
            raise DataError(
                f"{path}, line {_line(i)}: {wcol} '{raw.iloc[i]}' is not a number{more}. The {wcol} "
                "column takes numbers (signed strengths) or '+' / '-' for activation / repression."
            )
        weight = num
    pair = source + "\t" + target
    dup = np.flatnonzero(pair.duplicated().to_numpy())
    if len(dup):
        i = dup[0]
        first = int(np.flatnonzero((pair == pair.iloc[i]).to_numpy())[0])
        raise DataError(
            f"{path}, lines {_line(first)} and {_line(i)}: the edge {source.iloc[i]} -> {target.iloc[i]} "
            "is listed twice. Keep one line per source-target pair."
        )
    return pd.DataFrame({"source": source.to_numpy(), "target": target.to_numpy(), "weight": np.asarray(weight, float)})
