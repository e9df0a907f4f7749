"""Files other than matrices, tables and AnnData / MuData.

JSON, GMT gene sets, feature annotation tables (and every file config ``enrichment`` names), text,
bytes, pickles, log files, checksums, and the git commit of a checkout.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from moflow.accounting import phase
from moflow.errors import ConfigError, DataError
from moflow.io.atomic import atomic_write, write_error
from moflow.io.raw_text import ANNDATA_SUFFIXES, TABLE_SUFFIXES, check_field_counts, decode_file, file_suffix
from moflow.io.scverse_files import check_modality, read_h5_element


@phase("write")
def write_json(obj, path: str | Path) -> None:
    """Write ``obj`` as indented JSON, keys sorted, numpy numbers and arrays as plain ones (folder created).

    Written whole or not at all (:func:`atomic_write`).
    """

    def _default(o):
        if isinstance(o, (np.integer,)):
            return int(o)
        if isinstance(o, (np.floating,)):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(type(o))

    text = json.dumps(obj, indent=2, sort_keys=True, default=_default) + "\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text)


@phase("read")
def read_json(path: str | Path):
    """The object a JSON file holds."""
    return json.loads(Path(path).read_text())


@phase("read")
def read_gmt_lines(path: str | Path) -> list[str]:
    """The lines of a GMT file (optionally gzipped).

    A missing file is a ConfigError, an unreadable one (truncated gzip, not UTF-8) a DataError.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"{path}: gene-set file not found. Gene sets are read from local GMT files only; "
            "name an existing file in config 'enrichment: gene_sets'."
        )
    return decode_file(path, "gene-set file")[1].splitlines()


