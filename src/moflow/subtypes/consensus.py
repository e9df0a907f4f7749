"""Consensus clustering (Monti et al., 2003) and its proportion of ambiguous clustering (PAC; Senbabaoglu et al., 2014).

The samples are subsampled many times and clustered into k groups; the consensus of two samples is the
share of the subsamples holding both that put them in the same group (:func:`consensus_matrix`). Clear
subtypes give consensus values near 0 or 1; the PAC is the share of pairs in between (0.1-0.9 by
default, :func:`pac`): lower is cleaner. Reported beside the prediction strength
(:mod:`.k_selection`), which decides k: the PAC, like every statistic on the full data, has no reference
of its own here and is not used to choose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.subtypes.k_selection import fit_clusters


def consensus_matrix(
    Z, k: int, *, clustering: str = "kmeans", resamples: int = 50, fraction: float = 0.8, seed: int = 0
):
    """The consensus of every pair of samples: the share of subsamples holding both that cluster them together.

    Parameters
    ----------
    Z : array-like
        Samples x dimensions.
    k : int
        The number of clusters.
    clustering : str
        One of :data:`moflow.subtypes.k_selection.CLUSTERINGS`.
    resamples, fraction, seed
        Subsamples of ``fraction`` of the samples (without replacement).

    Returns
    -------
    numpy.ndarray
        Samples x samples, in [0, 1] (NaN for a pair never subsampled together), ones on the diagonal.
    """
    Z = np.asarray(Z, float)
    n = len(Z)
    rng = np.random.default_rng(seed)
    together = np.zeros((n, n))
    both = np.zeros((n, n))
    m = max(2 * k, int(round(fraction * n)))
    for _ in range(int(resamples)):
        sub = np.sort(rng.choice(n, size=min(m, n), replace=False))
        labels, _ = fit_clusters(Z[sub], k, clustering, int(rng.integers(2**31 - 1)))
        # pairs clustered together (one-hot labels of the subsample, zero rows elsewhere) and pairs subsampled
        onehot = np.zeros((n, int(labels.max()) + 1))
        onehot[sub, labels] = 1.0
        member = np.zeros(n)
        member[sub] = 1.0
        together += onehot @ onehot.T
        both += np.outer(member, member)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.where(both > 0, together / both, np.nan)
    np.fill_diagonal(C, 1.0)
    return C


def pac(C: np.ndarray, *, lower: float = 0.1, upper: float = 0.9) -> float:
    """The proportion of ambiguous clustering: the share of pairs whose consensus is strictly between the bounds."""
    C = np.asarray(C, float)
    values = C[np.triu_indices_from(C, k=1)]
    values = values[~np.isnan(values)]
    return float(((values > lower) & (values < upper)).mean()) if len(values) else np.nan


def pac_curve(Z, ks, *, clustering: str = "kmeans", resamples: int = 50, seed: int = 0) -> pd.DataFrame:
    """The PAC of every k in ``ks`` (columns k, pac)."""
    rows = [
        {"k": int(k), "pac": pac(consensus_matrix(Z, int(k), clustering=clustering, resamples=resamples, seed=seed))}
        for k in ks
    ]
    return pd.DataFrame(rows, columns=["k", "pac"])
