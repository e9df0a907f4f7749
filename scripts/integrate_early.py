"""Rule integrate_early: weighted concatenation, PCA embedding and penalized model on the full cohort."""

from moflow import io
from moflow.pipeline import build_strategies, load_sheets, outcome, read_layers
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "integration": smk.params.integration, "seed": smk.params.seed}
    sheet, omics = load_sheets(smk.input.samples, smk.input.omics, config)
    layers = read_layers(smk.input.matrices, list(omics["layer"]))
    y = outcome(sheet, config)
    model = build_strategies(omics, config)["early"]().fit(layers, y)
    emb = model.embed(layers)
    emb.insert(0, "outcome", y.reindex(emb.index).to_numpy())
    io.write_table(emb.rename_axis("sample").reset_index(), smk.output.embedding)
    io.write_table(model.coefficients(), smk.output.coefficients)
    log.info("early integration: layer weights %s", model.weights_)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
