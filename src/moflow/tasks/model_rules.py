"""The model bundle (the report job's step ``model``) and rule predict: new samples scored with it."""

from __future__ import annotations

import pandas as pd

from moflow.cohort import survival_times
from moflow.errors import InputError
from moflow.settings import SECTIONS, Settings, reads
from moflow.tasks._common import load_cohort
from moflow.tasks._fit_inputs import fit_inputs


def _bundle_conformal(cohort, predictions: pd.DataFrame, strategy: str, settings: Settings):
    """The bundle's conformal thresholds: the strategy's out-of-fold predictions (None for survival)."""
    from moflow.model import TASKS_WITH_SETS, cv_predictions, fit_conformal

    if cohort.task not in TASKS_WITH_SETS:
        return None
    classes = sorted(cohort.y.loc[cohort.train].astype(str).unique()) if cohort.task == "classification" else None
    oof = cv_predictions(predictions, strategy)
    return fit_conformal(oof, cohort.task, settings.predictor.coverage, classes=classes)


@reads(
    *SECTIONS,
    uses=[load_cohort, fit_inputs, survival_times],
)
def fit_model(
    raw: dict[str, pd.DataFrame],
    board: pd.DataFrame,
    predictions: pd.DataFrame,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
    *,
    files=None,
    edges: dict | None = None,
    config: dict | None = None,
    coverage: pd.DataFrame | None = None,
) -> dict:
    """The chosen strategy refit on every training sample and saved (:func:`moflow.model.fit_bundle`).

    Reads every section: the bundle keeps the whole config (a change to any section makes a new bundle).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    board : pandas.DataFrame
        The scoreboard (the strategy ``predictor: strategy: best`` picks).
    predictions : pandas.DataFrame
        The evaluation's predictions: the strategy's out-of-fold rows calibrate its prediction sets or
        intervals (:func:`moflow.model.fit_conformal`).
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        Every section.
    files, edges
        The hierarchical strategy's enrichment files and regulator edge lists (as :func:`cv_fold`).
    config : dict, optional
        The settings as configured (kept in the bundle).
    coverage : pandas.DataFrame, optional
        The coverage its prediction sets or intervals reached (:func:`model_coverage`), kept in the bundle.

    Returns
    -------
    dict
        {bundle: the file's bytes, manifest: its manifest, summary: one row per layer}.
    """
    from moflow.model import bundle_bytes, choose_strategy, fit_bundle

    cohort = load_cohort(raw_samples, raw_omics, settings)
    strategy, why = choose_strategy(board, settings.predictor.strategy)
    conformal = _bundle_conformal(cohort, predictions, strategy, settings)
    strategies, preprocessors, clinical = fit_inputs(raw, cohort, settings, files=files, edges=edges)
    bundle = fit_bundle(
        raw,
        cohort,
        strategy,
        chosen_by=why,
        strategies=strategies,
        preprocessors=preprocessors,
        clinical=clinical,
        grid=survival_times(cohort, settings)[1] if cohort.task == "survival" else None,
        config=config,
        max_missing=settings.predictor.max_missing_features,
        conformal=conformal,
        coverage=coverage,
    )
    payload, manifest = bundle_bytes(bundle)
    summary = bundle.summary().assign(sha256=manifest["sha256"], bytes=manifest["bytes"])
    return {"bundle": payload, "manifest": manifest, "summary": summary}


