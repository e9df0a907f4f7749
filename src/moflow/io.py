"""All file reading and writing of the package lives here.

Every other module takes and returns in-memory objects (DataFrames, arrays, estimators).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from moflow.accounting import phase
from moflow.errors import ConfigError, DataError

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
ANNDATA_SUFFIXES = (".h5ad", ".h5mu")  # AnnData, MuData (moflow.inputs.scverse turns them into tables)


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_text(path: Path, what: str = "file") -> tuple[bytes, str]:
    """The file's bytes and text: gzip-decompressed when it ends in .gz, decoded as UTF-8 (a byte-order mark is
    dropped). A truncated or corrupt gzip stream or bytes that are not UTF-8 raise DataError naming
    the file (and the line)."""
    import gzip
    import zlib

    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except gzip.BadGzipFile as exc:
        raise DataError(
            f"{path}: ends in .gz but is not gzip data ({exc}). Compress it with gzip, or drop '.gz' from its "
            "name (and from the sheet that names it)."
        ) from None
    except (EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: the gzip-compressed {what} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            "The copy was probably cut short: copy or download it again (check with 'gzip -t')."
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from None
    try:
        return data, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text. Save the {what} as UTF-8 "
            "(e.g. 'CSV UTF-8' in Excel, or iconv -f latin1 -t utf-8)."
        ) from None


def _check_fields(text: str, sep: str, path, *, line_numbers: list[int] | None = None,
                  row_ids: bool = True) -> tuple[list[str], int]:
    """Stop at the first ragged row: every data row must have as many fields as the header.

    ``line_numbers``: the file line of each line of ``text`` (when lines were dropped before, such as
    comments); ``row_ids``: the first column holds row IDs (a matrix), so a header one field short is
    R's write.table format. Returns (header fields, file line of the header)."""
    import csv
    from io import StringIO

    def line_of(n: int) -> int:
        return line_numbers[n - 1] if line_numbers and n - 1 < len(line_numbers) else n

    if '"' in text:  # quoted values may hold the separator or line breaks: a real CSV reader
        reader = csv.reader(StringIO(text), delimiter=sep)
        records = ((reader.line_num, fields) for fields in reader
                   if fields and not (len(fields) == 1 and not fields[0].strip()))
        counted = ((num, len(fields), fields) for num, fields in records)
    else:  # fast path (no quotes): a line has one field more than separators
        counted = ((num, line.count(sep) + 1, line) for num, line in enumerate(text.split("\n"), start=1)
                   if line.strip())
    header, header_line = None, 0
    n_rows, n_bad, bad, all_one_more = 0, 0, [], True
    for num, k, fields in counted:
        if header is None:
            header = fields if isinstance(fields, list) else fields.rstrip("\r").split(sep)
            header_line = line_of(num)
            continue
        n_rows += 1
        all_one_more = all_one_more and k == len(header) + 1
        if k != len(header):
            n_bad += 1
            if len(bad) < 7:
                bad.append((line_of(num), k))
            elif not all_one_more:
                break
    if header is None or not n_bad:
        return header or [], header_line
    name = "tab" if sep == "\t" else f"'{sep}'"
    if row_ids and all_one_more and n_bad == n_rows:
        raise DataError(
            f"{path}: the header (line {header_line}) has {len(header)} fields but every data row has "
            f"{len(header) + 1}: the header lacks the field above the row IDs (as R's write.table writes it). "
            f"Add an empty first field (a leading {name}) to the header, or write the file with row names."
        )
    n, k = bad[0]
    more = k > len(header)
    others = ", ".join(str(m) for m, _ in bad[1:6])
    also = f" (also line(s) {others}{' and more' if n_bad > 6 else ''})" if others else ""
    fix = (f"A value holding the separator ({name}) must be quoted, and a line must not end with an extra "
           "separator: remove the extra field(s) or add the missing column name to the header." if more else
           "Nothing is padded: write NA for a missing value instead of leaving fields out.")
    raise DataError(
        f"{path}, line {n}: {k} field(s) where the header (line {header_line}) has {len(header)}, a row with "
        f"{'more' if more else 'fewer'} fields than the header{also}. {fix}"
    )


