"""Rule cv_splits: the outer splits every strategy is scored on."""

from moflow import io
from moflow.evaluate import make_splits
from moflow.pipeline import outcome
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    sheet = io.read_sheet(smk.input.samples)
    sheet = sheet.set_index("sample", drop=False)
    y = outcome(sheet, {"outcome": smk.params.outcome})
    ev = smk.params.evaluation
    splits = make_splits(y, folds=ev["folds"], repeats=ev["repeats"], seed=smk.params.seed)
    io.write_table(splits, smk.output.splits)
    log.info("%d x %d splits of %d samples", ev["repeats"], ev["folds"], len(y))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
