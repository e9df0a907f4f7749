"""Subtype discovery: representations of the samples, k chosen on held-out halves, assignments with a confidence.

* :func:`layer_components`: each layer's principal components (standardized features, each layer's
  scores scaled to the same total variance), side by side: the mixed strategy's representation;
* :func:`network_embedding`: the spectral embedding of the layers' fused network (:mod:`.snf`);
* :func:`discover`: every representation (these two and any given, e.g. MOFA factors) with every
  clustering, k chosen by :func:`moflow.subtypes.k_selection.choose_k`; the combination that beats its
  reference without structure by the most is kept, and its subtypes assigned with a confidence
  (:func:`assign_with_confidence`: the share of subsample refits, labels matched to the final ones, that
  put the sample in the same subtype).

The representations are fit on every sample (no outcome is involved); in the resamples only the
clusterings are refit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.subtypes.consensus import pac_curve
from moflow.subtypes.k_selection import choose_k, fit_clusters, k_evidence


def layer_components(layers: dict, *, n_components: int = 10) -> pd.DataFrame:
    """Each layer's leading principal components, concatenated (samples in every layer; complete layers).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: samples x features}, imputed.
    n_components : int
        Components per layer (at most the samples minus one and the layer's features).

    Returns
    -------
    pandas.DataFrame
        Samples x components, named ``<layer>:PC<i>``; each layer's block scaled to a total variance of 1.
    """
    from sklearn.decomposition import PCA

    common = None
    for X in layers.values():
        common = list(X.index) if common is None else [s for s in common if s in set(X.index)]
    blocks = []
    for layer, X in layers.items():
        V = X.loc[common].to_numpy(float)
        if np.isnan(V).any():
            raise ValueError(f"layer {layer}: the subtype representations need complete layers (impute first)")
        sd = V.std(axis=0)
        V = (V - V.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        m = max(1, min(int(n_components), len(common) - 1, V.shape[1]))
        scores = PCA(m, random_state=0).fit_transform(V)
        scores /= np.sqrt(max(scores.var(axis=0).sum(), np.finfo(float).eps))
        blocks.append(pd.DataFrame(scores, index=common, columns=[f"{layer}:PC{i + 1}" for i in range(m)]))
    return pd.concat(blocks, axis=1)


def network_embedding(
    layers: dict, *, n_components: int = 8, k: int = 20, mu: float = 0.5, t: int = 20
) -> pd.DataFrame:
    """The spectral embedding of the layers' fused network (:func:`moflow.subtypes.snf.fused_network`).

    Returns
    -------
    pandas.DataFrame
        Samples x ``n_components`` (``SNF1``...), rows normalized to unit length (as spectral clustering uses them).
    """
    from sklearn.manifold import spectral_embedding

    from moflow.subtypes.snf import fused_network

    W = fused_network(layers, k=k, mu=mu, t=t)
    m = max(1, min(int(n_components), len(W) - 2))
    E = spectral_embedding(W.to_numpy(), n_components=m, drop_first=False, random_state=0)
    E /= np.maximum(np.linalg.norm(E, axis=1, keepdims=True), np.finfo(float).eps)
    return pd.DataFrame(E, index=W.index, columns=[f"SNF{i + 1}" for i in range(m)])


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
    tables, best = [], None
    for name, Z in reps.items():
        for clustering in clusterings:
            ev = k_evidence(Z.to_numpy(float), k_max=k_max, clustering=clustering, resamples=resamples, seed=seed)
            ev["representation"] = name
            k, why = choose_k(ev)
            gain = float(ev.loc[ev["k"] == k, "gain"].iloc[0]) if k > 1 else -np.inf
            if best is None or gain > best[0]:
                best = (gain, name, clustering, k, why)
            tables.append(ev)
    evidence = pd.concat(tables, ignore_index=True)
    gain, name, clustering, k, why = best
    if k > 1:
        evidence.loc[
            (evidence["representation"] == name) & (evidence["clustering"] == clustering) & (evidence["k"] == k),
            "chosen",
        ] = True
        why = f"{why} ({name}, {clustering})"
    else:
        name, clustering = "", ""
        why = "no reproducible subtypes: no representation and clustering tried beats a reference without structure"
    Z = reps[name] if name else reps["components"]
    kept = (evidence["representation"] == (name or "components")) & (evidence["clustering"] == (clustering or "kmeans"))
    curve = pac_curve(Z.to_numpy(float), sorted(evidence.loc[kept, "k"]), clustering=clustering or "kmeans", seed=seed)
    evidence["pac"] = np.nan  # the consensus' proportion of ambiguous pairs, of the kept combination
    evidence.loc[kept, "pac"] = evidence.loc[kept, "k"].map(curve.set_index("k")["pac"]).to_numpy()
    assignments = assign_with_confidence(Z, k, clustering or "kmeans", resamples=resamples, seed=seed)
    return {
        "evidence": evidence,
        "k": k,
        "representation": name,
        "clustering": clustering,
        "why": why,
        "assignments": assignments,
    }
