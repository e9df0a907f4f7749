"""Integration strategies as estimators on a dict of preprocessed layers.

* ``SingleLayer``: the baseline, a penalized model on one layer;
* ``EarlyIntegration``: weighted concatenation (each layer scaled so that wide layers do not drown
  narrow ones), a PCA embedding, and a penalized model (or a tree ensemble);
* ``MixedIntegration``: per-layer PCA fit on the training samples, scores concatenated, a model;
* ``MOFAStrategy`` (intermediate): MOFA fit on the training samples, every sample projected onto
  it, a model on the factors;
* ``LateIntegration``: one model per layer, out-of-fold predictions on the training samples, a
  stacking meta-learner (logistic for classes, which also calibrates; ridge for a continuous
  outcome).

All take ``fit(layers, y)`` and ``predict_table(layers)`` with layers = {name: samples x features}.
The layers given for prediction share one sample index; a sample lacking a layer has a row of
missing values there. Rows of the returned table follow that index; a row is all-missing where the
strategy cannot predict that sample (a single layer the sample lacks; early integration with
``missing='drop'`` and an incomplete sample).

``task`` is ``classification`` (binary or multiclass; class weights balanced), ``regression`` or
``survival`` (a censored time to event: ``y`` is a frame with columns time and event, every model is a
Cox model (:mod:`moflow.integrate.cox`) and the table holds one column, ``risk``, the log relative hazard).
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import ElasticNetCV, LogisticRegression, LogisticRegressionCV, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold

from moflow.errors import InputError
from moflow.integrate.mofa import MOFA

TASKS = ("classification", "regression", "survival")
log = logging.getLogger("moflow")


class InnerStratifiedKFold(StratifiedKFold):
    """Stratified inner folds, as many as configured or as the smallest class of the samples being split
    allows, whichever is fewer (at least 2): a small training side (3 samples per class in 3 outer
    folds leave 2 per class for training) is still tuned, by 2 inner folds instead of failing. Where it
    caps, a log line says so."""

    def _k(self, y) -> int:
        if y is None:
            return self.n_splits
        _, counts = np.unique(np.asarray(y), return_counts=True)
        smallest = int(counts.min()) if len(counts) else 0
        if smallest < 2:
            raise InputError(
                f"a training side holds {smallest} sample(s) of one outcome group, too few for the inner "
                "cross-validation that tunes the models (2 at least). Lower 'evaluation: folds' (more samples on "
                "each training side), merge small classes, or add samples.")
        return min(self.n_splits, smallest)

    def split(self, X, y, groups=None):
        k = self._k(y)
        if k < self.n_splits:
            log.info("inner CV: %d folds instead of %d (the smallest outcome group of this training side has %d "
                     "samples)", k, self.n_splits, k)
            return StratifiedKFold(k, shuffle=self.shuffle, random_state=self.random_state).split(X, y, groups)
        return super().split(X, y, groups)

    def get_n_splits(self, X=None, y=None, groups=None):
        return self._k(y)


def inner_cv(task: str, folds: int, seed: int):
    if task in ("classification", "survival"):  # survival: stratified by event status (inner_strata)
        return InnerStratifiedKFold(folds, shuffle=True, random_state=seed)
    return KFold(folds, shuffle=True, random_state=seed)


def inner_strata(y, task: str) -> np.ndarray:
    """What inner folds are stratified on: the class, the event status (survival), nothing."""
    if task == "classification":
        return np.asarray(y)
    if task == "survival":
        return np.asarray(y["event"], float) > 0
    return np.zeros(len(y))


def target(y):
    """The array a model is fit on: labels or values, or (time, event) columns for survival."""
    return y.to_numpy(float) if isinstance(y, pd.DataFrame) else y.to_numpy()


class EncodedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fit on the integer codes of the labels (their sorted order), whose ``classes_`` are
    the labels themselves. scikit-learn's LogisticRegressionCV rejects string labels that look like
    numbers (outcomes coded "0"/"1": "The classes, [0, 1], are not in class_weight"); codes avoid
    that and change nothing else (the estimator encodes labels in the same sorted order)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator).fit(X, codes)
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.asarray(self.estimator_.predict(X), dtype=int)]

    @property
    def coef_(self):
        return self.estimator_.coef_

    @property
    def intercept_(self):
        return self.estimator_.intercept_

    @property
    def feature_importances_(self):
        return self.estimator_.feature_importances_


def make_model(*, task: str = "classification", penalty: str = "l2", model: str = "linear", inner_folds: int = 3,
               n_cs: int = 10, seed: int = 0, max_iter: int = 2000):
    """A penalized linear model whose strength is tuned by inner CV on the training samples only, or a
    random forest. Classification uses balanced class weights."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    if task == "survival":
        from moflow.integrate.cox import L1_RATIOS, PenalizedCox

        if model != "linear":
            raise InputError(f"model '{model}' is not available for a survival outcome: set the strategy's model "
                             "to linear (penalized Cox).")
        if penalty not in L1_RATIOS:
            raise ValueError(f"penalty must be l2, l1 or elasticnet, not {penalty!r}")
        return PenalizedCox(l1_ratio=L1_RATIOS[penalty], inner_folds=inner_folds, seed=seed)
    if model == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        if task == "classification":
            return EncodedClassifier(RandomForestClassifier(n_estimators=500, class_weight="balanced_subsample",
                                                            min_samples_leaf=2, random_state=seed, n_jobs=1))
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
    return EncodedClassifier(LogisticRegressionCV(
        Cs=np.logspace(-4, 2, n_cs),
        l1_ratios=l1_ratios,
        cv=cv,
        scoring="neg_log_loss",
        solver=solver,
        class_weight="balanced",
        max_iter=max_iter,
        use_legacy_attributes=False,
        random_state=seed,
    ))


