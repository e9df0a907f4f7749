"""Rules cv_splits, cv_fold and scoreboard: nested CV on identical splits; the shift of held-out sites."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from moflow.cohort import split_groups, survival_times
from moflow.evaluate import merge_predictions, score_strategies
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings, reads
from moflow.tasks._common import load_cohort
from moflow.tasks._fit_inputs import fit_inputs

log = logging.getLogger("moflow")


@reads("evaluation", "seed", uses=[load_cohort, split_groups])
def cv_splits(raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings) -> dict:
    """The outer splits every strategy is scored on (and the external-test split ``final``).

    Parameters
    ----------
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        Read: ``evaluation``, ``seed`` and what the callees read.

    Returns
    -------
    dict
        {splits: the splits table (:func:`moflow.evaluate.make_splits`)}.
    """
    from moflow.evaluate import make_splits

    cohort = load_cohort(raw_samples, raw_omics, settings)
    ev = settings.evaluation
    groups = split_groups(cohort.sheet, settings, min_groups=ev.folds)
    splits = make_splits(
        cohort.y,
        folds=ev.folds,
        repeats=ev.repeats,
        seed=settings.seed,
        task=cohort.task,
        test=cohort.test,
        groups=groups,
        check=True,
    )
    column = str(ev.site_column or "").strip()
    if column:  # one site left out at a time (r1f<i>), the pooled CV beside them (p<R>f<F>)
        from moflow.evaluate import FINAL, POOLED, site_levels, site_splits

        train = [s for s in cohort.y.index if s not in set(cohort.test)]
        by_site = site_splits(cohort.y, cohort.sheet.loc[train, column], task=cohort.task, test=cohort.test)
        pooled = splits[splits["split"] != FINAL].assign(split=lambda d: POOLED + d["split"].str[1:])
        splits = pd.concat([by_site, pooled[by_site.columns]], ignore_index=True)
        log.info(
            "splits leave one of %d sites out at a time (column '%s': %s), with %d x %d pooled CV splits beside them",
            len(site_levels(cohort.sheet, column, train)),
            column,
            ", ".join(site_levels(cohort.sheet, column, train)),
            ev.repeats,
            ev.folds,
        )
    if groups is not None:
        log.info(
            "splits keep the samples of each of %d subjects (column '%s') together", groups.nunique(), ev.group_column
        )
    log.info(
        "%d x %d splits of %d training samples; %d external test samples",
        ev.repeats,
        ev.folds,
        len(cohort.y) - len(cohort.test),
        len(cohort.test),
    )
    new = _unscored(cohort)
    if new:
        log.info(
            "%d external test sample(s) without an outcome (new patients): predicted by the final model (split "
            "'final'), never scored: %s",
            len(new),
            ", ".join(new),
        )
    return {"splits": splits}


def _unscored(cohort) -> list[str]:
    """The external test samples of a cohort without an outcome: new patients, predicted and never scored.

    Parameters
    ----------
    cohort : Cohort
        The cohort (:func:`moflow.cohort.make_cohort`; their outcome is missing in ``cohort.y``).

    Returns
    -------
    list of str
        Their IDs, in sheet order.
    """
    known = cohort.y.dropna().index
    return [str(s) for s in cohort.test if s not in known]


@reads(uses=[load_cohort, fit_inputs, survival_times])
def cv_fold(
    raw: dict[str, pd.DataFrame],
    splits: pd.DataFrame,
    names: list[str],
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
    files=None,
    edges: dict | None = None,
) -> dict:
    """Evaluate the outer splits ``names`` (``evaluation: splits_per_job`` of them), one after another.

    Every layer's chain fit on the split's training samples (plus the layer's QC injections) and
    applied to both sides, then every strategy fit on the training side and its predictions of the
    held-out samples. The preprocessed matrices stay in memory (written once per split they cost more
    than the preprocessing, and no rule reads them).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    splits : pandas.DataFrame
        The CV splits (rule cv_splits).
    names : list of str
        The splits this job evaluates.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.
    files : tuple, optional
        The enrichment files, where the hierarchical strategy runs (None: it gets no prior).
    edges : dict, optional
        {regulator: checked edge list}, where the hierarchical strategy runs.

    Returns
    -------
    dict
        {predictions: every strategy's held-out predictions of every split}.
    """
    from moflow.evaluate import run_fold, split_members

    cohort = load_cohort(raw_samples, raw_omics, settings)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    strategies, preprocessors, clinical = fit_inputs(raw, cohort, settings, files=files, edges=edges)
    grid = survival_times(cohort, settings)[1] if cohort.task == "survival" else None
    preds = []
    new = _unscored(cohort)
    for split in names:
        train, test = split_members(splits, split)
        with warnings.catch_warnings():  # a new patient's missing event cast to int: blanked below
            warnings.filterwarnings("ignore", message="invalid value encountered in cast", category=RuntimeWarning)
            p = run_fold(
                raw,
                preprocessors,
                strategies,
                cohort.y,
                train,
                test,
                qc=qc,
                split=split,
                task=cohort.task,
                grid=grid,
                log=log,
                clinical=clinical,
            )
        if new:  # new patients (external test samples without an outcome): an empty outcome, never a made-up one
            outcome_cols = ["time", "event"] if cohort.task == "survival" else ["y_true"]
            p = p.astype({c: float for c in outcome_cols}) if cohort.task == "survival" else p
            p.loc[p["sample"].astype(str).isin(new), outcome_cols] = np.nan
        preds.append(p)
        log.info(
            "split %s: %d training, %d held-out samples, %d strategies", split, len(train), len(test), len(strategies)
        )
    return {"predictions": pd.concat(preds, ignore_index=True)}


@reads("evaluation", "seed", uses=[load_cohort, build_preprocessors])
def site_shift(
    raw: dict[str, pd.DataFrame],
    splits: pd.DataFrame,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
) -> dict:
    """The shift of every held-out site, per layer, after preprocessing (``evaluation: site_column``).

    For every leave-one-site-out split (``r1f<i>``), each layer's chain is fit on the training sites
    (with its QC injections) and applied to the held-out site, as the split's models see them; then
    :func:`moflow.evaluate.sites.shift_diagnostic` measures how well a classifier tells the held-out
    site's samples from the training sites' (cross-validated AUC; also against the nearest single
    training site).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    splits : pandas.DataFrame
        The outer splits (:func:`cv_splits`).
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        Read: ``evaluation`` (site_column), ``seed``.

    Returns
    -------
    dict
        {shift: one row per held-out site and layer: site, split, layer, auc, n_train, n_test, features,
        nearest_site, auc_nearest_site}.
    """
    from moflow.evaluate import FINAL, is_pooled, preprocess_fold, shift_diagnostic, split_members

    column = str(settings.evaluation.site_column or "").strip()
    if not column:
        return {"shift": pd.DataFrame()}
    cohort = load_cohort(raw_samples, raw_omics, settings)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    preprocessors = build_preprocessors(cohort.omics, settings, cohort.info)
    site = cohort.sheet[column].astype(str).str.strip()
    rows = []
    for split in dict.fromkeys(splits["split"].astype(str)):
        if split == FINAL or is_pooled(split):
            continue
        train, test = split_members(splits, split)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tr, te = preprocess_fold(raw, preprocessors, cohort.y, train, test, qc)
        table = shift_diagnostic(
            tr, te, seed=int(settings.seed), train_sites=site.loc[[s for s in train if s in site.index]]
        )
        held = site.loc[test].unique()
        rows.append(table.assign(site=str(held[0]), split=split))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if len(out):
        out = out[["site", "split", *[c for c in out.columns if c not in ("site", "split")]]]
        log.info("shift of each held-out site, per layer (column '%s'):\n%s", column, out.to_string(index=False))
    return {"shift": out}


@reads(uses=[load_cohort, score_strategies])
def score(
    predictions: list[pd.DataFrame], raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings
) -> dict:
    """Rule scoreboard: merge every split x strategy and score them (:func:`moflow.evaluate.summary.score_strategies`).

    Parameters
    ----------
    predictions : list of pandas.DataFrame
        The predictions of every cv_fold job.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        {scoreboard, fold_scores, predictions, comparison, permutation}: tables
        (:func:`~moflow.evaluate.summary.score_strategies`).
    """
    cohort = load_cohort(raw_samples, raw_omics, settings)
    return score_strategies(merge_predictions(predictions, cohort.task), cohort, settings)
