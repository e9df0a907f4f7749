"""Rule scoreboard: merge every split x strategy into the scoreboard, the comparison of the best
integration with the best single layer, and a permutation test of the best strategy."""

import pandas as pd

from moflow import io
from moflow.evaluate import FINAL, compare_best, fold_scores, permutation_pvalue, scoreboard
from moflow.pipeline import outcome, outcome_task
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    config = {"outcome": smk.params.outcome, "evaluation": smk.params.evaluation}
    sheet = io.read_sheet(smk.input.samples).set_index("sample", drop=False)
    y = outcome(sheet, config)
    task = outcome_task(y, config)
    pred = pd.concat([io.read_table(p) for p in smk.input.predictions], ignore_index=True)
    pred["sample"] = pred["sample"].astype(str)
    pred["y_true"] = pred["y_true"].astype(str) if task == "classification" else pred["y_true"].astype(float)
    cv = pred[pred["split"] != FINAL]
    scores = fold_scores(cv, task)
    external = fold_scores(pred[pred["split"] == FINAL], task) if (pred["split"] == FINAL).any() else None
    n_cv = cv["sample"].nunique()
    min_class = int(y.loc[cv["sample"].unique()].value_counts().min()) if task == "classification" else None
    board = scoreboard(scores, n_samples=n_cv, min_class=min_class, task=task, external=external)
    comparison = compare_best(scores, board, n_samples=n_cv, task=task)
    best = board.iloc[0]["strategy"]
    perm = permutation_pvalue(cv[cv["strategy"] == best], task=task,
                              n_permutations=int(smk.params.evaluation.get("permutations", 1000)),
                              seed=int(smk.params.seed))
    board["permutation_p"] = board["strategy"].map({best: perm["p"]})
    io.write_table(pred, smk.output.predictions)
    io.write_table(scores, smk.output.fold_scores)
    io.write_table(board, smk.output.scoreboard)
    io.write_table(comparison, smk.output.comparison)
    io.write_table(pd.DataFrame([{"strategy": best, **perm}]), smk.output.permutation)
    log.info("scoreboard:\n%s\n%s\npermutation: %s", board.to_string(index=False), comparison.to_string(index=False),
             perm)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
