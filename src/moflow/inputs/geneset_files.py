"""Gene-set file checks: a GMT file on its own, the layers it is tested in, and its overlap with them.

A GMT file on its own (:func:`check_gene_set_file`, at start-up), which layers each GMT file is
tested in (:func:`gene_set_layers`), and whether it shares identifiers with those layers' features
(:func:`check_gene_set_overlap`, in the input stage, the first point where the features are known).
Failures raise :class:`~moflow.errors.DataError` naming the file, the layer and the fix. Nothing here
reads files: the lines come from :func:`moflow.io.read_gmt_lines`.

The overlap check looks for identifiers of another type (Ensembl IDs, Entrez IDs, probe IDs, UniProt
or RefSeq accessions against gene symbols), never at the share of the layer's genes a collection
covers: a small genuine collection (a few percent of 20,000 genes) is a valid input.
"""

from __future__ import annotations

import re

import pandas as pd

from moflow.errors import DataError
from moflow.wording import listing

# identifier types told apart from gene symbols (the first that matches; anything else counts as a symbol)
_ID_TYPES = (
    ("Ensembl IDs", re.compile(r"^ENS[A-Z]*[GTPE]\d{6,}(\.\d+)?$")),
    ("Entrez (NCBI Gene) IDs", re.compile(r"^\d+$")),
    ("probe IDs", re.compile(r"^(cg\d{8}|ch\.\w+|ILMN_\d+|A_\d+_P\d+|[\w.-]+_at)$")),
    ("RefSeq accessions", re.compile(r"^[NX][MRP]_\d+(\.\d+)?$")),
    (
        "UniProt accessions",
        re.compile(r"^([OPQ]\d[A-Z\d]{3}\d|[A-NR-Z]\d([A-Z][A-Z\d]{2}\d){1,2})(-\d+)?$"),
    ),
)
_SYMBOLS = "gene symbols or names"
_ALMOST_NONE = 0.01  # shared identifiers below this share of the file's genes count as (almost) none


def _identifier_type(ids) -> str | None:
    """What most of ``ids`` look like (a name of ``_ID_TYPES`` or gene symbols); None when no type has most."""
    ids = [str(i).strip() for i in ids]
    if not ids:
        return None
    counts: dict[str, int] = {}
    for i in ids:
        kind = next((name for name, pattern in _ID_TYPES if pattern.match(i)), _SYMBOLS)
        counts[kind] = counts.get(kind, 0) + 1
    kind, n = max(counts.items(), key=lambda kv: kv[1])
    return kind if n > len(ids) / 2 else None


def check_gene_set_file(lines: list[str], *, path: str, min_size: int = 1) -> dict[str, list[str]]:
    """Parse a GMT file (:func:`moflow.enrich.parse_gmt`) and check it can be tested.

    An empty file, malformed lines, or no set with at least ``min_size`` genes (config
    ``enrichment: min_size``; nothing could be tested) stop.

    Parameters
    ----------
    lines : list of str
        The file's lines (:func:`moflow.io.read_gmt_lines`).
    path : str
        Names the file in messages.
    min_size : int
        Genes the largest set must have at least.

    Returns
    -------
    dict of str to list of str
        {set name: its genes}.
    """
    from moflow.enrich import parse_gmt
    from moflow.errors import InputError

    try:
        sets = parse_gmt(lines, path=path)
    except InputError as exc:
        raise DataError(str(exc)) from None
    if not any(len(g) >= min_size for g in sets.values()):
        biggest = max(sets, key=lambda s: len(sets[s]))
        raise DataError(
            f"{path}: no gene set has at least {min_size} genes (config 'enrichment: min_size'); the largest, "
            f"'{biggest}', has {len(sets[biggest])}. Nothing could be tested: use a GMT with larger sets or lower "
            "min_size."
        )
    return sets