@phase("read")
def read_raw_table(path: str | Path, *, modality: str = "", anndata_layer: str = "",
                   layer: str = "") -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table with every cell as a string (first column = row IDs), or the
    matrix of an AnnData (``.h5ad``) or of one MuData modality (``.h5mu``, ``modality``) as numbers
    (:func:`read_anndata_matrix`; ``anndata_layer``: one of its ``layers`` instead of ``X``).

    Nothing is coerced here; :func:`moflow.inputs.checks.parse_matrix` checks and converts. A row with more
    or fewer fields than the header, a truncated gzip stream, an unreadable Parquet file or a file
    that is not UTF-8 raise :class:`~moflow.errors.DataError` naming the file (and the line).
    ``layer``: the omics layer, for messages.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found. Check the 'path' column of the omics sheet.")
    suffix = _suffix(path)
    if suffix == ".parquet":
        return _read_parquet_raw(path)
    if suffix in ANNDATA_SUFFIXES:
        return read_anndata_matrix(path, modality=modality, anndata_layer=anndata_layer, layer=layer)
    if suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"{path}: unknown matrix format '{suffix}'. Use .csv, .tsv, .txt (tab-separated) "
            "or .parquet, optionally gzip-compressed, or an AnnData .h5ad / a MuData .h5mu file."
        )
    sep = TABLE_SUFFIXES[suffix]
    data, text = _read_text(path, "matrix")
    if not text.strip():
        raise DataError(f"{path}: the file is empty. Write the matrix (one ID column and one column per sample "
                        "or feature) or fix the omics sheet's path.")
    header_fields, header_line = _check_fields(text, sep, path)
    del text
    from io import BytesIO

    numeric = _read_numeric(data, sep, header_fields, header_line)
    if numeric is not None:
        return numeric

    # header=None: pandas would silently rename duplicated column names ('X' -> 'X.1')
    try:
        df = pd.read_csv(BytesIO(data), sep=sep, dtype=str, header=None, keep_default_na=False, na_values=[],
                         encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty.") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: cannot be parsed as a {'tab' if sep == chr(9) else 'comma'}-separated table "
                        f"({exc}). Every row needs one ID and one value per column.") from None
    header = df.iloc[0, 1:].astype(str).str.strip().tolist()
    df = df.iloc[1:].set_index(0)
    df.columns = header
    df.index = df.index.astype(str).str.strip()
    df.index.name = None
    return df


def _read_numeric(data: bytes, sep: str, header: list[str], header_line: int) -> pd.DataFrame | None:
    """The common case read fast: every value a number or a missing-value token, IDs unique. Parsed
    straight to float64 by pandas' number parser (the one ``pd.to_numeric`` in
    :func:`moflow.inputs.checks.parse_matrix` uses for strings: the same values to the bit); one string
    per cell costs a 1,000 x 20,000 matrix ten times the memory and several times the CPU. None when any cell is not plainly numeric: the string route then finds it and says where."""
    from io import BytesIO

    from moflow.wording import NA_TOKENS

    names = [h.strip() for h in header]
    if len(names) < 2 or len(set(names)) != len(names):
        return None
    tokens = sorted({v for t in NA_TOKENS for v in (t, t.upper(), t.title())})
    try:
        df = pd.read_csv(BytesIO(data), sep=sep, header=None, skiprows=header_line, index_col=0,
                         dtype={0: str, **{i: np.float64 for i in range(1, len(names))}}, na_values=tokens,
                         keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError):
        return None
    if df.shape[1] != len(names) - 1 or df.index.isna().any():
        return None
    df.index = df.index.astype(str).str.strip()
    df.index.name = None
    df.columns = names[1:]
    return df


@phase("read")
def _read_parquet_raw(path: Path) -> pd.DataFrame:
    try:
        import pyarrow

        errors = (OSError, ValueError, EOFError, pyarrow.ArrowException)
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        errors = (OSError, ValueError, EOFError)
    try:
        df = _parquet_frame(path)
    except errors as exc:
        raise DataError(
            f"{path}: cannot be read as Parquet ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
            " Is the file complete (a copy cut short?) and really Parquet? Write it again, e.g. with "
            "pandas DataFrame.to_parquet."
        ) from None
    if df.index.name is None and df.columns.size and not pd.api.types.is_numeric_dtype(df.iloc[:, 0]):
        df = df.set_index(df.columns[0])
    df.index = df.index.astype(str).str.strip()
    df.columns = df.columns.astype(str).str.strip()
    return df


