"""Helpers shared by the unit tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import pandas as pd

from moflow.preprocess import LayerPreprocessor, layer_settings

# a cohort smaller than the demo default, so that the whole unit suite stays fast
SIM = dict(n_samples=90, n_genes=600, n_proteins=200, n_metabolites=80)
COHORT_SEED = 1

# layer name -> (kind, log_scale); the simulator writes proteomics as log2 values
LAYER_KINDS = {
    "rna": ("rnaseq_counts", False),
    "protein": ("proteomics_intensity", True),
    "metabolomics": ("metabolomics_intensity", False),
}


def make_info(cohort) -> pd.DataFrame:
    """The sample sheet the preprocessing steps see: indexed by sample, without the outcome."""
    return cohort.sheet.set_index("sample", drop=False).drop(columns="outcome")


def make_outcome(cohort) -> pd.Series:
    y = cohort.sheet.set_index("sample")["outcome"]
    return y[y != ""]


def make_preprocessors(info: pd.DataFrame, overrides: dict | None = None) -> dict[str, LayerPreprocessor]:
    return {
        name: LayerPreprocessor(
            kind,
            layer_settings(kind, overrides),
            info=info,
            batch_column="batch",
            log_scale=log_scale,
            layer=name,
            seed=0,
        )
        for name, (kind, log_scale) in LAYER_KINDS.items()
    }
