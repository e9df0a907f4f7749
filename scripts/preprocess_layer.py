"""Rule preprocess_layer: fit the layer's chain on the full cohort, write matrix and diagnostics."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import preprocess_layer


def main(smk):
    log = setup(smk.log[0], smk.threads)
    X = io.read_matrix(smk.input.matrix)
    out = preprocess_layer(
        X, smk.wildcards.layer, io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics), settings(smk)
    )
    io.write_outputs(out, smk.output)
    log.info(
        "layer %s: %s -> %s\n%s",
        smk.wildcards.layer,
        X.shape,
        out["matrix"].shape,
        out["diagnostics"].to_string(index=False),
    )


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
