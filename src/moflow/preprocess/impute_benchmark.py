"""How well an imputation recovers values hidden the way the layer loses them.

:func:`missingness_model` (the layer's censoring model), :func:`pattern_mask` (observed cells hidden
by that model), :func:`nrmse`, the baseline :class:`MeanImpute` and :func:`score_imputers`, which
scores imputers against it. :class:`moflow.preprocess.impute.AutoImpute` picks its method with
these; :func:`moflow.preprocess.impute.imputation_table` reports them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import Step, fill_columns


class MeanImpute(Step):
    """Feature means of the training samples (a baseline to beat).

    Attributes
    ----------
    fill_ : pandas.Series
        Training mean of each feature (0 where a feature has no observed value).
    """

    _parameter_constraints: dict = {}

    def fit(self, X, y=None):
        """Learn the feature means from the training samples."""
        self._validate_params()
        self.fill_ = X.mean(axis=0, skipna=True).fillna(0.0)
        return self

    def transform(self, X):
        """Fill each feature's missing cells with its training mean."""
        check_is_fitted(self)
        return fill_columns(X, self.fill_)


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

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features, with its own missing values (features with fewer than 2 observed values
        are left out).
    max_rounds : int
        Largest number of alternations of the ``mu_j`` and (T, s) fits per start.
    max_cells : int
        Largest number of observed cells in the fit of (T, s).
    seed : int
        Seed of the draw of those cells.

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
        return {
            "threshold": float("-inf"),
            "spread": spread_max,
            "sigma": float("nan"),
            "at_random": True,
            "missing_fraction": miss_frac,
        }
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
        return float(
            normal.sum() + weight * special.log_ndtr((sub - T) / s).sum() + (m * special.log_ndtr((T - mu) / tau)).sum()
        )

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
            res = optimize.minimize(
                lambda th, mu_fixed=mu_fixed: -loglik(th[0], np.exp(th[1]), mu_fixed),
                [T, np.log(s)],
                method="L-BFGS-B",
                bounds=[(None, None), (np.log(1e-3 * floor), np.log(spread_max))],
            )
            T_new, s_new = float(res.x[0]), float(np.exp(res.x[1]))
            done = abs(T_new - T) < 1e-5 and abs(s_new - s) < 1e-5
            T, s = T_new, s_new
            if done:
                break
        return T, s, loglik(T, s, mu)

    # two starts (sharp censoring, nearly at random); the higher likelihood wins
    q05 = float(np.quantile(xobs, 0.05))
    wide = spread_max / 3
    fits = [
        fit_from(q05, float(np.median(sigma))),
        fit_from(q05 - wide * special.ndtri(1 - min(max(miss_frac, 1e-3), 0.999)), wide),
    ]
    T, s, _ = max(fits, key=lambda f: f[2])
    return {
        "threshold": T,
        "spread": s,
        "sigma": float(np.median(sigma)),
        "at_random": s >= 0.99 * spread_max,
        "missing_fraction": miss_frac,
    }


def pattern_mask(X: pd.DataFrame, *, fraction: float = 0.1, seed: int = 0, min_left: int = 2) -> np.ndarray:
    """Hide observed cells the way the layer loses values: its own censoring mechanism, raised.

    Each observed cell is hidden with probability ``Phi((T' - value) / s)``, where the spread ``s`` is
    the layer's own (:func:`missingness_model`) and the threshold ``T'`` is set so that the expected
    number of hidden cells is ``fraction`` of the observed ones: the detection limit moves up, so
    low values are hidden more often when the layer's missingness is left-censored; cells are
    hidden uniformly when the model finds the layer missing at random. Features keep at least
    ``min_left`` observed cells and samples at least one.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features, with its own missing values.
    fraction : float
        Expected share of the observed cells to hide.
    seed : int
        Seed of the draws.
    min_left : int
        Fewest observed cells a feature keeps (a feature that would keep fewer is not masked at all).

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
    """Normalized RMSE of imputed values at the masked cells: RMSE / sd of the true values there.

    Parameters
    ----------
    imputed : pandas.DataFrame
        The imputed matrix.
    truth : pandas.DataFrame
        The matrix before masking, aligned with ``imputed``.
    mask : numpy.ndarray
        Boolean mask of the cells to score (:func:`pattern_mask`).

    Returns
    -------
    float
        The NRMSE.
    """
    t = truth.to_numpy(float)[mask]
    d = imputed.to_numpy(float)[mask] - t
    return float(np.sqrt(np.mean(d**2)) / np.std(t))


def score_imputers(
    X: pd.DataFrame, y: pd.Series | None, imputers: dict, *, fraction: float = 0.1, seed: int = 0
) -> pd.DataFrame:
    """NRMSE of each imputer on observed values hidden the way the layer loses them.

    Parameters
    ----------
    X : pandas.DataFrame
        Training samples x features, with their own missing values.
    y : pandas.Series or None
        Training outcome (for methods that use it), or ``None``.
    imputers : dict
        ``{name: unfitted imputer}`` (each is cloned); mean imputation is added as the baseline if
        absent.
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
        raise InputError(
            "impute auto: fewer than 10 observed cells could be hidden to score the methods; "
            "choose an impute method explicitly for this layer."
        )
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
