"""Features -> genes, per layer: :class:`GeneMap`, built from an annotation table or the omics sheet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from moflow.errors import InputError
from moflow.settings import EnrichmentLayer

ONE_TO_MANY = ("expand", "first", "drop")
MANY_TO_ONE = ("max_abs", "mean")


@dataclass(frozen=True)
class GeneMap:
    """How one layer's features become genes.

    ``pairs`` (columns feature, gene) lists every feature-gene link after the one-to-many rule;
    ``None`` means the features are genes already. ``many_to_one`` says how the scores of several
    features of one gene become the gene's score: ``max_abs`` (the score with the largest absolute
    value, sign kept) or ``mean``.

    Parameters
    ----------
    layer : str
        The layer.
    pairs : pandas.DataFrame, optional
        Feature-gene links (columns feature, gene); None: the features are genes.
    many_to_one : str
        ``max_abs`` or ``mean`` (:data:`MANY_TO_ONE`).
    source : str
        Where the map comes from (the annotation file's path).
    """

    layer: str
    pairs: pd.DataFrame | None = None
    many_to_one: str = "max_abs"
    source: str = ""

    @classmethod
    def identity(cls, layer: str) -> GeneMap:
        """The map of a layer whose features are genes already."""
        return cls(layer=layer)

    @property
    def is_identity(self) -> bool:
        """Whether the features are genes already (no ``pairs``)."""
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
        """A samples x features matrix -> samples x genes.

        Each gene gets the mean of its standardized features (missing cells count as the feature's
        mean). Used for inter-gene correlations.
        """
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


def gene_map_from_annotation(
    annotation: pd.DataFrame,
    *,
    layer: str,
    path: str,
    feature_column: str = "feature",
    gene_column: str = "gene",
    separator: str = ";",
    one_to_many: str = "expand",
    many_to_one: str = "max_abs",
    features=None,
) -> GeneMap:
    """Build a :class:`GeneMap` from an annotation table (every cell a string).

    One row per feature (several rows of one feature are merged); the gene column may list several
    genes separated by ``separator`` (protein groups ``'A;B'``, CpG probes annotated to several
    genes). ``one_to_many``: ``expand`` (the feature counts for every gene), ``first`` (the first
    gene listed, as for MaxQuant's leading gene) or ``drop`` (features of several genes are left
    out). ``features``: the layer's features, to check that the annotation describes them.

    Parameters
    ----------
    annotation : pandas.DataFrame
        The annotation table.
    layer : str
        The layer (in error messages and the map).
    path : str
        The annotation file (in error messages; the map's ``source``).
    feature_column, gene_column : str
        The columns of the feature IDs and of the genes.
    separator : str
        Separates several genes in one cell.
    one_to_many : str
        ``expand``, ``first`` or ``drop`` (:data:`ONE_TO_MANY`).
    many_to_one : str
        ``max_abs`` or ``mean`` (:data:`MANY_TO_ONE`).
    features : list-like, optional
        The layer's features; none of them with a gene raises InputError.

    Returns
    -------
    GeneMap
        The layer's map.
    """
    if one_to_many not in ONE_TO_MANY:
        raise InputError(
            f"{path}: one_to_many for layer '{layer}' must be one of {', '.join(ONE_TO_MANY)}, not '{one_to_many}'."
        )
    if many_to_one not in MANY_TO_ONE:
        raise InputError(
            f"{path}: many_to_one for layer '{layer}' must be one of {', '.join(MANY_TO_ONE)}, not '{many_to_one}'."
        )
    missing = [c for c in (feature_column, gene_column) if c not in annotation.columns]
    if missing:
        raise InputError(
            f"{path}: annotation of layer '{layer}' has no column {' or '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(map(str, annotation.columns[:10]))}). Set feature_column and gene_column under "
            f"enrichment: layers: {layer}."
        )
    a = pd.DataFrame(
        {
            "feature": annotation[feature_column].astype(str).str.strip(),
            "genes": annotation[gene_column].fillna("").astype(str),
        }
    )
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


def build_gene_maps(
    omics: pd.DataFrame,
    layer_settings: Mapping[str, EnrichmentLayer],
    annotations: dict[str, pd.DataFrame],
    *,
    features: dict[str, list] | None = None,
) -> dict[str, GeneMap]:
    """One :class:`GeneMap` per layer that has genes.

    Gene-symbol layers (omics sheet ``gene_ids``) map to themselves, layers with an ``annotation`` in
    config through it.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet (columns ``layer``, optionally ``gene_ids``).
    layer_settings : mapping of str to EnrichmentLayer
        Config ``enrichment: layers``.
    annotations : dict of str to pandas.DataFrame
        Layer -> the annotation table read by :func:`moflow.io.read_annotation`.
    features : dict of str to list, optional
        Layer -> its features, checked against its annotation.

    Returns
    -------
    dict of str to GeneMap
        Layer -> map; layers without genes are left out.
    """
    maps = {}
    symbol = (
        set(omics.loc[omics["gene_ids"].astype(str).str.strip() == "symbol", "layer"])
        if "gene_ids" in omics.columns
        else set()
    )
    for layer in omics["layer"]:
        s = layer_settings[layer] if layer in layer_settings else None
        if s is not None and s.annotation:
            maps[layer] = gene_map_from_annotation(
                annotations[layer],
                layer=layer,
                path=s.annotation,
                feature_column=s.feature_column,
                gene_column=s.gene_column,
                separator=s.separator,
                one_to_many=s.one_to_many,
                many_to_one=s.many_to_one,
                features=(features or {}).get(layer),
            )
        elif layer in symbol:
            maps[layer] = GeneMap.identity(layer)
    return maps
