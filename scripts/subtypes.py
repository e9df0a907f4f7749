"""Rule subtypes: every resample's strengths summarized, k and the representation chosen, the cohort's subtypes
assigned with a confidence and described (markers, associations, survival, MOFA profile)."""

import pandas as pd

from moflow import io
from moflow.runtime import settings, setup, sheets
from moflow.tasks import describe_subtypes


def main(smk):
    setup(smk.log[0], smk.threads)
    s = settings(smk)
    samples, omics = sheets(smk)
    strengths = pd.concat([io.read_table(f) for f in smk.input.strengths], ignore_index=True)
    raw = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.raw, strict=True)}
    layers = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices, strict=True)}
    factors = io.read_table(smk.input.factors)
    io.write_outputs(describe_subtypes(strengths, raw, layers, factors, samples, omics, s), smk.output)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
