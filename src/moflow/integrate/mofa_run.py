"""The full cohort's MOFA run (:func:`run_mofa`): the fit, every cohort sample's factors, their stability.

The model is fit on the training samples; every cohort sample gets its factors (external test
samples projected onto the trained model, never fitted); the factors' stability is measured across
extra seeds.
"""

from __future__ import annotations

import logging

import pandas as pd

from moflow.cohort import Cohort
from moflow.integrate.strategy_factory import build_mofa
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")


@reads("integration", "seed", uses=[build_mofa])
def run_mofa(layers: dict[str, pd.DataFrame], cohort: Cohort, settings: Settings):
    """MOFA fit on the training samples, the factors of every cohort sample, and their stability over seeds.

    The model is fit on the training samples that have each layer; the other cohort samples (external
    test samples) are projected onto the trained model, never fitted. The stability compares the
    factors with those of ``integration: mofa: stability_seeds`` refits under the seeds after
    ``seed`` (:func:`moflow.integrate.mofa_factors.stability`).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix}, aligned to the cohort's samples.
    cohort : Cohort
        The cohort (:func:`moflow.cohort.make_cohort`).
    settings : Settings
        Read: ``integration``, ``seed``.

    Returns
    -------
    tuple
        (model, factors, stability): the fitted :class:`moflow.integrate.mofa.MOFA`, the factors of
        every cohort sample (index ``sample``), the stability table.
    """
    from moflow.integrate.base import observed_rows
    from moflow.integrate.mofa_factors import stability

    train = cohort.train
    fit_layers = {n: X.loc[train].loc[observed_rows(X.loc[train])] for n, X in layers.items()}
    mofa = build_mofa(cohort.omics, settings, sheet=cohort.sheet).fit(fit_layers)
    if mofa.groups is not None:
        log.info(
            "MOFA groups from column '%s': %s",
            settings.integration.mofa.groups,
            mofa.groups.reindex(train).value_counts().to_dict(),
        )
    factors = mofa.Z_train_.reindex(train)
    others = [s for s in cohort.samples if s not in set(train)]
    if others:
        factors = pd.concat([factors, mofa.transform({n: X.loc[others] for n, X in layers.items()})])
    base = int(settings.seed)
    runs = {
        base + k: build_mofa(cohort.omics, settings, seed=base + k, sheet=cohort.sheet, check=True)
        .fit(fit_layers)
        .Z_train_
        for k in range(1, int(settings.integration.mofa.stability_seeds) + 1)
    }
    return mofa, factors.rename_axis("sample"), stability(mofa.Z_train_, runs)
