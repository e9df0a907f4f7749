"""Rule enrich_ora: over-representation of the top features of every MOFA factor and model, against
every scored feature of the layer (explicit background)."""

import pandas as pd

from moflow import io
from moflow.enrich import coefficient_lists, ora_lists, run_collections
from moflow.pipeline import mofa_weight_lists, plan_enrichment_from_files, read_mofa_weights
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    en = smk.params.enrichment
    weights, variance = read_mofa_weights(smk.input.weights, smk.input.variance)
    models = {m: io.read_table(p) for m, p in zip(smk.params.models, smk.input.coefficients)}
    features = {v: set(d["feature"]) for v, d in weights.groupby("view")}
    for t in models.values():
        t["feature"] = t["feature"].astype(str)
        for layer, d in t.groupby("layer"):
            features.setdefault(layer, set()).update(d["feature"])
    plan = plan_enrichment_from_files(smk.input.omics, en, {k: sorted(v) for k, v in features.items()}, log)
    sources = {"mofa": mofa_weight_lists(weights, variance, plan, en)}
    for m, t in models.items():
        sources[m] = coefficient_lists(t, layers=plan.layers)
    out = []
    for source, lists in sources.items():
        res = run_collections(plan, lists, ora_lists, keys=["layer", "component"], top=en["ora"]["top"],
                              min_size=en["min_size"], max_size=en["max_size"],
                              conditional_alpha=en["alpha"] if en["conditional"] else None)
        res.insert(1, "source", source)
        out.append(res)
        log.info("%s: %d lists, top %d features per side", source, len(lists), en["ora"]["top"])
    io.write_table(pd.concat(out, ignore_index=True), smk.output.table)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
