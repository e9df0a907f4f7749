"""The embedded demo and test bed (``rules/demo.smk``): :mod:`.simulate` simulates a multi-omics
cohort with planted structure (factors, batches, drift, an enriched gene set, a hazard).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "simulate": ["FACTORS", "SURVIVAL_SHAPE", "SURVIVAL_MEDIAN", "SURVIVAL_FOLLOW_UP", "DemoCohort", "simulate_survival", "simulate_cohort", "protein_groups", "simulate_tcga_like"],
    },
)
