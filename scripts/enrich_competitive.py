"""Rule enrich_mofa_competitive: PCGSE-style competitive test of MOFA weights (CAMERA's correlation
correction from the preprocessed layers, the factor regressed out)."""

from moflow import io
from moflow.enrich import competitive_lists, run_collections
from moflow.pipeline import mofa_weight_lists, plan_enrichment_from_files, read_mofa_weights
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    en = smk.params.enrichment
    comp = en["competitive"]
    weights, variance = read_mofa_weights(smk.input.weights, smk.input.variance)
    factors = io.read_table(smk.input.factors).set_index("sample")
    factors.index = factors.index.astype(str)
    data = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices)}
    features = {v: list(d["feature"].unique()) for v, d in weights.groupby("view")}
    plan = plan_enrichment_from_files(smk.input.omics, en, features, log)
    lists = mofa_weight_lists(weights, variance, plan, en)
    fixed = comp["inter_gene_correlation"]
    res = run_collections(plan, lists, competitive_lists, keys=["layer", "factor"], data=data, factors=factors,
                          inter_gene_correlation=None if fixed == "estimate" else float(fixed),
                          ranks=comp["ranks"], min_size=en["min_size"], max_size=en["max_size"])
    io.write_table(res, smk.output.table)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
