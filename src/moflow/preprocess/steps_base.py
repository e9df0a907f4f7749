"""Shared parts of the preprocessing steps.

The step base class :class:`Step`, the pass-through step :class:`Identity`, the QC injection mask
(:func:`qc_mask`), the per-sample seeds of random steps (:func:`stable_seed`), the column-wise fill of
the imputers (:func:`fill_columns`) and the parameter constraints the steps share (scikit-learn's
``_parameter_constraints``).
"""

from __future__ import annotations

import zlib
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

# --------------------------------------------------------------------------------------------
# parameter constraints shared by the steps (values of ``_parameter_constraints``)
# --------------------------------------------------------------------------------------------

# ``info``: the sample sheet (no outcome), or none
SAMPLE_SHEET = [pd.DataFrame, None]
# a column of the sample sheet (batch_column, reference_column; empty: none)
COLUMN_NAME = [str]
# a method or option name the step checks itself when it is fit: its InputError names the choices
CHECKED_NAME = [str]
# seed of the random draws of a step
SEED = [Interval(Integral, 0, None, closed="left")]
# a fraction in [0, 1]
FRACTION = [Interval(Real, 0, 1, closed="both")]
# a real number above 0, and one at 0 or above
POSITIVE = [Interval(Real, 0, None, closed="neither")]
NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
# a count of at least 1 (neighbours, iterations, samples, features)
COUNT = [Interval(Integral, 1, None, closed="left")]
# protected covariates: sample-sheet columns
COVARIATES = ["array-like", None]


class Step(TransformerMixin, BaseEstimator):
    """A DataFrame-in, DataFrame-out preprocessing step. ``uses_qc`` steps see QC injections.

    The base ``fit`` learns only the number of features (``n_features_in_``), so that ``transform``
    can tell a fitted step from an unfitted one.

    Attributes
    ----------
    n_features_in_ : int
        Number of features (columns) of the training matrix.
    """

    uses_qc = False
    _parameter_constraints: dict = {}

    def fit(self, X: pd.DataFrame, y: pd.Series | None = None):
        """Validate the parameters and learn the number of features of the training samples."""
        self._validate_params()
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return ``X`` unchanged (after checking that the step is fitted)."""
        check_is_fitted(self)
        return X


class Identity(Step):
    """A step that changes nothing; ``reason`` says why, for the steps table (empty: configured ``none``)."""

    _parameter_constraints: dict = {"reason": [str]}

    def __init__(self, reason: str = ""):
        self.reason = reason


def stable_seed(seed: int, key: str) -> int:
    """The seed of one sample's random draws: ``seed`` combined with the sample ID ``key`` (CRC32).

    A sample thus gets the same draws whichever fold it falls in and whatever other samples come with it.

    Parameters
    ----------
    seed : int
        Seed of the step.
    key : str
        Sample ID.

    Returns
    -------
    int
        A seed in ``[0, 2**32)``.
    """
    return (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2**32)


def qc_mask(X: pd.DataFrame, info: pd.DataFrame | None) -> np.ndarray:
    """The rows of X that are pooled QC injections (``sample_type`` ``qc`` in the sample sheet ``info``).

    None are, without a sheet or without that column.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features matrix indexed by sample ID.
    info : pandas.DataFrame or None
        Sample sheet indexed by sample ID.

    Returns
    -------
    numpy.ndarray
        Boolean mask over the rows of ``X``.
    """
    if info is None or "sample_type" not in info.columns:
        return np.zeros(len(X), dtype=bool)
    return (info["sample_type"].reindex(X.index) == "qc").to_numpy()


def fill_columns(X: pd.DataFrame, fill: pd.Series) -> pd.DataFrame:
    """``X.fillna(fill)`` (one value per column, aligned by name), without pandas' per-column loop.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features matrix with missing values.
    fill : pandas.Series
        Fill value per feature, indexed by feature name.

    Returns
    -------
    pandas.DataFrame
        ``X`` with its NaNs replaced by the value of their column.
    """
    V = X.to_numpy(float)
    f = fill.reindex(X.columns).to_numpy(float)
    return pd.DataFrame(np.where(np.isnan(V), f[None, :], V), index=X.index, columns=X.columns)
