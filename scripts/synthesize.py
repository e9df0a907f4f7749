"""Rule synthesize: a synthetic copy of the cohort and its quality (results/synthetic/)."""

from moflow import io
from moflow.runtime import settings, setup, sheets
from moflow.tasks import synthesize


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    samples, omics = sheets(smk)
    raw = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices, strict=True)}
    paths = dict(zip(smk.params.layers, map(str, smk.output.layers), strict=True))
    io.write_outputs(synthesize(raw, samples, omics, s, paths), smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
