"""moflow: multi-omics preprocessing, integration, honest evaluation and enrichment.

Public modules: ``simulate`` (demo cohort), ``validate`` (input checks), ``preprocess``
(per-layer estimators), ``mofa`` (MOFA via mofapy2), ``integrate`` (early / late
strategies), ``evaluate`` (cross-validation), ``enrich`` (gene-set enrichment),
``report`` (HTML report), ``io`` (all file access).
"""

from .errors import InputError

__all__ = ["InputError"]
__version__ = "0.1.0"
