"""Rule enrich_mofa_competitive: PCGSE-style competitive test of MOFA weights (CAMERA's correlation
correction from the preprocessed layers, the factor regressed out)."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import enrich_competitive


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    omics = io.read_sheet(smk.input.omics)
    data = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices)}
    out = enrich_competitive(
        io.read_table(smk.input.weights),
        io.read_table(smk.input.variance),
        io.read_table(smk.input.factors),
        data,
        omics,
        io.read_enrichment_files(s.enrichment, omics),
        s,
    )
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
