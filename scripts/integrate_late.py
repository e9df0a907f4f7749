"""Rule integrate_late: one model per layer, stacked by a meta-learner, fit on the training samples."""

import pandas as pd

from moflow import io
from moflow.pipeline import build_strategies, load_integration_inputs, orient_coefficients, outcome_task, positive_class
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    d = load_integration_inputs(smk.input.samples, smk.input.omics, smk.input.matrices, smk.params)
    model = build_strategies(d.omics, d.config, outcome_task(d.y, d.config), sheet=d.sheet)["late"]()
    model.fit({n: X.loc[d.train] for n, X in d.layers.items()}, d.y.loc[d.train])
    io.write_table(model.layer_weights(), smk.output.layer_weights)
    positive = positive_class(d.y, d.config)
    io.write_table(pd.concat([orient_coefficients(m.coefficients(), positive) for m in model.base_.values()],
                             ignore_index=True), smk.output.coefficients)
    log.info("late integration meta-learner:\n%s", model.layer_weights().to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
