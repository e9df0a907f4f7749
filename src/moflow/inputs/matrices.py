"""Matrix checks of the input stage (:func:`moflow.tasks.inputs_rules.validate_inputs`).

The declared orientation (:func:`check_orientation`), every cell of a raw table turned into numbers
(:func:`parse_matrix`), a layer's samples against the sample sheet (:func:`align_layer`), gene symbols
that Excel turned into dates (:func:`check_gene_symbols`), and a layer that a filter emptied
(:func:`check_layer_not_empty`).

Every failure raises :class:`~moflow.errors.DataError` (:class:`~moflow.errors.ConfigError` where the
omics sheet or the config must change) whose message names the file, the sample or feature, and the
fix. Nothing is skipped, coerced or padded. Nothing here writes files.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from moflow.errors import ConfigError, DataError
from moflow.wording import NA_TOKENS, listing, nearest

log = logging.getLogger("moflow")

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
# what Excel makes of gene symbols such as MARCH1, SEPT2, DEC1 (1-Mar, 01-Mar, Mar-01, 2016-03-01, 3/1/2016)
_EXCEL_DATE = re.compile(
    rf"^(\d{{1,2}}-({_MONTHS})(-\d{{2,4}})?|({_MONTHS})-\d{{1,4}}|\d{{4}}-\d{{2}}-\d{{2}}([ T]00:00(:00)?)?"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})$",
    re.IGNORECASE,
)

_ABSURD = 1e100  # no omics value comes near it; beyond it sums of squares overflow (a sentinel such as 1e308)
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)  # 2.2250738585072014e-308
# kinds whose values the chain log-transforms (unless log_scale): raw intensities and counts
_LOGGED_KINDS = ("rnaseq_counts", "proteomics_intensity", "metabolomics_intensity")


def _subnormal_matters(kind: str, log_scale: bool) -> bool:
    """A subnormal value is absurd here: the layer is on a log scale, or its kind is log-transformed downstream."""
    return bool(log_scale) or kind in (*_LOGGED_KINDS, "log_expression")


def _subnormal_reason(kind: str, log_scale: bool) -> str:
    if log_scale or kind == "log_expression":
        return (
            "The layer holds log-scale values, where nothing is measured this close to (and yet not) zero, and "
            "dividing by such a value overflows to infinity."
        )
    return (
        f"Values of kind '{kind}' are log-transformed downstream, and the log2 of a subnormal is about -1074: "
        "a value hundreds of orders of magnitude below any measured one."
    )


def _value_text(v: float) -> str:
    """A cell's value for a message: short (%g) unless that hides it (1234567.5 is not 1.23457e+06)."""
    short = f"{float(v):g}"
    return short if np.isnan(v) or float(short) == float(v) else repr(float(v))


