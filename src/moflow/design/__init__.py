"""How many samples the next study needs (``rules/design.smk``), from this cohort as a pilot.

* :mod:`.power`: per-layer power and the joint design across layers (MultiPower's model);
* :mod:`.samplesize`: learning curves from the nested CV and Riley's minimum sample size.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "power": ["KINDS", "DISPERSION_FLOOR", "effect_sizes", "feature_power", "storey_pi0", "expected_fdr", "fdr_alpha", "layer_power_curve", "samples_needed", "joint_design"],
        "samplesize": ["subsample_training", "learning_curve", "size_levels", "fit_learning_curve", "predict_score", "size_for_target", "size_table", "r2cs_from_c_statistic", "riley_binary", "r2cs_from_c_index", "riley_survival", "riley_continuous"],
    },
)
