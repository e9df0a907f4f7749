"""AnnData (``.h5ad``) and MuData (``.h5mu``) files, read with anndata / mudata.

A sample sheet from the ``obs``, a matrix from ``X`` or a layer, one element such as a modality's
``var``; turned into tables by :mod:`moflow.inputs.scverse`. MuData is written with mudata's own
writer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moflow.accounting import phase
from moflow.errors import DataError
from moflow.io.atomic import atomic_write
from moflow.io.raw_text import file_suffix


def _h5(path: Path, fn):
    """``fn(h5py file)`` on an AnnData / MuData file opened read-only; an unreadable file is a DataError."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return fn(f)
    except OSError as exc:
        raise DataError(
            f"{path}: cannot be read as an HDF5 {file_suffix(path)} file ({exc}). Is the file complete (a "
            "copy cut short?)? Write it again with mudata's write_h5mu / anndata's write_h5ad."
        ) from None


def read_h5_element(path: Path, key: str):
    """One element (``obs``, ``mod/<modality>/var``) read by anndata's element reader, matrices left on disk."""
    from anndata.io import read_elem

    def read(f):
        if key not in f:
            raise DataError(
                f"{path}: has no '{key}' element: is it really a MuData / AnnData file? Write it with "
                "mudata's write_h5mu or anndata's write_h5ad."
            )
        return read_elem(f[key])

    return _h5(path, read)


def check_modality(path: Path, modality: str) -> str:
    """``modality`` when the MuData file has it; else a DataError listing the modalities."""
    from moflow.wording import did_you_mean, listing

    mods = _h5(path, lambda f: list(f["mod"].keys()) if "mod" in f else [])
    if modality not in mods:
        raise DataError(
            f"{path}: has no modality '{modality}' (modalities: {listing(mods, 10) or 'none'})."
            f"{did_you_mean(modality, mods)} Name it in the omics sheet's modality column (empty: the layer's "
            "name)."
        )
    return modality


@phase("read")
def read_obs_sheet(path: str | Path) -> pd.DataFrame:
    """The sample sheet of a MuData ``.h5mu`` (or AnnData ``.h5ad``) file: its ``obs``.

    The obs names become column ``sample`` and every cell a string
    (:func:`moflow.inputs.scverse.obs_to_sheet`).
    """
    from moflow.inputs import obs_to_sheet

    return obs_to_sheet(read_h5_element(Path(path), "obs"), path=str(path))


@phase("read")
def read_anndata_matrix(
    path: str | Path, *, modality: str = "", anndata_layer: str = "", layer: str = ""
) -> pd.DataFrame:
    """A matrix of an AnnData ``.h5ad`` or of one modality of a MuData ``.h5mu``, as samples x features.

    Parameters
    ----------
    path : str or Path
        The ``.h5ad`` or ``.h5mu`` file.
    modality : str
        The MuData modality (empty: named as ``layer``); ignored for ``.h5ad``.
    anndata_layer : str
        Read ``layers[anndata_layer]`` instead of ``X`` (empty: ``X``).
    layer : str
        The workflow layer, the default modality.

    Returns
    -------
    pandas.DataFrame
        Samples x features numbers (:func:`moflow.inputs.scverse.anndata_frame`).
    """
    import anndata
    import mudata

    from moflow.inputs import anndata_frame, source_label

    path = Path(path)
    h5mu = file_suffix(path) == ".h5mu"
    modality = check_modality(path, modality or layer) if h5mu else ""
    try:
        adata = mudata.read_h5ad(str(path), modality) if h5mu else anndata.read_h5ad(path)
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"{path}: cannot be read as {'MuData' if h5mu else 'AnnData'} ({type(exc).__name__}: {exc}). "
            "Write it again with mudata / anndata."
        ) from None
    return anndata_frame(
        adata, path=source_label(str(path), modality=modality, anndata_layer=anndata_layer), anndata_layer=anndata_layer
    )


@phase("write")
def write_mudata(mdata, path: str | Path) -> None:
    """Write a MuData object as ``.h5mu`` (mudata's own writer), whole or not at all.

    Written under a temporary name and renamed into place (:func:`moflow.io.atomic.atomic_write`); a full
    disk or a read-only folder is a one-line :class:`~moflow.io.atomic.WriteError`.
    """
    with atomic_write(path) as tmp:
        mdata.write_h5mu(str(tmp))
