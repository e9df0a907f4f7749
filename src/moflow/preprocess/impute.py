"""Stage ``impute``: the factory of the imputers and the imputers that combine others.

:func:`make_imputer` is the factory of the imputers by config method name. The imputers that combine
others: :class:`MixedImpute` (MNAR or MAR per feature), :class:`AutoImpute` (the best of several on the
layer's own missingness pattern) and :class:`WithinBatch`, which runs a MAR imputer in each batch's
own scale; :func:`imputation_table`, the imputation diagnostics of a fitted layer. The single methods
are in :mod:`moflow.preprocess.impute_censored` (:class:`HalfMinImpute`, :class:`MinProbImpute`,
:class:`QRILCImpute`: left-censored, MNAR) and :mod:`moflow.preprocess.impute_mar` (:class:`KNNImpute`,
:class:`IterativeImpute`: MAR); the baseline :class:`MeanImpute` with the scoring in
:mod:`moflow.preprocess.impute_benchmark`.

Imputation comes before batch correction (:data:`moflow.preprocess.defaults.STEP_ORDER`), in the scale
each batch was measured in: the left-censored (MNAR) methods impute below a detection limit, which
is an instrument's and common to the batches in that scale; the MAR methods (``knn``,
``iterative``, ``mean``, and the MAR part of ``mixed``), which borrow values from other samples,
do so with each feature's batch offsets taken out and put back (:class:`WithinBatch`) wherever the
layer has a batch column.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.impute_benchmark import IMPUTATION_COLUMNS, MeanImpute, score_imputers
from moflow.preprocess.impute_censored import HalfMinImpute, MinProbImpute, QRILCImpute
from moflow.preprocess.impute_mar import IterativeImpute, KNNImpute
from moflow.preprocess.steps_base import CHECKED_NAME, COLUMN_NAME, NON_NEGATIVE, SAMPLE_SHEET, SEED, Identity, Step


class WithinBatch(Step):
    """A MAR imputer run in each batch's own scale.

    Each feature's batch offset (the batch's observed mean minus the overall observed mean, training
    rows, at least 2 observed values; 0 otherwise) is taken out, the imputer fit and applied, and the
    offset put back on the imputed cells; observed cells stay as they were. Donors and means then come
    from every batch without carrying batch shifts into the imputed values, and the batch step that
    follows moves imputed and observed values of a batch alike. A batch without training samples gets
    offset 0 (the pooled scale).

    Parameters
    ----------
    imputer : estimator
        The unfitted imputer.
    info : pandas.DataFrame or None
        Sample sheet with the batch column.
    batch_column : str
        Column of ``info`` with the batch.

    Attributes
    ----------
    offsets_ : dict of str to numpy.ndarray
        Offset of each feature per training batch.
    imputer_ : estimator
        Clone of ``imputer`` fitted on the training samples with the offsets taken out.
    """

    _parameter_constraints: dict = {
        "imputer": [HasMethods(["fit", "transform"]), None],
        "info": SAMPLE_SHEET,
        "batch_column": COLUMN_NAME,
    }

    def __init__(self, imputer=None, info: pd.DataFrame | None = None, batch_column: str = ""):
        self.imputer = imputer
        self.info = info
        self.batch_column = batch_column

    def _batch(self, index) -> np.ndarray:
        return self.info.loc[index, self.batch_column].astype(str).to_numpy()

    def _offsets(self, index) -> np.ndarray:
        b = self._batch(index)
        C = np.zeros((len(index), len(self.columns_)))
        for g in np.unique(b):
            if g in self.offsets_:
                C[b == g] = self.offsets_[g]
        return C

    def fit(self, X, y=None):
        """Learn the batch offsets and fit the imputer on the offset-free training samples."""
        self._validate_params()
        from sklearn.base import clone

        V = X.to_numpy(float)
        obs = np.isfinite(V)
        b = self._batch(X.index)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            overall = np.nanmean(V, axis=0)
            self.offsets_ = {}
            for g in np.unique(b):
                sel = b == g
                m = np.nanmean(V[sel], axis=0)
                ok = (obs[sel].sum(0) >= 2) & np.isfinite(m) & np.isfinite(overall)
                self.offsets_[g] = np.where(ok, m - overall, 0.0)
        self.columns_ = list(X.columns)
        self.imputer_ = clone(self.imputer).fit(X - self._offsets(X.index), y)
        return self

    def transform(self, X):
        """Impute the missing cells in each batch's own scale; observed cells stay as they are."""
        check_is_fitted(self)
        V = X.to_numpy(float)
        C = self._offsets(X.index)
        Z = self.imputer_.transform(X - C).to_numpy(float) + C
        return pd.DataFrame(np.where(np.isfinite(V), V, Z), index=X.index, columns=X.columns)


