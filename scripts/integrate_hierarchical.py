"""Rule integrate_hierarchical: see moflow.tasks.integrate_rules.integrate_hierarchical."""

from moflow import io
from moflow.inputs import regulator_edges
from moflow.runtime import settings, setup
from moflow.tasks import integrate_hierarchical


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    omics = io.read_sheet(smk.input.omics)
    layers = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices)}
    edges = {name: regulator_edges(p) for name, p in zip(smk.params.regulators, smk.input.edges)}
    out = integrate_hierarchical(
        layers, io.read_sheet(smk.input.samples), omics, io.read_enrichment_files(s.enrichment, omics), edges, s
    )
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
