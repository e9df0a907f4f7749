"""Per-layer preprocessing as scikit-learn style estimators (fit / transform on DataFrames).

Every step is fit on training samples only and applied unchanged to new samples, so the same
objects serve the full-cohort run and every cross-validation fold. Matrices are samples x
features DataFrames indexed by sample ID. Steps that need per-sample facts (batch, injection order,
QC status) read them from ``info``, a sample sheet that never carries the outcome; the outcome
reaches a step only as ``y`` in ``fit`` (training samples only).
"""

from __future__ import annotations

import copy
import zlib

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

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
        "filter": {"min_observed": 0.5},
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
        "normalize": {"method": "none"},
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
    """Defaults for a layer kind, updated step by step with user overrides from config."""
    if kind not in DEFAULTS:
        raise InputError(f"unknown layer kind '{kind}'")
    settings = copy.deepcopy(DEFAULTS[kind])
    for step, opts in (overrides or {}).items():
        if step == "order":
            settings["order"] = list(opts)
            continue
        if step not in STEP_ORDER:
            raise InputError(f"config 'preprocess': unknown step '{step}'; steps are {', '.join(STEP_ORDER)}")
        settings.setdefault(step, {}).update(opts or {})
    return settings


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


class CountNormalizer(Step):
    """Library-size normalization of RNA-seq counts, then log2 with a pseudocount.

    ``method``: ``median_of_ratios`` (DESeq2), ``tmm`` (edgeR), ``upper_quartile`` or ``total``.
    Reference quantities (geometric means, TMM reference sample) come from training samples only.
    """

    def __init__(self, method: str = "median_of_ratios", pseudocount: float = 1.0):
        self.method = method
        self.pseudocount = pseudocount

    def _raw_factors(self, C: np.ndarray) -> np.ndarray:
        if self.method == "median_of_ratios":
            # DESeq2: the median over the reference genes with a count above 0 in this sample
            sub = C[:, self.mor_genes_]
            with np.errstate(divide="ignore"):
                ratios = np.where(sub > 0, np.log(np.where(sub > 0, sub, 1.0)) - self.log_geomean_, np.nan)
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
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
        return pd.DataFrame(np.log2(X.to_numpy(float) / sf[:, None] + self.pseudocount), index=X.index,
                            columns=X.columns)


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


class PQN(Step):
    """Probabilistic quotient normalization (or TIC), then log2.

    The reference spectrum is the median of the pooled QC injections when present, else the median of
    the training samples.
    """

    uses_qc = True

    def __init__(self, info: pd.DataFrame | None = None, method: str = "pqn", log_input: bool = False):
        self.info = info
        self.method = method
        self.log_input = log_input

    def fit(self, X, y=None):
        if self.method not in ("pqn", "tic", "none"):
            raise InputError(f"normalize: unknown metabolomics method '{self.method}' (pqn, tic, none)")
        L = X if self.log_input else np.log2(X)
        is_qc = _qc_mask(X, self.info)
        base = L[is_qc] if is_qc.sum() >= 3 else L[~is_qc]
        # the median of logs is the log of the median (up to ties of an even count)
        self.log_reference_ = base.median(axis=0, skipna=True)
        self.log_tic_scale_ = float(np.median(self._log_tic(L[~is_qc])))
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
        return L.sub(self.log_quotients(L), axis=0)


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

    def transform(self, X):
        B = X.clip(self.offset, 1 - self.offset)
        return np.log2(B / (1 - B))


def _qc_mask(X: pd.DataFrame, info: pd.DataFrame | None) -> np.ndarray:
    if info is None or "sample_type" not in info.columns:
        return np.zeros(len(X), dtype=bool)
    return (info["sample_type"].reindex(X.index) == "qc").to_numpy()


# --------------------------------------------------------------------------------------------
# QC-based drift correction
# --------------------------------------------------------------------------------------------


