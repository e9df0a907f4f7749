"""Rule enrich_combine: one multi-omics pathway table (Stouffer across layers, BH per collection and
factor or model)."""

import pandas as pd

from moflow import io
from moflow.enrich import combine_layers
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    mofa = io.read_table(smk.input.mofa).rename(columns={"factor": "component"})
    mofa.insert(1, "source", "mofa")
    models = io.read_table(smk.input.models).rename(columns={"model": "source", "target": "component"})
    table = pd.concat([mofa, models], ignore_index=True)
    table["component"] = table["component"].astype(str)
    res = combine_layers(table, by=["collection", "source", "component"], alpha=smk.params.alpha)
    io.write_table(res, smk.output.table)
    log.info("%d pathway x component rows; %d with FDR < %s", len(res), int((res["fdr"] < smk.params.alpha).sum()),
             smk.params.alpha)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
