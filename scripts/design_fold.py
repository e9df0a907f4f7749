"""Rule design_fold: learning-curve points of some CV splits (see moflow.tasks.design_rules.design_fold)."""

from moflow import io
from moflow.inputs import regulator_edges
from moflow.runtime import settings, setup
from moflow.tasks import design_fold


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    raw = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices)}
    files = io.read_enrichment_files(s.enrichment) if smk.params.hierarchical else None
    edges = {name: regulator_edges(p) for name, p in zip(smk.params.regulators, smk.input.edges)}
    out = design_fold(
        raw,
        io.read_table(smk.input.splits),
        list(smk.params.splits),
        io.read_table(smk.input.scoreboard),
        io.read_sheet(smk.input.samples),
        io.read_sheet(smk.input.omics),
        s,
        files=files,
        edges=edges,
    )
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
