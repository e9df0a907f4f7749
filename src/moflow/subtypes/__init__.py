"""Subtypes without an outcome: groups of samples found in the integrated data, and how many there are.

* :mod:`.snf`: similarity network fusion, one network of samples from several layers (:func:`affinity`,
  :func:`fuse`, :func:`fused_network`);
* :mod:`.k_selection`: the number of subtypes by prediction strength on held-out halves against a
  reference without structure (:func:`k_evidence`, :func:`choose_k`, :func:`fit_clusters`); k = 1,
  "no reproducible subtypes", where no k beats the reference;
* :mod:`.consensus`: consensus clustering and its proportion of ambiguous clustering, reported beside
  the prediction strength (:func:`consensus_matrix`, :func:`pac`, :func:`pac_curve`);
* :mod:`.discovery`: the representations (:func:`layer_components`, :func:`network_embedding`), every one
  with every clustering, the best kept, its subtypes assigned with a confidence (:func:`discover`,
  :func:`assign_with_confidence`);
* :mod:`.characterize`: markers per layer (:func:`subtype_markers`, :func:`marker_layers`), associations
  with the sample sheet (:func:`subtype_associations`), the log-rank test (:func:`survival_difference`).

The workflow does not call this room yet: the stage that runs it (its rules, outputs and report
section) is to come.
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
        ],
        "consensus": ["consensus_matrix", "pac", "pac_curve"],
        "discovery": ["layer_components", "network_embedding", "assign_with_confidence", "discover"],
        "characterize": [
            "MARKER_COLUMNS",
            "ASSOCIATION_COLUMNS",
            "subtype_markers",
            "marker_layers",
            "subtype_associations",
            "survival_difference",
        ],
    },
)
