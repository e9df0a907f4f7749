"""Rules enrich_*: pathways behind MOFA factors, model coefficients and selected features.

Also one multi-omics pathway table, and the optional download of a gene-set library.
"""

from __future__ import annotations

import logging

import pandas as pd

from moflow.enrich import (
    coefficient_lists,
    combine_sources,
    competitive_lists,
    make_plan,
    model_features,
    mofa_lists,
    ora_lists,
    prerank_lists,
    prerank_options,
    run_collections,
    with_string_features,
)
from moflow.errors import ConfigError
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")
# the first columns of a model prerank table (an empty one keeps them)
_MODEL_COLUMNS = ["collection", "model", "layer", "target", "term", "nes", "fdr"]


@reads("enrichment", "seed", uses=[make_plan, mofa_lists, prerank_options])
def enrich_mofa(weights: pd.DataFrame, variance: pd.DataFrame, omics: pd.DataFrame, files, settings: Settings) -> dict:
    """Prerank of MOFA weights per factor and layer, per collection (+ conditional test).

    Parameters
    ----------
    weights : pandas.DataFrame
        MOFA's weights (view, feature, factor, weight).
    variance : pandas.DataFrame
        MOFA's variance explained per view and factor; factors below ``enrichment:
        min_variance_explained`` in a layer are not tested there.
    omics : pandas.DataFrame
        The omics sheet.
    files : tuple
        The enrichment files (:func:`moflow.io.read_enrichment_files`).
    settings : Settings
        Read: ``enrichment``, ``seed``.

    Returns
    -------
    dict
        {table: the results of every collection}.
    """
    weights = with_string_features(weights)
    features = {v: list(d["feature"].unique()) for v, d in weights.groupby("view")}
    plan = make_plan(omics, files, features, settings)
    lists = mofa_lists(weights, variance, plan, settings)
    pairs = weights.loc[weights["view"].isin(plan.layers), ["view", "factor"]].drop_duplicates()
    skipped = sorted(set(pairs.itertuples(index=False, name=None)) - set(lists))
    log.info(
        "%d factor x layer lists tested; not tested (variance explained below %s): %s",
        len(lists),
        settings.enrichment.min_variance_explained,
        skipped,
    )
    return {"table": run_collections(plan, lists, prerank_lists, keys=["layer", "factor"], **prerank_options(settings))}


@reads("enrichment", uses=[make_plan, mofa_lists])
def enrich_competitive(
    weights: pd.DataFrame,
    variance: pd.DataFrame,
    factors: pd.DataFrame,
    data: dict[str, pd.DataFrame],
    omics: pd.DataFrame,
    files,
    settings: Settings,
) -> dict:
    """PCGSE-style competitive test of MOFA weights.

    CAMERA's correlation correction comes from the preprocessed layers, the factor regressed out.

    Parameters
    ----------
    weights, variance : pandas.DataFrame
        MOFA's weights and variance explained.
    factors : pandas.DataFrame
        MOFA's factors (a ``sample`` column, one column per factor).
    data : dict of str to pandas.DataFrame
        {layer: preprocessed matrix}.
    omics : pandas.DataFrame
        The omics sheet.
    files : tuple
        The enrichment files (:func:`moflow.io.read_enrichment_files`).
    settings : Settings
        Read: ``enrichment``.

    Returns
    -------
    dict
        {table: the results of every collection}.
    """
    en = settings.enrichment
    weights = with_string_features(weights)
    factors = factors.set_index("sample")
    factors.index = factors.index.astype(str)
    features = {v: list(d["feature"].unique()) for v, d in weights.groupby("view")}
    plan = make_plan(omics, files, features, settings)
    lists = mofa_lists(weights, variance, plan, settings)
    fixed = en.competitive.inter_gene_correlation
    return {
        "table": run_collections(
            plan,
            lists,
            competitive_lists,
            keys=["layer", "factor"],
            data=data,
            factors=factors,
            inter_gene_correlation=None if fixed == "estimate" else float(fixed),
            ranks=en.competitive.ranks,
            min_size=en.min_size,
            max_size=en.max_size,
        )
    }


@reads("enrichment", "seed", uses=[make_plan, prerank_options])
def enrich_models(coefficients: dict[str, pd.DataFrame], omics: pd.DataFrame, files, settings: Settings) -> dict:
    """Prerank of the early and late models' coefficients per layer and target class.

    Parameters
    ----------
    coefficients : dict of str to pandas.DataFrame
        {model: its coefficient table}.
    omics : pandas.DataFrame
        The omics sheet.
    files : tuple
        The enrichment files (:func:`moflow.io.read_enrichment_files`).
    settings : Settings
        Read: ``enrichment``, ``seed``.

    Returns
    -------
    dict
        {table: the results of every model, with a ``model`` column}.
    """
    tables = {m: t.copy() for m, t in coefficients.items()}
    plan = make_plan(omics, files, model_features(tables), settings)
    out = []
    for model, coefs in tables.items():
        lists = coefficient_lists(coefs, layers=plan.layers)
        res = run_collections(plan, lists, prerank_lists, keys=["layer", "target"], **prerank_options(settings))
        res.insert(1, "model", model)
        out.append(res)
        log.info("%s: %d layer x target lists", model, len(lists))
    # no model (a run without an outcome): an empty table
    return {"table": pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=_MODEL_COLUMNS)}


