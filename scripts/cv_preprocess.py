"""Rule cv_preprocess: fit every layer's chain on one split's training samples; transform both sides."""

import pandas as pd

from moflow import io
from moflow.evaluate import preprocess_fold, split_members
from moflow.pipeline import build_preprocessors, load_sheets, outcome, qc_samples, read_layers, sample_info
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "preprocess": smk.params.preprocess,
              "covariates": smk.params.covariates, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    layers = list(omics["layer"])
    raw = read_layers(smk.input.matrices, layers)
    train, test = split_members(io.read_table(smk.input.splits), smk.wildcards.split)
    qc = {layer: qc_samples(sheet) for layer in omics.index[omics["has_qc"]]}
    tr, te = preprocess_fold(raw, build_preprocessors(omics, config, sample_info(sheet, config)),
                             outcome(sheet, config), train, test, qc)
    for layer, path in zip(layers, smk.output.layers):
        io.write_matrix(pd.concat([tr[layer], te[layer]]), path)
        log.info("%s: %d features after preprocessing inside split %s", layer, tr[layer].shape[1], smk.wildcards.split)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
