"""Rule cv_fold: outer splits, one after another: preprocess every layer inside each, fit and predict
every strategy. The job draws the splits itself (seeded; the report job checks it drew the same)."""

from moflow import io
from moflow.runtime import regulators, settings, setup, sheets
from moflow.tasks import cv_fold, cv_splits


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    samples, omics = sheets(smk)
    raw = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices, strict=True)}
    files = io.read_enrichment_files(s.enrichment, omics) if smk.params.hierarchical else None
    edges = regulators(smk)
    splits = cv_splits(samples, omics, s)["splits"]
    out = cv_fold(raw, splits, list(smk.params.splits), samples, omics, s, files=files, edges=edges)
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
