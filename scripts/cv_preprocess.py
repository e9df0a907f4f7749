"""Rule cv_preprocess: fit every layer's chain on one split's training samples; transform both sides."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks.evaluate import cv_preprocess


def main(smk):
    setup(smk.log[0], smk.threads)
    layers = list(smk.params.layers)
    raw = {layer: io.read_matrix(p) for layer, p in zip(layers, smk.input.matrices)}
    out = cv_preprocess(raw, io.read_table(smk.input.splits), smk.wildcards.split, io.read_sheet(smk.input.samples),
                        io.read_sheet(smk.input.omics), settings(smk))
    io.write_outputs({"layers": [out[layer] for layer in layers]}, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
