"""Late integration (:class:`LateIntegration`): one model per layer, stacked by a meta-learner.

The meta-learner is trained on the layer models' out-of-fold predictions on the training samples
(logistic for classes, which also calibrates; ridge for a continuous outcome; a ridge Cox model for
survival).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.utils.validation import check_is_fitted

from moflow.integrate.base import StrategyBase, observed_rows
from moflow.integrate.models import (
    EncodedClassifier,
    inner_cv,
    inner_strata,
    target,
    with_tuned_penalty,
)
from moflow.integrate.single import SharedFits, SingleLayer


class LateIntegration(StrategyBase):
    """Per-layer models stacked by a meta-learner trained on their out-of-fold predictions.

    The out-of-fold predictions are made on the training samples (inner CV); the meta-learner is
    logistic for classes (which also calibrates), ridge for a continuous outcome (and a ridge Cox
    model for survival). A sample lacking layers is scored by a meta-learner trained on the layers it
    has.

    Parameters
    ----------
    task : str
        ``classification``, ``regression`` or ``survival``.
    penalty : str
        The per-layer models' penalty: ``l2``, ``l1`` or ``elasticnet``.
    model : str
        The per-layer models: ``linear`` (penalized, tuned by inner CV) or ``random_forest``.
    inner_folds : int
        The number of inner folds that tune the per-layer models and make the out-of-fold predictions.
    seed : int
        The seed of the inner folds and of the per-layer models.

    Attributes
    ----------
    base_ : dict of str to SingleLayer
        {layer: its fitted model}.
    oof_ : dict of str to pandas.DataFrame
        {layer: the meta-learner's inputs from its out-of-fold predictions on the training samples}.
    model_ : estimator
        The meta-learner.
    """

    _parameter_constraints: ClassVar[dict] = {**StrategyBase._parameter_constraints}

    def __init__(
        self,
        task: str = "classification",
        penalty: str = "l2",
        model: str = "linear",
        inner_folds: int = 3,
        seed: int = 42,
    ):
        self.task = task
        self.penalty = penalty
        self.model = model
        self.inner_folds = inner_folds
        self.seed = seed

    def _meta_block(self, T: pd.DataFrame, layer: str) -> pd.DataFrame:
        P = T.to_numpy(float)
        if self.task == "classification":
            P = np.clip(P, 1e-6, 1 - 1e-6)
            M = np.nan_to_num(np.log(P[:, 1:] / P[:, :1]), nan=0.0)  # log-odds against the first class
        elif self.task == "survival":
            M = np.nan_to_num(P, nan=0.0)  # log relative hazard against the training mean (0: no layer)
        else:
            M = np.where(np.isnan(P), self.y_mean_, P) - self.y_mean_
        return pd.DataFrame(M, index=T.index, columns=[f"{layer}:{i}" for i in range(M.shape[1])])

    def _fit_final(self, D, y):
        if self.task == "classification":
            return EncodedClassifier(LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)).fit(
                D.to_numpy(), y.to_numpy()
            )
        if self.task == "survival":  # a Cox meta-learner on the layers' out-of-fold risks
            from moflow.integrate.cox import RidgeCox

            return RidgeCox(alpha=1.0).fit(D.to_numpy(), target(y))
        return RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(D.to_numpy(), y.to_numpy())

    def fit(self, layers, y, *, shared: SharedFits | None = None):
        """Fit a base model per layer, their out-of-fold predictions, and the meta-learner on them.

        ``shared``: single-layer fits of this CV split to reuse (:class:`SharedFits`).
        """
        self._validate_params()
        self.layers_ = sorted(layers)
        cv = inner_cv(self.task, self.inner_folds, self.seed)
        self.base_, self.oof_ = {}, {}
        self.y_mean_ = float(y.mean()) if self.task == "regression" else 0.0
        for n in self.layers_:
            base = SingleLayer(
                n, task=self.task, penalty=self.penalty, model=self.model, inner_folds=self.inner_folds, seed=self.seed
            )
            self.base_[n] = clone(base).fit(layers, y, shared=shared)
            # out-of-fold predictions for the meta-learner: the base model refit in each inner fold at
            # the penalty its own inner CV chose on these training samples (retuning it inside every
            # inner fold took 13 of late's 15 s per split at 1,000 samples; still no held-out sample)
            oof_model = base.set_params(fixed_model=with_tuned_penalty(self.base_[n].model_))
            have = observed_rows(layers[n].reindex(y.index))
            yy = y.loc[have]
            T = pd.DataFrame(np.nan, index=y.index, columns=self.base_[n].columns())
            strat = inner_strata(yy, self.task)
            for tr, te in cv.split(np.zeros(len(yy)), strat):
                m = clone(oof_model).fit(layers, yy.iloc[tr], shared=shared)
                P = m.predict_table({n: layers[n].reindex(yy.index[te])})
                T.loc[yy.index[te]] = P.reindex(columns=T.columns).fillna(0.0).to_numpy()
            self.oof_[n] = self._meta_block(T, n)
        return self._finish_fit(layers, y)

    def _train_design(self, subset):
        return pd.concat([self.oof_[n] for n in subset], axis=1)

    def _design(self, layers, rows, subset):
        return pd.concat(
            [self._meta_block(self.base_[n].predict_table({n: layers[n].reindex(rows)}), n) for n in subset], axis=1
        )

    def layer_weights(self) -> pd.DataFrame:
        """The meta-learner's mean absolute coefficient of each layer's inputs: layer, meta_weight."""
        check_is_fitted(self)
        coef = np.atleast_2d(self.model_.coef_)
        per = coef.shape[1] // len(self.layers_)
        w = [np.abs(coef[:, i * per : (i + 1) * per]).mean() for i in range(len(self.layers_))]
        return pd.DataFrame({"layer": self.layers_, "meta_weight": w})
