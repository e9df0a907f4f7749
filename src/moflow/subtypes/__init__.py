"""Subtypes without an outcome: groups of samples found in the integrated data, and how many there are.

* :mod:`.snf`: similarity network fusion, one network of samples from several layers (:func:`affinity`,
  :func:`fuse`, :func:`fused_network`);
* :mod:`.k_selection`: the number of subtypes by prediction strength on held-out halves against a
  reference without structure (:func:`k_evidence`, :func:`choose_k`, :func:`fit_clusters`); k = 1,
  "no reproducible subtypes", where no k beats the reference;
* :mod:`.representations`: components and the fused network as estimators, fit on some samples and applied
  to others (:class:`LayerComponents`, :class:`FusedNetwork`, whose :meth:`~FusedNetwork.vote` places new
  samples by their affinity to the fitted ones);
* :mod:`.resampling`: one resample of the workflow's stage: halves, the preprocessing and every
  representation refit on the fitted half, the strengths of every clustering and k and of the reference
  (:func:`resample_strengths`); :func:`summarize_strengths` and :func:`choose_subtypes` in :mod:`.k_selection`
  turn them into the evidence and the choice;
* :mod:`.subtype_plan`: what the stage runs on a cohort (:func:`subtype_representations`, :func:`resample_jobs`),
  light enough for the workflow's parsing;
* :mod:`.classifier`: the subtypes of new samples (:class:`SubtypeClassifier`, carried by a model bundle) and
  how often it agrees with the clustering on held-out samples (:func:`classifier_agreement`);
* :mod:`.consensus`: consensus clustering and its proportion of ambiguous clustering, reported beside
  the prediction strength (:func:`consensus_matrix`, :func:`pac`, :func:`pac_curve`);
* :mod:`.discovery`: the representations (:func:`layer_components`, :func:`network_embedding`), every one
  with every clustering, the best kept, its subtypes assigned with a confidence (:func:`discover`,
  :func:`assign_with_confidence`);
* :mod:`.characterize`: markers per layer (:func:`subtype_markers`, :func:`marker_layers`), associations
  with the sample sheet (:func:`subtype_associations`), the log-rank test (:func:`survival_difference`) and
  each subtype's Kaplan-Meier curve (:func:`subtype_kaplan_meier`).

The workflow's stage (``rules/subtypes.smk``) runs :func:`resample_strengths` in jobs, then chooses and
characterises the subtypes (:mod:`moflow.tasks.subtypes_rules`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "snf": ["affinity", "fuse", "fused_network"],
        "k_selection": [
            "CLUSTERINGS",
            "KSEL_COLUMNS",
            "fit_clusters",
            "prediction_strength",
            "k_evidence",
            "choose_k",
            "summarize_strengths",
            "choose_subtypes",
            "family_bounds",
        ],
        "consensus": ["consensus_matrix", "pac", "pac_curve"],
        "representations": ["common_samples", "most_variable", "LayerComponents", "FusedNetwork"],
        "resampling": ["REPRESENTATIONS", "STRENGTH_COLUMNS", "halves", "largest_k", "resample_strengths"],
        "subtype_plan": ["MIN_SAMPLES", "subtype_representations", "resample_jobs"],
        "classifier": ["SubtypeClassifier", "classifier_agreement"],
        "discovery": ["layer_components", "network_embedding", "assign_with_confidence", "discover", "settle"],
        "characterize": [
            "MARKER_COLUMNS",
            "ASSOCIATION_COLUMNS",
            "KM_COLUMNS",
            "subtype_markers",
            "marker_layers",
            "subtype_associations",
            "survival_difference",
            "subtype_kaplan_meier",
        ],
    },
)
