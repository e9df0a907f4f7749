"""Rule preprocess_layer: fit the layer's chain on the full cohort, write matrix and diagnostics."""

from moflow import io
from moflow import report as rp
from moflow.pipeline import layer_report, load_sheets
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "preprocess": smk.params.preprocess,
              "covariates": smk.params.covariates, "seed": smk.params.seed,
              "batch_confounding": smk.params.batch_confounding, "evaluation": smk.params.evaluation}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    X = io.read_matrix(smk.input.matrix)
    layer = smk.wildcards.layer
    out, diagnostics, pca, steps, more = layer_report(X, omics.loc[layer], sheet, config, extras=True)
    io.write_matrix(out, smk.output.matrix)
    io.write_table(diagnostics, smk.output.diagnostics)
    io.write_table(pca, smk.output.pca)
    io.write_table(steps, smk.output.steps)
    io.write_table(more["imputation"], smk.output.imputation)
    io.write_table(more["missingness"], smk.output.missingness)
    io.write_table(more["pca_steps"], smk.output.pca_steps)
    io.write_bytes(rp.png_bytes(rp.plot_missingness(more["raw"], more["missingness"], layer)),
                   smk.output.missingness_png)
    io.write_bytes(rp.png_bytes(rp.plot_pca_steps(more["pca_steps"], layer)), smk.output.pca_steps_png)
    log.info("layer %s: %s -> %s\n%s", smk.wildcards.layer, X.shape, out.shape, diagnostics.to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
