"""One function per workflow rule: what the rule's script calls between reading and writing.

``rules/<stage>.smk`` -> ``scripts/<rule>.py`` -> ``moflow.tasks.<rule>`` (defined in
``moflow/tasks/<stage>_rules.py``). Every function takes in-memory objects (sheets and matrices as
read by :mod:`moflow.io`, the :class:`~moflow.settings.Settings`) and returns what the rule writes;
each declares the settings sections it reads (``fn.reads``), and ``rules/common.smk`` hands the rule
exactly those. Names are loaded lazily: a job imports only its own stage.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "_common": ["load_cohort"],
        "design_rules": ["POWER_KIND", "design_groups", "design_power", "DEFAULT_TARGET", "ERROR_METRICS", "design_metric", "learning_strategies", "learning_splits", "design_fold", "riley_floor", "size_row", "design_learning"],
        "enrich_rules": ["make_plan", "mofa_lists", "enrich_mofa", "enrich_competitive", "enrich_models", "enrich_ora", "enrich_combine", "enrich_download"],
        "evaluate_rules": ["cv_splits", "survival_times", "cv_fold", "merge_predictions", "score_strategies", "score"],
        "export_rules": ["export_mudata"],
        "inputs_rules": ["validate_inputs"],
        "integrate_rules": ["integrate_early", "integrate_late", "mofa_fit", "integrate_mofa", "integrate_hierarchical"],
        "preprocess_rules": ["fit_transform_layer", "LayerReport", "layer_report", "preprocess_layer"],
        "report_rules": ["build_report"],
    },
)
