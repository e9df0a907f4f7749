"""Honest evaluation (``rules/evaluate.smk``): repeated, stratified, nested cross-validation.

The splits are identical for every strategy and single layer, the preprocessing fit inside each fold.

* :mod:`.splits`: the outer splits and their names (``r{R}f{F}``, ``final`` for the external test set);
* :mod:`.folds`: the fold loop (preprocess inside the split, fit, predict) and the prediction table;
* :mod:`.metric_names`: the metrics of each outcome by name (no scikit-learn: read at start-up);
* :mod:`.metrics`: scores of held-out predictions per task, split and external test set;
* :mod:`.significance`: corrected intervals and t-test over splits, label-permutation tests;
* :mod:`.ranking`: the scoreboard of strategies (baselines and reference among them), the best integration vs
  the best single layer, every strategy's gain over the baselines;
* :mod:`.summary`: every split's predictions gathered and scored: scoreboard, comparison, permutation test,
  gains, the clinical covariates' screen;
* :mod:`.calibration`: calibration of the out-of-fold probabilities (Brier, ECE, intercept and slope,
  reliability, decision curve; survival: predicted against observed by risk group);
* :mod:`.sites`: leave-one-site-out splits, per-site scores and the shift diagnostic of a held-out site;
* :mod:`.plot_labels`: the outcome as figures colour samples;
* :mod:`.survival_scores`: survival metrics (Harrell's and Uno's C, time-dependent AUC, Brier).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "splits": [
            "FINAL",
            "POOLED",
            "split_labels",
            "is_pooled",
            "make_splits",
            "split_names",
            "split_members",
            "check_held_out",
        ],
        "folds": [
            "SURV_PREFIX",
            "grid_of",
            "class_columns",
            "preprocess_fold",
            "survival_columns",
            "predict_split",
            "run_fold",
        ],
        "calibration": [
            "BINS",
            "CALIBRATION_COLUMNS",
            "REGRESSION_COLUMNS",
            "RELIABILITY_COLUMNS",
            "DECISION_CURVE_COLUMNS",
            "regression_calibration",
            "calibration_table",
            "decision_curve",
            "expected_calibration_error",
            "intercept_slope",
            "reliability_table",
            "survival_calibration",
        ],
        "metric_names": ["CLASS_METRICS", "REG_METRICS", "SURV_METRICS", "METRIC_BOUNDS"],
        "metrics": [
            "EXTERNAL_CLASS_METRICS",
            "EXTERNAL_REG_METRICS",
            "primary_metric",
            "auc_column",
            "evaluation_times",
            "score_metrics",
            "survival_prediction_scores",
            "score_predictions",
            "clinical_scores",
            "external_scores",
            "fold_scores",
        ],
        "significance": ["corrected_interval", "corrected_ttest", "holm", "permutation_pvalue"],
        "ranking": [
            "COMPARISON_COLUMNS",
            "GAIN_COLUMNS",
            "CANDIDATE_KINDS",
            "WITH_CLINICAL",
            "kind_of",
            "best_strategy",
            "scoreboard",
            "compare_best",
            "gains",
        ],
        "summary": ["merge_predictions", "score_strategies", "clinical_screen", "calibration_tables"],
        "sites": [
            "site_levels",
            "site_splits",
            "split_sites",
            "check_sites",
            "rough_below",
            "site_table",
            "pooled_site_scores",
            "shift_diagnostic",
        ],
        "plot_labels": ["outcome_labels"],
        "survival_scores": [
            "TIED_TOL",
            "as_structured",
            "harrell_c",
            "uno_c",
            "time_auc",
            "integrated_brier",
            "TrainingCensoring",
            "breslow",
            "survival_function",
            "default_times",
            "time_grid",
            "comparable_pairs",
            "c_from_pairs",
            "cox_univariate",
            "kaplan_meier",
            "logrank",
            "number_at_risk",
            "stratification_labels",
        ],
    },
)
