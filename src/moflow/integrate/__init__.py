"""Integration strategies as estimators on a dict of preprocessed layers (``rules/integrate.smk``).

* :mod:`.base`: what every strategy shares (``StrategyBase``: a final model on a design built from the
  layers, samples lacking layers scored by a model refit on the layers they have; coefficient tables);
* :mod:`.models`: the penalized models the strategies fit, tuned by inner CV, and the inner folds;
* :mod:`.single`: ``SingleLayer``, the single-layer baseline (and ``SharedFits``, equal fits of one CV split done once);
* :mod:`.early`: ``EarlyIntegration``, weighted concatenation of the layers;
* :mod:`.mixed`: ``MixedIntegration``, a PCA per layer, scores concatenated;
* :mod:`.mofa_strategy`: ``MOFAStrategy``, intermediate integration, a model on MOFA factors;
* :mod:`.late`: ``LateIntegration``, per-layer models stacked by a meta-learner;
* :mod:`.hierarchical`: ``HierarchicalIntegration`` (features -> gene sets / regulators -> model),
  built from the per-layer parts in :mod:`.prior_knowledge` (``GeneLevel``, ``SetScores``,
  ``RegulatorActivity``, the edge-list check ``parse_edges``);
* :mod:`.mofa`: MOFA (mofapy2) as a fit/transform estimator; :mod:`.mofa_factors`: what its factors say
  (associations with covariates and survival, match to known factors, stability over seeds);
  :mod:`.mofa_run`: the full cohort's MOFA run (fit, projection of external test samples, stability);
* :mod:`.cox`: penalized Cox models for a time-to-event outcome;
* :mod:`.clinical`: clinical covariates as predictors (``ClinicalEncoder``, fit inside each training side) and
  their screen for a likely leak;
* :mod:`.baselines`: ``NaiveBaseline``, ``ClinicalOnly`` and ``WithClinical`` (a strategy's final model refit
  with the covariates beside its design);
* :mod:`.recalibration`: ``Recalibrated``, a strategy's class probabilities recalibrated (Platt, isotonic)
  on out-of-fold probabilities of its training side;
* :mod:`.trees`: ``TreeReference``, a tuned tree ensemble on the concatenated layers (the reference row);
* :mod:`.strategy_factory`: every strategy built from the settings (the same calls in the full-cohort rules
  and in every CV fold).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "strategy_factory": [
            "STRATEGIES",
            "mofa_likelihoods",
            "build_mofa",
            "hierarchical_layers",
            "strategy_names",
            "build_prior",
            "strategy_factory",
            "build_strategies",
        ],
        "cox": ["L1_RATIOS", "split_target", "structured", "partial_log_likelihood", "PenalizedCox", "RidgeCox"],
        "hierarchical": ["FEW_SETS", "HierarchicalIntegration"],
        "mofa": ["LIKELIHOODS", "CONVERGENCE_MODES", "check_mofa_input", "MOFA"],
        "mofa_factors": ["SURVIVAL_COVARIATE", "factor_associations", "match_factors", "stability"],
        "mofa_run": ["run_mofa"],
        "recalibration": ["RECALIBRATION_METHODS", "Calibrator", "Recalibrated", "fit_calibrator"],
        "prior_knowledge": [
            "SET_METHODS",
            "GeneLevel",
            "SetScores",
            "ulm_activity",
            "RegulatorActivity",
            "parse_edges",
        ],
        "models": [
            "TASKS",
            "InnerStratifiedKFold",
            "inner_cv",
            "inner_strata",
            "target",
            "EncodedClassifier",
            "make_model",
            "with_tuned_penalty",
        ],
        "base": ["PENALTIES", "MODELS", "observed_rows", "fill_missing", "StrategyBase", "coefficient_table"],
        "single": ["SharedFits", "SingleLayer"],
        "early": ["MISSING", "EarlyIntegration"],
        "mixed": ["MixedIntegration"],
        "mofa_strategy": ["MOFAStrategy"],
        "late": ["LateIntegration"],
        "clinical": ["PREFIX", "ClinicalEncoder", "covariate_screen", "clinical_inputs"],
        "baselines": [
            "BASELINES",
            "WITH_CLINICAL",
            "LIGHT",
            "PER_COLUMN",
            "NaiveBaseline",
            "ClinicalOnly",
            "clinical_block_model",
            "WithClinical",
        ],
        "trees": ["TreeReference"],
    },
)
