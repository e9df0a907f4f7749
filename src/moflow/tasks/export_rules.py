"""Rule export_mudata: the run's results as one MuData file (``results/moflow.h5mu``)."""

from __future__ import annotations

import pandas as pd

from moflow.inputs import check_omics_sheet
from moflow.settings import SECTIONS, Settings, reads, thaw


@reads(*SECTIONS)
def export_mudata(
    layers: dict[str, pd.DataFrame],
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    settings: Settings,
    *,
    config,
    file_hashes: dict[str, str],
    commit: str = "unknown",
) -> dict:
    """The run's results as one MuData object (:func:`moflow.export.h5mu.to_mudata`).

    The preprocessed layers, MOFA factors and weights, per-sample held-out predictions, the config
    and the provenance. ``settings`` is not read beyond the config it is made of (and the sheets'
    paths, for messages): the export stores the whole config, so any change to it makes a new file.

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix}.
    raw_samples : pandas.DataFrame
        The checked sample sheet the input stage wrote (``results/inputs/samples.tsv``).
    raw_omics : pandas.DataFrame
        The omics sheet.
    tables : dict of str to pandas.DataFrame
        ``factors``, ``weights``, ``variance`` (MOFA), ``predictions`` and ``scoreboard`` (evaluation; absent
        without an outcome), ``subtypes`` (the assignments, where subtypes were sought).
    settings : Settings
        Every section.
    config : Mapping
        The config (every section, for ``uns``).
    file_hashes : dict of str to str
        {input file as the user named it: sha256}.
    commit : str
        The workflow's git commit.

    Returns
    -------
    dict
        {"mudata": MuData}.
    """
    from moflow.export import provenance, to_mudata

    sheet = raw_samples.set_index("sample", drop=False)
    omics = check_omics_sheet(raw_omics, path=str(settings.omics), samples=sheet, samples_path=str(settings.samples))
    mdata = to_mudata(
        {layer: layers[layer] for layer in omics["layer"]},
        sheet,
        omics,
        factors=tables["factors"],
        weights=tables["weights"],
        variance=tables["variance"],
        predictions=tables.get("predictions"),
        scoreboard=tables.get("scoreboard"),
        subtypes=tables.get("subtypes"),
        config=thaw(config),
        provenance=provenance(file_hashes, commit=commit),
    )
    return {"mudata": mdata}
