"""Per-layer preprocessing as scikit-learn style estimators (fit / transform on DataFrames).

Every step is fit on training samples only and applied unchanged to new samples, so the same
objects serve the full-cohort run and every cross-validation fold. Matrices are samples x
features DataFrames indexed by sample ID. Steps that need per-sample facts (batch, injection order,
QC status) read them from ``info``, a sample sheet that never carries the outcome; the outcome
reaches a step only as ``y`` in ``fit`` (training samples only).

Steps by stage (config method names in brackets):

* normalize: :class:`CountNormalizer` (``median_of_ratios``, ``tmm``, ``upper_quartile``, ``total``;
  then log2 or a DESeq2-style variance-stabilizing transform), :class:`QuantileNormalizer`
  (``quantile``), :class:`MedianCentering` (``median``), :class:`PQN` (``pqn``, ``tic``; then log2
  or glog), :class:`MValue` (``mvalue``), :class:`BinaryCheck` (``check``);
* qc_drift: :class:`QCRLSC` (``rlsc``; LOWESS or smoothing spline per batch);
* filter: :class:`FeatureFilter` (observed fraction overall or in any outcome group, variance,
  top-N, QC RSD and QC detection rate);
* batch: :class:`ComBat` (``combat``; parametric / non-parametric / mean-only, reference batch,
  NaN-aware), :class:`LinearBatch` (``linear``; limma's removeBatchEffect), both behind a
  batch/outcome confounding guard;
* impute: :class:`HalfMinImpute`, :class:`MinProbImpute`, :class:`QRILCImpute` (MNAR),
  :class:`KNNImpute`, :class:`IterativeImpute` (MAR), :class:`MixedImpute`, :class:`AutoImpute`,
  :class:`MeanImpute` (baseline);
* scale: :class:`Scaler` (``standard`` / ``unit_variance``, ``pareto``, ``center``).
"""

from __future__ import annotations

import copy
import warnings
import zlib

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator, TransformerMixin, clone

from .errors import InputError

# --------------------------------------------------------------------------------------------
# defaults per kind of layer
# --------------------------------------------------------------------------------------------

DEFAULTS: dict[str, dict] = {
    "rnaseq_counts": {
        "normalize": {"method": "median_of_ratios", "pseudocount": 1.0},
        "filter": {"min_observed": 0.5, "min_value": 1.0, "top_variable": 2000},
        "batch": {"method": "combat"},
        "impute": {"method": "none"},
        "scale": {"method": "standard"},
    },
    "log_expression": {
        "normalize": {"method": "none"},
        "filter": {"min_observed": 0.5, "top_variable": 2000},
        "batch": {"method": "combat"},
        "impute": {"method": "knn", "k": 10},
        "scale": {"method": "standard"},
    },
    "proteomics_intensity": {
        "normalize": {"method": "median"},
        "filter": {"min_observed": 0.5},
        "batch": {"method": "combat"},
        "impute": {"method": "minprob", "q": 0.01, "tune_sigma": 1.0},
        "scale": {"method": "standard"},
    },
    "metabolomics_intensity": {
        "normalize": {"method": "pqn"},
        "qc_drift": {"method": "rlsc", "frac": 0.8},
        "filter": {"min_observed": 0.5, "qc_min_detection": 0.5, "qc_rsd_max": 30.0},
        "batch": {"method": "combat"},
        "impute": {"method": "halfmin"},
        "scale": {"method": "standard"},
    },
    "methylation_beta": {
        "normalize": {"method": "mvalue", "offset": 1e-3},
        "filter": {"min_observed": 0.5, "top_variable": 5000},
        "batch": {"method": "combat"},
        "impute": {"method": "knn", "k": 10},
        "scale": {"method": "standard"},
    },
    "binary": {
        "normalize": {"method": "check"},
        "filter": {"min_observed": 0.5, "min_variance": 1e-8},
        "batch": {"method": "none"},
        "impute": {"method": "none"},
        "scale": {"method": "none"},
    },
    "continuous": {
        "normalize": {"method": "none"},
        "filter": {"min_observed": 0.5},
        "batch": {"method": "combat"},
        "impute": {"method": "knn", "k": 10},
        "scale": {"method": "standard"},
    },
}

STEP_ORDER = ("normalize", "qc_drift", "filter", "batch", "impute", "scale")


def layer_settings(kind: str, overrides: dict | None = None) -> dict:
    """Defaults for a layer kind, updated step by step with user overrides from config.

    Parameters
    ----------
    kind
        Layer kind (omics sheet column ``kind``).
    overrides
        ``{step: {option: value}}`` from config ``preprocess: {<layer>: ...}``; ``order`` replaces
        the step order.

    Returns
    -------
    dict
        ``{step: options}`` (a deep copy; the defaults are never changed).
    """
    if kind not in DEFAULTS:
        raise InputError(f"unknown layer kind '{kind}'")
    settings = copy.deepcopy(DEFAULTS[kind])
    for step, opts in (overrides or {}).items():
        if step == "order":
            settings["order"] = list(opts)
            continue
        if step not in STEP_ORDER:
            raise InputError(f"config 'preprocess': unknown step '{step}'; steps are {', '.join(STEP_ORDER)}")
        opts = dict(opts or {})
        current = settings.setdefault(step, {})
        if "method" in opts and opts["method"] != current.get("method"):
            # another method: the default method's own options do not carry over (pseudocount does)
            settings[step] = current = {k: v for k, v in current.items() if k in _SHARED_OPTIONS}
        current.update(opts)
    return settings


_SHARED_OPTIONS = ("pseudocount",)


def _stable_seed(seed: int, key: str) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2**32)


# --------------------------------------------------------------------------------------------
# base
# --------------------------------------------------------------------------------------------


class Step(TransformerMixin, BaseEstimator):
    """A DataFrame-in, DataFrame-out preprocessing step. ``uses_qc`` steps see QC injections."""

    uses_qc = False

    def fit(self, X: pd.DataFrame, y: pd.Series | None = None):
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X


class Identity(Step):
    pass


# --------------------------------------------------------------------------------------------
# normalization
# --------------------------------------------------------------------------------------------


def _tmm_factor(obs: np.ndarray, ref: np.ndarray, logratio_trim=0.3, sum_trim=0.05) -> float:
    """edgeR's trimmed mean of M-values of one sample against a reference (counts)."""
    n_o, n_r = obs.sum(), ref.sum()
    keep = (obs > 0) & (ref > 0)
    o, r = obs[keep], ref[keep]
    M = np.log2((o / n_o) / (r / n_r))
    A = 0.5 * np.log2((o / n_o) * (r / n_r))
    w = (n_o - o) / (n_o * o) + (n_r - r) / (n_r * r)
    n = len(M)
    if n == 0:
        return 1.0
    lo_m, hi_m = np.floor(n * logratio_trim) + 1, n - np.floor(n * logratio_trim)
    lo_a, hi_a = np.floor(n * sum_trim) + 1, n - np.floor(n * sum_trim)
    rm = pd.Series(M).rank(method="average").to_numpy()
    ra = pd.Series(A).rank(method="average").to_numpy()
    sel = (rm >= lo_m) & (rm <= hi_m) & (ra >= lo_a) & (ra <= hi_a)
    if not sel.any():
        return 1.0
    return float(2 ** (np.sum(M[sel] / w[sel]) / np.sum(1 / w[sel])))


def fit_dispersion_trend(Q: np.ndarray, *, max_iter: int = 25) -> tuple[float, float]:
    """DESeq2's parametric dispersion trend ``alpha(mu) = a0 + a1 / mu`` of normalized counts.

    Gene-wise dispersions are moment estimates ``(var - mu) / mu**2``; the trend is a Gamma GLM with
    identity link (iteratively reweighted least squares), refit after dropping genes whose
    dispersion lies outside ``[1e-4, 15]`` times the fitted trend, as in
    ``DESeq2:::parametricDispersionFit``.

    Parameters
    ----------
    Q
        Normalized counts, samples x genes (training samples).

    Returns
    -------
    (a0, a1)
        Asymptotic dispersion and extra-Poisson coefficient.
    """
    mu = Q.mean(0)
    var = Q.var(0, ddof=1)
    ok = (mu > 0.5) & np.isfinite(var)
    disp = np.where(ok, (var - mu) / np.where(mu > 0, mu, 1.0) ** 2, np.nan)
    ok &= disp > 1e-8
    if ok.sum() < 10:
        raise InputError("normalize vst: fewer than 10 genes with a positive dispersion; use transformation 'log2'.")
    m, d = mu[ok], disp[ok]
    coef = np.array([0.1, 1.0])
    keep = np.ones(len(d), dtype=bool)
    for _ in range(max_iter):
        A = np.column_stack([np.ones(keep.sum()), 1.0 / m[keep]])
        c = coef.copy()
        for _ in range(50):  # IRLS of the Gamma GLM with identity link: weights 1 / fitted^2
            fitted = np.maximum(A @ c, 1e-10)
            w = 1.0 / fitted**2
            c_new = np.linalg.lstsq(A * np.sqrt(w)[:, None], d[keep] * np.sqrt(w), rcond=None)[0]
            if np.all(np.abs(c_new - c) <= 1e-8 * (np.abs(c) + 1e-8)):
                c = c_new
                break
            c = c_new
        ratio = d / np.maximum(c[0] + c[1] / m, 1e-10)
        new_keep = (ratio > 1e-4) & (ratio < 15)
        converged = np.sum(np.abs(np.log(np.maximum(c, 1e-12) / np.maximum(coef, 1e-12)))) < 1e-6
        coef = c
        if converged and np.array_equal(new_keep, keep):
            break
        keep = new_keep
    a0, a1 = float(coef[0]), float(max(coef[1], 0.0))
    if a0 <= 1e-8:
        raise InputError("normalize vst: the fitted asymptotic dispersion is not positive (the counts look Poisson); "
                         "use transformation 'log2' for this layer.")
    return a0, a1


def vst(q: np.ndarray, a0: float, a1: float) -> np.ndarray:
    """DESeq2's closed-form variance-stabilizing transform for the trend ``a0 + a1 / mu`` (log2 scale)."""
    q = np.maximum(q, 0.0)
    return np.log2((1 + a1 + 2 * a0 * q + 2 * np.sqrt(a0 * q * (1 + a1 + a0 * q))) / (4 * a0))


class CountNormalizer(Step):
    """Library-size normalization of RNA-seq counts, then log2 with a pseudocount or a VST.

    Parameters
    ----------
    method
        ``median_of_ratios`` (DESeq2), ``tmm`` (edgeR), ``upper_quartile`` or ``total``.
    pseudocount
        Added before log2 (``transformation='log2'``).
    transformation
        ``log2`` (log2 of normalized counts + pseudocount) or ``vst`` (DESeq2's parametric
        variance-stabilizing transform; dispersion trend fit on the training samples).

    Notes
    -----
    Reference quantities (geometric means, TMM reference sample, dispersion trend) come from
    training samples only, so a held-out sample is normalized the same whatever comes with it.
    """

    def __init__(self, method: str = "median_of_ratios", pseudocount: float = 1.0, transformation: str = "log2"):
        self.method = method
        self.pseudocount = pseudocount
        self.transformation = transformation

    def _raw_factors(self, C: np.ndarray) -> np.ndarray:
        if self.method == "median_of_ratios":
            # DESeq2: the median over the reference genes with a count above 0 in this sample
            sub = C[:, self.mor_genes_]
            with np.errstate(divide="ignore"):
                ratios = np.where(sub > 0, np.log(np.where(sub > 0, sub, 1.0)) - self.log_geomean_, np.nan)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.exp(np.nanmedian(ratios, axis=1))
        if self.method == "tmm":
            lib = C.sum(1)
            f = np.array([_tmm_factor(C[i], self.tmm_ref_) for i in range(C.shape[0])])
            return lib * f
        if self.method == "upper_quartile":
            return np.array([np.quantile(row[row > 0], 0.75) if (row > 0).any() else np.nan for row in C])
        if self.method == "total":
            return C.sum(1)
        raise InputError(f"normalize: unknown count method '{self.method}' (median_of_ratios, tmm, upper_quartile, total)")

    def fit(self, X, y=None):
        if self.transformation not in ("log2", "vst"):
            raise InputError(f"normalize: unknown transformation '{self.transformation}' for counts (log2, vst)")
        C = X.to_numpy(float)
        if self.method == "median_of_ratios":
            positive = (C > 0).all(axis=0)
            if positive.sum() < 10:
                raise InputError(
                    "normalize median_of_ratios: fewer than 10 genes are non-zero in every training sample; "
                    "use normalize method 'tmm' or 'upper_quartile' for this layer."
                )
            self.mor_genes_ = np.flatnonzero(positive)
            self.log_geomean_ = np.log(C[:, positive]).mean(0)
        elif self.method == "tmm":
            cpm = C / C.sum(1, keepdims=True)
            uq = np.array([np.quantile(r, 0.75) for r in cpm])
            self.tmm_ref_ = C[int(np.argmin(np.abs(uq - uq.mean())))].copy()
        raw = self._raw_factors(C)
        self.scale_ = float(np.exp(np.mean(np.log(raw))))
        if self.transformation == "vst":
            self.a0_, self.a1_ = fit_dispersion_trend(C / self.size_factors(X).to_numpy()[:, None])
        return self

    def size_factors(self, X) -> pd.Series:
        """Size factors of the samples of X against the fitted reference."""
        sf = self._raw_factors(X.to_numpy(float)) / self.scale_
        if not np.all(np.isfinite(sf)) or np.any(sf <= 0):
            bad = X.index[~(np.isfinite(sf) & (sf > 0))][0]
            raise InputError(f"normalize {self.method}: sample '{bad}' has no usable counts for a size factor.")
        return pd.Series(sf, index=X.index)

    def transform(self, X):
        sf = self.size_factors(X).to_numpy()
        Q = X.to_numpy(float) / sf[:, None]
        if self.transformation == "vst":
            return pd.DataFrame(vst(Q, self.a0_, self.a1_), index=X.index, columns=X.columns)
        return pd.DataFrame(np.log2(Q + self.pseudocount), index=X.index, columns=X.columns)


