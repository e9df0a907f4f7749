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

import pandas as pd

from moflow.errors import ConfigError, DataError
from moflow.inputs.scverse import anndata_suffix
from moflow.inputs.sheet_labels import (
    check_label_spellings,
    check_sources_once,
    check_test_marks,
    sample_locations,
    sheet_lines,
)
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
    lines = sheet_lines(sheet)
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
    lines = sheet_lines(sheet)
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
    if outcome_type == "none":  # discovery: no outcome column to check
        out = sheet.set_index("sample", drop=False)
        out.attrs.pop("lines", None)
        return out
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
        check_test_marks(sheet, path=path, test_column=test_column, test_value=test_value)
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
    lines = sheet_lines(omics)
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
    check_sources_once(omics, path=path, lines=lines)
    out = omics.set_index("layer", drop=False)
    out.attrs.pop("lines", None)
    return out


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
