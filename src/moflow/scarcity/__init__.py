"""Data scarcity: augmentation of the rare classes inside the folds, and a synthetic copy of the cohort.

* :mod:`.factors`: a Gaussian model of every layer's leading components given the classes and batches,
  mapped back to the features with residual noise (:class:`GroupFactorModel`);
* :mod:`.augment`: new samples of the rare classes on a split's training side only (:func:`augment_layers`:
  SMOTE or the factor model), and a strategy fit with them (:class:`Augmented`, rows ``<strategy>+smote``,
  ``<strategy>+latent``); :func:`augmentation_table` tests each against the strategy as it is;
* :mod:`.copula`: a synthetic cohort on every feature's own scale (:class:`CopulaSynthesizer`);
* :mod:`.quality`: fidelity and privacy measures of synthetic samples, each against real unseen samples
  (:func:`marginal_distances`, :func:`correlation_distance`, :func:`detection_auc`, :func:`closest_record`,
  :func:`membership_auc`);
* :mod:`.synthesize`: the ``synthesize`` target's cohort, its train-on-synthetic utility and its quality
  table (:func:`synthetic_cohort`, :func:`utility_scores`, :func:`quality_table`, :func:`safe_to_share`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "factors": ["GroupFactorModel"],
        "augment": [
            "AUGMENT_METHODS",
            "AUGMENTATION_COLUMNS",
            "SYNTHETIC_PREFIX",
            "Augmented",
            "augment_layers",
            "augmentation_table",
            "shortfall",
        ],
        "copula": ["SHEET_BLOCK", "DISCRETE_LEVELS", "CopulaSynthesizer"],
        "quality": [
            "normal_scores",
            "marginal_distances",
            "two_sample_distances",
            "correlation_distance",
            "detection_auc",
            "closest_record",
            "membership_auc",
        ],
        "synthesize": [
            "QUALITY_COLUMNS",
            "UTILITY_COLUMNS",
            "UTILITY_MARGIN",
            "DETECTION_MAX",
            "MEMBERSHIP_MAX",
            "CLOSER_SHARE",
            "generator_samples",
            "quality_table",
            "utility_scores",
            "utility_strategies",
            "synthetic_cohort",
            "safe_to_share",
        ],
    },
)
