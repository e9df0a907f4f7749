"""Stage ``qc_drift``: run-order drift correction.

:class:`QCRLSC` (``rlsc``: the trend fit on pooled QC injections), :class:`SampleDrift`
(``sample_lowess``: the trend fit on the study samples, for layers without QC injections) and
:class:`AutoDrift` (``auto``: ``rlsc`` where the layer has QC injections, nothing otherwise, said so);
the QC relative standard deviation (:func:`qc_rsd`) and the within-batch association of values with
run order (:func:`run_order_correlation`). Their LOWESS and smoothing-spline helpers are in
:mod:`moflow.preprocess.drift_smoothers`.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.drift_smoothers import interp_columns, lowess_columns, spline_trend
from moflow.preprocess.steps_base import (
    CHECKED_NAME,
    COLUMN_NAME,
    COUNT,
    POSITIVE,
    SAMPLE_SHEET,
    Identity,
    Step,
    qc_mask,
)

# the options of the QC-based drift steps (QCRLSC, AutoDrift)
_QC_DRIFT_CONSTRAINTS = {
    "info": SAMPLE_SHEET,
    "batch_column": COLUMN_NAME,
    "frac": [Interval(Real, 0, 1, closed="right")],
    "smoother": CHECKED_NAME,
    "spline_lam": POSITIVE + [None],
    "min_qc": COUNT,
}


class QCRLSC(Step):
    """QC-RLSC: per batch and feature, a smooth fit of the QC injections over injection order.

    Every injection is corrected by subtracting the fitted QC trend at its injection order (log
    scale) and adding the feature's overall QC median, which also aligns batches. QC injections
    carry no outcome, so using all of them inside every training fold leaks nothing. The median QC
    RSD before and after correction is kept in ``qc_rsd_before_`` and ``qc_rsd_after_``.

    Parameters
    ----------
    info : pandas.DataFrame or None
        Sample sheet with ``sample_type``, ``injection_order`` and the batch column.
    batch_column : str
        Column of ``info`` with the run batch; empty: one batch.
    frac : float
        LOWESS span (fraction of a batch's QCs in each local fit).
    smoother : str
        ``lowess`` (statsmodels' algorithm, one robustifying iteration) or ``spline`` (a cubic
        smoothing spline, ``scipy.interpolate.make_smoothing_spline``). A batch with fewer than 5
        QCs cannot carry a spline and uses LOWESS (recorded in ``smoother_by_batch_``).
    spline_lam : float or None
        Spline penalty; ``None`` chooses one per batch by generalized cross-validation over the
        features with all QCs observed.
    min_qc : int
        Fewest QC injections per batch.

    Attributes
    ----------
    target_ : numpy.ndarray
        Overall QC median of each feature.
    curves_ : dict
        ``{batch: (injection orders, orders x features QC trend)}``.
    smoother_by_batch_ : dict of str to str
        The smoother used in each batch.
    qc_rsd_before_, qc_rsd_after_ : float
        Median QC RSD (%) before and after correction.
    order_correlation_before_, order_correlation_after_, order_correlation_shuffled_ : float
        :func:`run_order_correlation` of the study samples before, after, and before with the run
        order shuffled within batch.
    """

    uses_qc = True
    _parameter_constraints: dict = dict(_QC_DRIFT_CONSTRAINTS)

    def __init__(
        self,
        info: pd.DataFrame | None = None,
        batch_column: str = "",
        frac: float = 0.8,
        smoother: str = "lowess",
        spline_lam: float | None = None,
        min_qc: int = 3,
    ):
        self.info = info
        self.batch_column = batch_column
        self.frac = frac
        self.smoother = smoother
        self.spline_lam = spline_lam
        self.min_qc = min_qc

    def _batches(self, index) -> pd.Series:
        if self.batch_column:
            return self.info.loc[index, self.batch_column].astype(str)
        return pd.Series("all", index=index)

    def _fit_batch(self, o: np.ndarray, V: np.ndarray, b: str) -> tuple[np.ndarray, np.ndarray, str]:
        """Fitted QC trend of one batch: (grid of injection orders, grid x features values, smoother)."""
        from statsmodels.nonparametric.smoothers_lowess import lowess

        complete = np.isfinite(V).all(0)
        use_spline = self.smoother == "spline" and len(o) >= 5
        if use_spline:
            grid, fitted = spline_trend(o, V, self.spline_lam, min_points=self.min_qc, frac=self.frac, it=1)
            return grid, fitted, "spline"
        fitted = np.full_like(V, np.nan)
        if complete.any():
            fitted[:, complete] = lowess_columns(o, V[:, complete], frac=self.frac, it=1)
        for j in np.flatnonzero(~complete):
            ok = np.isfinite(V[:, j])
            if ok.sum() >= self.min_qc:
                fitted[:, j] = np.interp(o, *lowess(V[ok, j], o[ok], frac=self.frac, it=1, return_sorted=True).T)
            elif ok.any():
                fitted[:, j] = np.nanmedian(V[:, j])
        return o, fitted, "lowess"

    def fit(self, X, y=None):
        """Fit the QC trend of every batch on the QC injections of the training rows."""
        self._validate_params()
        if self.smoother not in ("lowess", "spline"):
            raise InputError(f"qc_drift rlsc: unknown smoother '{self.smoother}' (lowess, spline)")
        is_qc = qc_mask(X, self.info)
        if is_qc.sum() < 3:
            raise InputError(
                f"qc_drift rlsc: fewer than 3 QC injections in this layer ({int(is_qc.sum())} found): QC-RLSC fits "
                "the run-order drift on pooled QC injections (sample_type 'qc'). For a layer without QC injections "
                "use qc_drift method 'sample_lowess' (the trend fit on the study samples; needs injection_order in "
                "the sample sheet), 'auto' (rlsc where a layer has QC injections, nothing where it has none) or "
                "'none'."
            )
        qc = X[is_qc]
        order = pd.to_numeric(self.info.loc[qc.index, "injection_order"]).to_numpy(float)
        batch = self._batches(qc.index).to_numpy()
        self.target_ = qc.median(axis=0, skipna=True).to_numpy()
        self.curves_ = {}
        self.smoother_by_batch_ = {}
        for b in np.unique(batch):
            sel = batch == b
            if sel.sum() < max(3, int(self.min_qc)):
                raise InputError(
                    f"qc_drift rlsc: batch '{b}' has {sel.sum()} QC injection(s); at least {max(3, int(self.min_qc))} "
                    "are needed per batch."
                )
            o = order[sel]
            srt = np.argsort(o, kind="stable")
            o = o[srt]
            if len(np.unique(o)) < len(o):
                raise InputError(
                    f"qc_drift rlsc: QC injections of batch '{b}' share an injection_order; each "
                    "injection needs its own position in the run."
                )
            grid, fitted, used = self._fit_batch(o, qc.to_numpy(float)[sel][srt], str(b))
            self.curves_[b] = (grid, fitted)
            self.smoother_by_batch_[str(b)] = used
        self.qc_rsd_before_ = _median_rsd(qc)
        self.qc_rsd_after_ = _median_rsd(self.transform(qc))
        # the study samples' association with run order, before and after (NaN: too few of them)
        _order_correlations(self, X[~is_qc])
        return self

    def transform(self, X):
        """Subtract the QC trend at each injection's order and add the feature's overall QC median."""
        check_is_fitted(self)
        order = pd.to_numeric(self.info.loc[X.index, "injection_order"]).to_numpy(float)
        batch = self._batches(X.index).to_numpy()
        out = X.to_numpy(float).copy()
        for b in np.unique(batch):
            if b not in self.curves_:
                raise InputError(f"qc_drift rlsc: batch '{b}' has no QC injections in the training data.")
            o, fitted = self.curves_[b]
            sel = batch == b
            trend = interp_columns(order[sel], o, fitted)
            corr = np.where(np.isfinite(trend), self.target_ - trend, 0.0)
            out[sel] = out[sel] + corr
        return pd.DataFrame(out, index=X.index, columns=X.columns)


def _order_correlations(step, cohort: pd.DataFrame) -> None:
    """Set the ``order_correlation_*_`` attributes of a drift step from its study samples.

    ``order_correlation_before_``, ``_after_`` (the step's output) and ``_shuffled_`` (the input with
    the run order permuted within batch: the no-drift level).
    """
    before = run_order_correlation(cohort, step.info, step.batch_column)
    known = np.isfinite(before)
    step.order_correlation_before_ = before
    step.order_correlation_after_ = (
        run_order_correlation(step.transform(cohort), step.info, step.batch_column) if known else float("nan")
    )
    step.order_correlation_shuffled_ = (
        run_order_correlation(cohort, step.info, step.batch_column, shuffle_seed=0) if known else float("nan")
    )


def _run_order(info: pd.DataFrame | None, index, step: str) -> np.ndarray:
    """Injection order of the rows ``index`` (numeric); an InputError names the column or the sample."""
    if info is None or "injection_order" not in info.columns:
        raise InputError(
            f"qc_drift {step}: the sample sheet has no 'injection_order' column; the run-order trend "
            "needs each sample's position in its batch's run. Add the column, or set qc_drift method "
            "'none' for this layer."
        )
    raw = info["injection_order"].reindex(index)
    order = pd.to_numeric(raw, errors="coerce")
    bad = order.isna()
    if bad.any():
        raise InputError(
            f"qc_drift {step}: sample '{order.index[bad][0]}' has no numeric injection_order in the "
            f"sample sheet ({int(bad.sum())} sample(s)); fill in column 'injection_order'."
        )
    return order.to_numpy(float)


class SampleDrift(Step):
    """Run-order drift fit on the study samples (``sample_lowess``), for layers without QC injections.

    The sample-based correction of proteomics tools (e.g. proBatch's per-batch LOESS fit): per batch
    and feature, a smoother of the training samples' values over their injection order gives the
    trend; every sample's value (log scale) minus the trend at its injection order plus the feature's
    level gives the corrected value. The trend is a property of the run, not of the sample, so a
    held-out sample is corrected with the trend interpolated at its injection order within its batch
    (constant beyond the first and last training injection); a batch without training samples has no
    trend and stops with an InputError.

    It assumes that the study samples were run in an order unrelated to what is studied (randomized
    run order): a trend that follows the outcome over the run is removed with the drift. And the
    trend is fit on samples that differ biologically, so it carries noise of the order of a
    feature's biological sd / sqrt(frac x samples per batch): where a layer shows no drift (the
    before value near the shuffled one), the correction only adds that noise (MTBLS79's study samples:
    |r| 0.17, shuffled 0.17; the pooled QCs, held out, went from 11.4% to 16.6% RSD within batch;
    the steps table says so). With
    ``reference_column`` the trend is fit only on the samples of one kind (e.g. controls or a
    reference sample run throughout). Pooled QC injections, if the layer has any, are not fit on
    (that is ``rlsc``) but are corrected like every other row.

    Fitted: ``curves_`` ({batch: (injection orders, orders x features trend)}), ``levels_`` ({batch:
    feature levels}), ``n_fit_`` ({batch: training samples fit on}), ``uncorrected_features_`` (features
    left as they were in some batch: fewer than ``min_samples`` observed values there) and
    ``order_correlation_before_`` / ``_after_`` / ``_shuffled_``: :func:`run_order_correlation` of the
    training samples before, after, and before with the run order shuffled within batch (the level
    of no drift).

    Parameters
    ----------
    info : pandas.DataFrame or None
        Sample sheet with ``injection_order`` and the batch column.
    batch_column : str
        Column of ``info`` with the run batch; empty: one batch (one run).
    frac : float
        LOWESS span: the fraction of a batch's training samples in each local fit. The default, 1.0 (the
        whole batch, tricube-weighted around each point), is wider than ``rlsc``'s because the trend
        is fit on samples that differ biologically: on MTBLS79 with a planted drift it recovered more
        than 0.75 or 0.5 (bench/results/drift_without_qc.md).
    smoother : str
        ``lowess`` (statsmodels' algorithm with 3 robustifying iterations, so single odd samples do
        not bend the trend; missing values weigh nothing) or ``spline`` (cubic smoothing spline, one
        penalty per batch by GCV unless ``spline_lam``).
    spline_lam : float or None
        Spline penalty; ``None``: generalized cross-validation.
    min_samples : int
        Fewest training samples per batch (and observed values per feature and batch) to fit a trend.
    level : str
        What a corrected feature is centred on: ``batch`` (its median over the batch's training
        samples: between-batch differences are left to the batch step, which guards against batch /
        outcome confounding) or ``overall`` (its median over all training samples: batches are
        aligned too, as ``rlsc`` does).
    reference_column, reference_value
        Fit the trend only on the training samples whose sample-sheet column ``reference_column`` equals
        ``reference_value`` (compared as text); empty: on all training samples.
    """

    uses_qc = False
    _ITERATIONS = 3
    _parameter_constraints: dict = {
        "info": SAMPLE_SHEET,
        "batch_column": COLUMN_NAME,
        "frac": [Real],  # the range, (0, 1], is checked in fit (an InputError)
        "smoother": CHECKED_NAME,
        "spline_lam": POSITIVE + [None],
        "min_samples": COUNT,
        "level": CHECKED_NAME,
        "reference_column": COLUMN_NAME,
        "reference_value": [str, Real, "boolean", None],
    }

    def __init__(
        self,
        info: pd.DataFrame | None = None,
        batch_column: str = "",
        frac: float = 1.0,
        smoother: str = "lowess",
        spline_lam: float | None = None,
        min_samples: int = 5,
        level: str = "batch",
        reference_column: str = "",
        reference_value=None,
    ):
        self.info = info
        self.batch_column = batch_column
        self.frac = frac
        self.smoother = smoother
        self.spline_lam = spline_lam
        self.min_samples = min_samples
        self.level = level
        self.reference_column = reference_column
        self.reference_value = reference_value

    def _batches(self, index) -> np.ndarray:
        if self.batch_column:
            return self.info.loc[index, self.batch_column].astype(str).to_numpy()
        return np.full(len(index), "all", dtype=object)

    def _fit_rows(self, X) -> pd.Index:
        rows = X.index[~qc_mask(X, self.info)]
        if self.reference_column:
            if self.reference_column not in self.info.columns:
                raise InputError(
                    f"qc_drift sample_lowess: reference_column '{self.reference_column}' is not a column "
                    "of the sample sheet."
                )
            if self.reference_value is None:
                raise InputError(
                    "qc_drift sample_lowess: reference_column is set but reference_value is not; give "
                    "the value that marks the samples to fit the trend on."
                )
            keep = self.info.loc[rows, self.reference_column].astype(str).str.strip() == str(self.reference_value)
            rows = rows[keep.to_numpy()]
        elif self.reference_value is not None:
            raise InputError("qc_drift sample_lowess: reference_value is set but reference_column is not.")
        return rows

    def fit(self, X, y=None):
        """Fit the run-order trend of every batch on the training samples (or its reference samples)."""
        self._validate_params()
        if self.smoother not in ("lowess", "spline"):
            raise InputError(f"qc_drift sample_lowess: unknown smoother '{self.smoother}' (lowess, spline)")
        if self.level not in ("batch", "overall"):
            raise InputError(f"qc_drift sample_lowess: unknown level '{self.level}' (batch, overall)")
        if not 0 < float(self.frac) <= 1:
            raise InputError(f"qc_drift sample_lowess: frac must be in (0, 1], not {self.frac}.")
        need = max(3, int(self.min_samples))
        rows = self._fit_rows(X)
        order = _run_order(self.info, rows, "sample_lowess")
        if self.batch_column and self.batch_column not in self.info.columns:
            raise InputError(
                f"qc_drift sample_lowess: batch column '{self.batch_column}' is not a column of the sample sheet."
            )
        batch = self._batches(rows)
        V = X.loc[rows].to_numpy(float)
        overall = np.nanmedian(V, axis=0) if len(rows) else np.full(X.shape[1], np.nan)
        self.curves_, self.levels_, self.n_fit_ = {}, {}, {}
        uncorrected = np.zeros(X.shape[1], dtype=bool)
        for b in np.unique(batch) if len(rows) else []:
            sel = np.flatnonzero(batch == b)
            if len(sel) < need:
                what = f"'{self.reference_column}' = '{self.reference_value}' " if self.reference_column else ""
                raise InputError(
                    f"qc_drift sample_lowess: batch '{b}' has {len(sel)} training sample(s) {what}to fit "
                    f"the run-order trend on; at least {need} are needed per batch (option min_samples)."
                )
            sel = sel[np.argsort(order[sel], kind="stable")]
            o, Vb = order[sel], V[sel]
            if len(np.unique(o)) < len(o):
                raise InputError(
                    f"qc_drift sample_lowess: samples of batch '{b}' share an injection_order; each "
                    "injection needs its own position in the run."
                )
            grid, fitted, few = self._fit_batch(o, Vb, need)
            uncorrected |= few
            self.curves_[b] = (grid, fitted)
            with np.errstate(all="ignore"):
                self.levels_[b] = overall if self.level == "overall" else np.nanmedian(Vb, axis=0)
            self.n_fit_[b] = len(sel)
        if not self.curves_:
            raise InputError("qc_drift sample_lowess: no training sample to fit the run-order trend on.")
        self.uncorrected_features_ = list(X.columns[uncorrected])
        _order_correlations(self, X[~qc_mask(X, self.info)])
        return self

    def _fit_batch(self, o: np.ndarray, V: np.ndarray, need: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(grid, grid x features trend, features with too few observed values: flat at their median)."""
        M = np.isfinite(V)
        n_obs = M.sum(0)
        few = n_obs < need
        with np.errstate(all="ignore"):
            flat = np.nanmedian(np.where(M, V, np.nan), axis=0)  # NaN where nothing is observed
        if self.smoother == "spline" and len(o) >= 5:
            Vs = np.where(few[None, :], np.nan, V)
            grid, fitted = spline_trend(o, Vs, self.spline_lam, min_points=need, frac=self.frac, it=self._ITERATIONS)
            fitted[:, few] = flat[few]
            return grid, fitted, few & (n_obs > 0)
        fitted = np.empty_like(V)
        fitted[:, few] = flat[few]
        full = ~few & M.all(0)
        part = ~few & ~full
        if full.any():
            fitted[:, full] = lowess_columns(o, V[:, full], frac=self.frac, it=self._ITERATIONS)
        if part.any():
            fitted[:, part] = lowess_columns(o, V[:, part], frac=self.frac, it=self._ITERATIONS, mask=M[:, part])
        return o, fitted, few & (n_obs > 0)

    def transform(self, X):
        """Subtract the batch's trend at each sample's injection order and add the feature's level."""
        check_is_fitted(self)
        order = _run_order(self.info, X.index, "sample_lowess")
        batch = self._batches(X.index)
        out = X.to_numpy(float).copy()
        for b in np.unique(batch):
            if b not in self.curves_:
                raise InputError(
                    f"qc_drift sample_lowess: batch '{b}' has no training samples, so its run-order trend "
                    "is unknown; fit on samples of every batch, or set qc_drift method 'none'."
                )
            o, fitted = self.curves_[b]
            sel = batch == b
            trend = interp_columns(order[sel], o, fitted)
            corr = np.where(np.isfinite(trend) & np.isfinite(self.levels_[b]), self.levels_[b] - trend, 0.0)
            out[sel] = out[sel] + corr
        return pd.DataFrame(out, index=X.index, columns=X.columns)


