"""The embedded demo and test bed (``rules/demo.smk``, task :func:`moflow.tasks.simulate_demo`).

* :mod:`.simulate`: a multi-omics cohort with planted structure and its ground truth
  (:class:`DemoCohort`): the demo's RNA, proteomics and metabolomics (:func:`simulate_cohort`: factors,
  batches, QC drift, enriched gene sets), a censored survival outcome driven by a factor
  (:func:`simulate_survival`), MaxQuant-style protein groups (:func:`protein_groups`) and a TCGA-shaped
  cohort for the scale benchmark (:func:`simulate_tcga_like`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "simulate": [
            "FACTORS",
            "SURVIVAL_SHAPE",
            "SURVIVAL_MEDIAN",
            "SURVIVAL_FOLLOW_UP",
            "DemoCohort",
            "simulate_survival",
            "simulate_cohort",
            "protein_groups",
            "simulate_tcga_like",
        ],
    },
)