def gene_set_layers(omics: pd.DataFrame, enrichment) -> dict[str, list[str]]:
    """{GMT path: the layers whose features it names}; what :func:`check_gene_set_overlap` compares.

    The gene-set collections (config ``enrichment: gene_sets``) go with the gene-symbol layers without
    an annotation, a layer's own ``feature_sets`` with that layer. Paths with no layer are left out.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet (columns ``layer`` and ``gene_ids``).
    enrichment : moflow.settings.Enrichment
        The ``enrichment`` section.

    Returns
    -------
    dict of str to list of str
        {GMT path: layers}.
    """
    symbol = [
        lay
        for lay in omics["layer"]
        if str(omics.set_index("layer").at[lay, "gene_ids"]).strip() == "symbol"
        and not (lay in enrichment.layers and enrichment.layers[lay].annotation)
    ]
    out = {str(p): list(symbol) for p in enrichment.gene_sets.values()} if symbol else {}
    for lay, cfg in enrichment.layers.items():
        for p in cfg.feature_sets.values():
            out.setdefault(str(p), [])
            if lay not in out[str(p)]:
                out[str(p)].append(lay)
    return {p: v for p, v in out.items() if v}


def check_gene_set_overlap(
    features: dict[str, list],
    gmt_lines: dict[str, list[str]],
    gmt_layers: dict[str, list[str]],
    *,
    labels: dict | None = None,
) -> None:
    """Stop when a GMT file and a layer it is to be tested in name genes by identifiers of different types.

    A mismatch: the file and the layer share no identifier, or (almost) none (under 1% of the file's
    genes) while the two sides look like different identifier types (Ensembl IDs, Entrez IDs, probe
    IDs, RefSeq or UniProt accessions, gene symbols). How large a share of the layer's genes the file
    covers does not matter: a small collection of matching symbols passes. The message names the file,
    the layer, a few IDs of each side and their types (and how many match when case is ignored), and
    the fix. A layer without features is skipped.

    Parameters
    ----------
    features : dict of str to list
        {layer: its feature IDs}.
    gmt_lines : dict of str to list of str
        {path: the GMT file's lines}.
    gmt_layers : dict of str to list of str
        {path: layers}, see :func:`gene_set_layers`.
    labels : dict, optional
        {layer: how messages name its source}; default: the layer's name.
    """
    from moflow.enrich import parse_gmt
    from moflow.errors import InputError

    labels = labels or {}
    for path, layers in gmt_layers.items():
        try:
            sets = parse_gmt(gmt_lines[path], path=path)
        except InputError as exc:
            raise DataError(str(exc)) from None
        genes = sorted(set().union(*sets.values()))
        gene_type = _identifier_type(genes)
        for layer in layers:
            feats = [str(f) for f in features.get(layer, [])]
            if not feats:
                continue
            shared = len(set(feats) & set(genes))
            feat_type = _identifier_type(feats)
            other_type = feat_type is not None and gene_type is not None and feat_type != gene_type
            if shared and not (other_type and shared < _ALMOST_NONE * len(genes)):
                continue
            folded = {g.casefold() for g in genes}
            case = sum(f.casefold() in folded for f in feats)
            hint = (
                f" {case} of them match when case is ignored (human symbols are upper case, mouse ones "
                "capitalised): use a GMT of the same species."
                if case and not other_type
                else ""
            )
            feat_kind = f" ({feat_type})" if other_type else ""
            gene_kind = f" ({gene_type})" if other_type else ""
            head = (
                f"{path}: no gene of this file is a feature of layer '{layer}' ({labels.get(layer, layer)})"
                if not shared
                else f"{path}: only {shared} of the {len(genes)} genes of this file are features of layer "
                f"'{layer}' ({labels.get(layer, layer)})"
            )
            fix = (
                f" The identifiers are of another type: set gene_ids to none for layer '{layer}' in the omics "
                f"sheet and map its features to {gene_type} with an annotation table (config enrichment: "
                f"layers: {layer}: annotation; see docs/enrichment.md), or use a GMT of {feat_type}."
                if other_type
                else " Use identifiers of the same type (e.g. gene symbols on both sides), map the layer's features "
                "to genes (config enrichment: layers: <layer>: annotation), or drop the collection."
            )
            raise DataError(
                f"{head}: the layer's features look like {listing(feats, 4)}{feat_kind}, the file's genes like "
                f"{listing(genes, 4)}{gene_kind}.{hint}{fix}"
            )