def with_tuned_penalty(fitted) -> BaseEstimator | None:
    """An unfitted model with the penalty an inner-CV-tuned model (:func:`make_model`) chose, fixed:
    logistic regression at its C (and l1_ratio), ridge at its alpha, elastic net at its alpha and
    l1_ratio. None for a model without a tuned penalty (a random forest)."""
    from sklearn.linear_model import ElasticNet, Ridge

    from moflow.integrate.cox import PenalizedCox

    if isinstance(fitted, PenalizedCox):  # the chosen strength as a one-point path, no inner CV
        best = int(np.flatnonzero(fitted.alphas_ == fitted.alpha_)[0])
        return _FixedCox(l1_ratio=fitted.l1_ratio, alphas=tuple(map(float, fitted.alphas_[:best + 1])),
                         max_iter=fitted.max_iter)
    m = fitted.estimator_ if isinstance(fitted, EncodedClassifier) else fitted
    if isinstance(m, LogisticRegressionCV):
        l1 = float(np.ravel(m.l1_ratio_)[0]) if m.l1_ratio_ is not None else 0.0
        fixed = LogisticRegression(C=float(np.ravel(m.C_)[0]), l1_ratio=l1, solver=m.solver,
                                   class_weight=m.class_weight, max_iter=m.max_iter, random_state=m.random_state)
        return EncodedClassifier(fixed)
    if isinstance(m, RidgeCV):
        return Ridge(alpha=float(m.alpha_))
    if isinstance(m, ElasticNetCV):
        return ElasticNet(alpha=float(m.alpha_), l1_ratio=float(m.l1_ratio_), max_iter=m.max_iter,
                          random_state=m.random_state)
    return None


