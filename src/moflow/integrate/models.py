"""The models the integration strategies fit, and the inner cross-validation that tunes them.

* :func:`make_model`: a penalized linear model whose strength is tuned by inner CV on the training
  samples only (logistic, ridge / elastic net, or penalized Cox for survival), or a random forest;
* :func:`with_tuned_penalty`: the same model, unfitted, at the penalty a tuned fit chose (no inner CV);
* :class:`EncodedClassifier`: a classifier fit on the integer codes of the labels;
* :class:`InnerStratifiedKFold`, :func:`inner_cv`, :func:`inner_strata`: the inner folds;
* :func:`target`: the array a model is fit on (labels, values, or time and event).

``task`` is ``classification`` (binary or multiclass; class weights balanced), ``regression`` or
``survival`` (a censored time to event: every model is a Cox model, :mod:`moflow.integrate.cox`).
"""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import (
    ElasticNetCV,
    LogisticRegression,
    LogisticRegressionCV,
    RidgeCV,
)
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError

TASKS = ("classification", "regression", "survival")
log = logging.getLogger("moflow")


class InnerStratifiedKFold(StratifiedKFold):
    """Stratified inner folds, as many as configured or as the smallest class allows, whichever is fewer.

    The count is capped by the smallest class of the samples being split (at least 2): a small
    training side (3 samples per class in 3 outer folds leave 2 per class for training) is still
    tuned, by 2 inner folds instead of failing. Where it caps, a log line says so.

    Parameters
    ----------
    n_splits : int
        The configured number of folds (at most).
    shuffle, random_state
        As :class:`sklearn.model_selection.StratifiedKFold`.
    """

    def _k(self, y) -> int:
        if y is None:
            return self.n_splits
        _, counts = np.unique(np.asarray(y), return_counts=True)
        smallest = int(counts.min()) if len(counts) else 0
        if smallest < 2:
            raise InputError(
                f"a training side holds {smallest} sample(s) of one outcome group, too few for the inner "
                "cross-validation that tunes the models (2 at least). Lower 'evaluation: folds' (more samples on "
                "each training side), merge small classes, or add samples."
            )
        return min(self.n_splits, smallest)

    def split(self, X, y, groups=None):
        """Generate the train and test indices of each fold, stratified by ``y``, with the capped count.

        Raises :class:`moflow.errors.InputError` where a class of ``y`` has fewer than 2 samples.
        """
        k = self._k(y)
        if k < self.n_splits:
            log.info(
                "inner CV: %d folds instead of %d (the smallest outcome group of this training side has %d samples)",
                k,
                self.n_splits,
                k,
            )
            return StratifiedKFold(k, shuffle=self.shuffle, random_state=self.random_state).split(X, y, groups)
        return super().split(X, y, groups)

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of folds :meth:`split` makes of ``y`` (``n_splits`` without ``y``)."""
        return self._k(y)


def inner_cv(task: str, folds: int, seed: int):
    """The inner folds that tune a model: stratified (by class, or by event status for survival) or plain.

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    folds : int
        The number of folds (:class:`InnerStratifiedKFold` may make fewer).
    seed : int
        The shuffling seed.

    Returns
    -------
    InnerStratifiedKFold or sklearn.model_selection.KFold
        Stratified for classification and survival (split on :func:`inner_strata`), plain for regression.
    """
    if task in ("classification", "survival"):  # survival: stratified by event status (inner_strata)
        return InnerStratifiedKFold(folds, shuffle=True, random_state=seed)
    return KFold(folds, shuffle=True, random_state=seed)


def inner_strata(y, task: str) -> np.ndarray:
    """What inner folds are stratified on: the class, the event status (survival), nothing.

    Parameters
    ----------
    y : pandas.Series or pandas.DataFrame
        The outcome: labels, values, or columns time and event (survival).
    task : str
        One of :data:`TASKS`.

    Returns
    -------
    numpy.ndarray
        The labels (classification), ``event > 0`` (survival) or zeros (regression), one per sample.
    """
    if task == "classification":
        return np.asarray(y)
    if task == "survival":
        return np.asarray(y["event"], float) > 0
    return np.zeros(len(y))


def target(y):
    """The array a model is fit on: labels or values, or (time, event) columns for survival."""
    return y.to_numpy(float) if isinstance(y, pd.DataFrame) else y.to_numpy()


class EncodedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fit on the integer codes of the labels, whose ``classes_`` are the labels themselves.

    The codes follow the labels' sorted order. scikit-learn's LogisticRegressionCV rejects string
    labels that look like numbers (outcomes coded "0"/"1": "The classes, [0, 1], are not in
    class_weight"); codes avoid that and change nothing else (the estimator encodes labels in the
    same sorted order).

    Parameters
    ----------
    estimator : estimator
        The unfitted classifier (with ``fit`` and ``predict``); cloned by ``fit``.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The labels, sorted.
    estimator_ : estimator
        The fitted clone of ``estimator``, on the codes.
    """

    _parameter_constraints: ClassVar[dict] = {"estimator": [HasMethods(["fit", "predict"]), None]}

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        """Fit a clone of ``estimator`` on the integer codes of the labels ``y``."""
        self._validate_params()
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator).fit(X, codes)
        return self

    def predict_proba(self, X):
        """Predict the class probabilities (columns in the order of ``classes_``)."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """Predict the labels."""
        check_is_fitted(self)
        return self.classes_[np.asarray(self.estimator_.predict(X), dtype=int)]

    @property
    def coef_(self):
        """The fitted estimator's ``coef_``."""
        return self.estimator_.coef_

    @property
    def intercept_(self):
        """The fitted estimator's ``intercept_``."""
        return self.estimator_.intercept_

    @property
    def feature_importances_(self):
        """The fitted estimator's ``feature_importances_`` (tree ensembles)."""
        return self.estimator_.feature_importances_


