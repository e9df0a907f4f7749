"""Stage ``scale``: :class:`Scaler` (``standard`` / ``unit_variance``, ``pareto``, ``center``)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import CHECKED_NAME, Step


class Scaler(Step):
    """Centre on training means and divide by a per-feature scale.

    ``standard`` (or ``unit_variance``) divides by the sd, ``pareto`` by its square root, ``center`` by
    nothing.

    Parameters
    ----------
    method : str
        ``standard``, ``unit_variance``, ``pareto`` or ``center``; another name is an
        :class:`~moflow.errors.InputError` at ``fit``.

    Attributes
    ----------
    mean_ : pandas.Series
        Training mean of each feature (NaNs skipped).
    div_ : pandas.Series
        Divisor of each feature (a zero or undefined training sd counts as 1).
    """

    _parameter_constraints: dict = {"method": CHECKED_NAME}

    def __init__(self, method: str = "standard"):
        self.method = method

    def fit(self, X, y=None):
        """Learn the means and divisors of the features from the training samples."""
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
        """Centre and scale the samples with the training means and divisors."""
        check_is_fitted(self)
        return (X - self.mean_) / self.div_
