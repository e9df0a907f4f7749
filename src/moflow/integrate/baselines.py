"""The baselines every strategy is measured against, and a strategy with the clinical covariates beside it.

* :class:`NaiveBaseline` (``naive``): the training class frequencies, the training mean, or one risk
  for every sample (its survival curve the training samples' Kaplan-Meier/Breslow curve): chance;
* :class:`ClinicalOnly` (``clinical``): the clinical covariates alone, in the model every strategy
  fits (penalty tuned by inner CV);
* :class:`WithClinical` (``<strategy>+clinical``): a fitted strategy's final model refit with the
  clinical covariates beside its design, the omics at the penalty the strategy's own inner CV chose
  and the covariates (nearly) unpenalized (:func:`clinical_block_model`), so that a few covariates
  are not shrunk away by a penalty tuned for thousands of features.

They take ``fit(layers, y, shared=None, clinical=None)`` and ``predict_table(layers, clinical=None)``,
``clinical`` the encoded covariates (:class:`moflow.integrate.clinical.ClinicalEncoder`) of the same
rows; ``uses_clinical`` tells the fold loop to pass them.
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from moflow.integrate.models import TASKS, EncodedClassifier, make_model, target, with_tuned_penalty

BASELINES = ("naive", "clinical", "trees")
WITH_CLINICAL = "+clinical"  # the suffix of a strategy refit with the clinical covariates
# the penalty the covariates get at most (the omics keep theirs): logistic C 1, ridge alpha 1, elastic net 1e-3,
# ridge Cox 1 (on standardized covariates; the partial likelihood sums over events)
LIGHT = {"C": 1.0, "ridge": 1.0, "enet": 1e-3, "cox": 1.0}
# the clinical baseline tunes its penalty only where the covariates are many for the outcome: fewer than 10
# samples of the smallest class (events; samples) per encoded column (Peduzzi et al. 1996; Riley et al. 2020)
PER_COLUMN = 10


def _table(index, values: np.ndarray, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(values, index=index, columns=columns)


class NaiveBaseline(BaseEstimator):
    """Chance: the training class frequencies, the training mean, or the same risk for every sample.

    Parameters
    ----------
    task : str
        ``classification``, ``regression`` or ``survival``.
    """

    _parameter_constraints: ClassVar[dict] = {"task": [StrOptions(set(TASKS))]}
    uses_clinical = False

    def __init__(self, task: str = "classification"):
        self.task = task

    def fit(self, layers, y, *, shared=None):
        """Learn the class frequencies or the mean of the training outcome ``y`` (layers are not used)."""
        self._validate_params()
        if self.task == "classification":
            freq = pd.Series(np.asarray(y)).astype(str).value_counts(normalize=True).sort_index()
            self.classes_ = freq.index.to_numpy()
            self.prior_ = freq.to_numpy(float)
        elif self.task == "regression":
            self.mean_ = float(np.mean(np.asarray(y, float)))
        else:
            self.mean_ = 0.0
        return self

    def columns(self) -> list[str]:
        """``p_<class>`` per class, ``risk`` (survival) or ``prediction``."""
        check_is_fitted(self, "mean_" if self.task != "classification" else "prior_")
        if self.task == "classification":
            return [f"p_{c}" for c in self.classes_]
        return ["risk"] if self.task == "survival" else ["prediction"]

    def predict_table(self, layers) -> pd.DataFrame:
        """The same prediction for every sample of ``layers`` (the index of its first layer)."""
        check_is_fitted(self, "mean_" if self.task != "classification" else "prior_")
        index = next(iter(layers.values())).index
        if self.task == "classification":
            return _table(index, np.tile(self.prior_, (len(index), 1)), self.columns())
        return _table(index, np.full((len(index), 1), self.mean_), self.columns())


class ClinicalOnly(BaseEstimator):
    """The clinical covariates alone: the model the strategies fit, its penalty light or tuned by inner CV.

    Where the training samples hold at least :data:`PER_COLUMN` samples of the smallest class (events;
    samples) per encoded covariate column, the covariates get the light penalty they get beside the
    omics (:data:`LIGHT`: a clinical model as it is usually fit, nearly unpenalized, and one fit instead
    of an inner CV); with more columns for the outcome the penalty is tuned by inner CV.

    Parameters
    ----------
    task : str
        ``classification``, ``regression`` or ``survival``.
    inner_folds : int
        The inner folds that tune the penalty.
    seed : int
        The seed of the inner folds.
    """

    _parameter_constraints: ClassVar[dict] = {
        "task": [StrOptions(set(TASKS))],
        "inner_folds": [Interval(Integral, 2, None, closed="left")],
        "seed": ["random_state"],
    }
    uses_clinical = True

    def __init__(self, task: str = "classification", inner_folds: int = 3, seed: int = 42):
        self.task = task
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y, *, shared=None, clinical=None):
        """Fit the model on the encoded covariates of the training samples ``y.index``."""
        self._validate_params()
        if clinical is None:
            raise ValueError("the clinical baseline needs the encoded clinical covariates (clinical=...)")
        self.columns_ = list(clinical.columns)
        Y = target(y)
        if self.task == "classification":
            effective = int(pd.Series(np.asarray(Y)).value_counts().min())
        elif self.task == "survival":
            from moflow.integrate.cox import split_target

            effective = int(split_target(Y)[1].sum())
        else:
            effective = len(y)
        self.tuned_ = effective < PER_COLUMN * max(1, len(self.columns_))
        if self.tuned_:
            model = make_model(task=self.task, penalty="l2", inner_folds=self.inner_folds, seed=self.seed)
        else:
            model = _light_model(self.task, self.seed)
        self.model_ = model.fit(clinical.loc[y.index].to_numpy(float), Y)
        if self.task == "classification":
            self.classes_ = self.model_.classes_
        return self

    def columns(self) -> list[str]:
        """``p_<class>`` per class, ``risk`` (survival) or ``prediction``."""
        check_is_fitted(self)
        if self.task == "classification":
            return [f"p_{c}" for c in self.classes_]
        return ["risk"] if self.task == "survival" else ["prediction"]

    def predict_table(self, layers, *, clinical=None) -> pd.DataFrame:
        """Predictions of the samples of ``layers`` from their covariates ``clinical``."""
        check_is_fitted(self)
        index = next(iter(layers.values())).index
        X = clinical.reindex(index=index, columns=self.columns_).to_numpy(float)
        if self.task == "classification":
            return _table(index, self.model_.predict_proba(X), self.columns())
        return _table(index, self.model_.predict(X)[:, None], self.columns())


def _light_model(task: str, seed: int):
    """The covariates' light penalty (:data:`LIGHT`) as a model of its own: logistic, ridge or ridge Cox."""
    from sklearn.linear_model import LogisticRegression, Ridge

    from moflow.integrate.cox import RidgeCox

    if task == "classification":
        return EncodedClassifier(
            LogisticRegression(C=LIGHT["C"], class_weight="balanced", max_iter=2000, random_state=seed)
        )
    if task == "survival":
        return RidgeCox(alpha=LIGHT["cox"])
    return Ridge(alpha=LIGHT["ridge"])


