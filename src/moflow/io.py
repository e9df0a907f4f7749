"""All file reading and writing of the package lives here.

Every other module takes and returns in-memory objects (DataFrames, arrays, estimators).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def read_raw_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table with every cell as a string (first column = row IDs).

    Nothing is coerced here; :func:`moflow.validate.parse_matrix` checks and converts.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found. Check the 'path' column of the omics sheet.")
    suffix = _suffix(path)
    if suffix == ".parquet":
        df = pd.read_parquet(path)
        if df.index.name is None and df.columns.size and not pd.api.types.is_numeric_dtype(df.iloc[:, 0]):
            df = df.set_index(df.columns[0])
        df.index = df.index.astype(str)
        df.columns = df.columns.astype(str)
        return df
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"{path}: unknown matrix format '{suffix}'. Use .csv, .tsv, .txt (tab-separated) "
            "or .parquet, optionally gzip-compressed."
        )
    # header=None: pandas would silently rename duplicated column names ('X' -> 'X.1')
    try:
        df = pd.read_csv(
            path,
            sep=TABLE_SUFFIXES[suffix],
            dtype=str,
            header=None,
            keep_default_na=False,
            na_values=[],
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: rows have different numbers of fields ({exc}). Every row needs one ID and one value per "
            "column; a header one field short (as R's write.table writes it) needs an empty first field."
        ) from None
    if df.shape[0] < 1:
        raise InputError(f"{path}: the file is empty.")
    short = df.isna().any(axis=1).to_numpy()
    if short.any():
        r = int(np.flatnonzero(short)[0])
        raise InputError(
            f"{path}: line {r + 1} has fewer fields than the header ({int(df.iloc[r].notna().sum())} vs "
            f"{df.shape[1]}). Write NA for missing values instead of leaving fields out."
        )
    header = df.iloc[0, 1:].astype(str).str.strip().tolist()
    df = df.iloc[1:].set_index(0)
    df.columns = header
    df.index = df.index.astype(str).str.strip()
    df.index.name = None
    return df


def read_sheet(path: str | Path) -> pd.DataFrame:
    """Read a tab-separated sheet (samples.tsv, omics.tsv) with every column as string."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: sheet not found. Check the config entry that names it.")
    from io import StringIO

    # whole-line comments are skipped; '#' inside a value (plate#1) is data
    text = "".join(line for line in path.read_text().splitlines(keepends=True) if not line.startswith("#"))
    try:
        df = pd.read_csv(StringIO(text), sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a tab-separated sheet ({exc}).") from None
    df.columns = [c.strip() for c in df.columns]
    return df


def write_matrix(df: pd.DataFrame, path: str | Path) -> None:
    """Write a samples x features matrix (or any numeric frame) as Parquet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = df.copy()
    out.index = out.index.astype(str)
    out.columns = out.columns.astype(str)
    if out.index.name is None:
        out.index.name = "sample"
    out.to_parquet(path)


def read_matrix(path: str | Path) -> pd.DataFrame:
    """Read a Parquet matrix written by :func:`write_matrix`."""
    return pd.read_parquet(path)


def write_table(df: pd.DataFrame, path: str | Path, *, index: bool = False) -> None:
    """Write a results table as TSV with a fixed float format (byte-identical reruns)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=index, float_format="%.6g", lineterminator="\n")


