"""The single-layer baseline (:class:`SingleLayer`) and the fits one CV split shares (:class:`SharedFits`).

:class:`SingleLayer` is a penalized model on one layer; :class:`SharedFits` is handed to the fits of
one CV split so that equal single-layer fits (the ``single_<layer>`` baselines and late
integration's base models) are done once.
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from moflow.integrate.base import (
    StrategyBase,
    coefficient_table,
    fill_missing,
    observed_rows,
)


class SharedFits:
    """Single-layer fits shared between the strategies of one CV split, passed explicitly.

    A :class:`SingleLayer` fit with the same parameters on the same layer object and the same training
    labels is done once and copied: in one split the ``single_<layer>`` baselines and late integration's
    base models are those very fits (late refits only its inner folds). Make one per split (the fold loop,
    :func:`moflow.evaluate.run_fold`, does) and pass it as ``fit(..., shared=...)``; nothing is kept
    between objects.
    """

    def __init__(self):
        self._fits: dict = {}

    def get(self, key):
        """The fitted estimator stored under ``key``, or None."""
        return self._fits.get(key)

    def put(self, key, fitted) -> None:
        """Keep ``fitted`` under ``key``."""
        self._fits[key] = fitted

    def __len__(self) -> int:
        return len(self._fits)


class SingleLayer(StrategyBase):
    """A model on one layer, trained on the training samples that have the layer.

    Samples lacking the layer are not predicted (their rows of :meth:`predict_table` are missing).

    Parameters
    ----------
    layer : str
        The layer the model uses.
    task : str
        ``classification``, ``regression`` or ``survival``.
    penalty : str
        ``l2``, ``l1`` or ``elasticnet``.
    model : str
        ``linear`` (penalized, tuned by inner CV) or ``random_forest``.
    inner_folds : int
        The number of inner folds that tune the penalty.
    seed : int
        The seed of the inner folds and of the model.
    fixed_model : estimator, optional
        An unfitted estimator used instead of the tuned model (e.g. the penalty a tuned fit chose:
        :func:`moflow.integrate.models.with_tuned_penalty`).

    Attributes
    ----------
    means_ : pandas.Series
        The layer's training means, which fill missing cells.
    features_ : list of str
        The layer's features.
    model_ : estimator
        The fitted model.
    """

    _parameter_constraints: ClassVar[dict] = {
        **StrategyBase._parameter_constraints,
        "layer": [str],
        "fixed_model": [HasMethods(["fit", "predict"]), None],
    }

    def __init__(
        self,
        layer: str,
        task: str = "classification",
        penalty: str = "l2",
        model: str = "linear",
        inner_folds: int = 3,
        seed: int = 42,
        fixed_model=None,
    ):
        self.layer = layer
        self.task = task
        self.penalty = penalty
        self.model = model
        self.inner_folds = inner_folds
        self.seed = seed
        self.fixed_model = fixed_model

    def _new_model(self):
        """The tuned model, or a clone of ``fixed_model`` where given.

        ``fixed_model``: an unfitted estimator, e.g. the penalty a tuned fit chose
        (:func:`moflow.integrate.models.with_tuned_penalty`).
        """
        return clone(self.fixed_model) if self.fixed_model is not None else super()._new_model()

    def fit(self, layers, y, *, shared: SharedFits | None = None):
        """Fit on the training samples that have the layer; ``shared``: fits of this CV split to reuse."""
        self._validate_params()
        key = None
        if shared is not None:  # the same model on the same data, fit once (see SharedFits)
            key = (
                tuple(sorted(self.get_params().items())),
                id(layers[self.layer]),
                layers[self.layer].shape,
                tuple(y.index),
                pd.util.hash_pandas_object(y, index=False).to_numpy().tobytes(),
            )
            done = shared.get(key)
            if done is not None:
                self.__dict__.update(done.__dict__)
                return self
        self.layers_ = [self.layer]
        X = layers[self.layer].reindex(y.index)
        keep = observed_rows(X)
        self.means_ = X.loc[keep].mean()
        self.features_ = list(X.columns)
        self._finish_fit(layers, y.loc[keep])
        if key is not None:
            shared.put(key, self)
        return self

    def _design(self, layers, rows, subset):
        return fill_missing(layers[self.layer].reindex(index=rows, columns=self.features_), self.means_)

    def coefficients(self) -> pd.DataFrame:
        """The model's coefficients (or importances) of the layer's features (:func:`coefficient_table`)."""
        check_is_fitted(self)
        return coefficient_table(self.model_, self.features_, self.layer)
