"""The report's "Preprocessing" section.

Per layer, the steps and their feature counts, the missingness map, the imputation check, the batch
diagnostics and the PCA (interactive SVG where the coordinates are given, else the PNG), with the PCA after
every step folded under it. Nothing here touches files.
"""

from __future__ import annotations

import html

import pandas as pd

from moflow.report.html import details, img, table
from moflow.report.svg import pca_svg


def preprocessing_html(
    layers, inputs, steps, diagnostics, pca, pca_png, missingness_png, pca_steps_png, imputation
) -> str:
    """The section's body (HTML).

    Per layer ``steps``, ``diagnostics``, the PCA (``pca`` coordinates as SVG, else ``pca_png``) and, where
    given, the missingness map (only for a layer with missing values, per ``inputs``' missing_fraction), the
    imputation table and the PCA after every step. A batch step that corrected nothing (its summary "no batch
    correction: ...", e.g. one batch) is also said in a note under the steps table.

    Parameters
    ----------
    layers : list of str
        The layers, in report order.
    inputs : pandas.DataFrame
        The input summary (columns ``layer`` and ``missing_fraction``: which layers have missing values).
    steps : dict of str to pandas.DataFrame
        Per layer, the preprocessing steps and their feature counts.
    diagnostics : dict of str to pandas.DataFrame
        Per layer, the batch diagnostics.
    pca : dict of str to pandas.DataFrame or None
        Per layer, the PC coordinates (drawn as interactive SVG).
    pca_png : dict of str to bytes
        Per layer, the PCA figure (PNG) used where ``pca`` has no coordinates.
    missingness_png, pca_steps_png : dict of str to bytes or None
        Per layer, the missingness map and the PCA after every step (PNG).
    imputation : dict of str to pandas.DataFrame or None
        Per layer, the imputation check (NRMSE).

    Returns
    -------
    str
        The HTML.
    """
    missing = (
        dict(zip(inputs["layer"].astype(str), pd.to_numeric(inputs["missing_fraction"], errors="coerce")))
        if {"layer", "missing_fraction"} <= set(inputs.columns)
        else {}
    )
    pre = []
    for layer in layers:
        pre.append(f"<h3>{html.escape(layer)}</h3>")
        step_cols = ["step", "method", "features_in", "features_out", "missing_fraction_out"]
        pre.append(table(steps[layer][[c for c in step_cols + ["summary"] if c in steps[layer].columns]]))
        if {"step", "summary"} <= set(steps[layer].columns):
            # a batch step that corrected nothing (one batch, no batch column, method none) is said in words
            batch_rows = steps[layer].loc[steps[layer]["step"].astype(str) == "batch", "summary"]
            for why in batch_rows.fillna("").astype(str):
                if why.startswith("no batch correction"):
                    pre.append(f'<p class="note">{html.escape(why[0].upper() + why[1:])}.</p>')
        frac = missing.get(layer)
        if frac is not None and frac == 0:
            pre.append(
                '<p class="note">No missing values in the raw layer (no missingness map, nothing to impute).</p>'
            )
        elif missingness_png and layer in missingness_png:
            pre.append(
                details(
                    f"Missingness map of {layer} ({100 * frac:.1f}% of cells missing)"
                    if frac is not None
                    else f"Missingness map of {layer}",
                    img(missingness_png[layer], f"missingness map of {layer}"),
                )
            )
        if imputation and layer in imputation and len(imputation[layer]):
            pre.append(
                "<p>Imputation on observed values hidden the way this layer loses them (NRMSE; "
                "ratio_to_mean below 1 beats mean imputation):</p>" + table(imputation[layer])
            )
        pre.append(table(diagnostics[layer]))
        if pca is not None and layer in pca and len(pca[layer]):
            pre.append(pca_svg(pca[layer], layer))
        else:
            pre.append(img(pca_png[layer], f"PCA of {layer}"))
        if pca_steps_png and layer in pca_steps_png and len(steps[layer]):
            pre.append(
                details(
                    f"PCA of {layer} after every preprocessing step",
                    img(pca_steps_png[layer], f"PCA of {layer} after every step"),
                )
            )
    pre.append(
        '<p class="note">Silhouettes are computed on the top principal components; r2_batch and '
        "r2_outcome are the shares of the top components' variance explained by batch and outcome. Hover a "
        "point for its sample; it lights up in every panel of the layer.</p>"
    )
    return "".join(pre)
