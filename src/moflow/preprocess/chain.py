"""The per-layer chain.

:class:`LayerPreprocessor` builds each step with :func:`moflow.preprocess.registry.make_step` and runs
them in order.
"""

from __future__ import annotations

import math

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.batch import ComBat, LinearBatch
from moflow.preprocess.defaults import STEP_ORDER, layer_settings
from moflow.preprocess.filter import FeatureFilter
from moflow.preprocess.impute import AutoImpute, MixedImpute, WithinBatch
from moflow.preprocess.normalize import PQN, CountNormalizer
from moflow.preprocess.qc_drift import QCRLSC, AutoDrift, SampleDrift
from moflow.preprocess.registry import make_step
from moflow.preprocess.steps_base import COLUMN_NAME, COVARIATES, SAMPLE_SHEET, SEED, Identity, qc_mask


def _order_r(step) -> str:
    """The study samples' run-order association of a fitted drift step, for the steps table.

    Before -> after, and with the run order shuffled (the level of no drift); '' where unknown.
    """
    before = getattr(step, "order_correlation_before_", math.nan)
    if not math.isfinite(before):
        return ""
    after = getattr(step, "order_correlation_after_", math.nan)
    shuffled = getattr(step, "order_correlation_shuffled_", math.nan)
    null = f"; {shuffled:.2f} with the run order shuffled"
    if getattr(step, "chosen_", "") == "none":
        return f"run-order median within-batch |Spearman r| {before:.2f} (not corrected{null})"
    text = f"run-order median within-batch |Spearman r| {before:.2f} -> {after:.2f} (study samples{null})"
    if isinstance(step, SampleDrift) and before < shuffled + 0.03:
        text += (
            "; no run-order association above the shuffled level: the trend fit on the samples mostly adds "
            "noise here, consider qc_drift method 'none'"
        )
    return text


def _batch_not_corrected(step, batch_column: str) -> str:
    """Why the fitted batch step corrected nothing, for the steps table, the log and the report ('' if it did).

    Every reason starts with "no batch correction: ", so the table's method column ("none") and summary
    never claim a correction that did not happen.
    """
    if isinstance(step, (ComBat, LinearBatch)):
        return step.skipped_
    if isinstance(step, Identity):
        if not batch_column and step.reason:  # batch correction configured, but the layer names no batch column
            return (
                "no batch correction: no batch column for this layer (omics sheet column batch_column is empty); "
                "name the sample-sheet column that holds the batch to correct it"
            )
        return "no batch correction: batch method 'none' in config"
    return ""


def _step_summary(step) -> str:
    """What a fitted step decided, or why it changed nothing, for the steps table."""
    parts = []
    if isinstance(step, Identity) and step.reason:
        parts.append(step.reason)
    if isinstance(step, AutoImpute):
        t = step.scores_.set_index("method")["nrmse"]
        parts.append(
            f"chose {step.chosen_} (masked-value NRMSE {t[step.chosen_]:.3f}; mean imputation {t['mean']:.3f})"
        )
    if isinstance(step, AutoDrift):
        parts.append(f"auto: {step.chosen_} ({step.reason_})")
        step = step.step_ if isinstance(step.step_, QCRLSC) else step
    if isinstance(step, SampleDrift):
        n = sum(step.n_fit_.values())
        parts.append(f"trend fit on {n} training sample(s) in {len(step.n_fit_)} batch(es)")
        if step.uncorrected_features_:
            parts.append(
                f"{len(step.uncorrected_features_)} feature(s) with fewer than {step.min_samples} values in a "
                "batch left uncorrected there"
            )
    if isinstance(step, WithinBatch):
        parts.append(
            f"within batch: {type(step.imputer).__name__} with each feature's batch offsets taken out and put back"
        )
    if isinstance(step, MixedImpute):
        parts.append(f"{len(step.mnar_features_)} feature(s) MNAR")
    if isinstance(step, FeatureFilter):
        parts += [f"removed {v} by {k}" for k, v in step.removed_.items() if v]
    if isinstance(step, QCRLSC):
        parts.append(f"QC median RSD {step.qc_rsd_before_:.1f}% -> {step.qc_rsd_after_:.1f}%")
    if isinstance(step, (QCRLSC, SampleDrift, AutoDrift)) and _order_r(step):
        parts.append(_order_r(step))
    if isinstance(step, (ComBat, LinearBatch)) and step.confounding_:
        parts.append(f"batch/outcome {step.confounding_['statistic']} {step.confounding_['value']:.2f}")
    if isinstance(step, PQN) and step.lambda_ is not None:
        parts.append(f"glog lambda {step.lambda_:.4g}")
    if isinstance(step, CountNormalizer) and step.transformation == "vst":
        parts.append(f"dispersion trend {step.a0_:.4g} + {step.a1_:.4g}/mean")
    return "; ".join(parts)


