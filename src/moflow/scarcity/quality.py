"""How close a synthetic cohort is to the real one, and how far from the samples it was made from.

Every comparison is on one scale: each feature's normal scores under the generator's training samples
(:func:`normal_scores`: a value's place among the training values; a missing cell below every one), so that
counts, intensities and binary mutations weigh alike. Beside each number stands the same measured on real
samples the generator never saw (the held-out real samples against the training ones): the distance that
sampling alone gives.

* fidelity: per feature, the Kolmogorov-Smirnov statistic and the Wasserstein distance between synthetic and
  training samples (:func:`marginal_distances`); the mean absolute difference of the correlations within
  each layer and across each pair of layers (:func:`correlation_distance`); the cross-validated AUC of a
  classifier told to tell real from synthetic samples (:func:`detection_auc`, the larger of a logistic
  regression and a random forest);
* privacy: the distance of each synthetic sample to its closest training sample against that of each
  held-out real sample (:func:`closest_record`), and the AUC of a membership-inference attack that calls a
  real sample a member of the generator's training set when a synthetic sample lies close to it
  (:func:`membership_auc`). These two use scales of their own (see each), not the training samples'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sklearn.metrics import roc_auc_score


def normal_scores(train: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    """``X``'s values as normal scores of their place among ``train``'s values, feature by feature.

    A training value's score is that of its rank / (n + 1); a value beyond every training value lies half a
    rank beyond the last; a missing cell is placed below every observed value.
    """
    T = train.to_numpy(float)
    V = X.reindex(columns=train.columns).to_numpy(float)
    out = np.empty(V.shape)
    for j in range(T.shape[1]):
        t = T[:, j]
        miss = np.isnan(t)
        o = np.sort(t[~miss])
        n = len(t)
        v = V[:, j]
        below = np.searchsorted(o, v, "left") + np.searchsorted(o, v, "right")
        u = (miss.sum() + below / 2.0 + 0.5) / (n + 1)  # a training value: its rank / (n + 1)
        u = np.where(np.isnan(v), (miss.sum() / 2.0 + 0.5) / (n + 1), u)
        out[:, j] = ndtri(u)
    return out


def marginal_distances(train: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Per feature, the KS statistic and the Wasserstein distance (normal-score units) of ``other`` to ``train``.

    The same numbers as scipy's ``ks_2samp(...).statistic`` and ``wasserstein_distance`` feature by feature
    (:func:`two_sample_distances`), all features at once.
    """
    ks, w = two_sample_distances(normal_scores(train, train), normal_scores(train, other))
    return pd.DataFrame({"ks": ks, "wasserstein": w}, index=train.columns)


