"""Rule enrich_mofa: prerank of MOFA weights per factor and layer, per collection (+ conditional test)."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import enrich_mofa


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    omics = io.read_sheet(smk.input.omics)
    out = enrich_mofa(
        io.read_table(smk.input.weights),
        io.read_table(smk.input.variance),
        omics,
        io.read_enrichment_files(s.enrichment, omics),
        s,
    )
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
