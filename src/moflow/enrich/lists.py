"""Score lists to test: MOFA weights per (layer, factor), model coefficients per (layer, target).

Also the MOFA lists of a plan (:func:`mofa_lists`) and the features the models scored
(:func:`model_features`).
"""

from __future__ import annotations

import pandas as pd

from moflow.enrich.plan import EnrichmentPlan
from moflow.settings import Settings, reads


def weight_lists(
    weights: pd.DataFrame, *, layers, variance: pd.DataFrame | None = None, min_variance_explained: float = 0.0
) -> dict[tuple[str, str], pd.Series]:
    """MOFA weights (long: view, feature, factor, weight) -> {(layer, factor): feature scores}.

    A factor that explains less than ``min_variance_explained`` of a layer's variance (table
    view, factor, r2) is not tested in that layer: its weights there are shrunk to noise, and the
    order of noise follows the layer's gene-gene correlation, which a gene-permutation test
    mistakes for enrichment. Factors with all weights zero in a layer are skipped too.

    Parameters
    ----------
    weights : pandas.DataFrame
        MOFA weights (long: view, feature, factor, weight).
    layers : iterable of str
        The views to take.
    variance : pandas.DataFrame, optional
        Variance explained (view, factor, r2).
    min_variance_explained : float
        The threshold; 0 (or no ``variance``): every factor.

    Returns
    -------
    dict
        {(layer, factor): feature scores}.
    """
    keep = None
    if variance is not None and min_variance_explained > 0:
        v = variance[variance["r2"] >= min_variance_explained]
        keep = set(zip(v["view"].astype(str), v["factor"].astype(str)))
    out = {}
    w = weights[weights["view"].isin(list(layers))]
    for (view, factor), d in w.groupby(["view", "factor"], sort=True):
        if keep is not None and (str(view), str(factor)) not in keep:
            continue
        s = d.set_index(d["feature"].astype(str))["weight"].astype(float)
        if s.abs().max() == 0:
            continue
        out[(str(view), str(factor))] = s
    return out


def coefficient_lists(coefficients: pd.DataFrame, *, layers) -> dict[tuple[str, str], pd.Series]:
    """A model's coefficient table -> {(layer, target): feature scores}.

    The table has columns layer, feature and one column per target class; only ``layers`` are
    taken, and a (layer, target) whose coefficients are all zero is skipped.
    """
    targets = [c for c in coefficients.columns if c not in ("layer", "feature")]
    out = {}
    c = coefficients[coefficients["layer"].isin(list(layers))]
    for layer, d in c.groupby("layer", sort=True):
        for t in targets:
            s = d.set_index(d["feature"].astype(str))[t].astype(float)
            if s.abs().max() == 0:
                continue
            out[(str(layer), str(t))] = s
    return out


def with_string_features(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a score table (MOFA weights, coefficients) with its ``feature`` column as strings."""
    table = table.copy()
    table["feature"] = table["feature"].astype(str)
    return table


@reads("enrichment")
def mofa_lists(weights: pd.DataFrame, variance: pd.DataFrame, plan: EnrichmentPlan, settings: Settings) -> dict:
    """{(layer, factor): weights} of the plan's layers, factors below the variance threshold left out.

    :func:`weight_lists` with the plan's layers and config ``enrichment: min_variance_explained``.

    Parameters
    ----------
    weights : pandas.DataFrame
        MOFA weights (long: view, feature, factor, weight).
    variance : pandas.DataFrame
        Variance explained per view and factor (view, factor, r2).
    plan : EnrichmentPlan
        The enrichment plan (:func:`moflow.enrich.plan.make_plan`).
    settings : Settings
        Read: ``enrichment``.

    Returns
    -------
    dict
        {(layer, factor): feature scores}.
    """
    return weight_lists(
        weights,
        layers=plan.layers,
        variance=variance,
        min_variance_explained=settings.enrichment.min_variance_explained,
    )


def model_features(tables: dict[str, pd.DataFrame], features: dict | None = None) -> dict:
    """{layer: sorted features} scored by the models' coefficient tables, added to ``features``.

    The tables' ``feature`` columns are turned into strings in place.
    """
    features = {k: set(v) for k, v in (features or {}).items()}
    for t in tables.values():
        t["feature"] = t["feature"].astype(str)
        for layer, d in t.groupby("layer"):
            features.setdefault(layer, set()).update(d["feature"])
    return {k: sorted(v) for k, v in features.items()}
