"""Rule cv_predict: fit one strategy on one split's training samples, predict its held-out samples."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks.evaluate import cv_predict


def main(smk):
    setup(smk.log[0], smk.threads)
    layers = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.layers)}
    out = cv_predict(layers, io.read_table(smk.input.splits), smk.wildcards.split, smk.wildcards.strategy,
                     io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics), settings(smk))
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
