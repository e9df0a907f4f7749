"""Imputers of left-censored values (missing not at random, MNAR: below a detection limit).

:class:`HalfMinImpute` (each feature's training minimum, shifted), :class:`MinProbImpute` and
:class:`QRILCImpute` (imputeLCMD's random draws from a low quantile or a truncated normal, seeded by
sample ID).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from scipy import special
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import FRACTION, POSITIVE, SEED, Step, fill_columns, stable_seed


class HalfMinImpute(Step):
    """Left-censored imputation: each feature's training minimum minus ``shift`` (log2 scale: -1 = half).

    Parameters
    ----------
    shift : float
        Subtracted from each feature's training minimum.

    Attributes
    ----------
    fill_ : pandas.Series
        Fill value of each feature (a feature without observed values: the overall minimum minus
        ``shift``).
    """

    _parameter_constraints: dict = {"shift": [Real]}

    def __init__(self, shift: float = 1.0):
        self.shift = shift

    def fit(self, X, y=None):
        """Learn each feature's fill value from the training samples."""
        self._validate_params()
        mins = X.min(axis=0, skipna=True)
        self.fill_ = (mins - self.shift).fillna(np.nanmin(X.to_numpy()) - self.shift)
        return self

    def transform(self, X):
        """Fill each feature's missing cells with its fill value."""
        check_is_fitted(self)
        return fill_columns(X, self.fill_)


class MinProbImpute(Step):
    """MinProb (imputeLCMD): draws from N(q-quantile of the sample, sd), sd = median feature sd x tune_sigma.

    Draws are seeded by sample ID, so a sample gets the same values whichever fold it falls in.

    Parameters
    ----------
    q : float
        Quantile of each sample's observed values that is the mean of its draws.
    tune_sigma : float
        Multiplies the median feature sd.
    seed : int
        Seed (combined with each sample ID).

    Attributes
    ----------
    sigma_ : float
        sd of the draws: the median training feature sd times ``tune_sigma``.
    """

    _parameter_constraints: dict = {"q": FRACTION, "tune_sigma": POSITIVE, "seed": SEED}

    def __init__(self, q: float = 0.01, tune_sigma: float = 1.0, *, seed: int):
        self.q = q
        self.tune_sigma = tune_sigma
        self.seed = seed

    def fit(self, X, y=None):
        """Learn the sd of the draws from the training samples."""
        self._validate_params()
        sds = X.std(axis=0, skipna=True, ddof=1)
        self.sigma_ = float(np.nanmedian(sds.to_numpy())) * self.tune_sigma
        return self

    def transform(self, X):
        """Draw each sample's missing cells from a normal at its low quantile."""
        check_is_fitted(self)
        V = X.to_numpy(float)
        out = V.copy()
        for i, s in enumerate(X.index):
            miss = ~np.isfinite(V[i])
            if not miss.any():
                continue
            mu = np.nanquantile(V[i], self.q)
            rng = np.random.default_rng(stable_seed(self.seed, str(s)))
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
    tune_sigma : float
        Multiplies the fitted sd of the draws.
    seed : int
        Seed (combined with each sample ID).

    Attributes
    ----------
    fallback_ : tuple of float
        Median (mean, sd) fitted on the training samples, for samples with too few observed values.
    """

    _parameter_constraints: dict = {"tune_sigma": POSITIVE, "seed": SEED}

    def __init__(self, tune_sigma: float = 1.0, *, seed: int):
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
        """Learn the fallback mean and sd from the training samples."""
        self._validate_params()
        params = [p for p in (self._params(r) for r in X.to_numpy(float)) if p is not None]
        if not params:
            raise InputError(
                "impute qrilc: no training sample has 10 or more observed values to fit its "
                "distribution; use impute method 'halfmin'."
            )
        P = np.array(params)
        self.fallback_ = (float(np.median(P[:, 0])), float(np.median(P[:, 1])))
        return self

    def transform(self, X):
        """Draw each sample's missing cells from its truncated normal."""
        check_is_fitted(self)
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
            rng = np.random.default_rng(stable_seed(self.seed, str(s)))
            u = rng.random(X.shape[1]) * special.ndtr((upper - mu) / sd_draw)
            draws = mu + sd_draw * special.ndtri(np.clip(u, 1e-300, 1.0))
            out[i] = np.where(miss, draws, V[i])
        return pd.DataFrame(out, index=X.index, columns=X.columns)
