"""Stage ``filter``: :class:`FeatureFilter`.

It filters on the observed fraction overall or in any outcome group, variance, top-N, QC RSD and QC
detection rate.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.qc_drift import qc_rsd
from moflow.preprocess.steps_base import (
    CHECKED_NAME,
    COUNT,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    SAMPLE_SHEET,
    Step,
    qc_mask,
)


class FeatureFilter(Step):
    """Keep features observed often enough, variable enough and, with QC injections, reproducible.

    A feature is kept when it is observed (not missing, and at least ``min_value`` if set) in at
    least ``min_observed`` of the training samples (``observed_in='overall'``) or of the training
    samples of at least one outcome group (``observed_in='any_group'``, which keeps a protein that
    is present in one condition only); its variance exceeds ``min_variance``; and, where the layer's
    training data hold pooled QC injections, it is detected in at least ``qc_min_detection`` of them
    and its QC RSD (linear scale of log2 values) is at most ``qc_rsd_max`` percent. Then the
    ``top_variable`` most variable of those are kept. Cohort statistics use cohort samples only;
    QC statistics use QC injections only.

    Parameters
    ----------
    min_observed : float
        Fraction in [0, 1].
    min_value : float or None
        Values below it count as not observed (e.g. counts below 1).
    min_variance : float
        Strict lower bound on the variance.
    top_variable : int or None
        Keep at most this many features, the most variable ones.
    observed_in : str
        ``overall`` or ``any_group`` (needs the training outcome; a categorical one).
    qc_rsd_max : float or None
        Largest QC RSD in percent (``None``: no QC RSD filter).
    qc_min_detection : float or None
        Smallest fraction of QC injections in which the feature is observed (``None``: none).
    info : pandas.DataFrame or None
        Sample sheet; tells QC injections apart.

    Attributes
    ----------
    features_ : list of str
        The features kept.
    removed_ : dict of str to int
        Number of features removed by each criterion (``observed``, ``variance``, and ``qc_detection``,
        ``qc_rsd``, ``top_variable`` where applied).
    qc_applied_ : bool
        Whether the QC filters were applied (a QC filter is set and the training data hold QC injections).
    n_in_ : int
        Number of features of the training matrix.
    """

    _parameter_constraints: dict = {
        "min_observed": NON_NEGATIVE,  # above 1: nothing is kept (an InputError of the chain)
        "min_value": [Real, None],
        "min_variance": NON_NEGATIVE,
        "top_variable": COUNT + [None],
        "observed_in": CHECKED_NAME,
        "qc_rsd_max": POSITIVE + [None],
        "qc_min_detection": FRACTION + [None],
        "info": SAMPLE_SHEET,
    }

    def __init__(
        self,
        min_observed: float = 0.5,
        min_value: float | None = None,
        min_variance: float = 0.0,
        top_variable: int | None = None,
        observed_in: str = "overall",
        qc_rsd_max: float | None = None,
        qc_min_detection: float | None = None,
        info: pd.DataFrame | None = None,
    ):
        self.min_observed = min_observed
        self.min_value = min_value
        self.min_variance = min_variance
        self.top_variable = top_variable
        self.observed_in = observed_in
        self.qc_rsd_max = qc_rsd_max
        self.qc_min_detection = qc_min_detection
        self.info = info

    @property
    def uses_qc(self) -> bool:  # QC injections must reach this step when it filters on them
        """Whether a QC filter (``qc_rsd_max`` or ``qc_min_detection``) is set."""
        return self.qc_rsd_max is not None or self.qc_min_detection is not None

    def fit(self, X, y=None):
        """Choose the features to keep from the training samples (and QC injections)."""
        self._validate_params()
        if self.observed_in not in ("overall", "any_group"):
            raise InputError(f"filter: unknown observed_in '{self.observed_in}' (overall, any_group)")
        is_qc = qc_mask(X, self.info)
        C = X[~is_qc]
        obs = C.notna()
        if self.min_value is not None:
            obs &= C >= self.min_value
        frac = obs.mean(axis=0)
        if self.observed_in == "any_group" and y is not None:
            g = pd.Series(y).reindex(C.index)
            if g.notna().any():
                if g.nunique() > 20:
                    raise InputError(
                        "filter observed_in 'any_group': the outcome has more than 20 distinct values; "
                        "groups need a categorical outcome. Use observed_in 'overall'."
                    )
                frac = obs.groupby(g.astype(str).where(g.notna())).mean().max(axis=0)
        var = C.var(axis=0, skipna=True, ddof=1).fillna(0.0)
        keep_obs = frac >= self.min_observed
        keep = keep_obs & (var > self.min_variance)
        removed = {"observed": int((~keep_obs).sum()), "variance": int((keep_obs & ~(var > self.min_variance)).sum())}
        self.qc_applied_ = False
        if self.uses_qc and is_qc.any():
            Q = X[is_qc]
            if len(Q) < 3:
                raise InputError(
                    f"filter: {len(Q)} QC injection(s) in the training data; the QC filters "
                    "(qc_rsd_max, qc_min_detection) need at least 3."
                )
            self.qc_applied_ = True
            if self.qc_min_detection is not None:
                det = Q.notna().mean(axis=0) >= self.qc_min_detection
                removed["qc_detection"] = int((keep & ~det).sum())
                keep &= det
            if self.qc_rsd_max is not None:
                rsd_ok = (qc_rsd(Q) <= self.qc_rsd_max).fillna(False)
                removed["qc_rsd"] = int((keep & ~rsd_ok).sum())
                keep &= rsd_ok
        if self.top_variable and keep.sum() > self.top_variable:
            v = var[keep].sort_values(ascending=False, kind="mergesort")
            top = X.columns.isin(v.index[: int(self.top_variable)])
            removed["top_variable"] = int((keep & ~top).sum())
            keep = keep & top
        self.features_ = list(X.columns[np.asarray(keep, dtype=bool)])
        self.removed_ = removed
        self.n_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Keep the features chosen at ``fit``."""
        check_is_fitted(self)
        return X[self.features_]