class _FixedCox(BaseEstimator):
    """Coxnet at the strength an inner-CV-tuned :class:`moflow.integrate.cox.PenalizedCox` chose, no inner CV: its
    path ``alphas`` down to that strength (warm starts from the strongest), the last one kept."""

    def __init__(self, l1_ratio: float = 0.5, alphas: tuple = (1.0,), max_iter: int = 100000):
        self.l1_ratio = l1_ratio
        self.alphas = alphas
        self.max_iter = max_iter

    def fit(self, X, Y):
        from moflow.integrate.cox import PenalizedCox, split_target

        time, event = split_target(Y)
        _, coef, offset = PenalizedCox(l1_ratio=self.l1_ratio, max_iter=self.max_iter)._path(
            np.asarray(X, float), time, event, alphas=np.asarray(self.alphas, float))
        self.coef_, self.offset_ = coef[:, -1].copy(), float(offset[-1])
        return self

    def predict(self, X):
        return np.asarray(X, float) @ self.coef_ - self.offset_


def observed_rows(X: pd.DataFrame) -> pd.Index:
    """Samples with at least one observed value in a layer (others lack the layer)."""
    return X.index[X.notna().any(axis=1)]


def _fill(X: pd.DataFrame, means: pd.Series | None = None) -> pd.DataFrame:
    if not X.isna().to_numpy().any():
        return X
    return X.fillna(means if means is not None else X.mean()).fillna(0.0)


def _concat(layers: dict[str, pd.DataFrame], names, weights: dict[str, float], index) -> pd.DataFrame:
    return pd.concat([(layers[n].reindex(index) * weights[n]).add_prefix(f"{n}:") for n in names], axis=1)


class _Base(BaseEstimator):
    """Shared machinery: a final model on a design matrix built from the layers.

    A sample lacking layers is predicted by a final model trained on exactly the layers it has
    (``_design`` restricted to that subset, refit on the training samples and cached per pattern
    of observed layers); the per-layer parts (MOFA weights, PCAs, base models) are reused. No
    held-out label is involved. Early integration can instead impute or drop (``missing``).
    """

    task = "classification"
    missing = "refit"

    def _new_model(self):
        return make_model(task=self.task, penalty=self.penalty, model=getattr(self, "model", "linear"),
                          inner_folds=self.inner_folds, seed=self.seed)

    def _fit_final(self, D: pd.DataFrame, y: pd.Series):
        return self._new_model().fit(D.to_numpy(), target(y))

    def _finish_fit(self, layers, y):
        """Fit the final model on every training sample with all layers' design."""
        self.y_ = y
        self.train_layers_ = {n: layers[n].reindex(y.index) for n in self.layers_}
        D = self._train_design(tuple(self.layers_))
        self.design_columns_ = list(D.columns)
        self.model_ = self._fit_final(D, y)
        self.subset_models_ = {}
        if self.task == "classification":
            self.classes_ = self.model_.classes_
        return self

    def _train_design(self, subset) -> pd.DataFrame:
        return self._design(self.train_layers_, self.y_.index, subset)

    def _subset_model(self, subset):
        if subset not in self.subset_models_:
            self.subset_models_[subset] = self._fit_final(self._train_design(subset), self.y_)
        return self.subset_models_[subset]

    def _predict_rows(self, model, D: pd.DataFrame) -> np.ndarray:
        X = D.to_numpy()
        if self.task == "classification":
            P = model.predict_proba(X)
            return pd.DataFrame(P, columns=model.classes_).reindex(columns=self.classes_, fill_value=0.0).to_numpy()
        return model.predict(X)[:, None]

    def columns(self) -> list[str]:
        if self.task == "classification":
            return [f"p_{c}" for c in self.classes_]
        return ["risk"] if self.task == "survival" else ["prediction"]

    def predict_table(self, layers) -> pd.DataFrame:
        index = layers[self.layers_[0]].index
        out = pd.DataFrame(np.nan, index=index, columns=self.columns())
        seen = pd.DataFrame({n: index.isin(observed_rows(layers[n].reindex(index))) for n in self.layers_},
                            index=index)
        full = tuple(self.layers_)
        patterns = seen.apply(lambda r: tuple(n for n in self.layers_ if r[n]), axis=1)
        for pattern in dict.fromkeys(patterns):
            rows = index[(patterns == pattern).to_numpy()]
            if not pattern:
                continue  # the sample has none of the strategy's layers
            if pattern != full and self.missing == "drop":
                continue
            if pattern == full or self.missing == "impute":
                model, subset = self.model_, full
            else:
                model, subset = self._subset_model(pattern), pattern
            out.loc[rows] = self._predict_rows(model, self._design(layers, rows, subset))
        return out

    def predict_proba(self, layers) -> np.ndarray:
        return self.predict_table(layers).to_numpy()

    def predict(self, layers):
        T = self.predict_table(layers)
        if self.task != "classification":
            return T[self.columns()[0]].to_numpy()
        return np.asarray(self.classes_)[np.argmax(T.to_numpy(), axis=1)]


