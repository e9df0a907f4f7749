"""Matrices and tables, read and written.

Raw CSV / TSV / Parquet (or AnnData / MuData) matrices with every cell as read
(:func:`read_raw_table`, :class:`LazyTables`), the tab-separated sheets, Parquet matrices and TSV
results tables of the workflow, the demo cohort's files, and a task's outputs written by file type
(:func:`write_outputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from moflow.accounting import phase
from moflow.errors import ConfigError, DataError
from moflow.io.atomic import atomic_write
from moflow.io.files import write_bytes, write_gmt, write_json, write_text
from moflow.io.raw_text import ANNDATA_SUFFIXES, TABLE_SUFFIXES, check_field_counts, decode_file, file_suffix
from moflow.io.scverse_files import read_anndata_matrix, read_obs_sheet, write_mudata


@phase("read")
def read_raw_table(path: str | Path, *, modality: str = "", anndata_layer: str = "", layer: str = "") -> pd.DataFrame:
    """Read a raw matrix file: CSV, TSV or Parquet as read, or an AnnData / MuData matrix as numbers.

    A CSV, TSV or Parquet table comes with every cell as a string (first column = row IDs); the
    matrix of an AnnData (``.h5ad``) or of one MuData modality (``.h5mu``, ``modality``) as numbers
    (:func:`~moflow.io.scverse_files.read_anndata_matrix`; ``anndata_layer``: one of its ``layers``
    instead of ``X``).

    Nothing is coerced here; :func:`moflow.inputs.matrices.parse_matrix` checks and converts. A row with more
    or fewer fields than the header, a truncated gzip stream, an unreadable Parquet file or a file
    that is not UTF-8 raise :class:`~moflow.errors.DataError` naming the file (and the line).
    ``layer``: the omics layer, for messages.

    Parameters
    ----------
    path : str or Path
        The matrix file (``.csv``, ``.tsv``, ``.txt``, optionally gzipped; ``.parquet``; ``.h5ad``;
        ``.h5mu``).
    modality : str
        The MuData modality (empty: named as ``layer``).
    anndata_layer : str
        One of the AnnData's ``layers`` instead of ``X``.
    layer : str
        The omics layer, for messages (and the default modality).

    Returns
    -------
    pandas.DataFrame
        Rows and columns as in the file, row IDs as the index. A text table whose values are all
        numbers or missing-value tokens (and whose column names are unique) is parsed straight to
        float64, other text tables come as strings; a Parquet file keeps its stored dtypes.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found. Check the 'path' column of the omics sheet.")
    suffix = file_suffix(path)
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
    data, text = decode_file(path, "matrix")
    if not text.strip():
        raise DataError(
            f"{path}: the file is empty. Write the matrix (one ID column and one column per sample "
            "or feature) or fix the omics sheet's path."
        )
    header_fields, header_line = check_field_counts(text, sep, path)
    del text
    from io import BytesIO

    numeric = _read_numeric(data, sep, header_fields, header_line)
    if numeric is not None:
        return numeric

    # header=None: pandas would silently rename duplicated column names ('X' -> 'X.1')
    try:
        df = pd.read_csv(
            BytesIO(data), sep=sep, dtype=str, header=None, keep_default_na=False, na_values=[], encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty.") from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{path}: cannot be parsed as a {'tab' if sep == chr(9) else 'comma'}-separated table "
            f"({exc}). Every row needs one ID and one value per column."
        ) from None
    header = df.iloc[0, 1:].astype(str)
    df = df.iloc[1:].set_index(0)
    df.columns = header.str.strip().tolist()
    spelt = df.index
    df.index = df.index.astype(str).str.strip()
    df.index.name = None
    _note_trimmed_ids(df, spelt, header, data=data, sep=sep, header_line=header_line)
    return df