class MedianCentering(Step):
    """Log2 (unless the layer is already on a log scale), then per-sample median centring.

    Each sample's median over features observed in every training sample is moved to the training
    grand median, so held-out samples are centred the same way.
    """

    def __init__(self, log: bool = True):
        self.log = log

    def _log(self, X):
        return np.log2(X) if self.log else X

    def fit(self, X, y=None):
        L = self._log(X)
        full = L.columns[L.notna().all(axis=0)]
        self.ref_features_ = list(full) if len(full) >= 20 else list(L.columns)
        self.grand_median_ = float(np.nanmedian(L[self.ref_features_].to_numpy()))
        return self

    def transform(self, X):
        L = self._log(X)
        med = L[self.ref_features_].median(axis=1, skipna=True)
        return L.sub(med, axis=0) + self.grand_median_


class QuantileNormalizer(Step):
    """Quantile normalization with a reference learnt on the training samples.

    The reference distribution is the mean, over training samples, of each sample's sorted observed
    values (interpolated onto a common grid of probabilities, so samples with missing values
    contribute too). A sample (training or new) is normalized by mapping the rank of each observed
    value to the reference quantile at the same probability; ties share their average rank and
    missing values stay missing. On complete data without ties every training sample ends up with
    exactly the reference distribution (the classic algorithm of Bolstad et al. 2003).

    Parameters
    ----------
    log
        Take log2 first (raw intensities); ``False`` for layers already on a log scale.
    n_quantiles
        Size of the reference grid; default the number of features.
    """

    def __init__(self, log: bool = False, n_quantiles: int | None = None):
        self.log = log
        self.n_quantiles = n_quantiles

    def _log(self, X):
        return np.log2(X) if self.log else X

    def fit(self, X, y=None):
        L = self._log(X).to_numpy(float)
        G = int(self.n_quantiles or L.shape[1])
        probs = (np.arange(G) + 0.5) / G
        acc, n = np.zeros(G), 0
        for row in L:
            v = np.sort(row[np.isfinite(row)])
            if len(v) < 2:
                continue
            acc += np.interp(probs, (np.arange(len(v)) + 0.5) / len(v), v)
            n += 1
        if n == 0:
            raise InputError("normalize quantile: no training sample has two or more observed values.")
        self.probs_ = probs
        self.reference_ = acc / n
        return self

    def transform(self, X):
        L = self._log(X)
        R = L.rank(axis=1, method="average").to_numpy(float)
        n_obs = np.isfinite(L.to_numpy(float)).sum(1)
        P = (R - 0.5) / np.maximum(n_obs, 1)[:, None]
        out = np.where(np.isfinite(P), np.interp(np.nan_to_num(P), self.probs_, self.reference_), np.nan)
        return pd.DataFrame(out, index=X.index, columns=X.columns)


def glog2(x: np.ndarray, lam: float) -> np.ndarray:
    """Generalized log2, ``log2((x + sqrt(x^2 + lam)) / 2)``: log2(x) for x >> sqrt(lam), linear near 0."""
    return np.log2((x + np.sqrt(x * x + lam)) / 2.0)


def glog_lambda(lin: np.ndarray) -> float:
    """Variance-stabilizing glog parameter from replicate injections (Durbin-Rocke two-component model).

    Under ``var = A + B * mean^2`` (additive plus multiplicative noise) the glog with ``lambda = A / B``
    stabilizes the variance. ``B`` is the median squared CV of the upper half of the features by
    mean (where multiplicative noise dominates) and ``A`` the median of ``var - B * mean^2`` over the
    lowest quarter (where the additive floor shows), clipped at zero.

    Parameters
    ----------
    lin
        Linear-scale intensities of replicate injections (pooled QCs), injections x features.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(lin, 0)
        v = np.nanvar(lin, 0, ddof=1)
    ok = np.isfinite(m) & np.isfinite(v) & (np.isfinite(lin).sum(0) >= 3) & (m > 0)
    if ok.sum() < 8:
        raise InputError("normalize glog: fewer than 8 features with 3 or more observed replicate injections to "
                         "estimate lambda; set 'glog_lambda' explicitly.")
    m, v = m[ok], v[ok]
    hi = m >= np.median(m)
    B = float(np.median(v[hi] / m[hi] ** 2))
    lo = m <= np.quantile(m, 0.25)
    A = float(max(np.median(v[lo] - B * m[lo] ** 2), 0.0))
    return A / B if B > 0 else 0.0


class PQN(Step):
    """Probabilistic quotient normalization (or TIC), then log2 or a generalized log.

    The reference spectrum is the median of the pooled QC injections when present, else the median of
    the training samples.

    Parameters
    ----------
    info
        Sample sheet (``sample_type`` tells QC injections apart).
    method
        ``pqn``, ``tic`` or ``none`` (log only).
    log_input
        Values are already log2-transformed.
    transformation
        ``log2`` or ``glog`` (generalized log2 of the normalized linear intensities).
    glog_lambda
        glog parameter; ``None`` estimates it from the QC injections (training samples when there
        are fewer than 3 QCs) with :func:`glog_lambda`.
    """

    uses_qc = True

    def __init__(self, info: pd.DataFrame | None = None, method: str = "pqn", log_input: bool = False,
                 transformation: str = "log2", glog_lambda: float | None = None):
        self.info = info
        self.method = method
        self.log_input = log_input
        self.transformation = transformation
        self.glog_lambda = glog_lambda

    def fit(self, X, y=None):
        if self.method not in ("pqn", "tic", "none"):
            raise InputError(f"normalize: unknown metabolomics method '{self.method}' (pqn, tic, none)")
        if self.transformation not in ("log2", "glog"):
            raise InputError(f"normalize: unknown transformation '{self.transformation}' (log2, glog)")
        L = X if self.log_input else np.log2(X)
        is_qc = _qc_mask(X, self.info)
        base = L[is_qc] if is_qc.sum() >= 3 else L[~is_qc]
        # the median of logs is the log of the median (up to ties of an even count)
        self.log_reference_ = base.median(axis=0, skipna=True)
        self.log_tic_scale_ = float(np.median(self._log_tic(L[~is_qc])))
        self.lambda_ = None
        if self.transformation == "glog":
            if self.glog_lambda is not None:
                self.lambda_ = float(self.glog_lambda)
            else:
                N = L.sub(self.log_quotients(L), axis=0)
                self.lambda_ = glog_lambda(np.power(2.0, N[is_qc] if is_qc.sum() >= 3 else N).to_numpy(float))
        return self

    @staticmethod
    def _log_tic(L):
        return np.log2(np.power(2.0, L).sum(axis=1, skipna=True))

    def log_quotients(self, L: pd.DataFrame) -> pd.Series:
        """log2 dilution quotient of each sample (L on the log2 scale)."""
        if self.method == "pqn":
            return L.sub(self.log_reference_, axis=1).median(axis=1, skipna=True)
        if self.method == "tic":
            return self._log_tic(L) - self.log_tic_scale_
        return pd.Series(0.0, index=L.index)

    def transform(self, X):
        """Work on the log2 scale throughout: log quotient = median log difference to the reference."""
        L = X if self.log_input else np.log2(X)
        N = L.sub(self.log_quotients(L), axis=0)
        if self.transformation != "glog":
            return N
        return pd.DataFrame(glog2(np.power(2.0, N.to_numpy(float)), self.lambda_), index=X.index, columns=X.columns)


class Log2(Step):
    """log2(x + pseudocount)."""

    def __init__(self, pseudocount: float = 0.0):
        self.pseudocount = pseudocount

    def transform(self, X):
        return np.log2(X + self.pseudocount)


class MValue(Step):
    """Methylation beta values to M-values, with the 0 and 1 bounds moved in by ``offset``."""

    def __init__(self, offset: float = 1e-3):
        self.offset = offset

    def fit(self, X, y=None):
        if not 0 < self.offset < 0.5:
            raise InputError(f"normalize mvalue: offset {self.offset} must lie in (0, 0.5).")
        return self

    def transform(self, X):
        V = X.to_numpy(float)
        bad = np.isfinite(V) & ((V < 0) | (V > 1))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(f"normalize mvalue: beta value {float(V[r, c])!r} outside [0, 1] for sample '{X.index[r]}', "
                             f"feature '{X.columns[c]}'. Is this layer already on the M-value scale? Then declare "
                             "kind 'continuous'.")
        B = X.clip(self.offset, 1 - self.offset)
        return np.log2(B / (1 - B))


class BinaryCheck(Step):
    """Binary layers (mutations): check that every observed value is 0 or 1, pass values through."""

    def _check(self, X):
        V = X.to_numpy(float)
        bad = np.isfinite(V) & (V != 0) & (V != 1)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(f"binary layer: value {float(V[r, c])!r} for sample '{X.index[r]}', feature '{X.columns[c]}' "
                             f"({int(bad.sum())} such cell(s)); a binary layer holds 0, 1 or missing. Recode it, "
                             "or declare kind 'continuous'.")

    def fit(self, X, y=None):
        self._check(X)
        return self

    def transform(self, X):
        self._check(X)
        return X


def _qc_mask(X: pd.DataFrame, info: pd.DataFrame | None) -> np.ndarray:
    if info is None or "sample_type" not in info.columns:
        return np.zeros(len(X), dtype=bool)
    return (info["sample_type"].reindex(X.index) == "qc").to_numpy()


# --------------------------------------------------------------------------------------------
# QC-based drift correction
# --------------------------------------------------------------------------------------------


def _lowess_weights(x: np.ndarray, frac: float) -> np.ndarray:
    """Tricube neighbourhood weights of statsmodels' LOWESS for sorted ``x``: row i weighs the fit at x[i]."""
    n = len(x)
    k = min(max(int(frac * n + 1e-10), 2), n)
    W = np.zeros((n, n))
    left, right = 0, k
    for i in range(n):
        xv = x[i]
        while right < n and xv > (x[left] + x[right]) / 2.0:
            left += 1
            right += 1
        radius = max(xv - x[left], x[right - 1] - xv)
        d = np.abs(x[left:right] - xv) / radius if radius > 0 else np.zeros(right - left)
        W[i, left:right] = (1 - np.minimum(d, 1.0) ** 3) ** 3
    return W


