"""Sample-sheet and omics-sheet checks.

Every cell against its schema, the outcome (classes, numbers or survival columns) and the number of
training samples, the omics sheet's layers and its references to sample-sheet columns, and which
layers an AnnData / MuData file holds. A categorical label the workflow uses (a class, a batch, a
subject) is written one way (:func:`check_label_spellings`), an external test value marks a sample,
no file (or MuData modality) is two layers, and every sample without a batch is named at once
(:func:`check_batch_cells`).

Every failure raises :class:`moflow.errors.InputError` (:class:`~moflow.errors.ConfigError` for the
configuration and the omics sheet, :class:`~moflow.errors.DataError` for data) whose message names
the file, the line, row or ID, and the fix; a misspelt name gets the nearest valid one. Nothing is
skipped, coerced or padded. Nothing here writes files. Both sheets are checked at start-up
(:func:`moflow.inputs.startup.check_startup`) and again in the input stage
(:func:`moflow.tasks.inputs_rules.validate_inputs`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from moflow.errors import ConfigError, DataError
from moflow.inputs.scverse import anndata_suffix
from moflow.wording import NA_TOKENS, did_you_mean, listing, truthy

KINDS = (
    "rnaseq_counts",
    "log_expression",
    "proteomics_intensity",
    "metabolomics_intensity",
    "methylation_beta",
    "binary",
    "continuous",
)
_LAYER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# auto outcome type: continuous when every value is numeric and there are more than this many values
# (the rule of moflow.cohort.outcome_task)
AUTO_CONTINUOUS_MIN_VALUES = 10


def _sheet_lines(sheet: pd.DataFrame) -> dict:
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
    lines = _sheet_lines(sheet)
    word = "row" if anndata_suffix(str(path)) else "line"
    return {str(s).strip(): f"{word} {lines[i]}" for i, s in sheet["sample"].items()}


# at most this many samples or spellings are listed one by one in a message; the rest are counted
_LISTED = 10


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
    shown = "; and ".join(p for p, _ in clashes[:_LISTED])
    more = f" (and {len(clashes) - _LISTED} more such label(s))" if len(clashes) > _LISTED else ""
    raise DataError(
        f"{path}: column '{column}' ({what}) writes the same label in several ways: {shown}{more}. The workflow "
        f"compares labels as written, so each spelling would be a {noun} of its own. Write each label one way "
        f"(for instance '{clashes[0][1]}' in every such row), then rerun."
    )


def _schema(name: str) -> dict:
    from moflow.settings import SCHEMA_DIR, load_schema

    return load_schema(SCHEMA_DIR / f"{name}.schema.yaml")


def _require_columns(sheet: pd.DataFrame, required, *, path: str, error=ConfigError) -> None:
    for col in required:
        if col not in sheet.columns:
            raise error(
                f"{path}: required column '{col}' is missing from the header (columns: "
                f"{listing(sheet.columns, 12)}).{did_you_mean(col, sheet.columns)} Need {', '.join(required)}."
            )


def check_sheet_values(sheet: pd.DataFrame, *, path: str, schema: str, key: str, error=ConfigError) -> None:
    """Check every cell of a sheet against its schema (enum, pattern, minLength of each column).

    The first bad cell stops, naming the file, the line (header = line 1), the row's ``key``, the
    column, the value, the valid values and the nearest one.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sheet as read (strings).
    path : str
        Names the file in the message.
    schema : str
        The schema's name: ``schemas/<schema>.schema.yaml``.
    key : str
        The column that identifies a row in the message (``sample``, ``layer``).
    error : type
        The exception raised (:class:`~moflow.errors.ConfigError` by default).
    """
    props = _schema(schema)["properties"]
    lines = _sheet_lines(sheet)
    for col, spec in props.items():
        if col not in sheet.columns:
            continue
        values = sheet[col].astype(str)
        checks = []
        if "enum" in spec:
            allowed = [str(v) for v in spec["enum"]]
            checks.append(
                (
                    ~values.isin(allowed),
                    "which is not valid; use one of "
                    + ", ".join(f"'{a}'" for a in allowed if a)
                    + (" (or leave it empty)" if "" in allowed else ""),
                )
            )
        if "pattern" in spec:  # JSON Schema patterns search (the schemas anchor theirs)
            pattern = re.compile(spec["pattern"])
            checks.append(
                (
                    ~values.map(lambda v, pattern=pattern: pattern.search(v) is not None).astype(bool),
                    f"which does not match {spec['pattern']}"
                    + (f" ({spec['description']})" if "description" in spec else ""),
                )
            )
        if "minLength" in spec:
            checks.append((values.str.strip().str.len() < int(spec["minLength"]), "but it must not be empty"))
        for mask, why in checks:
            bad = values.index[mask.to_numpy()]
            if not len(bad):
                continue
            i = bad[0]
            value = values[i]
            hint = did_you_mean(value, spec["enum"]) if "enum" in spec else ""
            more = f" ({len(bad) - 1} more such row(s))" if len(bad) > 1 else ""
            ident = str(sheet.at[i, key]) if key in sheet.columns else "?"
            what = (
                f": {key} '{ident}' has {col} '{value}'" if key == "sample" else f" ({key} '{ident}'): {col} '{value}'"
            )
            raise error(f"{path}, row {lines[i]}{what}, {why}.{hint}{more}")


# ---------------------------------------------------------------------------------------------
# sample sheet and outcome
# ---------------------------------------------------------------------------------------------


def check_samples_sheet(
    sheet: pd.DataFrame,
    *,
    path: str,
    outcome: str,
    min_class_size: int = 2,
    outcome_type: str = "auto",
    test_column: str = "",
    test_value: str = "test",
    time_column: str = "",
    event_column: str = "",
    missing: str = "stop",
) -> pd.DataFrame:
    """Check the sample sheet on its own; return it indexed by sample with ``sample_type`` filled.

    Parameters
    ----------
    sheet
        Raw sheet, all columns as strings (:func:`moflow.io.read_sheet`).
    path
        File name used in messages.
    outcome
        Name of the outcome column (config ``outcome: column``); not used for a survival outcome. A class
        written several ways (``case``, ``Case``) stops (:func:`check_label_spellings`).
    min_class_size
        The number of cross-validation folds: the smallest number of training samples per class
        (binary, multiclass), of training samples with a numeric outcome (continuous), or of
        training samples with an observed event (survival: each fold's test side needs an event to
        score a C-index).
    outcome_type
        config ``outcome: type`` (auto: continuous when numeric with more than 10 distinct values;
        survival: the outcome is ``time_column`` and ``event_column``, no outcome column is needed).
    test_column, test_value
        config ``evaluation: test_column / test_value``: external test samples, not counted as training.
        The column's marks are written one way, and ``test_value`` marks at least one cohort sample (else
        the external validation would silently be dropped).
    time_column, event_column
        config ``outcome: time / event`` (survival only): both must be sheet columns; every cohort
        sample (external test samples included) needs a time (a number >= 0,
        :func:`~moflow.inputs.survival_columns.parse_time`) and an event
        (:func:`~moflow.inputs.survival_columns.parse_event`). The values stay strings in the returned sheet.
    missing
        config ``outcome: missing``: ``stop`` on a cohort sample without an outcome (survival: without a
        time or an event), or ``exclude``: such samples get ``sample_type`` ``excluded`` (the type a user
        may also write to leave a sample out): every layer drops them
        (:func:`~moflow.inputs.matrices.align_layer`), as it drops blanks, and the returned sheet keeps
        them as the record of what was left out.
    """
    lines = _sheet_lines(sheet)
    _require_columns(sheet, ["sample"], path=path, error=DataError)
    sheet = sheet.copy()
    sheet["sample"] = sheet["sample"].astype(str).str.strip()
    empty = sheet.index[sheet["sample"] == ""]
    if len(empty):
        raise DataError(f"{path}: row {lines[empty[0]]} has an empty sample ID. Fill it in or delete the row.")
    dup = sheet["sample"][sheet["sample"].duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        rows = [lines[i] for i in dup.index[dup == first]]
        raise DataError(
            f"{path}: sample ID '{first}' appears more than once (rows {rows}). "
            "Sample IDs must be unique; rename or merge the duplicated rows."
        )
    check_sheet_values(sheet, path=path, schema="samples", key="sample", error=DataError)
    if "sample_type" not in sheet.columns:
        sheet["sample_type"] = "sample"
    sheet["sample_type"] = sheet["sample_type"].replace("", "sample").str.strip().str.lower()
    survival = outcome_type == "survival"
    if survival:
        from moflow.inputs.survival_columns import (
            EVENT_CODINGS,
            check_survival_columns,
            parse_event_labelled,
            parse_time_labelled,
        )

        check_survival_columns(sheet, path=path, time_column=time_column, event_column=event_column)
    elif outcome not in sheet.columns:
        raise ConfigError(
            f"{path}: outcome column '{outcome}' (config 'outcome: column') is not in the sheet; "
            f"columns are {listing(sheet.columns, 20)}.{did_you_mean(outcome, sheet.columns)} "
            "Name the right column in config 'outcome: column' or add it to the sheet."
        )
    if test_column and test_column not in sheet.columns:
        raise ConfigError(
            f"{path}: the external test column '{test_column}' (config 'evaluation: test_column') is not in the "
            f"sheet; columns are {listing(sheet.columns, 20)}.{did_you_mean(test_column, sheet.columns)} "
            'Name an existing column, or set test_column to "" (no external test set).'
        )
    if test_column:
        _check_test_marks(sheet, path=path, test_column=test_column, test_value=test_value)
    cohort = sheet[sheet["sample_type"] == "sample"]
    empty = cohort[[time_column, event_column] if survival else [outcome]].apply(
        lambda c: c.astype(str).str.strip().str.lower().isin(NA_TOKENS)
    )
    no_outcome = empty.any(axis=1)
    if test_column:  # external test samples without an outcome are new patients: predicted, never scored
        # (survival: neither time nor event; a test sample with one of the two is a half-filled row, checked below)
        new_patients = empty.all(axis=1) & (cohort[test_column].astype(str).str.strip() == str(test_value))
        no_outcome = no_outcome & ~new_patients
        cohort = cohort[~new_patients.to_numpy()]
    if missing == "exclude":
        lacking = cohort.index[no_outcome.reindex(cohort.index).to_numpy()]
        sheet.loc[lacking, "sample_type"] = "excluded"
        cohort = cohort.drop(index=lacking)
    if survival:

        def label(i):
            return f"{path}, row {lines[i]}: sample '{sheet.at[i, 'sample']}'"

        parse_time_labelled(cohort[time_column], column=time_column, label=label)
        values = parse_event_labelled(cohort[event_column], column=event_column, label=label)
    else:
        values = cohort[outcome].astype(str).str.strip()
        missing = cohort.loc[values.str.lower().isin(NA_TOKENS), "sample"]
        if len(missing):
            raise DataError(
                f"{path}: sample(s) {listing(missing)} (row {lines[missing.index[0]]}) have no value in outcome "
                f"column '{outcome}'. Fill in the outcome, or set 'outcome: missing: exclude' in config to leave "
                "samples without an outcome out of the analysis (listed in the report)."
                + (
                    f" External test samples ({test_column} = '{test_value}') may lack an outcome: they are "
                    "predicted by the final model and not scored."
                    if test_column
                    else ""
                )
            )
    test = values.index[cohort[test_column].astype(str).str.strip() == str(test_value)] if test_column else []
    train = values.drop(index=test)
    if len(train) == 0:
        raise DataError(
            f"{path}: every cohort sample is an external test sample ({test_column} = '{test_value}'); "
            "none is left to train on. Mark fewer samples as test."
        )
    where = " training" if len(test) else ""
    not_counted = f" ({len(test)} external test sample(s) not counted)" if len(test) else ""
    if survival:
        n_events = int(train.sum())
        if n_events == 0:
            raise DataError(
                f"{path}: event column '{event_column}' has no event among the {len(train)}{where} samples"
                f"{not_counted}: all are censored. A survival model cannot be fitted or evaluated without observed "
                f"events. Check that events are coded {EVENT_CODINGS}, and the column named in config 'outcome: event'."
            )
        if n_events < min_class_size:
            raise DataError(
                f"{path}: event column '{event_column}' has {n_events} event(s) among the {len(train)}{where} "
                f"samples{not_counted}, fewer than the {min_class_size} cross-validation folds: each fold's test "
                "side needs an event to score a C-index. Lower 'evaluation: folds' or add samples with events."
            )
        out = sheet.set_index("sample", drop=False)
        out.attrs.pop("lines", None)
        return out
    num = pd.to_numeric(values, errors="coerce")
    continuous = outcome_type == "continuous" or (
        outcome_type == "auto" and num.notna().all() and num.nunique() > AUTO_CONTINUOUS_MIN_VALUES
    )
    if continuous:
        if num.isna().any():
            i = num.index[num.isna()][0]
            raise DataError(
                f"{path}, row {lines[i]}: sample '{sheet.at[i, 'sample']}' has the value '{values[i]}' in outcome "
                f"column '{outcome}', which config 'outcome: type' declares continuous ({int(num.isna().sum())} "
                "non-numeric value(s)). Fix the value (a number, '.' as decimal point), or declare the type "
                "binary or multiclass."
            )
        if len(train) < min_class_size:
            raise DataError(
                f"{path}: continuous outcome '{outcome}' has {len(train)}{where} sample(s) with a numeric value"
                f"{not_counted}, fewer than the {min_class_size} cross-validation folds. Lower 'evaluation: folds' "
                "or add samples."
            )
    else:
        check_label_spellings(
            sheet.loc[values.index, outcome].set_axis(sheet.loc[values.index, "sample"]),
            path=path,
            column=outcome,
            what="config 'outcome: column'",
            noun="class",
            places=sample_locations(sheet, path),
        )
        counts = train.value_counts()
        if len(counts) < 2:
            raise DataError(
                f"{path}: outcome column '{outcome}' has a single class ({listing(counts.index)}) among the"
                f"{where} samples{not_counted}; at least two classes are needed to evaluate prediction. "
                "Check the column named in config 'outcome: column'."
            )
        if outcome_type == "binary" and values.nunique() != 2:
            raise ConfigError(
                f"{path}: config 'outcome: type' is binary but outcome column '{outcome}' has {values.nunique()} "
                f"classes ({listing(sorted(values.unique()))}). Declare type multiclass, or merge classes."
            )
        small = counts[counts < min_class_size]
        if len(small):
            raise DataError(
                f"{path}: outcome class '{small.index[0]}' has {int(small.iloc[0])}{where} sample(s){not_counted}, "
                f"fewer than the {min_class_size} cross-validation folds. Lower 'evaluation: folds' or merge classes."
            )
    out = sheet.set_index("sample", drop=False)
    out.attrs.pop("lines", None)
    return out


def _check_test_marks(sheet: pd.DataFrame, *, path: str, test_column: str, test_value: str) -> None:
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
        f"'{v}' {n} time(s)" if v else f"an empty cell {n} time(s)" for v, n in counts.iloc[:_LISTED].items()
    )
    if len(counts) > _LISTED:
        held += f" and {len(counts) - _LISTED} more value(s)"
    raise ConfigError(
        f"{path}: no cohort sample has '{test_value}' (config 'evaluation: test_value') in the external test "
        f"column '{test_column}' (config 'evaluation: test_column'), so the external validation the config asks "
        f"for would be silently dropped. Among the {len(marks)} cohort samples the column holds "
        f"{held or 'nothing'}.{did_you_mean(test_value, [v for v in counts.index if v])} Set 'evaluation: "
        "test_value' to the value that marks the external test samples (or mark them with it in the column), or "
        'set test_column to "" for no external test set.'
    )


# ---------------------------------------------------------------------------------------------
# omics sheet
# ---------------------------------------------------------------------------------------------


def check_omics_sheet(omics: pd.DataFrame, *, path: str, samples: pd.DataFrame, samples_path: str) -> pd.DataFrame:
    """Check the omics sheet and its references to sample-sheet columns; return it indexed by layer.

    Two rows that read the same file (for a MuData file, the same modality) stop, naming both rows:
    the same data as two layers would count twice in every integration.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet as read (strings).
    path : str
        Names the omics sheet in messages.
    samples : pandas.DataFrame
        The sample sheet, whose columns ``batch_column`` and ``injection_order`` must name.
    samples_path : str
        Names the sample sheet in messages.

    Returns
    -------
    pandas.DataFrame
        Indexed by layer; optional columns filled with their defaults, ``has_qc`` and ``log_scale`` as
        booleans, a MuData layer's empty ``modality`` as the layer's name.
    """
    lines = _sheet_lines(omics)
    _require_columns(omics, ["layer", "kind", "path"], path=path)
    known = list(_schema("omics")["properties"])
    unknown = [c for c in omics.columns if c not in known]
    if unknown:
        raise ConfigError(
            f"{path}: unknown column '{unknown[0]}' in the header.{did_you_mean(unknown[0], known)} "
            f"Columns of the omics sheet: {', '.join(known)}."
        )
    if len(omics) == 0:
        raise ConfigError(f"{path}: no layers listed. Add one row per omics layer.")
    omics = omics.copy()
    for col, default in (
        ("orientation", "samples_in_rows"),
        ("batch_column", ""),
        ("has_qc", "false"),
        ("log_scale", "false"),
        ("gene_ids", "none"),
        ("modality", ""),
        ("anndata_layer", ""),
    ):
        if col not in omics.columns:
            omics[col] = default
    check_sheet_values(omics, path=path, schema="omics", key="layer")
    for col, default in (
        ("orientation", "samples_in_rows"),
        ("has_qc", "false"),
        ("log_scale", "false"),
        ("gene_ids", "none"),
    ):
        omics[col] = omics[col].replace("", default)
    dup = omics["layer"][omics["layer"].duplicated()]
    if len(dup):
        raise ConfigError(
            f"{path}, row {lines[dup.index[0]]}: layer '{dup.iloc[0]}' is listed twice. Layer names must be unique."
        )
    for i, row in omics.iterrows():
        where = f"{path}, row {lines[i]} (layer '{row['layer']}')"
        bc = row["batch_column"]
        if bc and bc not in samples.columns:
            raise ConfigError(
                f"{where}: batch_column '{bc}' is not a column of {samples_path}."
                f"{did_you_mean(bc, samples.columns)} Name a sample-sheet column, or leave it empty."
            )
        if truthy(row["has_qc"]) and "injection_order" not in samples.columns:
            raise ConfigError(
                f"{where}: has_qc is true but {samples_path} has no 'injection_order' column; "
                "add the run order of every injection (samples and QCs)."
            )
        _check_anndata_row(row, where=where)
    omics["has_qc"] = omics["has_qc"].map(truthy)
    omics["log_scale"] = omics["log_scale"].map(truthy)
    h5mu = omics["path"].map(anndata_suffix) == ".h5mu"
    omics["modality"] = (
        omics["modality"].str.strip().where(~h5mu | (omics["modality"].str.strip() != ""), omics["layer"])
    )
    _check_sources_once(omics, path=path, lines=lines)
    out = omics.set_index("layer", drop=False)
    out.attrs.pop("lines", None)
    return out


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
        named_by = f"batch_column of layer(s) {listing(layers, _LISTED)} in {omics_path}"
        fix = "leave batch_column empty in the omics sheet for a layer that needs no batch correction."
        if len(empty) == 1:
            s = empty[0]
            raise DataError(
                f"{path}{', ' + places[s] if s in places else ''}: sample '{s}' has no value in batch column "
                f"'{column}' ({named_by}). Fill in its batch, or {fix}"
            )
        shown = ", ".join(f"'{s}'" + (f" ({places[s]})" if s in places else "") for s in empty[:_LISTED])
        more = f" and {len(empty) - _LISTED} more" if len(empty) > _LISTED else ""
        raise DataError(
            f"{path}: {len(empty)} samples have no value in batch column '{column}' ({named_by}): {shown}{more}. "
            f"Fill in the batch of each of them, or {fix}"
        )


def _check_sources_once(omics: pd.DataFrame, *, path: str, lines: dict) -> None:
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
            f"{listing(names[:-1], _LISTED)} and '{names[-1]}' {'both' if len(rows) == 2 else 'all'} read "
            f"{source}: the same data as {len(rows)} layers would count {len(rows)} times in every integration "
            "(its weight multiplied, identical MOFA views). Keep one of these rows and delete the other(s), or "
            "point each layer at its own " + ("modality." if modality else "file.")
        )


def _check_anndata_row(row, *, where: str) -> None:
    """Check an omics-sheet row's AnnData / MuData columns.

    An AnnData / MuData layer: samples are its obs (no orientation to declare); ``modality`` only for
    a ``.h5mu`` file, ``anndata_layer`` only for an AnnData or MuData file.
    """
    suffix = anndata_suffix(row["path"])
    if suffix and row["orientation"] == "features_in_rows":
        raise ConfigError(
            f"{where}: orientation is 'features_in_rows', but in a {suffix} file the samples are the "
            "obs (rows) by definition. Leave orientation empty (or samples_in_rows); to use an AnnData "
            "with samples as var, write its transpose (adata.T)."
        )
    if str(row["modality"]).strip() and suffix != ".h5mu":
        raise ConfigError(
            f"{where}: modality '{row['modality']}' is given but path '{row['path']}' is not a MuData "
            ".h5mu file. Leave modality empty, or give the .h5mu file as path."
        )
    if str(row["anndata_layer"]).strip() and not suffix:
        raise ConfigError(
            f"{where}: anndata_layer '{row['anndata_layer']}' is given but path '{row['path']}' is not "
            "an AnnData .h5ad or MuData .h5mu file. Leave anndata_layer empty."
        )


def anndata_sources(omics: pd.DataFrame) -> dict[str, dict[str, str]]:
    """{layer: {modality, anndata_layer}} of the omics sheet's rows whose path is a MuData or AnnData file.

    Works on the raw or the checked sheet: the keyword arguments :func:`moflow.io.read_raw_table`
    reads the layer with. A MuData layer's modality defaults to the layer's name.
    """
    if not {"layer", "path"} <= set(omics.columns):
        return {}
    out = {}
    for _, row in omics.iterrows():
        suffix = anndata_suffix(row["path"])
        if not suffix:
            continue
        modality = str(row.get("modality", "") or "").strip()
        out[str(row["layer"]).strip()] = {
            "modality": (modality or str(row["layer"]).strip()) if suffix == ".h5mu" else "",
            "anndata_layer": str(row.get("anndata_layer", "") or "").strip(),
        }
    return out
