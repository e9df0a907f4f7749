"""Rule design_learning: see moflow.tasks.design_rules.design_learning."""

import pandas as pd

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import design_learning


def main(smk):
    setup(smk.log[0], smk.threads)
    points = pd.concat([io.read_table(p) for p in smk.input.points], ignore_index=True)
    out = design_learning(
        points,
        io.read_table(smk.input.fold_scores),
        io.read_table(smk.input.splits),
        io.read_table(smk.input.scoreboard),
        io.read_sheet(smk.input.samples),
        io.read_sheet(smk.input.omics),
        settings(smk),
    )
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
