"""Rule enrich_combine: one multi-omics pathway table (Stouffer across layers, BH per collection and
factor or model)."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import enrich_combine


def main(smk):
    setup(smk.log[0], smk.threads)
    out = enrich_combine(io.read_table(smk.input.mofa), io.read_table(smk.input.models), settings(smk))
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
