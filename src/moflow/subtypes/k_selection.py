"""How many subtypes: prediction strength against a reference without structure.

For each k, the samples are split in halves many times; the clustering fitted on one half assigns the
other half, which is also clustered on its own; the prediction strength (Tibshirani and Walther, 2005)
is, over the held-out half's own clusters, the smallest share of its pairs of co-members that the
fitted clustering also puts together. A k whose clusters come back in samples they were not fitted on
scores near 1. Splitting a featureless cloud in two is often stable too, so the same is measured on a
reference of no structure with the data's correlation (a Gaussian with the representation's mean and
covariance, drawn afresh for every resample), and a k is chosen only where the data beat it:
:func:`choose_k` takes, among the k whose strength reaches ``min_strength`` and whose gain over the
reference has a lower bound above ``min_gain``, the one that beats it by the most; none: k = 1, "no
reproducible subtypes".

Clusterings (:data:`CLUSTERINGS`, scikit-learn): k-means (10 starts), a Gaussian mixture (one start from
k-means; a full covariance per group where each group would hold as many samples as its covariance has
parameters, a diagonal one otherwise), Ward's hierarchical clustering, and spectral clustering on a
nearest-neighbour graph; held-out samples are assigned by the
k-means or mixture model itself, by the nearest cluster mean otherwise.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger("moflow")
CLUSTERINGS = ("kmeans", "gmm", "ward", "spectral")
KSEL_COLUMNS = [
    "representation",
    "clustering",
    "k",
    "strength",
    "strength_lo",
    "strength_hi",
    "reference",
    "reference_lo",
    "reference_hi",
    "gain",
    "gain_lo",
    "chosen",
]


def fit_clusters(Z: np.ndarray, k: int, method: str, seed: int):
    """Cluster the rows of ``Z`` into ``k`` groups; returns (labels, a function assigning new rows)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
    from sklearn.mixture import GaussianMixture

    Z = np.asarray(Z, float)
    if method == "kmeans":
        model = KMeans(k, n_init=10, random_state=seed).fit(Z)
        return model.labels_, model.predict
    if method == "gmm":
        n, d = Z.shape
        # a full covariance per group where each group has as many samples as it has parameters; else diagonal
        kind = "full" if n / k >= d * (d + 1) / 2 else "diag"
        model = GaussianMixture(k, covariance_type=kind, n_init=1, reg_covar=1e-4, random_state=seed).fit(Z)
        return model.predict(Z), model.predict
    if method == "ward":
        labels = AgglomerativeClustering(k, linkage="ward").fit_predict(Z)
    elif method == "spectral":
        n_neighbors = max(2, min(10, len(Z) - 1))
        labels = SpectralClustering(
            k, affinity="nearest_neighbors", n_neighbors=n_neighbors, random_state=seed, assign_labels="cluster_qr"
        ).fit_predict(Z)
    else:
        raise ValueError(f"unknown clustering {method!r}; one of {', '.join(CLUSTERINGS)}")
    centres = np.vstack([Z[labels == c].mean(axis=0) for c in range(k)])

    def nearest(new):
        d = ((np.asarray(new, float)[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        return d.argmin(axis=1)

    return labels, nearest


def prediction_strength(own: np.ndarray, assigned: np.ndarray) -> float:
    """The smallest share, over the held-out half's own clusters (of 2 or more), of co-member pairs kept together."""
    own, assigned = np.asarray(own), np.asarray(assigned)
    shares = []
    for c in np.unique(own):
        members = assigned[own == c]
        m = len(members)
        if m < 2:
            continue
        _, counts = np.unique(members, return_counts=True)
        shares.append(float((counts * (counts - 1)).sum()) / (m * (m - 1)))
    return min(shares) if shares else 0.0


def _strengths(Z: np.ndarray, ks, method: str, resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = len(Z)
    out = np.full((resamples, len(ks)), np.nan)
    for r in range(resamples):
        order = rng.permutation(n)
        a, b = order[: n // 2], order[n // 2 :]
        seed = int(rng.integers(2**31 - 1))
        for j, k in enumerate(ks):
            if k >= min(len(a), len(b)):
                continue
            _, assign = fit_clusters(Z[a], k, method, seed)
            own, _ = fit_clusters(Z[b], k, method, seed)
            out[r, j] = prediction_strength(own, assign(Z[b]))
    return out


def k_evidence(
    Z,
    *,
    k_max: int = 8,
    clustering: str = "kmeans",
    resamples: int = 20,
    seed: int = 0,
    representation: str = "",
) -> pd.DataFrame:
    """Prediction strength of k = 2..``k_max`` on ``Z`` and on a Gaussian reference with its covariance.

    Parameters
    ----------
    Z : array-like or pandas.DataFrame
        Samples x dimensions of a representation (MOFA factors, per-layer components, a network's embedding).
    k_max : int
        The largest k tried (capped at a quarter of the samples: each half must hold k clusters of 2).
    clustering : str
        One of :data:`CLUSTERINGS`.
    resamples : int
        Random halvings per k (the same halvings for every k).
    seed : int
        Seed of the halvings, the reference draws and the clusterings.
    representation : str
        Written in the ``representation`` column.

    Returns
    -------
    pandas.DataFrame
        One row per k (:data:`KSEL_COLUMNS`; ``chosen`` is False: :func:`choose_k` sets it): the mean
        strength over resamples with its 2.5-97.5 percentiles, the reference's, and the mean gain (data minus
        reference, paired by resample) with the lower end of its 95% t interval.
    """
    Z = np.asarray(Z, float)
    n = len(Z)
    if n < 8:
        raise ValueError(
            f"subtypes: {n} samples are too few to test even k = 2 on held-out halves (8 at least: each half must "
            "hold 2 clusters of 2); add samples"
        )
    most = min(int(k_max), n // 4)
    if most < int(k_max):
        log.warning(
            "subtypes: k_max %d lowered to %d: each half of %d samples must hold k clusters of at least 2",
            int(k_max),
            most,
            n,
        )
    ks = list(range(2, most + 1))
    rng = np.random.default_rng(seed)
    data = _strengths(Z, ks, clustering, resamples, rng)
    mean, cov = Z.mean(axis=0), np.cov(Z, rowvar=False).reshape(Z.shape[1], Z.shape[1])
    ref = np.full_like(data, np.nan)
    for r in range(resamples):
        null = rng.multivariate_normal(mean, cov, size=n, method="eigh")
        ref[r] = _strengths(null, ks, clustering, 1, rng)[0]
    rows = pd.DataFrame(
        [
            (r, representation, clustering, k, data[r, j], ref[r, j])
            for r in range(resamples)
            for j, k in enumerate(ks)
            if not np.isnan(data[r, j])
        ],
        columns=["resample", "representation", "clustering", "k", "strength", "reference"],
    )
    return summarize_strengths(rows)[KSEL_COLUMNS]


def choose_k(evidence: pd.DataFrame, *, min_strength: float = 0.6, min_gain: float = 0.0) -> tuple[int, str]:
    """The number of subtypes the evidence supports (1: none), and why.

    Among the k whose gain over the reference has its 2.5th percentile above ``min_gain`` and whose mean
    prediction strength reaches ``min_strength``, the one with the largest mean gain (the smaller k on a
    tie). Tibshirani and Walther's rule (the largest k above 0.8) alone would take the stable halving of
    a featureless cloud for two subtypes; the reference is what tells them apart.

    Parameters
    ----------
    evidence : pandas.DataFrame
        :func:`k_evidence` (one representation and clustering).
    min_strength, min_gain : float
        The thresholds.

    Returns
    -------
    tuple
        (k, the reason in one sentence).
    """
    ok = evidence[(evidence["strength"] >= min_strength) & (evidence["gain_lo"] > min_gain)]
    if ok.empty:
        return 1, _none_found(evidence, min_strength, "no k")
    row = ok.sort_values(["gain", "k"], ascending=[False, True]).iloc[0]
    return int(row["k"]), (
        f"k = {int(row['k'])}: prediction strength {row['strength']:.2f} ({row['strength_lo']:.2f}-"
        f"{row['strength_hi']:.2f}) on held-out halves, against {row['reference']:.2f} without structure; the "
        "k that beats the reference by the most"
    )


def summarize_strengths(rows: pd.DataFrame) -> pd.DataFrame:
    """The evidence table from the resamples' strengths (:data:`STRENGTH_COLUMNS`, any number of resamples).

    Per representation, clustering and k: the mean strength over resamples with its 2.5-97.5 percentiles,
    the reference's, and the mean gain (data minus reference, paired by resample) with the lower end of
    its 95% t interval; ``chosen`` False, ``resamples`` the number of resamples.
    """
    from scipy.stats import t as t_dist

    out = []
    for (rep, clustering, k), d in rows.groupby(["representation", "clustering", "k"], sort=False):
        s, f = d["strength"].to_numpy(float), d["reference"].to_numpy(float)
        g = s - f
        ok = g[~np.isnan(g)]
        if not len(ok):
            continue
        half = float(t_dist.ppf(0.975, len(ok) - 1) * ok.std(ddof=1) / np.sqrt(len(ok))) if len(ok) > 1 else np.inf
        out.append(
            {
                "representation": rep,
                "clustering": clustering,
                "k": int(k),
                "strength": float(np.nanmean(s)),
                "strength_lo": float(np.nanpercentile(s, 2.5)),
                "strength_hi": float(np.nanpercentile(s, 97.5)),
                "reference": float(np.nanmean(f)),
                "reference_lo": float(np.nanpercentile(f, 2.5)),
                "reference_hi": float(np.nanpercentile(f, 97.5)),
                "gain": float(np.mean(ok)),
                "gain_lo": float(np.mean(ok)) - half,
                "chosen": False,
                "resamples": int(len(ok)),
            }
        )
    return pd.DataFrame(out, columns=[*KSEL_COLUMNS, "resamples"])


def choose_subtypes(evidence: pd.DataFrame, *, min_strength: float = 0.6) -> dict:
    """The representation, clustering and k the evidence supports (k = 1: none), and why.

    Every combination gets its k by :func:`choose_k`; of those with k > 1, the
    one whose k beats its reference by the most is kept (its row marked ``chosen``).

    The search looks at every representation, clustering and k, so the lower bound of each gain that
    :func:`choose_k` reads is Bonferroni-adjusted over all of them (:func:`family_bounds`): with 84 rows of
    95% bounds (2.5% below each), about two would clear 0 by chance alone, and the largest of those is what
    an unadjusted search would keep.

    Returns
    -------
    dict
        evidence (a copy, ``chosen`` set, ``gain_lo`` adjusted), k, representation, clustering ("" for k = 1),
        why.
    """
    evidence = family_bounds(evidence)
    evidence["chosen"] = False
    best = None
    for (rep, clustering), ev in evidence.groupby(["representation", "clustering"], sort=False):
        k, why = choose_k(ev, min_strength=min_strength)
        gain = float(ev.loc[ev["k"] == k, "gain"].iloc[0]) if k > 1 else -np.inf
        if k > 1 and (best is None or gain > best[0]):
            best = (gain, rep, clustering, k, why)
    if best is None:
        why = _none_found(evidence, min_strength, "no representation and clustering tried, at no k,")
        if len(evidence) > 1:
            why += f" (each gain's lower bound adjusted for the {len(evidence)} combinations of k searched)"
        return {"evidence": evidence, "k": 1, "representation": "", "clustering": "", "why": why}
    _, rep, clustering, k, why = best
    mask = (evidence["representation"] == rep) & (evidence["clustering"] == clustering) & (evidence["k"] == k)
    evidence.loc[mask, "chosen"] = True
    return {
        "evidence": evidence,
        "k": k,
        "representation": rep,
        "clustering": clustering,
        "why": f"{why} ({rep}, {clustering})",
    }


def family_bounds(evidence: pd.DataFrame) -> pd.DataFrame:
    """A copy of the evidence with each row's ``gain_lo`` at the Bonferroni level of every row tried.

    :func:`summarize_strengths` gives each gain its own 95% t bound over its resamples; here its half-width
    is widened from the t quantile 0.975 to 1 - 0.025 / m, m the number of rows (representation,
    clustering and k) the choice searches. A single row is left as it is.
    """
    from scipy.stats import t as t_dist

    out = evidence.copy()
    m = len(out)
    if m <= 1 or "resamples" not in out.columns:
        return out
    n = pd.to_numeric(out["resamples"], errors="coerce").to_numpy(float)
    half = (out["gain"] - out["gain_lo"]).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        widen = np.where(n > 1, t_dist.ppf(1 - 0.025 / m, n - 1) / t_dist.ppf(0.975, n - 1), np.inf)
    out["gain_lo"] = out["gain"].to_numpy(float) - half * widen
    return out


def _none_found(evidence: pd.DataFrame, min_strength: float, tried: str) -> str:
    """Why k = 1: what was ``tried`` reaches neither the strength nor the reference; the best attempt named."""
    top = evidence.sort_values("gain", ascending=False).head(1)
    detail = ""
    if len(top):
        r = top.iloc[0]
        where = f" ({r['representation']}, {r['clustering']})" if str(r.get("representation", "") or "") else ""
        detail = (
            f"; the best, k = {int(r['k'])}{where}, scored {r['strength']:.2f} against {r['reference']:.2f} "
            "without structure"
        )
    return (
        f"no reproducible subtypes: {tried} reaches a prediction strength of {min_strength:g} and beats a reference "
        f"without structure{detail}"
    )
