"""The evaluation summed up: the predictions gathered and scored into the scoreboard and the tests.

Every split x strategy's predictions gathered (:func:`merge_predictions`) and scored into the
scoreboard, the comparison of the best integration with the best single layer and a
label-permutation test of the best strategy (:func:`score_strategies`).

Light to import (the rule's task module is imported when the workflow starts): the scoring modules
are imported when :func:`score_strategies` runs.
"""

from __future__ import annotations

import logging

import pandas as pd

from moflow.cohort import Cohort, positive_class, split_groups, survival_times
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")


def merge_predictions(predictions: list[pd.DataFrame], task: str) -> pd.DataFrame:
    """Every split x strategy's predictions in one table, labels typed by the task.

    Sample names become strings; a survival outcome's ``time`` float and ``event`` int, a
    classification's ``y_true`` string, a regression's float. A new patient's (an external test
    sample without an outcome) stays missing: its ``event`` makes the column a nullable integer.

    Parameters
    ----------
    predictions : list of pandas.DataFrame
        The prediction tables of the CV jobs (:func:`moflow.evaluate.folds.run_fold`).
    task : str
        classification, regression or survival.

    Returns
    -------
    pandas.DataFrame
        One table, in the order given.
    """
    pred = pd.concat(predictions, ignore_index=True)
    pred["sample"] = pred["sample"].astype(str)
    if task == "survival":
        event = pred["event"]
        pred["time"], pred["event"] = pred["time"].astype(float), event.astype(int if event.notna().all() else "Int64")
        return pred
    y_true = pred["y_true"]
    pred["y_true"] = y_true.astype(str).where(y_true.notna()) if task == "classification" else y_true.astype(float)
    return pred


