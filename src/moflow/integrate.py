"""Integration strategies as estimators on a dict of preprocessed layers.

* ``SingleLayer``: the baseline, a penalized model on one layer;
* ``EarlyIntegration``: weighted concatenation (each layer scaled so that wide layers do not drown
  narrow ones), a PCA embedding, and a penalized logistic regression;
* ``MOFAClassifier`` (intermediate): MOFA fit on the training samples, every sample projected onto
  it, a penalized model on the factors;
* ``LateIntegration``: one penalized model per layer, out-of-fold predicted probabilities on the
  training samples, a logistic stacking meta-learner.

All take ``fit(layers, y)`` and ``predict_proba(layers)`` with layers = {name: samples x features};
the layers given to ``predict_proba`` must share one sample index (a sample lacking a layer has a row
of missing values there), and the rows of the returned probabilities follow that index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from .mofa import MOFA


def make_classifier(*, penalty: str = "l2", inner_folds: int = 3, n_cs: int = 10, seed: int = 0,
                    max_iter: int = 2000) -> LogisticRegressionCV:
    """Penalized logistic regression whose strength is tuned by inner stratified CV on training data."""
    if penalty == "l2":
        l1_ratios, solver = (0.0,), "lbfgs"
    elif penalty == "elasticnet":
        l1_ratios, solver = (0.2, 0.5, 0.8), "saga"
    elif penalty == "l1":
        l1_ratios, solver = (1.0,), "saga"
    else:
        raise ValueError(f"penalty must be l2, l1 or elasticnet, not {penalty!r}")
    return LogisticRegressionCV(
        Cs=np.logspace(-4, 2, n_cs),
        l1_ratios=l1_ratios,
        cv=StratifiedKFold(inner_folds, shuffle=True, random_state=seed),
        scoring="neg_log_loss",
        solver=solver,
        class_weight="balanced",
        max_iter=max_iter,
        use_legacy_attributes=False,
        random_state=seed,
    )


def _fill(X: pd.DataFrame, means: pd.Series | None = None) -> pd.DataFrame:
    if not X.isna().to_numpy().any():
        return X
    return X.fillna(means if means is not None else X.mean()).fillna(0.0)


def _concat(layers: dict[str, pd.DataFrame], names, weights: dict[str, float], index) -> pd.DataFrame:
    blocks = []
    for n in names:
        X = layers[n].reindex(index)
        blocks.append((X * weights[n]).add_prefix(f"{n}:"))
    return pd.concat(blocks, axis=1)


class _Base(ClassifierMixin, BaseEstimator):
    def predict(self, layers):
        P = self.predict_proba(layers)
        return self.classes_[np.argmax(P, axis=1)]


class SingleLayer(_Base):
    def __init__(self, layer: str, penalty: str = "l2", inner_folds: int = 3, seed: int = 0):
        self.layer = layer
        self.penalty = penalty
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y):
        X = layers[self.layer].loc[y.index]
        self.means_ = X.mean()
        self.model_ = make_classifier(penalty=self.penalty, inner_folds=self.inner_folds, seed=self.seed)
        self.model_.fit(_fill(X, self.means_).to_numpy(), y.to_numpy())
        self.classes_ = self.model_.classes_
        self.features_ = list(X.columns)
        return self

    def predict_proba(self, layers):
        X = layers[self.layer].reindex(columns=self.features_)
        return self.model_.predict_proba(_fill(X, self.means_).to_numpy())

    def coefficients(self) -> pd.DataFrame:
        return _coef_table(self.model_, self.features_, self.layer)


def _coef_table(model, features, layer=None) -> pd.DataFrame:
    coef = model.coef_
    rows = pd.DataFrame(coef.T, index=features,
                        columns=[str(c) for c in (model.classes_[1:] if coef.shape[0] == 1 else model.classes_)])
    rows = rows.rename_axis("feature").reset_index()
    if layer is not None:
        rows.insert(0, "layer", layer)
    else:
        split = rows["feature"].str.split(":", n=1, expand=True)
        rows.insert(0, "layer", split[0])
        rows["feature"] = split[1]
    return rows


class EarlyIntegration(_Base):
    """Weighted concatenation: each layer's block is multiplied by ``weight / sqrt(n_features)``, so that
    every layer brings the same total variance (features are scaled per layer beforehand)."""

    def __init__(self, layer_weights: dict | None = None, penalty: str = "l2", n_components: int = 10,
                 inner_folds: int = 3, seed: int = 0):
        self.layer_weights = layer_weights
        self.penalty = penalty
        self.n_components = n_components
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y):
        self.layers_ = sorted(layers)
        uw = self.layer_weights or {}
        self.weights_ = {n: float(uw.get(n, 1.0)) / np.sqrt(layers[n].shape[1]) for n in self.layers_}
        X = _concat(layers, self.layers_, self.weights_, y.index)
        self.means_ = X.mean()
        Xf = _fill(X, self.means_)
        self.columns_ = list(X.columns)
        k = int(min(self.n_components, Xf.shape[0] - 1, Xf.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.seed).fit(Xf.to_numpy())
        self.model_ = make_classifier(penalty=self.penalty, inner_folds=self.inner_folds, seed=self.seed)
        self.model_.fit(Xf.to_numpy(), y.to_numpy())
        self.classes_ = self.model_.classes_
        return self

    def _matrix(self, layers):
        index = layers[self.layers_[0]].index
        X = _concat(layers, self.layers_, self.weights_, index).reindex(columns=self.columns_)
        return _fill(X, self.means_)

    def predict_proba(self, layers):
        return self.model_.predict_proba(self._matrix(layers).to_numpy())

    def embed(self, layers) -> pd.DataFrame:
        X = self._matrix(layers)
        E = self.pca_.transform(X.to_numpy())
        return pd.DataFrame(E, index=X.index, columns=[f"PC{i + 1}" for i in range(E.shape[1])])

    def coefficients(self) -> pd.DataFrame:
        return _coef_table(self.model_, self.columns_)


class MOFAClassifier(_Base):
    """MOFA fit on the training samples; factors of every sample by projection; a penalized model."""

    def __init__(self, mofa: MOFA | None = None, penalty: str = "l2", inner_folds: int = 3, seed: int = 0):
        self.mofa = mofa
        self.penalty = penalty
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y):
        self.mofa_ = clone(self.mofa) if self.mofa is not None else MOFA(seed=self.seed)
        self.mofa_.fit({n: X.loc[X.index.intersection(y.index)] for n, X in layers.items()})
        Z = self.mofa_.transform(layers).loc[y.index]
        self.model_ = make_classifier(penalty=self.penalty, inner_folds=self.inner_folds, seed=self.seed)
        self.model_.fit(Z.to_numpy(), y.to_numpy())
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, layers):
        return self.model_.predict_proba(self.mofa_.transform(layers).to_numpy())

    def sample_order(self, layers):
        return self.mofa_.transform(layers).index


class LateIntegration(_Base):
    """Per-layer penalized models; their out-of-fold probabilities on the training samples (inner CV)
    train a logistic meta-learner, which also calibrates the combination."""

    def __init__(self, penalty: str = "l2", inner_folds: int = 3, seed: int = 0):
        self.penalty = penalty
        self.inner_folds = inner_folds
        self.seed = seed

    def _meta_features(self, probs: list[np.ndarray]) -> np.ndarray:
        eps = 1e-6
        cols = []
        for P in probs:
            P = np.clip(P, eps, 1 - eps)
            cols.append(np.log(P[:, 1:] / P[:, :1]))  # log-odds against the first class
        return np.hstack(cols)

    def fit(self, layers, y):
        self.layers_ = sorted(layers)
        cv = StratifiedKFold(self.inner_folds, shuffle=True, random_state=self.seed)
        oof = []
        self.base_ = {}
        for n in self.layers_:
            base = SingleLayer(n, penalty=self.penalty, inner_folds=self.inner_folds, seed=self.seed)
            P = np.zeros((len(y), y.nunique()))
            for tr, te in cv.split(np.zeros(len(y)), y.to_numpy()):
                m = clone(base).fit(layers, y.iloc[tr])
                P[te] = m.predict_proba({n: layers[n].loc[y.index[te]]})
            oof.append(P)
            self.base_[n] = clone(base).fit(layers, y)
        self.meta_ = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        self.meta_.fit(self._meta_features(oof), y.to_numpy())
        self.classes_ = self.meta_.classes_
        return self

    def predict_proba(self, layers):
        probs = [self.base_[n].predict_proba(layers) for n in self.layers_]
        return self.meta_.predict_proba(self._meta_features(probs))

    def layer_weights(self) -> pd.DataFrame:
        coef = self.meta_.coef_
        return pd.DataFrame({"layer": self.layers_, "meta_coefficient": coef[0] if coef.shape[0] == 1 else
                             np.abs(coef).mean(0)[: len(self.layers_)]})
