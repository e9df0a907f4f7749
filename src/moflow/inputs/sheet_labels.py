"""How a sheet's values are written: every label spelt one way, every batch filled in, each file read once.

The sample-sheet and omics-sheet checks of :mod:`moflow.inputs.sheets` that look across rows rather than
at one cell: a label written several ways (``case``, ``Case``, ``case ``) in a column the pipeline uses
(:func:`check_label_spellings`), an external-test value that matches no sample (:func:`check_test_marks`),
samples without a batch (:func:`check_batch_cells`), the same file or MuData modality named as two layers
(:func:`check_sources_once`), and where a sample sits in its sheet, for the messages
(:func:`sheet_lines`, :func:`sample_locations`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.errors import ConfigError, DataError
from moflow.inputs.scverse import anndata_suffix
from moflow.wording import NA_TOKENS, did_you_mean, listing


def sheet_lines(sheet: pd.DataFrame) -> dict:
    """Row label -> line in the file (header = line 1).

    From ``attrs['lines']`` that :func:`moflow.io.read_sheet` records (comment lines counted), else
    label + 2.
    """
    lines = sheet.attrs.get("lines")
    if lines is not None and len(lines) == len(sheet) and list(sheet.index) == list(range(len(sheet))):
        return dict(zip(sheet.index, lines))
    return {i: (int(i) + 2 if isinstance(i, (int, np.integer)) else i) for i in sheet.index}


def sample_locations(sheet: pd.DataFrame, path: str) -> dict[str, str]:
    """Sample ID -> where its row is in the sample sheet, for messages: ``line 7`` (``row 7`` of a MuData obs).

    ``sheet`` is the sheet as :func:`moflow.io.read_sheet` returns it (sample IDs trimmed as the checks
    trim them): the line of a text sheet counts from its header (line 1) and its comment lines; an
    AnnData / MuData ``obs`` (``path`` names such a file) numbers its rows from 1.
    """
    if "sample" not in sheet.columns:
        return {}
    lines = sheet_lines(sheet)
    word = "row" if anndata_suffix(str(path)) else "line"
    return {str(s).strip(): f"{word} {lines[i]}" for i, s in sheet["sample"].items()}


# at most this many samples or spellings are listed one by one in a message; the rest are counted
LISTED = 10


def check_label_spellings(
    values: pd.Series, *, path: str, column: str, what: str, noun: str = "value", places=None
) -> None:
    """Stop where a categorical sheet column writes one label in several ways.

    Labels that are equal once surrounding whitespace is trimmed and case is folded (``case``,
    ``case ``, ``Case``) but spelt differently would count as different classes, batches or subjects.
    Missing values (empty, ``NA``) are not labels. The message names the file, the column, each
    spelling with its count, first line and sample, and the fix.

    Parameters
    ----------
    values : pandas.Series
        The column's cells as read (strings), indexed by sample ID, for the rows the workflow uses.
    path : str
        Names the sheet in the message.
    column : str
        The column.
    what : str
        What makes the workflow use the column (``config 'outcome: column'``).
    noun : str
        What a label is (``class``, ``batch``, ``subject``).
    places : mapping, optional
        Sample ID -> its place in the sheet, ``line 7`` (:func:`sample_locations`).

    Raises
    ------
    moflow.errors.DataError
        Where some label is spelt more than one way.
    """
    places = places or {}
    cells = values.astype(str)
    cells = cells[~cells.str.strip().str.lower().isin(NA_TOKENS)]
    if cells.empty:
        return
    folded = cells.str.strip().str.casefold()
    clashes = []
    for label in dict.fromkeys(folded):  # first-seen order: deterministic, as in the file
        spelt = cells[folded == label]
        if spelt.nunique() < 2:
            continue
        parts = []
        for spelling in dict.fromkeys(spelt):
            hit = spelt.index[spelt == spelling]
            first = hit[0]
            line = f"{places[first]}, " if first in places else ""
            at = "first on " if len(hit) > 1 else ""
            parts.append(f"{spelling!r} {len(hit)} time(s) ({at}{line}sample '{first}')")
        common = spelt.str.strip().value_counts().sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        clashes.append((", ".join(parts), common.index[0]))
    if not clashes:
        return
    shown = "; and ".join(p for p, _ in clashes[:LISTED])
    more = f" (and {len(clashes) - LISTED} more such label(s))" if len(clashes) > LISTED else ""
    raise DataError(
        f"{path}: column '{column}' ({what}) writes the same label in several ways: {shown}{more}. The workflow "
        f"compares labels as written, so each spelling would be a {noun} of its own. Write each label one way "
        f"(for instance '{clashes[0][1]}' in every such row), then rerun."
    )


def check_test_marks(sheet: pd.DataFrame, *, path: str, test_column: str, test_value: str) -> None:
    """The external test column of the cohort samples: one spelling per mark, and ``test_value`` among them.

    A ``test_value`` that marks no cohort sample would silently drop the external validation the config
    asks for: the message names the column, the value and the values the column holds, with counts.
    """
    cohort = sheet[sheet["sample_type"] == "sample"]
    check_label_spellings(
        cohort[test_column].set_axis(cohort["sample"]),
        path=path,
        column=test_column,
        what="config 'evaluation: test_column'",
        noun="mark",
        places=sample_locations(sheet, path),
    )
    marks = cohort[test_column].astype(str).str.strip()
    if (marks == str(test_value)).any():
        return
    counts = marks.value_counts().sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    held = ", ".join(
        f"'{v}' {n} time(s)" if v else f"an empty cell {n} time(s)" for v, n in counts.iloc[:LISTED].items()
    )
    if len(counts) > LISTED:
        held += f" and {len(counts) - LISTED} more value(s)"
    raise ConfigError(
        f"{path}: no cohort sample has '{test_value}' (config 'evaluation: test_value') in the external test "
        f"column '{test_column}' (config 'evaluation: test_column'), so the external validation the config asks "
        f"for would be silently dropped. Among the {len(marks)} cohort samples the column holds "
        f"{held or 'nothing'}.{did_you_mean(test_value, [v for v in counts.index if v])} Set 'evaluation: "
        "test_value' to the value that marks the external test samples (or mark them with it in the column), or "
        'set test_column to "" for no external test set.'
    )


def check_batch_cells(
    sheet: pd.DataFrame, omics: pd.DataFrame, *, path: str, omics_path: str, required, places=None
) -> None:
    """Stop where samples that every layer must hold have an empty cell in a layer's batch column.

    Every such sample is named (the first ten with their lines, then a count), so that one edit fixes
    them all: :func:`~moflow.inputs.matrices.align_layer` would name them one run at a time.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The checked sample sheet, indexed by sample.
    omics : pandas.DataFrame
        The checked omics sheet (its ``batch_column``).
    path, omics_path : str
        Name the sample sheet and the omics sheet in the message.
    required : iterable of str
        The samples each layer holds for sure (cohort samples that are not external test samples,
        where config does not allow a sample to lack a layer).
    places : mapping, optional
        Sample ID -> its place in the sample sheet, ``line 7`` (:func:`sample_locations`).

    Raises
    ------
    moflow.errors.DataError
        Where such a sample has no batch.
    """
    places = places or {}
    required = [s for s in required if s in sheet.index]
    columns: dict = {}
    for layer, bc in zip(omics["layer"], omics["batch_column"]):
        if str(bc).strip():
            columns.setdefault(str(bc).strip(), []).append(str(layer))
    for column, layers in columns.items():
        if column not in sheet.columns:
            continue
        cells = sheet.loc[required, column].astype(str).str.strip()
        empty = list(cells.index[cells == ""])
        if not empty:
            continue
        named_by = f"batch_column of layer(s) {listing(layers, LISTED)} in {omics_path}"
        fix = "leave batch_column empty in the omics sheet for a layer that needs no batch correction."
        if len(empty) == 1:
            s = empty[0]
            raise DataError(
                f"{path}{', ' + places[s] if s in places else ''}: sample '{s}' has no value in batch column "
                f"'{column}' ({named_by}). Fill in its batch, or {fix}"
            )
        shown = ", ".join(f"'{s}'" + (f" ({places[s]})" if s in places else "") for s in empty[:LISTED])
        more = f" and {len(empty) - LISTED} more" if len(empty) > LISTED else ""
        raise DataError(
            f"{path}: {len(empty)} samples have no value in batch column '{column}' ({named_by}): {shown}{more}. "
            f"Fill in the batch of each of them, or {fix}"
        )


def check_sources_once(omics: pd.DataFrame, *, path: str, lines: dict) -> None:
    """Stop where two layers read the same data: the same file, or the same modality of one MuData file.

    The same data as two layers counts twice in every integration (its weight doubled, two identical
    MOFA views). Paths are compared once normalised (``./data/x.tsv`` is ``data/x.tsv``); the AnnData
    layers of one file (``anndata_layer``) share its samples and features, so they are the same data too.
    """
    import os

    seen: dict = {}
    for i, row in omics.iterrows():
        file = str(row["path"]).strip()
        h5mu = anndata_suffix(file) == ".h5mu"
        key = (os.path.normcase(os.path.normpath(file)), str(row["modality"]).strip() if h5mu else "")
        seen.setdefault(key, []).append(i)
    for (_, modality), rows in seen.items():
        if len(rows) < 2:
            continue
        names = [str(omics.at[i, "layer"]) for i in rows]
        files = list(dict.fromkeys(str(omics.at[i, "path"]).strip() for i in rows))
        source = f"modality '{modality}' of {' / '.join(files)}" if modality else " / ".join(files)
        raise ConfigError(
            f"{path}, rows {', '.join(str(lines[i]) for i in rows[:-1])} and {lines[rows[-1]]}: layers "
            f"{listing(names[:-1], LISTED)} and '{names[-1]}' {'both' if len(rows) == 2 else 'all'} read "
            f"{source}: the same data as {len(rows)} layers would count {len(rows)} times in every integration "
            "(its weight multiplied, identical MOFA views). Keep one of these rows and delete the other(s), or "
            "point each layer at its own " + ("modality." if modality else "file.")
        )
