"""Stage ``qc_drift``: QC-RLSC drift correction over injection order (:class:`QCRLSC`), its LOWESS and
smoothing-spline helpers, and the QC relative standard deviation (:func:`qc_rsd`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ._base import Step, _qc_mask


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
