"""Every preprocessing step by its config name: ``(step, method)`` -> how to build it, for which kinds.

A :class:`StepSpec` holds the builder (options and the layer's :class:`BuildContext` in, an unfitted
:class:`~moflow.preprocess.steps_base.Step` out) and the layer kinds the method accepts (``None``: every
kind). :func:`make_step` looks a step up here; :func:`methods` and :func:`kinds_for` tell what the
config may name. The kinds each normalize method accepts come from :data:`NORMALIZE_METHODS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from moflow.errors import InputError
from moflow.preprocess.batch import ComBat, LinearBatch
from moflow.preprocess.filter import FeatureFilter
from moflow.preprocess.impute import IMPUTE_METHODS, make_imputer
from moflow.preprocess.normalize import (
    PQN,
    BinaryCheck,
    CountNormalizer,
    Log2,
    MedianCentering,
    MValue,
    QuantileNormalizer,
)
from moflow.preprocess.qc_drift import QCRLSC, AutoDrift, SampleDrift
from moflow.preprocess.scale import Scaler
from moflow.preprocess.steps_base import Identity, Step

# normalize methods by layer kind, in the order error messages list them
NORMALIZE_METHODS = {
    "rnaseq_counts": ("median_of_ratios", "tmm", "upper_quartile", "total", "none"),
    "log_expression": ("none", "quantile", "median"),
    "proteomics_intensity": ("median", "quantile", "none"),
    "metabolomics_intensity": ("pqn", "tic", "none"),
    "methylation_beta": ("mvalue", "none"),
    "binary": ("check", "none"),
    "continuous": ("none", "quantile", "median"),
}

KINDS = tuple(NORMALIZE_METHODS)


@dataclass(frozen=True)
class BuildContext:
    """What a builder knows of the layer besides the step's options (see :func:`make_step`)."""

    kind: str
    info: pd.DataFrame | None
    batch_column: str
    covariates: tuple | list
    log_scale: bool
    seed: int


@dataclass(frozen=True)
class StepSpec:
    """How to build one (step, method): ``build(opts, ctx)``, and the kinds it accepts (``None``: any)."""

    build: Callable[[dict, BuildContext], Step]
    kinds: tuple[str, ...] | None = None


_REGISTRY: dict[tuple[str, str], StepSpec] = {}
REGISTRY = MappingProxyType(_REGISTRY)


def _register(
    step: str, method: str, build: Callable[[dict, BuildContext], Step], kinds: tuple[str, ...] | None = None
) -> None:
    _REGISTRY[(step, method)] = StepSpec(build, kinds)


def _identity(opts: dict, ctx: BuildContext) -> Step:
    return Identity()


# --------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------


def _normalize_none(opts: dict, ctx: BuildContext) -> Step:
    """No normalization; counts and raw intensities still go to the log scale."""
    if ctx.kind == "rnaseq_counts":
        return Log2(pseudocount=opts.get("pseudocount", 1.0))
    if ctx.kind == "proteomics_intensity":
        return Log2() if not ctx.log_scale else Identity()
    if ctx.kind == "metabolomics_intensity":
        return PQN(info=ctx.info, method="none", log_input=ctx.log_scale, **opts)
    return Identity()


def _counts(method: str):
    def build(opts: dict, ctx: BuildContext) -> Step:
        return CountNormalizer(method=method, **opts)

    return build


def _median(opts: dict, ctx: BuildContext) -> Step:
    if ctx.kind == "proteomics_intensity":
        return MedianCentering(log=not ctx.log_scale)
    return MedianCentering(log=False)


def _quantile(opts: dict, ctx: BuildContext) -> Step:
    if ctx.kind == "proteomics_intensity":
        return QuantileNormalizer(log=not ctx.log_scale, **opts)
    return QuantileNormalizer(log=False, **opts)


def _pqn(method: str):
    def build(opts: dict, ctx: BuildContext) -> Step:
        return PQN(info=ctx.info, method=method, log_input=ctx.log_scale, **opts)

    return build


def _normalize_kinds(method: str) -> tuple[str, ...]:
    return tuple(kind for kind, allowed in NORMALIZE_METHODS.items() if method in allowed)


# 'none' accepts any kind: a kind without a log transform of its own passes through unchanged
_register("normalize", "none", _normalize_none)
for _m in ("median_of_ratios", "tmm", "upper_quartile", "total"):
    _register("normalize", _m, _counts(_m), _normalize_kinds(_m))
_register("normalize", "median", _median, _normalize_kinds("median"))
_register("normalize", "quantile", _quantile, _normalize_kinds("quantile"))
for _m in ("pqn", "tic"):
    _register("normalize", _m, _pqn(_m), _normalize_kinds(_m))
_register("normalize", "mvalue", lambda opts, ctx: MValue(**opts), _normalize_kinds("mvalue"))
_register("normalize", "check", lambda opts, ctx: BinaryCheck(), _normalize_kinds("check"))

# --------------------------------------------------------------------------------------------
# qc_drift, filter, impute, batch, scale (registered in the step order)
# --------------------------------------------------------------------------------------------


