"""Representations of the samples that subtypes are found in, fit on some samples and applied to others.

* :class:`LayerComponents`: each layer's principal components (features standardized, each layer's block
  scaled to a total variance of 1), side by side: the mixed strategy's kind of representation;
* :class:`FusedNetwork`: the layers' fused similarity network (:mod:`moflow.subtypes.snf`) and its
  spectral embedding; samples it was not fit on are placed by their affinity to the fitted samples
  (:meth:`FusedNetwork.vote`: the affinity-weighted labels of their nearest fitted samples), never by
  joining the network.

:func:`most_variable` keeps each layer's most variable features first (the stage's ``subtypes: features``).
Both are fit on one set of samples and applied unchanged to others, so that a held-out half of a resample
(:mod:`moflow.subtypes.resampling`) is represented by what its fitted half learned, as a new patient is.
Missing cells (a layer whose chain does not impute) are filled with the fitted samples' feature means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from moflow.subtypes.snf import affinity, fuse


def common_samples(layers: dict) -> list:
    """The samples every layer has, in the first layer's order."""
    common = None
    for X in layers.values():
        present = set(X.index)
        common = list(X.index) if common is None else [s for s in common if s in present]
    return common or []


def most_variable(layers: dict, n_features: int | None) -> dict:
    """Each layer restricted to its ``n_features`` most variable features (every feature where fewer, or None).

    The variance is taken over the observed cells of the samples given; ties keep the earlier column.
    """
    if n_features is None:
        return dict(layers)
    out = {}
    for name, X in layers.items():
        if X.shape[1] <= n_features:
            out[name] = X
            continue
        var = np.nan_to_num(X.var(axis=0, skipna=True).to_numpy(float), nan=-1.0)
        keep = np.sort(np.argsort(-var, kind="stable")[: int(n_features)])
        out[name] = X.iloc[:, keep]
    return out