class QCRLSC(Step):
    """QC-RLSC: per batch and feature, a LOWESS fit of the QC injections over injection order.

    Every injection is corrected by subtracting the fitted QC trend at its injection order (log
    scale) and adding the feature's overall QC median, which also aligns batches. QC injections
    carry no outcome, so using all of them inside every training fold leaks nothing.
    """

    uses_qc = True

    def __init__(self, info: pd.DataFrame | None = None, batch_column: str = "", frac: float = 0.8):
        self.info = info
        self.batch_column = batch_column
        self.frac = frac

    def _batches(self, index) -> pd.Series:
        if self.batch_column:
            return self.info.loc[index, self.batch_column].astype(str)
        return pd.Series("all", index=index)

    def fit(self, X, y=None):
        from statsmodels.nonparametric.smoothers_lowess import lowess

        is_qc = _qc_mask(X, self.info)
        if is_qc.sum() < 3:
            raise InputError("qc_drift rlsc: fewer than 3 QC injections; set qc_drift method 'none' for this layer.")
        qc = X[is_qc]
        order = pd.to_numeric(self.info.loc[qc.index, "injection_order"]).to_numpy(float)
        batch = self._batches(qc.index).to_numpy()
        self.target_ = qc.median(axis=0, skipna=True).to_numpy()
        self.curves_ = {}
        for b in np.unique(batch):
            sel = batch == b
            if sel.sum() < 3:
                raise InputError(
                    f"qc_drift rlsc: batch '{b}' has {sel.sum()} QC injection(s); at least 3 are needed per batch."
                )
            o = order[sel]
            srt = np.argsort(o)
            o = o[srt]
            V = qc.to_numpy(float)[sel][srt]
            fitted = np.empty_like(V)
            for j in range(V.shape[1]):
                ok = np.isfinite(V[:, j])
                if ok.sum() >= 3:
                    fitted[:, j] = np.interp(o, *lowess(V[ok, j], o[ok], frac=self.frac, it=1, return_sorted=True).T)
                elif ok.any():
                    fitted[:, j] = np.nanmedian(V[:, j])
                else:
                    fitted[:, j] = np.nan
            self.curves_[b] = (o, fitted)
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
            trend = np.column_stack([np.interp(order[sel], o, fitted[:, j]) for j in range(fitted.shape[1])])
            corr = np.where(np.isfinite(trend), self.target_ - trend, 0.0)
            out[sel] = out[sel] + corr
        return pd.DataFrame(out, index=X.index, columns=X.columns)


def _median_rsd(log2_qc: pd.DataFrame) -> float:
    """Median relative standard deviation (%) of QC injections, computed on the linear scale."""
    lin = np.power(2.0, log2_qc)
    rsd = lin.std(axis=0, ddof=1) / lin.mean(axis=0) * 100
    return float(np.nanmedian(rsd))


# --------------------------------------------------------------------------------------------
# filtering
# --------------------------------------------------------------------------------------------


class FeatureFilter(Step):
    """Keep features observed (not missing, and above ``min_value`` if set) in at least
    ``min_observed`` of the training samples, with variance above ``min_variance``; then the
    ``top_variable`` most variable of those."""

    def __init__(self, min_observed: float = 0.5, min_value: float | None = None,
                 min_variance: float = 0.0, top_variable: int | None = None):
        self.min_observed = min_observed
        self.min_value = min_value
        self.min_variance = min_variance
        self.top_variable = top_variable

    def fit(self, X, y=None):
        obs = X.notna()
        if self.min_value is not None:
            obs &= X >= self.min_value
        frac = obs.mean(axis=0)
        var = X.var(axis=0, skipna=True, ddof=1).fillna(0.0)
        keep = (frac >= self.min_observed) & (var > self.min_variance)
        if self.top_variable and keep.sum() > self.top_variable:
            v = var[keep].sort_values(ascending=False, kind="mergesort")
            keep = keep & X.columns.isin(v.index[: int(self.top_variable)])
        self.features_ = list(X.columns[keep.to_numpy()])
        self.n_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X[self.features_]


# --------------------------------------------------------------------------------------------
# batch correction
# --------------------------------------------------------------------------------------------


