"""What to test against what: collections, layers and gene maps assembled from config ``enrichment``.

The plan is assembled by :func:`plan_enrichment` (:func:`make_plan` from the settings and the files
read) and run per collection (:func:`run_collections`; the prerank options config sets:
:func:`prerank_options`); the config check made when the workflow starts is
:func:`check_enrichment_config`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from moflow.enrich.genemap import GeneMap, build_gene_maps
from moflow.enrich.genesets import check_overlap, parse_gmt
from moflow.errors import InputError
from moflow.settings import Enrichment, Settings, reads


@dataclass(frozen=True)
class Collection:
    """One collection of sets and the layers it is tested in.

    ``gene_level``: the layers' features are mapped to genes first (gene-set collections); otherwise
    the sets name the layer's own features (a layer's ``feature_sets``).

    Parameters
    ----------
    name : str
        The collection's name (config ``enrichment: gene_sets`` key or a layer's feature-set name).
    path : str
        Its GMT file.
    sets : dict
        Set name -> genes (or features).
    layers : tuple
        The layers it is tested in.
    gene_level : bool
        Whether the layers' features are mapped to genes first.
    """

    name: str
    path: str
    sets: dict
    layers: tuple
    gene_level: bool = True


@dataclass(frozen=True)
class EnrichmentPlan:
    """What an enrichment run tests: the collections and the layers' feature -> gene maps.

    Parameters
    ----------
    collections : tuple of Collection
        The collections, each with the layers it is tested in.
    gene_maps : dict of str to GeneMap
        Layer -> its feature -> gene map (the gene-level collections use them).
    """

    collections: tuple
    gene_maps: dict

    @property
    def layers(self) -> list[str]:
        """Every layer some collection is tested in."""
        return sorted({lay for c in self.collections for lay in c.layers})

    def maps_for(self, collection: Collection) -> dict[str, GeneMap]:
        """The gene maps a collection's lists go through: all of them if it is gene-level, else none."""
        return self.gene_maps if collection.gene_level else {}


