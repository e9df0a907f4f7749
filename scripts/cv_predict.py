"""Rule cv_predict: fit one strategy on one split's training samples, predict its held-out samples."""

from moflow import io
from moflow.evaluate import predict_split, split_members
from moflow.pipeline import build_strategies, load_sheets, outcome, outcome_task, read_layers
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "integration": smk.params.integration,
              "evaluation": smk.params.evaluation, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    layers = read_layers(smk.input.layers, list(omics["layer"]))
    y = outcome(sheet, config)
    task = outcome_task(y, config)
    train, test = split_members(io.read_table(smk.input.splits), smk.wildcards.split)
    model = build_strategies(omics, config, task, sheet=sheet)[smk.wildcards.strategy]()
    classes = sorted(y.loc[train].astype(str).unique()) if task == "classification" else None
    pred = predict_split(model, {n: X.reindex(train) for n, X in layers.items()},
                         {n: X.reindex(test) for n, X in layers.items()}, y, train, test,
                         strategy=smk.wildcards.strategy, split=smk.wildcards.split, classes=classes)
    io.write_table(pred, smk.output.predictions)
    log.info("%s on split %s: %d train, %d test", smk.wildcards.strategy, smk.wildcards.split, len(train), len(test))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
