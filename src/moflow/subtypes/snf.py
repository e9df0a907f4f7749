"""Similarity network fusion (Wang et al., Nature Methods 2014): one patient network from several layers.

Each layer gives a network of samples (a scaled exponential kernel of the Euclidean distance, its width
set per pair by the mean distance of both samples to their ``k`` nearest neighbours, :func:`affinity`);
the networks are then fused by cross-diffusion: each layer's full network is updated through its own
sparse k-nearest-neighbour network and the mean of the others', ``t`` times, so that ties supported by
several layers are strengthened and ties seen in one layer only fade (:func:`fuse`). A group that one
layer separates and another layer separates differently comes out of the fused network whole.

Written here after the published algorithm (the authors' R package SNFtool and snfpy, the Python port,
which fails with current scikit-learn on ``force_all_finite`` and is unmaintained since 2019); the
planted-groups check is in ``tests/unit/test_subtypes.py``. Samples are the rows of every matrix, in the
same order, without missing values (impute first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _squared_distances(X: np.ndarray) -> np.ndarray:
    sq = (X**2).sum(axis=1)
    D = sq[:, None] + sq[None, :] - 2 * X @ X.T
    np.fill_diagonal(D, 0.0)
    return np.maximum(D, 0.0)


def affinity(X, *, k: int = 20, mu: float = 0.5) -> np.ndarray:
    """A layer's sample network: SNF's scaled exponential kernel, a normal density of ``rho_ij`` with sd ``mu eps_ij``.

    ``rho`` is the Euclidean distance of the standardized features and ``eps_ij`` the mean of the mean
    distance of ``i`` and of ``j`` to their ``k`` nearest neighbours and of ``rho_ij`` (as SNFtool's
    ``affinityMatrix``; the paper writes the kernel as ``exp(-rho^2 / (mu eps))``).

    Parameters
    ----------
    X : array-like or pandas.DataFrame
        Samples x features, no missing values.
    k : int
        Neighbours that set each sample's scale (SNF's K; 10-30 in the paper).
    mu : float
        The kernel's width (SNF's alpha / mu; 0.3-0.8 in the paper).

    Returns
    -------
    numpy.ndarray
        Samples x samples, symmetric.
    """
    X = np.asarray(X, float)
    if np.isnan(X).any():
        raise ValueError("similarity network fusion needs complete layers: impute the missing values first")
    sd = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    n = len(X)
    k = max(1, min(int(k), n - 1))
    D2 = _squared_distances(X)
    D = np.sqrt(D2)
    near = np.sort(D, axis=1)[:, 1 : k + 1].mean(axis=1)  # mean distance to the k nearest (not itself)
    eps = (near[:, None] + near[None, :] + D) / 3
    sd = mu * np.maximum(eps, np.finfo(float).eps)
    W = np.exp(-D2 / (2 * sd**2)) / (sd * np.sqrt(2 * np.pi))  # SNFtool's dnorm(rho, 0, mu * eps)
    return (W + W.T) / 2


def _full(W: np.ndarray) -> np.ndarray:
    """SNF's P: each row's off-diagonal entries sum to 1/2, the diagonal is 1/2."""
    W = W.copy()
    np.fill_diagonal(W, 0.0)
    rows = W.sum(axis=1, keepdims=True)
    P = W / (2 * np.where(rows > 0, rows, 1.0))
    np.fill_diagonal(P, 0.5)
    return (P + P.T) / 2


def _sparse(W: np.ndarray, k: int) -> np.ndarray:
    """SNF's S: each row keeps its k nearest neighbours (largest affinities), normalized to sum to 1."""
    W = W.copy()
    np.fill_diagonal(W, 0.0)
    n = len(W)
    S = np.zeros_like(W)
    order = np.argsort(-W, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    S[rows, order] = W[rows, order]
    total = S.sum(axis=1, keepdims=True)
    return S / np.where(total > 0, total, 1.0)


def fuse(affinities: list, *, k: int = 20, t: int = 20) -> np.ndarray:
    """The fused network of several layers' networks (:func:`affinity`), by SNF's cross-diffusion.

    Parameters
    ----------
    affinities : list of numpy.ndarray
        One samples x samples network per layer, the samples in the same order.
    k : int
        The neighbours each layer's sparse network keeps.
    t : int
        Iterations (the paper: 10-20 converge).

    Returns
    -------
    numpy.ndarray
        The fused network (symmetric, rows of the off-diagonal part normalized as SNF's P); with one
        layer, that layer's normalized network.
    """
    if not affinities:
        raise ValueError("similarity network fusion needs at least one layer")
    n = len(affinities[0])
    k = max(1, min(int(k), n - 1))
    P = [_full(W) for W in affinities]
    S = [_sparse(W, k) for W in affinities]
    if len(P) > 1:
        for _ in range(int(t)):
            total = sum(P)
            P = [_full(S[v] @ ((total - P[v]) / (len(P) - 1)) @ S[v].T) for v in range(len(P))]
    fused = sum(P) / len(P)
    return _full(fused)


def fused_network(layers: dict, *, k: int = 20, mu: float = 0.5, t: int = 20) -> pd.DataFrame:
    """The fused network of the samples every layer has (:func:`affinity` per layer, then :func:`fuse`).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: samples x features}, complete (imputed); the samples in every layer are used.
    k, mu, t
        As :func:`affinity` and :func:`fuse`.

    Returns
    -------
    pandas.DataFrame
        Samples x samples.
    """
    common = None
    for X in layers.values():
        common = list(X.index) if common is None else [s for s in common if s in set(X.index)]
    if not common:
        raise ValueError("similarity network fusion: no sample is in every layer")
    W = [affinity(X.loc[common], k=k, mu=mu) for X in layers.values()]
    return pd.DataFrame(fuse(W, k=k, t=t), index=common, columns=common)