class LayerComponents(BaseEstimator):
    """Each layer's leading principal components, concatenated (``<layer>:PC<i>``).

    Parameters
    ----------
    n_components : int
        Components per layer (at most the fitted samples minus one and the layer's features).

    Attributes
    ----------
    layers_ : list of str
        The layers, in the order given.
    means_, scales_ : dict of str to numpy.ndarray
        The fitted samples' feature means and standard deviations (1 where constant), per layer.
    pca_ : dict of str to sklearn.decomposition.PCA
        The fitted PCA per layer.
    block_scale_ : dict of str to float
        Per layer, the square root of its scores' total variance on the fitted samples (each block is
        divided by it, so that every layer weighs the same).
    """

    def __init__(self, n_components: int = 10):
        self.n_components = n_components

    def _standard(self, layer: str, X: pd.DataFrame) -> np.ndarray:
        V = X.to_numpy(float)
        V = np.where(np.isnan(V), self.means_[layer], V)
        return (V - self.means_[layer]) / self.scales_[layer]

    def fit(self, layers: dict[str, pd.DataFrame], y=None):
        """Fit the standardization and PCA of every layer on the samples every layer has."""
        from sklearn.decomposition import PCA

        rows = common_samples(layers)
        if len(rows) < 3:
            raise ValueError(f"the subtype representation needs 3 samples in every layer, not {len(rows)}")
        self.layers_ = list(layers)
        self.features_ = {n: list(X.columns) for n, X in layers.items()}
        self.means_, self.scales_, self.pca_, self.block_scale_ = {}, {}, {}, {}
        for n, X in layers.items():
            V = X.loc[rows].to_numpy(float)
            mean = _means(V)
            self.means_[n] = mean
            V = np.where(np.isnan(V), mean, V)
            sd = V.std(axis=0)
            self.scales_[n] = np.where(sd > 0, sd, 1.0)
            V = (V - mean) / self.scales_[n]
            m = max(1, min(int(self.n_components), len(rows) - 1, V.shape[1]))
            self.pca_[n] = PCA(m, random_state=0).fit(V)
            scores = self.pca_[n].transform(V)
            self.block_scale_[n] = float(np.sqrt(max(scores.var(axis=0).sum(), np.finfo(float).eps)))
        return self

    def transform(self, layers: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """The components of the samples every layer has (each layer's fitted features, in fitted order)."""
        check_is_fitted(self, "pca_")
        rows = common_samples({n: layers[n] for n in self.layers_})
        blocks = []
        for n in self.layers_:
            V = self._standard(n, layers[n].loc[rows].reindex(columns=self.features_[n]))
            scores = self.pca_[n].transform(V) / self.block_scale_[n]
            cols = [f"{n}:PC{i + 1}" for i in range(scores.shape[1])]
            blocks.append(pd.DataFrame(scores, index=rows, columns=cols))
        return pd.concat(blocks, axis=1)

    def fit_transform(self, layers: dict[str, pd.DataFrame], y=None) -> pd.DataFrame:
        """:meth:`fit`, then :meth:`transform` of the same layers."""
        return self.fit(layers).transform(layers)


class FusedNetwork(BaseEstimator):
    """The fused similarity network of the fitted samples, its spectral embedding, and a vote for new samples.

    Parameters
    ----------
    k, mu, t : int, float, int
        SNF's neighbours, kernel width and iterations (:func:`moflow.subtypes.snf.affinity`, :func:`~.snf.fuse`).
    n_components : int
        Dimensions of the spectral embedding.

    Attributes
    ----------
    samples_ : list
        The fitted samples (those in every layer).
    embedding_ : pandas.DataFrame
        Their spectral embedding (``SNF1``...; rows of unit length, as spectral clustering uses them).
    """

    def __init__(self, k: int = 20, mu: float = 0.5, t: int = 20, n_components: int = 8):
        self.k = k
        self.mu = mu
        self.t = t
        self.n_components = n_components

    def fit(self, layers: dict[str, pd.DataFrame], y=None):
        """Fuse the layers' networks of the samples every layer has; embed them."""
        from sklearn.manifold import spectral_embedding

        rows = common_samples(layers)
        if len(rows) < 4:
            raise ValueError(f"the fused network needs 4 samples in every layer, not {len(rows)}")
        self.layers_ = list(layers)
        self.samples_ = rows
        self.features_ = {n: list(X.columns) for n, X in layers.items()}
        self.means_, self.scales_, self.fitted_, self.near_ = {}, {}, {}, {}
        nets = []
        kk = max(1, min(int(self.k), len(rows) - 1))
        for n, X in layers.items():
            V = X.loc[rows].to_numpy(float)
            mean = _means(V)
            V = np.where(np.isnan(V), mean, V)
            sd = V.std(axis=0)
            self.means_[n], self.scales_[n] = mean, np.where(sd > 0, sd, 1.0)
            S = (V - mean) / self.scales_[n]
            self.fitted_[n] = S
            D = np.sqrt(_cross_sq(S, S))
            self.near_[n] = np.sort(D, axis=1)[:, 1 : kk + 1].mean(axis=1)
            nets.append(affinity(S, k=kk, mu=self.mu))
        W = fuse(nets, k=kk, t=self.t)
        m = max(1, min(int(self.n_components), len(rows) - 2))
        E = spectral_embedding(W, n_components=m, drop_first=False, random_state=0)
        E /= np.maximum(np.linalg.norm(E, axis=1, keepdims=True), np.finfo(float).eps)
        self.embedding_ = pd.DataFrame(E, index=rows, columns=[f"SNF{i + 1}" for i in range(m)])
        return self

    def cross_affinity(self, layers: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """New samples x fitted samples: SNF's kernel per layer, rows normalized to sum to 1, averaged over layers.

        A new sample's own scale is its mean distance to its nearest fitted samples.
        """
        check_is_fitted(self, "embedding_")
        rows = common_samples({n: layers[n] for n in self.layers_})
        kk = max(1, min(int(self.k), len(self.samples_) - 1))
        total = np.zeros((len(rows), len(self.samples_)))
        for n in self.layers_:
            V = layers[n].loc[rows].reindex(columns=self.features_[n]).to_numpy(float)
            V = np.where(np.isnan(V), self.means_[n], V)
            S = (V - self.means_[n]) / self.scales_[n]
            D2 = _cross_sq(S, self.fitted_[n])
            D = np.sqrt(D2)
            near = np.sort(D, axis=1)[:, :kk].mean(axis=1)
            eps = (near[:, None] + self.near_[n][None, :] + D) / 3
            sd = self.mu * np.maximum(eps, np.finfo(float).eps)
            K = np.exp(-D2 / (2 * sd**2)) / (sd * np.sqrt(2 * np.pi))
            total += K / np.maximum(K.sum(axis=1, keepdims=True), np.finfo(float).tiny)
        return pd.DataFrame(total / len(self.layers_), index=rows, columns=self.samples_)

    def vote(self, layers: dict[str, pd.DataFrame], labels, n_labels: int) -> pd.DataFrame:
        """Label shares of new samples: the affinity-weighted labels of each one's ``k`` nearest fitted samples.

        Parameters
        ----------
        layers : dict of str to pandas.DataFrame
            The new samples' layers (preprocessed as the fitted samples were).
        labels : array-like of int
            The fitted samples' labels (0..``n_labels`` - 1), in :attr:`samples_` order.
        n_labels : int
            The number of labels.

        Returns
        -------
        pandas.DataFrame
            New samples x labels, rows summing to 1.
        """
        return self.vote_by(self.cross_affinity(layers), labels, n_labels)

    def vote_by(self, cross: pd.DataFrame, labels, n_labels: int) -> pd.DataFrame:
        """:meth:`vote` from the new samples' affinity to the fitted ones (:meth:`cross_affinity`).

        The affinity is computed once for several labellings (every k and clustering of a resample).
        """
        check_is_fitted(self, "embedding_")
        A = cross.to_numpy()
        labels = np.asarray(labels, int)
        kk = max(1, min(int(self.k), A.shape[1]))
        nearest = np.argsort(-A, axis=1)[:, :kk]
        P = np.zeros((len(A), int(n_labels)))
        rows = np.arange(len(A))[:, None]
        np.add.at(P, (np.repeat(rows, kk, axis=1), labels[nearest]), A[rows, nearest])
        P /= np.maximum(P.sum(axis=1, keepdims=True), np.finfo(float).tiny)
        return pd.DataFrame(P, index=cross.index)


def _means(V: np.ndarray) -> np.ndarray:
    """Column means over the observed cells (0 for a column never observed)."""
    seen = ~np.isnan(V)
    total = np.where(seen, V, 0.0).sum(axis=0)
    return total / np.maximum(seen.sum(axis=0), 1)


def _cross_sq(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``A`` and of ``B``."""
    D = (A**2).sum(axis=1)[:, None] + (B**2).sum(axis=1)[None, :] - 2 * A @ B.T
    return np.maximum(D, 0.0)
