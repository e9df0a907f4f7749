"""Stage ``normalize``: library size, centring, quantile, dilution and scale transforms by layer kind.

:class:`CountNormalizer` (RNA-seq counts: ``median_of_ratios``, ``tmm``, ``upper_quartile``,
``total``; then log2 or DESeq2's variance-stabilizing transform), :class:`Log2`,
:class:`MedianCentering` (``median``), :class:`QuantileNormalizer` (``quantile``), :class:`PQN`
(``pqn``, ``tic``; then log2 or glog), :class:`MValue` (``mvalue``) and :class:`BinaryCheck`
(``check``). Which method applies to which kind is in :mod:`moflow.preprocess.registry`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import CHECKED_NAME, NON_NEGATIVE, SAMPLE_SHEET, Step, qc_mask
from moflow.stats import row_nanmedian


def _tmm_factor(obs: np.ndarray, ref: np.ndarray, logratio_trim=0.3, sum_trim=0.05) -> float:
    """EdgeR's trimmed mean of M-values of one sample against a reference (counts)."""
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
    Q : numpy.ndarray
        Normalized counts, samples x genes (training samples).
    max_iter : int
        Largest number of refits after dropping outlying genes.

    Returns
    -------
    a0, a1 : float
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
        raise InputError(
            "normalize vst: the fitted asymptotic dispersion is not positive (the counts look Poisson); "
            "use transformation 'log2' for this layer."
        )
    return a0, a1


def vst(q: np.ndarray, a0: float, a1: float) -> np.ndarray:
    """DESeq2's closed-form variance-stabilizing transform for the trend ``a0 + a1 / mu`` (log2 scale).

    Parameters
    ----------
    q : numpy.ndarray
        Normalized counts (negative values count as 0).
    a0, a1 : float
        The dispersion trend (:func:`fit_dispersion_trend`).

    Returns
    -------
    numpy.ndarray
        The transformed values.
    """
    q = np.maximum(q, 0.0)
    return np.log2((1 + a1 + 2 * a0 * q + 2 * np.sqrt(a0 * q * (1 + a1 + a0 * q))) / (4 * a0))


class CountNormalizer(Step):
    """Library-size normalization of RNA-seq counts, then log2 with a pseudocount or a VST.

    Parameters
    ----------
    method : str
        ``median_of_ratios`` (DESeq2), ``tmm`` (edgeR), ``upper_quartile`` or ``total``.
    pseudocount : float
        Added before log2 (``transformation='log2'``).
    transformation : str
        ``log2`` (log2 of normalized counts + pseudocount) or ``vst`` (DESeq2's parametric
        variance-stabilizing transform; dispersion trend fit on the training samples).

    Attributes
    ----------
    scale_ : float
        Geometric mean of the training samples' raw size factors (size factors are divided by it).
    a0_, a1_ : float
        The dispersion trend (``transformation='vst'`` only).

    Notes
    -----
    Reference quantities (geometric means, TMM reference sample, dispersion trend) come from
    training samples only, so a held-out sample is normalized the same whatever comes with it.
    """

    _parameter_constraints: dict = {"method": CHECKED_NAME, "pseudocount": NON_NEGATIVE, "transformation": CHECKED_NAME}

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
            with np.errstate(all="ignore"):
                return np.exp(row_nanmedian(ratios))
        if self.method == "tmm":
            lib = C.sum(1)
            f = np.array([_tmm_factor(C[i], self.tmm_ref_) for i in range(C.shape[0])])
            return lib * f
        if self.method == "upper_quartile":
            return np.array([np.quantile(row[row > 0], 0.75) if (row > 0).any() else np.nan for row in C])
        if self.method == "total":
            return C.sum(1)
        raise InputError(
            f"normalize: unknown count method '{self.method}' (median_of_ratios, tmm, upper_quartile, total)"
        )

    def fit(self, X, y=None):
        """Learn the reference quantities (and the dispersion trend) from the training samples."""
        self._validate_params()
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
        check_is_fitted(self)
        sf = self._raw_factors(X.to_numpy(float)) / self.scale_
        if not np.all(np.isfinite(sf)) or np.any(sf <= 0):
            bad = X.index[~(np.isfinite(sf) & (sf > 0))][0]
            raise InputError(f"normalize {self.method}: sample '{bad}' has no usable counts for a size factor.")
        return pd.Series(sf, index=X.index)

    def transform(self, X):
        """Divide by the size factors, then log2 (with the pseudocount) or VST."""
        check_is_fitted(self)
        sf = self.size_factors(X).to_numpy()
        Q = X.to_numpy(float) / sf[:, None]
        if self.transformation == "vst":
            return pd.DataFrame(vst(Q, self.a0_, self.a1_), index=X.index, columns=X.columns)
        return pd.DataFrame(np.log2(Q + self.pseudocount), index=X.index, columns=X.columns)