def predict_samples(
    payload: bytes,
    manifest: dict,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    raw_matrices,
    *,
    bundle_path: str,
    samples_path: str,
    omics_path: str,
    max_missing: float | None = None,
) -> dict:
    """New samples scored with a saved bundle (rule predict): predictions, the layers' alignment, a page.

    Parameters
    ----------
    payload, manifest
        The bundle file's bytes and its manifest (checked before loading: :func:`moflow.model.load_bundle`).
    raw_samples : pandas.DataFrame
        The new samples' sheet as read (a column ``sample``; no outcome needed).
    raw_omics : pandas.DataFrame
        The new folder's omics sheet (``layer``, ``path``; optional ``orientation``).
    raw_matrices : Mapping of str to pandas.DataFrame
        {layer: the raw table as read}.
    bundle_path, samples_path, omics_path : str
        Name the files in messages.
    max_missing : float, optional
        Overrides the bundle's ``predictor: max_missing_features``.

    Returns
    -------
    dict
        {predictions, layers: the per-layer alignment table, html: the page, model: the bundle's summary}.
    """
    from moflow.inputs import parse_matrix
    from moflow.model import check_new_sheet, load_bundle, predictions_page, score_new

    bundle = load_bundle(payload, manifest, path=bundle_path)
    if max_missing is None:  # the training run's predictor: max_missing_features
        max_missing = bundle.max_missing
    sheet = check_new_sheet(raw_samples, bundle, path=samples_path)
    if "layer" not in raw_omics.columns or "path" not in raw_omics.columns:
        raise InputError(f"{omics_path}: needs the columns 'layer' and 'path' (one row per layer of the new samples).")
    omics = raw_omics.assign(layer=raw_omics["layer"].astype(str).str.strip()).set_index("layer")
    matrices, paths, other_ids = {}, {}, set()
    for layer, row in omics.iterrows():
        paths[layer] = str(row["path"])
        trained = bundle.omics.loc[layer] if layer in bundle.omics.index else {}
        orientation = str(row.get("orientation") or "") or str(trained.get("orientation") or "samples_in_rows")
        if layer not in bundle.layers:  # its samples count as present; its values are not used
            raw = raw_matrices[layer]
            other_ids |= set(map(str, raw.index if orientation == "samples_in_rows" else raw.columns))
            continue
        matrices[layer] = parse_matrix(
            raw_matrices[layer],
            path=paths[layer],
            orientation=orientation,
            kind=str(trained["kind"]),
            layer=layer,
            may_lack=True,
            log_scale=bool(trained.get("log_scale", False)),
        )
    predictions, layers = score_new(bundle, matrices, sheet, paths=paths, max_missing=max_missing, other_ids=other_ids)
    html = predictions_page(bundle, predictions, layers, manifest=manifest, bundle_path=bundle_path)
    return {"predictions": predictions, "layers": layers, "html": html, "model": bundle.summary()}


@reads(
    "predictor",
    "evaluation",
    "seed",
    uses=[load_cohort, fit_inputs],
)
def coverage_fold(
    raw: dict[str, pd.DataFrame],
    splits: pd.DataFrame,
    board: pd.DataFrame,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
    pairs: list[str],
    *,
    files=None,
    edges: dict | None = None,
) -> dict:
    """The models of the coverage check: each fit without two folds of the first repeat, predicting them.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}; every chain is refit on each model's training side.
    splits, board : pandas.DataFrame
        The outer splits and the scoreboard (the bundle's strategy).
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        Read: ``predictor``, ``evaluation``, ``seed`` and what the callees read.
    pairs : list of str
        The pairs of folds (:func:`moflow.model.fold_pairs`).
    files, edges
        The hierarchical strategy's enrichment files and regulator edge lists (as :func:`fit_model`).

    Returns
    -------
    dict
        {rows: :func:`moflow.model.pair_predictions` of every pair (empty for survival)}.
    """
    from moflow.model import TASKS_WITH_SETS, choose_strategy, pair_predictions

    cohort = load_cohort(raw_samples, raw_omics, settings)
    if cohort.task not in TASKS_WITH_SETS or not pairs:
        return {"rows": pd.DataFrame()}
    strategy, _ = choose_strategy(board, settings.predictor.strategy)
    strategies, preprocessors, clinical = fit_inputs(raw, cohort, settings, files=files, edges=edges)
    rows = [
        pair_predictions(
            raw, splits, cohort, strategy, pair, strategies=strategies, preprocessors=preprocessors, clinical=clinical
        )
        for pair in pairs
    ]
    return {"rows": pd.concat(rows, ignore_index=True)}


@reads("predictor", uses=[load_cohort])
def model_coverage(
    rows: pd.DataFrame,
    predictions: pd.DataFrame,
    splits: pd.DataFrame,
    board: pd.DataFrame,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
) -> dict:
    """The coverage of the bundle's prediction sets or intervals: inside the outer splits, on the external test set.

    Parameters
    ----------
    rows : pandas.DataFrame
        Every :func:`coverage_fold`'s rows (empty where the check is off or the outcome is a survival time).
    predictions, splits, board : pandas.DataFrame
        The evaluation's predictions, the outer splits and the scoreboard.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        Read: ``predictor`` and what the callees read.

    Returns
    -------
    dict
        {samples: one row per checked sample, coverage: :func:`moflow.model.coverage_summary`}.
    """
    from moflow.model import choose_strategy, conformal_check, coverage_summary, external_coverage

    cohort = load_cohort(raw_samples, raw_omics, settings)
    strategy, _ = choose_strategy(board, settings.predictor.strategy)
    conformal = _bundle_conformal(cohort, predictions, strategy, settings)
    parts = []
    if conformal is not None and not rows.empty:
        parts.append(conformal_check(rows, predictions, splits, cohort, strategy, coverage=settings.predictor.coverage))
    if conformal is not None:
        parts.append(external_coverage(conformal, predictions, strategy))
    parts = [p for p in parts if not p.empty]
    samples = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["scope", "split", "sample"])
    return {"samples": samples, "coverage": coverage_summary(samples, settings.predictor.coverage, strategy)}
