"""Cox models for a censored time-to-event outcome, as scikit-learn estimators on a two-column target.

The target ``Y`` is an array of shape (n, 2): follow-up time and event (1: the event was seen, 0:
censored), the layout :func:`moflow.cohort.outcome` gives a survival outcome. ``predict`` returns
the linear predictor (log relative hazard): higher means higher hazard, i.e. shorter survival.

* :class:`PenalizedCox`: elastic-net Cox (scikit-survival's coordinate-descent Coxnet, features
  standardized), its penalty strength chosen by inner cross-validation on the training samples only,
  with the cross-validated partial likelihood of Verweij & van Houwelingen (1993), glmnet's default
  criterion for Cox models: robust where a fold holds few events, where a C-index per fold is not.
* :class:`RidgeCox`: a lightly ridge-penalized Cox model (scikit-survival's CoxPHSurvivalAnalysis) for
  a handful of inputs: the meta-learner of late integration.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

# the ``l1_ratio`` of each penalty setting: Coxnet has no pure ridge (l1_ratio must be > 0), so l2 is
# an elastic net that is nearly all ridge (it keeps every feature, as the ridge of the other outcomes)
L1_RATIOS = {"l2": 0.01, "elasticnet": 0.5, "l1": 1.0}


def split_target(Y) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) from a survival target: a (n, 2) array or a frame with columns time, event."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[1] != 2:
        raise ValueError(f"a survival target has two columns (time, event), not shape {Y.shape}")
    return Y[:, 0], Y[:, 1] > 0


def structured(time, event) -> np.ndarray:
    """scikit-survival's structured target (fields ``event``, ``time``).

    Parameters
    ----------
    time : array-like
        The follow-up time of each sample.
    event : array-like
        Whether the event was seen (true) or the sample censored, per sample.

    Returns
    -------
    numpy.ndarray
        A structured array, one record per sample.
    """
    out = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    out["event"], out["time"] = np.asarray(event, bool), np.asarray(time, float)
    return out


def partial_log_likelihood(eta: np.ndarray, time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Cox partial log-likelihood (Breslow ties) of linear predictors ``eta``; one value per column.

    Parameters
    ----------
    eta : numpy.ndarray
        The linear predictors, shape (n,) or (n, k): one column per model, e.g. per penalty of a path.
    time : numpy.ndarray
        The follow-up time of each sample.
    event : numpy.ndarray
        Whether the event was seen (true) or the sample censored, per sample.

    Returns
    -------
    float or numpy.ndarray
        The log-likelihood: a number for a 1-d ``eta``, else one per column.
    """
    eta = np.asarray(eta, float)
    one = eta.ndim == 1
    E = eta[:, None] if one else eta
    order = np.argsort(time, kind="stable")
    t, e, H = np.asarray(time, float)[order], np.asarray(event, bool)[order], E[order]
    m = H.max(axis=0)
    W = np.exp(H - m)
    at_risk = np.cumsum(W[::-1], axis=0)[::-1]  # sum over samples with time >= t_i (sorted)
    first = np.searchsorted(t, t, side="left")  # tied times share the risk set of the first of them
    ll = (H[e] - m - np.log(at_risk[first[e]])).sum(axis=0)
    return ll[0] if one else ll


class _Quiet:
    """A Coxnet whose ``fit`` keeps quiet about all-zero coefficients.

    The strongest penalties of every path zero them by design (that is where a path starts).
    """

    def __init__(self, model):
        self.model = model

    def fit(self, X, y):
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="all coefficients are zero")
            return self.model.fit(X, y)