def lowess_columns(x: np.ndarray, Y: np.ndarray, frac: float = 2 / 3, it: int = 3, chunk: int = 4_000_000) -> np.ndarray:
    """LOWESS of every column of ``Y`` over the same sorted ``x`` (no missing values), vectorised.

    The same algorithm as ``statsmodels.nonparametric.lowess`` (``delta=0``): k = frac * n nearest
    neighbours, tricube weights, local linear fit, ``it`` robustifying iterations with bisquare
    weights of the residuals scaled by six median absolute residuals.

    Parameters
    ----------
    x
        Sorted abscissa, length n.
    Y
        n x p ordinates.
    frac, it
        As in statsmodels.
    chunk
        Largest number of n x n x features elements held at once.

    Returns
    -------
    numpy.ndarray
        n x p fitted values at ``x``.
    """
    W0 = _lowess_weights(np.asarray(x, float), frac)
    n, p = Y.shape
    out = np.empty((n, p))
    step = max(1, chunk // max(n * n, 1))
    for s in range(0, p, step):
        Yc = Y[:, s:s + step]
        R = np.ones_like(Yc)
        for _ in range(it + 1):
            Wf = W0[:, :, None] * R[None, :, :]
            nz = (Wf > 1e-12).sum(1)
            tot = Wf.sum(1)
            Wn = Wf / np.where(tot > 0, tot, 1.0)[:, None, :]
            xbar = np.einsum("ijp,j->ip", Wn, x)
            dev = x[None, :, None] - xbar[:, None, :]
            sq = np.maximum(np.einsum("ijp,ijp->ip", Wn, dev * dev), 1e-12)
            P = Wn * (1.0 + (x[:, None, None] - xbar[:, None, :]) * dev / sq[:, None, :])
            fit = np.einsum("ijp,jp->ip", P, Yc)
            fit = np.where(nz >= 2, fit, Yc)
            resid = np.abs(Yc - fit)
            med = np.median(resid, 0)
            scaled = np.where(med > 0, resid / np.where(med > 0, 6.0 * med, 1.0), (resid > 0).astype(float))
            R = (1.0 - np.minimum(scaled, 1.0) ** 2) ** 2
        out[:, s:s + step] = fit
    return out


class QCRLSC(Step):
    """QC-RLSC: per batch and feature, a smooth fit of the QC injections over injection order.

    Every injection is corrected by subtracting the fitted QC trend at its injection order (log
    scale) and adding the feature's overall QC median, which also aligns batches. QC injections
    carry no outcome, so using all of them inside every training fold leaks nothing. The median QC
    RSD before and after correction is kept in ``qc_rsd_before_`` and ``qc_rsd_after_``.

    Parameters
    ----------
    info
        Sample sheet with ``sample_type``, ``injection_order`` and the batch column.
    batch_column
        Column of ``info`` with the run batch; empty: one batch.
    frac
        LOWESS span (fraction of a batch's QCs in each local fit).
    smoother
        ``lowess`` (statsmodels' algorithm, one robustifying iteration) or ``spline`` (a cubic
        smoothing spline, ``scipy.interpolate.make_smoothing_spline``). A batch with fewer than 5
        QCs cannot carry a spline and uses LOWESS (recorded in ``smoother_by_batch_``).
    spline_lam
        Spline penalty; ``None`` chooses one per batch by generalized cross-validation over the
        features with all QCs observed.
    min_qc
        Fewest QC injections per batch.
    """

    uses_qc = True

    def __init__(self, info: pd.DataFrame | None = None, batch_column: str = "", frac: float = 0.8,
                 smoother: str = "lowess", spline_lam: float | None = None, min_qc: int = 3):
        self.info = info
        self.batch_column = batch_column
        self.frac = frac
        self.smoother = smoother
        self.spline_lam = spline_lam
        self.min_qc = min_qc

    def _batches(self, index) -> pd.Series:
        if self.batch_column:
            return self.info.loc[index, self.batch_column].astype(str)
        return pd.Series("all", index=index)

    def _fit_batch(self, o: np.ndarray, V: np.ndarray, b: str) -> tuple[np.ndarray, np.ndarray, str]:
        """Fitted QC trend of one batch: (grid of injection orders, grid x features values, smoother)."""
        from statsmodels.nonparametric.smoothers_lowess import lowess

        complete = np.isfinite(V).all(0)
        use_spline = self.smoother == "spline" and len(o) >= 5
        if use_spline:
            from scipy.interpolate import make_smoothing_spline

            grid = np.unique(np.concatenate([o, np.linspace(o[0], o[-1], 64)]))
            fitted = np.full((len(grid), V.shape[1]), np.nan)
            lam = self.spline_lam
            if lam is None:  # one GCV choice per batch, over the features with every QC observed
                lam = _spline_gcv_lam(o, V[:, complete]) if complete.any() else float(np.ptp(o) ** 3 / len(o))
            if complete.any():
                fitted[:, complete] = make_smoothing_spline(o, V[:, complete], lam=lam)(grid)
            for j in np.flatnonzero(~complete):
                ok = np.isfinite(V[:, j])
                if ok.sum() >= 5:
                    fitted[:, j] = make_smoothing_spline(o[ok], V[ok, j], lam=lam)(grid)
                elif ok.sum() >= self.min_qc:
                    fitted[:, j] = np.interp(grid, *lowess(V[ok, j], o[ok], frac=self.frac, it=1,
                                                           return_sorted=True).T)
                elif ok.any():
                    fitted[:, j] = np.nanmedian(V[:, j])
            return grid, fitted, "spline"
        fitted = np.full_like(V, np.nan)
        if complete.any():
            fitted[:, complete] = lowess_columns(o, V[:, complete], frac=self.frac, it=1)
        for j in np.flatnonzero(~complete):
            ok = np.isfinite(V[:, j])
            if ok.sum() >= self.min_qc:
                fitted[:, j] = np.interp(o, *lowess(V[ok, j], o[ok], frac=self.frac, it=1, return_sorted=True).T)
            elif ok.any():
                fitted[:, j] = np.nanmedian(V[:, j])
        return o, fitted, "lowess"

    def fit(self, X, y=None):
        if self.smoother not in ("lowess", "spline"):
            raise InputError(f"qc_drift rlsc: unknown smoother '{self.smoother}' (lowess, spline)")
        is_qc = _qc_mask(X, self.info)
        if is_qc.sum() < 3:
            raise InputError("qc_drift rlsc: fewer than 3 QC injections; set qc_drift method 'none' for this layer.")
        qc = X[is_qc]
        order = pd.to_numeric(self.info.loc[qc.index, "injection_order"]).to_numpy(float)
        batch = self._batches(qc.index).to_numpy()
        self.target_ = qc.median(axis=0, skipna=True).to_numpy()
        self.curves_ = {}
        self.smoother_by_batch_ = {}
        for b in np.unique(batch):
            sel = batch == b
            if sel.sum() < max(3, int(self.min_qc)):
                raise InputError(
                    f"qc_drift rlsc: batch '{b}' has {sel.sum()} QC injection(s); at least {max(3, int(self.min_qc))} "
                    "are needed per batch."
                )
            o = order[sel]
            srt = np.argsort(o, kind="stable")
            o = o[srt]
            if len(np.unique(o)) < len(o):
                raise InputError(f"qc_drift rlsc: QC injections of batch '{b}' share an injection_order; each "
                                 "injection needs its own position in the run.")
            grid, fitted, used = self._fit_batch(o, qc.to_numpy(float)[sel][srt], str(b))
            self.curves_[b] = (grid, fitted)
            self.smoother_by_batch_[str(b)] = used
        self.qc_rsd_before_ = _median_rsd(qc)
        self.qc_rsd_after_ = _median_rsd(self.transform(qc))
        return self

    def transform(self, X):
        order = pd.to_numeric(self.info.loc[X.index, "injection_order"]).to_numpy(float)
        batch = self._batches(X.index).to_numpy()
        out = X.to_numpy(float).copy()
        for b in np.unique(batch):
            if b not in self.curves_:
                raise InputError(f"qc_drift rlsc: batch '{b}' has no QC injections in the training data.")
            o, fitted = self.curves_[b]
            sel = batch == b
            trend = _interp_columns(order[sel], o, fitted)
            corr = np.where(np.isfinite(trend), self.target_ - trend, 0.0)
            out[sel] = out[sel] + corr
        return pd.DataFrame(out, index=X.index, columns=X.columns)


def _interp_columns(xq: np.ndarray, x: np.ndarray, F: np.ndarray) -> np.ndarray:
    """np.interp of every column of F (len(x) x p) at xq, constant beyond the ends; NaN columns stay NaN."""
    pos = np.clip(np.searchsorted(x, xq, side="right") - 1, 0, len(x) - 1)
    nxt = np.minimum(pos + 1, len(x) - 1)
    span = x[nxt] - x[pos]
    t = np.where(span > 0, (np.clip(xq, x[0], x[-1]) - x[pos]) / np.where(span > 0, span, 1.0), 0.0)
    return F[pos] * (1 - t)[:, None] + F[nxt] * t[:, None]


def _spline_gcv_lam(x: np.ndarray, Y: np.ndarray) -> float:
    """The penalty that scipy's GCV picks for a joint smoothing spline of the columns of Y."""
    from scipy.interpolate import make_smoothing_spline

    grid = np.exp(np.linspace(np.log(1e-4), np.log(1e6), 41)) * np.ptp(x) ** 3 / len(x)
    best, best_score = None, np.inf
    for lam in grid:
        S = make_smoothing_spline(x, np.eye(len(x)), lam=lam)(x)
        resid = Y - S @ Y
        denom = (1 - np.trace(S) / len(x)) ** 2
        score = np.mean(resid**2) / denom if denom > 0 else np.inf
        if score < best_score:
            best, best_score = lam, score
    return float(best)


def _median_rsd(log2_qc: pd.DataFrame) -> float:
    """Median relative standard deviation (%) of QC injections, computed on the linear scale."""
    return float(np.nanmedian(qc_rsd(log2_qc)))


def qc_rsd(log2_values: pd.DataFrame) -> pd.Series:
    """Per-feature relative standard deviation (%) on the linear scale of log2 values (>= 2 observed)."""
    lin = np.power(2.0, log2_values)
    rsd = lin.std(axis=0, ddof=1) / lin.mean(axis=0) * 100
    return rsd.where(log2_values.notna().sum(axis=0) >= 2)


# --------------------------------------------------------------------------------------------
# filtering
# --------------------------------------------------------------------------------------------


class FeatureFilter(Step):
    """Keep features observed often enough, variable enough and, with QC injections, reproducible.

    A feature is kept when it is observed (not missing, and at least ``min_value`` if set) in at
    least ``min_observed`` of the training samples (``observed_in='overall'``) or of the training
    samples of at least one outcome group (``observed_in='any_group'``, which keeps a protein that
    is present in one condition only); its variance exceeds ``min_variance``; and, where the layer's
    training data hold pooled QC injections, it is detected in at least ``qc_min_detection`` of them
    and its QC RSD (linear scale of log2 values) is at most ``qc_rsd_max`` percent. Then the
    ``top_variable`` most variable of those are kept. Cohort statistics use cohort samples only;
    QC statistics use QC injections only.

    Parameters
    ----------
    min_observed
        Fraction in [0, 1].
    min_value
        Values below it count as not observed (e.g. counts below 1).
    min_variance
        Strict lower bound on the variance.
    top_variable
        Keep at most this many features, the most variable ones.
    observed_in
        ``overall`` or ``any_group`` (needs the training outcome; a categorical one).
    qc_rsd_max
        Largest QC RSD in percent (``None``: no QC RSD filter).
    qc_min_detection
        Smallest fraction of QC injections in which the feature is observed (``None``: none).
    info
        Sample sheet; tells QC injections apart.
    """

    def __init__(self, min_observed: float = 0.5, min_value: float | None = None,
                 min_variance: float = 0.0, top_variable: int | None = None, observed_in: str = "overall",
                 qc_rsd_max: float | None = None, qc_min_detection: float | None = None,
                 info: pd.DataFrame | None = None):
        self.min_observed = min_observed
        self.min_value = min_value
        self.min_variance = min_variance
        self.top_variable = top_variable
        self.observed_in = observed_in
        self.qc_rsd_max = qc_rsd_max
        self.qc_min_detection = qc_min_detection
        self.info = info

    @property
    def uses_qc(self) -> bool:  # QC injections must reach this step when it filters on them
        return self.qc_rsd_max is not None or self.qc_min_detection is not None

    def fit(self, X, y=None):
        if self.observed_in not in ("overall", "any_group"):
            raise InputError(f"filter: unknown observed_in '{self.observed_in}' (overall, any_group)")
        is_qc = _qc_mask(X, self.info)
        C = X[~is_qc]
        obs = C.notna()
        if self.min_value is not None:
            obs &= C >= self.min_value
        frac = obs.mean(axis=0)
        if self.observed_in == "any_group" and y is not None:
            g = pd.Series(y).reindex(C.index)
            if g.notna().any():
                if g.nunique() > 20:
                    raise InputError("filter observed_in 'any_group': the outcome has more than 20 distinct values; "
                                     "groups need a categorical outcome. Use observed_in 'overall'.")
                frac = obs.groupby(g.astype(str).where(g.notna())).mean().max(axis=0)
        var = C.var(axis=0, skipna=True, ddof=1).fillna(0.0)
        keep_obs = frac >= self.min_observed
        keep = keep_obs & (var > self.min_variance)
        removed = {"observed": int((~keep_obs).sum()), "variance": int((keep_obs & ~(var > self.min_variance)).sum())}
        self.qc_applied_ = False
        if self.uses_qc and is_qc.any():
            Q = X[is_qc]
            if len(Q) < 3:
                raise InputError(f"filter: {len(Q)} QC injection(s) in the training data; the QC filters "
                                 "(qc_rsd_max, qc_min_detection) need at least 3.")
            self.qc_applied_ = True
            if self.qc_min_detection is not None:
                det = Q.notna().mean(axis=0) >= self.qc_min_detection
                removed["qc_detection"] = int((keep & ~det).sum())
                keep &= det
            if self.qc_rsd_max is not None:
                rsd_ok = (qc_rsd(Q) <= self.qc_rsd_max).fillna(False)
                removed["qc_rsd"] = int((keep & ~rsd_ok).sum())
                keep &= rsd_ok
        if self.top_variable and keep.sum() > self.top_variable:
            v = var[keep].sort_values(ascending=False, kind="mergesort")
            top = X.columns.isin(v.index[: int(self.top_variable)])
            removed["top_variable"] = int((keep & ~top).sum())
            keep = keep & top
        self.features_ = list(X.columns[np.asarray(keep, dtype=bool)])
        self.removed_ = removed
        self.n_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X[self.features_]


# --------------------------------------------------------------------------------------------
# batch correction
# --------------------------------------------------------------------------------------------


def check_batch_confounding(batch: pd.Series, y: pd.Series | None, *, max_association: float = 0.8,
                            allow: bool = False, step: str = "batch") -> dict:
    """Stop when batch and outcome are so associated in the training samples that correcting batch
    would remove (or cannot be separated from) the outcome.

    Parameters
    ----------
    batch
        Batch of each training sample.
    y
        Outcome of the training samples (``None``: nothing to check).
    max_association
        Largest allowed Cramér's V (categorical outcome) or correlation ratio (numeric outcome).
    allow
        Compute and return the association, but never stop.
    step
        Name used in the message.

    Returns
    -------
    dict
        :func:`moflow.diagnostics.batch_outcome_association` of the training samples.

    Raises
    ------
    InputError
        Association above ``max_association``, or a batch holding a single outcome level, unless
        ``allow``.
    """
    if y is None:
        return {}
    from .diagnostics import batch_outcome_association

    yy = pd.Series(y).reindex(batch.index)
    keep = yy.notna().to_numpy()
    if keep.sum() < 2:
        return {}
    assoc = batch_outcome_association(batch[keep], yy[keep])
    if allow:
        return assoc
    single = assoc.get("single_level_batches") or []
    if assoc["value"] > max_association or single:
        why = [f"{assoc['statistic'].replace('_', ' ')} = {assoc['value']:.2f}"
               + (f" > {max_association}" if assoc["value"] > max_association else "")]
        if single:
            b, level = single[0]
            why.append(f"batch '{b}' holds only outcome '{level}'"
                       + (f" ({len(single)} such batch(es))" if len(single) > 1 else ""))
        raise InputError(
            f"{step}: batch and outcome are confounded in the training samples ({'; '.join(why)}). Batch "
            "correction would remove part of the outcome effect, or cannot tell the two apart. Fix the design "
            "(spread outcome groups over batches), set batch method 'none' for this layer, or set "
            "'batch_confounding: {allow: true}' in config (or 'allow_confounded: true' in this layer's batch "
            "options) to correct anyway."
        )
    return assoc


def _masked_lstsq(D: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Per-feature least squares on observed rows: solves (D' M_j D) b_j = D' M_j x_j; returns p x k."""
    M = np.isfinite(V)
    V0 = np.where(M, V, 0.0)
    k = D.shape[1]
    if M.all():
        G = D.T @ D + np.eye(k) * 1e-10
        return np.linalg.solve(G, D.T @ V0).T
    G = np.einsum("ni,nj,np->pij", D, D, M.astype(float), optimize=True)
    rhs = np.einsum("ni,np->pi", D, V0, optimize=True)
    G += np.eye(k)[None] * 1e-10
    return np.linalg.solve(G, rhs[..., None])[..., 0]


class _BatchBase(Step):
    """Shared parts of the batch correctors: the covariate design and the batch checks."""

    def _batch_of(self, index) -> np.ndarray:
        return self.info.loc[index, self.batch_column].astype(str).to_numpy()

    def _covariate_design(self, index, y) -> np.ndarray:
        from .validate import NA_TOKENS

        blocks = []
        for c in self.covariates or ():
            col = self.info.loc[index, c].astype(str).str.strip()
            missing = col.str.lower().isin(NA_TOKENS)
            if missing.any():
                raise InputError(
                    f"{self._name}: protected covariate '{c}' is missing for sample '{col.index[missing][0]}' "
                    f"({int(missing.sum())} sample(s)). Fill it in the sample sheet, or remove '{c}' from config "
                    "'covariates'."
                )
            num = pd.to_numeric(col, errors="coerce")
            if num.notna().all():
                blocks.append(num.to_numpy(float)[:, None])
            else:
                blocks.append(pd.get_dummies(col, drop_first=True, dtype=float).to_numpy())
        if self.protect_outcome and y is not None:
            yy = pd.Series(y).reindex(index)
            num = pd.to_numeric(yy, errors="coerce")
            if num.notna().all() and yy.nunique() > 2:
                blocks.append(num.to_numpy(float)[:, None])
            else:
                blocks.append(pd.get_dummies(yy.astype(str), drop_first=True, dtype=float).to_numpy())
        if not blocks:
            return np.zeros((len(index), 0))
        return np.hstack(blocks)

    def _check_batches(self, X, y) -> np.ndarray:
        if self.unseen_batch not in ("error", "reference"):
            raise InputError(f"{self._name}: unknown unseen_batch '{self.unseen_batch}' (error, reference)")
        if self.unseen_batch == "reference" and self.ref_batch is None:
            raise InputError(f"{self._name}: unseen_batch 'reference' needs a reference batch; set ref_batch to the "
                             "batch new samples should be treated as.")
        batch = self._batch_of(X.index)
        self.batches_ = sorted(set(batch))
        sizes = pd.Series(batch).value_counts()
        if (sizes < 2).any():
            b = sizes.index[sizes < 2][0]
            raise InputError(
                f"{self._name}: batch '{b}' has a single training sample; a batch needs at least two. Merge it with "
                "a similar batch or remove the sample."
            )
        if self.ref_batch is not None and str(self.ref_batch) not in self.batches_:
            raise InputError(f"{self._name}: reference batch '{self.ref_batch}' has no training samples; batches are "
                             f"{', '.join(self.batches_)}.")
        self.confounding_ = check_batch_confounding(
            pd.Series(batch, index=X.index), y, max_association=self.max_association,
            allow=self.allow_confounded, step=self._name)
        return batch

    def _unseen(self, X, batch) -> np.ndarray:
        """Mask of samples of batches without training samples (error unless they count as reference)."""
        unseen = ~np.isin(batch, self.batches_)
        if unseen.any() and self.unseen_batch != "reference":
            s = X.index[unseen][0]
            raise InputError(
                f"{self._name}: sample '{s}' belongs to batch '{batch[unseen][0]}', which has no training samples; "
                "its batch effect cannot be estimated. Include samples of that batch in training, set batch method "
                "'none', or set a ref_batch with unseen_batch 'reference' to leave such samples as the reference "
                "batch is left."
            )
        return unseen


class ComBat(_BatchBase):
    """Empirical-Bayes batch correction (Johnson, Li & Rabinovic 2007) that accepts missing values.

    Batch moments come from the observed values of each feature; missing cells stay missing. The
    outcome (``y``, training samples only) and the named ``covariates`` (columns of ``info``) are
    protected: they enter the design when batch effects are estimated. New samples of known batches
    are adjusted with the stored estimates; their covariates are not needed (the covariate design is
    centred, so the adjustment uses the training average).

    Parameters
    ----------
    info
        Sample sheet (no outcome column).
    batch_column
        Column of ``info`` with the batch of each sample.
    covariates
        Columns of ``info`` to protect (categorical or numeric).
    protect_outcome
        Put ``y`` in the design.
    parametric
        Parametric priors (``True``) or the non-parametric (empirical) priors of sva: each
        feature's batch effects are the average of every other feature's estimates, weighted by the
        likelihood of this feature's data under them (computed in log space, so it never
        underflows).
    mean_only
        Adjust location only (no scale).
    ref_batch
        Reference batch: its data are left unchanged, the pooled variance and grand mean are its
        own, and the other batches are moved to it.
    unseen_batch
        ``error`` (default) or ``reference``: a new sample of a batch without training samples is
        left unchanged, as the reference batch is (needs ``ref_batch``).
    ddof
        Variance convention of the batch variances and the prior moments: 1 as R's sva (default), 0
        as inmoose's ``pycombat_norm``. The pooled variance divides by n in both.
    max_association, allow_confounded
        The batch/outcome confounding guard (:func:`check_batch_confounding`).
    tol, max_iter
        Convergence of the parametric EB iterations (sva's rule: stop when the largest relative
        change of gamma and delta is at most ``tol``).
    block
        Features per block in the non-parametric computation (memory: block x features doubles).
    """

    _name = "ComBat"

    def __init__(self, info: pd.DataFrame | None = None, batch_column: str = "batch", covariates=(),
                 protect_outcome: bool = True, parametric: bool = True, mean_only: bool = False,
                 ref_batch: str | None = None, unseen_batch: str = "error", ddof: int = 1,
                 max_association: float = 0.8, allow_confounded: bool = False,
                 tol: float = 1e-4, max_iter: int = 1000, block: int = 1024):
        self.info = info
        self.batch_column = batch_column
        self.covariates = covariates
        self.protect_outcome = protect_outcome
        self.parametric = parametric
        self.mean_only = mean_only
        self.ref_batch = ref_batch
        self.unseen_batch = unseen_batch
        self.ddof = ddof
        self.max_association = max_association
        self.allow_confounded = allow_confounded
        self.tol = tol
        self.max_iter = max_iter
        self.block = block

    def fit(self, X, y=None):
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        return self._fit(X, y)

    def _fit(self, X, y):
        if self.ddof not in (0, 1):
            raise InputError(f"ComBat: ddof must be 0 (inmoose) or 1 (sva), not {self.ddof!r}.")
        batch = self._check_batches(X, y)
        n = len(batch)
        nb_ = len(self.batches_)
        B = (batch[:, None] == np.array(self.batches_)[None, :]).astype(float)
        C = self._covariate_design(X.index, y)
        self.cov_mean_ = C.mean(0) if C.shape[1] else np.zeros(0)
        Cc = C - self.cov_mean_
        D = np.hstack([B, Cc])
        if np.linalg.matrix_rank(D) < D.shape[1]:
            raise InputError(
                "ComBat: batch is confounded with the outcome or a protected covariate (the design is singular); "
                "batch effects cannot be separated from biology. Remove the covariate from 'covariates', or set "
                "batch method 'none' for this layer."
            )
        V = X.to_numpy(float)
        M = np.isfinite(V)
        complete = bool(M.all())
        V0 = V if complete else np.where(M, V, 0.0)
        beta = _masked_lstsq(D, V)  # p x k
        nb = B.sum(0)
        gamma_b = beta[:, :nb_]
        self.ref_index_ = None if self.ref_batch is None else self.batches_.index(str(self.ref_batch))
        self.cov_beta_ = beta[:, nb_:]
        R = V0 - D @ beta.T  # residuals of the batch + covariate model
        if not complete:
            R[~M] = 0.0
        if self.ref_index_ is None:
            self.alpha_ = gamma_b @ (nb / n)
            rows = slice(None)
        else:
            self.alpha_ = gamma_b[:, self.ref_index_].copy()
            rows = batch == self.batches_[self.ref_index_]
        Rr = R[rows]
        var = np.einsum("ij,ij->j", Rr, Rr) / np.maximum(M[rows].sum(0), 1)
        del R, Rr
        self.var_pooled_ = var
        self.sd_ = np.sqrt(var)
        ok = self.sd_ > 0
        self.ok_ = ok
        # standardized data: (x - grand mean - covariate terms) / pooled sd; missing cells stay NaN
        stand = self.alpha_[None, :] + Cc @ self.cov_beta_.T if Cc.shape[1] else self.alpha_[None, :]
        S = V0 - stand
        S /= np.where(ok, self.sd_, 1.0)[None, :]
        if not complete:
            S[~M] = np.nan
        if not ok.all():
            S[:, ~ok] = np.nan

        p = V.shape[1]
        rows_of = {b: np.flatnonzero(batch == b) for b in self.batches_}
        gamma_hat = np.zeros((nb_, p))
        delta_hat = np.ones_like(gamma_hat)
        n_bj = np.zeros_like(gamma_hat)
        sums = {}
        for i, b in enumerate(self.batches_):
            Sb = S[rows_of[b]]
            if complete and ok.all():
                cnt = np.full(p, float(len(rows_of[b])))
                S1 = Sb.sum(0)
                SS = np.einsum("ij,ij->j", Sb, Sb)
            else:
                fin = np.isfinite(Sb)
                cnt = fin.sum(0).astype(float)
                S0 = np.where(fin, Sb, 0.0)
                S1 = S0.sum(0)
                SS = np.einsum("ij,ij->j", S0, S0)
            sums[b] = (S1, SS)
            n_bj[i] = cnt
            with np.errstate(invalid="ignore", divide="ignore"):
                g = S1 / np.maximum(cnt, 1)
                d = np.maximum(SS - S1 * g, 0.0) / np.maximum(cnt - self.ddof, 1)
            gamma_hat[i] = np.where(cnt > 0, g, 0.0)
            delta_hat[i] = np.where(cnt > 1, d, 1.0)
        delta_hat = np.where(delta_hat > 0, delta_hat, 1.0)
        if self.mean_only:
            delta_hat = np.ones_like(delta_hat)
        gamma_star = np.zeros_like(gamma_hat)
        delta_star = np.ones_like(delta_hat)
        self.n_iter_ = {}
        for i, b in enumerate(self.batches_):
            usable = ok & (n_bj[i] > 1)
            if usable.sum() < 2:
                gamma_star[i], delta_star[i] = gamma_hat[i], delta_hat[i]
                continue
            g_u, d_u, n_u = gamma_hat[i, usable], delta_hat[i, usable], n_bj[i, usable]
            if not self.parametric:
                g_s, d_s = _nonparametric_eb(S[rows_of[b]][:, usable], g_u, d_u, block=self.block)
                if self.mean_only:
                    d_s = np.ones_like(d_s)
            else:
                g_bar = g_u.mean()
                t2 = g_u.var(ddof=self.ddof)
                if self.mean_only:
                    d_s = np.ones_like(d_u)
                    g_s = (t2 * n_u * g_u + g_bar) / (t2 * n_u + 1.0)
                else:
                    m = d_u.mean()
                    s2 = d_u.var(ddof=self.ddof)
                    a = (2 * s2 + m**2) / s2
                    bb = (m * s2 + m**3) / s2
                    S1, SS = sums[b]
                    g_s, d_s, self.n_iter_[b] = _parametric_eb(S1[usable], SS[usable], g_u, d_u, n_u, g_bar, t2,
                                                               a, bb, tol=self.tol, max_iter=self.max_iter)
            # a feature observed once in this batch: posterior mean of gamma with delta at its prior mean
            single = n_bj[i] == 1
            if self.parametric and single.any():
                d_prior = 1.0 if self.mean_only else d_u.mean()
                g_bar, t2 = g_u.mean(), g_u.var(ddof=self.ddof)
                gamma_star[i] = np.where(single, (t2 * gamma_hat[i] + d_prior * g_bar) / (t2 + d_prior), 0.0)
            else:
                gamma_star[i] = np.where(single, gamma_hat[i], 0.0)
            delta_star[i] = 1.0
            gamma_star[i, usable] = g_s
            delta_star[i, usable] = d_s
        if self.ref_index_ is not None:
            gamma_star[self.ref_index_] = 0.0
            delta_star[self.ref_index_] = 1.0
        self.gamma_hat_ = gamma_hat
        self.delta_hat_ = delta_hat
        self.gamma_star_ = gamma_star
        self.delta_star_ = delta_star
        out = self._adjust(V, batch, stand, S=S)
        return pd.DataFrame(out, index=X.index, columns=X.columns)

    def _adjust(self, V, batch, stand, S=None):
        """Adjusted values: (standardized - gamma*) / sqrt(delta*) * sd + standardization mean."""
        out = V.copy()
        sd = np.where(self.ok_, self.sd_, 1.0)
        for i, b in enumerate(self.batches_):
            sel = np.flatnonzero(batch == b)
            if not len(sel) or i == self.ref_index_:
                continue  # the reference batch is left exactly as it is
            st = stand if stand.shape[0] == 1 else stand[sel]
            s = S[sel] if S is not None else (V[sel] - st) / sd
            adj = (s - self.gamma_star_[i]) * (sd / np.sqrt(self.delta_star_[i])) + st
            out[sel] = adj if self.ok_.all() else np.where(self.ok_[None, :], adj, V[sel])
        return out

    def transform(self, X):
        batch = self._batch_of(X.index)
        self._unseen(X, batch)  # unseen batches: error, or left unchanged as the reference batch
        V = X.to_numpy(float)
        out = self._adjust(V, batch, self.alpha_[None, :])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


def _parametric_eb(S1, SS, g_hat, d_hat, n, g_bar, t2, a, b, *, tol, max_iter):
    """sva's it.sol: alternate the posterior means of gamma and delta until the largest relative change
    (signed, as in sva and inmoose) is at most ``tol``. ``S1`` and ``SS`` are each feature's sum and sum
    of squares of its standardized values in the batch, so an iteration costs O(features)."""
    t2n = t2 * n
    t2ng = t2n * g_hat
    g_old, d_old = g_hat.copy(), d_hat.copy()
    it = 0
    for it in range(1, max_iter + 1):
        g_new = (t2ng + d_old * g_bar) / (t2n + d_old)
        ss = np.maximum(SS - 2.0 * g_new * S1 + n * g_new * g_new, 0.0)  # sum over the batch of (s - g_new)^2
        d_new = (0.5 * ss + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = max(np.nanmax(np.abs(g_new - g_old) / g_old), np.nanmax(np.abs(d_new - d_old) / d_old))
        g_old, d_old = g_new, d_new
        if not change > tol:
            break
    return g_old, d_old, it


def _nonparametric_eb(Sb, g_hat, d_hat, *, block=1024):
    """sva's int.eprior, vectorised and in log space.

    For feature j, gamma* and delta* are the averages of every other feature's (gamma_hat, delta_hat)
    weighted by the Gaussian likelihood of feature j's standardized data under them.
    """
    Mb = np.isfinite(Sb)
    n = Mb.sum(0).astype(float)
    S1 = np.where(Mb, Sb, 0.0).sum(0)
    SS = np.where(Mb, Sb * Sb, 0.0).sum(0)
    p = len(g_hat)
    log2pid = np.log(2 * np.pi * d_hat)
    g_star = np.empty(p)
    d_star = np.empty(p)
    for s in range(0, p, block):
        e = min(p, s + block)
        sum2 = SS[s:e, None] - 2.0 * S1[s:e, None] * g_hat[None, :] + n[s:e, None] * g_hat[None, :] ** 2
        sum2 = np.maximum(sum2, 0.0)
        L = -0.5 * n[s:e, None] * log2pid[None, :] - sum2 / (2.0 * d_hat[None, :])
        L[np.arange(e - s), np.arange(s, e)] = -np.inf  # leave the feature itself out
        L -= L.max(axis=1, keepdims=True)
        W = np.exp(L)
        W /= W.sum(axis=1, keepdims=True)
        g_star[s:e] = W @ g_hat
        d_star[s:e] = W @ d_hat
    return g_star, d_star


class LinearBatch(_BatchBase):
    """limma-style removal of batch terms from a linear model (``removeBatchEffect``).

    Per feature, a least-squares fit on the training samples' observed values of
    ``intercept + batch + protected covariates (+ outcome)``; the fitted batch terms are subtracted.
    Batch terms are sum-to-zero contrasts as in limma (deviations from the average batch) or, with
    ``ref_batch``, differences to the reference batch, whose data are then left unchanged. New
    samples of known batches have their batch's stored term subtracted; they need neither the
    outcome nor the covariates.

    Parameters
    ----------
    info, batch_column, covariates, protect_outcome, ref_batch, unseen_batch, max_association,
    allow_confounded
        As in :class:`ComBat`. With ``unseen_batch='reference'`` a sample of a new batch gets no
        correction.
    """

    _name = "linear batch correction"

    def __init__(self, info: pd.DataFrame | None = None, batch_column: str = "batch", covariates=(),
                 protect_outcome: bool = True, ref_batch: str | None = None, unseen_batch: str = "error",
                 max_association: float = 0.8, allow_confounded: bool = False):
        self.info = info
        self.batch_column = batch_column
        self.covariates = covariates
        self.protect_outcome = protect_outcome
        self.ref_batch = ref_batch
        self.unseen_batch = unseen_batch
        self.max_association = max_association
        self.allow_confounded = allow_confounded

    def _contrasts(self) -> np.ndarray:
        K = len(self.batches_)
        if self.ref_batch is None:  # contr.sum: the last batch is minus the sum of the others
            return np.vstack([np.eye(K - 1), -np.ones((1, K - 1))])
        r = self.batches_.index(str(self.ref_batch))
        return np.delete(np.eye(K), r, axis=1)  # treatment contrasts against the reference batch

    def fit(self, X, y=None):
        batch = self._check_batches(X, y)
        B = (batch[:, None] == np.array(self.batches_)[None, :]).astype(float) @ self._contrasts()
        C = self._covariate_design(X.index, y)
        C = C - C.mean(0) if C.shape[1] else C
        D = np.hstack([np.ones((len(batch), 1)), B, C])
        if np.linalg.matrix_rank(D) < D.shape[1]:
            raise InputError(
                f"{self._name}: batch is confounded with the outcome or a protected covariate (the design is "
                "singular). Remove the covariate from 'covariates', or set batch method 'none' for this layer."
            )
        beta = _masked_lstsq(D, X.to_numpy(float))
        K1 = B.shape[1]
        self.effects_ = self._contrasts() @ beta[:, 1:1 + K1].T  # batches x features
        return self

    def transform(self, X):
        batch = self._batch_of(X.index)
        unseen = self._unseen(X, batch)
        idx = np.array([self.batches_.index(b) if not u else 0 for b, u in zip(batch, unseen)], dtype=int)
        E = self.effects_[idx]
        E[unseen] = 0.0
        return pd.DataFrame(X.to_numpy(float) - E, index=X.index, columns=X.columns)


# --------------------------------------------------------------------------------------------
# imputation
# --------------------------------------------------------------------------------------------


class KNNImpute(Step):
    """k-nearest-neighbour imputation with neighbours among the training samples (NaN-aware numpy).

    The definition of scikit-learn's ``KNNImputer``: distances are NaN-Euclidean (squared
    differences over the co-observed features, scaled by features / co-observed features); a missing
    cell of feature j is the (uniform or inverse-distance weighted) mean of feature j in the k
    nearest training samples that observe j; a sample with no co-observed feature with any donor
    gets the training mean. All distances come from four matrix products of the zero-filled
    matrices and their masks, and donors are searched in each sample's distance order, first among
    its nearest few neighbours and only where needed further out.

    Parameters
    ----------
    k
        Number of neighbours.
    weights
        ``uniform`` or ``distance`` (inverse distance; zero-distance donors take all the weight).
    """

    def __init__(self, k: int = 10, weights: str = "uniform"):
        self.k = k
        self.weights = weights

    def fit(self, X, y=None):
        if self.weights not in ("uniform", "distance"):
            raise InputError(f"impute knn: unknown weights '{self.weights}' (uniform, distance)")
        if int(self.k) < 1:
            raise InputError(f"impute knn: k must be at least 1, not {self.k}.")
        V = X.to_numpy(float)
        self.mask_ = np.isfinite(V)
        self.values_ = np.where(self.mask_, V, 0.0)
        self.mask_f_ = self.mask_.astype(float)
        self.sq_ = self.values_**2
        self.sq_rowsum_ = self.sq_.sum(1)
        self.n_missing_ = (~self.mask_).sum(1)
        self.sparse_ = self.n_missing_.sum() <= 0.3 * V.size
        if self.sparse_:
            from scipy import sparse

            self.missing_sp_ = sparse.csr_matrix(~self.mask_, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.col_mean_ = np.nan_to_num(np.nanmean(V, axis=0))
        self.columns_ = list(X.columns)
        return self

    def distances(self, V: np.ndarray) -> np.ndarray:
        """Squared NaN-Euclidean distances of the rows of V to the training samples (inf: nothing
        co-observed)."""
        Mq = np.isfinite(V)
        Q0 = np.where(Mq, V, 0.0)
        Q2 = Q0 * Q0
        if self.sparse_ and (~Mq).sum() <= 0.3 * V.size:
            # few holes: sum_j a_j^2 Mb_j = sum_j a_j^2 - sum_j a_j^2 (1 - Mb_j), with (1 - M) sparse, so one
            # dense product (the cross term) remains
            from scipy import sparse

            Nq = sparse.csr_matrix(~Mq, dtype=float)
            ss = (Q2.sum(1)[:, None] - (self.missing_sp_ @ Q2.T).T
                  + self.sq_rowsum_[None, :] - Nq @ self.sq_.T - 2.0 * (Q0 @ self.values_.T))
            nco = (V.shape[1] - (~Mq).sum(1)[:, None] - self.n_missing_[None, :]
                   + (Nq @ self.missing_sp_.T).toarray())
        else:
            Mqf = Mq.astype(float)
            ss = Q2 @ self.mask_f_.T + Mqf @ self.sq_.T - 2.0 * (Q0 @ self.values_.T)
            nco = Mqf @ self.mask_f_.T
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(nco > 0, np.maximum(ss, 0.0) * V.shape[1] / np.where(nco > 0, nco, 1.0), np.inf)

    def _donor_mean(self, take: np.ndarray, cols: np.ndarray, d2: np.ndarray):
        Mo = self.mask_[np.ix_(take, cols)]
        sel = Mo & (np.cumsum(Mo, axis=0) <= int(self.k))
        vals = self.values_[np.ix_(take, cols)]
        if self.weights == "uniform":
            W = sel.astype(float)
        else:
            d = np.sqrt(d2[take])
            zero = d == 0
            with np.errstate(divide="ignore"):
                W = sel * np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, d))[:, None]
            if zero.any():
                Wz = (sel & zero[:, None]).astype(float)
                has = Wz.any(axis=0)
                W[:, has] = Wz[:, has]
        den = W.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (W * vals).sum(axis=0) / den, sel.sum(axis=0)

    def _training_distances(self) -> np.ndarray:
        """Squared NaN-Euclidean distances among the training samples (symmetric products: half the work)."""
        G = self.values_ @ self.values_.T
        if self.sparse_:
            T1 = self.sq_rowsum_[:, None] - (self.missing_sp_ @ self.sq_.T).T
            nco = (self.mask_.shape[1] - self.n_missing_[:, None] - self.n_missing_[None, :]
                   + (self.missing_sp_ @ self.missing_sp_.T).toarray())
        else:
            T1 = self.sq_ @ self.mask_f_.T
            nco = self.mask_f_ @ self.mask_f_.T
        ss = T1 + T1.T - 2.0 * G
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(nco > 0, np.maximum(ss, 0.0) * self.mask_.shape[1] / np.where(nco > 0, nco, 1.0), np.inf)

    def fit_transform(self, X, y=None, **fit_params):
        self.fit(X, y)
        return self._impute(X, training=len(X) <= 5000)

    def transform(self, X):
        return self._impute(X, training=False)

    def _impute(self, X, training: bool):
        if list(X.columns) != self.columns_:
            raise InputError("impute knn: the features differ from those seen in fit; transform needs the same "
                             "features in the same order.")
        V = X.to_numpy(float)
        miss = ~np.isfinite(V)
        rows = np.flatnonzero(miss.any(axis=1))
        if not len(rows):
            return X
        out = V.copy()
        k = int(self.k)
        D_train = self._training_distances() if training else None
        for s in range(0, len(rows), 256):  # blocks bound the memory of the distance matrix
            blk = rows[s:s + 256]
            D2 = D_train[blk] if training else self.distances(V[blk])
            order = np.argsort(D2, axis=1, kind="stable")
            n_finite = np.isfinite(D2).sum(axis=1)
            for i, r in enumerate(blk):
                cols = np.flatnonzero(miss[r])
                nf = int(n_finite[i])
                if nf == 0:
                    out[r, cols] = self.col_mean_[cols]
                    continue
                m0 = min(nf, max(3 * k, k + 5))
                val, cnt = self._donor_mean(order[i, :m0], cols, D2[i])
                short = (cnt < k) & (m0 < nf)
                if short.any():
                    val[short], cnt[short] = self._donor_mean(order[i, :nf], cols[short], D2[i])
                out[r, cols] = np.where(cnt > 0, val, self.col_mean_[cols])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


class IterativeImpute(Step):
    """Chained-equation imputation restricted to each feature's nearest features (MAR).

    scikit-learn's ``IterativeImputer`` with a ``BayesianRidge`` model per feature that uses only
    ``n_nearest_features`` predictors (drawn with probability proportional to their absolute
    correlation with the target, seeded), ``max_iter`` rounds, fit on the training samples; new
    samples go through the stored chain of models.

    Parameters
    ----------
    n_nearest_features
        Predictors per feature (keeps the cost linear in the number of features).
    max_iter
        Imputation rounds.
    seed
        Seed of the predictor draws.
    """

    def __init__(self, n_nearest_features: int = 50, max_iter: int = 3, seed: int = 0):
        self.n_nearest_features = n_nearest_features
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, X, y=None):
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer
        from sklearn.linear_model import BayesianRidge

        nn = int(min(self.n_nearest_features, max(X.shape[1] - 1, 1)))
        self.imputer_ = IterativeImputer(estimator=BayesianRidge(), n_nearest_features=nn, max_iter=self.max_iter,
                                         random_state=int(self.seed), skip_complete=True, keep_empty_features=True,
                                         tol=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at a small max_iter is expected
            self.imputer_.fit(X.to_numpy(float))
        return self

    def transform(self, X):
        if not X.isna().to_numpy().any():
            return X
        out = self.imputer_.transform(X.to_numpy(float))
        V = X.to_numpy(float)
        return pd.DataFrame(np.where(np.isfinite(V), V, out), index=X.index, columns=X.columns)


class HalfMinImpute(Step):
    """Left-censored imputation: each feature's training minimum minus ``shift`` (log2 scale: -1 = half)."""

    def __init__(self, shift: float = 1.0):
        self.shift = shift

    def fit(self, X, y=None):
        mins = X.min(axis=0, skipna=True)
        self.fill_ = (mins - self.shift).fillna(np.nanmin(X.to_numpy()) - self.shift)
        return self

    def transform(self, X):
        return X.fillna(self.fill_)


class MinProbImpute(Step):
    """MinProb (imputeLCMD): draws from N(q-quantile of the sample, sd), sd = median feature sd x tune_sigma.

    Draws are seeded by sample ID, so a sample gets the same values whichever fold it falls in.
    """

    def __init__(self, q: float = 0.01, tune_sigma: float = 1.0, seed: int = 0):
        self.q = q
        self.tune_sigma = tune_sigma
        self.seed = seed

    def fit(self, X, y=None):
        sds = X.std(axis=0, skipna=True, ddof=1)
        self.sigma_ = float(np.nanmedian(sds.to_numpy())) * self.tune_sigma
        return self

    def transform(self, X):
        V = X.to_numpy(float)
        out = V.copy()
        for i, s in enumerate(X.index):
            miss = ~np.isfinite(V[i])
            if not miss.any():
                continue
            mu = np.nanquantile(V[i], self.q)
            rng = np.random.default_rng(_stable_seed(self.seed, str(s)))
            draws = rng.normal(mu, self.sigma_, X.shape[1])
            out[i] = np.where(miss, draws, V[i])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


class QRILCImpute(Step):
    """QRILC-like left-censored imputation (imputeLCMD's quantile regression imputation).

    Per sample, with a fraction ``pi`` of missing values, the observed values are taken to be the
    upper ``1 - pi`` part of a normal distribution: a least-squares line of the sample's observed
    quantiles at levels t on the standard normal quantiles at levels ``pi + (1 - pi) t`` gives its
    mean and sd. Missing cells are drawn from that normal (sd x ``tune_sigma``) truncated above at
    its ``pi`` quantile, by inverse-CDF sampling seeded by sample ID, so a sample gets the same
    values whichever fold it falls in and whatever other samples come with it. A sample with fewer
    than 10 observed values uses the median mean and sd fitted on the training samples.

    Parameters
    ----------
    tune_sigma
        Multiplies the fitted sd of the draws.
    seed
        Seed (combined with each sample ID).
    """

    def __init__(self, tune_sigma: float = 1.0, seed: int = 0):
        self.tune_sigma = tune_sigma
        self.seed = seed

    @staticmethod
    def _params(row: np.ndarray):
        obs = row[np.isfinite(row)]
        pi = 1.0 - len(obs) / len(row)
        if len(obs) < 10 or pi >= 0.99:
            return None
        t = np.linspace(0.01, 0.99, 99)
        q_obs = np.quantile(obs, t)
        z = special.ndtri(pi + (1 - pi) * t)
        slope, intercept = np.polyfit(z, q_obs, 1)
        if not slope > 0:
            return None
        return float(intercept), float(slope), pi

    def fit(self, X, y=None):
        params = [p for p in (self._params(r) for r in X.to_numpy(float)) if p is not None]
        if not params:
            raise InputError("impute qrilc: no training sample has 10 or more observed values to fit its "
                             "distribution; use impute method 'halfmin'.")
        P = np.array(params)
        self.fallback_ = (float(np.median(P[:, 0])), float(np.median(P[:, 1])))
        return self

    def transform(self, X):
        V = X.to_numpy(float)
        out = V.copy()
        for i, s in enumerate(X.index):
            miss = ~np.isfinite(V[i])
            if not miss.any():
                continue
            par = self._params(V[i])
            mu, sd = (par[0], par[1]) if par is not None else self.fallback_
            pi = miss.mean()
            upper = mu + sd * special.ndtri(min(max(pi, 1e-6), 1 - 1e-6))
            sd_draw = sd * self.tune_sigma
            rng = np.random.default_rng(_stable_seed(self.seed, str(s)))
            u = rng.random(X.shape[1]) * special.ndtr((upper - mu) / sd_draw)
            draws = mu + sd_draw * special.ndtri(np.clip(u, 1e-300, 1.0))
            out[i] = np.where(miss, draws, V[i])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


class MeanImpute(Step):
    """Feature means of the training samples (a baseline to beat)."""

    def fit(self, X, y=None):
        self.fill_ = X.mean(axis=0, skipna=True).fillna(0.0)
        return self

    def transform(self, X):
        return X.fillna(self.fill_)


class MixedImpute(Step):
    """MNAR imputation for features whose missingness tracks low intensity, MAR imputation otherwise.

    A feature is called left-censored (MNAR) on the training samples when either

    * it is missing in at least ``group_missing`` of the training samples of some outcome group with
      two or more samples (absent in a condition: the case of DEP's "mixed" imputation), or
    * its missing cells are predicted low: the mean of the MAR method's predictions at its missing
      cells lies more than ``shift_sd`` of the feature's observed sd below its observed mean (the
      samples that resemble the ones lacking the feature have low values of it).

    Otherwise it is missing at random and gets the MAR method's values. The decision per feature is
    kept in ``decisions_`` and applied unchanged to new samples.

    Parameters
    ----------
    mnar
        ``minprob``, ``qrilc`` or ``halfmin``.
    mar
        ``knn`` or ``iterative``.
    k
        Neighbours of the kNN method.
    group_missing
        Fraction of a group that must be missing for the group rule.
    shift_sd
        Threshold of the predicted-low rule, in observed sds.
    seed
        Seed of the random MNAR draws.
    """

    def __init__(self, mnar: str = "minprob", mar: str = "knn", k: int = 10, group_missing: float = 1.0,
                 shift_sd: float = 0.5, seed: int = 0):
        self.mnar = mnar
        self.mar = mar
        self.k = k
        self.group_missing = group_missing
        self.shift_sd = shift_sd
        self.seed = seed

    def fit(self, X, y=None):
        if self.mnar not in ("minprob", "qrilc", "halfmin"):
            raise InputError(f"impute mixed: unknown mnar method '{self.mnar}' (minprob, qrilc, halfmin)")
        if self.mar not in ("knn", "iterative"):
            raise InputError(f"impute mixed: unknown mar method '{self.mar}' (knn, iterative)")
        self.mar_ = make_imputer(self.mar, {"k": self.k} if self.mar == "knn" else {}, seed=self.seed).fit(X, y)
        self.mnar_ = make_imputer(self.mnar, {}, seed=self.seed).fit(X, y)
        V = X.to_numpy(float)
        miss = ~np.isfinite(V)
        Z = self.mar_.transform(X).to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_obs = np.nanmean(V, axis=0)
            sd_obs = np.nanstd(V, axis=0, ddof=1)
            pred = np.where(miss, Z, np.nan)
            mean_pred = np.nanmean(pred, axis=0)
        score = np.where(sd_obs > 0, (mean_pred - mean_obs) / np.where(sd_obs > 0, sd_obs, 1.0), 0.0)
        low = miss.any(axis=0) & (score < -self.shift_sd)
        group = np.zeros(V.shape[1], dtype=bool)
        if y is not None:
            g = pd.Series(y).reindex(X.index)
            for level in g.dropna().unique():
                sel = (g == level).to_numpy()
                if sel.sum() >= 2:
                    group |= miss[sel].mean(axis=0) >= self.group_missing
        mnar = low | group
        self.decisions_ = pd.DataFrame({
            "feature": X.columns, "missing_fraction": miss.mean(axis=0), "predicted_shift_sd": score,
            "absent_in_a_group": group, "predicted_low": low,
            "mechanism": np.where(mnar, "MNAR", np.where(miss.any(axis=0), "MAR", "complete")),
        })
        self.mnar_features_ = list(X.columns[mnar])
        return self

    def transform(self, X):
        mnar = X.columns.isin(self.mnar_features_)
        A = self.mar_.transform(X).to_numpy(float)
        B = self.mnar_.transform(X).to_numpy(float)
        return pd.DataFrame(np.where(mnar[None, :], B, A), index=X.index, columns=X.columns)


def missingness_model(X: pd.DataFrame, *, max_rounds: int = 15, max_cells: int = 20000, seed: int = 0) -> dict:
    """How a layer loses values: a censoring (selection) model fit to its observed values.

    A cell with (unseen) value x goes missing with probability ``Phi((T - x) / s)``: a detection
    threshold T blurred by a spread s (probit). Each feature's complete values are taken as normal,
    ``N(mu_j, sigma_j)``, with ``sigma_j`` its observed sd floored at the median sd of the complete
    features. The likelihood of the observed cells and of each feature's missing count is maximized
    by alternating Newton steps for the ``mu_j`` (on the conditional likelihood of each feature's
    observed values) and an L-BFGS fit of (T, log s) (on at most ``max_cells`` observed cells, drawn
    with ``seed``), from two starts. A small spread means left-censoring (low
    values go missing); a spread at its upper bound (10 sd of the layer) means missing at random.

    Returns
    -------
    dict
        ``threshold``, ``spread``, ``sigma`` (median ``sigma_j``), ``at_random`` (spread at the bound)
        and ``missing_fraction``.
    """
    from scipy import optimize

    V = X.to_numpy(float)
    obs = np.isfinite(V)
    n_obs = obs.sum(0)
    miss_frac = float(1.0 - obs.mean())
    use = n_obs >= 2
    V, obs, n_obs = V[:, use], obs[:, use], n_obs[use]
    m = (~obs).sum(0)
    xobs = V[obs]
    spread_max = 10.0 * float(np.std(xobs)) if len(xobs) > 1 else 1.0
    if m.sum() == 0 or len(xobs) < 10:
        return {"threshold": float("-inf"), "spread": spread_max, "sigma": float("nan"), "at_random": True,
                "missing_fraction": miss_frac}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sds = np.nanstd(V, 0, ddof=1)
    full = m == 0
    floor = float(np.median(sds[full])) if full.sum() >= 10 else float(np.nanmedian(sds))
    floor = floor if floor > 0 else 1.0
    sigma = np.maximum(np.nan_to_num(sds, nan=floor), floor)
    S1 = np.where(obs, V, 0.0).sum(0)
    S2 = np.where(obs, V * V, 0.0).sum(0)
    rng = np.random.default_rng(seed)
    sub = xobs if len(xobs) <= max_cells else rng.choice(xobs, max_cells, replace=False)
    weight = len(xobs) / len(sub)

    def loglik(T, s, mu):
        tau = np.sqrt(s * s + sigma * sigma)
        normal = -(S2 - 2 * mu * S1 + n_obs * mu**2) / (2 * sigma**2) - n_obs * np.log(sigma)
        return float(normal.sum() + weight * special.log_ndtr((sub - T) / s).sum()
                     + (m * special.log_ndtr((T - mu) / tau)).sum())

    def fit_from(T, s):
        mu = S1 / n_obs
        for _ in range(max_rounds):
            tau = np.sqrt(s * s + sigma * sigma)
            for _ in range(25):
                # mu_j from the conditional likelihood of the observed values (given observed):
                # sum_obs log N(x; mu, sigma) - n_obs log P(observed | mu). Leaving the missing count out
                # keeps mu_j from absorbing its binomial noise, which would mimic censoring.
                u = (mu - T) / tau
                lam = np.exp(-0.5 * u * u - 0.5 * np.log(2 * np.pi) - special.log_ndtr(u))
                g = (S1 - n_obs * mu) / sigma**2 - n_obs * lam / tau
                h = -n_obs / sigma**2 + n_obs * lam * (u + lam) / tau**2
                step = g / np.minimum(h, -1e-12)
                mu = mu - step
                if np.abs(step).max() < 1e-8:
                    break
            mu_fixed = mu
            res = optimize.minimize(lambda th: -loglik(th[0], np.exp(th[1]), mu_fixed), [T, np.log(s)],
                                    method="L-BFGS-B", bounds=[(None, None), (np.log(1e-3 * floor), np.log(spread_max))])
            T_new, s_new = float(res.x[0]), float(np.exp(res.x[1]))
            done = abs(T_new - T) < 1e-5 and abs(s_new - s) < 1e-5
            T, s = T_new, s_new
            if done:
                break
        return T, s, loglik(T, s, mu)

    # two starts (sharp censoring, nearly at random); the higher likelihood wins
    q05 = float(np.quantile(xobs, 0.05))
    wide = spread_max / 3
    fits = [fit_from(q05, float(np.median(sigma))),
            fit_from(q05 - wide * special.ndtri(1 - min(max(miss_frac, 1e-3), 0.999)), wide)]
    T, s, _ = max(fits, key=lambda f: f[2])
    return {"threshold": T, "spread": s, "sigma": float(np.median(sigma)), "at_random": s >= 0.99 * spread_max,
            "missing_fraction": miss_frac}


def pattern_mask(X: pd.DataFrame, *, fraction: float = 0.1, seed: int = 0, min_left: int = 2) -> np.ndarray:
    """Hide observed cells the way the layer loses values: its own censoring mechanism, raised.

    Each observed cell is hidden with probability ``Phi((T' - value) / s)``, where the spread ``s`` is
    the layer's own (:func:`missingness_model`) and the threshold ``T'`` is set so that the expected
    number of hidden cells is ``fraction`` of the observed ones: the detection limit moves up, so
    low values are hidden more often when the layer's missingness is left-censored; cells are
    hidden uniformly when the model finds the layer missing at random. Features keep at least ``min_left`` observed
    cells and samples at least one.

    Parameters
    ----------
    X
        Samples x features, with its own missing values.
    fraction
        Expected share of the observed cells to hide.
    seed
        Seed of the draws.

    Returns
    -------
    numpy.ndarray
        Boolean mask (True: an observed cell hidden for scoring).
    """
    from scipy import optimize

    V = X.to_numpy(float)
    obs = np.isfinite(V)
    x = V[obs]
    if len(x) == 0:
        return np.zeros_like(obs)
    model = missingness_model(X, seed=seed)
    rng = np.random.default_rng(seed)
    if model["at_random"]:  # no intensity dependence found: hide cells uniformly
        prob = np.full(V.shape, float(fraction))
    else:
        s = model["spread"]
        lo, hi = float(x.min()) - 40 * s, float(x.max()) + 40 * s
        t = optimize.brentq(lambda t_: special.ndtr((t_ - x) / s).mean() - fraction, lo, hi, xtol=1e-10)
        prob = special.ndtr((t - np.where(obs, V, 0.0)) / s)
    mask = obs & (rng.random(V.shape) < prob)
    short = (obs.sum(0) - mask.sum(0)) < min_left
    mask[:, short] = False
    mask[(obs & ~mask).sum(1) == 0] = False
    return mask


def nrmse(imputed: pd.DataFrame, truth: pd.DataFrame, mask: np.ndarray) -> float:
    """Normalized RMSE of imputed values at the masked cells: RMSE / sd of the true values there."""
    t = truth.to_numpy(float)[mask]
    d = imputed.to_numpy(float)[mask] - t
    return float(np.sqrt(np.mean(d**2)) / np.std(t))


IMPUTE_METHODS = ("knn", "iterative", "halfmin", "minprob", "qrilc", "mixed", "mean", "auto")
AUTO_CANDIDATES = ("halfmin", "minprob", "qrilc", "knn", "mixed", "mean")


def make_imputer(method: str, opts: dict | None = None, *, seed: int = 0) -> Step:
    """An unfitted imputer from its config method name and options."""
    opts = dict(opts or {})
    cls = {"knn": KNNImpute, "iterative": IterativeImpute, "halfmin": HalfMinImpute, "minprob": MinProbImpute,
           "qrilc": QRILCImpute, "mixed": MixedImpute, "mean": MeanImpute, "auto": AutoImpute}.get(method)
    if cls is None:
        raise InputError(f"impute: unknown method '{method}' ({', '.join(IMPUTE_METHODS)}, none)")
    params = cls().get_params()
    if "seed" in params:
        opts.setdefault("seed", seed)
    unknown = sorted(set(opts) - set(params))
    if unknown:
        allowed = ", ".join(p for p in params if p != "seed")
        raise InputError(f"impute {method}: unknown option(s) {unknown}; options are {allowed or 'none'}.")
    return cls(**opts)


def score_imputers(X: pd.DataFrame, y: pd.Series | None, imputers: dict, *, fraction: float = 0.1,
                   seed: int = 0) -> pd.DataFrame:
    """NRMSE of each imputer on observed values hidden the way the layer loses them.

    Parameters
    ----------
    X
        Training samples x features, with their own missing values.
    y
        Training outcome (for methods that use it), or ``None``.
    imputers
        ``{name: unfitted imputer}``; mean imputation is added as the baseline if absent.
    fraction, seed
        Of :func:`pattern_mask`.

    Returns
    -------
    pandas.DataFrame
        method, nrmse, ratio_to_mean (below 1: better than mean imputation), masked_cells.
    """
    imputers = dict(imputers)
    imputers.setdefault("mean", MeanImpute())
    mask = pattern_mask(X, fraction=fraction, seed=seed)
    if mask.sum() < 10:
        raise InputError("impute auto: fewer than 10 observed cells could be hidden to score the methods; "
                         "choose an impute method explicitly for this layer.")
    Xm = X.mask(mask)
    rows = []
    for name, est in imputers.items():
        imputed = clone(est).fit(Xm, y).transform(Xm)
        rows.append({"method": name, "nrmse": nrmse(imputed, X, mask)})
    table = pd.DataFrame(rows)
    table["ratio_to_mean"] = table["nrmse"] / float(table.loc[table["method"] == "mean", "nrmse"].iloc[0])
    table["masked_cells"] = int(mask.sum())
    return table


IMPUTATION_COLUMNS = ["method", "nrmse", "ratio_to_mean", "chosen", "masked_cells", "mode"]


def imputation_table(step, X: pd.DataFrame | None, y: pd.Series | None = None, *, seed: int = 0) -> pd.DataFrame:
    """The imputation diagnostics of a layer: the scores ``auto`` chose by, or, for a configured
    method, the same comparison with that method (its fitted options) marked ``chosen``.

    Parameters
    ----------
    step
        The layer's fitted impute step (or ``None``).
    X
        The impute step's input on the training samples.
    y
        Outcome of those samples.

    Returns
    -------
    pandas.DataFrame
        Columns ``IMPUTATION_COLUMNS``; empty where nothing is imputed.
    """
    if isinstance(step, AutoImpute):
        t = step.scores_.copy()
        t["mode"] = "auto"
        return t[IMPUTATION_COLUMNS]
    if step is None or isinstance(step, Identity) or X is None or not X.isna().to_numpy().any():
        return pd.DataFrame(columns=IMPUTATION_COLUMNS)
    names = {KNNImpute: "knn", IterativeImpute: "iterative", HalfMinImpute: "halfmin", MinProbImpute: "minprob",
             QRILCImpute: "qrilc", MixedImpute: "mixed", MeanImpute: "mean"}
    configured = names.get(type(step), type(step).__name__)
    imputers = {m: make_imputer(m, {}, seed=seed) for m in AUTO_CANDIDATES}
    imputers[configured] = step
    yy = None if y is None else y.reindex(X.index)
    t = score_imputers(X, yy, imputers, seed=seed)
    t["chosen"] = t["method"] == configured
    t["mode"] = "configured"
    return t[IMPUTATION_COLUMNS]


class AutoImpute(Step):
    """Pick the imputation method that best recovers values hidden the way this layer loses them.

    On the training samples, observed cells are masked with :func:`pattern_mask` (the layer's own
    intensity-dependent missingness), every candidate is fit on the masked matrix and scored by
    :func:`nrmse` on the hidden cells, and the best one is refit on the unmasked training samples.
    The scores are in ``scores_`` (one row per candidate, with the ratio to mean imputation).

    Parameters
    ----------
    candidates
        Method names (see :func:`make_imputer`); ``iterative`` is accurate but slow on wide layers.
    fraction
        Share of the observed cells to hide.
    k
        Neighbours of the kNN-based candidates.
    seed
        Seed of the mask and of the random draws.
    """

    def __init__(self, candidates=AUTO_CANDIDATES, fraction: float = 0.1, k: int = 10, seed: int = 0):
        self.candidates = candidates
        self.fraction = fraction
        self.k = k
        self.seed = seed

    def _make(self, method):
        return make_imputer(method, {"k": self.k} if method in ("knn", "mixed") else {}, seed=self.seed)

    def fit(self, X, y=None):
        cands = list(self.candidates)
        bad = [c for c in cands if c not in IMPUTE_METHODS or c == "auto"]
        if bad or not cands:
            raise InputError(f"impute auto: unknown candidate(s) {bad}; choose among "
                             f"{', '.join(m for m in IMPUTE_METHODS if m != 'auto')}.")
        table = score_imputers(X, y, {m: self._make(m) for m in cands}, fraction=self.fraction, seed=self.seed)
        self.chosen_ = str(table.loc[table["nrmse"].idxmin(), "method"])
        table["chosen"] = table["method"] == self.chosen_
        self.scores_ = table
        self.imputer_ = self._make(self.chosen_).fit(X, y)
        return self

    def transform(self, X):
        return self.imputer_.transform(X)


# --------------------------------------------------------------------------------------------
# scaling
# --------------------------------------------------------------------------------------------


class Scaler(Step):
    """Centre on training means; ``standard`` (or ``unit_variance``) divides by the sd, ``pareto`` by its
    square root, ``center`` by nothing."""

    def __init__(self, method: str = "standard"):
        self.method = method

    def fit(self, X, y=None):
        self.mean_ = X.mean(axis=0, skipna=True)
        sd = X.std(axis=0, skipna=True, ddof=1).replace(0, 1.0).fillna(1.0)
        self.div_ = {"standard": sd, "unit_variance": sd, "pareto": np.sqrt(sd), "center": sd * 0 + 1.0}.get(self.method)
        if self.div_ is None:
            raise InputError(f"scale: unknown method '{self.method}' (standard, unit_variance, pareto, center, none)")
        return self

    def transform(self, X):
        return (X - self.mean_) / self.div_


# --------------------------------------------------------------------------------------------
# the chain
# --------------------------------------------------------------------------------------------

NORMALIZE_METHODS = {
    "rnaseq_counts": ("median_of_ratios", "tmm", "upper_quartile", "total", "none"),
    "log_expression": ("none", "quantile", "median"),
    "proteomics_intensity": ("median", "quantile", "none"),
    "metabolomics_intensity": ("pqn", "tic", "none"),
    "methylation_beta": ("mvalue", "none"),
    "binary": ("check", "none"),
    "continuous": ("none", "quantile", "median"),
}


def make_step(step: str, opts: dict, *, kind: str, info: pd.DataFrame, batch_column: str, covariates,
              log_scale: bool, seed: int) -> Step:
    """Build one step from its config options.

    Parameters
    ----------
    step
        One of ``normalize``, ``qc_drift``, ``filter``, ``batch``, ``impute``, ``scale``.
    opts
        The step's config options (``method`` plus the method's own options).
    kind
        Layer kind.
    info
        Sample sheet without the outcome.
    batch_column
        The layer's batch column (empty: no batch correction).
    covariates
        Sample-sheet columns protected in batch correction.
    log_scale
        The layer's values are already log-transformed.
    seed
        Seed of random steps.
    """
    opts = dict(opts or {})
    # a filter is on unless switched off; every other step names its method
    method = opts.pop("method", "default" if step == "filter" else "none")
    if method == "none" and not (step == "normalize" and kind in ("metabolomics_intensity", "proteomics_intensity",
                                                                     "rnaseq_counts")):
        return Identity()
    if step == "normalize":
        allowed = NORMALIZE_METHODS.get(kind, ())
        if method not in allowed:
            raise InputError(f"normalize method '{method}' does not apply to kind '{kind}' "
                             f"(methods: {', '.join(allowed)})")
        if kind == "rnaseq_counts":
            if method == "none":
                return Log2(pseudocount=opts.get("pseudocount", 1.0))
            return CountNormalizer(method=method, **opts)
        if kind == "proteomics_intensity" and method == "median":
            return MedianCentering(log=not log_scale)
        if kind == "proteomics_intensity" and method == "quantile":
            return QuantileNormalizer(log=not log_scale, **opts)
        if kind == "proteomics_intensity" and method == "none":
            return Log2() if not log_scale else Identity()
        if kind == "metabolomics_intensity":
            return PQN(info=info, method=method, log_input=log_scale, **opts)
        if kind == "methylation_beta":
            return MValue(**opts)
        if kind == "binary":
            return BinaryCheck()
        if method == "quantile":
            return QuantileNormalizer(log=False, **opts)
        return MedianCentering(log=False)
    if step == "qc_drift":
        if method != "rlsc":
            raise InputError(f"qc_drift: unknown method '{method}' (rlsc, none)")
        return QCRLSC(info=info, batch_column=batch_column, **opts)
    if step == "filter":
        if method != "default":
            raise InputError(f"filter: unknown method '{method}' (default, none)")
        return FeatureFilter(info=info, **opts)
    if step == "batch":
        if method not in ("combat", "linear"):
            raise InputError(f"batch: unknown method '{method}' (combat, linear, none)")
        if not batch_column:
            return Identity()
        cls = ComBat if method == "combat" else LinearBatch
        return cls(info=info, batch_column=batch_column, covariates=tuple(covariates), **opts)
    if step == "impute":
        return make_imputer(method, opts, seed=seed)
    if step == "scale":
        return Scaler(method=method)
    raise InputError(f"unknown preprocessing step '{step}'")


def _step_summary(step) -> str:
    """What a fitted step decided, for the steps table."""
    parts = []
    if isinstance(step, AutoImpute):
        parts.append(f"chose {step.chosen_}")
    if isinstance(step, MixedImpute):
        parts.append(f"{len(step.mnar_features_)} feature(s) MNAR")
    if isinstance(step, FeatureFilter):
        parts += [f"removed {v} by {k}" for k, v in step.removed_.items() if v]
    if isinstance(step, QCRLSC):
        parts.append(f"QC median RSD {step.qc_rsd_before_:.1f}% -> {step.qc_rsd_after_:.1f}%")
    if isinstance(step, (ComBat, LinearBatch)) and step.confounding_:
        parts.append(f"batch/outcome {step.confounding_['statistic']} {step.confounding_['value']:.2f}")
    if isinstance(step, PQN) and step.lambda_ is not None:
        parts.append(f"glog lambda {step.lambda_:.4g}")
    if isinstance(step, CountNormalizer) and step.transformation == "vst":
        parts.append(f"dispersion trend {step.a0_:.4g} + {step.a1_:.4g}/mean")
    return "; ".join(parts)


class LayerPreprocessor(TransformerMixin, BaseEstimator):
    """The per-layer chain: normalize -> qc_drift -> filter -> batch -> impute -> scale.

    ``fit(X, y)`` takes the training samples of one layer (plus its QC injections, if any) and the
    outcome of the training samples; ``transform(X)`` returns the cohort samples of X (QC
    injections removed) processed with the fitted steps. Bad input found by a step raises
    :class:`~moflow.errors.InputError` naming the layer and the step.

    Parameters
    ----------
    kind
        Layer kind.
    settings
        ``{step: options}`` (:func:`layer_settings`); ``None``: the kind's defaults.
    info
        Sample sheet without the outcome.
    batch_column, covariates, log_scale, seed
        See :func:`make_step`.
    layer
        Layer name, for messages.
    """

    def __init__(self, kind: str, settings: dict | None = None, info: pd.DataFrame | None = None,
                 batch_column: str = "", covariates=(), log_scale: bool = False, layer: str = "", seed: int = 0):
        self.kind = kind
        self.settings = settings
        self.info = info
        self.batch_column = batch_column
        self.covariates = covariates
        self.log_scale = log_scale
        self.layer = layer
        self.seed = seed

    def _build(self):
        settings = self.settings if self.settings is not None else layer_settings(self.kind)
        order = settings.get("order", STEP_ORDER)
        steps = []
        for name in order:
            if name not in settings:
                continue
            if name == "qc_drift" and (self.info is None or not (self.info["sample_type"] == "qc").any()):
                continue
            steps.append((name, self._guard(name, make_step, name, settings[name], kind=self.kind, info=self.info,
                                            batch_column=self.batch_column, covariates=self.covariates,
                                            log_scale=self.log_scale, seed=self.seed)))
        return steps

    def _guard(self, name, fn, *args, **kwargs):
        """Call fn; an InputError gets the layer and step in front of its message."""
        try:
            return fn(*args, **kwargs)
        except InputError as err:
            msg = str(err)
            if self.layer and not msg.startswith("layer '"):
                raise InputError(f"layer '{self.layer}', step {name}: {msg}") from None
            raise

    def _run(self, X, y, fit: bool, trace: dict | None = None):
        from .validate import check_layer_not_empty

        cur = X
        steps = self._build() if fit else self.steps_
        # QC injections go through every step up to the last one that uses them, then leave
        last_qc = max((i for i, (_, st) in enumerate(steps) if st.uses_qc), default=-1)
        qc_dropped = False
        for i, (name, step) in enumerate(steps):
            if i > last_qc and not qc_dropped:
                cur = cur[~_qc_mask(cur, self.info)]
                qc_dropped = True
            if fit:
                yy = None if y is None else y.reindex(cur.index)
                n_before = cur.shape[1]
                cur = self._guard(name, step.fit_transform, cur, yy)
                self.steps_.append((name, step))
                params = {k: v for k, v in step.get_params(deep=False).items() if k != "info"}
                self.history_.append({"step": name, "method": type(step).__name__, "params": repr(params),
                                      "features_in": n_before, "features_out": cur.shape[1],
                                      "missing_fraction_out": float(cur.isna().to_numpy().mean()),
                                      "summary": _step_summary(step)})
            else:
                cur = self._guard(name, step.transform, cur)
            check_layer_not_empty(cur, layer=self.layer, step=name)
            if trace is not None:
                trace[name] = cur
        if not qc_dropped:
            cur = cur[~_qc_mask(cur, self.info)]
        return cur

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        self.steps_ = []
        self.history_ = []
        out = self._run(X, y, fit=True)
        self.features_out_ = list(out.columns)
        return out

    def fit_trace(self, X, y=None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """``fit_transform`` that also returns the matrix after every step (``{step: matrix}``, in order;
        QC injections are still in the matrices of the steps that use them)."""
        self.steps_ = []
        self.history_ = []
        trace: dict[str, pd.DataFrame] = {}
        out = self._run(X, y, fit=True, trace=trace)
        self.features_out_ = list(out.columns)
        return out, trace

    def transform(self, X):
        return self._run(X, None, fit=False)

    def transform_trace(self, X) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """``transform`` that also returns the matrix after every fitted step (see :meth:`fit_trace`)."""
        trace: dict[str, pd.DataFrame] = {}
        out = self._run(X, None, fit=False, trace=trace)
        return out, trace

    def named_step(self, name: str):
        return dict(self.steps_).get(name)