def clinical_block_model(fitted, n_design: int, n_clinical: int):
    """The model to refit on [design, covariates]: the omics at ``fitted``'s tuned penalty, the covariates light.

    ``fitted`` is a strategy's fitted final model. Its penalty, tuned by the strategy's inner CV, is
    fixed for the design's columns (:func:`moflow.integrate.models.with_tuned_penalty`); the covariates
    get at most the light penalties of :data:`LIGHT`: by a penalty factor of 0 (Cox models: unpenalized)
    or by scaling their columns by ``s`` (an L2 penalty on a column scaled by ``s`` is the penalty
    divided by ``s^2``; L1 by ``s``). A tree ensemble is refit as it was (scale does not matter to it).

    Parameters
    ----------
    fitted : estimator
        The strategy's fitted final model (``model_``).
    n_design, n_clinical : int
        The numbers of design and covariate columns.

    Returns
    -------
    tuple
        (unfitted model, scale of the covariate columns).
    """
    from sklearn.linear_model import ElasticNet, LogisticRegression, LogisticRegressionCV, Ridge, RidgeCV

    from moflow.integrate.cox import PenalizedCox, RidgeCox

    factor = np.r_[np.ones(n_design), np.zeros(n_clinical)]
    if isinstance(fitted, PenalizedCox):
        model = with_tuned_penalty(fitted)
        return model.set_params(penalty_factor=factor), 1.0
    if isinstance(fitted, RidgeCox):
        return RidgeCox(alpha=fitted.alpha, penalty_factor=np.r_[np.ones(n_design), np.full(n_clinical, 1e-3)]), 1.0
    inner = fitted.estimator_ if isinstance(fitted, EncodedClassifier) else fitted
    if isinstance(inner, LogisticRegression) and not isinstance(inner, LogisticRegressionCV):  # late's meta-learner
        model = EncodedClassifier(clone(inner))
    elif isinstance(fitted, RidgeCV):
        model = Ridge(alpha=float(fitted.alpha_))
    else:
        model = with_tuned_penalty(fitted)
    if model is None:  # a tree ensemble: refit as it is
        return clone(fitted), 1.0
    m = model.estimator if isinstance(model, EncodedClassifier) else model
    if isinstance(m, LogisticRegression):
        return model, float(np.sqrt(max(1.0, LIGHT["C"] / m.C)))
    if isinstance(m, Ridge):
        return model, float(np.sqrt(max(1.0, m.alpha / LIGHT["ridge"])))
    if isinstance(m, ElasticNet):
        return model, float(min(max(1.0, m.alpha / LIGHT["enet"]), 1e4))
    return model, 1.0


