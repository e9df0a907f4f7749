"""Rule enrich_ora: over-representation of the top features of every MOFA factor and model, against
every scored feature of the layer (explicit background)."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import enrich_ora


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    omics = io.read_sheet(smk.input.omics)
    coefficients = {m: io.read_table(p) for m, p in zip(smk.params.models, smk.input.coefficients)}
    out = enrich_ora(
        io.read_table(smk.input.weights),
        io.read_table(smk.input.variance),
        coefficients,
        omics,
        io.read_enrichment_files(s.enrichment, omics),
        s,
    )
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
