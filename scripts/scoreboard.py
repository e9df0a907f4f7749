"""Rule scoreboard: merge every split x strategy into the scoreboard, the comparison of the best
integration with the best single layer, and a permutation test of the best strategy."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import score


def main(smk):
    setup(smk.log[0], smk.threads)
    out = score(
        [io.read_table(p) for p in smk.input.predictions],
        io.read_sheet(smk.input.samples),
        io.read_sheet(smk.input.omics),
        settings(smk),
    )
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
