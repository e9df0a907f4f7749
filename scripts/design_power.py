"""Rule design_power: see moflow.tasks.design_rules.design_power."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import design_power


def main(smk):
    setup(smk.log[0], smk.threads)
    raw = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.raw)}
    layers = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices)}
    out = design_power(raw, layers, io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics), settings(smk))
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
