"""Rule enrich_mofa: prerank of MOFA weights per factor and layer, per collection (+ conditional test)."""

from moflow import io
from moflow.enrich import prerank_lists, run_collections
from moflow.pipeline import mofa_weight_lists, plan_enrichment_from_files, read_mofa_weights
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    en = smk.params.enrichment
    weights, variance = read_mofa_weights(smk.input.weights, smk.input.variance)
    features = {v: list(d["feature"].unique()) for v, d in weights.groupby("view")}
    plan = plan_enrichment_from_files(smk.input.omics, en, features, log)
    lists = mofa_weight_lists(weights, variance, plan, en)
    pairs = weights.loc[weights["view"].isin(plan.layers), ["view", "factor"]].drop_duplicates()
    skipped = sorted(set(pairs.itertuples(index=False, name=None)) - set(lists))
    log.info("%d factor x layer lists tested; not tested (variance explained below %s): %s", len(lists),
             en["min_variance_explained"], skipped)
    res = run_collections(plan, lists, prerank_lists, keys=["layer", "factor"], permutations=en["permutations"],
                          min_size=en["min_size"], max_size=en["max_size"], weight=en["weight"],
                          seed=smk.params.seed, engine=en["engine"],
                          conditional_alpha=en["alpha"] if en["conditional"] else None)
    io.write_table(res, smk.output.table)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
