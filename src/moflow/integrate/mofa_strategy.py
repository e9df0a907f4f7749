"""Intermediate integration as a strategy (:class:`MOFAStrategy`): a model on MOFA factors.

MOFA (:mod:`moflow.integrate.mofa`) is fit on the training samples, every sample is projected onto
it, and a penalized model is fit on the factors.
"""

from __future__ import annotations

from typing import ClassVar

from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods

from moflow.integrate.base import StrategyBase, observed_rows
from moflow.integrate.mofa import MOFA


class MOFAStrategy(StrategyBase):
    """MOFA fit on the training samples, factors of every sample by projection, a model on the factors.

    Missing layers are handled by MOFA itself in the fit. A sample lacking layers is scored by a
    model trained on training factors projected from the same layers.

    Parameters
    ----------
    mofa : MOFA, optional
        The unfitted MOFA (``None``: MOFA's defaults with this strategy's seed); cloned by ``fit``.
    task : str
        ``classification``, ``regression`` or ``survival``.
    penalty : str
        ``l2``, ``l1`` or ``elasticnet``.
    model : str
        ``linear`` (penalized, tuned by inner CV) or ``random_forest``.
    inner_folds : int
        The number of inner folds that tune the penalty.
    seed : int
        The seed of the inner folds and of the model (and of MOFA where ``mofa`` is ``None``).

    Attributes
    ----------
    mofa_ : MOFA
        The MOFA fit on the training samples.
    """

    _parameter_constraints: ClassVar[dict] = {
        **StrategyBase._parameter_constraints,
        "mofa": [HasMethods(["fit", "transform"]), None],
    }

    def __init__(
        self,
        mofa: MOFA | None = None,
        task: str = "classification",
        penalty: str = "l2",
        model: str = "linear",
        inner_folds: int = 3,
        seed: int = 42,
    ):
        self.mofa = mofa
        self.task = task
        self.penalty = penalty
        self.model = model
        self.inner_folds = inner_folds
        self.seed = seed

    def fit(self, layers, y, *, shared=None):
        """Fit MOFA on the training samples that have each layer, then the model on their factors."""
        # shared (the single-layer fits of a CV split, SharedFits): nothing of this strategy to share
        self._validate_params()
        self.layers_ = sorted(layers)
        self.mofa_ = clone(self.mofa) if self.mofa is not None else MOFA(seed=self.seed)
        train = {n: X.reindex(y.index) for n, X in layers.items()}
        self.mofa_.fit({n: X.loc[observed_rows(X)] for n, X in train.items()})
        return self._finish_fit(layers, y)

    def _design(self, layers, rows, subset):
        return self.mofa_.transform({n: layers[n].reindex(rows) for n in subset}).reindex(rows)
