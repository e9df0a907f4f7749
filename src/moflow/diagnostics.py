"""Batch diagnostics of a layer: PCA, silhouettes, and variance of the top PCs explained by batch
and by outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score


def _complete(X: pd.DataFrame) -> np.ndarray:
    V = X.to_numpy(float)
    if np.isnan(V).any():
        V = np.where(np.isnan(V), np.nanmean(V, axis=0), V)
        V = np.nan_to_num(V)
    return V


def pca_scores(X: pd.DataFrame, n_components: int = 10, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    V = _complete(X)
    V = V - V.mean(0)
    k = int(min(n_components, V.shape[0] - 1, V.shape[1]))
    pca = PCA(n_components=k, random_state=seed).fit(V)
    S = pca.transform(V)
    return pd.DataFrame(S, index=X.index, columns=[f"PC{i + 1}" for i in range(k)]), pca.explained_variance_ratio_


def _r2_by_group(S: np.ndarray, evr: np.ndarray, groups: np.ndarray) -> float:
    """Variance of the top PCs explained by a grouping (between-group SS / total SS, weighted by each
    PC's share of variance)."""
    total = 0.0
    for j in range(S.shape[1]):
        s = S[:, j]
        ss_tot = ((s - s.mean()) ** 2).sum()
        ss_between = sum(((s[groups == g].mean() - s.mean()) ** 2) * (groups == g).sum() for g in np.unique(groups))
        total += evr[j] * (ss_between / ss_tot if ss_tot > 0 else 0.0)
    return float(total / evr.sum())


def batch_diagnostics(X: pd.DataFrame, *, batch: pd.Series | None, outcome: pd.Series, n_components: int = 10,
                      seed: int = 0) -> dict:
    """Silhouette of batch and outcome labels on the top PCs, and their share of the PCs' variance."""
    scores, evr = pca_scores(X, n_components, seed)
    S = scores.to_numpy()
    out = {"n_samples": int(X.shape[0]), "n_features": int(X.shape[1]),
           "pc1_variance": float(evr[0]), "pc2_variance": float(evr[1]) if len(evr) > 1 else np.nan}
    for name, lab in (("batch", batch), ("outcome", outcome)):
        if lab is None:
            out[f"silhouette_{name}"] = np.nan
            out[f"r2_{name}"] = np.nan
            continue
        g = lab.reindex(X.index).astype(str).to_numpy()
        ok = g != "nan"
        if len(np.unique(g[ok])) < 2:
            out[f"silhouette_{name}"] = np.nan
            out[f"r2_{name}"] = np.nan
            continue
        out[f"silhouette_{name}"] = float(silhouette_score(S[ok], g[ok]))
        out[f"r2_{name}"] = _r2_by_group(S[ok], evr, g[ok])
    return out