def _coef_table(model, features, layer=None) -> pd.DataFrame:
    if hasattr(model, "coef_"):
        coef = np.atleast_2d(model.coef_)
        if hasattr(model, "classes_"):
            cols = [str(c) for c in (model.classes_[1:] if coef.shape[0] == 1 else model.classes_)]
        elif hasattr(model, "offset_"):  # a Cox model: positive means higher hazard (shorter time to event)
            cols = ["log_hazard_ratio"]
        else:
            cols = ["coefficient"]
        rows = pd.DataFrame(coef.T, index=features, columns=cols)
    else:  # tree ensembles
        rows = pd.DataFrame({"importance": model.feature_importances_}, index=features)
    rows = rows.rename_axis("feature").reset_index()
    if layer is not None:
        rows.insert(0, "layer", layer)
    else:
        split = rows["feature"].str.split(":", n=1, expand=True)
        rows.insert(0, "layer", split[0])
        rows["feature"] = split[1]
    return rows


_SHARED_FITS: dict | None = None


@contextlib.contextmanager
def shared_fits():
    """Inside the block, a :class:`SingleLayer` fit with the same parameters on the same layer object
    and the same training labels is done once and copied: in one CV split the ``single_<layer>``
    baselines and late integration's base models are those very fits (late refits only its inner
    folds). Leaving the block forgets them."""
    global _SHARED_FITS
    outer, _SHARED_FITS = _SHARED_FITS, {}
    try:
        yield
    finally:
        _SHARED_FITS = outer


class SingleLayer(_Base):
    """A model on one layer, trained on the training samples that have the layer; samples lacking it
    are not predicted."""

    def __init__(self, layer: str, task: str = "classification", penalty: str = "l2", model: str = "linear",
                 inner_folds: int = 3, seed: int = 0, fixed_model=None):
        self.layer = layer
        self.task = task
        self.penalty = penalty
        self.model = model
        self.inner_folds = inner_folds
        self.seed = seed
        self.fixed_model = fixed_model

    def _new_model(self):
        """The tuned model, or ``fixed_model`` (an unfitted estimator, e.g. the penalty a tuned fit
        chose: :func:`with_tuned_penalty`) where given."""
        return clone(self.fixed_model) if self.fixed_model is not None else super()._new_model()

    def fit(self, layers, y):
        key = None
        if _SHARED_FITS is not None:  # the same model on the same data, fit once (see shared_fits)
            key = (tuple(sorted(self.get_params().items())), id(layers[self.layer]), layers[self.layer].shape,
                   tuple(y.index), pd.util.hash_pandas_object(y, index=False).to_numpy().tobytes())
            if key in _SHARED_FITS:
                self.__dict__.update(_SHARED_FITS[key].__dict__)
                return self
        self.layers_ = [self.layer]
        X = layers[self.layer].reindex(y.index)
        keep = observed_rows(X)
        self.means_ = X.loc[keep].mean()
        self.features_ = list(X.columns)
        self._finish_fit(layers, y.loc[keep])
        if key is not None:
            _SHARED_FITS[key] = self
        return self

    def _design(self, layers, rows, subset):
        return _fill(layers[self.layer].reindex(index=rows, columns=self.features_), self.means_)

    def coefficients(self) -> pd.DataFrame:
        return _coef_table(self.model_, self.features_, self.layer)


