"""Integration strategies as estimators on a dict of preprocessed layers (``rules/integrate.smk``).

* :mod:`.strategies`: single layer, early (weighted concatenation), mixed (per-layer reduction) and
  late (stacked per-layer models) integration, and the penalized models and inner CV they share;
* :mod:`.mofa`: intermediate integration, MOFA (mofapy2) as a fit/transform estimator;
* :mod:`.hierarchical`: the hierarchical strategy (features -> gene sets / regulators -> model),
  built from the parts in :mod:`.prior_knowledge`;
* :mod:`.cox`: penalized Cox models for a time-to-event outcome;
* :mod:`.strategy_factory`: every strategy built from the settings (the same calls in the full-cohort rules
  and in every CV fold).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "strategy_factory": ["STRATEGIES", "mofa_likelihoods", "build_mofa", "hierarchical_layers", "strategy_names", "build_prior", "strategy_factory", "build_strategies"],
        "cox": ["L1_RATIOS", "split_target", "structured", "partial_log_likelihood", "PenalizedCox", "RidgeCox"],
        "hierarchical": ["FEW_SETS", "HierarchicalIntegration"],
        "mofa": ["LIKELIHOODS", "check_mofa_input", "MOFA", "SURVIVAL_COVARIATE", "factor_associations", "match_factors", "stability"],
        "prior_knowledge": ["SET_METHODS", "GeneLevel", "SetScores", "ulm_activity", "RegulatorActivity", "parse_edges"],
        "strategies": ["TASKS", "InnerStratifiedKFold", "inner_cv", "inner_strata", "target", "EncodedClassifier", "make_model", "with_tuned_penalty", "observed_rows", "shared_fits", "SingleLayer", "EarlyIntegration", "MixedIntegration", "MOFAStrategy", "LateIntegration"],
    },
)