def _trimmed_collisions(spelt) -> dict[str, list[tuple[str, int]]]:
    """{trimmed ID: [(spelling, position)]} for IDs that only trimming the whitespace around them made equal."""
    spelt = pd.Index(spelt).astype(str)
    trimmed = spelt.str.strip()
    if not trimmed.duplicated().any():
        return {}
    out = {}
    for i in np.flatnonzero(trimmed.duplicated(keep=False)):
        out.setdefault(trimmed[i], []).append((spelt[i], int(i)))
    return {k: v for k, v in out.items() if len({s for s, _ in v}) > 1}


def _record_lines(text: str, sep: str) -> list[int]:
    """The file line each record of a table starts on, blank lines skipped (as the table readers skip them).

    ``text`` is the table's text; ``sep`` its separator (quoted values may span lines).
    """
    import csv
    from io import StringIO

    if '"' not in text:
        return [n for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    reader, out, last = csv.reader(StringIO(text), delimiter=sep), [], 0
    for fields in reader:
        if fields and not (len(fields) == 1 and not fields[0].strip()):
            out.append(last + 1)
        last = reader.line_num
    return out


def _note_trimmed_ids(
    df: pd.DataFrame, rows, columns, *, data: bytes | None = None, sep: str = ",", header_line: int = 1
) -> None:
    """Note in ``df.attrs["id_spellings"]`` the IDs that trimming the whitespace around them made equal.

    ``rows`` and ``columns`` are the IDs as spelt in the file (a text file's ``data``: the rows' line
    numbers name where; else their positions). Only ever set on a table
    :func:`moflow.inputs.matrices.parse_matrix` rejects for its duplicate IDs (nothing else sees it).
    """
    by_row, by_column = _trimmed_collisions(rows), _trimmed_collisions(columns)
    if not by_row and not by_column:
        return
    if data is not None:
        lines = _record_lines(data.decode("utf-8-sig"), sep)
        row_at = {
            i: f"line {lines[i + 1]}" if i + 1 < len(lines) else f"row {i + 1}" for v in by_row.values() for _, i in v
        }
        column_at = {i: f"line {header_line}, field {i + 2}" for v in by_column.values() for _, i in v}
    else:
        row_at = {i: f"row {i + 1}" for v in by_row.values() for _, i in v}
        column_at = {i: f"column {i + 2}" for v in by_column.values() for _, i in v}
    df.attrs["id_spellings"] = {
        "rows": {k: [(s, row_at[i]) for s, i in v] for k, v in by_row.items()},
        "columns": {k: [(s, column_at[i]) for s, i in v] for k, v in by_column.items()},
    }


def _read_numeric(data: bytes, sep: str, header: list[str], header_line: int) -> pd.DataFrame | None:
    """The common case read fast: every value a number or a missing-value token, IDs unique.

    Parsed straight to float64 by pandas' number parser (the one ``pd.to_numeric`` in
    :func:`moflow.inputs.matrices.parse_matrix` uses for strings: the same values to the bit); one
    string per cell costs a 1,000 x 20,000 matrix ten times the memory and several times the CPU.
    Read a block of rows at a time into one preallocated array (the layout of a pandas block, one row a
    column): reading the whole table at once held its columns parsed, then concatenated, then
    consolidated, three copies at the peak (bench/results/read_memory.md).
    None when any cell is not plainly numeric: the string route then finds it and says where.
    """
    from io import BytesIO

    from moflow.wording import NA_TOKENS

    names = [h.strip() for h in header]
    if len(names) < 2 or len(set(names)) != len(names):
        return None
    tokens = sorted({v for t in NA_TOKENS for v in (t, t.upper(), t.title())})
    n_cols = len(names) - 1
    # at most one row a line after the header (blank lines and quoted line breaks make fewer)
    most = max(0, data.count(b"\n") + (not data.endswith(b"\n")) - header_line)
    block = np.empty((n_cols, most), dtype=np.float64)
    ids, n = [], 0
    try:
        with pd.read_csv(
            BytesIO(data),
            sep=sep,
            header=None,
            skiprows=header_line,
            index_col=0,
            dtype={0: str, **{i: np.float64 for i in range(1, len(names))}},
            na_values=tokens,
            keep_default_na=False,
            encoding="utf-8-sig",
            chunksize=max(1, max(4 << 20, n_cols * most) // (8 * n_cols)),  # an eighth of the values, at least 4 MB
        ) as chunks:
            for chunk in chunks:
                if chunk.shape[1] != n_cols:
                    return None
                if n + len(chunk) > block.shape[1]:  # rows the line count missed (line breaks '\r' alone)
                    grown = np.empty((n_cols, max(2 * block.shape[1], n + len(chunk))), dtype=np.float64)
                    grown[:, :n] = block[:, :n]
                    block = grown
                block[:, n : n + len(chunk)] = chunk.to_numpy().T
                ids.append(chunk.index)
                n += len(chunk)
    except (ValueError, pd.errors.ParserError):
        return None
    if not ids:
        return None
    index = ids[0].append(ids[1:]) if len(ids) > 1 else ids[0]
    if index.isna().any():
        return None
    # many fewer rows than lines (blank lines): no view of a much larger array kept
    values = block[:, :n].copy() if n < 0.9 * block.shape[1] else block[:, :n]
    del block
    df = pd.DataFrame(values.T, index=index.astype(str).str.strip(), columns=names[1:], copy=False)
    df.index.name = None
    _note_trimmed_ids(df, index, [], data=data, sep=sep, header_line=header_line)
    return df


_PARQUET_BLOCK = 16 << 20  # bytes of values read from a Parquet file at a time (:func:`_parquet_numeric`)


def _parquet_numeric(path: Path) -> pd.DataFrame | None:
    """A Parquet matrix of numbers read a slice of columns at a time into one float64 array.

    The frame :func:`_parquet_frame` gives (row IDs as the index: the stored pandas index, else a
    leading text column), every value column as float64 (what
    :func:`moflow.inputs.matrices.parse_matrix` makes of any numeric dtype; float32 and integers convert
    exactly as ``astype(float)`` converts them, nulls become NaN). ``pyarrow.parquet.read_table`` of a
    1,000 x 20,000 file held about six times the matrix (every column's reader at once) and
    ``to_pandas`` a second copy; a slice of columns at a time holds the matrix and one slice.
    None where this does not apply (a value column that is not a number, duplicate column names, no
    rows or no value columns, a stored index beside a text column): :func:`_parquet_frame` reads it then.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    meta = schema.pandas_metadata or {}
    stored = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    names = [n for n in schema.names if n not in stored]
    n_rows = pf.metadata.num_rows
    if not names or not n_rows or len(set(schema.names)) != len(schema.names):
        return None

    def numeric(name):
        t = schema.field(name).type
        return pa.types.is_floating(t) or pa.types.is_integer(t)

    tall = _TALL in (schema.metadata or {})
    skeleton = schema.empty_table().to_pandas()  # the labels to_pandas gives them (pandas metadata)
    if numeric(names[0]):
        index = pf.read(columns=stored, use_pandas_metadata=True).to_pandas().index  # stored, or a RangeIndex
    else:  # a leading text column holds the row IDs where no named pandas index is stored
        t = schema.field(names[0]).type
        if tall or not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            return None
        rows = pf.read(columns=[*stored, names[0]], use_pandas_metadata=True).to_pandas()
        if rows.index.name is not None:  # _read_parquet_raw would keep the text column as a value column
            return None
        index = rows.set_index(rows.columns[0]).index
        names, skeleton = names[1:], skeleton.iloc[:, 1:]
    if not names or not all(map(numeric, names)) or len(skeleton.columns) != len(names) or len(index) != n_rows:
        return None
    values = np.empty((len(names), n_rows), dtype=np.float64)  # one row a column: the layout of a pandas block
    step = max(1, min(500, _PARQUET_BLOCK // (8 * n_rows)))
    for i in range(0, len(names), step):
        part = pf.read(columns=names[i : i + step], use_threads=False)
        for j, column in enumerate(part.columns):
            values[i + j] = column.to_numpy()
        del part
    df = pd.DataFrame(values.T, index=index, columns=skeleton.columns, copy=False)
    if tall:
        df = df.T
        df.index.name, df.columns.name = schema.metadata[_TALL].decode(), None
    return df


@phase("read")
def _read_parquet_raw(path: Path) -> pd.DataFrame:
    try:
        import pyarrow

        errors = (OSError, ValueError, EOFError, pyarrow.ArrowException)
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        errors = (OSError, ValueError, EOFError)
    try:
        df = _parquet_numeric(path)
    except errors:  # the reader of every other file says what is wrong, in the words it always used
        df = None
    try:
        if df is None:
            df = _parquet_frame(path)
    except errors as exc:
        raise DataError(
            f"{path}: cannot be read as Parquet ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
            " Is the file complete (a copy cut short?) and really Parquet? Write it again, e.g. with "
            "pandas DataFrame.to_parquet."
        ) from None
    if df.index.name is None and df.columns.size and not pd.api.types.is_numeric_dtype(df.iloc[:, 0]):
        df = df.set_index(df.columns[0])
    spelt_rows, spelt_columns = df.index, df.columns
    df.index = df.index.astype(str).str.strip()
    df.columns = df.columns.astype(str).str.strip()
    _note_trimmed_ids(df, spelt_rows, spelt_columns)
    return df


@phase("read")
def read_sheet(path: str | Path) -> pd.DataFrame:
    """Read a tab-separated sheet (samples.tsv, omics.tsv) with every column as string.

    Whole-line comments (``#``) and blank lines are skipped; ``df.attrs["lines"]`` holds the file line
    of every row (the header is line 1 when nothing precedes it), for messages. A MuData ``.h5mu``
    (or AnnData ``.h5ad``) file gives its ``obs`` as the sheet
    (:func:`~moflow.io.scverse_files.read_obs_sheet`). A row with more or fewer fields than the header,
    or a column named twice, raises DataError naming the line.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: sheet not found. Check the config entry that names it.")
    if file_suffix(path) in ANNDATA_SUFFIXES:
        return read_obs_sheet(path)
    from io import StringIO

    _, text = decode_file(path, "sheet")
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
    header, _ = check_field_counts(text, "\t", path, line_numbers=numbers, row_ids=False)
    names = [h.strip() for h in header]
    dup = sorted({h for h in names if names.count(h) > 1})
    if dup:
        raise DataError(
            f"{path}, line {numbers[0]}: column '{dup[0]}' appears more than once in the header. "
            "Column names must be unique; rename or delete the duplicate."
        )
    if len(names) == 1 and ("," in names[0] or ";" in names[0]):
        raise DataError(
            f"{path}, line {numbers[0]}: the header has a single column ('{names[0][:60]}'); the sheet "
            "must be tab-separated, not comma- or semicolon-separated."
        )
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
    in rows; ``pd.read_parquet(path).T`` restores samples in rows. Written whole or not at all
    (:func:`~moflow.io.atomic.atomic_write`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = df.copy(deep=False)  # new labels below, the values shared: no second copy of the matrix
    out.index = out.index.astype(str)
    out.columns = out.columns.astype(str)
    if out.index.name is None:
        out.index.name = "sample"
    tall = out.shape[1] > out.shape[0] and out.dtypes.nunique() == 1
    if not tall:
        with atomic_write(path) as tmp:
            out.to_parquet(tmp)
        return
    name = out.index.name
    out = out.T
    out.index.name, out.columns.name = "feature", None
    table = pa.Table.from_pandas(out)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _TALL: str(name).encode()})
    with atomic_write(path) as tmp:
        pq.write_table(table, tmp)


def _parquet_frame(path: str | Path) -> pd.DataFrame:
    """A Parquet file as pandas reads it, back to samples in rows where :func:`write_matrix` transposed it."""
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
    """Write a results table as TSV with a fixed float format (byte-identical reruns).

    A table without columns is a bug upstream (it could not be read back): refused with a ValueError.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : str or Path
        The file written (its folder is created).
    index : bool
        Write the index as the first column.
    """
    if df.shape[1] == 0 and not index:
        raise ValueError(f"write_table: refusing to write {path}, a table without columns")
    with atomic_write(path) as tmp:
        df.to_csv(tmp, sep="\t", index=index, float_format="%.6g", lineterminator="\n")


# Columns of IDs and labels: read back as the text they were written as (sample 0001 is not 1, an
# outcome class "false" is not the boolean False, a class "1" is not the number 1)
ID_COLUMNS = (
    "sample",
    "feature",
    "y_true",
    "outcome",
    "target",
    "component",
    "layer",
    "view",
    "factor",
    "matched_factor",
    "term",
    "covariate",
    "strategy",
    "split",
    "collection",
    "source",
    "model",
    "group",
    "best_integration",
    "best_single_layer",
)


@phase("read")
def read_table(path: str | Path) -> pd.DataFrame:
    """Read a results table written by :func:`write_table`; ID and label columns (:data:`ID_COLUMNS`) stay strings."""
    return pd.read_csv(path, sep="\t", dtype={c: str for c in ID_COLUMNS})


class LazyTables(Mapping):
    """{name: raw table} read from {name: path} on access (one matrix in memory at a time).

    Parameters
    ----------
    paths : Mapping of str to str
        {name: path} of the raw tables.
    options : Mapping of str to Mapping, optional
        {name: keyword arguments of :func:`read_raw_table`} (the MuData modality and AnnData layer of a
        layer, :func:`moflow.inputs.sheets.anndata_sources`).
    """

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
    """Write a task's outputs to the rule's output files, by output name and file type.

    ``.parquet`` matrices, ``.tsv`` tables, ``.png``/``.hdf5`` bytes, ``.html`` text, ``.json`` objects,
    ``.h5mu`` MuData. Every output of the rule must be given, and nothing else. Each file is written whole
    or not at all (:func:`~moflow.io.atomic.atomic_write`); a full disk or a read-only folder is a one-line
    :class:`~moflow.io.atomic.WriteError` naming the file.

    Parameters
    ----------
    outputs : Mapping
        {output name: value}; where the name holds several files, a sequence of values, one per file.
    paths
        The rule's output files by name (Snakemake's ``output``), each a path or a list of paths.
    """
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
            with atomic_write(path) as tmp:
                value.save(str(tmp))
        else:
            raise ValueError(f"write_outputs: cannot write {type(value).__name__} to {path}")


def write_demo_cohort(cohort, paths: dict) -> None:
    """Write the simulated cohort the way users' files come.

    RNA counts as a features x samples TSV, proteomics (log2) as a samples x features CSV with NA,
    metabolomics (with QC injections) as a samples x features Parquet, the sample sheet, the gene sets
    and the ground truth.

    Parameters
    ----------
    cohort : moflow.demo.DemoCohort
        The simulated cohort.
    paths : dict
        File of each part: ``rna``, ``protein``, ``metabolomics``, ``samples``, ``gene_sets``,
        ``factors``, ``loadings``, ``gene_set_truth``.
    """
    rna = cohort.layers["rna"].T
    rna.index.name = "gene"
    with atomic_write(paths["rna"]) as tmp:
        rna.to_csv(tmp, sep="\t", lineterminator="\n")
    prot = cohort.layers["protein"].copy()
    prot.index.name = "sample"
    with atomic_write(paths["protein"]) as tmp:
        prot.to_csv(tmp, na_rep="NA", float_format="%.4f", lineterminator="\n")
    write_matrix(cohort.layers["metabolomics"], paths["metabolomics"])
    with atomic_write(paths["samples"]) as tmp:
        cohort.sheet.to_csv(tmp, sep="\t", index=False, lineterminator="\n")
    write_gmt(cohort.gene_sets, paths["gene_sets"])
    write_table(cohort.factors.reset_index(), paths["factors"])
    write_table(cohort.loadings, paths["loadings"])
    write_table(cohort.gene_set_truth, paths["gene_set_truth"])
