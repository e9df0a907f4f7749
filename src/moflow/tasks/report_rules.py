"""Rule report: figures, the HTML report, the provenance manifest and what the run decided."""

from __future__ import annotations

import pandas as pd

from moflow.settings import SECTIONS, Settings, reads


@reads(*SECTIONS)
def build_report(
    layers: list[str],
    tables: dict[str, pd.DataFrame],
    per_layer: dict[str, dict],
    settings: Settings,
    *,
    config: dict,
    file_hashes: dict[str, str],
    commit: str = "unknown",
) -> dict:
    """Every figure, the HTML page, the provenance manifest and the decisions (:func:`moflow.report.report_outputs`).

    Parameters
    ----------
    layers : list of str
        The layers.
    tables : dict of str to pandas.DataFrame
        The report's single tables by input name (samples, input_summary, variance, scoreboard,
        associations, late_weights, comparison, permutation, stability, and the enrichment tables where
        enrichment ran).
    per_layer : dict of str to dict
        {input name: {layer: table or PNG bytes}} for diagnostics, steps, pca, imputation,
        missingness_png, pca_steps_png.
    settings : Settings
        Every section.
    config : dict
        The validated config as given (for provenance).
    file_hashes : dict of str to str
        {input file: sha256} of every file the user handed the workflow (sheets, layer matrices,
        gene-set and annotation files).
    commit : str
        The git commit of the workflow checkout (:func:`moflow.io.git_commit`).

    Returns
    -------
    dict
        {output name: PNG bytes, list of PNG bytes (pca, one per layer), HTML text, provenance, what the
        run decided (``decisions``: :func:`moflow.report.decisions.decisions`)}.
    """
    from moflow.report import report_outputs

    return report_outputs(layers, tables, per_layer, settings, config=config, file_hashes=file_hashes, commit=commit)