class EarlyIntegration(_Base):
    """Weighted concatenation: each layer's block is multiplied by ``weight / sqrt(n_features)`` so that
    every layer brings the same total variance (features are scaled per layer beforehand).

    ``missing`` (a sample lacking a layer): ``refit`` predicts it with a model trained on the layers it
    has; ``impute`` fills the missing block with the training means; ``drop`` does not predict it.
    """

    def __init__(self, task: str = "classification", layer_weights: dict | None = None, penalty: str = "l2",
                 model: str = "linear", n_components: int = 10, missing: str = "refit", inner_folds: int = 3,
                 seed: int = 0):
        self.task = task
        self.layer_weights = layer_weights
        self.penalty = penalty
        self.model = model
        self.n_components = n_components
        self.missing = missing
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y):
        if self.missing not in ("refit", "impute", "drop"):
            raise InputError(f"early integration: missing must be refit, impute or drop, not '{self.missing}'")
        self.layers_ = sorted(layers)
        uw = self.layer_weights or {}
        self.weights_ = {n: float(uw.get(n, 1.0)) / np.sqrt(layers[n].shape[1]) for n in self.layers_}
        X = _concat(layers, self.layers_, self.weights_, y.index)
        self.means_ = X.mean()
        self.columns_ = list(X.columns)
        Xf = _fill(X, self.means_)
        k = int(min(self.n_components, Xf.shape[0] - 1, Xf.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.seed).fit(Xf.to_numpy())
        return self._finish_fit(layers, y)

    def _design(self, layers, rows, subset):
        X = _concat(layers, subset, self.weights_, rows)
        return _fill(X, self.means_.reindex(X.columns))

    def embed(self, layers) -> pd.DataFrame:
        index = layers[self.layers_[0]].index
        X = _fill(_concat(layers, self.layers_, self.weights_, index).reindex(columns=self.columns_), self.means_)
        E = self.pca_.transform(X.to_numpy())
        return pd.DataFrame(E, index=X.index, columns=[f"PC{i + 1}" for i in range(E.shape[1])])

    def coefficients(self) -> pd.DataFrame:
        return _coef_table(self.model_, self.columns_)


class MixedIntegration(_Base):
    """Per-layer PCA (fit on the training samples that have the layer), scores concatenated, a model."""

    def __init__(self, task: str = "classification", n_components: int = 10, penalty: str = "l2",
                 model: str = "linear", inner_folds: int = 3, seed: int = 0):
        self.task = task
        self.n_components = n_components
        self.penalty = penalty
        self.model = model
        self.inner_folds = inner_folds
        self.seed = seed

    def _design(self, layers, rows, subset):
        blocks = []
        for n in subset:
            X = layers[n].reindex(index=rows, columns=self.features_[n])
            S = pd.DataFrame(0.0, index=rows, columns=[f"{n}:PC{i + 1}" for i in range(self.pcas_[n].n_components_)])
            keep = observed_rows(X)
            if len(keep):
                S.loc[keep] = self.pcas_[n].transform(_fill(X.loc[keep], self.means_[n]).to_numpy())
            blocks.append(S)
        return pd.concat(blocks, axis=1)

    def fit(self, layers, y):
        self.layers_ = sorted(layers)
        self.pcas_, self.means_, self.features_ = {}, {}, {}
        for n in self.layers_:
            X = layers[n].reindex(y.index)
            X = X.loc[observed_rows(X)]
            self.means_[n] = X.mean()
            self.features_[n] = list(X.columns)
            k = int(min(self.n_components, X.shape[0] - 1, X.shape[1]))
            self.pcas_[n] = PCA(n_components=k, random_state=self.seed).fit(_fill(X, self.means_[n]).to_numpy())
        return self._finish_fit(layers, y)


class MOFAStrategy(_Base):
    """MOFA fit on the training samples (missing layers handled by MOFA itself); factors of every sample
    by projection; a model on the factors. A sample lacking layers is scored by a model trained on
    training factors projected from the same layers."""

    def __init__(self, mofa: MOFA | None = None, task: str = "classification", penalty: str = "l2",
                 model: str = "linear", inner_folds: int = 3, seed: int = 0):
        self.mofa = mofa
        self.task = task
        self.penalty = penalty
        self.model = model
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y):
        self.layers_ = sorted(layers)
        self.mofa_ = clone(self.mofa) if self.mofa is not None else MOFA(seed=self.seed)
        train = {n: X.reindex(y.index) for n, X in layers.items()}
        self.mofa_.fit({n: X.loc[observed_rows(X)] for n, X in train.items()})
        return self._finish_fit(layers, y)

    def _design(self, layers, rows, subset):
        return self.mofa_.transform({n: layers[n].reindex(rows) for n in subset}).reindex(rows)


