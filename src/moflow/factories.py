"""The package's estimators built from the settings and the sheets.

The full-cohort rules and every cross-validation fold build their estimators through these same
calls. Each factory declares the settings sections it reads (:func:`moflow.settings.reads`); the
rules hand a job exactly those sections. The estimators (scikit-learn, scipy, mofapy2) are imported
where they are built: the Snakefile imports this module at every job start.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import pandas as pd

from .cohort import mofa_groups
from .settings import Settings, reads, thaw
from .validate import _truthy

if TYPE_CHECKING:
    from .mofa import MOFA
    from .preprocess import LayerPreprocessor

STRATEGIES = ("early", "mixed", "mofa", "late")


@reads("kind_defaults", "preprocess", "batch_confounding", "covariates", "seed")
def build_preprocessor(row: pd.Series, settings: Settings, info: pd.DataFrame) -> LayerPreprocessor:
    """The per-layer chain for one row of the omics sheet: the kind's defaults (config
    ``kind_defaults``) updated with the layer's overrides (config ``preprocess: {<layer>: ...}``)."""
    from .preprocess import LayerPreprocessor, layer_settings

    steps = layer_settings(row["kind"], settings.layer_overrides(row["layer"]),
                           defaults=thaw(settings.kind_defaults[row["kind"]]))
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
        log_scale=_truthy(row.get("log_scale", "false")),
        layer=row["layer"],
        seed=int(settings.seed),
    )


@reads(uses=[build_preprocessor])
def build_preprocessors(omics: pd.DataFrame, settings: Settings, info: pd.DataFrame) -> dict[str, LayerPreprocessor]:
    return {row["layer"]: build_preprocessor(row, settings, info) for _, row in omics.iterrows()}


@reads("integration")
def mofa_likelihoods(omics: pd.DataFrame, settings: Settings) -> dict[str, str]:
    liks = {row["layer"]: ("bernoulli" if row["kind"] == "binary" else "gaussian") for _, row in omics.iterrows()}
    liks.update(thaw(settings.integration.mofa.likelihoods))
    return liks


@reads("integration", "seed", uses=[mofa_likelihoods, mofa_groups])
def build_mofa(omics: pd.DataFrame, settings: Settings, *, seed: int | None = None,
               sheet: pd.DataFrame | None = None, check: bool = False) -> MOFA:
    """The configured MOFA; with ``integration: mofa: groups`` the sample ``sheet`` gives the groups.
    ``check``: a fit that only checks (CV folds, stability seeds), which stops at ``check_tolerance``."""
    from .mofa import MOFA

    m = settings.integration.mofa
    groups = None
    if str(m.groups or "").strip():
        if sheet is None:
            raise ValueError("build_mofa: MOFA groups are configured, pass the sample sheet")
        groups = mofa_groups(sheet, settings)
    return MOFA(
        n_factors=int(m.factors),
        likelihoods=mofa_likelihoods(omics, settings),
        spikeslab_weights=bool(m.spikeslab_weights),
        ard_weights=bool(m.ard_weights),
        ard_factors=bool(m.ard_factors),
        drop_r2=m.drop_r2,
        scale_views=bool(m.scale_views),
        convergence_mode=m.convergence_mode,
        max_iter=int(m.max_iter),
        use_float32=bool(m.use_float32),
        gpu_mode=bool(m.gpu_mode),
        seed=int(settings.seed) if seed is None else int(seed),
        groups=groups,
        center_groups=bool(m.center_groups),
        tolerance=(None if m.check_tolerance is None else float(m.check_tolerance)) if check else None,
    )


@reads("evaluation")
def strategy_names(layers: list[str], settings: Settings) -> list[str]:
    """Every single-layer baseline (single_<layer>) and the integration strategies enabled in config
    (those that combine layers only where there are at least two)."""
    wanted = list(settings.evaluation.strategies)
    names = [f"single_{layer}" for layer in layers]
    names += [s for s in STRATEGIES if s in wanted and (s == "mofa" or len(layers) > 1)]
    return names


@reads("integration", "seed", uses=[build_mofa])
def strategy_factory(name: str, omics: pd.DataFrame, settings: Settings, task: str = "classification", *,
                     sheet: pd.DataFrame | None = None):
    """The factory of one unfitted strategy (``single_<layer>``, early, mixed, mofa, late).
    ``sheet``: the sample sheet, needed only for MOFA groups (``integration: mofa: groups``)."""
    from .integrate import EarlyIntegration, LateIntegration, MixedIntegration, SingleLayer

    integ = settings.integration
    common = {"task": task, "inner_folds": int(integ.inner_folds), "seed": int(settings.seed)}
    early, mixed, mofa, late = integ.early, integ.mixed, integ.mofa, integ.late
    if name.startswith("single_"):
        return partial(SingleLayer, name[len("single_"):], penalty=early.penalty, model=early.model, **common)
    if name == "early":
        return partial(EarlyIntegration, layer_weights=thaw(early.layer_weights), penalty=early.penalty,
                       model=early.model, n_components=int(early.n_components), missing=early.missing, **common)
    if name == "mixed":
        return partial(MixedIntegration, n_components=int(mixed.n_components), penalty=mixed.penalty,
                       model=mixed.model, **common)
    if name == "mofa":
        return partial(_mofa_strategy, omics, settings, sheet, penalty=mofa.penalty, model=mofa.model, **common)
    if name == "late":
        return partial(LateIntegration, penalty=late.penalty, model=late.model, **common)
    raise ValueError(f"unknown strategy {name!r}; strategies are single_<layer>, {', '.join(STRATEGIES)}")


@reads(uses=[strategy_names, strategy_factory])
def build_strategies(omics: pd.DataFrame, settings: Settings, task: str = "classification", *,
                     sheet: pd.DataFrame | None = None) -> dict:
    """name -> factory of an unfitted estimator, for every single layer and every integration strategy
    the cohort's layers and config allow (:func:`strategy_names`)."""
    return {name: strategy_factory(name, omics, settings, task, sheet=sheet)
            for name in strategy_names(list(omics["layer"]), settings)}


def _mofa_strategy(omics, settings, sheet, **kwargs):
    """The mofa strategy, its MOFA built when the strategy is (groups need the sheet only then)."""
    from .integrate import MOFAStrategy

    return MOFAStrategy(build_mofa(omics, settings, sheet=sheet, check=True), **kwargs)
