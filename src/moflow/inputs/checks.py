"""Input checks: config, sample sheet, omics sheet, gene-set files and matrices, within and across tables.

Every failure raises :class:`moflow.errors.InputError` (:class:`~moflow.errors.ConfigError` for the
configuration and the omics sheet, :class:`~moflow.errors.DataError` for data) whose message names
the file, the line, row or ID, and the fix; a misspelt name gets the nearest valid one. Nothing is
skipped, coerced or padded. Nothing here writes files.

What runs when (``rules/common.smk`` at start-up, ``rules/inputs.smk`` in the input stage):

* start-up (:func:`check_startup`, after :func:`check_config_file` in the Snakefile and
  :func:`moflow.settings.apply_defaults`): both sheets cell by cell against their schemas, the
  outcome and the number of training samples, config names of layers and sheet columns, every
  gene-set file that exists;
* input stage (:func:`moflow.tasks.inputs_rules.validate_inputs`): every matrix (:func:`parse_matrix`,
  :func:`check_orientation`, :func:`align_layer`, :func:`check_gene_symbols`) and the gene sets
  against the layers' features (:func:`check_gene_set_overlap`).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from moflow.errors import ConfigError, DataError
from moflow.inputs.scverse import anndata_suffix
from moflow.wording import NA_TOKENS, did_you_mean, listing, nearest, truthy  # noqa: F401

log = logging.getLogger("moflow")

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
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
# what Excel makes of gene symbols such as MARCH1, SEPT2, DEC1 (1-Mar, 01-Mar, Mar-01, 2016-03-01, 3/1/2016)
_EXCEL_DATE = re.compile(
    rf"^(\d{{1,2}}-({_MONTHS})(-\d{{2,4}})?|({_MONTHS})-\d{{1,4}}|\d{{4}}-\d{{2}}-\d{{2}}([ T]00:00(:00)?)?"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})$",
    re.IGNORECASE,
)
# auto outcome type: continuous when every value is numeric and there are more than this many values
# (the rule of moflow.cohort.outcome_task)
AUTO_CONTINUOUS_MIN_VALUES = 10


def _sheet_lines(sheet: pd.DataFrame) -> dict:
    """Row label -> line in the file (header = line 1): from ``attrs['lines']`` that
    :func:`moflow.io.read_sheet` records (comment lines counted), else label + 2."""
    lines = sheet.attrs.get("lines")
    if lines is not None and len(lines) == len(sheet) and list(sheet.index) == list(range(len(sheet))):
        return dict(zip(sheet.index, lines))
    return {i: (int(i) + 2 if isinstance(i, (int, np.integer)) else i) for i in sheet.index}


def _schema(name: str) -> dict:
    from moflow.settings import SCHEMA_DIR, load_schema

    return load_schema(SCHEMA_DIR / f"{name}.schema.yaml")


def _require_columns(sheet: pd.DataFrame, required, *, path: str, error=ConfigError) -> None:
    for col in required:
        if col not in sheet.columns:
            raise error(f"{path}: required column '{col}' is missing from the header (columns: "
                        f"{listing(sheet.columns, 12)}).{did_you_mean(col, sheet.columns)} Need {', '.join(required)}.")


def check_sheet_values(sheet: pd.DataFrame, *, path: str, schema: str, key: str, error=ConfigError) -> None:
    """Every cell of a sheet against its schema (``schemas/<schema>.schema.yaml``: enum, pattern,
    minLength of each column): the first bad cell stops, naming the file, the line (header = line 1),
    the row's ``key``, the column, the value, the valid values and the nearest one."""
    props = _schema(schema)["properties"]
    lines = _sheet_lines(sheet)
    for col, spec in props.items():
        if col not in sheet.columns:
            continue
        values = sheet[col].astype(str)
        checks = []
        if "enum" in spec:
            allowed = [str(v) for v in spec["enum"]]
            checks.append((~values.isin(allowed), "which is not valid; use one of "
                           + ", ".join(f"'{a}'" for a in allowed if a) + (" (or leave it empty)" if "" in allowed
                                                                          else "")))
        if "pattern" in spec:  # JSON Schema patterns search (the schemas anchor theirs)
            pattern = re.compile(spec["pattern"])
            checks.append((~values.map(lambda v: pattern.search(v) is not None).astype(bool),
                           f"which does not match {spec['pattern']}"
                           + (f" ({spec['description']})" if "description" in spec else "")))
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
            what = (f": {key} '{ident}' has {col} '{value}'" if key == "sample" else
                    f" ({key} '{ident}'): {col} '{value}'")
            raise error(f"{path}, row {lines[i]}{what}, {why}.{hint}{more}")


