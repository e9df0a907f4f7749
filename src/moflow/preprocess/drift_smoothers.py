"""The smoothers of the run-order drift steps (:mod:`moflow.preprocess.qc_drift`).

LOWESS of many columns at once (:func:`lowess_columns`, statsmodels' algorithm vectorised), cubic smoothing splines with
one penalty chosen by generalized cross-validation (:func:`spline_trend`) and the column-wise linear
interpolation of a fitted trend at new injection orders (:func:`interp_columns`).
"""

from __future__ import annotations

import numpy as np


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


def lowess_columns(
    x: np.ndarray,
    Y: np.ndarray,
    frac: float = 2 / 3,
    it: int = 3,
    chunk: int = 4_000_000,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """LOWESS of every column of ``Y`` over the same sorted ``x``, vectorised.

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
    mask
        n x p, True where ``Y`` is observed; ``None``: every cell is. Unobserved cells get weight 0
        (the neighbourhoods stay those of all n abscissae) and still get a fitted value; one whose
        neighbourhood holds fewer than two observed cells is interpolated from the column's other
        fitted values. Without missing cells the result is statsmodels' exactly.

    Returns
    -------
    numpy.ndarray
        n x p fitted values at ``x``.
    """
    x = np.asarray(x, float)
    W0 = _lowess_weights(x, frac)
    n, p = Y.shape
    out = np.empty((n, p))
    step = max(1, chunk // max(n * n, 1))
    masked = mask is not None and not np.asarray(mask).all()
    for s in range(0, p, step):
        Yc = Y[:, s : s + step]
        Mc = np.asarray(mask[:, s : s + step], float) if masked else None
        if masked:
            Yc = np.where(Mc > 0, Yc, 0.0)
        R = np.ones_like(Yc) if not masked else Mc.copy()
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
            fit = np.where(nz >= 2, fit, Yc if not masked else np.nan)
            resid = np.abs(Yc - fit)
            if masked:
                resid = np.where(Mc > 0, resid, np.nan)
                with np.errstate(all="ignore"):
                    med = np.nan_to_num(np.nanmedian(resid, 0))
            else:
                med = np.median(resid, 0)
            scaled = np.where(med > 0, resid / np.where(med > 0, 6.0 * med, 1.0), (resid > 0).astype(float))
            R = (1.0 - np.minimum(scaled, 1.0) ** 2) ** 2
            if masked:
                R = np.where(np.isfinite(R), R, 1.0) * Mc
        out[:, s : s + step] = fit
    if masked:
        for j in np.flatnonzero(~np.isfinite(out).all(0)):
            ok = np.isfinite(out[:, j])
            out[:, j] = np.interp(x, x[ok], out[ok, j]) if ok.any() else np.nan
    return out


def interp_columns(xq: np.ndarray, x: np.ndarray, F: np.ndarray) -> np.ndarray:
    """np.interp of every column of F (len(x) x p) at xq, constant beyond the ends; NaN columns stay NaN.

    Parameters
    ----------
    xq : numpy.ndarray
        Abscissae to interpolate at.
    x : numpy.ndarray
        Sorted abscissae of the rows of ``F``.
    F : numpy.ndarray
        len(x) x p values.

    Returns
    -------
    numpy.ndarray
        len(xq) x p interpolated values.
    """
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


def spline_trend(
    o: np.ndarray, V: np.ndarray, lam: float | None, *, min_points: int, frac: float, it: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cubic smoothing splines of the columns of V, evaluated on a grid of ``o`` plus 64 even points.

    One penalty for all columns (``lam``; ``None``: GCV over the complete columns). A column with fewer
    than 5 observed values uses LOWESS from ``min_points`` on, its median below that (NaN: none observed).

    Parameters
    ----------
    o : numpy.ndarray
        Sorted, distinct injection orders of the rows of ``V``.
    V : numpy.ndarray
        Rows x columns values (NaN: not observed).
    lam : float or None
        Penalty of the splines; ``None``: chosen by generalized cross-validation.
    min_points : int
        Fewest observed values for a LOWESS fit of a column with fewer than 5.
    frac, it
        LOWESS options (statsmodels').

    Returns
    -------
    grid : numpy.ndarray
        The evaluation grid.
    fitted : numpy.ndarray
        grid x columns fitted values.
    """
    from scipy.interpolate import make_smoothing_spline
    from statsmodels.nonparametric.smoothers_lowess import lowess

    complete = np.isfinite(V).all(0)
    grid = np.unique(np.concatenate([o, np.linspace(o[0], o[-1], 64)]))
    fitted = np.full((len(grid), V.shape[1]), np.nan)
    if lam is None:  # one GCV choice, over the features with every value observed
        lam = _spline_gcv_lam(o, V[:, complete]) if complete.any() else float(np.ptp(o) ** 3 / len(o))
    if complete.any():
        fitted[:, complete] = make_smoothing_spline(o, V[:, complete], lam=lam)(grid)
    for j in np.flatnonzero(~complete):
        ok = np.isfinite(V[:, j])
        if ok.sum() >= 5:
            fitted[:, j] = make_smoothing_spline(o[ok], V[ok, j], lam=lam)(grid)
        elif ok.sum() >= min_points:
            fitted[:, j] = np.interp(grid, *lowess(V[ok, j], o[ok], frac=frac, it=it, return_sorted=True).T)
        elif ok.any():
            fitted[:, j] = np.nanmedian(V[:, j])
    return grid, fitted
