"""Rule enrich_models: prerank of the early and late models' coefficients per layer and target class."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import enrich_models


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    omics = io.read_sheet(smk.input.omics)
    coefficients = {m: io.read_table(p) for m, p in zip(smk.params.models, smk.input.coefficients)}
    out = enrich_models(coefficients, omics, io.read_enrichment_files(s.enrichment, omics), s)
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
