"""Rule fit_cohort: every layer's preprocessing chain, then every integration strategy, on the whole cohort."""

from moflow import io
from moflow.inputs import regulator_edges
from moflow.runtime import outputs_of, settings, setup
from moflow.tasks import integrate_early, integrate_hierarchical, integrate_late, integrate_mofa, preprocess_layer


def main(smk):
    log = setup(smk.log[0], smk.threads)
    s = settings(smk)
    names = list(smk.params.layers)
    samples, omics = io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics)
    for i, (layer, path) in enumerate(zip(names, smk.input.matrices, strict=True)):  # one layer in memory at a time
        X = io.read_matrix(path)
        out = preprocess_layer(X, layer, samples, omics, s)
        io.write_outputs(out, outputs_of(smk.output, "preprocess", i))
        log.info(
            "layer %s: %s -> %s\n%s", layer, X.shape, out["matrix"].shape, out["diagnostics"].to_string(index=False)
        )
        del X, out
    # the strategies read the matrices as written (as every later job does)
    layers = {layer: io.read_matrix(p) for layer, p in zip(names, smk.output.preprocess__matrix, strict=True)}
    for step in smk.params.strategies:
        if step == "early":
            out = integrate_early(layers, samples, omics, s)
        elif step == "mofa":
            out = integrate_mofa(layers, samples, omics, s)
        elif step == "late":
            out = integrate_late(layers, samples, omics, s)
        else:
            edges = {name: regulator_edges(p) for name, p in zip(smk.params.regulators, smk.input.edges, strict=True)}
            files = io.read_enrichment_files(s.enrichment, omics)
            out = integrate_hierarchical(layers, samples, omics, files, edges, s)
        io.write_outputs(out, outputs_of(smk.output, step))
        log.info("%s integration fit on the cohort", step)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
