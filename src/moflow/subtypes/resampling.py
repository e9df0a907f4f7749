"""The number of subtypes measured on held-out halves, with everything refit on the fitted half.

One resample (:func:`resample_strengths`) splits the samples in two halves (:func:`halves`, seeded by the
resample's number, so that jobs holding different resamples draw them alike). On the fitted half only:
every layer's preprocessing chain (as the supervised evaluation fits it inside a training fold), then each
representation (:class:`~moflow.subtypes.representations.LayerComponents`, MOFA,
:class:`~moflow.subtypes.representations.FusedNetwork`), then every clustering for k = 2..``k_max``. The
held-out half goes through the fitted chains and representation unchanged and is assigned by the fitted
clustering (the fused network: by its affinity to the fitted samples), and is also clustered on its own;
the prediction strength (:func:`moflow.subtypes.k_selection.prediction_strength`) compares the two. The
same is measured on a reference without structure: a Gaussian with the fitted half's mean and covariance
of the representation (for the network: of the per-layer components, so that the reference keeps the
layers' correlation), drawn afresh in every resample.

:func:`moflow.subtypes.k_selection.summarize_strengths` turns the resamples' rows into the evidence
table, :func:`moflow.subtypes.k_selection.choose_subtypes` picks the representation, clustering and k
(k = 1 where nothing beats its reference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from moflow.subtypes.k_selection import fit_clusters, prediction_strength
from moflow.subtypes.representations import FusedNetwork, LayerComponents, most_variable

REPRESENTATIONS = ("components", "network", "mofa")
STRENGTH_COLUMNS = ["resample", "representation", "clustering", "k", "strength", "reference"]


def halves(samples: list, resample: int, seed: int) -> tuple[list, list]:
    """The fitted and the held-out half of resample ``resample`` (the fitted half is the smaller one)."""
    rng = np.random.default_rng([int(seed), 9176, int(resample)])
    order = rng.permutation(len(samples))
    cut = len(samples) // 2
    return [samples[i] for i in order[:cut]], [samples[i] for i in order[cut:]]


def largest_k(n_samples: int, k_max: int) -> int:
    """The largest k testable on halves of ``n_samples``: each half must hold k clusters of 2 at least."""
    return min(int(k_max), int(n_samples) // 4)


def _gaussian(Z: pd.DataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    V = Z.to_numpy(float)
    cov = np.cov(V, rowvar=False).reshape(V.shape[1], V.shape[1])
    return rng.multivariate_normal(V.mean(axis=0), cov, size=n, method="eigh")


def _blocks(values: np.ndarray, columns: list, index: list) -> dict[str, pd.DataFrame]:
    """Components (``<layer>:PC<i>``) split back into one frame per layer."""
    frame = pd.DataFrame(values, index=index, columns=columns)
    layers = list(dict.fromkeys(c.split(":PC")[0] for c in columns))
    return {n: frame[[c for c in columns if c.split(":PC")[0] == n]] for n in layers}


def _vector(ZA: np.ndarray, ZB: np.ndarray, k: int, clustering: str, seed: int) -> float:
    _, assign = fit_clusters(ZA, k, clustering, seed)
    own, _ = fit_clusters(ZB, k, clustering, seed)
    return prediction_strength(own, assign(ZB))


def _network(
    fitted: FusedNetwork, held: FusedNetwork, cross: pd.DataFrame, k: int, clustering: str, seed: int
) -> float:
    labels, _ = fit_clusters(fitted.embedding_.to_numpy(), k, clustering, seed)
    votes = fitted.vote_by(cross, labels, k).reindex(held.embedding_.index)
    own, _ = fit_clusters(held.embedding_.to_numpy(), k, clustering, seed)
    return prediction_strength(own, votes.to_numpy().argmax(axis=1))


def resample_strengths(
    raw: dict[str, pd.DataFrame],
    preprocessors: dict,
    samples: list,
    resample: int,
    *,
    qc: dict | None = None,
    mofa=None,
    representations=REPRESENTATIONS,
    clusterings=("kmeans", "gmm", "ward", "spectral"),
    k_max: int = 8,
    n_components: int = 10,
    n_features: int | None = None,
    network: dict | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Prediction strength of every representation, clustering and k on one resample, and of its reference.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    preprocessors : dict
        {layer: unfitted preprocessing chain} (cloned before fitting).
    samples : list
        The samples subtypes are sought among (each in every layer).
    resample : int
        The resample's number (seeds its halves and draws).
    qc : dict, optional
        {layer: QC injections} added to the fitted half of that layer's chain.
    mofa : MOFA, optional
        The unfitted MOFA (:func:`moflow.integrate.build_mofa`); needed for the ``mofa`` representation.
    representations, clusterings : sequence of str
        What is tried.
    k_max : int
        The largest k (lowered to what the halves allow, :func:`largest_k`).
    n_components : int
        Components per layer of :class:`LayerComponents`.
    n_features : int, optional
        Each layer's most variable features on the fitted half the representations use
        (:func:`~moflow.subtypes.representations.most_variable`; None: every feature).
    network : dict, optional
        Keyword arguments of :class:`FusedNetwork` (k, mu, t).
    seed : int
        The analysis seed.

    Returns
    -------
    pandas.DataFrame
        :data:`STRENGTH_COLUMNS`, one row per representation, clustering and k.
    """
    from moflow.evaluate import preprocess_fold

    fit, held = halves(list(samples), resample, seed)
    rng = np.random.default_rng([int(seed), 5303, int(resample)])
    ks = list(range(2, largest_k(len(samples), k_max) + 1))
    pre_fit, pre_held = preprocess_fold(raw, preprocessors, None, fit, held, qc=qc)
    pre_fit = most_variable(pre_fit, n_features)  # chosen on the fitted half only
    pre_held = {n: pre_held[n][X.columns] for n, X in pre_fit.items()}
    comp = LayerComponents(n_components).fit(pre_fit)
    CA, CB = comp.transform(pre_fit), comp.transform(pre_held)
    null = _gaussian(CA, len(CA) + len(CB), rng)
    NA, NB = null[: len(CA)], null[len(CA) :]
    spaces = {}  # representation -> (data fitted, data held-out, reference fitted, reference held-out)
    if "components" in representations:
        spaces["components"] = (CA.to_numpy(), CB.to_numpy(), NA, NB)
    if "mofa" in representations:
        if mofa is None:
            raise ValueError("the mofa representation needs an unfitted MOFA")
        model = clone(mofa).fit(pre_fit)
        MA = model.Z_train_.reindex(CA.index)
        MB = model.transform(pre_held).reindex(CB.index)
        mnull = _gaussian(MA, len(MA) + len(MB), rng)
        spaces["mofa"] = (MA.to_numpy(), MB.to_numpy(), mnull[: len(MA)], mnull[len(MA) :])
    rows = []
    for clustering in clusterings:
        cseed = int(rng.integers(2**31 - 1))
        for name, (ZA, ZB, RA, RB) in spaces.items():
            for k in ks:
                rows.append(
                    (
                        resample,
                        name,
                        clustering,
                        k,
                        _vector(ZA, ZB, k, clustering, cseed),
                        _vector(RA, RB, k, clustering, cseed),
                    )
                )
    if "network" in representations:
        opts = dict(network or {})
        nets = (FusedNetwork(**opts).fit(pre_fit), FusedNetwork(**opts).fit(pre_held))
        ref_layers = (_blocks(NA, list(CA.columns), list(CA.index)), _blocks(NB, list(CB.columns), list(CB.index)))
        refs = (FusedNetwork(**opts).fit(ref_layers[0]), FusedNetwork(**opts).fit(ref_layers[1]))
        nrng = np.random.default_rng([int(seed), 7727, int(resample)])
        # the held-out samples' affinity to the fitted ones: the same for every k and clustering
        cross = (nets[0].cross_affinity(pre_held), refs[0].cross_affinity(ref_layers[1]))
        for clustering in clusterings:
            cseed = int(nrng.integers(2**31 - 1))
            for k in ks:
                data = _network(nets[0], nets[1], cross[0], k, clustering, cseed)
                ref = _network(refs[0], refs[1], cross[1], k, clustering, cseed)
                rows.append((resample, "network", clustering, k, data, ref))
    return pd.DataFrame(rows, columns=STRENGTH_COLUMNS)
