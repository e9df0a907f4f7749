"""The run's results for other tools (``rules/export.smk``): :mod:`.h5mu` puts them into one MuData object.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "h5mu": ["ID_COLUMNS", "PREFIX", "SUMMARY", "PACKAGES", "provenance", "summarize_predictions", "to_mudata"],
    },
)
