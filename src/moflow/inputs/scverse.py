"""scverse containers (AnnData ``.h5ad``, MuData ``.h5mu``) as moflow's tables, and back.

Reading the files happens in :mod:`moflow.io`; here the objects it read become what the TSV route
gives: ``obs`` a sample sheet of strings (:func:`obs_to_sheet`), an AnnData's matrix a numeric
samples x features frame (:func:`anndata_frame`), ``var`` an annotation table with a ``feature``
column (:func:`var_to_annotation`). Every later stage sees the same objects whichever route the cohort
came by. The other way, :mod:`moflow.export.h5mu` builds ``results/moflow.h5mu``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from moflow.errors import DataError
from moflow.wording import did_you_mean, listing

ANNDATA_SUFFIXES = (".h5ad", ".h5mu")


def anndata_suffix(path) -> str:
    """``.h5mu`` or ``.h5ad`` when ``path`` names such a file (case ignored), else ""."""
    suffix = Path(str(path)).suffix.lower()
    return suffix if suffix in ANNDATA_SUFFIXES else ""


def source_label(path: str, *, modality: str = "", anndata_layer: str = "") -> str:
    """How messages name a layer read from an AnnData or MuData file: file, modality and AnnData layer.

    For example ``data/cohort.h5mu (modality 'rna', layers['counts'])``; the path alone when neither
    ``modality`` nor ``anndata_layer`` is given.
    """
    parts = ([f"modality '{modality}'"] if modality else []) + ([f"layers['{anndata_layer}']"] if anndata_layer else [])
    return f"{path} ({', '.join(parts)})" if parts else str(path)


def _as_strings(col: pd.Series) -> pd.Series:
    """One ``obs`` column as the sheet's strings.

    Missing values empty; booleans true/false; a float column whose values are all whole numbers
    (pandas' type for integers with gaps) as integers; other numbers in their shortest round-trip
    form (0.1, not 0.10000000000000001).
    """
    values = col.astype(object)
    missing = pd.isna(values).to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype):
        out = np.where(col.to_numpy(), "true", "false").astype(object)
    elif pd.api.types.is_float_dtype(col.dtype):
        x = col.to_numpy(float)
        whole = np.all(np.isnan(x) | (np.isfinite(x) & (x == np.round(x))))
        out = np.array([("" if np.isnan(v) else (str(int(v)) if whole else repr(float(v)))) for v in x], object)
    else:
        out = np.array([("true" if v is True else "false" if v is False else str(v)) for v in values], object)
    out[missing] = ""
    return pd.Series(out, index=col.index, dtype=object)


def obs_to_sheet(obs: pd.DataFrame, *, path: str) -> pd.DataFrame:
    """A MuData's (or AnnData's) ``obs`` as the sample sheet :func:`moflow.io.read_sheet` gives.

    A ``sample`` column from ``obs_names`` first, every other column as strings (:func:`_as_strings`).
    ``attrs["lines"]`` numbers the samples from 1 in ``obs`` order, which messages call rows. ``path``
    names the file in messages.

    An ``obs`` column named ``sample`` must repeat ``obs_names`` (it is then dropped): the obs names
    are the sample IDs, and a second, different ID column would be ambiguous.
    """
    ids = pd.Index(obs.index).astype(str)
    sheet = pd.DataFrame({"sample": np.asarray(ids, dtype=object)})
    for name in obs.columns:
        col = obs[name]
        if str(name) == "sample":
            other = _as_strings(col).to_numpy()
            differ = np.flatnonzero(other != np.asarray(ids, dtype=object))
            if len(differ):
                i = differ[0]
                raise DataError(
                    f"{path}: obs column 'sample' differs from the obs names (row {i + 1}: '{other[i]}' against "
                    f"'{ids[i]}'; {len(differ)} such row(s)). The obs names are the sample IDs (as in every "
                    "modality): rename or drop the 'sample' column, or make it the obs names "
                    "(mdata.obs_names = mdata.obs['sample'])."
                )
            continue
        sheet[str(name)] = _as_strings(col).to_numpy()
    sheet.attrs["lines"] = list(range(1, len(sheet) + 1))
    return sheet


def anndata_frame(adata, *, path: str, anndata_layer: str = "") -> pd.DataFrame:
    """An AnnData's ``X`` (or ``layers[anndata_layer]``) as a samples (obs) x features (var) frame of numbers.

    Sparse matrices become dense (implicit zeros are zeros), booleans 0/1; missing values stay
    missing. The values are checked later (:func:`moflow.inputs.matrices.parse_matrix`), as a text
    matrix's are.

    Parameters
    ----------
    adata : anndata.AnnData
        The AnnData (or one MuData modality).
    path : str
        Names the source in messages (:func:`source_label`).
    anndata_layer : str
        The layer of ``adata.layers`` to read (empty: ``X``).

    Returns
    -------
    pandas.DataFrame
        Floats, obs names as the index and var names as the columns (strings).
    """
    from scipy import sparse

    if anndata_layer:
        if anndata_layer not in adata.layers:
            keys = list(adata.layers.keys())
            raise DataError(
                f"{path}: has no AnnData layer '{anndata_layer}' (layers: {listing(keys) or 'none'})."
                f"{did_you_mean(anndata_layer, keys)} Name one of them in the omics sheet's anndata_layer column, or "
                "leave it empty to use X."
            )
        X = adata.layers[anndata_layer]
    else:
        X = adata.X
        if X is None:
            raise DataError(
                f"{path}: X is empty (None). Store the matrix in X, or name the AnnData layer that holds "
                "it in the omics sheet's anndata_layer column."
            )
    if sparse.issparse(X):
        X = X.toarray()
    X = np.asarray(X)
    if X.dtype == bool:
        X = X.astype(float)
    if not np.issubdtype(X.dtype, np.number):
        raise DataError(
            f"{path}: the matrix holds {X.dtype} values, not numbers. Store numbers (NaN for a missing value)."
        )
    return pd.DataFrame(
        X.astype(float, copy=False),
        index=pd.Index(adata.obs_names).astype(str),
        columns=pd.Index(adata.var_names).astype(str),
    )


def var_to_annotation(var: pd.DataFrame, *, path: str) -> pd.DataFrame:
    """A modality's ``var`` as an annotation table (what :func:`moflow.io.read_annotation` gives for a text file).

    A ``feature`` column from ``var_names`` first, every other column as strings. Config
    ``enrichment: layers: <layer>: gene_column`` then names the column of gene symbols. A ``var``
    column named ``feature`` must repeat the var names (it is then dropped); ``path`` names the file
    in messages.
    """
    ids = pd.Index(var.index).astype(str)
    table = pd.DataFrame({"feature": np.asarray(ids, dtype=object)})
    for name in var.columns:
        values = _as_strings(var[name]).to_numpy()
        if str(name) == "feature":
            if (values != np.asarray(ids, dtype=object)).any():
                raise DataError(
                    f"{path}: var column 'feature' differs from the var names; the annotation's "
                    "'feature' column is the var names. Rename that var column."
                )
            continue
        table[str(name)] = values
    return table