def make_model(
    *,
    task: str = "classification",
    penalty: str = "l2",
    model: str = "linear",
    inner_folds: int = 3,
    n_cs: int = 10,
    seed: int,
    max_iter: int = 2000,
):
    """A penalized linear model (strength tuned by inner CV on the training samples only) or a random forest.

    Classification uses balanced class weights.

    Parameters
    ----------
    task : str
        One of :data:`TASKS`: logistic regression (classification), ridge or elastic net (regression),
        :class:`moflow.integrate.cox.PenalizedCox` (survival, linear only).
    penalty : str
        ``l2``, ``l1`` or ``elasticnet``.
    model : str
        ``linear`` or ``random_forest`` (500 trees; not for survival).
    inner_folds : int
        The number of inner folds that tune the penalty (:func:`inner_cv`).
    n_cs : int
        The number of inverse strengths ``C`` tried by logistic regression (log-spaced, 1e-4 to 100).
    seed : int
        The seed of the folds and of the model.
    max_iter : int
        The iteration limit of logistic regression.

    Returns
    -------
    estimator
        Unfitted; classifiers are wrapped in :class:`EncodedClassifier`.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    if task == "survival":
        from moflow.integrate.cox import L1_RATIOS, PenalizedCox

        if model != "linear":
            raise InputError(
                f"model '{model}' is not available for a survival outcome: set the strategy's model "
                "to linear (penalized Cox)."
            )
        if penalty not in L1_RATIOS:
            raise ValueError(f"penalty must be l2, l1 or elasticnet, not {penalty!r}")
        return PenalizedCox(l1_ratio=L1_RATIOS[penalty], inner_folds=inner_folds, seed=seed)
    if model == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        if task == "classification":
            return EncodedClassifier(
                RandomForestClassifier(
                    n_estimators=500, class_weight="balanced_subsample", min_samples_leaf=2, random_state=seed, n_jobs=1
                )
            )
        return RandomForestRegressor(n_estimators=500, min_samples_leaf=2, random_state=seed, n_jobs=1)
    if model != "linear":
        raise ValueError(f"model must be 'linear' or 'random_forest', not {model!r}")
    cv = inner_cv(task, inner_folds, seed)
    if task == "regression":
        if penalty == "l2":
            return RidgeCV(alphas=np.logspace(-3, 4, 15), cv=cv)
        l1 = {"elasticnet": (0.2, 0.5, 0.8), "l1": (1.0,)}.get(penalty)
        if l1 is None:
            raise ValueError(f"penalty must be l2, l1 or elasticnet, not {penalty!r}")
        return ElasticNetCV(l1_ratio=list(l1), alphas=30, cv=cv, max_iter=5000, random_state=seed)
    if penalty == "l2":
        l1_ratios, solver = (0.0,), "lbfgs"
    elif penalty == "elasticnet":
        l1_ratios, solver = (0.2, 0.5, 0.8), "saga"
    elif penalty == "l1":
        l1_ratios, solver = (1.0,), "saga"
    else:
        raise ValueError(f"penalty must be l2, l1 or elasticnet, not {penalty!r}")
    return EncodedClassifier(
        LogisticRegressionCV(
            Cs=np.logspace(-4, 2, n_cs),
            l1_ratios=l1_ratios,
            cv=cv,
            scoring="neg_log_loss",
            solver=solver,
            class_weight="balanced",
            max_iter=max_iter,
            use_legacy_attributes=False,
            random_state=seed,
        )
    )


def with_tuned_penalty(fitted) -> BaseEstimator | None:
    """An unfitted model with the penalty an inner-CV-tuned model (:func:`make_model`) chose, fixed.

    Logistic regression at its C (and l1_ratio), ridge at its alpha, elastic net at its alpha and
    l1_ratio, a penalized Cox model at its strength. None for a model without a tuned penalty (a
    random forest).
    """
    from sklearn.linear_model import ElasticNet, Ridge

    from moflow.integrate.cox import PenalizedCox

    if isinstance(fitted, PenalizedCox):  # the chosen strength as a one-point path, no inner CV
        best = int(np.flatnonzero(fitted.alphas_ == fitted.alpha_)[0])
        return _FixedCox(
            l1_ratio=fitted.l1_ratio, alphas=tuple(map(float, fitted.alphas_[: best + 1])), max_iter=fitted.max_iter
        )
    m = fitted.estimator_ if isinstance(fitted, EncodedClassifier) else fitted
    if isinstance(m, LogisticRegressionCV):
        l1 = float(np.ravel(m.l1_ratio_)[0]) if m.l1_ratio_ is not None else 0.0
        fixed = LogisticRegression(
            C=float(np.ravel(m.C_)[0]),
            l1_ratio=l1,
            solver=m.solver,
            class_weight=m.class_weight,
            max_iter=m.max_iter,
            random_state=m.random_state,
        )
        return EncodedClassifier(fixed)
    if isinstance(m, RidgeCV):
        return Ridge(alpha=float(m.alpha_))
    if isinstance(m, ElasticNetCV):
        return ElasticNet(
            alpha=float(m.alpha_), l1_ratio=float(m.l1_ratio_), max_iter=m.max_iter, random_state=m.random_state
        )
    return None


class _FixedCox(BaseEstimator):
    """Coxnet at the strength an inner-CV-tuned :class:`moflow.integrate.cox.PenalizedCox` chose, no inner CV.

    It fits its path ``alphas`` down to that strength (warm starts from the strongest) and keeps the
    last one.
    """

    _parameter_constraints: ClassVar[dict] = {
        "l1_ratio": [Interval(Real, 0, 1, closed="right")],
        "alphas": ["array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "penalty_factor": ["array-like", None],
    }

    def __init__(self, l1_ratio: float = 0.5, alphas: tuple = (1.0,), max_iter: int = 100000, penalty_factor=None):
        self.l1_ratio = l1_ratio
        self.alphas = alphas
        self.max_iter = max_iter
        self.penalty_factor = penalty_factor

    def fit(self, X, Y):
        self._validate_params()
        from moflow.integrate.cox import PenalizedCox, split_target

        time, event = split_target(Y)
        cox = PenalizedCox(l1_ratio=self.l1_ratio, max_iter=self.max_iter, penalty_factor=self.penalty_factor)
        _, coef, offset = cox._path(np.asarray(X, float), time, event, alphas=np.asarray(self.alphas, float))
        self.coef_, self.offset_ = coef[:, -1].copy(), float(offset[-1])
        return self

    def predict(self, X):
        check_is_fitted(self)
        return np.asarray(X, float) @ self.coef_ - self.offset_
