"""The subtypes of new samples: a classifier of the cohort's subtypes on its layers' components.

:class:`SubtypeClassifier` has the strategies' interface (``fit(layers, y)``, ``predict_table(layers)``,
``layers_``), so that the model bundle of the next patient (:func:`moflow.model.fit_bundle`) carries it with
every layer's fitted chain and :func:`moflow.model.score_new` scores new samples with it: each gets the
probability of every subtype (its confidence) and the most probable one. Whatever representation found the
subtypes, the classifier learns them in the layers' principal components
(:class:`~moflow.subtypes.representations.LayerComponents`, fit on the training samples) with a multinomial
logistic regression; :func:`classifier_agreement` measures, by cross-validation with the components refit
in every fold, how often it gives a held-out sample the subtype the cohort's clustering gave it.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from moflow.subtypes.representations import LayerComponents, most_variable


class SubtypeClassifier(BaseEstimator):
    """Subtypes from the layers: :class:`LayerComponents`, then a multinomial logistic regression.

    Parameters
    ----------
    n_components : int
        Components per layer.
    n_features : int, optional
        Each layer's most variable features on the training samples the components use (None: every feature).
    C : float
        The logistic regression's inverse penalty (components are on a common scale: the default suits them).
    seed : int
        The regression's seed.

    Attributes
    ----------
    layers_ : list of str
        The layers (a new sample needs every one of them).
    classes_ : numpy.ndarray
        The subtypes, sorted.
    components_ : LayerComponents
        Fitted on the training samples.
    model_ : sklearn.linear_model.LogisticRegression or None
        None where the cohort has a single subtype (every sample gets it with probability 1).
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left"), None],
        "C": [Interval(Real, 0, None, closed="neither")],
        "seed": ["random_state"],
    }

    def __init__(self, n_components: int = 10, n_features: int | None = None, C: float = 1.0, seed: int = 0):
        self.n_components = n_components
        self.n_features = n_features
        self.C = C
        self.seed = seed

    def fit(self, layers: dict[str, pd.DataFrame], y: pd.Series, *, shared=None):
        """Fit the components and the regression on the samples of ``y`` that every layer has."""
        from sklearn.linear_model import LogisticRegression

        self._validate_params()
        self.layers_ = list(layers)
        rows = list(y.index[_complete(layers, y.index)])
        labels = y.loc[rows].astype(str)
        self.classes_ = np.array(sorted(labels.unique()), dtype=object)
        chosen = most_variable({n: X.loc[rows] for n, X in layers.items()}, self.n_features)
        self.features_ = {n: list(X.columns) for n, X in chosen.items()}
        self.components_ = LayerComponents(self.n_components).fit(chosen)
        self.model_ = None
        if len(self.classes_) > 1:
            Z = self.components_.transform({n: X.loc[rows] for n, X in layers.items()})
            self.model_ = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed).fit(Z.to_numpy(), labels)
        return self

    def columns(self) -> list[str]:
        """``p_<subtype>`` per subtype."""
        check_is_fitted(self, "components_")
        return [f"p_{c}" for c in self.classes_]

    def predict_table(self, layers: dict[str, pd.DataFrame], **_) -> pd.DataFrame:
        """The probability of every subtype per sample; a row is missing where the sample lacks a layer."""
        check_is_fitted(self, "components_")
        index = layers[self.layers_[0]].index
        out = pd.DataFrame(np.nan, index=index, columns=self.columns())
        complete = list(index[_complete({n: layers[n] for n in self.layers_}, index)])
        if not complete:
            return out
        if self.model_ is None:
            out.loc[complete] = 1.0
            return out
        Z = self.components_.transform({n: layers[n].loc[complete] for n in self.layers_})
        P = self.model_.predict_proba(Z.to_numpy())
        order = [list(self.model_.classes_).index(c) for c in self.classes_]
        out.loc[complete] = P[:, order]
        return out


def _complete(layers: dict, index) -> np.ndarray:
    """Whether each sample of ``index`` has an observed value in every layer."""
    ok = np.ones(len(index), bool)
    for X in layers.values():
        ok &= X.reindex(index).notna().any(axis=1).to_numpy()
    return ok


def classifier_agreement(
    layers: dict[str, pd.DataFrame],
    labels: pd.Series,
    *,
    folds: int = 5,
    n_components: int = 10,
    n_features: int | None = None,
    seed: int = 0,
) -> float:
    """The share of samples a :class:`SubtypeClassifier` fit without them gives their own subtype.

    Stratified K-fold, the components refit in every fold; NaN with one subtype or a subtype of one sample.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = labels.astype(str)
    counts = labels.value_counts()
    if len(counts) < 2 or counts.min() < 2:
        return float("nan")
    k = int(min(folds, counts.min()))
    hits = 0
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(labels.index, labels):
        train, test = labels.index[tr], labels.index[te]
        model = SubtypeClassifier(n_components, n_features, seed=seed).fit(
            {n: X.loc[train] for n, X in layers.items()}, labels.loc[train]
        )
        P = model.predict_table({n: X.loc[test] for n, X in layers.items()})
        predicted = np.asarray(model.classes_, dtype=object)[P.to_numpy().argmax(axis=1)]
        hits += int((predicted == labels.loc[test].to_numpy()).sum())
    return hits / len(labels)