def _drift(cls, method: str):
    def build(opts: dict, ctx: BuildContext) -> Step:
        allowed = [p for p in cls().get_params() if p not in ("info", "batch_column")]
        unknown = sorted(set(opts) - set(allowed))
        if unknown:
            raise InputError(f"qc_drift {method}: unknown option(s) {unknown}; options are {', '.join(allowed)}.")
        return cls(info=ctx.info, batch_column=ctx.batch_column, **opts)

    return build


_register("qc_drift", "none", _identity)
_register("qc_drift", "rlsc", _drift(QCRLSC, "rlsc"))
_register("qc_drift", "sample_lowess", _drift(SampleDrift, "sample_lowess"))
_register("qc_drift", "auto", _drift(AutoDrift, "auto"))

_register("filter", "none", _identity)
_register("filter", "default", lambda opts, ctx: FeatureFilter(info=ctx.info, **opts))


def _imputer(method: str):
    def build(opts: dict, ctx: BuildContext) -> Step:
        return make_imputer(method, opts, seed=ctx.seed, info=ctx.info, batch_column=ctx.batch_column)

    return build


_register("impute", "none", _identity)
for _m in IMPUTE_METHODS:
    _register("impute", _m, _imputer(_m))


def _batch(cls):
    def build(opts: dict, ctx: BuildContext) -> Step:
        if not ctx.batch_column:  # no batch column: nothing to correct, and the steps table says so
            return Identity(
                reason="no batch column for this layer (omics sheet column batch_column): batch not corrected"
            )
        return cls(info=ctx.info, batch_column=ctx.batch_column, covariates=tuple(ctx.covariates), **opts)

    return build


_register("batch", "none", _identity)
_register("batch", "combat", _batch(ComBat))
_register("batch", "linear", _batch(LinearBatch))


def _scaler(method: str):
    def build(opts: dict, ctx: BuildContext) -> Step:
        return Scaler(method=method)

    return build


_register("scale", "none", _identity)
for _m in ("standard", "unit_variance", "pareto", "center"):
    _register("scale", _m, _scaler(_m))

STEPS = tuple(dict.fromkeys(step for step, _ in _REGISTRY))


# --------------------------------------------------------------------------------------------
# look-ups
# --------------------------------------------------------------------------------------------


def methods(step: str) -> tuple[str, ...]:
    """Every method name the config may give ``step`` (``none`` included)."""
    if step not in STEPS:
        raise InputError(f"unknown preprocessing step '{step}'")
    return tuple(m for s, m in _REGISTRY if s == step)


def kinds_for(step: str, method: str) -> tuple[str, ...]:
    """The layer kinds ``method`` of ``step`` applies to.

    Parameters
    ----------
    step : str
        A preprocessing step (``normalize``, ``qc_drift``, ...).
    method : str
        One of its method names (:func:`methods`); another is an :class:`~moflow.errors.InputError`.

    Returns
    -------
    tuple of str
        The kinds (every kind of :data:`KINDS` where the method applies to any).
    """
    spec = _lookup(step, method)
    if spec is None:
        raise InputError(_unknown_method(step, method))
    return KINDS if spec.kinds is None else spec.kinds


def _lookup(step: str, method) -> StepSpec | None:
    try:
        return _REGISTRY.get((step, method))
    except TypeError:  # an unhashable method name names no method
        return None


def _unknown_method(step: str, method) -> str:
    named = ", ".join(m for m in methods(step) if m != "none")
    return f"{step}: unknown method '{method}' ({named}, none)"


def make_step(
    step: str, opts: dict, *, kind: str, info: pd.DataFrame, batch_column: str, covariates, log_scale: bool, seed: int
) -> Step:
    """Build one step from its config options.

    Parameters
    ----------
    step : str
        One of ``normalize``, ``qc_drift``, ``filter``, ``impute``, ``batch``, ``scale``.
    opts : dict
        The step's config options (``method`` plus the method's own options).
    kind : str
        Layer kind.
    info : pandas.DataFrame
        Sample sheet without the outcome.
    batch_column : str
        The layer's batch column (empty: no batch correction).
    covariates : array-like of str
        Sample-sheet columns protected in batch correction.
    log_scale : bool
        The layer's values are already log-transformed.
    seed : int
        Seed of random steps.

    Returns
    -------
    Step
        The unfitted step.
    """
    opts = dict(opts or {})
    # a filter is on unless switched off; every other step names its method
    method = opts.pop("method", "default" if step == "filter" else "none")
    if step not in STEPS:
        if method == "none":
            return Identity()
        raise InputError(f"unknown preprocessing step '{step}'")
    spec = _lookup(step, method)
    if step == "normalize" and (spec is None or (spec.kinds is not None and kind not in spec.kinds)):
        raise InputError(
            f"normalize method '{method}' does not apply to kind '{kind}' "
            f"(methods: {', '.join(NORMALIZE_METHODS.get(kind, ()))})"
        )
    if spec is None:
        if step == "scale":  # as ever, the Scaler rejects an unknown method when it is fit
            return Scaler(method=method)
        raise InputError(_unknown_method(step, method))
    if spec.kinds is not None and kind not in spec.kinds:
        raise InputError(f"{step} method '{method}' does not apply to kind '{kind}' (kinds: {', '.join(spec.kinds)})")
    return spec.build(
        opts,
        BuildContext(
            kind=kind, info=info, batch_column=batch_column, covariates=covariates, log_scale=log_scale, seed=seed
        ),
    )
