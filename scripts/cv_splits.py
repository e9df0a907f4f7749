"""Rule cv_splits: the outer splits every strategy is scored on (and the external-test split)."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import cv_splits


def main(smk):
    setup(smk.log[0], smk.threads)
    io.write_outputs(
        cv_splits(io.read_sheet(smk.input.samples), io.read_sheet(smk.input.omics), settings(smk)), smk.output
    )


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
