"""Rule integrate_early: see moflow.tasks.integrate_rules.integrate_early."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import integrate_early


def main(smk):
    setup(smk.log[0], smk.threads)
    layers = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices)}
    out = integrate_early(layers, io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics), settings(smk))
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