class AutoDrift(Step):
    """``auto``: QC-RLSC where the layer has pooled QC injections, no correction where it has none.

    QC-RLSC (:class:`QCRLSC`, with these options) applies where the layer has pooled QC injections
    among its training rows; the reason for the choice is in ``reason_``.

    The default of metabolomics layers: a layer without QC injections is common, and fitting the
    drift on the study samples (``sample_lowess``) assumes a randomized run order, which only the user
    can vouch for. Where the sample sheet gives injection orders, the uncorrected layer's
    :func:`run_order_correlation` is kept in ``order_correlation_before_`` (``_after_``: the same;
    ``_shuffled_``: the no-drift level) so that the steps table shows whether a drift was left in.

    Fitted: ``chosen_`` (``rlsc`` or ``none``), ``step_`` (the fitted step), ``reason_``.

    Parameters
    ----------
    info, batch_column, frac, smoother, spline_lam, min_qc
        As in :class:`QCRLSC`.
    """

    uses_qc = True
    _parameter_constraints: dict = dict(_QC_DRIFT_CONSTRAINTS)

    def __init__(
        self,
        info: pd.DataFrame | None = None,
        batch_column: str = "",
        frac: float = 0.8,
        smoother: str = "lowess",
        spline_lam: float | None = None,
        min_qc: int = 3,
    ):
        self.info = info
        self.batch_column = batch_column
        self.frac = frac
        self.smoother = smoother
        self.spline_lam = spline_lam
        self.min_qc = min_qc

    def fit(self, X, y=None):
        """Fit QC-RLSC where the training rows hold QC injections, a pass-through step otherwise."""
        self._validate_params()
        n_qc = int(qc_mask(X, self.info).sum())
        if n_qc:
            self.chosen_ = "rlsc"
            self.reason_ = f"{n_qc} QC injection(s)"
            self.step_ = QCRLSC(
                info=self.info,
                batch_column=self.batch_column,
                frac=self.frac,
                smoother=self.smoother,
                spline_lam=self.spline_lam,
                min_qc=self.min_qc,
            ).fit(X, y)
            for k in ("before", "after", "shuffled"):
                setattr(self, f"order_correlation_{k}_", getattr(self.step_, f"order_correlation_{k}_"))
            self.qc_rsd_before_, self.qc_rsd_after_ = self.step_.qc_rsd_before_, self.step_.qc_rsd_after_
            return self
        self.chosen_ = "none"
        self.reason_ = (
            "no QC injections in this layer, so run-order drift is not corrected; qc_drift method "
            "'sample_lowess' fits it on the study samples"
        )
        self.step_ = Identity(reason=self.reason_).fit(X, y)
        _order_correlations(self, X)
        return self

    def transform(self, X):
        """Apply the fitted step (QC-RLSC or nothing)."""
        check_is_fitted(self)
        return self.step_.transform(X)