@phase("read")
def read_sheet(path: str | Path) -> pd.DataFrame:
    """Read a tab-separated sheet (samples.tsv, omics.tsv) with every column as string.

    Whole-line comments (``#``) and blank lines are skipped; ``df.attrs["lines"]`` holds the file line
    of every row (the header is line 1 when nothing precedes it), for messages. A MuData ``.h5mu``
    (or AnnData ``.h5ad``) file gives its ``obs`` as the sheet (:func:`read_obs_sheet`). A row with more or
    fewer fields than the header, or a column named twice, raises DataError naming the line.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: sheet not found. Check the config entry that names it.")
    if _suffix(path) in ANNDATA_SUFFIXES:
        return read_obs_sheet(path)
    from io import StringIO

    _, text = _read_text(path, "sheet")
    kept, numbers = [], []
    # whole-line comments are skipped; '#' inside a value (plate#1) is data
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.startswith("#") or not line.strip():
            continue
        kept.append(line if line.endswith("\n") else line + "\n")
        numbers.append(n)
    if not kept:
        raise DataError(f"{path}: the sheet is empty. It needs a header line and one row per entry.")
    text = "".join(kept)
    header, _ = _check_fields(text, "\t", path, line_numbers=numbers, row_ids=False)
    names = [h.strip() for h in header]
    dup = sorted({h for h in names if names.count(h) > 1})
    if dup:
        raise DataError(f"{path}, line {numbers[0]}: column '{dup[0]}' appears more than once in the header. "
                        "Column names must be unique; rename or delete the duplicate.")
    if len(names) == 1 and ("," in names[0] or ";" in names[0]):
        raise DataError(f"{path}, line {numbers[0]}: the header has a single column ('{names[0][:60]}'); the sheet "
                        "must be tab-separated, not comma- or semicolon-separated.")
    try:
        df = pd.read_csv(StringIO(text), sep="\t", dtype=str, keep_default_na=False, na_values=[])
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: cannot be read as a tab-separated sheet ({exc}).") from None
    df.columns = [c.strip() for c in df.columns]
    if len(df) == len(numbers) - 1:
        df.attrs["lines"] = numbers[1:]
    return df


_TALL = b"moflow.stored_transposed"


@phase("write")
def write_matrix(df: pd.DataFrame, path: str | Path) -> None:
    """Write a samples x features matrix (or any numeric frame) as Parquet.

    A wide matrix of one dtype (more features than samples, e.g. 1,000 x 20,000) is stored
    transposed, one column per sample, and marked so (``moflow.stored_transposed`` in the file's
    metadata; :func:`read_matrix` turns it back): Parquet pays per column, and 20,000 columns took
    3x the CPU to write and 4x to read (bench/results/workflow_scale.md). Other readers see features
    in rows; ``pd.read_parquet(path).T`` restores samples in rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = df.copy()
    out.index = out.index.astype(str)
    out.columns = out.columns.astype(str)
    if out.index.name is None:
        out.index.name = "sample"
    tall = out.shape[1] > out.shape[0] and out.dtypes.nunique() == 1
    if not tall:
        out.to_parquet(path)
        return
    name = out.index.name
    out = out.T
    out.index.name, out.columns.name = "feature", None
    table = pa.Table.from_pandas(out)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _TALL: str(name).encode()})
    pq.write_table(table, path)


def _parquet_frame(path: str | Path) -> pd.DataFrame:
    """A Parquet file as pandas reads it, turned back to samples in rows where :func:`write_matrix`
    stored it transposed."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    df = table.to_pandas()
    if _TALL in meta:
        df = df.T
        df.index.name, df.columns.name = meta[_TALL].decode(), None
    return df


@phase("read")
def read_matrix(path: str | Path) -> pd.DataFrame:
    """Read a Parquet matrix written by :func:`write_matrix`."""
    return _parquet_frame(path)


@phase("write")
def write_table(df: pd.DataFrame, path: str | Path, *, index: bool = False) -> None:
    """Write a results table as TSV with a fixed float format (byte-identical reruns). A table
    without columns is a bug upstream (it could not be read back): refused."""
    if df.shape[1] == 0 and not index:
        raise ValueError(f"write_table: refusing to write {path}, a table without columns")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=index, float_format="%.6g", lineterminator="\n")


# Columns of IDs and labels: read back as the text they were written as (sample 0001 is not 1, an
# outcome class "false" is not the boolean False, a class "1" is not the number 1)
ID_COLUMNS = ("sample", "feature", "y_true", "outcome", "target", "component", "layer", "view", "factor",
              "matched_factor", "term", "covariate", "strategy", "split", "collection", "source", "model", "group",
              "best_integration", "best_single_layer")


@phase("read")
def read_table(path: str | Path) -> pd.DataFrame:
    """Read a results table written by :func:`write_table`; ID and label columns (:data:`ID_COLUMNS`)
    stay strings."""
    return pd.read_csv(path, sep="\t", dtype={c: str for c in ID_COLUMNS})


class LazyTables(Mapping):
    """{name: raw table} read from {name: path} on access (one matrix in memory at a time).

    ``options``: {name: keyword arguments of :func:`read_raw_table`} (the MuData modality and AnnData
    layer of a layer, :func:`moflow.inputs.checks.anndata_sources`)."""

    def __init__(self, paths: Mapping[str, str], options: Mapping[str, Mapping] | None = None):
        self._paths = dict(paths)
        self._options = {k: dict(v) for k, v in (options or {}).items()}

    def __getitem__(self, name):
        return read_raw_table(self._paths[name], layer=name, **self._options.get(name, {}))

    def __iter__(self):
        return iter(self._paths)

    def __len__(self):
        return len(self._paths)


@phase("write")
def write_outputs(outputs: Mapping, paths) -> None:
    """Write a task's outputs to the rule's output files, by output name and file type: ``.parquet``
    matrices, ``.tsv`` tables, ``.png``/``.hdf5`` bytes, ``.html`` text, ``.json`` objects, ``.h5mu`` MuData. Every
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
        elif path.endswith(".h5mu"):
            write_mudata(value, path)
        elif hasattr(value, "save"):  # a fitted model that writes its own format (MOFA's HDF5)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            value.save(path)
        else:
            raise ValueError(f"write_outputs: cannot write {type(value).__name__} to {path}")


