"""moflow: multi-omics preprocessing, integration, honest evaluation and enrichment.

One room (subpackage) per stage of the workflow, each re-exporting its public names:
``inputs`` (sheet, matrix and gene-set file checks), ``preprocess`` (per-layer estimators, one module
per step), ``integrate`` (the strategies, MOFA via mofapy2), ``evaluate`` (nested cross-validation,
scores), ``enrich`` (gene-set enrichment), ``design`` (sample sizes for the next study), ``report``
(figures and the HTML report), ``export`` (the results as MuData), ``demo`` (the simulated cohort) and
``tasks`` (one function per workflow rule).

At the root, what every stage shares: ``settings`` (the validated config as one frozen object),
``errors`` (``InputError``, ``ConfigError``, ``DataError``), ``cohort`` (sample sheet, outcome, sample
sets), ``io`` (all file access), ``runtime`` (logging, thread limits, the job's error hook),
``accounting`` (a job's CPU accounting), ``wording`` (message wording) and ``stats`` (shared
statistics). See docs/architecture.md.
"""

from moflow.errors import ConfigError, DataError, InputError

__all__ = ["ConfigError", "DataError", "InputError"]
__version__ = "0.1.0"