@reads(uses=[enrich_models])
def enrich_subtypes(markers: pd.DataFrame, omics: pd.DataFrame, files, settings: Settings) -> dict:
    """Prerank of each subtype's markers per layer: its t statistics against the rest (results/subtypes/markers.tsv).

    Parameters
    ----------
    markers : pandas.DataFrame
        The subtypes' markers (layer, subtype, feature, t, ...).
    omics : pandas.DataFrame
        The omics sheet.
    files : tuple
        The enrichment files (:func:`moflow.io.read_enrichment_files`).
    settings : Settings
        What :func:`enrich_models` reads.

    Returns
    -------
    dict
        {table: the prerank results per layer and subtype (``subtype`` column); empty where there is one subtype}.
    """
    if markers.empty:
        return {"table": pd.DataFrame(columns=[c if c != "target" else "subtype" for c in _MODEL_COLUMNS])}
    wide = markers.pivot_table(index=["layer", "feature"], columns="subtype", values="t", aggfunc="first")
    wide = wide.fillna(0.0).reset_index()
    wide.columns.name = None
    table = enrich_models({"subtypes": wide}, omics, files, settings)["table"]
    return {"table": table.drop(columns=["model"]).rename(columns={"target": "subtype"})}


@reads("enrichment", uses=[make_plan, mofa_lists])
def enrich_ora(
    weights: pd.DataFrame,
    variance: pd.DataFrame,
    coefficients: dict[str, pd.DataFrame],
    omics: pd.DataFrame,
    files,
    settings: Settings,
) -> dict:
    """Over-representation of the top features of every MOFA factor and model.

    Tested against every scored feature of the layer (explicit background).

    Parameters
    ----------
    weights, variance : pandas.DataFrame
        MOFA's weights and variance explained.
    coefficients : dict of str to pandas.DataFrame
        {model: its coefficient table}.
    omics : pandas.DataFrame
        The omics sheet.
    files : tuple
        The enrichment files (:func:`moflow.io.read_enrichment_files`).
    settings : Settings
        Read: ``enrichment``.

    Returns
    -------
    dict
        {table: the results of every source (``mofa`` and the models), with a ``source`` column}.
    """
    en = settings.enrichment
    weights = with_string_features(weights)
    models = {m: t.copy() for m, t in coefficients.items()}
    features = {v: set(d["feature"]) for v, d in weights.groupby("view")}
    plan = make_plan(omics, files, model_features(models, features), settings)
    sources = {"mofa": mofa_lists(weights, variance, plan, settings)}
    for m, t in models.items():
        sources[m] = coefficient_lists(t, layers=plan.layers)
    out = []
    for source, lists in sources.items():
        res = run_collections(
            plan,
            lists,
            ora_lists,
            keys=["layer", "component"],
            top=en.ora.top,
            min_size=en.min_size,
            max_size=en.max_size,
            conditional_alpha=en.alpha if en.conditional else None,
        )
        res.insert(1, "source", source)
        out.append(res)
        log.info("%s: %d lists, top %d features per side", source, len(lists), en.ora.top)
    return {"table": pd.concat(out, ignore_index=True)}


@reads("enrichment")
def enrich_combine(mofa: pd.DataFrame, models: pd.DataFrame, settings: Settings) -> dict:
    """One multi-omics pathway table (Stouffer across layers, BH per collection and factor or model).

    With Brown's combination with DPM's directional penalty beside it (columns p_brown, fdr_brown;
    :func:`moflow.enrich.combine.combine_sources`), appended after the Stouffer columns. ``mofa`` and
    ``models`` are the tables of :func:`enrich_mofa` and :func:`enrich_models`; returns {table}.
    """
    alpha = settings.enrichment.alpha
    res = combine_sources(mofa, models, alpha=alpha)
    log.info(
        "%d pathway x component rows; %d with FDR < %s (Stouffer), %d with Brown/DPM FDR < %s",
        len(res),
        int((res["fdr"] < alpha).sum()),
        alpha,
        int((res["fdr_brown"] < alpha).sum()),
        alpha,
    )
    return {"table": res}


@reads("enrichment")
def enrich_download(library: str, target: str, settings: Settings) -> dict:
    """Fetch one gene-set library (only when config turns network use on).

    Parameters
    ----------
    library : str
        The library; it must be listed in ``enrichment: download: libraries``.
    target : str
        The file it is to be written to (named in the message when downloads are off).
    settings : Settings
        Read: ``enrichment``.

    Returns
    -------
    dict
        {gmt: the library's gene sets}.
    """
    from moflow.enrich import download_library

    dl = settings.enrichment.download
    if not dl.enabled:
        raise ConfigError(
            f"gene-set library '{library}' ({target}) is not here and network use is off "
            "(config enrichment: download: enabled: false). Copy the GMT file to that path, or turn downloads on "
            f"and list '{library}' under enrichment: download: libraries."
        )
    if library not in dl.libraries:
        raise ConfigError(
            f"gene-set library '{library}' is not listed in config enrichment: download: libraries "
            f"({', '.join(dl.libraries) or 'empty'}); nothing is downloaded unless listed there."
        )
    sets = download_library(library, source=dl.source, organism=dl.organism, msigdb_version=dl.msigdb_version)
    log.info("downloaded %s from %s: %d sets", library, dl.source, len(sets))
    return {"gmt": sets}
