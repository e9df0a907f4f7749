"""Rule subtype_resamples: resamples of the subtype stage, one after another: halves drawn, every layer's chain
and every representation refit on the fitted half, the strengths of every clustering and k and of the reference."""

from moflow import io
from moflow.runtime import settings, setup, sheets
from moflow.tasks import subtype_resamples


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    samples, omics = sheets(smk)
    raw = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices, strict=True)}
    io.write_outputs(subtype_resamples(raw, list(smk.params.resamples), samples, omics, s), smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
