"""Rule integrate_late: one model per layer, stacked by a meta-learner, fit on the training samples."""

import pandas as pd

from moflow import io
from moflow.pipeline import (align_layers, build_strategies, load_sheets, outcome, outcome_task, read_layers,
                             training_samples)
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "integration": smk.params.integration,
              "evaluation": smk.params.evaluation, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    y = outcome(sheet, config)
    layers = align_layers(read_layers(smk.input.matrices, list(omics["layer"])), list(y.index))
    train = [s for s in training_samples(sheet, config) if s in y.index]
    model = build_strategies(omics, config, outcome_task(y, config))["late"]()
    model.fit({n: X.loc[train] for n, X in layers.items()}, y.loc[train])
    io.write_table(model.layer_weights(), smk.output.layer_weights)
    io.write_table(pd.concat([m.coefficients() for m in model.base_.values()], ignore_index=True),
                   smk.output.coefficients)
    log.info("late integration meta-learner:\n%s", model.layer_weights().to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