def enrichment_layers(omics: pd.DataFrame, settings: Enrichment) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The layers with genes, and the layers with their own feature sets.

    From the omics sheet (``gene_ids``) and config ``enrichment: layers``.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet (columns ``layer``, optionally ``gene_ids``).
    settings : Enrichment
        Config ``enrichment``.

    Returns
    -------
    tuple
        (layers with genes: ``gene_ids`` symbol or an ``annotation``, {layer: {name: GMT path}} of
        layers with their own feature sets).
    """
    layer_cfg = settings.layers
    gene_ids = (
        omics.set_index("layer")["gene_ids"].astype(str).str.strip()
        if "gene_ids" in omics.columns
        else pd.Series("none", index=omics["layer"])
    )
    genes = [
        lay
        for lay in omics["layer"]
        if gene_ids.get(lay) == "symbol" or (lay in layer_cfg and layer_cfg[lay].annotation)
    ]
    feats = {lay: dict(layer_cfg[lay].feature_sets) if lay in layer_cfg else {} for lay in omics["layer"]}
    return genes, {k: v for k, v in feats.items() if v}


def plan_enrichment(
    omics: pd.DataFrame,
    settings: Enrichment,
    *,
    gmt_lines: dict[str, list[str]],
    annotations: dict[str, pd.DataFrame],
    layer_features: dict[str, list],
    log: logging.Logger | None = None,
) -> EnrichmentPlan:
    """Parse every collection, build the gene maps and check each collection's overlap with the layers.

    Each collection must share at least ``min_overlap`` of every layer's genes (or features). Raises
    InputError naming the file, the line or layer, and the fix.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet.
    settings : Enrichment
        Config ``enrichment``.
    gmt_lines : dict of str to list of str
        Path -> lines of every GMT named in config.
    annotations : dict of str to pandas.DataFrame
        Layer -> annotation table for layers with an ``annotation``.
    layer_features : dict of str to list
        Layer -> the features that have scores (the layer's features after preprocessing).
    log : logging.Logger, optional
        Gets each collection's overlap with each layer.

    Returns
    -------
    EnrichmentPlan
        The collections and the gene maps; a collection name used twice raises InputError.
    """
    gene_layers, feature_sets = enrichment_layers(omics, settings)
    maps = build_gene_maps(
        omics[omics["layer"].isin(gene_layers)], settings.layers, annotations, features=layer_features
    )
    min_overlap = float(settings.min_overlap)
    collections = []
    for name, path in settings.gene_sets.items():
        sets = parse_gmt(gmt_lines[path], path=path)
        for layer in gene_layers:
            genes = maps[layer].genes(layer_features.get(layer, []))
            frac = check_overlap(sets, genes, path=path, layer=layer, min_overlap=min_overlap)
            if log:
                log.info("%s: %d genes of layer %s, %.1f%% of them in a set", name, len(genes), layer, 100 * frac)
        if gene_layers:
            collections.append(Collection(name, path, sets, tuple(gene_layers), True))
    for layer, named in feature_sets.items():
        for name, path in named.items():
            sets = parse_gmt(gmt_lines[path], path=path)
            frac = check_overlap(sets, layer_features.get(layer, []), path=path, layer=layer, min_overlap=min_overlap)
            if log:
                log.info("%s: %.1f%% of the features of layer %s in a set", name, 100 * frac, layer)
            collections.append(Collection(name, path, sets, (layer,), False))
    names = [c.name for c in collections]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(
            f"config enrichment: the collection name(s) {', '.join(dup)} are used twice (gene_sets and a "
            "layer's feature_sets, or two layers). Give every collection its own name."
        )
    return EnrichmentPlan(tuple(collections), maps)


def run_collections(plan: EnrichmentPlan, lists: dict[tuple, pd.Series], func, **kwargs) -> pd.DataFrame:
    """Run ``func`` (:func:`prerank_lists`, :func:`ora_lists`, ...) per collection on its layers' lists.

    Parameters
    ----------
    plan : EnrichmentPlan
        The collections and gene maps.
    lists : dict of tuple to pandas.Series
        {(layer, ...): feature scores}; a collection gets those of its layers.
    func : callable
        ``func(lists, sets, gene_maps=..., **kwargs)`` -> a table.
    **kwargs
        Passed to ``func``.

    Returns
    -------
    pandas.DataFrame
        One table with a leading ``collection`` column (no rows, ``func``'s columns, when every
        result is empty).
    """
    out = []
    for c in plan.collections:
        sub = {k: v for k, v in lists.items() if k[0] in c.layers}
        res = func(sub, c.sets, gene_maps=plan.maps_for(c), **kwargs)
        res.insert(0, "collection", c.name)
        out.append(res)
    full = [o for o in out if not o.empty]
    if full:
        return pd.concat(full, ignore_index=True)
    empty = func({}, {}, **kwargs)  # the columns, no rows
    empty.insert(0, "collection", pd.Series(dtype=str))
    return empty


def check_enrichment_config(
    settings: Enrichment, layers, *, exists, produced=(), download_dir: str = "resources/genesets"
) -> None:
    """Check config ``enrichment`` when the workflow starts: known layers and files that will be there.

    Every file it names exists, is made by the workflow (``produced``, e.g. the demo's gene sets) or
    is a library that the download rule will fetch because downloads are on. A gene-set entry that is
    not a file is an error, never a lookup on a server. Every problem is listed in one InputError.

    Parameters
    ----------
    settings : Enrichment
        Config ``enrichment``.
    layers : collection of str
        The layers of the omics sheet.
    exists : callable
        Path -> bool.
    produced : iterable of str
        Files the workflow makes.
    download_dir : str
        Where the download rule writes ``<library>.gmt``.
    """
    problems = []
    layer_cfg = settings.layers
    for layer in layer_cfg:
        if layer not in layers:
            problems.append(f"layers: '{layer}' is not a layer of the omics sheet ({', '.join(layers)})")
    enabled, libraries = bool(settings.download.enabled), list(settings.download.libraries)
    for name, path in settings.gene_sets.items():
        path = str(path)
        if exists(path) or path in set(produced):
            continue
        stem = (
            path[len(download_dir) + 1 : -4] if path.startswith(download_dir + "/") and path.endswith(".gmt") else None
        )
        if stem is not None and enabled and stem in libraries:
            continue
        if "/" not in path and "." not in path:
            problems.append(
                f"gene_sets: {name}: '{path}' is not a file. Gene sets are read from local GMT files only; a library "
                "name is never looked up online. Name a GMT file, or fetch the library once with enrichment: download: "
                f"{{enabled: true, libraries: [{path}]}} and gene_sets: {{{name}: {download_dir}/{path}.gmt}}"
            )
        elif stem is not None and stem in libraries:
            problems.append(
                f"gene_sets: {name}: {path} is not here and downloads are off (enrichment: download: enabled: false). "
                "Copy the GMT file there, or turn downloads on"
            )
        else:
            problems.append(
                f"gene_sets: {name}: file {path} not found. Name an existing GMT file"
                + (f" (or list '{stem}' under download: libraries)" if stem is not None else "")
            )
    for layer, cfg in layer_cfg.items():
        if cfg.annotation and not exists(str(cfg.annotation)):
            problems.append(f"layers: {layer}: annotation file {cfg.annotation} not found")
        for name, path in cfg.feature_sets.items():
            if not exists(str(path)):
                problems.append(f"layers: {layer}: feature_sets: {name}: file {path} not found")
    if problems:
        raise InputError("config enrichment: " + "; ".join(problems) + ".")


@reads("enrichment")
def make_plan(
    omics: pd.DataFrame, files: tuple[dict, dict], layer_features: dict, settings: Settings
) -> EnrichmentPlan:
    """The enrichment plan of a run, from the omics sheet, the files config ``enrichment`` names and the settings.

    :func:`plan_enrichment` with the gene-set lines and annotations read from ``files``; what it
    maps is logged.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet.
    files : tuple of dict
        (gmt_lines, annotations), as :func:`moflow.io.read_enrichment_files` reads them.
    layer_features : dict
        {layer: its scored features}.
    settings : Settings
        Read: ``enrichment``.

    Returns
    -------
    EnrichmentPlan
        The collections and the feature -> gene maps.
    """
    gmt_lines, annotations = files
    return plan_enrichment(
        omics,
        settings.enrichment,
        gmt_lines=gmt_lines,
        annotations=annotations,
        layer_features=layer_features,
        log=logging.getLogger("moflow"),
    )


@reads("enrichment", "seed")
def prerank_options(settings: Settings) -> dict:
    """The keyword arguments of :func:`moflow.enrich.prerank.prerank_lists` that config sets.

    Permutations, set sizes, weight, seed, engine, and the conditional test's alpha (``None`` where
    config ``enrichment: conditional`` is off).
    """
    en = settings.enrichment
    return {
        "permutations": en.permutations,
        "min_size": en.min_size,
        "max_size": en.max_size,
        "weight": en.weight,
        "seed": settings.seed,
        "engine": en.engine,
        "conditional_alpha": en.alpha if en.conditional else None,
    }