class MixedImpute(Step):
    """MNAR imputation for features whose missingness tracks low intensity, MAR imputation otherwise.

    A feature is called left-censored (MNAR) on the training samples when either

    * it is missing in at least ``group_missing`` of the training samples of some outcome group with
      two or more samples (absent in a condition: the case of DEP's "mixed" imputation), or
    * its missing cells are predicted low: the mean of the MAR method's predictions at its missing
      cells lies more than ``shift_sd`` of the feature's observed sd below its observed mean (the
      samples that resemble the ones lacking the feature have low values of it).

    Otherwise it is missing at random and gets the MAR method's values. The decision per feature is
    kept in ``decisions_`` and applied unchanged to new samples.

    Parameters
    ----------
    mnar : str
        ``minprob``, ``qrilc`` or ``halfmin``.
    mar : str
        ``knn`` or ``iterative``.
    k : int
        Neighbours of the kNN method.
    group_missing : float
        Fraction of a group that must be missing for the group rule.
    shift_sd : float
        Threshold of the predicted-low rule, in observed sds.
    seed : int
        Seed of the random MNAR draws.
    info, batch_column
        Sample sheet and its batch column: the MAR method runs within batch (:class:`WithinBatch`);
        empty: pooled.

    Attributes
    ----------
    decisions_ : pandas.DataFrame
        One row per feature: missing fraction, predicted shift in sds, the two rules and the
        ``mechanism`` (``MNAR``, ``MAR`` or ``complete``).
    mnar_features_ : list of str
        The features imputed by the MNAR method.
    mar_, mnar_ : Step
        The fitted MAR and MNAR imputers.
    """

    _parameter_constraints: dict = {
        "mnar": CHECKED_NAME,
        "mar": CHECKED_NAME,
        "k": [Integral],
        "group_missing": [Interval(Real, 0, 1, closed="right")],
        "shift_sd": NON_NEGATIVE,
        "seed": SEED,
        "info": SAMPLE_SHEET,
        "batch_column": COLUMN_NAME,
    }

    def __init__(
        self,
        mnar: str = "minprob",
        mar: str = "knn",
        k: int = 10,
        group_missing: float = 1.0,
        shift_sd: float = 0.5,
        *,
        seed: int,
        info: pd.DataFrame | None = None,
        batch_column: str = "",
    ):
        self.mnar = mnar
        self.mar = mar
        self.k = k
        self.group_missing = group_missing
        self.shift_sd = shift_sd
        self.seed = seed
        self.info = info
        self.batch_column = batch_column

    def fit(self, X, y=None):
        """Fit both imputers and decide, per feature, MNAR or MAR on the training samples."""
        self._validate_params()
        if self.mnar not in ("minprob", "qrilc", "halfmin"):
            raise InputError(f"impute mixed: unknown mnar method '{self.mnar}' (minprob, qrilc, halfmin)")
        if self.mar not in ("knn", "iterative"):
            raise InputError(f"impute mixed: unknown mar method '{self.mar}' (knn, iterative)")
        self.mar_ = make_imputer(
            self.mar,
            {"k": self.k} if self.mar == "knn" else {},
            seed=self.seed,
            info=self.info,
            batch_column=self.batch_column,
        ).fit(X, y)
        self.mnar_ = make_imputer(self.mnar, {}, seed=self.seed).fit(X, y)
        V = X.to_numpy(float)
        miss = ~np.isfinite(V)
        Z = self.mar_.transform(X).to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_obs = np.nanmean(V, axis=0)
            sd_obs = np.nanstd(V, axis=0, ddof=1)
            pred = np.where(miss, Z, np.nan)
            mean_pred = np.nanmean(pred, axis=0)
        score = np.where(sd_obs > 0, (mean_pred - mean_obs) / np.where(sd_obs > 0, sd_obs, 1.0), 0.0)
        low = miss.any(axis=0) & (score < -self.shift_sd)
        group = np.zeros(V.shape[1], dtype=bool)
        if y is not None:
            g = pd.Series(y).reindex(X.index)
            for level in g.dropna().unique():
                sel = (g == level).to_numpy()
                if sel.sum() >= 2:
                    group |= miss[sel].mean(axis=0) >= self.group_missing
        mnar = low | group
        self.decisions_ = pd.DataFrame(
            {
                "feature": X.columns,
                "missing_fraction": miss.mean(axis=0),
                "predicted_shift_sd": score,
                "absent_in_a_group": group,
                "predicted_low": low,
                "mechanism": np.where(mnar, "MNAR", np.where(miss.any(axis=0), "MAR", "complete")),
            }
        )
        self.mnar_features_ = list(X.columns[mnar])
        return self

    def transform(self, X):
        """Impute the MNAR features with the MNAR method and the others with the MAR method."""
        check_is_fitted(self)
        mnar = X.columns.isin(self.mnar_features_)
        A = self.mar_.transform(X).to_numpy(float)
        B = self.mnar_.transform(X).to_numpy(float)
        return pd.DataFrame(np.where(mnar[None, :], B, A), index=X.index, columns=X.columns)


