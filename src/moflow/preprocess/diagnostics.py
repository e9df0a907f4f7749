"""Diagnostics of a layer.

PCA, silhouettes, the variance of the top PCs explained by batch and by outcome (before and after each
preprocessing step), the batch/outcome association behind the confounding guard of batch correction,
and missingness summaries.

Pure functions on in-memory objects; nothing here reads or writes files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from moflow.stats import batch_outcome_association, correlation_ratio, cramers_v  # noqa: F401  (re-exported)


def _complete(X: pd.DataFrame) -> np.ndarray:
    V = X.to_numpy(float)
    if np.isnan(V).any():
        V = np.where(np.isnan(V), np.nanmean(V, axis=0), V)
        V = np.nan_to_num(V)
    return V


def pca_scores(X: pd.DataFrame, n_components: int = 10, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """PCA scores of the samples of a layer.

    Missing values are replaced by their feature's mean (0 where a feature has none), and the features
    are centred; at most ``n_components`` components, and no more than samples - 1 or features.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features matrix.
    n_components : int
        Largest number of components.
    seed : int
        ``random_state`` of the PCA.

    Returns
    -------
    scores : pandas.DataFrame
        Samples x components (columns ``PC1``, ``PC2``, ...).
    explained_variance_ratio : numpy.ndarray
        Share of the variance of each component.
    """
    V = _complete(X)
    V = V - V.mean(0)
    k = int(min(n_components, V.shape[0] - 1, V.shape[1]))
    pca = PCA(n_components=k, random_state=seed).fit(V)
    S = pca.transform(V)
    return pd.DataFrame(S, index=X.index, columns=[f"PC{i + 1}" for i in range(k)]), pca.explained_variance_ratio_


def _r2_by_group(S: np.ndarray, evr: np.ndarray, groups: np.ndarray) -> float:
    """Variance of the top PCs explained by a grouping.

    Between-group SS / total SS, weighted by each PC's share of variance.
    """
    total = 0.0
    for j in range(S.shape[1]):
        s = S[:, j]
        ss_tot = ((s - s.mean()) ** 2).sum()
        ss_between = sum(((s[groups == g].mean() - s.mean()) ** 2) * (groups == g).sum() for g in np.unique(groups))
        total += evr[j] * (ss_between / ss_tot if ss_tot > 0 else 0.0)
    return float(total / evr.sum())


def _r2_linear(S: np.ndarray, evr: np.ndarray, values: np.ndarray) -> float:
    """Variance of the top PCs explained linearly by a continuous variable.

    Squared correlation with each PC, weighted by the PC's share of variance.
    """
    total = 0.0
    for j in range(S.shape[1]):
        r = np.corrcoef(S[:, j], values)[0, 1] if S[:, j].std() > 0 and values.std() > 0 else 0.0
        total += evr[j] * r**2
    return float(total / evr.sum())


def batch_diagnostics(
    X: pd.DataFrame, *, batch: pd.Series | None, outcome: pd.Series, n_components: int = 10, seed: int = 0
) -> dict:
    """Silhouette of batch and outcome labels on the top PCs, and their share of the PCs' variance.

    A continuous outcome gets no silhouette, and its linear share of the PCs' variance.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features matrix.
    batch : pandas.Series or None
        Batch of each sample (``None``: no batch diagnostics).
    outcome : pandas.Series
        Outcome of each sample; a float outcome counts as continuous.
    n_components, seed
        See :func:`pca_scores`.

    Returns
    -------
    dict
        ``n_samples``, ``n_features``, ``pc1_variance``, ``pc2_variance``, and ``silhouette_<name>`` and
        ``r2_<name>`` for batch and outcome (NaN where there are fewer than two groups).
    """
    scores, evr = pca_scores(X, n_components, seed)
    S = scores.to_numpy()
    out = {
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "pc1_variance": float(evr[0]),
        "pc2_variance": float(evr[1]) if len(evr) > 1 else np.nan,
    }
    for name, lab in (("batch", batch), ("outcome", outcome)):
        if lab is None:
            out[f"silhouette_{name}"] = np.nan
            out[f"r2_{name}"] = np.nan
            continue
        if name == "outcome" and pd.api.types.is_float_dtype(lab):  # a continuous outcome: no groups
            v = lab.reindex(X.index).to_numpy(float)
            ok = np.isfinite(v)
            out[f"silhouette_{name}"] = np.nan
            out[f"r2_{name}"] = _r2_linear(S[ok], evr, v[ok]) if ok.sum() > 2 else np.nan
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


# --------------------------------------------------------------------------------------------
# batch / outcome association (the confounding guard of batch correction)
# --------------------------------------------------------------------------------------------


# cramers_v, correlation_ratio and batch_outcome_association live in moflow.stats (the batch step
# uses them too); they stay importable from here.


# --------------------------------------------------------------------------------------------
# missingness
# --------------------------------------------------------------------------------------------


def missingness_table(
    X: pd.DataFrame,
    *,
    batch: pd.Series | None = None,
    outcome: pd.Series | None = None,
    sample_type: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per sample: its missing fraction, with batch, outcome and sample type when given.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features matrix.
    batch, outcome, sample_type : pandas.Series or None
        Labels of the samples, indexed by sample ID; each given one becomes a column (missing: ``""``).

    Returns
    -------
    pandas.DataFrame
        Columns ``sample``, ``missing_fraction`` and ``sample_type``, ``batch``, ``outcome`` when given.
    """
    out = pd.DataFrame({"sample": X.index, "missing_fraction": X.isna().mean(axis=1).to_numpy()})
    for name, s in (("sample_type", sample_type), ("batch", batch), ("outcome", outcome)):
        if s is not None:
            out[name] = s.reindex(X.index).fillna("").astype(str).to_numpy()
    return out