class MedianCentering(Step):
    """Log2 (unless the layer is already on a log scale), then per-sample median centring.

    Each sample's median over features observed in every training sample is moved to the training
    grand median, so held-out samples are centred the same way.

    Parameters
    ----------
    log : bool
        Take log2 first.

    Attributes
    ----------
    ref_features_ : list of str
        Features whose medians are used (all features when fewer than 20 are complete).
    grand_median_ : float
        Median of those features over the training samples.
    """

    _parameter_constraints: dict = {"log": ["boolean"]}

    def __init__(self, log: bool = True):
        self.log = log

    def _log(self, X):
        return np.log2(X) if self.log else X

    def fit(self, X, y=None):
        """Learn the reference features and the grand median from the training samples."""
        self._validate_params()
        L = self._log(X)
        full = L.columns[L.notna().all(axis=0)]
        self.ref_features_ = list(full) if len(full) >= 20 else list(L.columns)
        self.grand_median_ = float(np.nanmedian(L[self.ref_features_].to_numpy()))
        return self

    def transform(self, X):
        """Move each sample's median to the training grand median."""
        check_is_fitted(self)
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
    log : bool
        Take log2 first (raw intensities); ``False`` for layers already on a log scale.
    n_quantiles : int or None
        Size of the reference grid; default the number of features.

    Attributes
    ----------
    probs_ : numpy.ndarray
        The grid of probabilities.
    reference_ : numpy.ndarray
        The reference quantile at each probability.
    """

    _parameter_constraints: dict = {
        "log": ["boolean"],
        "n_quantiles": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, log: bool = False, n_quantiles: int | None = None):
        self.log = log
        self.n_quantiles = n_quantiles

    def _log(self, X):
        return np.log2(X) if self.log else X

    def fit(self, X, y=None):
        """Learn the reference distribution from the training samples."""
        self._validate_params()
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
        """Map each observed value's rank in its sample to the reference quantile."""
        check_is_fitted(self)
        L = self._log(X)
        R = L.rank(axis=1, method="average").to_numpy(float)
        n_obs = np.isfinite(L.to_numpy(float)).sum(1)
        P = (R - 0.5) / np.maximum(n_obs, 1)[:, None]
        out = np.where(np.isfinite(P), np.interp(np.nan_to_num(P), self.probs_, self.reference_), np.nan)
        return pd.DataFrame(out, index=X.index, columns=X.columns)


def glog2(x: np.ndarray, lam: float) -> np.ndarray:
    """Generalized log2, ``log2((x + sqrt(x^2 + lam)) / 2)``: log2(x) for x >> sqrt(lam), linear near 0.

    Parameters
    ----------
    x : numpy.ndarray
        Linear-scale intensities.
    lam : float
        The glog parameter (:func:`glog_lambda`).

    Returns
    -------
    numpy.ndarray
        The transformed values.
    """
    return np.log2((x + np.sqrt(x * x + lam)) / 2.0)


