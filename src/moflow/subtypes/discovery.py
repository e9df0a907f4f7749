"""Subtype discovery: representations of the samples, k chosen on held-out halves, assignments with a confidence.

* :func:`layer_components`: each layer's principal components (standardized features, each layer's
  scores scaled to the same total variance), side by side: the mixed strategy's representation;
* :func:`network_embedding`: the spectral embedding of the layers' fused network (:mod:`.snf`);
* :func:`discover`: every representation (these two and any given, e.g. MOFA factors) with every
  clustering, k chosen by :func:`moflow.subtypes.k_selection.choose_k`; the combination that beats its
  reference without structure by the most is kept, and its subtypes assigned with a confidence
  (:func:`assign_with_confidence`: the share of subsample refits, labels matched to the final ones, that
  put the sample in the same subtype).

Here the representations are fit on every sample and only the clusterings are refit in the resamples;
the workflow's stage refits the preprocessing and the representation in every resample as well
(:mod:`moflow.subtypes.resampling`), and uses :func:`settle` for the kept combination.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.subtypes.consensus import pac_curve
from moflow.subtypes.k_selection import choose_subtypes, fit_clusters, k_evidence
from moflow.subtypes.representations import FusedNetwork, LayerComponents


def layer_components(layers: dict, *, n_components: int = 10) -> pd.DataFrame:
    """Each layer's leading principal components, concatenated (``<layer>:PC<i>``, each block of variance 1).

    :class:`~moflow.subtypes.representations.LayerComponents`, fit and applied to the samples every layer has.
    """
    for layer, X in layers.items():
        if X.isna().to_numpy().any():
            raise ValueError(f"layer {layer}: the subtype representations need complete layers (impute first)")
    return LayerComponents(n_components).fit_transform(layers)


def network_embedding(
    layers: dict, *, n_components: int = 8, k: int = 20, mu: float = 0.5, t: int = 20
) -> pd.DataFrame:
    """The spectral embedding of the layers' fused network (:class:`~.representations.FusedNetwork`).

    Returns
    -------
    pandas.DataFrame
        Samples x ``n_components`` (``SNF1``...), rows normalized to unit length (as spectral clustering uses them).
    """
    return FusedNetwork(k=k, mu=mu, t=t, n_components=n_components).fit(layers).embedding_


def _named(labels: np.ndarray) -> np.ndarray:
    """Subtypes named S1, S2, ... from the largest."""
    values, counts = np.unique(labels, return_counts=True)
    order = values[np.argsort(-counts, kind="mergesort")]
    names = {v: f"S{i + 1}" for i, v in enumerate(order)}
    return np.array([names[v] for v in labels], dtype=object)


def assign_with_confidence(
    Z: pd.DataFrame, k: int, clustering: str, *, resamples: int = 20, fraction: float = 0.8, seed: int = 0
) -> pd.DataFrame:
    """The subtypes of every sample and how often subsample refits agree.

    Parameters
    ----------
    Z : pandas.DataFrame
        Samples x dimensions.
    k : int
        The number of subtypes (1: every sample ``S1``, confidence 1).
    clustering : str
        One of :data:`moflow.subtypes.k_selection.CLUSTERINGS`.
    resamples, fraction, seed
        Subsample refits (each on ``fraction`` of the samples; all samples assigned by each).

    Returns
    -------
    pandas.DataFrame
        Columns sample, subtype (``S1`` the largest), confidence (share of refits agreeing, labels matched
        to the final ones by the Hungarian assignment).
    """
    from scipy.optimize import linear_sum_assignment

    idx = [str(s) for s in Z.index]
    if k <= 1:
        return pd.DataFrame({"sample": idx, "subtype": "S1", "confidence": 1.0})
    V = Z.to_numpy(float)
    final, _ = fit_clusters(V, k, clustering, seed)
    rng = np.random.default_rng(seed)
    agree = np.zeros(len(V))
    for _ in range(resamples):
        sub = rng.choice(len(V), size=max(k * 2, int(fraction * len(V))), replace=False)
        _, assign = fit_clusters(V[sub], k, clustering, int(rng.integers(2**31 - 1)))
        got = assign(V)
        table = np.zeros((k, k))
        np.add.at(table, (got, final), 1)
        rows, cols = linear_sum_assignment(-table)
        match = dict(zip(rows, cols, strict=True))
        agree += np.array([match.get(g, -1) for g in got]) == final
    return pd.DataFrame({"sample": idx, "subtype": _named(final), "confidence": agree / resamples})


def discover(
    layers: dict,
    *,
    extra: dict | None = None,
    k_max: int = 8,
    clusterings=("kmeans", "gmm", "ward", "spectral"),
    resamples: int = 20,
    seed: int = 0,
) -> dict:
    """Subtypes of the samples every layer has: evidence for k per representation and clustering, the assignment.

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: samples x features}, preprocessed and imputed.
    extra : dict of str to pandas.DataFrame, optional
        Other representations (``{"mofa": factors}``), samples x dimensions.
    k_max : int
        The largest k tried.
    clusterings : sequence of str
        The clusterings tried on every representation.
    resamples, seed
        As :func:`moflow.subtypes.k_selection.k_evidence`.

    Returns
    -------
    dict
        evidence (:func:`k_evidence` rows of every combination, ``chosen`` marking the kept row, ``pac``
        the consensus clustering's proportion of ambiguous pairs for the kept combination), k,
        representation, clustering, why (one sentence), assignments (:func:`assign_with_confidence`).
    """
    reps = {"components": layer_components(layers)}
    if len(layers) > 1:
        reps["network"] = network_embedding(layers, n_components=k_max)
    reps |= dict(extra or {})
    tables = [
        k_evidence(Z.to_numpy(float), k_max=k_max, clustering=c, resamples=resamples, seed=seed, representation=name)
        for name, Z in reps.items()
        for c in clusterings
    ]
    choice = choose_subtypes(pd.concat(tables, ignore_index=True))
    kept = choice["representation"] or "components"
    return settle(choice, reps[kept], resamples=resamples, seed=seed)


def settle(choice: dict, Z: pd.DataFrame, *, resamples: int = 20, seed: int = 0) -> dict:
    """The kept combination's consensus PAC curve and the subtypes of the samples of ``Z``, with a confidence.

    Parameters
    ----------
    choice : dict
        :func:`moflow.subtypes.k_selection.choose_subtypes`.
    Z : pandas.DataFrame
        The kept representation of every sample (k = 1: any).
    resamples, seed
        Of the consensus and of :func:`assign_with_confidence`.

    Returns
    -------
    dict
        ``choice`` with ``pac`` in its evidence (the kept combination's rows; k = 1: components and k-means)
        and ``assignments``.
    """
    evidence, k = choice["evidence"].copy(), int(choice["k"])
    name, clustering = choice["representation"] or "components", choice["clustering"] or "kmeans"
    kept = (evidence["representation"] == name) & (evidence["clustering"] == clustering)
    curve = pac_curve(
        Z.to_numpy(float), sorted(evidence.loc[kept, "k"]), clustering=clustering, resamples=resamples, seed=seed
    )
    evidence["pac"] = np.nan  # the consensus' proportion of ambiguous pairs, of the kept combination
    evidence.loc[kept, "pac"] = evidence.loc[kept, "k"].map(curve.set_index("k")["pac"]).to_numpy()
    assignments = assign_with_confidence(Z, k, clustering, resamples=resamples, seed=seed)
    return {**choice, "evidence": evidence, "assignments": assignments}
