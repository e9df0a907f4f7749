"""Rule cv_splits: the outer splits every strategy is scored on (and the external-test split)."""

from moflow import io
from moflow.evaluate import make_splits
from moflow.pipeline import external_test_samples, outcome, outcome_task
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "evaluation": smk.params.evaluation}
    sheet = io.read_sheet(smk.input.samples).set_index("sample", drop=False)
    y = outcome(sheet, config)
    test = external_test_samples(sheet, config)
    ev = smk.params.evaluation
    splits = make_splits(y, folds=ev["folds"], repeats=ev["repeats"], seed=smk.params.seed,
                         task=outcome_task(y, config), test=test)
    io.write_table(splits, smk.output.splits)
    log.info("%d x %d splits of %d training samples; %d external test samples", ev["repeats"], ev["folds"],
             len(y) - len(test), len(test))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
