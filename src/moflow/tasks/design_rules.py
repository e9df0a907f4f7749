"""Rules design_power, design_fold and design_learning: how many samples the next study needs.

Estimated from this pilot cohort (the analyses live in :mod:`moflow.design`).

* design_power: per-layer power in the MultiPower model between two outcome groups, the FDR-controlling
  level at every size, and the joint designs (:func:`moflow.design.pilot_power.power_design`).
* design_fold: learning-curve points on the nested CV's own splits (the first repeat): training sides
  subsampled (stratified, nested), every chain and the chosen strategies refit, held-out samples scored
  (:func:`moflow.design.pilot_learning.learning_points`).
* design_learning: an inverse power law per strategy fitted to those points and the full-size fold scores,
  with a split bootstrap, extrapolated to the target score; Riley et al.'s minimum sample size as a floor
  (:func:`moflow.design.pilot_learning.sample_size_design`).
"""

from __future__ import annotations

import pandas as pd

from moflow.cohort import survival_times
from moflow.design import learning_points, learning_strategies, power_design, sample_size_design
from moflow.integrate import build_prior, build_strategies
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings, reads
from moflow.tasks._common import load_cohort


@reads("design", uses=[load_cohort, power_design])
def design_power(
    raw: dict[str, pd.DataFrame],
    layers: dict[str, pd.DataFrame],
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
) -> dict:
    """Power per layer and the joint design (:func:`moflow.design.pilot_power.power_design`) and their figure.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix} (``results/inputs/``).
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix} (``results/preprocess/``).
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        Read: ``design`` and what the callees read.

    Returns
    -------
    dict
        {power, joint, figure (PNG bytes)}.
    """
    from moflow.report import plot_power_curves, png_bytes

    cohort = load_cohort(raw_samples, raw_omics, settings)
    out = power_design(raw, layers, cohort, settings)
    d = settings.design
    figure = png_bytes(
        plot_power_curves(out["power"], target_power=float(d.target_power), min_power=float(d.min_power))
    )
    return {"power": out["power"], "joint": out["joint"], "figure": figure}


@reads(
    uses=[
        load_cohort,
        build_preprocessors,
        build_strategies,
        survival_times,
        build_prior,
        learning_strategies,
        learning_points,
    ]
)
def design_fold(
    raw: dict[str, pd.DataFrame],
    splits: pd.DataFrame,
    names: list[str],
    board: pd.DataFrame,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
    files=None,
    edges: dict | None = None,
) -> dict:
    """Learning-curve points of the splits ``names`` (:func:`moflow.design.pilot_learning.learning_points`).

    For the chosen strategies (the prior of the hierarchical one from ``files`` and ``edges``).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}; every chain is refit inside each split.
    splits : pandas.DataFrame
        The CV splits (rule cv_splits).
    names : list of str
        The splits this job evaluates.
    board : pandas.DataFrame
        The scoreboard, from which the strategies are chosen
        (:func:`moflow.design.pilot_learning.learning_strategies`).
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.
    files : tuple, optional
        The enrichment files (:func:`moflow.io.read_enrichment_files`); None: no hierarchical prior.
    edges : dict, optional
        {regulator: checked edge list}.

    Returns
    -------
    dict
        {points: strategy, split, fraction, n_train, n_test, and every metric}.
    """
    cohort = load_cohort(raw_samples, raw_omics, settings)
    task = cohort.task
    chosen = learning_strategies(board, settings)
    prior = (
        build_prior(cohort.omics, settings, files, edges or {}, {n: list(X.columns) for n, X in raw.items()})
        if files is not None and "hierarchical" in chosen
        else None
    )
    strategies = {
        n: f
        for n, f in build_strategies(cohort.omics, settings, task, sheet=cohort.sheet, prior=prior).items()
        if n in chosen
    }
    pps = build_preprocessors(cohort.omics, settings, cohort.info)
    times, grid = survival_times(cohort, settings) if task == "survival" else ((), None)
    return {"points": learning_points(raw, splits, names, cohort, pps, strategies, settings, times=times, grid=grid)}


@reads(uses=[load_cohort, sample_size_design])
def design_learning(
    points: pd.DataFrame,
    scores: pd.DataFrame,
    splits: pd.DataFrame,
    board: pd.DataFrame,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
) -> dict:
    """The learning curves and sample sizes (:func:`moflow.design.pilot_learning.sample_size_design`), and a figure.

    Parameters
    ----------
    points : pandas.DataFrame
        The learning-curve points of every design_fold job.
    scores : pandas.DataFrame
        The full-size fold scores.
    splits : pandas.DataFrame
        The CV splits.
    board : pandas.DataFrame
        The scoreboard.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        {points, curve, sample_size, figure (PNG bytes)}.
    """
    from moflow.report import plot_learning_curves, png_bytes

    cohort = load_cohort(raw_samples, raw_omics, settings)
    out = sample_size_design(points, scores, splits, board, cohort, settings)
    return {
        "points": out["points"],
        "curve": out["curve"],
        "sample_size": out["sample_size"],
        "figure": png_bytes(plot_learning_curves(out["points"], out["curve"], out["sample_size"])),
    }
