"""Rules enrich_*: pathways behind MOFA factors, model coefficients and selected features; one
multi-omics pathway table; the optional download of a gene-set library."""

from __future__ import annotations

import logging

import pandas as pd

from moflow.enrich import (EnrichmentPlan, coefficient_lists, combine_layers, competitive_lists, ora_lists,
                      plan_enrichment, prerank_lists, run_collections, weight_lists)
from moflow.errors import ConfigError
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")


@reads("enrichment")
def _make_plan(omics: pd.DataFrame, files: tuple[dict, dict], layer_features: dict, settings: Settings
              ) -> EnrichmentPlan:
    """The enrichment plan (feature -> gene maps, gene-set collections) from the omics sheet and the
    files config ``enrichment`` names (``files``: :func:`moflow.io.read_enrichment_files`)."""
    gmt_lines, annotations = files
    return plan_enrichment(omics, settings.enrichment, gmt_lines=gmt_lines, annotations=annotations,
                           layer_features=layer_features, log=log)


def _weights(weights: pd.DataFrame) -> pd.DataFrame:
    weights = weights.copy()
    weights["feature"] = weights["feature"].astype(str)
    return weights


@reads("enrichment")
def _mofa_lists(weights: pd.DataFrame, variance: pd.DataFrame, plan: EnrichmentPlan, settings: Settings) -> dict:
    """{(layer, factor): weights} of the plan's layers, factors below the variance threshold left out."""
    return weight_lists(weights, layers=plan.layers, variance=variance,
                        min_variance_explained=settings.enrichment.min_variance_explained)


def _prerank_options(settings: Settings) -> dict:
    en = settings.enrichment
    return {"permutations": en.permutations, "min_size": en.min_size, "max_size": en.max_size, "weight": en.weight,
            "seed": settings.seed, "engine": en.engine, "conditional_alpha": en.alpha if en.conditional else None}


@reads("enrichment", "seed", uses=[_make_plan, _mofa_lists])
def enrich_mofa(weights: pd.DataFrame, variance: pd.DataFrame, omics: pd.DataFrame, files, settings: Settings
                ) -> dict:
    """Prerank of MOFA weights per factor and layer, per collection (+ conditional test)."""
    weights = _weights(weights)
    features = {v: list(d["feature"].unique()) for v, d in weights.groupby("view")}
    plan = _make_plan(omics, files, features, settings)
    lists = _mofa_lists(weights, variance, plan, settings)
    pairs = weights.loc[weights["view"].isin(plan.layers), ["view", "factor"]].drop_duplicates()
    skipped = sorted(set(pairs.itertuples(index=False, name=None)) - set(lists))
    log.info("%d factor x layer lists tested; not tested (variance explained below %s): %s", len(lists),
             settings.enrichment.min_variance_explained, skipped)
    return {"table": run_collections(plan, lists, prerank_lists, keys=["layer", "factor"],
                                     **_prerank_options(settings))}


@reads("enrichment", uses=[_make_plan, _mofa_lists])
def enrich_competitive(weights: pd.DataFrame, variance: pd.DataFrame, factors: pd.DataFrame,
                       data: dict[str, pd.DataFrame], omics: pd.DataFrame, files, settings: Settings) -> dict:
    """PCGSE-style competitive test of MOFA weights (CAMERA's correlation correction from the
    preprocessed layers, the factor regressed out)."""
    en = settings.enrichment
    weights = _weights(weights)
    factors = factors.set_index("sample")
    factors.index = factors.index.astype(str)
    features = {v: list(d["feature"].unique()) for v, d in weights.groupby("view")}
    plan = _make_plan(omics, files, features, settings)
    lists = _mofa_lists(weights, variance, plan, settings)
    fixed = en.competitive.inter_gene_correlation
    return {"table": run_collections(plan, lists, competitive_lists, keys=["layer", "factor"], data=data,
                                     factors=factors,
                                     inter_gene_correlation=None if fixed == "estimate" else float(fixed),
                                     ranks=en.competitive.ranks, min_size=en.min_size, max_size=en.max_size)}


def _model_features(tables: dict[str, pd.DataFrame], features: dict | None = None) -> dict:
    features = {k: set(v) for k, v in (features or {}).items()}
    for t in tables.values():
        t["feature"] = t["feature"].astype(str)
        for layer, d in t.groupby("layer"):
            features.setdefault(layer, set()).update(d["feature"])
    return {k: sorted(v) for k, v in features.items()}


