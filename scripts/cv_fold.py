"""Rule cv_fold: preprocess inside one outer split, fit every strategy, predict the held-out samples."""

from moflow import io
from moflow.evaluate import run_fold
from moflow.pipeline import build_preprocessors, build_strategies, load_sheets, outcome, qc_samples, read_layers, sample_info
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "integration": smk.params.integration,
              "preprocess": smk.params.preprocess, "covariates": smk.params.covariates, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    raw = read_layers(smk.input.matrices, list(omics["layer"]))
    y = outcome(sheet, config)
    splits = io.read_table(smk.input.splits)
    s = splits[splits["split"] == smk.wildcards.split]
    train = list(s.loc[s["role"] == "train", "sample"].astype(str))
    test = list(s.loc[s["role"] == "test", "sample"].astype(str))
    qc = {layer: qc_samples(sheet) for layer in omics.index[omics["has_qc"]]}
    pred = run_fold(raw, build_preprocessors(omics, config, sample_info(sheet, config)),
                    build_strategies(omics, config), y, train, test, qc=qc, split=smk.wildcards.split)
    io.write_table(pred, smk.output.predictions)
    log.info("split %s: %d train, %d test", smk.wildcards.split, len(train), len(test))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