def two_sample_distances(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column by column, the two-sample Kolmogorov-Smirnov statistic and Wasserstein-1 distance of A and B.

    Both empirical distribution functions are evaluated at every pooled value (one sort of the pooled
    column): KS is their largest difference at the ends of runs of tied values, Wasserstein the integral of
    their absolute difference. No missing values.
    """
    A, B = np.asarray(A, float), np.asarray(B, float)
    n, m = len(A), len(B)
    pooled = np.vstack([A, B])
    order = np.argsort(pooled, axis=0, kind="stable")
    values = np.take_along_axis(pooled, order, axis=0)
    from_a = order < n
    diff = np.cumsum(from_a, axis=0) / n - np.cumsum(~from_a, axis=0) / m
    ends = np.ones(values.shape, bool)  # the last of each run of equal values: the functions' true values
    ends[:-1] = values[1:] != values[:-1]
    ks = np.where(ends, np.abs(diff), 0.0).max(axis=0)
    w = (np.abs(diff[:-1]) * np.diff(values, axis=0)).sum(axis=0)
    return ks, w


def _top_variable(train: pd.DataFrame, n: int) -> list:
    var = train.var(axis=0, skipna=True).fillna(-1.0)
    return list(var.sort_values(ascending=False, kind="stable").index[:n])


def correlation_distance(
    train: dict[str, pd.DataFrame], other: dict[str, pd.DataFrame], *, n_features: int = 100
) -> pd.DataFrame:
    """The mean absolute difference of feature correlations, within each layer and across each pair of layers.

    The ``n_features`` most variable features of each layer (on the training samples); correlations of their
    normal scores over the samples that have both layers. Columns: ``layers`` (``a`` or ``a~b``), ``value``.
    """
    keep = {n: _top_variable(X, n_features) for n, X in train.items()}
    S = {n: normal_scores(train[n][keep[n]], train[n][keep[n]]) for n in train}
    R = {n: normal_scores(train[n][keep[n]], other[n].reindex(columns=keep[n])) for n in train}
    idx_t = {n: list(train[n].index) for n in train}
    idx_o = {n: list(other[n].index) for n in train}
    names = list(train)
    rows = []
    for i, a in enumerate(names):
        for b in names[i:]:
            diffs = []
            for M, idx in ((S, idx_t), (R, idx_o)):
                both = [s for s in idx[a] if s in set(idx[b])]
                A = M[a][[idx[a].index(s) for s in both]]
                B = M[b][[idx[b].index(s) for s in both]]
                if len(both) < 3:
                    diffs.append(None)
                    continue
                C = np.corrcoef(np.hstack([A, B]).T)[: A.shape[1], A.shape[1] :]
                diffs.append(np.nan_to_num(C))
            if diffs[0] is None or diffs[1] is None:
                continue
            D = np.abs(diffs[0] - diffs[1])
            value = D[np.triu_indices_from(D, k=1)].mean() if a == b else D.mean()
            rows.append({"layers": a if a == b else f"{a}~{b}", "value": float(value)})
    return pd.DataFrame(rows, columns=["layers", "value"])


def _stacked(train: dict[str, pd.DataFrame], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The samples every layer has, each layer's normal scores side by side."""
    common = None
    for X in frames.values():
        common = list(X.index) if common is None else [s for s in common if s in set(X.index)]
    parts = [pd.DataFrame(normal_scores(train[n], frames[n].loc[common]), index=common) for n in train]
    return pd.concat(parts, axis=1, ignore_index=True)


def detection_auc(
    train: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], *, seed: int = 0, folds: int = 5
) -> float:
    """The cross-validated AUC of telling training samples from synthetic ones (0.5: indistinguishable).

    The larger of two classifiers' out-of-fold AUC: a logistic regression on the leading principal components
    and a random forest, on the samples with every layer (as many synthetic samples as real ones, drawn).
    """
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    R = _stacked(train, train).to_numpy()
    S = _stacked(train, synthetic).to_numpy()
    rng = np.random.default_rng(seed)
    if len(S) > len(R):
        S = S[np.sort(rng.choice(len(S), len(R), replace=False))]
    X = np.vstack([R, S])
    y = np.r_[np.zeros(len(R)), np.ones(len(S))]
    k = max(2, min(folds, len(R), len(S)))
    cv = StratifiedKFold(k, shuffle=True, random_state=seed)
    n_pc = max(1, min(20, X.shape[1], int(len(X) * (k - 1) / k) - 1))
    models = [
        make_pipeline(StandardScaler(), PCA(n_pc, random_state=seed), LogisticRegression(C=1.0, max_iter=2000)),
        RandomForestClassifier(n_estimators=200, min_samples_leaf=2, random_state=seed, n_jobs=1),
    ]
    aucs = [roc_auc_score(y, cross_val_predict(m, X, y, cv=cv, method="predict_proba")[:, 1]) for m in models]
    return float(max(aucs))


def _nearest(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=1).fit(reference).kneighbors(query)[0][:, 0]


def closest_record(
    train: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame]
) -> dict:
    """Distances to the closest training sample: of the synthetic samples against the held-out real ones.

    On the normal scores under every sample compared (training, held-out and synthetic together), so that no
    side is nearer the middle for being the scale's own.

    Returns
    -------
    dict
        synthetic_median, holdout_median (the distances' medians), share_closer (the share of synthetic samples
        closer to a training sample than the 5th percentile of the held-out samples' distances; 0.05 where the
        synthetic samples are as far as new real ones), n_synthetic, n_holdout.
    """
    ref = {n: pd.concat([train[n], holdout[n], synthetic[n]]) for n in train}  # no side is the scale's own
    T = _stacked(ref, train).to_numpy()
    d_syn = _nearest(T, _stacked(ref, synthetic).to_numpy())
    d_hold = _nearest(T, _stacked(ref, holdout).to_numpy())
    cut = np.quantile(d_hold, 0.05)
    return {
        "synthetic_median": float(np.median(d_syn)),
        "holdout_median": float(np.median(d_hold)),
        "share_closer": float(np.mean(d_syn < cut)),
        "n_synthetic": len(d_syn),
        "n_holdout": len(d_hold),
    }


def membership_auc(
    train: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame]
) -> dict:
    """A membership-inference attack: a real sample that trained the generator lies nearer a synthetic one.

    The attack scores each real sample by minus its distance to the closest synthetic sample; its AUC tells
    training samples (members) from held-out ones (0.5: no better than a guess). Distances are on the
    attacker's scale, the normal scores under the synthetic samples (all the attacker has): on the training
    samples' own scale the members would sit nearer the middle than any other sample, and so nearer
    everything, a difference that no generator causes.

    Returns
    -------
    dict
        auc, lo, hi (Hanley-McNeil 95% interval), n_members, n_nonmembers.
    """
    S = _stacked(synthetic, synthetic).to_numpy()  # the attacker's scale: the synthetic samples' own
    members = _nearest(S, _stacked(synthetic, train).to_numpy())
    others = _nearest(S, _stacked(synthetic, holdout).to_numpy())
    y = np.r_[np.ones(len(members)), np.zeros(len(others))]
    auc = float(roc_auc_score(y, -np.r_[members, others]))
    n1, n0 = len(members), len(others)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0))
    return {"auc": auc, "lo": float(auc - 1.96 * se), "hi": float(auc + 1.96 * se), "n_members": n1, "n_nonmembers": n0}