@phase("write")
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


@phase("read")
def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


@phase("read")
def read_gmt_lines(path: str | Path) -> list[str]:
    """The lines of a GMT file (optionally gzipped); a missing file is a ConfigError, an unreadable one
    (truncated gzip, not UTF-8) a DataError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"{path}: gene-set file not found. Gene sets are read from local GMT files only; "
            "name an existing file in config 'enrichment: gene_sets'."
        )
    return _read_text(path, "gene-set file")[1].splitlines()


@phase("write")
def write_gmt(gene_sets: dict[str, list[str]], path: str | Path, *, descriptions: dict | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptions = descriptions or {}
    lines = [
        "\t".join([name, descriptions.get(name, "NA"), *genes]) for name, genes in gene_sets.items()
    ]
    path.write_text("\n".join(lines) + "\n")


@phase("read")
def read_annotation(path: str | Path, *, modality: str = "") -> pd.DataFrame:
    """Read a feature annotation table (CSV, TSV or TXT, optionally gzipped; a header row) with every
    cell as a string. An AnnData ``.h5ad``, or a MuData ``.h5mu`` with the ``modality``, gives its
    ``var`` (:func:`moflow.inputs.scverse.var_to_annotation`: column ``feature`` = the var names)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: annotation file not found. Check config 'enrichment: layers: <layer>: annotation'.")
    suffix = _suffix(path)
    if suffix in ANNDATA_SUFFIXES:
        from moflow.inputs import source_label, var_to_annotation

        key = f"mod/{_check_modality(path, modality)}/var" if suffix == ".h5mu" else "var"
        return var_to_annotation(_read_h5_element(path, key), path=source_label(str(path), modality=modality))
    if suffix not in TABLE_SUFFIXES:
        raise ConfigError(f"{path}: unknown annotation format '{suffix}'. Use .csv, .tsv or .txt (tab-separated).")
    data, text = _read_text(path, "annotation table")
    _check_fields(text, TABLE_SUFFIXES[suffix], path, row_ids=False)
    from io import BytesIO

    try:
        return pd.read_csv(BytesIO(data), sep=TABLE_SUFFIXES[suffix], dtype=str, keep_default_na=False, na_values=[],
                           encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot be read as a table with a header row ({exc}).") from None


def enrichment_paths(settings) -> list[str]:
    """Every file config ``enrichment`` names (``settings``: :class:`moflow.settings.Enrichment`): the
    gene-set GMTs, the layers' feature-set GMTs and their annotation tables, each once."""
    paths = list(settings.gene_sets.values())
    for cfg in settings.layers.values():
        paths += list(cfg.feature_sets.values())
        if cfg.annotation:
            paths.append(cfg.annotation)
    return list(dict.fromkeys(str(p) for p in paths))


def read_enrichment_files(settings, omics: pd.DataFrame | None = None
                          ) -> tuple[dict[str, list[str]], dict[str, pd.DataFrame]]:
    """Every file config ``enrichment`` names (``settings``: :class:`moflow.settings.Enrichment`):
    {path: GMT lines} of the gene-set collections and the layers' own feature sets, and {layer:
    annotation table} of layers mapped to genes (a MuData annotation: the ``var`` of the modality the
    omics sheet ``omics`` names, else of the modality named as the layer)."""
    from moflow.inputs import anndata_sources

    paths = list(settings.gene_sets.values())
    for cfg in settings.layers.values():
        paths += list(cfg.feature_sets.values())
    gmts = {p: read_gmt_lines(p) for p in dict.fromkeys(paths)}
    sources = anndata_sources(omics) if omics is not None else {}
    annotations = {layer: read_annotation(cfg.annotation,
                                          modality=sources.get(layer, {}).get("modality") or layer)
                   for layer, cfg in settings.layers.items() if cfg.annotation}
    return gmts, annotations


# AnnData (.h5ad) and MuData (.h5mu): read with anndata / mudata, turned into tables by moflow.inputs.scverse


def _h5(path: Path, fn):
    """``fn(h5py file)`` on an AnnData / MuData file opened read-only; an unreadable file is a DataError."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return fn(f)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read as an HDF5 {_suffix(path)} file ({exc}). Is the file complete (a "
                        "copy cut short?)? Write it again with mudata's write_h5mu / anndata's write_h5ad.") from None


def _read_h5_element(path: Path, key: str):
    """One element (``obs``, ``mod/<modality>/var``) read by anndata's element reader, matrices left on disk."""
    from anndata.io import read_elem

    def read(f):
        if key not in f:
            raise DataError(f"{path}: has no '{key}' element: is it really a MuData / AnnData file? Write it with "
                            "mudata's write_h5mu or anndata's write_h5ad.")
        return read_elem(f[key])

    return _h5(path, read)


def _check_modality(path: Path, modality: str) -> str:
    """``modality`` when the MuData file has it; else a DataError listing the modalities."""
    from moflow.wording import listing, did_you_mean

    mods = _h5(path, lambda f: list(f["mod"].keys()) if "mod" in f else [])
    if modality not in mods:
        raise DataError(f"{path}: has no modality '{modality}' (modalities: {listing(mods, 10) or 'none'})."
                        f"{did_you_mean(modality, mods)} Name it in the omics sheet's modality column (empty: the layer's "
                        "name).")
    return modality


@phase("read")
def read_obs_sheet(path: str | Path) -> pd.DataFrame:
    """The sample sheet of a MuData ``.h5mu`` (or AnnData ``.h5ad``) file: its ``obs``, the obs names as
    column ``sample`` and every cell a string (:func:`moflow.inputs.scverse.obs_to_sheet`)."""
    from moflow.inputs import obs_to_sheet

    return obs_to_sheet(_read_h5_element(Path(path), "obs"), path=str(path))


@phase("read")
def read_anndata_matrix(path: str | Path, *, modality: str = "", anndata_layer: str = "",
                        layer: str = "") -> pd.DataFrame:
    """``X`` (or ``layers[anndata_layer]``) of an AnnData ``.h5ad``, or of the ``modality`` (empty: named as
    ``layer``) of a MuData ``.h5mu``, as samples x features numbers (:func:`moflow.inputs.scverse.anndata_frame`)."""
    import anndata
    import mudata

    from moflow.inputs import anndata_frame, source_label

    path = Path(path)
    h5mu = _suffix(path) == ".h5mu"
    modality = _check_modality(path, modality or layer) if h5mu else ""
    try:
        adata = mudata.read_h5ad(str(path), modality) if h5mu else anndata.read_h5ad(path)
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read as {'MuData' if h5mu else 'AnnData'} ({type(exc).__name__}: {exc}). "
                        "Write it again with mudata / anndata.") from None
    return anndata_frame(adata, path=source_label(str(path), modality=modality, anndata_layer=anndata_layer),
                         anndata_layer=anndata_layer)


@phase("write")
def write_mudata(mdata, path: str | Path) -> None:
    """Write a MuData object as ``.h5mu`` (mudata's own writer)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    mdata.write_h5mu(str(path))


@phase("write")
def write_text(text: str, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@phase("write")
def save_pickle(obj, path: str | Path) -> None:
    import pickle

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


@phase("read")
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


@phase("read")
def read_bytes(path: str | Path) -> bytes:
    return Path(path).read_bytes()


@phase("write")
def write_bytes(data: bytes, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def git_commit(folder: str | Path) -> str:
    """The commit checked out in the git checkout holding ``folder`` (read from .git/HEAD, the ref
    files and packed-refs; git itself is not called), or "unknown" outside a git checkout."""
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
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
