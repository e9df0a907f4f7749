"""A strategy whose class probabilities are recalibrated (Platt or isotonic) inside its training samples.

``evaluation: recalibration: [platt, isotonic]`` adds, for a class outcome, the scoreboard rows
``<strategy>+platt`` and ``<strategy>+isotonic`` for every integration strategy: the same strategy,
its probabilities mapped through a calibrator fitted on out-of-fold probabilities of the training
side only (inner folds, the strategy refit on each), as scikit-learn's
``CalibratedClassifierCV(ensemble=False)`` does for an estimator of one matrix. The nested CV scores
them like any other row, so whether recalibration helps (Brier score, calibration slope in
``results/evaluate/calibration.tsv``; discrimination on the scoreboard) is measured, not assumed.

* Platt: a logistic regression of the outcome on the logit of the probability (per class, one against
  the rest, for more than two classes, then normalized to sum to 1);
* isotonic: a monotone step function of the probability (scikit-learn's ``IsotonicRegression``), better
  with many samples, prone to overfit with few.
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

RECALIBRATION_METHODS = ("platt", "isotonic")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class Calibrator:
    """A fitted calibrator of one class's probabilities (picklable: the model bundle keeps it).

    Parameters
    ----------
    method : str
        ``platt``, ``isotonic`` or ``constant``.
    model : estimator, optional
        The fitted logistic regression (Platt) or isotonic regression.
    share : float, optional
        The constant (one outcome only among the calibration samples).
    """

    def __init__(self, method: str, model=None, share: float | None = None):
        self.method = method
        self.model = model
        self.share = share

    def __call__(self, q) -> np.ndarray:
        """The calibrated probabilities of ``q``."""
        q = np.asarray(q, float)
        if self.method == "constant":
            return np.full(len(q), self.share)
        if self.method == "platt":
            return self.model.predict_proba(_logit(q)[:, None])[:, 1]
        return self.model.predict(q)


def fit_calibrator(p: np.ndarray, hit: np.ndarray, method: str) -> Calibrator:
    """A calibrator of probabilities ``p`` of one class against whether the sample is of it (``hit``).

    Parameters
    ----------
    p : numpy.ndarray
        Out-of-fold probabilities of the class.
    hit : numpy.ndarray of bool
        Whether each sample is of the class.
    method : str
        ``platt`` or ``isotonic``.

    Returns
    -------
    Calibrator
        Maps probabilities to calibrated ones.
    """
    hit = np.asarray(hit, bool)
    if hit.all() or not hit.any():  # one outcome only among the calibration samples: a constant
        return Calibrator("constant", share=float(hit.mean()))
    if method == "platt":
        model = LogisticRegression(C=1e6).fit(_logit(p)[:, None], hit)  # nearly unpenalized, as Platt's
        return Calibrator("platt", model)
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, hit.astype(float))
    return Calibrator("isotonic", model)


class Recalibrated(BaseEstimator):
    """A strategy with its class probabilities recalibrated on out-of-fold probabilities of its training side.

    Parameters
    ----------
    factory : callable
        Returns the unfitted strategy (:func:`moflow.integrate.strategy_factory`).
    method : {"platt", "isotonic"}
        The calibrator.
    inner_folds : int
        The inner folds whose held-out probabilities the calibrators are fitted on.
    seed : int
        Their shuffling seed.

    Attributes
    ----------
    base_ : StrategyBase
        The strategy fitted on every training sample (its probabilities are recalibrated).
    calibrators_ : list of Calibrator
        One per class (binary: one, of the second class).
    classes_ : numpy.ndarray
        The classes.
    """

    _parameter_constraints: ClassVar[dict] = {
        "factory": [callable, None],
        "method": [StrOptions(set(RECALIBRATION_METHODS))],
        "inner_folds": [Interval(Integral, 2, None, closed="left")],
        "seed": ["random_state"],
    }

    def __init__(self, factory=None, method: str = "platt", inner_folds: int = 3, seed: int = 42):
        self.factory = factory
        self.method = method
        self.inner_folds = inner_folds
        self.seed = seed

    @property
    def layers_(self) -> list:
        """The layers of the fitted strategy."""
        check_is_fitted(self)
        return self.base_.layers_

    @property
    def task(self) -> str:
        """Always ``classification``."""
        return "classification"

    def fit(self, layers: dict, y: pd.Series, *, shared=None):
        """Fit the calibrators on inner out-of-fold probabilities, then the strategy on every training sample."""
        from moflow.integrate.models import inner_cv
        from moflow.integrate.single import SharedFits

        self._validate_params()
        if self.factory is None:
            raise ValueError("Recalibrated needs the strategy's factory (factory=...)")
        y = y.astype(str)
        self.classes_ = np.array(sorted(y.unique()), dtype=object)
        cols = [f"p_{c}" for c in self.classes_]
        oof = pd.DataFrame(np.nan, index=y.index, columns=cols)
        cv = inner_cv("classification", int(self.inner_folds), int(self.seed))
        for tr, te in cv.split(np.zeros(len(y)), y.to_numpy()):
            train, test = y.index[tr], y.index[te]
            model = self.factory().fit({n: X.loc[train] for n, X in layers.items()}, y.loc[train], shared=SharedFits())
            T = model.predict_table({n: X.loc[test] for n, X in layers.items()}).reindex(index=test, columns=cols)
            predicted = T.notna().any(axis=1)  # a class absent from this inner training side: probability 0
            T.loc[predicted] = T.loc[predicted].fillna(0.0)
            oof.loc[test] = T.to_numpy(float)
        ok = oof.notna().all(axis=1).to_numpy()
        P, labels = oof.to_numpy(float)[ok], y.to_numpy()[ok]
        which = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        self.calibrators_ = [
            fit_calibrator(P[:, list(self.classes_).index(c)], labels == c, self.method) for c in which
        ]
        self.base_ = self.factory().fit(layers, y, shared=shared)
        return self

    def calibrate(self, P: np.ndarray) -> np.ndarray:
        """Map a matrix of class probabilities (columns in the order of ``classes_``) through the calibrators."""
        P = np.asarray(P, float)
        out = np.full_like(P, np.nan)
        ok = ~np.isnan(P).any(axis=1)
        if not ok.any():
            return out
        if len(self.classes_) == 2:
            q = np.clip(self.calibrators_[0](P[ok, 1]), 0.0, 1.0)
            out[ok] = np.column_stack([1 - q, q])
            return out
        Q = np.column_stack([f(P[ok, j]) for j, f in enumerate(self.calibrators_)])
        total = Q.sum(axis=1, keepdims=True)
        Q = np.where(total > 0, Q / np.where(total > 0, total, 1.0), 1.0 / Q.shape[1])
        out[ok] = Q
        return out

    def predict_table(self, layers: dict, **kwargs) -> pd.DataFrame:
        """The strategy's prediction table with recalibrated ``p_<class>`` columns."""
        check_is_fitted(self)
        T = self.base_.predict_table(layers, **kwargs)
        cols = [f"p_{c}" for c in self.classes_]
        out = T.copy()
        out[cols] = self.calibrate(T.reindex(columns=cols).to_numpy(float))
        return out
