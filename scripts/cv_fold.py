"""Rule cv_fold: outer splits, one after another: preprocess every layer inside each, fit and predict
every strategy. The job draws the splits itself (seeded; the report job checks it drew the same)."""

from moflow import io
from moflow.inputs import regulator_edges
from moflow.runtime import settings, setup
from moflow.tasks import cv_fold, cv_splits


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    samples, omics = io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics)
    raw = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices, strict=True)}
    files = io.read_enrichment_files(s.enrichment, omics) if smk.params.hierarchical else None
    edges = {name: regulator_edges(p) for name, p in zip(smk.params.regulators, smk.input.edges, strict=True)}
    splits = cv_splits(samples, omics, s)["splits"]
    out = cv_fold(raw, splits, list(smk.params.splits), samples, omics, s, files=files, edges=edges)
    io.write_outputs(out, smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
