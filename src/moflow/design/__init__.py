"""How many samples the next study needs (``rules/design.smk``), from this cohort as a pilot.

* :mod:`.power`: the MultiPower model: per-feature effect sizes, per-layer power at an FDR, and the joint
  design across layers (equal sizes, or the least cost);
* :mod:`.samplesize`: learning curves (stratified nested subsamples, an inverse power law with a split
  bootstrap, the size for a target score);
* :mod:`.riley`: Riley et al.'s minimum sample size for a binary, survival or continuous outcome
  (after pmsampsize);
* :mod:`.pilot_power`: rule design_power on this cohort: the two groups compared, each layer's curve, the
  joint designs as tables;
* :mod:`.pilot_learning`: rules design_fold and design_learning on this cohort: the metric, strategies,
  splits and strata drawn, the learning-curve points, and the sample-size table with Riley's floor.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "pilot_learning": [
            "DEFAULT_TARGET",
            "ERROR_METRICS",
            "design_metric",
            "subsample_strata",
            "learning_strategies",
            "learning_splits",
            "learning_points",
            "riley_floor",
            "size_row",
            "sample_size_design",
        ],
        "pilot_power": ["POWER_KIND", "design_groups", "power_design"],
        "power": [
            "KINDS",
            "DISPERSION_FLOOR",
            "effect_sizes",
            "feature_power",
            "storey_pi0",
            "expected_fdr",
            "fdr_alpha",
            "layer_power_curve",
            "samples_needed",
            "joint_design",
        ],
        "riley": ["r2cs_from_c_statistic", "riley_binary", "r2cs_from_c_index", "riley_survival", "riley_continuous"],
        "samplesize": [
            "subsample_training",
            "learning_curve",
            "size_levels",
            "fit_learning_curve",
            "predict_score",
            "size_for_target",
            "size_table",
        ],
    },
)
