"""Rule synthesize: a synthetic copy of the cohort and its quality (``results/synthetic/``)."""

from __future__ import annotations

import pandas as pd

from moflow.scarcity.synthesize import safe_to_share, synthetic_cohort
from moflow.settings import Settings, reads
from moflow.tasks._common import load_cohort


@reads(uses=[load_cohort, synthetic_cohort])
def synthesize(
    raw: dict[str, pd.DataFrame],
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
    paths: dict[str, str],
) -> dict:
    """The synthetic cohort's files (:func:`moflow.scarcity.synthesize.synthetic_cohort`).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.
    paths : dict of str to str
        {layer: the synthetic layer's file}, written into the synthetic omics sheet.

    Returns
    -------
    dict
        {layers: one samples x features table per layer (first column ``sample``), samples: the synthetic
        sample sheet, omics: an omics sheet of the synthetic files (a config can run the workflow on them),
        quality: the quality table, utility: the train-on-synthetic scores per fold}.
    """
    import logging

    cohort = load_cohort(raw_samples, raw_omics, settings)
    out = synthetic_cohort(raw, cohort, settings)
    layers = [out["layers"][n].rename_axis("sample").reset_index() for n in raw]
    omics = raw_omics.copy()
    omics["path"] = [paths[str(n)] for n in omics["layer"]]
    omics["orientation"] = "samples_in_rows"
    if "has_qc" in omics.columns:
        omics["has_qc"] = "false"  # the synthetic cohort has no QC injections
    sheet = out["samples"].rename_axis("sample").reset_index()
    for c in sheet.columns:
        numbers = pd.to_numeric(sheet[c], errors="coerce")
        if c != "sample" and numbers.notna().all() and (numbers == numbers.round()).all():
            sheet[c] = numbers.astype("int64")  # events, injection orders: whole numbers stay whole
    q = out["quality"]
    failed = q.loc[~q["passed"].astype(bool), "check"].tolist()
    logging.getLogger("moflow").info(
        "synthetic cohort: %d samples from %d fitted (%d held out); %s",
        len(sheet),
        len(out["fitted"]),
        len(out["held_out"]),
        "every check passed: safe to share by these tests"
        if safe_to_share(q)
        else "not safe to share by these tests; failed: " + "; ".join(dict.fromkeys(failed)),
    )
    utility = out["utility"] if out["utility"] is not None else pd.DataFrame()
    return {"layers": layers, "samples": sheet, "omics": omics, "quality": q, "utility": utility}
