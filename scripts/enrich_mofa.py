"""Rule enrich_mofa: prerank of MOFA weights per factor and gene-mapped layer, per collection."""

import pandas as pd

from moflow import io
from moflow.enrich import check_overlap, factor_enrichment, parse_gmt
from moflow.pipeline import gene_layers
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    en = smk.params.enrichment
    weights = io.read_table(smk.input.weights)
    weights["feature"] = weights["feature"].astype(str)
    layers = gene_layers(io.read_sheet(smk.input.omics))
    tables = []
    for collection, path in zip(smk.params.collections, smk.input.gene_sets):
        sets = parse_gmt(io.read_gmt_lines(path), path=path)
        for layer in layers:
            genes = weights.loc[weights["view"] == layer, "feature"].unique()
            frac = check_overlap(sets, genes, path=path, layer=layer, min_overlap=en["min_overlap"])
            log.info("%s: %.1f%% of layer %s genes in gene sets", collection, 100 * frac, layer)
        res = factor_enrichment(weights, sets, layers=layers, permutations=en["permutations"],
                                min_size=en["min_size"], max_size=en["max_size"], weight=en["weight"],
                                seed=smk.params.seed)
        res.insert(0, "collection", collection)
        tables.append(res)
    io.write_table(pd.concat(tables, ignore_index=True), smk.output.table)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
