"""Rule integrate_late: one penalized model per layer, stacked by a logistic meta-learner."""

import pandas as pd

from moflow import io
from moflow.pipeline import build_strategies, load_sheets, outcome, read_layers
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "integration": smk.params.integration, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    layers = read_layers(smk.input.matrices, list(omics["layer"]))
    y = outcome(sheet, config)
    model = build_strategies(omics, config)["late"]().fit(layers, y)
    io.write_table(model.layer_weights(), smk.output.layer_weights)
    coefs = pd.concat([m.coefficients() for m in model.base_.values()], ignore_index=True)
    io.write_table(coefs, smk.output.coefficients)
    log.info("late integration meta-learner:\n%s", model.layer_weights().to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
