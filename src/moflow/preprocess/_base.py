"""Shared parts of the preprocessing steps: the step base class, the pass-through step, the QC
injection mask and the per-sample seeds of random steps."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class Step(TransformerMixin, BaseEstimator):
    """A DataFrame-in, DataFrame-out preprocessing step. ``uses_qc`` steps see QC injections."""

    uses_qc = False

    def fit(self, X: pd.DataFrame, y: pd.Series | None = None):
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X


class Identity(Step):
    """A step that changes nothing; ``reason`` says why, for the steps table (empty: configured ``none``)."""

    def __init__(self, reason: str = ""):
        self.reason = reason


def _stable_seed(seed: int, key: str) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2**32)


def _qc_mask(X: pd.DataFrame, info: pd.DataFrame | None) -> np.ndarray:
    if info is None or "sample_type" not in info.columns:
        return np.zeros(len(X), dtype=bool)
    return (info["sample_type"].reindex(X.index) == "qc").to_numpy()
