"""Rule preprocess_layer: fit the layer's chain on the full cohort, write matrix and diagnostics."""

from moflow import io
from moflow.pipeline import layer_report, load_sheets
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "preprocess": smk.params.preprocess,
              "covariates": smk.params.covariates, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    X = io.read_matrix(smk.input.matrix)
    out, diagnostics, pca, steps = layer_report(X, omics.loc[smk.wildcards.layer], sheet, config)
    io.write_matrix(out, smk.output.matrix)
    io.write_table(diagnostics, smk.output.diagnostics)
    io.write_table(pca, smk.output.pca)
    io.write_table(steps, smk.output.steps)
    log.info("layer %s: %s -> %s\n%s", smk.wildcards.layer, X.shape, out.shape, diagnostics.to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