class PenalizedCox(RegressorMixin, BaseEstimator):
    """Elastic-net Cox model, penalty tuned by inner CV on the training samples (see module).

    A path of ``n_alphas`` strengths down to ``alpha_min_ratio`` of the smallest that zeroes every
    coefficient; the inner folds are stratified by event status.

    Parameters
    ----------
    l1_ratio : float
        The mixing of the L1 and L2 penalties, in (0, 1] (:data:`L1_RATIOS` per penalty setting).
    n_alphas : int
        The number of strengths on the path (at least 40 where samples outnumber features).
    alpha_min_ratio : float
        The weakest strength as a share of the strongest (at most 1e-4 where samples outnumber features).
    inner_folds : int
        The number of inner folds (fewer where the events or the censored samples are fewer).
    seed : int
        The seed of the inner folds.
    max_iter : int
        Coxnet's iteration limit.
    penalty_factor : array-like, optional
        One factor per feature multiplying the penalty (Coxnet's ``penalty_factor``; 0 leaves a feature
        unpenalized). None: 1 for every feature.

    Attributes
    ----------
    alphas_ : numpy.ndarray
        The path's strengths.
    cv_loglik_ : numpy.ndarray
        The cross-validated partial log-likelihood per strength (``-inf``: not reached in a fold).
    alpha_ : float
        The chosen strength.
    coef_ : numpy.ndarray
        The coefficients at ``alpha_``, on the original feature scale.
    offset_ : float
        Subtracted from ``X @ coef_`` by :meth:`predict`.
    """

    _parameter_constraints: ClassVar[dict] = {
        "l1_ratio": [Interval(Real, 0, 1, closed="right")],
        "n_alphas": [Interval(Integral, 1, None, closed="left")],
        "alpha_min_ratio": [Interval(Real, 0, 1, closed="right")],
        "inner_folds": [Interval(Integral, 2, None, closed="left")],
        "seed": ["random_state"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "penalty_factor": ["array-like", None],
    }

    def __init__(
        self,
        l1_ratio: float = 0.5,
        n_alphas: int = 30,
        alpha_min_ratio: float = 0.01,
        inner_folds: int = 3,
        seed: int = 42,
        max_iter: int = 100000,
        penalty_factor=None,
    ):
        self.l1_ratio = l1_ratio
        self.n_alphas = n_alphas
        self.alpha_min_ratio = alpha_min_ratio
        self.inner_folds = inner_folds
        self.seed = seed
        self.max_iter = max_iter
        self.penalty_factor = penalty_factor

    def _coxnet(self, **kw):
        from sksurv.linear_model import CoxnetSurvivalAnalysis

        if self.penalty_factor is not None:  # 0: an unpenalized column (a clinical covariate)
            kw["penalty_factor"] = np.asarray(self.penalty_factor, float)
        return _Quiet(
            CoxnetSurvivalAnalysis(
                l1_ratio=self.l1_ratio, normalize=True, max_iter=self.max_iter, fit_baseline_model=False, **kw
            )
        )

    def _alphas(self, X, time, event) -> np.ndarray:
        """The path's strengths, log-spaced, from the smallest that zeroes every coefficient down.

        From Coxnet's own strongest down to ``alpha_min_ratio`` of it (1e-4 where samples outnumber
        features, as glmnet); ``n_alphas`` of them (40 with more samples than features: such fits are
        cheap).
        """
        top = self._coxnet(n_alphas=2, alpha_min_ratio=0.5).fit(X, structured(time, event)).alphas_[0]
        wide = X.shape[1] >= X.shape[0]
        ratio = self.alpha_min_ratio if wide else min(self.alpha_min_ratio, 1e-4)
        return np.geomspace(top, top * ratio, self.n_alphas if wide else max(self.n_alphas, 40))

    def _path(self, X, time, event, alphas=None):
        """A Coxnet path over ``alphas`` (default :meth:`_alphas`): (alphas, coef (features x alphas), offsets).

        Coxnet ends a path early once five strengths in a row change its deviance ratio by
        little; with tied times that ratio starts negative (its null deviance ignores the ties, its
        likelihood does not) and a near-ridge path stops at its strongest, all but null, penalties.
        The path is continued from where Coxnet stopped, unless the model is saturated (deviance
        ratio above 0.99, where glmnet stops too). Where the solver fails at the weakest penalties
        (separable data), the path ends at the weakest strength it reached.
        """
        alphas = self._alphas(X, time, event) if alphas is None else np.asarray(alphas, float)
        target = structured(time, event)
        got, coefs, offsets = [], [], []
        while len(got) < len(alphas):
            rest = alphas[len(got) :]
            try:
                m = self._coxnet(alphas=rest).fit(X, target)
            except ArithmeticError:
                m = None
                for k in range(len(rest) - 1, 0, -1):  # the longest prefix the solver can fit
                    try:
                        m = self._coxnet(alphas=rest[:k]).fit(X, target)
                        break
                    except ArithmeticError:
                        continue
                if m is None:
                    if got:
                        break
                    raise
                rest = []  # nothing weaker can be fit
            got += list(np.asarray(m.alphas_, float))
            coefs.append(np.asarray(m.coef_, float))
            offsets.append(np.asarray(m.offset_, float))
            if not len(rest) or np.asarray(m.deviance_ratio_)[-1] > 0.99:
                break
        return np.asarray(got), np.hstack(coefs), np.concatenate(offsets)

    def fit(self, X, Y):
        """Fit the path on ``X`` and ``Y`` (time, event); choose its strength by the inner CV's likelihood."""
        self._validate_params()
        from sklearn.model_selection import KFold, StratifiedKFold

        X = np.asarray(X, float)
        time, event = split_target(Y)
        if not event.any():
            raise ValueError("penalized Cox: the training samples have no event")
        alphas, coef, offset = self._path(X, time, event)
        n_events = int(event.sum())
        k = int(min(self.inner_folds, n_events, len(time) - n_events)) if n_events < len(time) else self.inner_folds
        if k >= 2:
            cv = StratifiedKFold(k, shuffle=True, random_state=self.seed)
            folds = cv.split(X, event)
        else:  # every sample had the event, or too few of one kind to stratify
            folds = KFold(max(2, min(self.inner_folds, len(time))), shuffle=True, random_state=self.seed).split(X)
        cvl = np.zeros(len(alphas))
        for tr, _ in folds:
            if not event[tr].any():
                continue
            _, inner, _ = self._path(X[tr], time[tr], event[tr], alphas=alphas)
            n = inner.shape[1]
            eta = X @ inner
            # Verweij & van Houwelingen: the likelihood the fold's samples add to the full data's
            gain = partial_log_likelihood(eta, time, event) - partial_log_likelihood(eta[tr], time[tr], event[tr])
            cvl[:n] += gain
            cvl[n:] = -np.inf  # strengths the inner fit could not reach are not chosen
        best = int(np.argmax(cvl))
        self.alphas_, self.cv_loglik_, self.alpha_ = alphas, cvl, float(alphas[best])
        self.coef_ = coef[:, best].copy()
        self.offset_ = float(offset[best])
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        """Linear predictor (log relative hazard against the training mean): higher is worse."""
        check_is_fitted(self)
        return np.asarray(X, float) @ self.coef_ - self.offset_


class RidgeCox(RegressorMixin, BaseEstimator):
    """Cox model with a light ridge penalty ``alpha`` on standardized inputs, for a few inputs.

    scikit-survival's CoxPHSurvivalAnalysis, Breslow ties; the inputs are the layers' out-of-fold
    risks of late integration.

    Parameters
    ----------
    alpha : float
        The ridge penalty (on the inputs divided by their SD).
    penalty_factor : array-like, optional
        One factor per input multiplying ``alpha`` (None: 1 for every input).

    Attributes
    ----------
    coef_ : numpy.ndarray
        The coefficients on the original input scale.
    offset_ : float
        The linear predictor at the training means, subtracted by :meth:`predict`.
    """

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty_factor": ["array-like", None],
    }

    def __init__(self, alpha: float = 1.0, penalty_factor=None):
        self.alpha = alpha
        self.penalty_factor = penalty_factor

    def fit(self, X, Y):
        """Fit the ridge Cox model on ``X`` and the target ``Y`` (time, event)."""
        self._validate_params()
        from sksurv.linear_model import CoxPHSurvivalAnalysis

        X = np.asarray(X, float)
        time, event = split_target(Y)
        sd = X.std(axis=0)
        sd[sd == 0] = 1.0  # inputs on their own scales (one layer's risks may spread little): one penalty for all
        alpha = self.alpha if self.penalty_factor is None else self.alpha * np.asarray(self.penalty_factor, float)
        m = CoxPHSurvivalAnalysis(alpha=alpha, ties="breslow").fit(X / sd, structured(time, event))
        self.coef_ = np.asarray(m.coef_, float) / sd
        self.offset_ = float(X.mean(axis=0) @ self.coef_)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        """Linear predictor (log relative hazard against the training mean): higher is worse."""
        check_is_fitted(self)
        return np.asarray(X, float) @ self.coef_ - self.offset_