class ComBat(Step):
    """Empirical-Bayes batch correction (Johnson, Li & Rabinovic 2007) that accepts missing values.

    Batch moments come from the observed values of each feature; missing cells stay missing. The
    outcome (``y``, training samples only) and the named ``covariates`` (columns of ``info``) are
    protected: they enter the design when batch effects are estimated. New samples of known batches
    are adjusted with the stored estimates; their covariates are not needed (the covariate design is
    centred, so the adjustment uses the training average).

    Parameters
    ----------
    info : sample sheet (no outcome column).
    batch_column : column of ``info`` with the batch of each sample.
    covariates : columns of ``info`` to protect (categorical or numeric).
    protect_outcome : put ``y`` in the design.
    parametric : parametric (True) priors; ``mean_only`` adjusts location only.
    """

    def __init__(self, info: pd.DataFrame | None = None, batch_column: str = "batch", covariates=(),
                 protect_outcome: bool = True, parametric: bool = True, mean_only: bool = False,
                 tol: float = 1e-4, max_iter: int = 1000):
        self.info = info
        self.batch_column = batch_column
        self.covariates = covariates
        self.protect_outcome = protect_outcome
        self.parametric = parametric
        self.mean_only = mean_only
        self.tol = tol
        self.max_iter = max_iter

    def _covariate_design(self, index, y) -> np.ndarray:
        from .validate import NA_TOKENS

        blocks = []
        for c in self.covariates or ():
            col = self.info.loc[index, c].astype(str).str.strip()
            missing = col.str.lower().isin(NA_TOKENS)
            if missing.any():
                raise InputError(
                    f"ComBat: protected covariate '{c}' is missing for sample '{col.index[missing][0]}' "
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

    def fit(self, X, y=None):
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        return self._fit(X, y)

    def _fit(self, X, y):
        batch = self.info.loc[X.index, self.batch_column].astype(str).to_numpy()
        self.batches_ = sorted(set(batch))
        sizes = pd.Series(batch).value_counts()
        if (sizes < 2).any():
            b = sizes.index[sizes < 2][0]
            raise InputError(
                f"ComBat: batch '{b}' has a single training sample; a batch needs at least two. Merge it with a "
                "similar batch or remove the sample."
            )
        n = len(batch)
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
        V0 = np.where(M, V, 0.0)
        # per-feature least squares on observed rows: (D' M_j D) beta_j = D' M_j x_j
        G = np.einsum("ni,nj,np->pij", D, D, M.astype(float), optimize=True)
        rhs = np.einsum("ni,np->pi", D, V0, optimize=True)
        k = D.shape[1]
        G += np.eye(k)[None] * 1e-10
        beta = np.linalg.solve(G, rhs[..., None])[..., 0]  # p x k
        nb = B.sum(0)
        gamma_b = beta[:, : len(self.batches_)]
        self.alpha_ = gamma_b @ (nb / n)
        self.cov_beta_ = beta[:, len(self.batches_):]
        fitted = D @ beta.T
        resid2 = np.where(M, (V0 - fitted) ** 2, 0.0)
        n_obs = M.sum(0)
        var = resid2.sum(0) / np.maximum(n_obs, 1)
        self.var_pooled_ = var
        self.sd_ = np.sqrt(var)
        ok = self.sd_ > 0
        self.ok_ = ok
        stand = self.alpha_[None, :] + Cc @ self.cov_beta_.T
        S = np.where(M & ok[None, :], (V0 - stand) / np.where(ok, self.sd_, 1.0)[None, :], np.nan)

        gamma_hat = np.zeros((len(self.batches_), V.shape[1]))
        delta_hat = np.ones_like(gamma_hat)
        n_bj = np.zeros_like(gamma_hat)
        for i, b in enumerate(self.batches_):
            Sb = S[batch == b]
            cnt = np.isfinite(Sb).sum(0)
            n_bj[i] = cnt
            with np.errstate(invalid="ignore", divide="ignore"):
                g = np.nansum(Sb, 0) / np.maximum(cnt, 1)
                d = np.nansum((Sb - g) ** 2, 0) / np.maximum(cnt - 1, 1)
            gamma_hat[i] = np.where(cnt > 0, g, 0.0)
            delta_hat[i] = np.where(cnt > 1, d, 1.0)
        delta_hat = np.where(delta_hat > 0, delta_hat, 1.0)
        gamma_star = np.zeros_like(gamma_hat)
        delta_star = np.ones_like(delta_hat)
        for i, b in enumerate(self.batches_):
            usable = ok & (n_bj[i] > 1)
            if usable.sum() < 2:
                gamma_star[i], delta_star[i] = gamma_hat[i], delta_hat[i]
                continue
            g_bar = gamma_hat[i, usable].mean()
            t2 = gamma_hat[i, usable].var(ddof=1)
            m = delta_hat[i, usable].mean()
            s2 = delta_hat[i, usable].var(ddof=1)
            if self.mean_only:
                d_star = np.ones(V.shape[1])
                g_star = (t2 * n_bj[i] * gamma_hat[i] + g_bar) / (t2 * n_bj[i] + 1.0)
            elif self.parametric:
                a = (2 * s2 + m**2) / s2
                bb = (m * s2 + m**3) / s2
                g_old, d_old = gamma_hat[i].copy(), delta_hat[i].copy()
                Sb = S[batch == b]
                nbi = np.maximum(n_bj[i], 1)
                for _ in range(self.max_iter):
                    g_new = (t2 * nbi * gamma_hat[i] + d_old * g_bar) / (t2 * nbi + d_old)
                    ss = np.nansum((Sb - g_new) ** 2, axis=0)
                    d_new = (0.5 * ss + bb) / (nbi / 2.0 + a - 1.0)
                    change = max(np.nanmax(np.abs(g_new - g_old) / np.maximum(np.abs(g_old), 1e-12)),
                                 np.nanmax(np.abs(d_new - d_old) / np.maximum(np.abs(d_old), 1e-12)))
                    g_old, d_old = g_new, d_new
                    if change < self.tol:
                        break
                g_star, d_star = g_old, d_old
            else:
                raise InputError("ComBat: non-parametric priors are not available yet; set parametric: true.")
            keep = usable | (n_bj[i] == 1)
            gamma_star[i] = np.where(keep, g_star, 0.0)
            delta_star[i] = np.where(usable, d_star, 1.0)
        self.gamma_star_ = gamma_star
        self.delta_star_ = delta_star
        out = self._adjust(V, batch, stand)
        return pd.DataFrame(out, index=X.index, columns=X.columns)

    def _adjust(self, V, batch, stand):
        out = V.copy()
        sd = np.where(self.ok_, self.sd_, 1.0)
        for i, b in enumerate(self.batches_):
            sel = batch == b
            if not sel.any():
                continue
            s = (V[sel] - stand[sel]) / sd
            adj = (s - self.gamma_star_[i]) / np.sqrt(self.delta_star_[i]) * sd + stand[sel]
            out[sel] = np.where(self.ok_[None, :], adj, V[sel])
        return out

    def transform(self, X):
        batch = self.info.loc[X.index, self.batch_column].astype(str).to_numpy()
        unseen = sorted(set(batch) - set(self.batches_))
        if unseen:
            s = X.index[batch == unseen[0]][0]
            raise InputError(
                f"ComBat: sample '{s}' belongs to batch '{unseen[0]}', which has no training samples; its batch "
                "effect cannot be estimated. Include samples of that batch in training, or set batch method 'none'."
            )
        V = X.to_numpy(float)
        stand = np.broadcast_to(self.alpha_[None, :], V.shape)
        out = self._adjust(V, batch, stand)
        return pd.DataFrame(out, index=X.index, columns=X.columns)


# --------------------------------------------------------------------------------------------
# imputation
# --------------------------------------------------------------------------------------------


class KNNImpute(Step):
    """k-nearest-neighbour imputation (scikit-learn's KNNImputer) with neighbours among training samples."""

    def __init__(self, k: int = 10):
        self.k = k

    def fit(self, X, y=None):
        from sklearn.impute import KNNImputer

        self.imputer_ = KNNImputer(n_neighbors=self.k, keep_empty_features=True).fit(X.to_numpy(float))
        return self

    def transform(self, X):
        if not X.isna().to_numpy().any():
            return X
        return pd.DataFrame(self.imputer_.transform(X.to_numpy(float)), index=X.index, columns=X.columns)


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
        out = X.copy()
        for s in X.index:
            row = X.loc[s]
            miss = row.isna().to_numpy()
            if not miss.any():
                continue
            mu = np.nanquantile(row.to_numpy(float), self.q)
            rng = np.random.default_rng(_stable_seed(self.seed, str(s)))
            draws = rng.normal(mu, self.sigma_, X.shape[1])
            out.loc[s] = np.where(miss, draws, row.to_numpy(float))
        return out


class MeanImpute(Step):
    """Feature means of the training samples (a baseline to beat)."""

    def fit(self, X, y=None):
        self.fill_ = X.mean(axis=0, skipna=True).fillna(0.0)
        return self

    def transform(self, X):
        return X.fillna(self.fill_)


# --------------------------------------------------------------------------------------------
# scaling
# --------------------------------------------------------------------------------------------


class Scaler(Step):
    """Centre on training means; ``standard`` divides by the sd, ``pareto`` by its square root."""

    def __init__(self, method: str = "standard"):
        self.method = method

    def fit(self, X, y=None):
        self.mean_ = X.mean(axis=0, skipna=True)
        sd = X.std(axis=0, skipna=True, ddof=1).replace(0, 1.0).fillna(1.0)
        self.div_ = {"standard": sd, "pareto": np.sqrt(sd), "center": sd * 0 + 1.0}.get(self.method)
        if self.div_ is None:
            raise InputError(f"scale: unknown method '{self.method}' (standard, pareto, center, none)")
        return self

    def transform(self, X):
        return (X - self.mean_) / self.div_


# --------------------------------------------------------------------------------------------
# the chain
# --------------------------------------------------------------------------------------------


def make_step(step: str, opts: dict, *, kind: str, info: pd.DataFrame, batch_column: str, covariates,
              log_scale: bool, seed: int) -> Step:
    """Build one step from its config options."""
    opts = dict(opts or {})
    # a filter is on unless switched off; every other step names its method
    method = opts.pop("method", "default" if step == "filter" else "none")
    if method == "none" and not (step == "normalize" and kind in ("metabolomics_intensity", "proteomics_intensity",
                                                                     "rnaseq_counts")):
        return Identity()
    if step == "normalize":
        if kind == "rnaseq_counts":
            if method == "none":
                return Log2(pseudocount=opts.get("pseudocount", 1.0))
            return CountNormalizer(method=method, **opts)
        if kind == "proteomics_intensity" and method == "median":
            return MedianCentering(log=not log_scale)
        if kind == "proteomics_intensity" and method == "none":
            return Log2() if not log_scale else Identity()
        if kind == "metabolomics_intensity":
            return PQN(info=info, method=method, log_input=log_scale)
        if kind == "methylation_beta" and method == "mvalue":
            return MValue(**opts)
        if method == "median":
            return MedianCentering(log=False)
        raise InputError(f"normalize method '{method}' does not apply to kind '{kind}'")
    if step == "qc_drift":
        if method != "rlsc":
            raise InputError(f"qc_drift: unknown method '{method}' (rlsc, none)")
        return QCRLSC(info=info, batch_column=batch_column, **opts)
    if step == "filter":
        if method != "default":
            raise InputError(f"filter: unknown method '{method}' (default, none)")
        return FeatureFilter(**opts)
    if step == "batch":
        if method != "combat":
            raise InputError(f"batch: unknown method '{method}' (combat, none)")
        if not batch_column:
            return Identity()
        return ComBat(info=info, batch_column=batch_column, covariates=tuple(covariates), **opts)
    if step == "impute":
        cls = {"knn": KNNImpute, "halfmin": HalfMinImpute, "minprob": MinProbImpute, "mean": MeanImpute}.get(method)
        if cls is None:
            raise InputError(f"impute: unknown method '{method}' (knn, halfmin, minprob, mean, none)")
        if cls is MinProbImpute:
            opts.setdefault("seed", seed)
        return cls(**opts)
    if step == "scale":
        return Scaler(method=method)
    raise InputError(f"unknown preprocessing step '{step}'")


class LayerPreprocessor(TransformerMixin, BaseEstimator):
    """The per-layer chain: normalize -> qc_drift -> filter -> batch -> impute -> scale.

    ``fit(X, y)`` takes the training samples of one layer (plus its QC injections, if any) and the
    outcome of the training samples; ``transform(X)`` returns the cohort samples of X (QC
    injections removed) processed with the fitted steps.
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
            steps.append((name, make_step(name, settings[name], kind=self.kind, info=self.info,
                                          batch_column=self.batch_column, covariates=self.covariates,
                                          log_scale=self.log_scale, seed=self.seed)))
        return steps

    def _run(self, X, y, fit: bool):
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
                cur = step.fit_transform(cur, yy)
                self.steps_.append((name, step))
                params = {k: v for k, v in step.get_params(deep=False).items() if k != "info"}
                self.history_.append({"step": name, "method": type(step).__name__, "params": repr(params),
                                      "features_in": n_before, "features_out": cur.shape[1],
                                      "missing_fraction_out": float(cur.isna().to_numpy().mean())})
            else:
                cur = step.transform(cur)
            check_layer_not_empty(cur, layer=self.layer, step=name)
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

    def transform(self, X):
        return self._run(X, None, fit=False)

    def named_step(self, name: str):
        return dict(self.steps_).get(name)