ID_COLUMNS = ("sample", "feature")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a results table written by :func:`write_table`; ID columns (sample, feature) stay strings
    (IDs such as 0001 or 1e5 are not numbers)."""
    return pd.read_csv(path, sep="\t", dtype={c: str for c in ID_COLUMNS})


class LazyTables(Mapping):
    """{name: raw table} read from {name: path} on access (one matrix in memory at a time)."""

    def __init__(self, paths: Mapping[str, str]):
        self._paths = dict(paths)

    def __getitem__(self, name):
        return read_raw_table(self._paths[name])

    def __iter__(self):
        return iter(self._paths)

    def __len__(self):
        return len(self._paths)


def write_outputs(outputs: Mapping, paths) -> None:
    """Write a task's outputs to the rule's output files, by output name and file type: ``.parquet``
    matrices, ``.tsv`` tables, ``.png``/``.hdf5`` bytes, ``.html`` text, ``.json`` objects. Every
    output of the rule must be given, and nothing else."""
    names = list(paths.keys())
    missing, extra = set(names) - set(outputs), set(outputs) - set(names)
    if missing or extra:
        raise ValueError(f"write_outputs: outputs {sorted(missing)} not produced, {sorted(extra)} not declared")
    for name in names:
        value, path = outputs[name], paths[name]
        if not isinstance(path, (str, Path)):  # several files under one name: one value each
            for v, p in zip(value, path, strict=True):
                write_outputs({"x": v}, {"x": p})
            continue
        path = str(path)
        if path.endswith(".parquet"):
            write_matrix(value, path)
        elif path.endswith(".tsv"):
            write_table(value, path)
        elif path.endswith(".json"):
            write_json(value, path)
        elif isinstance(value, bytes):
            write_bytes(value, path)
        elif isinstance(value, str):
            write_text(value, path)
        elif hasattr(value, "save"):  # a fitted model that writes its own format (MOFA's HDF5)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            value.save(path)
        else:
            raise ValueError(f"write_outputs: cannot write {type(value).__name__} to {path}")


def write_json(obj, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def _default(o):
        if isinstance(o, (np.integer,)):
            return int(o)
        if isinstance(o, (np.floating,)):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(type(o))

    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_default) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def read_gmt_lines(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{path}: gene-set file not found. Gene sets are read from local GMT files only; "
            "name an existing file in config 'enrichment: gene_sets'."
        )
    return path.read_text().splitlines()


def write_gmt(gene_sets: dict[str, list[str]], path: str | Path, *, descriptions: dict | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptions = descriptions or {}
    lines = [
        "\t".join([name, descriptions.get(name, "NA"), *genes]) for name, genes in gene_sets.items()
    ]
    path.write_text("\n".join(lines) + "\n")


def read_annotation(path: str | Path) -> pd.DataFrame:
    """Read a feature annotation table (CSV, TSV or TXT, optionally gzipped; a header row) with every
    cell as a string."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: annotation file not found. Check config 'enrichment: layers: <layer>: annotation'.")
    suffix = _suffix(path)
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"{path}: unknown annotation format '{suffix}'. Use .csv, .tsv or .txt (tab-separated).")
    try:
        return pd.read_csv(path, sep=TABLE_SUFFIXES[suffix], dtype=str, keep_default_na=False, na_values=[])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a table with a header row ({exc}).") from None


def read_enrichment_files(settings) -> tuple[dict[str, list[str]], dict[str, pd.DataFrame]]:
    """Every file config ``enrichment`` names (``settings``: :class:`moflow.settings.Enrichment`):
    {path: GMT lines} of the gene-set collections and of the layers' own feature sets, and
    {layer: annotation table} of layers mapped to genes."""
    paths = list(settings.gene_sets.values())
    for cfg in settings.layers.values():
        paths += list(cfg.feature_sets.values())
    gmts = {p: read_gmt_lines(p) for p in dict.fromkeys(paths)}
    annotations = {layer: read_annotation(cfg.annotation) for layer, cfg in settings.layers.items() if cfg.annotation}
    return gmts, annotations


def write_text(text: str, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def save_pickle(obj, path: str | Path) -> None:
    import pickle

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_pickle(path: str | Path):
    import pickle

    with open(path, "rb") as fh:
        return pickle.load(fh)


def open_log(path: str | Path):
    """A logging handler writing to ``path`` (created with its folder)."""
    import logging

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.FileHandler(path, mode="w")


def write_demo_cohort(cohort, paths: dict) -> None:
    """Write the simulated cohort the way users' files come: RNA counts as a features x samples TSV,
    proteomics (log2) as a samples x features CSV with NA, metabolomics (with QC injections) as a
    samples x features Parquet, the sample sheet, the gene sets and the ground truth."""
    for p in paths.values():
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    rna = cohort.layers["rna"].T
    rna.index.name = "gene"
    rna.to_csv(paths["rna"], sep="\t", lineterminator="\n")
    prot = cohort.layers["protein"].copy()
    prot.index.name = "sample"
    prot.to_csv(paths["protein"], na_rep="NA", float_format="%.4f", lineterminator="\n")
    write_matrix(cohort.layers["metabolomics"], paths["metabolomics"])
    cohort.sheet.to_csv(paths["samples"], sep="\t", index=False, lineterminator="\n")
    write_gmt(cohort.gene_sets, paths["gene_sets"])
    write_table(cohort.factors.reset_index(), paths["factors"])
    write_table(cohort.loadings, paths["loadings"])
    write_table(cohort.gene_set_truth, paths["gene_set_truth"])


def read_bytes(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def write_bytes(data: bytes, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def sha256(path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
