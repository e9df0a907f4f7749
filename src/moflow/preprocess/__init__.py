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
  injections, nothing otherwise); :func:`run_order_correlation` measures what is left; the smoothers
  (:func:`lowess_columns`, :func:`spline_trend`) are in :mod:`.drift_smoothers`;
* filter (:mod:`.filter`): :class:`FeatureFilter` (observed fraction overall or in any outcome
  group, variance, top-N, QC RSD and QC detection rate);
* impute: :class:`HalfMinImpute`, :class:`MinProbImpute`, :class:`QRILCImpute` (MNAR,
  :mod:`.impute_censored`), :class:`KNNImpute`, :class:`IterativeImpute` (MAR, :mod:`.impute_mar`),
  :class:`MixedImpute`, :class:`AutoImpute`, :class:`WithinBatch` (the MAR methods in each batch's own
  scale, where a layer has batches) and :func:`make_imputer` (:mod:`.impute`), :class:`MeanImpute`
  (baseline); the scoring behind ``auto`` and the imputation diagnostics (missingness model, pattern
  masks, NRMSE) are in :mod:`.impute_benchmark`;
* batch (:mod:`.batch`; after imputation, see :data:`STEP_ORDER`): :class:`ComBat` (``combat``;
  parametric / non-parametric / mean-only, reference batch, NaN-aware), :class:`LinearBatch`
  (``linear``; limma's removeBatchEffect), both behind a batch/outcome confounding guard;
* scale (:mod:`.scale`): :class:`Scaler` (``standard`` / ``unit_variance``, ``pareto``, ``center``).

The chain of a layer is :class:`LayerPreprocessor` (:mod:`.chain`); it builds each step with
:func:`make_step`, which looks ``(step, method)`` up in :mod:`.registry` (:func:`methods`,
:func:`kinds_for`); :mod:`.chain_factory` builds the chains from the settings and the omics sheet, and
:func:`fit_apply` (:mod:`.fit_apply`) fits a chain on some rows and applies it to others. The per-kind
defaults and the step order are in :mod:`.defaults`; the step base class :class:`Step`, the shared
helpers (:func:`qc_mask`, :func:`stable_seed`, :func:`fill_columns`) and the parameter constraints the
steps share in :mod:`.steps_base`; layer diagnostics (PCA, batch and outcome shares, missingness) in
:mod:`.diagnostics`; a layer's chain fit on the full cohort and every table about what it did
(:func:`layer_report`) in :mod:`.layer_report`.

Every step is a scikit-learn estimator: ``fit`` validates the parameters first (its
``_parameter_constraints``), and ``transform`` refuses an unfitted step (``check_is_fitted``).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "batch": ["check_batch_confounding", "ComBat", "LinearBatch"],
        "chain_factory": ["build_preprocessor", "build_preprocessors"],
        "chain": ["LayerPreprocessor"],
        "defaults": ["STEP_ORDER", "layer_settings", "kind_defaults"],
        "diagnostics": [
            "pca_scores",
            "batch_diagnostics",
            "missingness_table",
            "missingness_summary",
            "stage_diagnostics",
            "step_diagnostics",
        ],
        "filter": ["FeatureFilter"],
        "fit_apply": ["fit_apply", "preprocessing_outcome"],
        "layer_report": ["fit_transform_layer", "LayerReport", "layer_report"],
        "impute": [
            "WithinBatch",
            "MixedImpute",
            "IMPUTE_METHODS",
            "AUTO_CANDIDATES",
            "MAR_METHODS",
            "make_imputer",
            "imputation_table",
            "AutoImpute",
        ],
        "impute_censored": ["HalfMinImpute", "MinProbImpute", "QRILCImpute"],
        "impute_mar": ["KNNImpute", "IterativeImpute"],
        "impute_benchmark": [
            "MeanImpute",
            "missingness_model",
            "pattern_mask",
            "nrmse",
            "score_imputers",
            "IMPUTATION_COLUMNS",
        ],
        "normalize": [
            "fit_dispersion_trend",
            "vst",
            "CountNormalizer",
            "MedianCentering",
            "QuantileNormalizer",
            "glog2",
            "glog_lambda",
            "PQN",
            "Log2",
            "MValue",
            "BinaryCheck",
        ],
        "qc_drift": ["QCRLSC", "SampleDrift", "AutoDrift", "run_order_correlation", "qc_rsd"],
        "drift_smoothers": ["lowess_columns", "interp_columns", "spline_trend"],
        "registry": [
            "NORMALIZE_METHODS",
            "KINDS",
            "BuildContext",
            "StepSpec",
            "REGISTRY",
            "STEPS",
            "methods",
            "kinds_for",
            "make_step",
        ],
        "scale": ["Scaler"],
        "steps_base": [
            "Step",
            "Identity",
            "stable_seed",
            "qc_mask",
            "fill_columns",
            "SAMPLE_SHEET",
            "COLUMN_NAME",
            "CHECKED_NAME",
            "SEED",
            "FRACTION",
            "POSITIVE",
            "NON_NEGATIVE",
            "COUNT",
            "COVARIATES",
        ],
    },
)
