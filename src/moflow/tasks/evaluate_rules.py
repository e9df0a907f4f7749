"""Rules cv_splits, cv_fold and scoreboard: nested CV on identical splits."""

from __future__ import annotations

import logging

import pandas as pd

from moflow.cohort import Cohort, positive_class, split_groups
from moflow.integrate import build_prior, build_strategies
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings, reads
from moflow.tasks._common import load_cohort, survival_times

log = logging.getLogger("moflow")


@reads("evaluation", "seed", uses=[load_cohort, split_groups])
def cv_splits(raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings) -> dict:
    """The outer splits every strategy is scored on (and the external-test split ``final``)."""
    from moflow.evaluate import make_splits

    cohort = load_cohort(raw_samples, raw_omics, settings)
    ev = settings.evaluation
    groups = split_groups(cohort.sheet, settings, min_groups=ev.folds)
    splits = make_splits(cohort.y, folds=ev.folds, repeats=ev.repeats, seed=settings.seed, task=cohort.task,
                         test=cohort.test, groups=groups)
    if groups is not None:
        log.info("splits keep the samples of each of %d subjects (column '%s') together", groups.nunique(),
                 ev.group_column)
    log.info("%d x %d splits of %d training samples; %d external test samples", ev.repeats, ev.folds,
             len(cohort.y) - len(cohort.test), len(cohort.test))
    return {"splits": splits}


@reads(uses=[load_cohort, build_preprocessors, build_strategies, survival_times, build_prior])
def cv_fold(raw: dict[str, pd.DataFrame], splits: pd.DataFrame, names: list[str], raw_samples: pd.DataFrame,
            raw_omics: pd.DataFrame, settings: Settings, files=None, edges: dict | None = None) -> dict:
    """Outer splits ``names`` (``evaluation: splits_per_job`` of them), one after another: every
    layer's chain fit on the split's training samples (plus the layer's QC injections) and applied to
    both sides, then every strategy fit on the training side and its predictions of the held-out
    samples. The preprocessed matrices stay in memory (written once per split they cost more than
    the preprocessing, and no rule reads them). ``files`` (enrichment files) and ``edges`` (checked
    regulator edge lists) where the hierarchical strategy runs."""
    from moflow.evaluate import run_fold, split_members

    cohort = load_cohort(raw_samples, raw_omics, settings)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    prior = (build_prior(cohort.omics, settings, files, edges or {}, {n: list(X.columns) for n, X in raw.items()})
             if files is not None else None)
    strategies = build_strategies(cohort.omics, settings, cohort.task, sheet=cohort.sheet, prior=prior)
    preprocessors = build_preprocessors(cohort.omics, settings, cohort.info)
    grid = survival_times(cohort, settings)[1] if cohort.task == "survival" else None
    preds = []
    for split in names:
        train, test = split_members(splits, split)
        preds.append(run_fold(raw, preprocessors, strategies, cohort.y, train, test, qc=qc, split=split,
                              task=cohort.task, grid=grid, log=log))
        log.info("split %s: %d training, %d held-out samples, %d strategies", split, len(train), len(test),
                 len(strategies))
    return {"predictions": pd.concat(preds, ignore_index=True)}


def _merge_predictions(predictions: list[pd.DataFrame], task: str) -> pd.DataFrame:
    """Every split x strategy's predictions in one table, labels typed by the task."""
    pred = pd.concat(predictions, ignore_index=True)
    pred["sample"] = pred["sample"].astype(str)
    if task == "survival":
        pred["time"], pred["event"] = pred["time"].astype(float), pred["event"].astype(int)
        return pred
    pred["y_true"] = pred["y_true"].astype(str) if task == "classification" else pred["y_true"].astype(float)
    return pred


@reads("evaluation", "seed", uses=[positive_class, survival_times, split_groups])
def _score_strategies(pred: pd.DataFrame, cohort: Cohort, settings: Settings) -> dict:
    """The scoreboard (CV scores with corrected intervals, external-test scores beside them), the
    corrected t-test of the best integration against the best single layer, and a label-permutation
    p-value of the best strategy."""
    from moflow.evaluate import FINAL, compare_best, external_scores, fold_scores, permutation_pvalue, scoreboard

    task, y = cohort.task, cohort.y
    times = survival_times(cohort, settings)[0] if task == "survival" else ()
    cv = pred[pred["split"] != FINAL]
    scores = fold_scores(cv, task, y=y, times=times)
    final = pred[pred["split"] == FINAL]
    external = (external_scores(final, task=task, positive=positive_class(y, settings), seed=int(settings.seed),
                                y_train=y.loc[cohort.train] if task == "survival" else None, times=times)
                if len(final) else None)
    n_cv = cv["sample"].nunique()
    min_class = int(y.loc[cv["sample"].unique()].value_counts().min()) if task == "classification" else None
    n_events = int(y.loc[cv["sample"].unique(), "event"].sum()) if task == "survival" else None
    board = scoreboard(scores, n_samples=n_cv, min_class=min_class, task=task, external=external, n_events=n_events)
    comparison = compare_best(scores, board, n_samples=n_cv, task=task)
    best = board.iloc[0]["strategy"]
    perm = permutation_pvalue(cv[cv["strategy"] == best], task=task,
                              n_permutations=int(settings.evaluation.permutations), seed=int(settings.seed),
                              subjects=split_groups(cohort.sheet, settings))
    board["permutation_p"] = board["strategy"].map({best: perm["p"]})
    log.info("scoreboard:\n%s\n%s\npermutation: %s", board.to_string(index=False), comparison.to_string(index=False),
             perm)
    return {"scoreboard": board, "fold_scores": scores, "predictions": pred, "comparison": comparison,
            "permutation": pd.DataFrame([{"strategy": best, **perm}])}


@reads(uses=[load_cohort, _score_strategies])
def score(predictions: list[pd.DataFrame], raw_samples: pd.DataFrame, raw_omics: pd.DataFrame,
          settings: Settings) -> dict:
    """Rule scoreboard: merge every split x strategy and score them (:func:`_score_strategies`)."""
    cohort = load_cohort(raw_samples, raw_omics, settings)
    return _score_strategies(_merge_predictions(predictions, cohort.task), cohort, settings)