def glog_lambda(lin: np.ndarray) -> float:
    """Variance-stabilizing glog parameter from replicate injections (Durbin-Rocke two-component model).

    Under ``var = A + B * mean^2`` (additive plus multiplicative noise) the glog with ``lambda = A / B``
    stabilizes the variance. ``B`` is the median squared CV of the upper half of the features by
    mean (where multiplicative noise dominates) and ``A`` the median of ``var - B * mean^2`` over the
    lowest quarter (where the additive floor shows), clipped at zero.

    Parameters
    ----------
    lin : numpy.ndarray
        Linear-scale intensities of replicate injections (pooled QCs), injections x features.

    Returns
    -------
    float
        ``A / B`` (0 where ``B`` is not positive).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(lin, 0)
        v = np.nanvar(lin, 0, ddof=1)
    ok = np.isfinite(m) & np.isfinite(v) & (np.isfinite(lin).sum(0) >= 3) & (m > 0)
    if ok.sum() < 8:
        raise InputError(
            "normalize glog: fewer than 8 features with 3 or more observed replicate injections to "
            "estimate lambda; set 'glog_lambda' explicitly."
        )
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
    info : pandas.DataFrame or None
        Sample sheet (``sample_type`` tells QC injections apart).
    method : str
        ``pqn``, ``tic`` or ``none`` (log only).
    log_input : bool
        Values are already log2-transformed.
    transformation : str
        ``log2`` or ``glog`` (generalized log2 of the normalized linear intensities).
    glog_lambda : float or None
        glog parameter; ``None`` estimates it from the QC injections (training samples when there
        are fewer than 3 QCs) with :func:`glog_lambda`.

    Attributes
    ----------
    log_reference_ : pandas.Series
        log2 reference spectrum.
    log_tic_scale_ : float
        Median log2 total intensity of the training samples (``tic``).
    lambda_ : float or None
        The glog parameter used (``None`` with ``transformation='log2'``).
    """

    uses_qc = True
    _parameter_constraints: dict = {
        "info": SAMPLE_SHEET,
        "method": CHECKED_NAME,
        "log_input": ["boolean"],
        "transformation": CHECKED_NAME,
        "glog_lambda": NON_NEGATIVE + [None],
    }

    def __init__(
        self,
        info: pd.DataFrame | None = None,
        method: str = "pqn",
        log_input: bool = False,
        transformation: str = "log2",
        glog_lambda: float | None = None,
    ):
        self.info = info
        self.method = method
        self.log_input = log_input
        self.transformation = transformation
        self.glog_lambda = glog_lambda

    def fit(self, X, y=None):
        """Learn the reference spectrum (and the glog parameter) from the training samples and QCs."""
        self._validate_params()
        if self.method not in ("pqn", "tic", "none"):
            raise InputError(f"normalize: unknown metabolomics method '{self.method}' (pqn, tic, none)")
        if self.transformation not in ("log2", "glog"):
            raise InputError(f"normalize: unknown transformation '{self.transformation}' (log2, glog)")
        L = X if self.log_input else np.log2(X)
        is_qc = qc_mask(X, self.info)
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
        check_is_fitted(self)
        if self.method == "pqn":
            return L.sub(self.log_reference_, axis=1).median(axis=1, skipna=True)
        if self.method == "tic":
            return self._log_tic(L) - self.log_tic_scale_
        return pd.Series(0.0, index=L.index)

    def transform(self, X):
        """Work on the log2 scale throughout: log quotient = median log difference to the reference."""
        check_is_fitted(self)
        L = X if self.log_input else np.log2(X)
        N = L.sub(self.log_quotients(L), axis=0)
        if self.transformation != "glog":
            return N
        return pd.DataFrame(glog2(np.power(2.0, N.to_numpy(float)), self.lambda_), index=X.index, columns=X.columns)


class Log2(Step):
    """log2(x + pseudocount)."""

    _parameter_constraints: dict = {"pseudocount": NON_NEGATIVE}

    def __init__(self, pseudocount: float = 0.0):
        self.pseudocount = pseudocount

    def transform(self, X):
        """Return log2(X + pseudocount)."""
        check_is_fitted(self)
        return np.log2(X + self.pseudocount)


class MValue(Step):
    """Methylation beta values to M-values, with the 0 and 1 bounds moved in by ``offset``."""

    _parameter_constraints: dict = {"offset": [Real]}  # the range is checked in fit (an InputError)

    def __init__(self, offset: float = 1e-3):
        self.offset = offset

    def fit(self, X, y=None):
        """Check ``offset`` and learn the number of features."""
        self._validate_params()
        if not 0 < self.offset < 0.5:
            raise InputError(f"normalize mvalue: offset {self.offset} must lie in (0, 0.5).")
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Check that the values are beta values and return their M-values."""
        check_is_fitted(self)
        V = X.to_numpy(float)
        bad = np.isfinite(V) & ((V < 0) | (V > 1))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(
                f"normalize mvalue: beta value {float(V[r, c])!r} outside [0, 1] for sample '{X.index[r]}', "
                f"feature '{X.columns[c]}'. Is this layer already on the M-value scale? Then declare "
                "kind 'continuous'."
            )
        B = X.clip(self.offset, 1 - self.offset)
        return np.log2(B / (1 - B))


class BinaryCheck(Step):
    """Binary layers (mutations): check that every observed value is 0 or 1, pass values through."""

    def _check(self, X):
        V = X.to_numpy(float)
        bad = np.isfinite(V) & (V != 0) & (V != 1)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(
                f"binary layer: value {float(V[r, c])!r} for sample '{X.index[r]}', feature '{X.columns[c]}' "
                f"({int(bad.sum())} such cell(s)); a binary layer holds 0, 1 or missing. Recode it, "
                "or declare kind 'continuous'."
            )

    _parameter_constraints: dict = {}

    def fit(self, X, y=None):
        """Check the training values and learn the number of features."""
        self._validate_params()
        self._check(X)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Check the values and return them unchanged."""
        check_is_fitted(self)
        self._check(X)
        return X
