"""One function per workflow rule: what the rule's script calls between reading and writing.

``rules/<stage>.smk`` (rule) -> ``scripts/<script>.py`` -> ``moflow.tasks.<function>``, defined in
``moflow/tasks/<stage>_rules.py``:

* demo: simulate_demo -> simulate_demo.py -> simulate_demo
* inputs: validate_inputs -> validate_inputs.py -> validate_inputs
* preprocess: preprocess_layer -> preprocess_layer.py -> preprocess_layer
* integrate: integrate_early, integrate_mofa, integrate_late, integrate_hierarchical -> the script and
  function of the same name
* evaluate: cv_splits -> cv_splits.py -> cv_splits; cv_fold -> cv_fold.py -> cv_fold;
  scoreboard -> scoreboard.py -> score
* design: design_power, design_fold, design_learning -> the script and function of the same name
* enrich: enrich_mofa, enrich_models, enrich_ora, enrich_combine, enrich_download -> the script and
  function of the same name; enrich_mofa_competitive -> enrich_competitive.py -> enrich_competitive
* export: export_mudata -> export_mudata.py -> export_mudata
* report: report -> report.py -> build_report (and the steps model: fit_model; coverage: coverage_fold, model_coverage)
* model: predict -> predict.py -> predict_samples
* subtypes: subtype_resamples -> subtype_resamples.py -> subtype_resamples; subtypes -> subtypes.py ->
  describe_subtypes
* synthesize: synthesize -> synthesize.py -> synthesize

Every function takes in-memory objects (sheets and matrices as read by :mod:`moflow.io`, the
:class:`~moflow.settings.Settings`) and returns what the rule writes; the analysis itself lives in the
stage's room. Each declares the settings sections it reads (``fn.reads``), and ``rules/common.smk`` hands
the rule exactly those. What several tasks share (:mod:`._common`): the checked sheets' cohort
(``load_cohort``) and the strategies, chains and covariates of a fit (:mod:`._fit_inputs`:
``fit_inputs``). Names are loaded lazily: a job imports only its own stage.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "_common": ["load_cohort"],
        "_fit_inputs": ["fit_inputs"],
        "demo_rules": ["simulate_demo"],
        "design_rules": ["design_power", "design_fold", "design_learning"],
        "enrich_rules": [
            "enrich_mofa",
            "enrich_competitive",
            "enrich_models",
            "enrich_subtypes",
            "enrich_ora",
            "enrich_combine",
            "enrich_download",
        ],
        "evaluate_rules": ["cv_splits", "cv_fold", "score", "site_shift"],
        "export_rules": ["export_mudata"],
        "inputs_rules": ["validate_inputs"],
        "synthesize_rules": ["synthesize"],
        "model_rules": ["coverage_fold", "fit_model", "model_coverage", "predict_samples"],
        "integrate_rules": ["integrate_early", "integrate_late", "integrate_mofa", "integrate_hierarchical"],
        "preprocess_rules": ["preprocess_layer"],
        "report_rules": ["build_report"],
        "subtypes_rules": ["subtype_resamples", "describe_subtypes"],
    },
)
