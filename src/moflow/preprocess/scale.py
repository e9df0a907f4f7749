"""Stage ``scale``: :class:`Scaler` (``standard`` / ``unit_variance``, ``pareto``, ``center``)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import CHECKED_NAME, Step


class Scaler(Step):
    """Centre on training means; ``standard`` (or ``unit_variance``) divides by the sd, ``pareto`` by its
    square root, ``center`` by nothing.
    """

    _parameter_constraints: dict = {"method": CHECKED_NAME}

    def __init__(self, method: str = "standard"):
        self.method = method

    def fit(self, X, y=None):
        self._validate_params()
        self.mean_ = X.mean(axis=0, skipna=True)
        sd = X.std(axis=0, skipna=True, ddof=1).replace(0, 1.0).fillna(1.0)
        self.div_ = {"standard": sd, "unit_variance": sd, "pareto": np.sqrt(sd), "center": sd * 0 + 1.0}.get(
            self.method
        )
        if self.div_ is None:
            raise InputError(f"scale: unknown method '{self.method}' (standard, unit_variance, pareto, center, none)")
        return self

    def transform(self, X):
        check_is_fitted(self)
        return (X - self.mean_) / self.div_
