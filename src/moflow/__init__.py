"""moflow: multi-omics preprocessing, integration, honest evaluation and enrichment.

Public modules: ``settings`` (the validated config as one frozen object), ``cohort`` (sample sheet,
outcome, sample sets), ``factories`` (estimators from settings), ``tasks`` (one function per
workflow rule), ``simulate`` (demo cohort), ``validate`` (input checks), ``preprocess`` (per-layer
estimators, one module per step), ``mofa`` (MOFA via mofapy2), ``integrate`` (strategies),
``evaluate`` (cross-validation), ``enrich`` (gene-set enrichment), ``diagnostics`` and ``stats``,
``report`` (HTML report), ``io`` (all file access). See docs/architecture.md.
"""

from moflow.errors import ConfigError, DataError, InputError

__all__ = ["ConfigError", "DataError", "InputError"]
__version__ = "0.1.0"
