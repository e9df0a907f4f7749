"""Rule integrate_mofa: MOFA on the full cohort; factors, weights, variance explained, associations."""

from moflow import io
from moflow.mofa import factor_associations
from moflow.pipeline import build_mofa, load_sheets, outcome, read_layers
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "integration": smk.params.integration, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    layers = read_layers(smk.input.matrices, list(omics["layer"]))
    y = outcome(sheet, config)
    mofa = build_mofa(omics, config).fit(layers)
    mofa.save(smk.output.model)
    factors = mofa.Z_train_.rename_axis("sample")
    io.write_table(factors.reset_index(), smk.output.factors)
    io.write_table(mofa.weights(), smk.output.weights)
    io.write_table(mofa.r2_, smk.output.variance)
    batch_cols = sorted({c for c in omics["batch_column"] if c})
    covs = sheet.loc[y.index, batch_cols + list(smk.params.covariates)].copy()
    covs.insert(0, smk.params.outcome["column"], y)
    assoc = factor_associations(factors.loc[y.index], covs)
    io.write_table(assoc, smk.output.associations)
    log.info("MOFA: %d factors\n%s", mofa.K_, assoc.sort_values("p").head(10).to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