IMPUTE_METHODS = ("knn", "iterative", "halfmin", "minprob", "qrilc", "mixed", "mean", "auto")
AUTO_CANDIDATES = ("halfmin", "minprob", "qrilc", "knn", "mixed", "mean")


MAR_METHODS = ("knn", "iterative", "mean")  # borrow from other samples: run within batch (WithinBatch)


def make_imputer(
    method: str, opts: dict | None = None, *, seed: int = 0, info: pd.DataFrame | None = None, batch_column: str = ""
) -> Step:
    """An unfitted imputer from its config method name and options.

    With ``info`` and a ``batch_column``, the MAR methods run within batch (:class:`WithinBatch`), and
    ``mixed`` and ``auto`` pass the batch on to their MAR parts and candidates.

    Parameters
    ----------
    method : str
        One of :data:`IMPUTE_METHODS`; another name is an :class:`~moflow.errors.InputError`.
    opts : dict or None
        Options of the method (an unknown option is an :class:`~moflow.errors.InputError`).
    seed : int
        Seed of the random steps, unless ``opts`` sets one.
    info : pandas.DataFrame or None
        Sample sheet.
    batch_column : str
        Column of ``info`` with the batch (empty, or absent from ``info``: pooled).

    Returns
    -------
    Step
        The unfitted imputer.
    """
    opts = dict(opts or {})
    cls = {
        "knn": KNNImpute,
        "iterative": IterativeImpute,
        "halfmin": HalfMinImpute,
        "minprob": MinProbImpute,
        "qrilc": QRILCImpute,
        "mixed": MixedImpute,
        "mean": MeanImpute,
        "auto": AutoImpute,
    }.get(method)
    if cls is None:
        raise InputError(f"impute: unknown method '{method}' ({', '.join(IMPUTE_METHODS)}, none)")
    params = cls._get_param_names()  # (seed has no default: the schema's seed is always passed)
    if "seed" in params:
        opts.setdefault("seed", seed)
    internal = ("info", "batch_column")
    unknown = sorted(set(opts) - set(p for p in params if p not in internal))
    if unknown:
        allowed = ", ".join(p for p in params if p not in ("seed",) + internal)
        raise InputError(f"impute {method}: unknown option(s) {unknown}; options are {allowed or 'none'}.")
    batched = bool(batch_column) and info is not None and batch_column in info.columns
    if batched and "batch_column" in params:
        opts.update(info=info, batch_column=batch_column)
    est = cls(**opts)
    return WithinBatch(est, info=info, batch_column=batch_column) if batched and method in MAR_METHODS else est


