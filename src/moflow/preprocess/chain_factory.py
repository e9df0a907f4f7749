"""The per-layer preprocessing chains built from the settings and the omics sheet.

The full-cohort rule and every cross-validation fold build a layer's chain through these same calls.
Each declares the settings sections it reads (:func:`moflow.settings.reads`); the rules hand a job
exactly those sections. The steps are imported where they are built: the Snakefile imports this
module at every job start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from moflow.settings import Settings, reads, thaw
from moflow.wording import truthy

if TYPE_CHECKING:
    from moflow.preprocess.chain import LayerPreprocessor


@reads("kind_defaults", "preprocess", "batch_confounding", "covariates", "seed")
def build_preprocessor(row: pd.Series, settings: Settings, info: pd.DataFrame) -> LayerPreprocessor:
    """The per-layer chain for one row of the omics sheet.

    Its steps are the kind's defaults (config ``kind_defaults``) updated with the layer's overrides
    (config ``preprocess: {<layer>: ...}``); an active batch step gets the config-wide confounding guard
    (``batch_confounding``) unless the layer sets its own.

    Parameters
    ----------
    row : pandas.Series
        One row of the omics sheet (``layer``, ``kind``, optional ``batch_column`` and ``log_scale``).
    settings : Settings
        The settings sections the function reads.
    info : pandas.DataFrame
        Sample sheet without the outcome.

    Returns
    -------
    LayerPreprocessor
        The unfitted chain of the layer.
    """
    from moflow.preprocess import LayerPreprocessor, layer_settings

    steps = layer_settings(
        row["kind"], settings.layer_overrides(row["layer"]), defaults=thaw(settings.kind_defaults[row["kind"]])
    )
    # the confounding guard of batch correction: config-wide settings, per-layer options win
    guard = settings.batch_confounding
    if "batch" in steps and steps["batch"].get("method", "none") != "none":
        steps["batch"].setdefault("max_association", float(guard.max_association))
        steps["batch"].setdefault("allow_confounded", bool(guard.allow))
    return LayerPreprocessor(
        kind=row["kind"],
        settings=steps,
        info=info,
        batch_column=row.get("batch_column", "") or "",
        covariates=tuple(settings.covariates),
        log_scale=truthy(row.get("log_scale", "false")),
        layer=row["layer"],
        seed=int(settings.seed),
    )


@reads(uses=[build_preprocessor])
def build_preprocessors(omics: pd.DataFrame, settings: Settings, info: pd.DataFrame) -> dict[str, LayerPreprocessor]:
    """The chain of every layer of the omics sheet (:func:`build_preprocessor` per row).

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet, one row per layer.
    settings : Settings
        The settings sections :func:`build_preprocessor` reads.
    info : pandas.DataFrame
        Sample sheet without the outcome.

    Returns
    -------
    dict of str to LayerPreprocessor
        ``{layer: unfitted chain}``.
    """
    return {row["layer"]: build_preprocessor(row, settings, info) for _, row in omics.iterrows()}