@reads("evaluation", "seed", "clinical", uses=[positive_class, survival_times, split_groups])
def score_strategies(pred: pd.DataFrame, cohort: Cohort, settings: Settings) -> dict:
    """The scoreboard, the comparison of the best strategies and a permutation test of the best one.

    The scoreboard holds the CV scores with corrected intervals
    (:func:`moflow.evaluate.ranking.scoreboard`) and the external-test scores beside them; the
    comparison is the corrected t-test of the best integration against the best single layer
    (:func:`moflow.evaluate.ranking.compare_best`); the permutation test is a label-permutation
    p-value of the best strategy (:func:`moflow.evaluate.significance.permutation_pvalue`), also in
    the scoreboard's ``permutation_p`` column.

    Parameters
    ----------
    pred : pandas.DataFrame
        Every split x strategy's predictions (:func:`merge_predictions`), the external test split
        ``final`` among them where there is one.
    cohort : Cohort
        The cohort the predictions are of.
    settings : Settings
        Read: ``evaluation``, ``seed``.

    Returns
    -------
    dict
        {scoreboard, fold_scores, predictions, comparison, permutation, gains}: tables (gains:
        :func:`moflow.evaluate.ranking.gains`); with clinical covariates also ``clinical`` (their screen,
        :func:`moflow.integrate.clinical.covariate_screen`); with ``evaluation: augment`` also
        ``augmentation`` (:func:`moflow.scarcity.augment.augmentation_table`).
    """
    from moflow.evaluate.metrics import external_scores, fold_scores
    from moflow.evaluate.ranking import best_strategy, compare_best, gains, scoreboard
    from moflow.evaluate.significance import permutation_pvalue
    from moflow.evaluate.splits import FINAL, is_pooled

    task, y = cohort.task, cohort.y
    times = survival_times(cohort, settings)[0] if task == "survival" else ()
    cv = pred[pred["split"] != FINAL]
    if task == "survival":
        cv = cv.astype({"event": int})
    site_column = str(settings.evaluation.site_column or "").strip()
    pooled = cv[cv["split"].map(is_pooled)] if site_column else cv.iloc[:0]
    cv = cv[~cv["split"].map(is_pooled)] if site_column else cv  # leave-one-site-out: the scoreboard's splits
    scores = fold_scores(cv, task, y=y, times=times)
    final = pred[pred["split"] == FINAL]
    known = y.dropna().index.astype(str)
    new = list(dict.fromkeys(final.loc[~final["sample"].isin(known), "sample"]))
    final = final[final["sample"].isin(known)]  # new patients (no outcome) are predicted, never scored
    if task == "survival":
        final = final.astype({"event": int})
    if new:
        log.info(
            "%d external test sample(s) without an outcome (new patients): predicted by the final model "
            "(predictions, split '%s', empty outcome), not scored: %s",
            len(new),
            FINAL,
            ", ".join(new),
        )
        if not len(final):
            log.info(
                "no external test sample has an outcome: nothing to score them on, so the scoreboard has no "
                "test_* columns"
            )
    external = (
        external_scores(
            final,
            task=task,
            positive=positive_class(y, settings),
            seed=int(settings.seed),
            n_boot=int(settings.evaluation.bootstrap),
            y_train=y.loc[cohort.train] if task == "survival" else None,
            times=times,
        )
        if len(final)
        else None
    )
    n_cv = cv["sample"].nunique()
    min_class = int(y.loc[cv["sample"].unique()].value_counts().min()) if task == "classification" else None
    n_events = int(y.loc[cv["sample"].unique(), "event"].sum()) if task == "survival" else None
    board = scoreboard(scores, n_samples=n_cv, min_class=min_class, task=task, external=external, n_events=n_events)
    comparison = compare_best(scores, board, n_samples=n_cv, task=task)
    best = best_strategy(board)["strategy"]
    perm = permutation_pvalue(
        cv[cv["strategy"] == best],
        task=task,
        n_permutations=int(settings.evaluation.permutations),
        seed=int(settings.seed),
        subjects=split_groups(cohort.sheet, settings),
    )
    board["permutation_p"] = board["strategy"].map({best: perm["p"]})
    log.info(
        "scoreboard:\n%s\n%s\npermutation: %s", board.to_string(index=False), comparison.to_string(index=False), perm
    )
    gain = gains(scores, board, n_samples=n_cv, task=task)
    out = {
        "scoreboard": board,
        "fold_scores": scores,
        "predictions": pred,
        "comparison": comparison,
        "permutation": pd.DataFrame([{"strategy": best, **perm}]),
        "gains": gain,
    }
    out.update(calibration_tables(cv, task, positive=positive_class(y, settings)))
    if [m for m in settings.evaluation.augment if m != "none"]:  # augmentation against none, same splits
        from moflow.scarcity.augment import augmentation_table

        out["augmentation"] = augmentation_table(scores, n_samples=n_cv, task=task)
    if settings.clinical.columns:
        out["clinical"] = clinical_screen(cohort, settings, samples=list(cv["sample"].unique()))
    if site_column:
        out.update(_site_scores(scores, cv, pooled, cohort, site_column, times=times))
    return out


def calibration_tables(cv: pd.DataFrame, task: str, *, positive: str | None) -> dict:
    """The out-of-fold predictions' calibration (:mod:`moflow.evaluate.calibration`), by outcome type.

    Classification: calibration, reliability and decision_curve (the last without rows unless binary);
    survival: calibration (predicted against observed survival by risk group); regression: calibration
    (in the large and slope). The tables a type has no use for have their columns and no row (the files
    exist for every outcome, so that the workflow knows them before the data).
    """
    from moflow.evaluate.calibration import (
        DECISION_CURVE_COLUMNS,
        RELIABILITY_COLUMNS,
        calibration_table,
        decision_curve,
        regression_calibration,
        reliability_table,
        survival_calibration,
    )
    from moflow.evaluate.folds import class_columns

    empty = {
        "reliability": pd.DataFrame(columns=RELIABILITY_COLUMNS),
        "decision_curve": pd.DataFrame(columns=DECISION_CURVE_COLUMNS),
    }
    if task == "survival":
        return {**empty, "calibration": survival_calibration(cv)}
    if task == "regression":
        return {**empty, "calibration": regression_calibration(cv)}
    classes = [c[2:] for c in class_columns(cv)]
    return {
        "calibration": calibration_table(cv, classes, positive),
        "reliability": reliability_table(cv, classes, positive),
        "decision_curve": decision_curve(cv, classes, positive),
    }


