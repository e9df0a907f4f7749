"""Rule enrich_models: prerank of the early and late models' coefficients per layer and target class."""

import pandas as pd

from moflow import io
from moflow.enrich import coefficient_lists, prerank_lists, run_collections
from moflow.pipeline import plan_enrichment_from_files
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    en = smk.params.enrichment
    tables = {m: io.read_table(p) for m, p in zip(smk.params.models, smk.input.coefficients)}
    for t in tables.values():
        t["feature"] = t["feature"].astype(str)
    features = {}
    for t in tables.values():
        for layer, d in t.groupby("layer"):
            features.setdefault(layer, set()).update(d["feature"])
    plan = plan_enrichment_from_files(smk.input.omics, en, {k: sorted(v) for k, v in features.items()}, log)
    out = []
    for model, coefs in tables.items():
        lists = coefficient_lists(coefs, layers=plan.layers)
        res = run_collections(plan, lists, prerank_lists, keys=["layer", "target"], permutations=en["permutations"],
                              min_size=en["min_size"], max_size=en["max_size"], weight=en["weight"],
                              seed=smk.params.seed, engine=en["engine"],
                              conditional_alpha=en["alpha"] if en["conditional"] else None)
        res.insert(1, "model", model)
        out.append(res)
        log.info("%s: %d layer x target lists", model, len(lists))
    io.write_table(pd.concat(out, ignore_index=True), smk.output.table)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
