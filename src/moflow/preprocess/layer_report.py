"""What preprocessing did to one layer of the full cohort.

The chain fit (:func:`fit_transform_layer`) and every table the rule preprocess_layer writes about it
(:func:`layer_report`, a :class:`LayerReport`): diagnostics before and after batch correction and after
every step, PCA coordinates, the step history, the imputation benchmark and the missingness per sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from moflow.cohort import Cohort
from moflow.preprocess.chain_factory import build_preprocessor
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")


def fit_transform_layer(pp, X: pd.DataFrame, y: pd.Series, test: set) -> pd.DataFrame:
    """Fit a layer's chain on every sample but the external test ones and return all samples processed.

    The chain is fit on the rows not in ``test`` (QC injections included); external test samples are
    only transformed, and come after the fitted rows.

    Parameters
    ----------
    pp : LayerPreprocessor
        The layer's chain (unfitted; fit here, in place).
    X : pandas.DataFrame
        The raw layer, samples x features.
    y : pandas.Series
        The outcome (training samples' values reach ``fit``).
    test : set
        The external test samples.

    Returns
    -------
    pandas.DataFrame
        The processed layer: fitted rows, then the external test rows.
    """
    from moflow.preprocess.fit_apply import fit_apply

    fit_rows = [s for s in X.index if s not in test]
    apply_rows = [s for s in X.index if s in test]
    fitted, applied = fit_apply(pp, X, y, fit_rows, apply_rows)
    return pd.concat([fitted, applied]) if apply_rows else fitted


@dataclass
class LayerReport:
    """What preprocess_layer writes about one layer (see :func:`layer_report`).

    Attributes
    ----------
    matrix : pandas.DataFrame
        The processed layer (fitted rows, then the external test rows).
    diagnostics : pandas.DataFrame
        One row per stage (before/after batch correction, after every step).
    pca : pandas.DataFrame
        PC1/PC2 coordinates before and after batch correction.
    steps : pandas.DataFrame
        The step history of the fitted chain.
    imputation : pandas.DataFrame
        The imputation benchmark (:func:`moflow.preprocess.impute.imputation_table`).
    missingness : pandas.DataFrame
        Missing fraction per sample of the raw layer.
    pca_steps : pandas.DataFrame
        PC1/PC2 coordinates after every step.
    raw : pandas.DataFrame
        The raw layer.
    """

    matrix: pd.DataFrame
    diagnostics: pd.DataFrame
    pca: pd.DataFrame
    steps: pd.DataFrame
    imputation: pd.DataFrame
    missingness: pd.DataFrame
    pca_steps: pd.DataFrame
    raw: pd.DataFrame


@reads("seed", uses=[build_preprocessor])
def layer_report(X: pd.DataFrame, row: pd.Series, cohort: Cohort, settings: Settings) -> LayerReport:
    """Preprocess one layer on the full cohort and describe what each step, batch correction above all, did.

    The diagnostics table has the stages "before_batch_correction" (the same chain with batch
    correction switched off, so the two differ by that step alone), "after", and "after_<step>" for
    every step of the fitted chain; ``imputation`` holds the NRMSE of the imputation methods on
    observed values hidden the way the layer loses them, ``missingness`` the missing fraction per
    sample of the raw layer, ``pca_steps`` the PC coordinates after every step. A batch step that
    corrected nothing (one batch, no batch column, method ``none``) has method ``none`` in the steps table
    and its reason ("no batch correction: ...") as summary, also written to the job's log.

    Parameters
    ----------
    X : pandas.DataFrame
        The raw layer, samples x features.
    row : pandas.Series
        The layer's row of the omics sheet.
    cohort : Cohort
        The cohort (:func:`moflow.cohort.make_cohort`).
    settings : Settings
        Read: ``seed`` and what :func:`moflow.preprocess.chain_factory.build_preprocessor` reads.

    Returns
    -------
    LayerReport
        The processed matrix, the tables about it, and the raw layer.
    """
    from sklearn.base import clone

    from moflow.evaluate import outcome_labels
    from moflow.preprocess.diagnostics import missingness_table, stage_diagnostics, step_diagnostics
    from moflow.preprocess.impute import imputation_table

    info, y = cohort.info, cohort.y
    # what diagnostics show: the outcome, or a survival outcome's event status (no outcome: no groups)
    labels = outcome_labels(y) if y is not None else pd.Series(None, index=cohort.samples, dtype=object, name="outcome")
    pp = build_preprocessor(row, settings, info)
    test = set(cohort.test)
    after = fit_transform_layer(pp, X, y, test)
    for h in pp.history_:  # a batch step that corrected nothing says so in the job's log, as in the steps table
        if h["step"] == "batch" and h["summary"].startswith("no batch correction"):
            say = log.info if "batch method 'none'" in h["summary"] else log.warning
            say("layer %s: %s", row["layer"], h["summary"])
    no_batch = dict(pp.settings)
    no_batch["batch"] = {"method": "none"}
    # a clone: pp keeps the fitted state (and step history) of the chain that produced `after`
    before = fit_transform_layer(clone(pp).set_params(settings=no_batch), X, y, test) if row["batch_column"] else after
    bc = row["batch_column"] or None
    batch = info[bc] if bc else None
    seed = int(settings.seed)
    rows, coords = [], []
    for stage, M in (("before_batch_correction", before), ("after", after)):
        d, c = stage_diagnostics(M, stage, batch=batch, outcome=labels, seed=seed)
        rows.append(d)
        coords.append(c)
    cohort_rows = X.index[X.index.isin(cohort.samples)]
    _, trace = pp.transform_trace(X)
    step_table, step_coords = step_diagnostics(trace, batch=batch, outcome=labels.reindex(cohort_rows), seed=seed)
    diagnostics = pd.concat([pd.DataFrame(rows), step_table], ignore_index=True)
    qc_step = pp.named_step("qc_drift")
    if qc_step is not None and hasattr(qc_step, "qc_rsd_before_"):
        diagnostics["qc_median_rsd_before_drift"] = qc_step.qc_rsd_before_
        diagnostics["qc_median_rsd_after_drift"] = qc_step.qc_rsd_after_
    batch_step = pp.named_step("batch")
    if getattr(batch_step, "confounding_", None):
        diagnostics["batch_outcome_" + batch_step.confounding_["statistic"]] = batch_step.confounding_["value"]
    cols = ["stage"] + [c for c in diagnostics.columns if c != "stage"]
    names = [name for name, _ in pp.steps_]
    impute_in = None
    if "impute" in names:
        i = names.index("impute")
        impute_in = trace[names[i - 1]] if i > 0 else X
        impute_in = impute_in.loc[impute_in.index.isin(cohort_rows) & ~impute_in.index.isin(test)]
    return LayerReport(
        matrix=after,
        diagnostics=diagnostics[cols],
        pca=pd.concat(coords, ignore_index=True),
        steps=pd.DataFrame(pp.history_),
        imputation=imputation_table(pp.named_step("impute"), impute_in, labels, seed=seed),
        missingness=missingness_table(
            X, batch=batch, outcome=labels, sample_type=info["sample_type"] if "sample_type" in info else None
        ),
        pca_steps=step_coords,
        raw=X,
    )