class LateIntegration(_Base):
    """Per-layer models; their out-of-fold predictions on the training samples (inner CV) train a
    meta-learner (logistic for classes, which also calibrates; ridge for a continuous outcome). A
    sample lacking layers is scored by a meta-learner trained on the layers it has."""

    def __init__(self, task: str = "classification", penalty: str = "l2", model: str = "linear",
                 inner_folds: int = 3, seed: int = 0):
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
                D.to_numpy(), y.to_numpy())
        if self.task == "survival":  # a Cox meta-learner on the layers' out-of-fold risks
            from moflow.integrate.cox import RidgeCox

            return RidgeCox(alpha=1.0).fit(D.to_numpy(), target(y))
        return RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(D.to_numpy(), y.to_numpy())

    def fit(self, layers, y):
        self.layers_ = sorted(layers)
        cv = inner_cv(self.task, self.inner_folds, self.seed)
        self.base_, self.oof_ = {}, {}
        self.y_mean_ = float(y.mean()) if self.task == "regression" else 0.0
        for n in self.layers_:
            base = SingleLayer(n, task=self.task, penalty=self.penalty, model=self.model,
                               inner_folds=self.inner_folds, seed=self.seed)
            self.base_[n] = clone(base).fit(layers, y)
            # out-of-fold predictions for the meta-learner: the base model refit in each inner fold at
            # the penalty its own inner CV chose on these training samples (retuning it inside every
            # inner fold took 13 of late's 15 s per split at 1,000 samples; still no held-out sample)
            oof_model = base.set_params(fixed_model=with_tuned_penalty(self.base_[n].model_))
            have = observed_rows(layers[n].reindex(y.index))
            yy = y.loc[have]
            T = pd.DataFrame(np.nan, index=y.index, columns=self.base_[n].columns())
            strat = inner_strata(yy, self.task)
            for tr, te in cv.split(np.zeros(len(yy)), strat):
                m = clone(oof_model).fit(layers, yy.iloc[tr])
                P = m.predict_table({n: layers[n].reindex(yy.index[te])})
                T.loc[yy.index[te]] = P.reindex(columns=T.columns).fillna(0.0).to_numpy()
            self.oof_[n] = self._meta_block(T, n)
        return self._finish_fit(layers, y)

    def _train_design(self, subset):
        return pd.concat([self.oof_[n] for n in subset], axis=1)

    def _design(self, layers, rows, subset):
        return pd.concat([self._meta_block(self.base_[n].predict_table({n: layers[n].reindex(rows)}), n)
                          for n in subset], axis=1)

    def layer_weights(self) -> pd.DataFrame:
        coef = np.atleast_2d(self.model_.coef_)
        per = coef.shape[1] // len(self.layers_)
        w = [np.abs(coef[:, i * per:(i + 1) * per]).mean() for i in range(len(self.layers_))]
        return pd.DataFrame({"layer": self.layers_, "meta_weight": w})
