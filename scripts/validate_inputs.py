"""Rule validate_inputs: check every matrix against the sheets; write them only if all pass."""

from moflow import io
from moflow.pipeline import load_inputs
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    layers = [k for k in smk.input.keys() if k not in ("samples", "omics")]
    config = {"outcome": smk.params.outcome, "evaluation": smk.params.evaluation,
              "inputs": {"allow_missing_samples": smk.params.allow_missing}}
    sheet, omics, matrices, summary = load_inputs(
        smk.input.samples, smk.input.omics, {k: smk.input[k] for k in layers}, config,
        min_class_size=smk.params.folds, labels=dict(smk.params.sources),
    )
    for layer, path in zip(omics["layer"], smk.output.matrices):
        io.write_matrix(matrices[layer], path)
    io.write_table(sheet, smk.output.samples)
    io.write_table(summary, smk.output.summary)
    log.info("inputs checked:\n%s", summary.to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
