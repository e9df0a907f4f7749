"""The model bundle and scoring new samples (``rules/model.smk``; the report job's step ``model``).

* :mod:`.bundle`: the chosen predictor refit on every training sample with its fitted preprocessing
  (:func:`fit_bundle`, :class:`ModelBundle`, :func:`choose_strategy`), saved with a manifest
  (:func:`bundle_bytes`) and loaded only after the manifest's checks (:func:`load_bundle`);
* :mod:`.scoring`: new samples aligned to the model's features and scored (:func:`score_new`,
  :func:`check_new_sheet`, :func:`align_features`);
* :mod:`.conformal`: prediction sets (classes) and intervals (continuous outcomes) at a stated coverage
  (:func:`fit_conformal`, :func:`apply_conformal`);
* :mod:`.conformal_check`: their coverage measured inside the outer splits (models fit without two folds:
  :func:`pair_predictions`; :func:`conformal_check`)
  and on the external test set (:func:`external_coverage`), summarized (:func:`coverage_summary`);
* :mod:`.predict_page`: the predict run's page (:func:`predictions_page`);
* :mod:`.predict_files`: the files a predict run reads, checked at start-up (:func:`predict_plan`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "bundle": [
            "FORMAT",
            "PACKAGES",
            "ModelBundle",
            "bundle_bytes",
            "choose_strategy",
            "fit_bundle",
            "load_bundle",
            "training_medians",
        ],
        "scoring": ["NEW", "align_features", "check_new_sheet", "score_new"],
        "conformal": [
            "SET_SEP",
            "TASKS_WITH_SETS",
            "Conformal",
            "apply_conformal",
            "conformal_quantile",
            "conformal_scores",
            "covered",
            "fit_conformal",
        ],
        "conformal_check": [
            "PAIR_SEP",
            "check_splits",
            "fold_pairs",
            "pair_predictions",
            "conformal_check",
            "coverage_summary",
            "cv_predictions",
            "external_coverage",
        ],
        "predict_page": ["STYLE", "predictions_page"],
        "predict_files": ["predict_plan", "predict_mem_mb", "predict_runtime"],
    },
)
