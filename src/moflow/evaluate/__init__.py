"""Honest evaluation (``rules/evaluate.smk``): repeated, stratified, nested cross-validation on
identical splits for every strategy and single layer, the preprocessing fit inside each fold.

* :mod:`.crossval`: splits, the fold loop, scores, intervals and permutation tests, the scoreboard;
* :mod:`.survival_scores`: survival metrics (Harrell's and Uno's C, time-dependent AUC, Brier).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "crossval": ["FINAL", "CLASS_METRICS", "REG_METRICS", "SURV_METRICS", "METRIC_BOUNDS", "COMPARISON_COLUMNS", "SURV_PREFIX", "primary_metric", "auc_column", "evaluation_times", "grid_of", "make_splits", "split_names", "split_members", "fit_apply", "preprocessing_outcome", "outcome_labels", "preprocess_fold", "survival_columns", "predict_split", "run_fold", "survival_scores", "score_predictions", "EXTERNAL_CLASS_METRICS", "EXTERNAL_REG_METRICS", "clinical_scores", "external_scores", "fold_scores", "corrected_interval", "corrected_ttest", "permutation_pvalue", "score_metrics", "scoreboard", "compare_best"],
        "survival_scores": ["TIED_TOL", "as_structured", "harrell_c", "uno_c", "time_auc", "integrated_brier", "breslow", "survival_function", "default_times", "time_grid", "comparable_pairs", "c_from_pairs", "cox_univariate", "kaplan_meier", "logrank", "number_at_risk", "stratification_labels"],
    },
)
