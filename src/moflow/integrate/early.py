"""Early integration (:class:`EarlyIntegration`): the layers weighted and concatenated, and one model.

Each layer is weighted so that wide layers do not drown narrow ones, and a penalized model (or a
tree ensemble) is fit on the concatenation; a PCA of it gives the samples' embedding
(:meth:`EarlyIntegration.embed`).
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.integrate.base import StrategyBase, coefficient_table, fill_missing

MISSING = ("refit", "impute", "drop")


def _concat(layers: dict[str, pd.DataFrame], names, weights: dict[str, float], index) -> pd.DataFrame:
    return pd.concat([(layers[n].reindex(index) * weights[n]).add_prefix(f"{n}:") for n in names], axis=1)


class EarlyIntegration(StrategyBase):
    """Weighted concatenation of the layers, and a model on it.

    Each layer's block is multiplied by ``weight / sqrt(n_features)`` so that every layer brings the
    same total variance (features are scaled per layer beforehand).

    ``missing`` (a sample lacking a layer): ``refit`` predicts it with a model trained on the layers it
    has; ``impute`` fills the missing block with the training means; ``drop`` does not predict it.

    Parameters
    ----------
    task : str
        ``classification``, ``regression`` or ``survival``.
    layer_weights : dict, optional
        {layer: weight}, 1 where absent (``None``: every layer 1).
    penalty : str
        ``l2``, ``l1`` or ``elasticnet``.
    model : str
        ``linear`` (penalized, tuned by inner CV) or ``random_forest``.
    n_components : int
        The number of components of the embedding's PCA (at most; fewer where the training samples or
        features are fewer).
    missing : str
        ``refit``, ``impute`` or ``drop`` (see above).
    inner_folds : int
        The number of inner folds that tune the penalty.
    seed : int
        The seed of the inner folds, the model and the PCA.

    Attributes
    ----------
    weights_ : dict of str to float
        {layer: ``weight / sqrt(n_features)``}.
    means_ : pandas.Series
        The training means of the weighted, concatenated columns (fill missing cells).
    columns_ : list of str
        The concatenated columns, ``<layer>:<feature>``.
    pca_ : sklearn.decomposition.PCA
        The PCA of the training samples (:meth:`embed`).
    """

    _parameter_constraints: ClassVar[dict] = {
        **StrategyBase._parameter_constraints,
        "layer_weights": [dict, None],
        "n_components": [Interval(Integral, 2, None, closed="left")],
        "missing": [StrOptions(set(MISSING))],
    }

    def __init__(
        self,
        task: str = "classification",
        layer_weights: dict | None = None,
        penalty: str = "l2",
        model: str = "linear",
        n_components: int = 10,
        missing: str = "refit",
        inner_folds: int = 3,
        seed: int = 42,
    ):
        self.task = task
        self.layer_weights = layer_weights
        self.penalty = penalty
        self.model = model
        self.n_components = n_components
        self.missing = missing
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y, *, shared=None):
        """Learn the layer weights, the training means, the PCA and the model from the training samples."""
        # shared (the single-layer fits of a CV split, SharedFits): nothing of this strategy to share
        self._validate_params()
        if self.missing not in MISSING:
            raise InputError(f"early integration: missing must be refit, impute or drop, not '{self.missing}'")
        self.layers_ = sorted(layers)
        uw = self.layer_weights or {}
        self.weights_ = {n: float(uw.get(n, 1.0)) / np.sqrt(layers[n].shape[1]) for n in self.layers_}
        X = _concat(layers, self.layers_, self.weights_, y.index)
        self.means_ = X.mean()
        self.columns_ = list(X.columns)
        Xf = fill_missing(X, self.means_)
        k = int(min(self.n_components, Xf.shape[0] - 1, Xf.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.seed).fit(Xf.to_numpy())
        return self._finish_fit(layers, y)

    def _design(self, layers, rows, subset):
        X = _concat(layers, subset, self.weights_, rows)
        return fill_missing(X, self.means_.reindex(X.columns))

    def embed(self, layers) -> pd.DataFrame:
        """The weighted, concatenated layers of every sample on the training PCA (columns PC1, PC2, ...)."""
        check_is_fitted(self)
        index = layers[self.layers_[0]].index
        X = fill_missing(
            _concat(layers, self.layers_, self.weights_, index).reindex(columns=self.columns_), self.means_
        )
        E = self.pca_.transform(X.to_numpy())
        return pd.DataFrame(E, index=X.index, columns=[f"PC{i + 1}" for i in range(E.shape[1])])

    def coefficients(self) -> pd.DataFrame:
        """The model's coefficients (or importances) of every layer's features (:func:`coefficient_table`)."""
        check_is_fitted(self)
        return coefficient_table(self.model_, self.columns_)