class WithClinical(BaseEstimator):
    """A fitted strategy's final model refit with the clinical covariates beside its design.

    The strategy's per-layer parts (preprocessed layers, MOFA, PCAs, base models) and its tuned omics
    penalty are kept; only the final model is refit, on the design and the covariates
    (:func:`clinical_block_model`). A sample lacking layers is predicted as the strategy predicts it
    (a model on the layers it has, here with the covariates).

    Parameters
    ----------
    fitted : StrategyBase
        The strategy: fitted already on the same training samples (the fold loop's case: not refit), or
        unfitted (then a clone of it is fit here first, on ``layers`` and ``y``).

    Attributes
    ----------
    base_ : StrategyBase
        The fitted strategy.
    model_, scale_ : estimator, float
        The refit final model and the scale of the covariate columns (:func:`clinical_block_model`).
    subset_models_ : dict
        Layer subset -> (model, scale): the full design's, and those of held-out samples lacking layers,
        fit on the training samples when such a sample first comes.
    """

    _parameter_constraints: ClassVar[dict] = {"fitted": [HasMethods(["fit", "predict_table"]), None]}
    uses_clinical = True

    def __init__(self, fitted=None):
        self.fitted = fitted

    def fit(self, layers, y, *, shared=None, clinical=None):
        """Refit the strategy's final model with the covariates ``clinical`` of its training samples."""
        self._validate_params()
        if clinical is None or self.fitted is None:
            raise ValueError(
                "WithClinical needs a strategy (fitted=...) and the encoded clinical covariates (clinical=...)"
            )
        base = self.fitted
        try:
            check_is_fitted(base)
        except NotFittedError:
            base = clone(base).fit(layers, y, shared=shared)
        self.base_ = base
        self.task = base.task
        self.clinical_ = clinical
        self.subset_models_ = {}
        full = tuple(base.layers_)
        self.model_, self.scale_ = self._fit_subset(full, base.model_)
        self.subset_models_[full] = (self.model_, self.scale_)
        if self.task == "classification":
            self.classes_ = base.classes_
        return self

    def _fit_subset(self, subset, fitted_final):
        base = self.base_
        full = tuple(base.layers_)
        D = base.full_design_ if subset == full and hasattr(base, "full_design_") else base._train_design(subset)
        C = self.clinical_.loc[base.y_.index]
        model, scale = clinical_block_model(fitted_final, D.shape[1], C.shape[1])
        X = np.hstack([D.to_numpy(float), C.to_numpy(float) * scale])
        return model.fit(X, target(base.y_)), scale

    def columns(self) -> list[str]:
        """The strategy's columns."""
        return self.base_.columns()

    def coefficients(self) -> pd.DataFrame:
        """The refit model's coefficients of the design and the covariates (on the covariates' encoded scale)."""
        from moflow.integrate.base import coefficient_table

        check_is_fitted(self)
        base = self.base_
        cols = base.design_columns_ if hasattr(base, "design_columns_") else list(base.full_design_.columns)
        names = [c if ":" in str(c) else f"design:{c}" for c in cols] + list(self.clinical_.columns)
        table = coefficient_table(self.model_, names)
        value = [c for c in table.columns if c not in ("layer", "feature", "importance")]
        clin = table["layer"] == "clinical"
        table.loc[clin, value] = table.loc[clin, value] * self.scale_
        return table

    def predict_table(self, layers, *, clinical=None, designs: dict | None = None) -> pd.DataFrame:
        """Predictions of the samples of ``layers`` with their covariates ``clinical``.

        ``designs``: the strategy's designs of these rows, as its own :meth:`predict_table` filled them
        (the fold loop passes them; a design not among them is built).
        """
        from moflow.integrate.base import observed_rows

        check_is_fitted(self)
        base = self.base_
        index = layers[base.layers_[0]].index
        out = pd.DataFrame(np.nan, index=index, columns=self.columns())
        seen = pd.DataFrame({n: index.isin(observed_rows(layers[n].reindex(index))) for n in base.layers_}, index=index)
        full = tuple(base.layers_)
        patterns = seen.apply(lambda r: tuple(n for n in base.layers_ if r[n]), axis=1)
        C = clinical.reindex(index=index, columns=self.clinical_.columns)
        for pattern in dict.fromkeys(patterns):
            rows = index[(patterns == pattern).to_numpy()]
            if not pattern or (pattern != full and base.missing == "drop"):
                continue
            subset = full if pattern == full or base.missing == "impute" else pattern
            if subset not in self.subset_models_:
                self.subset_models_[subset] = self._fit_subset(subset, base._subset_model(subset))
            model, scale = self.subset_models_[subset]
            D = (designs or {}).get((subset, tuple(rows)))
            if D is None:
                D = base._design(layers, rows, subset)
            X = pd.DataFrame(np.hstack([D.to_numpy(float), C.loc[rows].to_numpy(float) * scale]), index=rows)
            out.loc[rows] = base._predict_rows(model, X)
        return out