@phase("write")
def write_gmt(gene_sets: dict[str, list[str]], path: str | Path, *, descriptions: dict | None = None) -> None:
    """Write gene sets as a GMT file, creating the folder (whole or not at all: :func:`atomic_write`).

    Parameters
    ----------
    gene_sets : dict of str to list of str
        Set name -> its genes, one line each, in this order.
    path : str or Path
        The file written.
    descriptions : dict, optional
        Set name -> the description column; ``NA`` where a set has none.
    """
    descriptions = descriptions or {}
    lines = ["\t".join([name, descriptions.get(name, "NA"), *genes]) for name, genes in gene_sets.items()]
    with atomic_write(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


@phase("read")
def read_annotation(path: str | Path, *, modality: str = "") -> pd.DataFrame:
    """Read a feature annotation table (CSV, TSV or TXT, optionally gzipped; a header row), every cell a string.

    An AnnData ``.h5ad``, or a MuData ``.h5mu`` with the ``modality``, gives its ``var``
    (:func:`moflow.inputs.scverse.var_to_annotation`: column ``feature`` = the var names).

    Parameters
    ----------
    path : str or Path
        The table, ``.h5ad`` or ``.h5mu`` file; a missing file or an unknown format is a ConfigError.
    modality : str
        The MuData modality whose ``var`` is read (``.h5mu`` only).

    Returns
    -------
    pandas.DataFrame
        The table as strings (no value read as missing).
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: annotation file not found. Check config 'enrichment: layers: <layer>: annotation'.")
    suffix = file_suffix(path)
    if suffix in ANNDATA_SUFFIXES:
        from moflow.inputs import source_label, var_to_annotation

        key = f"mod/{check_modality(path, modality)}/var" if suffix == ".h5mu" else "var"
        return var_to_annotation(read_h5_element(path, key), path=source_label(str(path), modality=modality))
    if suffix not in TABLE_SUFFIXES:
        raise ConfigError(f"{path}: unknown annotation format '{suffix}'. Use .csv, .tsv or .txt (tab-separated).")
    data, text = decode_file(path, "annotation table")
    check_field_counts(text, TABLE_SUFFIXES[suffix], path, row_ids=False)
    from io import BytesIO

    try:
        return pd.read_csv(
            BytesIO(data),
            sep=TABLE_SUFFIXES[suffix],
            dtype=str,
            keep_default_na=False,
            na_values=[],
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot be read as a table with a header row ({exc}).") from None


def enrichment_paths(settings) -> list[str]:
    """Every file config ``enrichment`` names (``settings``: :class:`moflow.settings.Enrichment`).

    The gene-set GMTs, the layers' feature-set GMTs and their annotation tables, each once.
    """
    paths = list(settings.gene_sets.values())
    for cfg in settings.layers.values():
        paths += list(cfg.feature_sets.values())
        if cfg.annotation:
            paths.append(cfg.annotation)
    return list(dict.fromkeys(str(p) for p in paths))


def read_enrichment_files(
    settings, omics: pd.DataFrame | None = None
) -> tuple[dict[str, list[str]], dict[str, pd.DataFrame]]:
    """Read every file config ``enrichment`` names.

    Parameters
    ----------
    settings : moflow.settings.Enrichment
        The ``enrichment`` section.
    omics : pandas.DataFrame, optional
        The omics sheet: a MuData annotation gives the ``var`` of the modality it names for the layer,
        else of the modality named as the layer.

    Returns
    -------
    gmts : dict of str to list of str
        {path: GMT lines} of the gene-set collections and the layers' own feature sets.
    annotations : dict of str to pandas.DataFrame
        {layer: annotation table} of layers mapped to genes.
    """
    from moflow.inputs import anndata_sources

    paths = list(settings.gene_sets.values())
    for cfg in settings.layers.values():
        paths += list(cfg.feature_sets.values())
    gmts = {p: read_gmt_lines(p) for p in dict.fromkeys(paths)}
    sources = anndata_sources(omics) if omics is not None else {}
    annotations = {
        layer: read_annotation(cfg.annotation, modality=sources.get(layer, {}).get("modality") or layer)
        for layer, cfg in settings.layers.items()
        if cfg.annotation
    }
    return gmts, annotations


@phase("write")
def write_text(text: str, path: str | Path) -> None:
    """Write ``text`` to ``path``, creating the folder (whole or not at all: :func:`atomic_write`)."""
    with atomic_write(path) as tmp:
        tmp.write_text(text)


@phase("write")
def save_pickle(obj, path: str | Path) -> None:
    """Pickle ``obj`` to ``path`` (highest protocol), creating the folder (whole or not at all: see atomic_write)."""
    import pickle

    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


@phase("read")
def load_pickle(path: str | Path):
    """The object pickled in ``path``."""
    import pickle

    with open(path, "rb") as fh:
        return pickle.load(fh)


def open_log(path: str | Path):
    """A logging handler writing to ``path`` (created with its folder).

    A log grows while the job runs, so it is written in place; a folder or file that cannot be written
    is a one-line :class:`WriteError`.
    """
    import logging

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return logging.FileHandler(path, mode="w")
    except OSError as exc:
        raise write_error(path, exc) from exc


@phase("read")
def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file."""
    return Path(path).read_bytes()


@phase("write")
def write_bytes(data: bytes, path: str | Path) -> None:
    """Write ``data`` to ``path``, creating the folder (whole or not at all: :func:`atomic_write`)."""
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def git_commit(folder: str | Path) -> str:
    """The commit checked out in the git checkout holding ``folder``, or "unknown" outside a git checkout.

    Read from .git/HEAD, the ref files and packed-refs; git itself is not called.
    """
    folder = Path(folder).resolve()
    for d in (folder, *folder.parents):
        git = d / ".git"
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = git.read_text().strip()
            if not text.startswith("gitdir:"):
                return "unknown"
            git = (d / text.split(":", 1)[1].strip()).resolve()
        if not git.is_dir():
            continue
        try:
            head = (git / "HEAD").read_text().strip()
            if not head.startswith("ref:"):
                return head or "unknown"
            ref = head.split(":", 1)[1].strip()
            common = git
            if (git / "commondir").exists():  # worktrees keep refs in the main repository
                common = (git / (git / "commondir").read_text().strip()).resolve()
            for base in (git, common):
                if (base / ref).is_file():
                    return (base / ref).read_text().strip()
            for base in (git, common):
                packed = base / "packed-refs"
                if packed.is_file():
                    for line in packed.read_text().splitlines():
                        parts = line.split()
                        if len(parts) == 2 and parts[1] == ref:
                            return parts[0]
        except OSError:
            pass
        return "unknown"
    return "unknown"


def sha256(path: str | Path) -> str:
    """The SHA-256 checksum of a file, as hex digits (read in 1 MiB chunks)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