def imputation_table(step, X: pd.DataFrame | None, y: pd.Series | None = None, *, seed: int = 0) -> pd.DataFrame:
    """The imputation diagnostics of a layer.

    They are the scores ``auto`` chose by, or, for a configured method, the same comparison with that
    method (its fitted options) marked ``chosen``.

    Parameters
    ----------
    step : Step or None
        The layer's fitted impute step (or ``None``).
    X : pandas.DataFrame or None
        The impute step's input on the training samples.
    y : pandas.Series or None
        Outcome of those samples.
    seed : int
        Seed of the masks and of the candidates' random draws.

    Returns
    -------
    pandas.DataFrame
        Columns ``IMPUTATION_COLUMNS``; empty where nothing is imputed.
    """
    if isinstance(step, AutoImpute):
        t = step.scores_.copy()
        t["mode"] = "auto"
        return t[IMPUTATION_COLUMNS]
    if step is None or isinstance(step, Identity) or X is None or not X.isna().to_numpy().any():
        return pd.DataFrame(columns=IMPUTATION_COLUMNS)
    names = {
        KNNImpute: "knn",
        IterativeImpute: "iterative",
        HalfMinImpute: "halfmin",
        MinProbImpute: "minprob",
        QRILCImpute: "qrilc",
        MixedImpute: "mixed",
        MeanImpute: "mean",
    }
    inner = step.imputer if isinstance(step, WithinBatch) else step
    configured = names.get(type(inner), type(inner).__name__)
    batch = {"info": getattr(step, "info", None), "batch_column": getattr(step, "batch_column", "")}
    imputers = {m: make_imputer(m, {}, seed=seed, **batch) for m in AUTO_CANDIDATES}
    imputers[configured] = step
    yy = None if y is None else y.reindex(X.index)
    t = score_imputers(X, yy, imputers, seed=seed)
    t["chosen"] = t["method"] == configured
    t["mode"] = "configured"
    return t[IMPUTATION_COLUMNS]


class AutoImpute(Step):
    """Pick the imputation method that best recovers values hidden the way this layer loses them.

    On the training samples, observed cells are masked with :func:`pattern_mask` (the layer's own
    intensity-dependent missingness), every candidate is fit on the masked matrix and scored by
    :func:`nrmse` on the hidden cells, and the best one is refit on the unmasked training samples.
    The scores are in ``scores_`` (one row per candidate, with the ratio to mean imputation).

    Parameters
    ----------
    candidates : array-like of str
        Method names (see :func:`make_imputer`); ``iterative`` is accurate but slow on wide layers.
    fraction : float
        Share of the observed cells to hide.
    k : int
        Neighbours of the kNN-based candidates.
    seed : int
        Seed of the mask and of the random draws.
    info, batch_column
        Sample sheet and its batch column: the MAR candidates (``mean`` among them) run within batch
        (:class:`WithinBatch`); empty: pooled.

    Attributes
    ----------
    scores_ : pandas.DataFrame
        One row per candidate (``mean`` always among them), with its NRMSE and ``chosen``.
    chosen_ : str
        The method with the lowest NRMSE.
    imputer_ : Step
        The chosen method, fitted on the unmasked training samples.
    """

    _parameter_constraints: dict = {
        "candidates": ["array-like"],  # the names are checked in fit (an InputError)
        "fraction": [Interval(Real, 0, 1, closed="neither")],
        "k": [Integral],
        "seed": SEED,
        "info": SAMPLE_SHEET,
        "batch_column": COLUMN_NAME,
    }

    def __init__(
        self,
        candidates=AUTO_CANDIDATES,
        fraction: float = 0.1,
        k: int = 10,
        *,
        seed: int,
        info: pd.DataFrame | None = None,
        batch_column: str = "",
    ):
        self.candidates = candidates
        self.fraction = fraction
        self.k = k
        self.seed = seed
        self.info = info
        self.batch_column = batch_column

    def _make(self, method):
        return make_imputer(
            method,
            {"k": self.k} if method in ("knn", "mixed") else {},
            seed=self.seed,
            info=self.info,
            batch_column=self.batch_column,
        )

    def fit(self, X, y=None):
        """Score the candidates on masked training cells and fit the best one on the training samples."""
        self._validate_params()
        cands = list(self.candidates)
        bad = [c for c in cands if c not in IMPUTE_METHODS or c == "auto"]
        if bad or not cands:
            raise InputError(
                f"impute auto: unknown candidate(s) {bad}; choose among "
                f"{', '.join(m for m in IMPUTE_METHODS if m != 'auto')}."
            )
        imputers = {m: self._make(m) for m in cands}
        imputers.setdefault("mean", self._make("mean"))  # the baseline, within batch like the other MAR methods
        table = score_imputers(X, y, imputers, fraction=self.fraction, seed=self.seed)
        self.chosen_ = str(table.loc[table["nrmse"].idxmin(), "method"])
        table["chosen"] = table["method"] == self.chosen_
        self.scores_ = table
        self.imputer_ = self._make(self.chosen_).fit(X, y)
        return self

    def transform(self, X):
        """Impute with the chosen method."""
        check_is_fitted(self)
        return self.imputer_.transform(X)