class LayerPreprocessor(TransformerMixin, BaseEstimator):
    """The per-layer chain: normalize -> qc_drift -> filter -> impute -> batch -> scale.

    The steps run in the order of :data:`~moflow.preprocess.defaults.STEP_ORDER`; settings ``order``
    replaces it.

    ``fit(X, y)`` takes the training samples of one layer (plus its QC injections, if any) and the
    outcome of the training samples; ``transform(X)`` returns the cohort samples of X (QC
    injections removed) processed with the fitted steps. Bad input found by a step raises
    :class:`~moflow.errors.InputError` naming the layer and the step.

    Parameters
    ----------
    kind : str
        Layer kind.
    settings : dict or None
        ``{step: options}`` (:func:`layer_settings`); ``None``: the kind's defaults.
    info : pandas.DataFrame or None
        Sample sheet without the outcome.
    batch_column, covariates, log_scale, seed
        See :func:`make_step`.
    layer : str
        Layer name, for messages.

    Attributes
    ----------
    steps_ : list of (str, Step)
        The fitted steps, in order.
    history_ : list of dict
        One row per fitted step for the steps table (method, parameters, features in and out, missing
        fraction after the step, summary).
    features_out_ : list of str
        Features of the processed matrix.
    """

    _parameter_constraints: dict = {
        "kind": [str],  # an unknown kind is an InputError when the chain is built
        "settings": [dict, None],
        "info": SAMPLE_SHEET,
        "batch_column": COLUMN_NAME,
        "covariates": COVARIATES,
        "log_scale": ["boolean"],
        "layer": [str],
        "seed": SEED,
    }

    def __init__(
        self,
        kind: str,
        settings: dict | None = None,
        info: pd.DataFrame | None = None,
        batch_column: str = "",
        covariates=(),
        log_scale: bool = False,
        layer: str = "",
        *,
        seed: int,
    ):
        self.kind = kind
        self.settings = settings
        self.info = info
        self.batch_column = batch_column
        self.covariates = covariates
        self.log_scale = log_scale
        self.layer = layer
        self.seed = seed

    def _build(self):
        settings = self.settings if self.settings is not None else layer_settings(self.kind)
        order = settings.get("order", STEP_ORDER)
        steps = []
        for name in order:
            if name not in settings:
                continue
            steps.append(
                (
                    name,
                    self._guard(
                        name,
                        make_step,
                        name,
                        settings[name],
                        kind=self.kind,
                        info=self.info,
                        batch_column=self.batch_column,
                        covariates=self.covariates,
                        log_scale=self.log_scale,
                        seed=self.seed,
                    ),
                )
            )
        return steps

    def _guard(self, name, fn, *args, **kwargs):
        """Call fn; an InputError gets the layer and step in front of its message."""
        try:
            return fn(*args, **kwargs)
        except InputError as err:
            msg = str(err)
            if self.layer and not msg.startswith("layer '"):
                raise InputError(f"layer '{self.layer}', step {name}: {msg}") from None
            raise

    def _run(self, X, y, fit: bool, trace: dict | None = None):
        from moflow.inputs import check_layer_not_empty

        cur = X
        steps = self._build() if fit else self.steps_
        # QC injections go through every step up to the last one that uses them, then leave
        last_qc = max((i for i, (_, st) in enumerate(steps) if st.uses_qc), default=-1)
        qc_dropped = False
        for i, (name, step) in enumerate(steps):
            if i > last_qc and not qc_dropped:
                cur = cur[~qc_mask(cur, self.info)]
                qc_dropped = True
            if fit:
                yy = None if y is None else y.reindex(cur.index)
                n_before = cur.shape[1]
                cur = self._guard(name, step.fit_transform, cur, yy)
                self.steps_.append((name, step))
                params = {k: v for k, v in step.get_params(deep=False).items() if k != "info"}
                method = type(step).__name__
                if isinstance(step, WithinBatch):
                    method = f"{type(step.imputer).__name__} (within batch)"
                summary = _step_summary(step)
                if name == "batch":
                    why = _batch_not_corrected(step, self.batch_column)
                    if why:  # the table says what happened, not what was configured
                        method, summary = "none", why
                self.history_.append(
                    {
                        "step": name,
                        "method": method,
                        "params": repr(params),
                        "features_in": n_before,
                        "features_out": cur.shape[1],
                        "missing_fraction_out": float(cur.isna().to_numpy().mean()),
                        "summary": summary,
                    }
                )
            else:
                cur = self._guard(name, step.transform, cur)
            check_layer_not_empty(cur, layer=self.layer, step=name)
            if trace is not None:
                trace[name] = cur
        if not qc_dropped:
            cur = cur[~qc_mask(cur, self.info)]
        return cur

    def _fit_run(self, X, y, trace: dict | None = None) -> pd.DataFrame:
        self.steps_ = []
        self.history_ = []
        out = self._run(X, y, fit=True, trace=trace)
        self.features_out_ = list(out.columns)
        return out

    def fit(self, X, y=None):
        """Build the steps and fit them, in order, on the training samples (and QC injections)."""
        self._validate_params()
        self._fit_run(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit the steps in order and return the processed training samples (QC injections removed)."""
        self._validate_params()
        return self._fit_run(X, y)

    def fit_trace(self, X, y=None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """``fit_transform`` that also returns the matrix after every step.

        The trace is ``{step: matrix}``, in order; QC injections are still in the matrices of the steps
        that use them.
        """
        self._validate_params()
        trace: dict[str, pd.DataFrame] = {}
        out = self._fit_run(X, y, trace=trace)
        return out, trace

    def transform(self, X):
        """Apply the fitted steps in order and return the cohort samples (QC injections removed)."""
        check_is_fitted(self)
        return self._run(X, None, fit=False)

    def transform_trace(self, X) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """``transform`` that also returns the matrix after every fitted step (see :meth:`fit_trace`)."""
        check_is_fitted(self)
        trace: dict[str, pd.DataFrame] = {}
        out = self._run(X, None, fit=False, trace=trace)
        return out, trace

    def named_step(self, name: str):
        """The fitted step ``name`` (``None``: the chain has no such step)."""
        check_is_fitted(self)
        return dict(self.steps_).get(name)