def missingness_summary(X: pd.DataFrame) -> dict:
    """Layer-level missingness: overall fraction, features with any / half missing, and the censoring model.

    The censoring model is that of :func:`moflow.preprocess.missingness_model` (detection threshold and
    its spread; a spread at its bound means missing at random).
    """
    from moflow.preprocess.impute_benchmark import missingness_model

    miss = X.isna()
    model = missingness_model(X)
    return {
        "missing_fraction": float(miss.to_numpy().mean()),
        "features_with_missing": int(miss.any(axis=0).sum()),
        "features_half_missing": int((miss.mean(axis=0) >= 0.5).sum()),
        "censoring_threshold": model["threshold"],
        "censoring_spread": model["spread"],
        "missing_at_random": bool(model["at_random"]),
    }


# --------------------------------------------------------------------------------------------
# per-step diagnostics
# --------------------------------------------------------------------------------------------


def stage_diagnostics(
    M: pd.DataFrame, stage: str, *, batch: pd.Series | None, outcome: pd.Series, n_components: int = 10, seed: int = 0
) -> tuple[dict, pd.DataFrame]:
    """One stage of a layer: :func:`batch_diagnostics` (with ``stage``) and the PC1/PC2 coordinates.

    Parameters
    ----------
    M : pandas.DataFrame
        Samples x features matrix at this stage.
    stage : str
        Name of the stage, written into both outputs.
    batch, outcome, n_components, seed
        See :func:`batch_diagnostics`.

    Returns
    -------
    diagnostics : dict
        :func:`batch_diagnostics` plus ``stage``.
    coordinates : pandas.DataFrame
        Columns sample, PC1, PC2, stage, batch, outcome.
    """
    d = batch_diagnostics(M, batch=batch, outcome=outcome, n_components=n_components, seed=seed)
    d["stage"] = stage
    S, _ = pca_scores(M, 2, seed)
    c = S.assign(
        stage=stage,
        batch=(batch.reindex(S.index).to_numpy() if batch is not None else ""),
        outcome=outcome.reindex(S.index).to_numpy(),
    )
    c.insert(0, "sample", S.index)
    return d, c


def step_diagnostics(
    trace: dict[str, pd.DataFrame],
    *,
    batch: pd.Series | None,
    outcome: pd.Series,
    n_components: int = 10,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Batch diagnostics and PC1/PC2 coordinates after every preprocessing step.

    Parameters
    ----------
    trace : dict of str to pandas.DataFrame
        ``{step: matrix after the step}`` (:meth:`moflow.preprocess.LayerPreprocessor.fit_trace`);
        only the cohort samples (those with an outcome) are used.
    batch, outcome : pandas.Series
        Labels of the samples (``batch`` may be ``None``).
    n_components, seed
        See :func:`pca_scores`.

    Returns
    -------
    table : pandas.DataFrame
        One row per step (stage ``after_<step>``: :func:`batch_diagnostics` plus the missing
        fraction); steps with fewer than 3 samples or 2 features are left out.
    coordinates : pandas.DataFrame
        The PC coordinates of every step (columns sample, PC1, PC2, stage, batch, outcome).
    """
    rows, coords = [], []
    for name, M in trace.items():
        M = M.loc[M.index.intersection(outcome.index)]
        if M.shape[0] < 3 or M.shape[1] < 2:
            continue
        d, c = stage_diagnostics(M, f"after_{name}", batch=batch, outcome=outcome, n_components=n_components, seed=seed)
        d["missing_fraction"] = float(M.isna().to_numpy().mean())
        rows.append(d)
        coords.append(c)
    table = pd.DataFrame(rows)
    if len(table):
        table = table[["stage"] + [c for c in table.columns if c != "stage"]]
    return table, (pd.concat(coords, ignore_index=True) if coords else pd.DataFrame())
