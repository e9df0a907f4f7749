"""Rule integrate_early: weighted concatenation, PCA embedding and model, fit on the training samples."""

from moflow import io
from moflow.pipeline import build_strategies, load_integration_inputs, orient_coefficients, outcome_task, positive_class
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    d = load_integration_inputs(smk.input.samples, smk.input.omics, smk.input.matrices, smk.params)
    model = build_strategies(d.omics, d.config, outcome_task(d.y, d.config), sheet=d.sheet)["early"]()
    model.fit({n: X.loc[d.train] for n, X in d.layers.items()}, d.y.loc[d.train])
    emb = model.embed(d.layers)
    emb.insert(0, "outcome", d.y.reindex(emb.index).to_numpy())
    io.write_table(emb.rename_axis("sample").reset_index(), smk.output.embedding)
    io.write_table(orient_coefficients(model.coefficients(), positive_class(d.y, d.config)), smk.output.coefficients)
    log.info("early integration on %d training samples: layer weights %s", len(d.train), model.weights_)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
