"""The run's results for other tools (``rules/export.smk``, task :func:`moflow.tasks.export_mudata`).

* :mod:`.h5mu`: one MuData object (``results/moflow.h5mu``, :func:`to_mudata`): a modality per
  preprocessed layer, the sample sheet and the held-out predictions per sample
  (:func:`summarize_predictions`) in ``obs``, the MOFA factors and weights, the config and the
  provenance (:func:`provenance`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "h5mu": ["ID_COLUMNS", "PREFIX", "SUMMARY", "PACKAGES", "provenance", "summarize_predictions", "to_mudata"],
    },
)
