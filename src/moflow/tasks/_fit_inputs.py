"""What every task that fits strategies on a cohort builds first: the strategies, the chains, the covariates."""

from __future__ import annotations

import pandas as pd

from moflow.integrate import build_prior, build_strategies
from moflow.integrate.clinical import clinical_inputs
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings, reads


@reads(uses=[build_prior, build_strategies, build_preprocessors, clinical_inputs])
def fit_inputs(
    raw: dict[str, pd.DataFrame], cohort, settings: Settings, *, files=None, edges: dict | None = None
) -> tuple[dict, dict, tuple | None]:
    """The strategies, each layer's unfitted preprocessing chain and the clinical inputs of a cohort.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix} (its features feed the hierarchical strategy's prior).
    cohort : Cohort
        The cohort (:func:`moflow.tasks._common.load_cohort`).
    settings : Settings
        What the callees read.
    files, edges
        The hierarchical strategy's enrichment files (:func:`moflow.io.read_enrichment_files`; None: no
        prior) and regulator edge lists.

    Returns
    -------
    tuple
        ({name: strategy factory} (:func:`moflow.integrate.build_strategies`), {layer: unfitted chain}
        (:func:`moflow.preprocess.build_preprocessors`), (unfitted encoder, covariates) or None
        (:func:`moflow.integrate.clinical.clinical_inputs`)).
    """
    prior = (
        build_prior(cohort.omics, settings, files, edges or {}, {n: list(X.columns) for n, X in raw.items()})
        if files is not None
        else None
    )
    strategies = build_strategies(cohort.omics, settings, cohort.task, sheet=cohort.sheet, prior=prior)
    return strategies, build_preprocessors(cohort.omics, settings, cohort.info), clinical_inputs(cohort.sheet, settings)
