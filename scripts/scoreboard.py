"""Rule scoreboard: merge the held-out predictions of every split into one scoreboard."""

import pandas as pd

from moflow import io
from moflow.evaluate import fold_scores, scoreboard
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    pred = pd.concat([io.read_table(p) for p in smk.input.predictions], ignore_index=True)
    pred["y_true"] = pred["y_true"].astype(str)
    scores = fold_scores(pred)
    n_samples = pred.groupby("strategy")["sample"].nunique().max()
    per_class = pred.drop_duplicates("sample")["y_true"].value_counts()
    board = scoreboard(scores, n_samples=int(n_samples), min_class=int(per_class.min()))
    io.write_table(pred, smk.output.predictions)
    io.write_table(scores, smk.output.fold_scores)
    io.write_table(board, smk.output.scoreboard)
    log.info("scoreboard:\n%s", board.to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
