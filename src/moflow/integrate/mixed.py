"""Mixed integration (:class:`MixedIntegration`): a PCA per layer, the scores concatenated, one model.

Each layer's PCA is fit on the training samples that have the layer; the layers' scores are
concatenated, and a penalized model (or a tree ensemble) is fit on them.
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import pandas as pd
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval

from moflow.integrate.base import StrategyBase, fill_missing, observed_rows


class MixedIntegration(StrategyBase):
    """Per-layer PCA (fit on the training samples that have the layer), scores concatenated, a model.

    A sample lacking a layer has scores 0 in that layer's block.

    Parameters
    ----------
    task : str
        ``classification``, ``regression`` or ``survival``.
    n_components : int
        The number of components per layer (at most; fewer where the layer's training samples or
        features are fewer).
    penalty : str
        ``l2``, ``l1`` or ``elasticnet``.
    model : str
        ``linear`` (penalized, tuned by inner CV) or ``random_forest``.
    inner_folds : int
        The number of inner folds that tune the penalty.
    seed : int
        The seed of the inner folds, the model and the PCAs.

    Attributes
    ----------
    pcas_ : dict of str to sklearn.decomposition.PCA
        {layer: its PCA}.
    means_ : dict of str to pandas.Series
        {layer: training means of its features} (fill missing cells).
    features_ : dict of str to list
        {layer: its features}.
    """

    _parameter_constraints: ClassVar[dict] = {
        **StrategyBase._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        task: str = "classification",
        n_components: int = 10,
        penalty: str = "l2",
        model: str = "linear",
        inner_folds: int = 3,
        seed: int = 42,
    ):
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
                S.loc[keep] = self.pcas_[n].transform(fill_missing(X.loc[keep], self.means_[n]).to_numpy())
            blocks.append(S)
        return pd.concat(blocks, axis=1)

    def fit(self, layers, y, *, shared=None):
        """Learn a PCA per layer and the model on the scores from the training samples."""
        # shared (the single-layer fits of a CV split, SharedFits): nothing of this strategy to share
        self._validate_params()
        self.layers_ = sorted(layers)
        self.pcas_, self.means_, self.features_ = {}, {}, {}
        for n in self.layers_:
            X = layers[n].reindex(y.index)
            X = X.loc[observed_rows(X)]
            self.means_[n] = X.mean()
            self.features_[n] = list(X.columns)
            k = int(min(self.n_components, X.shape[0] - 1, X.shape[1]))
            self.pcas_[n] = PCA(n_components=k, random_state=self.seed).fit(fill_missing(X, self.means_[n]).to_numpy())
        return self._finish_fit(layers, y)
