"""Per-layer preprocessing as scikit-learn style estimators (fit / transform on DataFrames).

Every step is fit on training samples only and applied unchanged to new samples, so the same
objects serve the full-cohort run and every cross-validation fold. Matrices are samples x
features DataFrames indexed by sample ID. Steps that need per-sample facts (batch, injection order,
QC status) read them from ``info``, a sample sheet that never carries the outcome; the outcome
reaches a step only as ``y`` in ``fit`` (training samples only).

Steps by stage, in the default order (config method names in brackets), and the module that holds
them:

* normalize (:mod:`.normalize`): :class:`CountNormalizer` (``median_of_ratios``, ``tmm``,
  ``upper_quartile``, ``total``; then log2 or a DESeq2-style variance-stabilizing transform),
  :class:`QuantileNormalizer` (``quantile``), :class:`MedianCentering` (``median``), :class:`PQN`
  (``pqn``, ``tic``; then log2 or glog), :class:`MValue` (``mvalue``), :class:`BinaryCheck`
  (``check``), :class:`Log2`;
* qc_drift (:mod:`.qc_drift`): :class:`QCRLSC` (``rlsc``; LOWESS or smoothing spline per batch, fit
  on pooled QC injections), :class:`SampleDrift` (``sample_lowess``; the trend fit on the study
  samples, for layers without QCs), :class:`AutoDrift` (``auto``: rlsc where the layer has QC
  injections, nothing otherwise); :func:`run_order_correlation` measures what is left;
* filter (:mod:`.filter`): :class:`FeatureFilter` (observed fraction overall or in any outcome
  group, variance, top-N, QC RSD and QC detection rate);
* impute (:mod:`.impute`): :class:`HalfMinImpute`, :class:`MinProbImpute`, :class:`QRILCImpute`
  (MNAR), :class:`KNNImpute`, :class:`IterativeImpute` (MAR), :class:`MixedImpute`,
  :class:`AutoImpute`, :class:`MeanImpute` (baseline), :class:`WithinBatch` (the MAR methods in each
  batch's own scale, where a layer has batches); the scoring behind ``auto`` and the imputation
  diagnostics (missingness model, pattern masks, NRMSE) are in :mod:`.impute_benchmark`;
* batch (:mod:`.batch`; after imputation, see :data:`STEP_ORDER`): :class:`ComBat` (``combat``; parametric / non-parametric / mean-only,
  reference batch, NaN-aware), :class:`LinearBatch` (``linear``; limma's removeBatchEffect), both
  behind a batch/outcome confounding guard;
* scale (:mod:`.scale`): :class:`Scaler` (``standard`` / ``unit_variance``, ``pareto``, ``center``).

The chain of a layer is :class:`LayerPreprocessor` (:mod:`.chain`); it builds each step with
:func:`make_step`, which looks ``(step, method)`` up in :mod:`.registry` (:func:`methods`,
:func:`kinds_for`). The per-kind defaults and the step order are in :mod:`.defaults`; the step base
class and shared helpers in :mod:`._base`.
"""

from moflow.preprocess._base import Identity, Step
from moflow.preprocess.batch import ComBat, LinearBatch, check_batch_confounding
from moflow.preprocess.chain import LayerPreprocessor
from moflow.preprocess.defaults import STEP_ORDER, kind_defaults, layer_settings
from moflow.preprocess.filter import FeatureFilter
from moflow.preprocess.impute import (
    AUTO_CANDIDATES,
    IMPUTE_METHODS,
    AutoImpute,
    HalfMinImpute,
    IterativeImpute,
    KNNImpute,
    MinProbImpute,
    MixedImpute,
    QRILCImpute,
    WithinBatch,
    imputation_table,
    make_imputer,
)
from moflow.preprocess.impute_benchmark import IMPUTATION_COLUMNS, MeanImpute, missingness_model, nrmse, pattern_mask, score_imputers
from moflow.preprocess.normalize import (
    PQN,
    BinaryCheck,
    CountNormalizer,
    Log2,
    MedianCentering,
    MValue,
    QuantileNormalizer,
    _tmm_factor,
    fit_dispersion_trend,
    glog2,
    glog_lambda,
    vst,
)
from moflow.preprocess.qc_drift import QCRLSC, AutoDrift, SampleDrift, lowess_columns, qc_rsd, run_order_correlation
from moflow.preprocess.registry import KINDS, NORMALIZE_METHODS, REGISTRY, BuildContext, StepSpec, kinds_for, make_step, methods
from moflow.preprocess.scale import Scaler

__all__ = [
    "AUTO_CANDIDATES",
    "kind_defaults",
    "IMPUTATION_COLUMNS",
    "IMPUTE_METHODS",
    "KINDS",
    "NORMALIZE_METHODS",
    "PQN",
    "QCRLSC",
    "STEP_ORDER",
    "SampleDrift",
    "AutoDrift",
    "AutoImpute",
    "BinaryCheck",
    "BuildContext",
    "ComBat",
    "CountNormalizer",
    "FeatureFilter",
    "HalfMinImpute",
    "Identity",
    "IterativeImpute",
    "KNNImpute",
    "LayerPreprocessor",
    "LinearBatch",
    "Log2",
    "MValue",
    "MeanImpute",
    "MedianCentering",
    "MinProbImpute",
    "MixedImpute",
    "QRILCImpute",
    "QuantileNormalizer",
    "REGISTRY",
    "Scaler",
    "Step",
    "StepSpec",
    "WithinBatch",
    "_tmm_factor",
    "check_batch_confounding",
    "fit_dispersion_trend",
    "glog2",
    "glog_lambda",
    "imputation_table",
    "kinds_for",
    "layer_settings",
    "lowess_columns",
    "make_imputer",
    "make_step",
    "methods",
    "missingness_model",
    "nrmse",
    "pattern_mask",
    "qc_rsd",
    "run_order_correlation",
    "score_imputers",
    "vst",
]
