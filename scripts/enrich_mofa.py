"""Rule enrich_mofa: prerank of MOFA weights per factor and layer, per collection (+ conditional test)."""

from moflow import io
from moflow.enrich import plan_enrichment, prerank_lists, run_collections, weight_lists
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    en = smk.params.enrichment
    weights = io.read_table(smk.input.weights)
    weights["feature"] = weights["feature"].astype(str)
    variance = io.read_table(smk.input.variance)
    gmt_lines, annotations = io.read_enrichment_files(en)
    features = {v: list(d["feature"].unique()) for v, d in weights.groupby("view")}
    plan = plan_enrichment(io.read_sheet(smk.input.omics), en, gmt_lines=gmt_lines, annotations=annotations,
                           layer_features=features, log=log)
    lists = weight_lists(weights, layers=plan.layers, variance=variance,
                         min_variance_explained=en["min_variance_explained"])
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
