"""Rule fit_cohort: every layer's preprocessing chain, then every integration strategy, on the whole cohort;
where every CV split fits in one job, those splits too, forked beside the cohort fit."""

import pandas as pd

from moflow import io
from moflow.runtime import fork_map, outputs_of, preload, regulators, settings, setup, sheets
from moflow.tasks import (
    cv_fold,
    cv_splits,
    integrate_early,
    integrate_hierarchical,
    integrate_late,
    integrate_mofa,
    preprocess_layer,
)


def main(smk):
    log = setup(smk.log[0], smk.threads)
    s = settings(smk)
    p = smk.params
    names = list(p.layers)
    samples, omics = sheets(smk)
    edges = regulators(smk)

    def fit_cohort():
        for i, (layer, path) in enumerate(zip(names, smk.input.matrices, strict=True)):  # a layer at a time
            X = io.read_matrix(path)
            out = preprocess_layer(X, layer, samples, omics, s)
            io.write_outputs(out, outputs_of(smk.output, "preprocess", i))
            log.info(
                "layer %s: %s -> %s\n%s", layer, X.shape, out["matrix"].shape, out["diagnostics"].to_string(index=False)
            )
            del X, out
        # the strategies read the matrices as written (as every later job does)
        layers = {layer: io.read_matrix(f) for layer, f in zip(names, smk.output.preprocess__matrix, strict=True)}
        for step in p.strategies:
            if step == "early":
                out = integrate_early(layers, samples, omics, s)
            elif step == "mofa":
                out = integrate_mofa(layers, samples, omics, s)
            elif step == "late":
                out = integrate_late(layers, samples, omics, s)
            else:
                files = io.read_enrichment_files(s.enrichment, omics)
                out = integrate_hierarchical(layers, samples, omics, files, edges, s)
            io.write_outputs(out, outputs_of(smk.output, step))
            log.info("%s integration fit on the cohort", step)

    if not p.cv_splits:
        fit_cohort()
        return
    # the CV splits beside the cohort fit, one per forked worker (rule cv_fold's work)
    splits = cv_splits(samples, omics, s)["splits"]
    raw = {layer: io.read_matrix(f) for layer, f in zip(names, smk.input.matrices, strict=True)}
    files = io.read_enrichment_files(s.enrichment, omics) if p.hierarchical else None

    def work(split):
        if split is None:
            return fit_cohort()
        return cv_fold(raw, splits, [split], samples, omics, s, files=files, edges=edges)["predictions"]

    preload()  # what the cohort fit and the splits both import: once, before the fork
    done = fork_map(work, [None, *p.cv_splits], smk.threads)
    io.write_outputs({"folds": pd.concat(done[1:], ignore_index=True)}, outputs_of(smk.output, "evaluate"))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
