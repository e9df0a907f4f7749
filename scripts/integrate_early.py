"""Rule integrate_early: weighted concatenation, PCA embedding and model, fit on the training samples."""

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
    model = build_strategies(omics, config, outcome_task(y, config))["early"]()
    model.fit({n: X.loc[train] for n, X in layers.items()}, y.loc[train])
    emb = model.embed(layers)
    emb.insert(0, "outcome", y.reindex(emb.index).to_numpy())
    io.write_table(emb.rename_axis("sample").reset_index(), smk.output.embedding)
    io.write_table(model.coefficients(), smk.output.coefficients)
    log.info("early integration on %d training samples: layer weights %s", len(train), model.weights_)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