def _not_whole(arr: np.ndarray, block: int = 1 << 20) -> np.ndarray:
    """Cells that hold a number with a fractional part (NaN is not one), computed a block of rows at a time."""
    out = np.zeros(arr.shape, dtype=bool)
    step = max(1, block // max(1, arr.shape[1]))
    for i in range(0, arr.shape[0], step):
        part = arr[i : i + step]
        out[i : i + step] = ~np.isnan(part) & (part != np.round(part))
    return out


def _beyond_float(text: str) -> bool:
    """A cell written as a finite number too large for a float (1e400), which parsing turned into nothing."""
    try:
        return np.isinf(float(text)) and text.strip().lower().lstrip("+-") not in ("inf", "infinity")
    except ValueError:
        return False


def check_orientation(
    raw: pd.DataFrame,
    *,
    path: str,
    layer: str,
    orientation: str,
    sheet: pd.DataFrame,
    omics_path: str = "the omics sheet",
    anndata: bool = False,
) -> None:
    """Stop when a matrix is declared the wrong way round.

    That is: none of the IDs on the declared sample axis is a sample of the sheet, but IDs on the other
    axis are.

    Parameters
    ----------
    raw : pandas.DataFrame
        The matrix as read.
    path : str
        Names the file in messages.
    layer : str
        The layer.
    orientation : str
        The declared orientation: ``samples_in_rows`` or ``features_in_rows``.
    sheet : pandas.DataFrame
        The checked sample sheet, indexed by sample.
    omics_path : str
        Names the omics sheet in messages.
    anndata : bool
        An AnnData / MuData matrix, whose samples are its obs (the message then asks for its transpose).
    """
    rows, cols = pd.Index(raw.index.astype(str)), pd.Index(raw.columns.astype(str))
    samples, other = (rows, cols) if orientation == "samples_in_rows" else (cols, rows)
    known = set(sheet.index.astype(str))
    if len(samples) and not any(s in known for s in samples):
        hits = [s for s in other if s in known]
        if hits and anndata:
            raise DataError(
                f"{path}: none of the obs names of layer '{layer}' ({listing(samples, 3)}) is a sample "
                f"of the sample sheet while {len(hits)} of its var names are ({listing(hits, 3)}): the "
                "AnnData holds samples as var. Write its transpose (adata.T), samples as obs."
            )
        if hits:
            flipped = "features_in_rows" if orientation == "samples_in_rows" else "samples_in_rows"
            side, other_side = ("rows", "columns") if orientation == "samples_in_rows" else ("columns", "rows")
            raise ConfigError(
                f"{path}: layer '{layer}' is declared orientation '{orientation}' in {omics_path}, but none of its "
                f"{side} ({listing(samples, 3)}) is a sample of the sample sheet while {len(hits)} of its "
                f"{other_side} are ({listing(hits, 3)}). Set orientation to '{flipped}' for layer '{layer}'."
            )


def parse_matrix(
    raw: pd.DataFrame, *, path: str, orientation: str, kind: str, layer: str, may_lack=(), log_scale: bool = False
) -> pd.DataFrame:
    """Turn a raw string table into a numeric samples x features matrix, checking every cell.

    Zero intensities of proteomics and metabolomics layers become missing values. A sample whose row
    holds no observed value lacks the layer: dropped (and logged) where ``may_lack`` allows it
    (``True``: any sample, as under config ``inputs: allow_missing_samples``; else the IDs that may lack
    a layer: external test samples, samples left out), an error otherwise.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (strings, or numbers where the reader parsed them already).
    path : str
        Names the file in messages.
    orientation : str
        ``samples_in_rows``, or else the table is transposed.
    kind : str
        The layer's kind (omics sheet), which decides the value checks: counts whole numbers >= 0 and
        never missing, intensities >= 0, betas in [0, 1], binary 0/1. Every kind: no infinite value and
        none beyond 1e100 in magnitude; no subnormal value (0 < |x| < 2.2e-308) where the layer is on a
        log scale (``log_scale``, kind ``log_expression``) or its kind is log-transformed downstream
        (counts, intensities).
    layer : str
        The layer, for messages.
    may_lack : bool or iterable of str
        The samples whose rows may be empty (see above).
    log_scale : bool
        The values are already log-transformed (omics sheet ``log_scale``).

    Returns
    -------
    pandas.DataFrame
        Samples x features floats (index named ``sample``).
    """
    df = raw if orientation == "samples_in_rows" else raw.T
    what_rows, what_cols = ("sample", "feature") if orientation == "samples_in_rows" else ("feature", "sample")
    for ids, what, axis, side in (
        (raw.index, what_rows, "first column", "rows"),
        (raw.columns, what_cols, "header", "columns"),
    ):
        s = pd.Series(ids, dtype=str)
        if (s.str.strip() == "").any():
            raise DataError(
                f"{path}: an empty {what} ID in the {axis} (position {int(np.flatnonzero(s.str.strip() == '')[0]) + 1}"
                f"). Every {what} needs a name."
            )
        dup = s[s.duplicated()]
        spellings = raw.attrs.get("id_spellings", {}).get(side, {}).get(dup.iloc[0]) if len(dup) else None
        if spellings:  # the same ID only once the reader trimmed the whitespace around it
            shown = " and ".join(f"'{spelt}' ({where})" for spelt, where in spellings)
            raise DataError(
                f"{path}: {what} ID '{dup.iloc[0]}' appears more than once in the {axis} after trimming surrounding "
                f"whitespace: {shown}. IDs are read without the spaces around them, so these are one ID spelt "
                + (
                    "differently; they may be two different features (a mistyped name). Correct the name of the "
                    "wrong one, or delete the one that should not be there; never merge their values, that would "
                    "mix two features."
                    if what == "feature"
                    else "differently. Correct the ID of the wrong one, or delete the stray copy."
                )
            )
        if len(dup):
            raise DataError(
                f"{path}: {what} ID '{dup.iloc[0]}' appears more than once in the {axis} "
                f"({int(s.duplicated(keep=False).sum())} entries carry a repeated ID). IDs must be unique; "
                f"{'sum or average' if what == 'feature' else 'merge or rename'} the duplicates before running."
            )
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(
            f"{path}: no data ({df.shape[0]} samples x {df.shape[1]} features) in layer '{layer}'. "
            "Write the values, or remove the layer from the omics sheet."
        )
    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in df.dtypes):
        # already numbers (Parquet, or a text matrix read as numbers): nothing to parse, and float64 as read
        # is not copied (a second copy of the widest layer was this job's peak)
        X = df.astype(float, copy=False)
        if X is raw:
            X = X.copy(deep=False)  # the labels set below are this frame's, not the caller's
    else:
        values = df.astype(str).apply(lambda c: c.str.strip())
        is_na = values.apply(lambda c: c.str.lower().isin(NA_TOKENS))
        num = values.apply(pd.to_numeric, errors="coerce")
        bad = num.isna() & ~is_na
        if bad.to_numpy().any():
            r, c = np.argwhere(bad.to_numpy())[0]
            n = int(bad.to_numpy().sum())
            if _beyond_float(values.iat[r, c]):
                raise DataError(
                    f"{path}: number '{values.iat[r, c]}' beyond the range of a float (about 1.8e308) for sample "
                    f"'{df.index[r]}', feature '{df.columns[c]}' ({n} non-numeric or out-of-range cell(s)). No "
                    "measurement comes near this: the cell is corrupt or a sentinel for a missing value. Fix the "
                    "cell, or write NA for a missing value."
                )
            raise DataError(
                f"{path}: non-numeric value '{values.iat[r, c]}' for sample '{df.index[r]}', feature "
                f"'{df.columns[c]}' ({n} such cell(s)). Fix the cell, or write NA for a missing value."
            )
        X = num.astype(float)
        del values, is_na, num
    X.index = X.index.rename("sample")  # new Index objects: the raw table may share them (a transposed view)
    X.columns = X.columns.rename(None)
    arr = X.to_numpy()

    def first_where(mask, msg, fix=""):
        if mask.any():
            r, c = np.argwhere(mask)[0]
            raise DataError(
                f"{path}: {msg} for sample '{X.index[r]}', feature '{X.columns[c]}' "
                f"(value {_value_text(arr[r, c])}; {int(mask.sum())} such cell(s)).{' ' + fix if fix else ''}"
            )

    with np.errstate(invalid="ignore"):
        # boolean masks only (a float temporary would add a matrix's worth of memory to the job's peak)
        first_where(
            np.isinf(arr),
            "infinite value",
            "No measurement is infinite (a division by zero or a log of 0 upstream?): fix the cell, or write NA "
            "for a missing value.",
        )
        first_where(
            (arr > _ABSURD) | (arr < -_ABSURD),
            "absurd magnitude (|value| > 1e100)",
            "No omics measurement comes near this (it overflows the arithmetic downstream): the cell is corrupt or "
            "a sentinel for a missing value (such as 1e308 or 9.9e307). Fix it, or write NA for a missing value.",
        )
        if _subnormal_matters(kind, log_scale):
            first_where(
                (arr != 0) & (arr < _SMALLEST_NORMAL) & (arr > -_SMALLEST_NORMAL),
                f"subnormal value (0 < |value| < {_SMALLEST_NORMAL:.4g}, below the smallest normal float)",
                _subnormal_reason(kind, log_scale)
                + " Such a value is an underflow or a corrupt cell, not a measurement: fix it, write 0 where the "
                "value is zero, or NA for a missing value.",
            )
        if kind == "rnaseq_counts":
            first_where(
                arr < 0,
                "negative count (counts must be >= 0; is this layer already log-transformed? "
                "then declare kind 'log_expression')",
            )
            first_where(
                _not_whole(arr),
                f"count that is not a whole number in layer '{layer}' (kind rnaseq_counts)",
                "Counts must be whole numbers; for TPM/FPKM/CPM or other normalised values declare the layer "
                "`kind: log_expression` in the omics sheet (after log2(x+1)); for estimated counts (Salmon, "
                "RSEM, kallisto) round them to whole numbers first (or import them with tximport).",
            )
            first_where(np.isnan(arr), "missing count (RNA-seq counts cannot be missing; write 0 or drop the gene)")
        elif kind in ("proteomics_intensity", "metabolomics_intensity"):
            first_where(
                arr < 0,
                "negative intensity (raw intensities must be >= 0; if the layer is already "
                "log-transformed, declare kind 'log_expression')",
            )
            X = X.mask(X == 0)
        elif kind == "methylation_beta":
            first_where(
                (arr < 0) | (arr > 1),
                "beta value outside [0, 1]",
                "Beta values lie in [0, 1]; for M-values declare kind 'continuous'.",
            )
        elif kind == "binary":
            first_where(
                ~np.isnan(arr) & (arr != 0) & (arr != 1),
                "value other than 0 or 1 in a binary layer",
                "Recode the values as 0/1 (NA for missing), or declare another kind.",
            )
    empty_rows = X.index[X.isna().all(axis=1)]
    allowed = [s for s in empty_rows if may_lack is True or s in set(may_lack or ())]
    if len(allowed):
        log.info(
            "%s: %d sample(s) without an observed value in layer '%s' count as lacking the layer: %s",
            path,
            len(allowed),
            layer,
            ", ".join(map(str, allowed)),
        )
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
    """Stop when features of a gene-symbol layer (omics sheet ``gene_ids: symbol``) look like Excel dates.

    Dates that Excel made of gene symbols: MARCH1 -> 1-Mar, SEPT2 -> 2-Sep, DEC1 -> 1-Dec, or full
    dates. ``path``, ``layer`` and ``omics_path`` name the matrix, the layer and the omics sheet in the
    message.
    """
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
        return (
            f" {len(pairs)} of them match the sample sheet only when case is ignored ({shown}): IDs are "
            "case-sensitive; use the sheet's spelling in the matrix (or the matrix's in the sheet)."
        )
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

    ``optional_samples`` (external test samples) may lack the layer in any case. Blank and excluded
    samples are dropped.

    Parameters
    ----------
    X : pandas.DataFrame
        The parsed matrix (:func:`parse_matrix`).
    path : str
        Names the file in messages.
    layer : str
        The layer.
    sheet : pandas.DataFrame
        The checked sample sheet, indexed by sample.
    samples_path : str
        Names the sample sheet in messages.
    has_qc : bool
        The layer holds pooled QC injections (at least 3, each with a numeric injection_order).
    batch_column : str
        The layer's batch column of the sheet (empty: none); every sample needs a batch, and every
        batch two samples.
    allow_missing_samples : bool
        A cohort sample may lack the layer (config ``inputs: allow_missing_samples``).
    optional_samples : iterable of str
        Samples that may lack the layer in any case.

    Returns
    -------
    pandas.DataFrame
        The matrix, rows in sheet order.
    """
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
    kept = X.index.drop(left_out)  # the rows kept; the matrix is copied once, in sheet order, at the end
    cohort = sheet.index[sheet["sample_type"] == "sample"]
    optional = set(optional_samples)
    absent = [s for s in cohort if s not in kept and s not in optional]
    if absent and not allow_missing_samples:
        raise DataError(
            f"{path}: sample(s) {listing(absent)} of {samples_path} are missing from layer '{layer}'. "
            "Add them to the matrix, remove them from the sheet, or set 'inputs: allow_missing_samples: true' "
            "if some samples truly lack this layer."
        )
    present = kept[sheet.loc[kept, "sample_type"] == "sample"]
    if len(present) < 2:
        lacking = len(cohort) - len(present)
        raise DataError(
            f"{path}: layer '{layer}' has {len(present)} sample{'' if len(present) == 1 else 's'}"
            + (f" ({listing(present)})" if len(present) else "")
            + f" of the {len(cohort)} cohort samples of {samples_path} ({lacking} lack it). A layer needs at least "
            "2 samples: nothing about its features (spread, batches, a model) can be estimated from one. Add the "
            "layer's other samples to the matrix, or remove the layer from the omics sheet."
        )
    if has_qc:
        order = pd.to_numeric(sheet.loc[kept, "injection_order"], errors="coerce")
        if order.isna().any():
            s = order.index[order.isna()][0]
            raise DataError(
                f"{samples_path}: sample '{s}' needs a numeric injection_order (layer '{layer}' has QCs; "
                f"{int(order.isna().sum())} injection(s) without one). Fill in the run order."
            )
    if batch_column:
        batches = sheet.loc[present, batch_column].str.strip()
        if (batches == "").any():
            s = batches.index[batches == ""][0]
            raise DataError(
                f"{samples_path}: sample '{s}' has no value in batch column '{batch_column}'. Fill in its batch."
            )
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
    order = [s for s in sheet.index if s in kept]
    if len(order) == len(X.index) and all(a == b for a, b in zip(order, X.index)):
        return X  # already in sheet order, nothing left out: the same frame, not a copy of it
    return X.loc[order]


def check_layer_not_empty(X: pd.DataFrame, *, layer: str, step: str) -> None:
    """Stop when a step (typically a filter) removed every feature of a layer; ``step`` names it in the message."""
    if X.shape[1] == 0:
        raise ConfigError(
            f"layer '{layer}': no feature left after {step}. Relax the thresholds for this layer in "
            "config 'preprocess' (min_observed, top_variable, qc_rsd_max)."
        )