def run_order_correlation(
    X: pd.DataFrame,
    info: pd.DataFrame | None,
    batch_column: str = "",
    *,
    min_n: int = 5,
    shuffle_seed: int | None = None,
) -> float:
    """How much a layer follows its run order, within each batch.

    The statistic is the median over features and batches of |Spearman r| between a feature's values
    and the injection order, within each batch.

    Only batches with at least ``min_n`` rows of known injection order count, and in them features
    with at least ``min_n`` observed values (ranks among those). Without drift |r| is that of noise
    (its median is about 0.67 / sqrt(n - 1) for n rows per batch): ``shuffle_seed`` computes the same
    statistic with the injection orders permuted within each batch (seeded), the level to compare with.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features matrix.
    info : pandas.DataFrame or None
        Sample sheet with ``injection_order`` (and the batch column).
    batch_column : str
        Column of ``info`` with the run batch; empty or absent: one batch.
    min_n : int
        Fewest rows per batch, and observed values per feature in a batch.
    shuffle_seed : int or None
        Seed of the within-batch permutation of the injection orders; ``None``: no permutation.

    Returns
    -------
    float
        The median |r|; NaN where nothing can be computed (no ``injection_order`` column, too few rows).
    """
    from scipy.stats import rankdata

    if info is None or "injection_order" not in info.columns or X.shape[0] == 0 or X.shape[1] == 0:
        return float("nan")
    order = pd.to_numeric(info["injection_order"].reindex(X.index), errors="coerce").to_numpy(float)
    if batch_column and batch_column in info.columns:
        batch = info[batch_column].reindex(X.index).astype(str).to_numpy()
    else:
        batch = np.full(len(X), "all")
    V = X.to_numpy(float)
    rng = np.random.default_rng(shuffle_seed) if shuffle_seed is not None else None
    found = []
    for b in np.unique(batch):
        sel = np.flatnonzero((batch == b) & np.isfinite(order))
        if len(sel) < min_n:
            continue
        if rng is not None:
            order = order.copy()
            order[sel] = rng.permutation(order[sel])
        sel = sel[np.argsort(order[sel], kind="stable")]
        Vb = V[sel]
        M = np.isfinite(Vb)
        rv = np.where(M, rankdata(np.where(M, Vb, np.nan), axis=0, nan_policy="omit"), 0.0)
        ro = np.cumsum(M, axis=0) * M  # the rank of the run position among the observed rows
        n = M.sum(0)
        ok = n >= min_n
        nn = np.where(ok, n, 1)
        cv = np.where(M, rv - rv.sum(0) / nn, 0.0)
        co = np.where(M, ro - ro.sum(0) / nn, 0.0)
        den = np.sqrt((cv * cv).sum(0) * (co * co).sum(0))
        ok &= den > 0
        found.append(np.abs((cv * co).sum(0)[ok] / den[ok]))
    allr = np.concatenate(found) if found else np.array([])
    return float(np.median(allr)) if len(allr) else float("nan")


def _median_rsd(log2_qc: pd.DataFrame) -> float:
    """Median relative standard deviation (%) of QC injections, computed on the linear scale."""
    return float(np.nanmedian(qc_rsd(log2_qc)))


def qc_rsd(log2_values: pd.DataFrame) -> pd.Series:
    """Per-feature relative standard deviation (%) on the linear scale of log2 values (>= 2 observed)."""
    lin = np.power(2.0, log2_values)
    rsd = lin.std(axis=0, ddof=1) / lin.mean(axis=0) * 100
    return rsd.where(log2_values.notna().sum(axis=0) >= 2)