def _site_scores(scores: pd.DataFrame, cv: pd.DataFrame, pooled: pd.DataFrame, cohort: Cohort, column: str, *, times):
    """Leave-one-site-out: every strategy's score on each held-out site beside the pooled CV's of that site.

    Returns {sites, scoreboard_pooled}: :func:`moflow.evaluate.sites.site_table` with the within-site
    scores of :func:`moflow.evaluate.sites.pooled_site_scores` beside, and the pooled CV's scoreboard
    (:func:`moflow.evaluate.ranking.scoreboard`).
    """
    from moflow.evaluate.metrics import fold_scores
    from moflow.evaluate.ranking import scoreboard
    from moflow.evaluate.sites import pooled_site_scores, rough_below, site_table

    task, y = cohort.task, cohort.y
    site = cohort.sheet[column].astype(str).str.strip()
    site.index = site.index.astype(str)
    held = cv[["split", "sample"]].drop_duplicates()
    site_of_split = {
        str(split): str(site.loc[d["sample"].astype(str)].iloc[0]) for split, d in held.groupby("split", sort=True)
    }
    within = pooled_site_scores(pooled, site, task, y=y, times=times) if len(pooled) else None
    n_classes = y.astype(str).nunique() if task == "classification" else 2
    table = site_table(scores, site_of_split, task=task, pooled=within, rough_n=rough_below(task, n_classes))
    board = None
    if len(pooled):
        pooled_scores = fold_scores(pooled, task, y=y, times=times)
        samples = pooled["sample"].unique()
        board = scoreboard(
            pooled_scores,
            n_samples=len(samples),
            min_class=int(y.loc[samples].value_counts().min()) if task == "classification" else None,
            task=task,
            n_events=int(y.loc[samples, "event"].sum()) if task == "survival" else None,
        )
    log.info("per held-out site (column '%s'):\n%s", column, table.to_string(index=False))
    return {"sites": table, "scoreboard_pooled": board if board is not None else pd.DataFrame()}


@reads("clinical")
def clinical_screen(cohort: Cohort, settings: Settings, samples: list[str] | None = None) -> pd.DataFrame:
    """The clinical covariates' screen on the training samples, a likely leak logged as a warning.

    :func:`moflow.integrate.clinical.covariate_screen` of the samples with an outcome among ``samples``
    (default: the training samples).

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    settings : Settings
        Read: ``clinical``.
    samples : list of str, optional
        The samples to screen on.

    Returns
    -------
    pandas.DataFrame
        One row per covariate (covariate, kind, n_missing, metric, score, likely_leak).
    """
    from moflow.integrate.clinical import clinical_frame, covariate_screen

    c = settings.clinical
    rows = [str(x) for x in (samples if samples is not None else cohort.train)]
    y = cohort.y.copy()
    y.index = y.index.astype(str)
    y = y.loc[[r for r in rows if r in y.index]].dropna()
    frame = clinical_frame(cohort.sheet, c.columns)
    frame.index = frame.index.astype(str)
    screen = covariate_screen(
        frame.loc[y.index], y, cohort.task, categorical=c.categorical, threshold=float(c.leak_threshold)
    )
    for _, r in screen[screen["likely_leak"]].iterrows():
        log.warning(
            "clinical covariate '%s' alone reaches %s %.3f on the training samples (clinical: leak_threshold "
            "%.2f): a likely leak of the outcome (recorded after it, or derived from it). Check how it was "
            "collected; every score with the clinical covariates carries it.",
            r["covariate"],
            r["metric"],
            r["score"],
            float(c.leak_threshold),
        )
    return screen