# ---------------------------------------------------------------------------------------------
# sample sheet and outcome
# ---------------------------------------------------------------------------------------------


def check_samples_sheet(sheet: pd.DataFrame, *, path: str, outcome: str, min_class_size: int = 2,
                        outcome_type: str = "auto", test_column: str = "", test_value: str = "test",
                        time_column: str = "", event_column: str = "", missing: str = "stop") -> pd.DataFrame:
    """Check the sample sheet on its own; return it indexed by sample with ``sample_type`` filled.

    Parameters
    ----------
    sheet
        Raw sheet, all columns as strings (:func:`moflow.io.read_sheet`).
    path
        File name used in messages.
    outcome
        Name of the outcome column (config ``outcome: column``); not used for a survival outcome.
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
    time_column, event_column
        config ``outcome: time / event`` (survival only): both must be sheet columns; every cohort
        sample (external test samples included) needs a time (a number >= 0, :func:`parse_time`) and
        an event (:func:`parse_event`). The values stay strings in the returned sheet.
    missing
        config ``outcome: missing``: ``stop`` on a cohort sample without an outcome (survival: without a
        time or an event), or ``exclude``: such samples get ``sample_type`` ``excluded`` (the type a user
        may also write to leave a sample out): every layer drops them (:func:`align_layer`), as it drops
        blanks, and the returned sheet keeps them as the record of what was left out.
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
        from moflow.inputs.survival_columns import EVENT_CODINGS, _check_survival_columns, _parse_event, _parse_time

        _check_survival_columns(sheet, path=path, time_column=time_column, event_column=event_column)
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
            "Name an existing column, or set test_column to \"\" (no external test set)."
        )
    cohort = sheet[sheet["sample_type"] == "sample"]
    if missing == "exclude":
        columns = [time_column, event_column] if survival else [outcome]
        lacking = cohort.index[cohort[columns].apply(lambda c: c.astype(str).str.strip().str.lower()
                                                     .isin(NA_TOKENS)).any(axis=1).to_numpy()]
        sheet.loc[lacking, "sample_type"] = "excluded"
        cohort = sheet[sheet["sample_type"] == "sample"]
    if survival:
        def label(i):
            return f"{path}, row {lines[i]}: sample '{sheet.at[i, 'sample']}'"

        _parse_time(cohort[time_column], column=time_column, label=label)
        values = _parse_event(cohort[event_column], column=event_column, label=label)
    else:
        values = cohort[outcome].astype(str).str.strip()
        missing = cohort.loc[values.str.lower().isin(NA_TOKENS), "sample"]
        if len(missing):
            raise DataError(
                f"{path}: sample(s) {listing(missing)} (row {lines[missing.index[0]]}) have no value in outcome "
                f"column '{outcome}'. Fill in the outcome, or set 'outcome: missing: exclude' in config to leave samples "
                "without an outcome out of the analysis (listed in the report)."
            )
    test = values.index[cohort[test_column].astype(str).str.strip() == str(test_value)] if test_column else []
    train = values.drop(index=test)
    if len(train) == 0:
        raise DataError(f"{path}: every cohort sample is an external test sample ({test_column} = '{test_value}'); "
                        "none is left to train on. Mark fewer samples as test.")
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
        outcome_type == "auto" and num.notna().all() and num.nunique() > AUTO_CONTINUOUS_MIN_VALUES)
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
    """Check the omics sheet and its references to sample-sheet columns; return it indexed by layer."""
    lines = _sheet_lines(omics)
    _require_columns(omics, ["layer", "kind", "path"], path=path)
    known = list(_schema("omics")["properties"])
    unknown = [c for c in omics.columns if c not in known]
    if unknown:
        raise ConfigError(f"{path}: unknown column '{unknown[0]}' in the header.{did_you_mean(unknown[0], known)} "
                          f"Columns of the omics sheet: {', '.join(known)}.")
    if len(omics) == 0:
        raise ConfigError(f"{path}: no layers listed. Add one row per omics layer.")
    omics = omics.copy()
    for col, default in (("orientation", "samples_in_rows"), ("batch_column", ""), ("has_qc", "false"),
                         ("log_scale", "false"), ("gene_ids", "none"), ("modality", ""), ("anndata_layer", "")):
        if col not in omics.columns:
            omics[col] = default
    check_sheet_values(omics, path=path, schema="omics", key="layer")
    for col, default in (("orientation", "samples_in_rows"), ("has_qc", "false"), ("log_scale", "false"),
                         ("gene_ids", "none")):
        omics[col] = omics[col].replace("", default)
    dup = omics["layer"][omics["layer"].duplicated()]
    if len(dup):
        raise ConfigError(f"{path}, row {lines[dup.index[0]]}: layer '{dup.iloc[0]}' is listed twice. "
                          "Layer names must be unique.")
    for i, row in omics.iterrows():
        where = f"{path}, row {lines[i]} (layer '{row['layer']}')"
        bc = row["batch_column"]
        if bc and bc not in samples.columns:
            raise ConfigError(f"{where}: batch_column '{bc}' is not a column of {samples_path}."
                              f"{did_you_mean(bc, samples.columns)} Name a sample-sheet column, or leave it empty.")
        if truthy(row["has_qc"]) and "injection_order" not in samples.columns:
            raise ConfigError(
                f"{where}: has_qc is true but {samples_path} has no 'injection_order' column; "
                "add the run order of every injection (samples and QCs)."
            )
        _check_anndata_row(row, where=where)
    omics["has_qc"] = omics["has_qc"].map(truthy)
    omics["log_scale"] = omics["log_scale"].map(truthy)
    h5mu = omics["path"].map(anndata_suffix) == ".h5mu"
    omics["modality"] = omics["modality"].str.strip().where(~h5mu | (omics["modality"].str.strip() != ""),
                                                            omics["layer"])
    out = omics.set_index("layer", drop=False)
    out.attrs.pop("lines", None)
    return out


def _check_anndata_row(row, *, where: str) -> None:
    """An AnnData / MuData layer: samples are its obs (no orientation to declare); ``modality`` only for a
    ``.h5mu`` file, ``anndata_layer`` only for an AnnData or MuData file."""
    suffix = anndata_suffix(row["path"])
    if suffix and row["orientation"] == "features_in_rows":
        raise ConfigError(f"{where}: orientation is 'features_in_rows', but in a {suffix} file the samples are the "
                          "obs (rows) by definition. Leave orientation empty (or samples_in_rows); to use an AnnData "
                          "with samples as var, write its transpose (adata.T).")
    if str(row["modality"]).strip() and suffix != ".h5mu":
        raise ConfigError(f"{where}: modality '{row['modality']}' is given but path '{row['path']}' is not a MuData "
                          ".h5mu file. Leave modality empty, or give the .h5mu file as path.")
    if str(row["anndata_layer"]).strip() and not suffix:
        raise ConfigError(f"{where}: anndata_layer '{row['anndata_layer']}' is given but path '{row['path']}' is not "
                          "an AnnData .h5ad or MuData .h5mu file. Leave anndata_layer empty.")


def anndata_sources(omics: pd.DataFrame) -> dict[str, dict[str, str]]:
    """{layer: {modality, anndata_layer}} of the omics sheet's rows whose path is a MuData or AnnData file
    (raw or checked sheet): the keyword arguments :func:`moflow.io.read_raw_table` reads the layer
    with. A MuData layer's modality defaults to the layer's name."""
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
            "anndata_layer": str(row.get("anndata_layer", "") or "").strip()}
    return out


# ---------------------------------------------------------------------------------------------
# matrices
# ---------------------------------------------------------------------------------------------


def check_orientation(raw: pd.DataFrame, *, path: str, layer: str, orientation: str, sheet: pd.DataFrame,
                      omics_path: str = "the omics sheet", anndata: bool = False) -> None:
    """Stop when a matrix is declared the wrong way round: none of the IDs on the declared sample axis
    is a sample of the sheet, but IDs on the other axis are (``anndata``: an AnnData / MuData matrix,
    whose samples are its obs)."""
    rows, cols = pd.Index(raw.index.astype(str)), pd.Index(raw.columns.astype(str))
    samples, other = (rows, cols) if orientation == "samples_in_rows" else (cols, rows)
    known = set(sheet.index.astype(str))
    if len(samples) and not any(s in known for s in samples):
        hits = [s for s in other if s in known]
        if hits and anndata:
            raise DataError(f"{path}: none of the obs names of layer '{layer}' ({listing(samples, 3)}) is a sample "
                            f"of the sample sheet while {len(hits)} of its var names are ({listing(hits, 3)}): the "
                            "AnnData holds samples as var. Write its transpose (adata.T), samples as obs.")
        if hits:
            flipped = "features_in_rows" if orientation == "samples_in_rows" else "samples_in_rows"
            side, other_side = ("rows", "columns") if orientation == "samples_in_rows" else ("columns", "rows")
            raise ConfigError(
                f"{path}: layer '{layer}' is declared orientation '{orientation}' in {omics_path}, but none of its "
                f"{side} ({listing(samples, 3)}) is a sample of the sample sheet while {len(hits)} of its "
                f"{other_side} are ({listing(hits, 3)}). Set orientation to '{flipped}' for layer '{layer}'."
            )


def parse_matrix(raw: pd.DataFrame, *, path: str, orientation: str, kind: str, layer: str,
                 may_lack=()) -> pd.DataFrame:
    """Turn a raw string table into a numeric samples x features matrix, checking every cell.

    Zero intensities of proteomics and metabolomics layers become missing values. A sample whose row
    holds no observed value lacks the layer: dropped (and logged) where ``may_lack`` allows it
    (``True``: any sample, as under config ``inputs: allow_missing_samples``; else the IDs that may lack
    a layer: external test samples, samples left out), an error otherwise.
    """
    df = raw if orientation == "samples_in_rows" else raw.T
    what_rows, what_cols = ("sample", "feature") if orientation == "samples_in_rows" else ("feature", "sample")
    for ids, what, axis in ((raw.index, what_rows, "first column"), (raw.columns, what_cols, "header")):
        s = pd.Series(ids, dtype=str)
        if (s.str.strip() == "").any():
            raise DataError(f"{path}: an empty {what} ID in the {axis} (position {int(np.flatnonzero(s.str.strip() == '')[0]) + 1}"
                            f"). Every {what} needs a name.")
        dup = s[s.duplicated()]
        if len(dup):
            raise DataError(
                f"{path}: {what} ID '{dup.iloc[0]}' appears more than once in the {axis} "
                f"({int(s.duplicated(keep=False).sum())} entries carry a repeated ID). IDs must be unique; "
                f"{'sum or average' if what == 'feature' else 'merge or rename'} the duplicates before running."
            )
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(f"{path}: no data ({df.shape[0]} samples x {df.shape[1]} features) in layer '{layer}'. "
                        "Write the values, or remove the layer from the omics sheet.")
    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in df.dtypes):
        X = df.astype(float)  # already numbers (Parquet, or a text matrix read as numbers): nothing to parse
    else:
        values = df.astype(str).apply(lambda c: c.str.strip())
        is_na = values.apply(lambda c: c.str.lower().isin(NA_TOKENS))
        num = values.apply(pd.to_numeric, errors="coerce")
        bad = num.isna() & ~is_na
        if bad.to_numpy().any():
            r, c = np.argwhere(bad.to_numpy())[0]
            n = int(bad.to_numpy().sum())
            raise DataError(
                f"{path}: non-numeric value '{values.iat[r, c]}' for sample '{df.index[r]}', feature "
                f"'{df.columns[c]}' ({n} such cell(s)). Fix the cell, or write NA for a missing value."
            )
        X = num.astype(float)
        del values, is_na, num
    X.index.name = "sample"
    X.columns.name = None
    arr = X.to_numpy()
    if np.isinf(arr).any():
        r, c = np.argwhere(np.isinf(arr))[0]
        raise DataError(f"{path}: infinite value for sample '{X.index[r]}', feature '{X.columns[c]}'. Replace it "
                        "(NA for a missing value).")

    def first_where(mask, msg, fix=""):
        if mask.any():
            r, c = np.argwhere(mask)[0]
            raise DataError(
                f"{path}: {msg} for sample '{X.index[r]}', feature '{X.columns[c]}' "
                f"(value {float(arr[r, c]):g}; {int(mask.sum())} such cell(s)).{' ' + fix if fix else ''}"
            )

    with np.errstate(invalid="ignore"):
        if kind == "rnaseq_counts":
            first_where(arr < 0, "negative count (counts must be >= 0; is this layer already log-transformed? "
                                 "then declare kind 'log_expression')")
            first_where(np.isnan(arr), "missing count (RNA-seq counts cannot be missing; write 0 or drop the gene)")
        elif kind in ("proteomics_intensity", "metabolomics_intensity"):
            first_where(arr < 0, "negative intensity (raw intensities must be >= 0; if the layer is already "
                                 "log-transformed, declare kind 'log_expression')")
            X = X.mask(X == 0)
        elif kind == "methylation_beta":
            first_where((arr < 0) | (arr > 1), "beta value outside [0, 1]",
                        "Beta values lie in [0, 1]; for M-values declare kind 'continuous'.")
        elif kind == "binary":
            first_where(~np.isnan(arr) & (arr != 0) & (arr != 1), "value other than 0 or 1 in a binary layer",
                        "Recode the values as 0/1 (NA for missing), or declare another kind.")
    empty_rows = X.index[X.isna().all(axis=1)]
    allowed = [s for s in empty_rows if may_lack is True or s in set(may_lack or ())]
    if len(allowed):
        log.info("%s: %d sample(s) without an observed value in layer '%s' count as lacking the layer: %s", path,
                 len(allowed), layer, ", ".join(map(str, allowed)))
        X = X.drop(index=allowed)
    empty_rows = [s for s in empty_rows if s not in set(allowed)]
    if len(empty_rows):
        raise DataError(
            f"{path}: sample(s) {listing(empty_rows)} have no observed value in layer '{layer}'. "
            "Remove them from this matrix (the sample may stay in other layers), or, if these samples truly lack "
            "the layer, set 'inputs: allow_missing_samples: true' (an empty row then counts as a missing sample)."
        )
    return X


def check_gene_symbols(X: pd.DataFrame, *, path: str, layer: str, omics_path: str = "the omics sheet") -> None:
    """Stop when features of a gene-symbol layer (omics sheet ``gene_ids: symbol``) look like dates that
    Excel made of gene symbols (MARCH1 -> 1-Mar, SEPT2 -> 2-Sep, DEC1 -> 1-Dec, or full dates)."""
    ids = pd.Index(X.columns.astype(str))
    hits = [f for f in ids if _EXCEL_DATE.match(f.strip())]
    if hits:
        raise DataError(
            f"{path}: {len(hits)} feature ID(s) of layer '{layer}' (gene_ids 'symbol' in {omics_path}) look like "
            f"dates that Excel made of gene symbols: {listing(hits)} (MARCH1 becomes '1-Mar', SEPT2 '2-Sep', "
            "DEC1 '1-Dec'). Re-export the matrix without opening it in Excel (or import the ID column as text), "
            "or rename these features to their gene symbols (current HGNC names: MARCHF1, SEPTIN2, DELEC1)."
        )


def _unknown_sample_hint(unknown, known) -> str:
    folded = {}
    for s in known:
        folded.setdefault(str(s).casefold(), s)
    pairs = [(u, folded[str(u).casefold()]) for u in unknown if str(u).casefold() in folded]
    if pairs:
        shown = ", ".join(f"'{u}' -> '{k}'" for u, k in pairs[:3])
        return (f" {len(pairs)} of them match the sample sheet only when case is ignored ({shown}): IDs are "
                "case-sensitive; use the sheet's spelling in the matrix (or the matrix's in the sheet).")
    near = nearest(unknown[0], known)
    return f" Nearest sample-sheet ID to '{unknown[0]}': '{near}'." if near else ""


def align_layer(
    X: pd.DataFrame,
    *,
    path: str,
    layer: str,
    sheet: pd.DataFrame,
    samples_path: str,
    has_qc: bool,
    batch_column: str,
    allow_missing_samples: bool,
    optional_samples=(),
) -> pd.DataFrame:
    """Check a layer's samples against the sheet and return it in sheet order (cohort, then QC).

    ``optional_samples`` (external test samples) may lack the layer in any case."""
    unknown = [s for s in X.index if s not in sheet.index]
    if unknown:
        raise DataError(
            f"{path}: sample(s) {listing(unknown)} of layer '{layer}' are not in {samples_path}. "
            "Add them to the sample sheet, or check the matrix orientation in the omics sheet."
            + _unknown_sample_hint(unknown, sheet.index)
        )
    types = sheet.loc[X.index, "sample_type"]
    qcs = types.index[types == "qc"]
    if len(qcs) and not has_qc:
        raise ConfigError(
            f"{path}: layer '{layer}' holds QC injection(s) {listing(qcs)} but has_qc is false in the omics "
            "sheet. Set has_qc to true for this layer, or remove the QC columns."
        )
    if has_qc and len(qcs) < 3:
        raise DataError(
            f"{path}: layer '{layer}' has has_qc true but {len(qcs)} QC injection(s); at least 3 are needed. "
            "Mark pooled QC injections with sample_type 'qc' in the sample sheet."
        )
    left_out = types.index[types.isin(["blank", "excluded"])]  # excluded: config 'outcome: missing' or the sheet
    X = X.drop(index=left_out)
    cohort = sheet.index[sheet["sample_type"] == "sample"]
    optional = set(optional_samples)
    absent = [s for s in cohort if s not in X.index and s not in optional]
    if absent and not allow_missing_samples:
        raise DataError(
            f"{path}: sample(s) {listing(absent)} of {samples_path} are missing from layer '{layer}'. "
            "Add them to the matrix, remove them from the sheet, or set 'inputs: allow_missing_samples: true' "
            "if some samples truly lack this layer."
        )
    if has_qc:
        order = pd.to_numeric(sheet.loc[X.index, "injection_order"], errors="coerce")
        if order.isna().any():
            s = order.index[order.isna()][0]
            raise DataError(f"{samples_path}: sample '{s}' needs a numeric injection_order (layer '{layer}' has QCs; "
                            f"{int(order.isna().sum())} injection(s) without one). Fill in the run order.")
    if batch_column:
        present = X.index[sheet.loc[X.index, "sample_type"] == "sample"]
        batches = sheet.loc[present, batch_column].str.strip()
        if (batches == "").any():
            s = batches.index[batches == ""][0]
            raise DataError(f"{samples_path}: sample '{s}' has no value in batch column '{batch_column}'. "
                            "Fill in its batch.")
        sizes = batches.value_counts()
        single = sizes[sizes < 2]
        if len(single):
            b = single.index[0]
            s = batches.index[batches == b][0]
            raise DataError(
                f"{samples_path}: batch '{b}' (column '{batch_column}') holds a single sample of layer '{layer}' "
                f"('{s}'). Batch correction cannot estimate a batch from one sample: merge it into a similar "
                "batch or remove the sample."
            )
    order = [s for s in sheet.index if s in X.index]
    return X.loc[order]


def check_layer_not_empty(X: pd.DataFrame, *, layer: str, step: str) -> None:
    """Stop when a step (typically a filter) removed every feature of a layer."""
    if X.shape[1] == 0:
        raise ConfigError(
            f"layer '{layer}': no feature left after {step}. Relax the thresholds for this layer in "
            "config 'preprocess' (min_observed, top_variable, qc_rsd_max)."
        )


# ---------------------------------------------------------------------------------------------
# gene sets
# ---------------------------------------------------------------------------------------------


def check_gene_set_file(lines: list[str], *, path: str, min_size: int = 1) -> dict[str, list[str]]:
    """Parse a GMT file (:func:`moflow.enrich.parse_gmt`): an empty file, malformed lines, or no set
    with at least ``min_size`` genes (config ``enrichment: min_size``; nothing could be tested) stop."""
    from moflow.enrich import parse_gmt
    from moflow.errors import InputError

    try:
        sets = parse_gmt(lines, path=path)
    except InputError as exc:
        raise DataError(str(exc)) from None
    if not any(len(g) >= min_size for g in sets.values()):
        biggest = max(sets, key=lambda s: len(sets[s]))
        raise DataError(
            f"{path}: no gene set has at least {min_size} genes (config 'enrichment: min_size'); the largest, "
            f"'{biggest}', has {len(sets[biggest])}. Nothing could be tested: use a GMT with larger sets or lower "
            "min_size."
        )
    return sets


def gene_set_layers(omics: pd.DataFrame, enrichment) -> dict[str, list[str]]:
    """{GMT path: the layers whose features it names}: the gene-set collections (config ``enrichment:
    gene_sets``) for the gene-symbol layers without an annotation, a layer's own ``feature_sets`` for
    that layer. What :func:`check_gene_set_overlap` compares in the input stage."""
    symbol = [lay for lay in omics["layer"] if str(omics.set_index("layer").at[lay, "gene_ids"]).strip() == "symbol"
              and not (lay in enrichment.layers and enrichment.layers[lay].annotation)]
    out = {str(p): list(symbol) for p in enrichment.gene_sets.values()} if symbol else {}
    for lay, cfg in enrichment.layers.items():
        for p in cfg.feature_sets.values():
            out.setdefault(str(p), [])
            if lay not in out[str(p)]:
                out[str(p)].append(lay)
    return {p: v for p, v in out.items() if v}


def check_gene_set_overlap(features: dict[str, list], gmt_lines: dict[str, list[str]],
                           gmt_layers: dict[str, list[str]], *, labels: dict | None = None) -> None:
    """Stop when a GMT file shares no identifier with a layer it is to be tested in (``features``:
    {layer: its feature IDs}; ``gmt_layers``: {path: layers}, see :func:`gene_set_layers`). The
    message names the file, the layer and a few IDs of each side."""
    from moflow.enrich import parse_gmt
    from moflow.errors import InputError

    labels = labels or {}
    for path, layers in gmt_layers.items():
        try:
            sets = parse_gmt(gmt_lines[path], path=path)
        except InputError as exc:
            raise DataError(str(exc)) from None
        genes = sorted(set().union(*sets.values()))
        for layer in layers:
            feats = [str(f) for f in features.get(layer, [])]
            if not feats or set(feats) & set(genes):
                continue
            folded = {g.casefold() for g in genes}
            case = sum(f.casefold() in folded for f in feats)
            hint = (f" {case} of them match when case is ignored (human symbols are upper case, mouse ones "
                    "capitalised): use a GMT of the same species." if case else "")
            raise DataError(
                f"{path}: no gene of this file is a feature of layer '{layer}' ({labels.get(layer, layer)}): the "
                f"layer's features look like {listing(feats, 4)}, the file's genes like {listing(genes, 4)}.{hint} "
                "Use identifiers of the same type (e.g. gene symbols on both sides), map the layer's features to "
                "genes (config enrichment: layers: <layer>: annotation), or drop the collection."
            )

