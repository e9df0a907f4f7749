"""Gene-set file checks: a GMT file on its own, the layers it is tested in, and its overlap with them.

A GMT file on its own (:func:`check_gene_set_file`, at start-up), which layers each GMT file is
tested in (:func:`gene_set_layers`), and whether it shares identifiers with those layers' features
(:func:`check_gene_set_overlap`, in the input stage). Failures raise
:class:`~moflow.errors.DataError` naming the file, the layer and the fix. Nothing here reads files:
the lines come from :func:`moflow.io.read_gmt_lines`.
"""

from __future__ import annotations

import pandas as pd

from moflow.errors import DataError
from moflow.wording import listing


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
    """Stop when a GMT file shares no identifier with a layer it is to be tested in.

    The message names the file, the layer and a few IDs of each side (and how many match when case is
    ignored). A layer without features is skipped.

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
        for layer in layers:
            feats = [str(f) for f in features.get(layer, [])]
            if not feats or set(feats) & set(genes):
                continue
            folded = {g.casefold() for g in genes}
            case = sum(f.casefold() in folded for f in feats)
            hint = (
                f" {case} of them match when case is ignored (human symbols are upper case, mouse ones "
                "capitalised): use a GMT of the same species."
                if case
                else ""
            )
            raise DataError(
                f"{path}: no gene of this file is a feature of layer '{layer}' ({labels.get(layer, layer)}): the "
                f"layer's features look like {listing(feats, 4)}, the file's genes like {listing(genes, 4)}.{hint} "
                "Use identifiers of the same type (e.g. gene symbols on both sides), map the layer's features to "
                "genes (config enrichment: layers: <layer>: annotation), or drop the collection."
            )