@reads("enrichment", "seed", uses=[_make_plan])
def enrich_models(coefficients: dict[str, pd.DataFrame], omics: pd.DataFrame, files, settings: Settings) -> dict:
    """Prerank of the early and late models' coefficients per layer and target class."""
    tables = {m: t.copy() for m, t in coefficients.items()}
    plan = _make_plan(omics, files, _model_features(tables), settings)
    out = []
    for model, coefs in tables.items():
        lists = coefficient_lists(coefs, layers=plan.layers)
        res = run_collections(plan, lists, prerank_lists, keys=["layer", "target"], **_prerank_options(settings))
        res.insert(1, "model", model)
        out.append(res)
        log.info("%s: %d layer x target lists", model, len(lists))
    return {"table": pd.concat(out, ignore_index=True)}


@reads("enrichment", uses=[_make_plan, _mofa_lists])
def enrich_ora(weights: pd.DataFrame, variance: pd.DataFrame, coefficients: dict[str, pd.DataFrame],
               omics: pd.DataFrame, files, settings: Settings) -> dict:
    """Over-representation of the top features of every MOFA factor and model, against every scored
    feature of the layer (explicit background)."""
    en = settings.enrichment
    weights = _weights(weights)
    models = {m: t.copy() for m, t in coefficients.items()}
    features = {v: set(d["feature"]) for v, d in weights.groupby("view")}
    plan = _make_plan(omics, files, _model_features(models, features), settings)
    sources = {"mofa": _mofa_lists(weights, variance, plan, settings)}
    for m, t in models.items():
        sources[m] = coefficient_lists(t, layers=plan.layers)
    out = []
    for source, lists in sources.items():
        res = run_collections(plan, lists, ora_lists, keys=["layer", "component"], top=en.ora.top,
                              min_size=en.min_size, max_size=en.max_size,
                              conditional_alpha=en.alpha if en.conditional else None)
        res.insert(1, "source", source)
        out.append(res)
        log.info("%s: %d lists, top %d features per side", source, len(lists), en.ora.top)
    return {"table": pd.concat(out, ignore_index=True)}


@reads("enrichment")
def enrich_combine(mofa: pd.DataFrame, models: pd.DataFrame, settings: Settings) -> dict:
    """One multi-omics pathway table (Stouffer across layers, BH per collection and factor or model),
    with Brown's combination with DPM's directional penalty beside it (columns p_brown, fdr_brown;
    :func:`moflow.enrich.combine.brown_combine`), appended after the Stouffer columns."""
    from moflow.enrich import brown_combine

    alpha = settings.enrichment.alpha
    by = ["collection", "source", "component"]
    mofa = mofa.rename(columns={"factor": "component"})
    mofa.insert(1, "source", "mofa")
    models = models.rename(columns={"model": "source", "target": "component"})
    table = pd.concat([mofa, models], ignore_index=True)
    table["component"] = table["component"].astype(str)
    res = combine_layers(table, by=by, alpha=alpha)
    brown = brown_combine(table, by=by, alpha=alpha, directional=True)
    res = res.merge(brown[[*by, "term", "p_brown", "fdr_brown"]], on=[*by, "term"], how="left",
                    validate="one_to_one")
    log.info("%d pathway x component rows; %d with FDR < %s (Stouffer), %d with Brown/DPM FDR < %s", len(res),
             int((res["fdr"] < alpha).sum()), alpha, int((res["fdr_brown"] < alpha).sum()), alpha)
    return {"table": res}


@reads("enrichment")
def enrich_download(library: str, target: str, settings: Settings) -> dict:
    """Fetch one gene-set library (only when config turns network use on)."""
    from moflow.enrich import download_library

    dl = settings.enrichment.download
    if not dl.enabled:
        raise ConfigError(
            f"gene-set library '{library}' ({target}) is not here and network use is off "
            "(config enrichment: download: enabled: false). Copy the GMT file to that path, or turn downloads on "
            f"and list '{library}' under enrichment: download: libraries."
        )
    if library not in dl.libraries:
        raise ConfigError(f"gene-set library '{library}' is not listed in config enrichment: download: libraries "
                          f"({', '.join(dl.libraries) or 'empty'}); nothing is downloaded unless listed there.")
    sets = download_library(library, source=dl.source, organism=dl.organism, msigdb_version=dl.msigdb_version)
    log.info("downloaded %s from %s: %d sets", library, dl.source, len(sets))
    return {"gmt": sets}
