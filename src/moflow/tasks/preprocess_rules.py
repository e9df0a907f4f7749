"""Rule preprocess_layer: one layer's chain fit on the full cohort, with what every step did."""

from __future__ import annotations

import pandas as pd

from moflow.preprocess import layer_report
from moflow.settings import Settings, reads
from moflow.tasks._common import load_cohort


@reads(uses=[load_cohort, layer_report])
def preprocess_layer(
    X: pd.DataFrame, layer: str, raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings
) -> dict:
    """The rule's call: the sheets checked, ``layer``'s report and its two figures.

    The report is :func:`moflow.preprocess.layer_report.layer_report`.

    Parameters
    ----------
    X : pandas.DataFrame
        The layer's validated input matrix.
    layer : str
        The layer.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        {output name: table, matrix or PNG bytes}.
    """
    from moflow import report as rp

    cohort = load_cohort(raw_samples, raw_omics, settings)
    r = layer_report(X, cohort.omics.loc[layer], cohort, settings)
    return {
        "matrix": r.matrix,
        "diagnostics": r.diagnostics,
        "pca": r.pca,
        "steps": r.steps,
        "imputation": r.imputation,
        "missingness": r.missingness,
        "pca_steps": r.pca_steps,
        "missingness_png": rp.png_bytes(rp.plot_missingness(r.raw, r.missingness, layer)),
        "pca_steps_png": rp.png_bytes(rp.plot_pca_steps(r.pca_steps, layer)),
    }
