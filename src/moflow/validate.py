"""Input checks: sample sheet, omics sheet and matrices, within and across tables.

Every failure raises :class:`moflow.errors.InputError` whose message names the file, the row or
column, and the fix. Nothing here writes files.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .errors import InputError

KINDS = (
    "rnaseq_counts",
    "log_expression",
    "proteomics_intensity",
    "metabolomics_intensity",
    "methylation_beta",
    "binary",
    "continuous",
)
NA_TOKENS = {"", "na", "nan", "n/a", "null", "none", "#n/a", "-"}
_LAYER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _listing(items, n: int = 5) -> str:
    items = list(items)
    shown = ", ".join(f"'{i}'" for i in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def _truthy(value: str) -> bool:
    return str(value).strip().lower() in {"true", "yes", "1", "y"}


def check_samples_sheet(sheet: pd.DataFrame, *, path: str, outcome: str, min_class_size: int = 2) -> pd.DataFrame:
    """Check the sample sheet on its own; return it indexed by sample with ``sample_type`` filled.

    Parameters
    ----------
    sheet
        Raw sheet, all columns as strings.
    path
        File name used in messages.
    outcome
        Name of the outcome column (from config).
    min_class_size
        Smallest allowed number of samples per outcome class (the number of CV folds).
    """
    if "sample" not in sheet.columns:
        raise InputError(f"{path}: no 'sample' column. The first header must be 'sample' (one row per sample).")
    sheet = sheet.copy()
    sheet["sample"] = sheet["sample"].str.strip()
    empty = sheet.index[sheet["sample"] == ""]
    if len(empty):
        raise InputError(f"{path}: row {empty[0] + 2} has an empty sample ID. Fill it in or delete the row.")
    dup = sheet["sample"][sheet["sample"].duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        rows = [int(i) + 2 for i in dup.index[dup == first]]
        raise InputError(
            f"{path}: sample ID '{first}' appears more than once (rows {rows}). "
            "Sample IDs must be unique; rename or merge the duplicated rows."
        )
    if "sample_type" not in sheet.columns:
        sheet["sample_type"] = "sample"
    sheet["sample_type"] = sheet["sample_type"].replace("", "sample").str.strip().str.lower()
    bad = sheet.loc[~sheet["sample_type"].isin(["sample", "qc", "blank"]), ["sample", "sample_type"]]
    if len(bad):
        r = bad.iloc[0]
        raise InputError(
            f"{path}: sample '{r['sample']}' has sample_type '{r['sample_type']}'. "
            "Use 'sample' for cohort samples, 'qc' for pooled QC injections, 'blank' for blanks."
        )
    if outcome not in sheet.columns:
        raise InputError(
            f"{path}: outcome column '{outcome}' (config 'outcome: column') is not in the sheet; "
            f"columns are {_listing(sheet.columns, 20)}."
        )
    cohort = sheet[sheet["sample_type"] == "sample"]
    missing = cohort.loc[cohort[outcome].str.strip().str.lower().isin(NA_TOKENS), "sample"]
    if len(missing):
        raise InputError(
            f"{path}: sample(s) {_listing(missing)} have no value in outcome column '{outcome}'. "
            "Fill in the outcome, or remove these samples from the sheet and the matrices."
        )
    counts = cohort[outcome].value_counts()
    if len(counts) < 2:
        raise InputError(
            f"{path}: outcome column '{outcome}' has a single class ({_listing(counts.index)}); "
            "at least two classes are needed to evaluate prediction."
        )
    small = counts[counts < min_class_size]
    if len(small):
        raise InputError(
            f"{path}: outcome class '{small.index[0]}' has {int(small.iloc[0])} sample(s), fewer than the "
            f"{min_class_size} cross-validation folds. Lower 'evaluation: folds' or merge classes."
        )
    return sheet.set_index("sample", drop=False)


def check_omics_sheet(omics: pd.DataFrame, *, path: str, samples: pd.DataFrame, samples_path: str) -> pd.DataFrame:
    """Check the omics sheet and its references to sample-sheet columns; return it indexed by layer."""
    for col in ("layer", "kind", "path"):
        if col not in omics.columns:
            raise InputError(f"{path}: required column '{col}' is missing (need layer, kind, path).")
    omics = omics.copy()
    for col, default in (("orientation", "samples_in_rows"), ("batch_column", ""), ("has_qc", "false"),
                         ("log_scale", "false"), ("gene_ids", "none")):
        if col not in omics.columns:
            omics[col] = default
        omics[col] = omics[col].replace("", default)
    dup = omics["layer"][omics["layer"].duplicated()]
    if len(dup):
        raise InputError(f"{path}: layer '{dup.iloc[0]}' is listed twice. Layer names must be unique.")
    if len(omics) == 0:
        raise InputError(f"{path}: no layers listed. Add one row per omics layer.")
    for i, row in omics.iterrows():
        where = f"{path}, row {i + 2} (layer '{row['layer']}')"
        if not _LAYER_RE.match(row["layer"]):
            raise InputError(f"{where}: layer names must start with a letter and use only letters, digits, '_'.")
        if row["kind"] not in KINDS:
            raise InputError(f"{where}: kind '{row['kind']}' is unknown; use one of {', '.join(KINDS)}.")
        if row["gene_ids"] not in ("symbol", "none"):
            raise InputError(f"{where}: gene_ids must be 'symbol' (features are gene symbols) or 'none'.")
        if row["orientation"] not in ("samples_in_rows", "features_in_rows"):
            raise InputError(f"{where}: orientation must be 'samples_in_rows' or 'features_in_rows'.")
        bc = row["batch_column"]
        if bc and bc not in samples.columns:
            raise InputError(f"{where}: batch_column '{bc}' is not a column of {samples_path}.")
        if _truthy(row["has_qc"]) and "injection_order" not in samples.columns:
            raise InputError(
                f"{where}: has_qc is true but {samples_path} has no 'injection_order' column; "
                "add the run order of every injection (samples and QCs)."
            )
    omics["has_qc"] = omics["has_qc"].map(_truthy)
    omics["log_scale"] = omics["log_scale"].map(_truthy)
    return omics.set_index("layer", drop=False)


def parse_matrix(raw: pd.DataFrame, *, path: str, orientation: str, kind: str, layer: str) -> pd.DataFrame:
    """Turn a raw string table into a numeric samples x features matrix, checking every cell.

    Zero intensities of proteomics and metabolomics layers become missing values.
    """
    df = raw if orientation == "samples_in_rows" else raw.T
    what_rows, what_cols = ("sample", "feature") if orientation == "samples_in_rows" else ("feature", "sample")
    for axis, ids, what in ((0, raw.index, what_rows), (1, raw.columns, what_cols)):
        s = pd.Series(ids)
        if (s.str.strip() == "").any():
            raise InputError(f"{path}: an empty {what} ID. Every {what} needs a name.")
        dup = s[s.duplicated()]
        if len(dup):
            raise InputError(
                f"{path}: {what} ID '{dup.iloc[0]}' appears more than once. IDs must be unique; "
                f"{'sum or average' if what == 'feature' else 'merge or rename'} the duplicates before running."
            )
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise InputError(f"{path}: no data ({df.shape[0]} samples x {df.shape[1]} features).")
    values = df.astype(str).apply(lambda c: c.str.strip())
    is_na = values.apply(lambda c: c.str.lower().isin(NA_TOKENS))
    num = values.apply(pd.to_numeric, errors="coerce")
    bad = num.isna() & ~is_na
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        n = int(bad.to_numpy().sum())
        raise InputError(
            f"{path}: non-numeric value '{values.iat[r, c]}' for sample '{df.index[r]}', feature "
            f"'{df.columns[c]}' ({n} such cell(s)). Fix the cell, or write NA for a missing value."
        )
    X = num.astype(float)
    X.index.name = "sample"
    X.columns.name = None
    arr = X.to_numpy()
    if np.isinf(arr).any():
        r, c = np.argwhere(np.isinf(arr))[0]
        raise InputError(f"{path}: infinite value for sample '{X.index[r]}', feature '{X.columns[c]}'. Replace it.")

    def first_where(mask, msg):
        if mask.any():
            r, c = np.argwhere(mask)[0]
            raise InputError(
                f"{path}: {msg} for sample '{X.index[r]}', feature '{X.columns[c]}' "
                f"(value {float(arr[r, c]):g}; {int(mask.sum())} such cell(s))."
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
            first_where((arr < 0) | (arr > 1), "beta value outside [0, 1]")
        elif kind == "binary":
            first_where(~np.isnan(arr) & (arr != 0) & (arr != 1), "value other than 0 or 1 in a binary layer")
    empty_rows = X.index[X.isna().all(axis=1)]
    if len(empty_rows):
        raise InputError(
            f"{path}: sample(s) {_listing(empty_rows)} have no observed value in layer '{layer}'. "
            "Remove them from this matrix (the sample may stay in other layers)."
        )
    return X


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
        raise InputError(
            f"{path}: sample(s) {_listing(unknown)} of layer '{layer}' are not in {samples_path}. "
            "Add them to the sample sheet, or check the matrix orientation in the omics sheet."
        )
    types = sheet.loc[X.index, "sample_type"]
    qcs = types.index[types == "qc"]
    if len(qcs) and not has_qc:
        raise InputError(
            f"{path}: layer '{layer}' holds QC injection(s) {_listing(qcs)} but has_qc is false in the omics "
            "sheet. Set has_qc to true for this layer, or remove the QC columns."
        )
    if has_qc and len(qcs) < 3:
        raise InputError(
            f"{path}: layer '{layer}' has has_qc true but {len(qcs)} QC injection(s); at least 3 are needed. "
            "Mark pooled QC injections with sample_type 'qc' in the sample sheet."
        )
    blanks = types.index[types == "blank"]
    X = X.drop(index=blanks)
    cohort = sheet.index[sheet["sample_type"] == "sample"]
    optional = set(optional_samples)
    absent = [s for s in cohort if s not in X.index and s not in optional]
    if absent and not allow_missing_samples:
        raise InputError(
            f"{path}: sample(s) {_listing(absent)} of {samples_path} are missing from layer '{layer}'. "
            "Add them to the matrix, remove them from the sheet, or set 'inputs: allow_missing_samples: true' "
            "if some samples truly lack this layer."
        )
    if has_qc:
        order = pd.to_numeric(sheet.loc[X.index, "injection_order"], errors="coerce")
        if order.isna().any():
            s = order.index[order.isna()][0]
            raise InputError(f"{samples_path}: sample '{s}' needs a numeric injection_order (layer '{layer}' has QCs).")
    if batch_column:
        present = X.index[sheet.loc[X.index, "sample_type"] == "sample"]
        batches = sheet.loc[present, batch_column].str.strip()
        if (batches == "").any():
            s = batches.index[batches == ""][0]
            raise InputError(f"{samples_path}: sample '{s}' has no value in batch column '{batch_column}'.")
        sizes = batches.value_counts()
        single = sizes[sizes < 2]
        if len(single):
            b = single.index[0]
            s = batches.index[batches == b][0]
            raise InputError(
                f"{samples_path}: batch '{b}' (column '{batch_column}') holds a single sample of layer '{layer}' "
                f"('{s}'). Batch correction cannot estimate a batch from one sample: merge it into a similar "
                "batch or remove the sample."
            )
    order = [s for s in sheet.index if s in X.index]
    return X.loc[order]


def check_layer_not_empty(X: pd.DataFrame, *, layer: str, step: str) -> None:
    """Stop when a step (typically a filter) removed every feature of a layer."""
    if X.shape[1] == 0:
        raise InputError(
            f"layer '{layer}': no feature left after {step}. Relax the thresholds for this layer in "
            "config 'preprocess' (min_observed, top_variable, qc_rsd_max)."
        )
