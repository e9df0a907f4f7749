"""Stage ``impute``: the imputers and :func:`make_imputer`, their factory by config method name.

:class:`HalfMinImpute`, :class:`MinProbImpute`, :class:`QRILCImpute` (left-censored, MNAR),
:class:`KNNImpute`, :class:`IterativeImpute` (MAR), :class:`MixedImpute` (MNAR or MAR per feature),
:class:`AutoImpute` (the best of several on the layer's own missingness pattern) and the baseline
:class:`MeanImpute` (defined with the scoring in :mod:`moflow.preprocess.impute_benchmark`);
:class:`WithinBatch`, which runs a MAR imputer in each batch's own scale; :func:`imputation_table`,
the imputation diagnostics of a fitted layer.

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
from scipy import special
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import (CHECKED_NAME, COLUMN_NAME, COUNT, FRACTION, NON_NEGATIVE, POSITIVE,
                                          SAMPLE_SHEET, SEED, Identity, Step, fill_columns, stable_seed)
from moflow.preprocess.impute_benchmark import IMPUTATION_COLUMNS, MeanImpute, score_imputers


class KNNImpute(Step):
    """k-nearest-neighbour imputation with neighbours among the training samples (NaN-aware numpy).

    The definition of scikit-learn's ``KNNImputer``: distances are NaN-Euclidean (squared
    differences over the co-observed features, scaled by features / co-observed features); a missing
    cell of feature j is the (uniform or inverse-distance weighted) mean of feature j in the k
    nearest training samples that observe j; a sample with no co-observed feature with any donor
    gets the training mean. All distances come from four matrix products of the zero-filled
    matrices and their masks, and donors are searched in each sample's distance order, first among
    its nearest few neighbours and only where needed further out.

    Parameters
    ----------
    k
        Number of neighbours.
    weights
        ``uniform`` or ``distance`` (inverse distance; zero-distance donors take all the weight).
    """

    # k and weights are checked in fit (InputErrors)
    _parameter_constraints: dict = {"k": [Integral], "weights": CHECKED_NAME}

    def __init__(self, k: int = 10, weights: str = "uniform"):
        self.k = k
        self.weights = weights

    def fit(self, X, y=None):
        self._validate_params()
        if self.weights not in ("uniform", "distance"):
            raise InputError(f"impute knn: unknown weights '{self.weights}' (uniform, distance)")
        if int(self.k) < 1:
            raise InputError(f"impute knn: k must be at least 1, not {self.k}.")
        V = X.to_numpy(float)
        self.mask_ = np.isfinite(V)
        self.values_ = np.where(self.mask_, V, 0.0)
        self.mask_f_ = self.mask_.astype(float)
        self.sq_ = self.values_**2
        self.sq_rowsum_ = self.sq_.sum(1)
        self.n_missing_ = (~self.mask_).sum(1)
        self.sparse_ = self.n_missing_.sum() <= 0.3 * V.size
        if self.sparse_:
            from scipy import sparse

            self.missing_sp_ = sparse.csr_matrix(~self.mask_, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.col_mean_ = np.nan_to_num(np.nanmean(V, axis=0))
        self.columns_ = list(X.columns)
        return self

    def distances(self, V: np.ndarray) -> np.ndarray:
        """Squared NaN-Euclidean distances of the rows of V to the training samples (inf: nothing
        co-observed)."""
        check_is_fitted(self)
        Mq = np.isfinite(V)
        Q0 = np.where(Mq, V, 0.0)
        Q2 = Q0 * Q0
        if self.sparse_ and (~Mq).sum() <= 0.3 * V.size:
            # few holes: sum_j a_j^2 Mb_j = sum_j a_j^2 - sum_j a_j^2 (1 - Mb_j), with (1 - M) sparse, so one
            # dense product (the cross term) remains
            from scipy import sparse

            Nq = sparse.csr_matrix(~Mq, dtype=float)
            ss = (Q2.sum(1)[:, None] - (self.missing_sp_ @ Q2.T).T
                  + self.sq_rowsum_[None, :] - Nq @ self.sq_.T - 2.0 * (Q0 @ self.values_.T))
            nco = (V.shape[1] - (~Mq).sum(1)[:, None] - self.n_missing_[None, :]
                   + (Nq @ self.missing_sp_.T).toarray())
        else:
            Mqf = Mq.astype(float)
            ss = Q2 @ self.mask_f_.T + Mqf @ self.sq_.T - 2.0 * (Q0 @ self.values_.T)
            nco = Mqf @ self.mask_f_.T
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(nco > 0, np.maximum(ss, 0.0) * V.shape[1] / np.where(nco > 0, nco, 1.0), np.inf)

    def _donor_mean(self, take: np.ndarray, cols: np.ndarray, d2: np.ndarray):
        Mo = self.mask_[np.ix_(take, cols)]
        sel = Mo & (np.cumsum(Mo, axis=0) <= int(self.k))
        vals = self.values_[np.ix_(take, cols)]
        if self.weights == "uniform":
            W = sel.astype(float)
        else:
            d = np.sqrt(d2[take])
            zero = d == 0
            with np.errstate(divide="ignore"):
                W = sel * np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, d))[:, None]
            if zero.any():
                Wz = (sel & zero[:, None]).astype(float)
                has = Wz.any(axis=0)
                W[:, has] = Wz[:, has]
        den = W.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (W * vals).sum(axis=0) / den, sel.sum(axis=0)

    def _training_distances(self) -> np.ndarray:
        """Squared NaN-Euclidean distances among the training samples (symmetric products: half the work)."""
        G = self.values_ @ self.values_.T
        if self.sparse_:
            T1 = self.sq_rowsum_[:, None] - (self.missing_sp_ @ self.sq_.T).T
            nco = (self.mask_.shape[1] - self.n_missing_[:, None] - self.n_missing_[None, :]
                   + (self.missing_sp_ @ self.missing_sp_.T).toarray())
        else:
            T1 = self.sq_ @ self.mask_f_.T
            nco = self.mask_f_ @ self.mask_f_.T
        ss = T1 + T1.T - 2.0 * G
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(nco > 0, np.maximum(ss, 0.0) * self.mask_.shape[1] / np.where(nco > 0, nco, 1.0), np.inf)

    def fit_transform(self, X, y=None, **fit_params):
        self.fit(X, y)
        return self._impute(X, training=len(X) <= 5000)

    def transform(self, X):
        check_is_fitted(self)
        return self._impute(X, training=False)

    def _impute(self, X, training: bool):
        if list(X.columns) != self.columns_:
            raise InputError("impute knn: the features differ from those seen in fit; transform needs the same "
                             "features in the same order.")
        V = X.to_numpy(float)
        miss = ~np.isfinite(V)
        rows = np.flatnonzero(miss.any(axis=1))
        if not len(rows):
            return X
        out = V.copy()
        k = int(self.k)
        D_train = self._training_distances() if training else None
        for s in range(0, len(rows), 256):  # blocks bound the memory of the distance matrix
            blk = rows[s:s + 256]
            D2 = D_train[blk] if training else self.distances(V[blk])
            order = np.argsort(D2, axis=1, kind="stable")
            n_finite = np.isfinite(D2).sum(axis=1)
            for i, r in enumerate(blk):
                cols = np.flatnonzero(miss[r])
                nf = int(n_finite[i])
                if nf == 0:
                    out[r, cols] = self.col_mean_[cols]
                    continue
                m0 = min(nf, max(3 * k, k + 5))
                val, cnt = self._donor_mean(order[i, :m0], cols, D2[i])
                short = (cnt < k) & (m0 < nf)
                if short.any():
                    val[short], cnt[short] = self._donor_mean(order[i, :nf], cols[short], D2[i])
                out[r, cols] = np.where(cnt > 0, val, self.col_mean_[cols])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


class IterativeImpute(Step):
    """Chained-equation imputation restricted to each feature's nearest features (MAR).

    scikit-learn's ``IterativeImputer`` with a ``BayesianRidge`` model per feature that uses only
    ``n_nearest_features`` predictors (drawn with probability proportional to their absolute
    correlation with the target, seeded), ``max_iter`` rounds, fit on the training samples; new
    samples go through the stored chain of models.

    Parameters
    ----------
    n_nearest_features
        Predictors per feature (keeps the cost linear in the number of features).
    max_iter
        Imputation rounds.
    seed
        Seed of the predictor draws.
    """

    _parameter_constraints: dict = {"n_nearest_features": COUNT, "max_iter": COUNT, "seed": SEED}

    def __init__(self, n_nearest_features: int = 50, max_iter: int = 3, seed: int = 0):
        self.n_nearest_features = n_nearest_features
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, X, y=None):
        self._validate_params()
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer
        from sklearn.linear_model import BayesianRidge

        nn = int(min(self.n_nearest_features, max(X.shape[1] - 1, 1)))
        self.imputer_ = IterativeImputer(estimator=BayesianRidge(), n_nearest_features=nn, max_iter=self.max_iter,
                                         random_state=int(self.seed), skip_complete=True, keep_empty_features=True,
                                         tol=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at a small max_iter is expected
            self.imputer_.fit(X.to_numpy(float))
        return self

    def transform(self, X):
        check_is_fitted(self)
        if not X.isna().to_numpy().any():
            return X
        out = self.imputer_.transform(X.to_numpy(float))
        V = X.to_numpy(float)
        return pd.DataFrame(np.where(np.isfinite(V), V, out), index=X.index, columns=X.columns)


class HalfMinImpute(Step):
    """Left-censored imputation: each feature's training minimum minus ``shift`` (log2 scale: -1 = half)."""

    _parameter_constraints: dict = {"shift": [Real]}

    def __init__(self, shift: float = 1.0):
        self.shift = shift

    def fit(self, X, y=None):
        self._validate_params()
        mins = X.min(axis=0, skipna=True)
        self.fill_ = (mins - self.shift).fillna(np.nanmin(X.to_numpy()) - self.shift)
        return self

    def transform(self, X):
        check_is_fitted(self)
        return fill_columns(X, self.fill_)


class MinProbImpute(Step):
    """MinProb (imputeLCMD): draws from N(q-quantile of the sample, sd), sd = median feature sd x tune_sigma.

    Draws are seeded by sample ID, so a sample gets the same values whichever fold it falls in.
    """

    _parameter_constraints: dict = {"q": FRACTION, "tune_sigma": POSITIVE, "seed": SEED}

    def __init__(self, q: float = 0.01, tune_sigma: float = 1.0, seed: int = 0):
        self.q = q
        self.tune_sigma = tune_sigma
        self.seed = seed

    def fit(self, X, y=None):
        self._validate_params()
        sds = X.std(axis=0, skipna=True, ddof=1)
        self.sigma_ = float(np.nanmedian(sds.to_numpy())) * self.tune_sigma
        return self

    def transform(self, X):
        check_is_fitted(self)
        V = X.to_numpy(float)
        out = V.copy()
        for i, s in enumerate(X.index):
            miss = ~np.isfinite(V[i])
            if not miss.any():
                continue
            mu = np.nanquantile(V[i], self.q)
            rng = np.random.default_rng(stable_seed(self.seed, str(s)))
            draws = rng.normal(mu, self.sigma_, X.shape[1])
            out[i] = np.where(miss, draws, V[i])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


class QRILCImpute(Step):
    """QRILC-like left-censored imputation (imputeLCMD's quantile regression imputation).

    Per sample, with a fraction ``pi`` of missing values, the observed values are taken to be the
    upper ``1 - pi`` part of a normal distribution: a least-squares line of the sample's observed
    quantiles at levels t on the standard normal quantiles at levels ``pi + (1 - pi) t`` gives its
    mean and sd. Missing cells are drawn from that normal (sd x ``tune_sigma``) truncated above at
    its ``pi`` quantile, by inverse-CDF sampling seeded by sample ID, so a sample gets the same
    values whichever fold it falls in and whatever other samples come with it. A sample with fewer
    than 10 observed values uses the median mean and sd fitted on the training samples.

    Parameters
    ----------
    tune_sigma
        Multiplies the fitted sd of the draws.
    seed
        Seed (combined with each sample ID).
    """

    _parameter_constraints: dict = {"tune_sigma": POSITIVE, "seed": SEED}

    def __init__(self, tune_sigma: float = 1.0, seed: int = 0):
        self.tune_sigma = tune_sigma
        self.seed = seed

    @staticmethod
    def _params(row: np.ndarray):
        obs = row[np.isfinite(row)]
        pi = 1.0 - len(obs) / len(row)
        if len(obs) < 10 or pi >= 0.99:
            return None
        t = np.linspace(0.01, 0.99, 99)
        q_obs = np.quantile(obs, t)
        z = special.ndtri(pi + (1 - pi) * t)
        slope, intercept = np.polyfit(z, q_obs, 1)
        if not slope > 0:
            return None
        return float(intercept), float(slope), pi

    def fit(self, X, y=None):
        self._validate_params()
        params = [p for p in (self._params(r) for r in X.to_numpy(float)) if p is not None]
        if not params:
            raise InputError("impute qrilc: no training sample has 10 or more observed values to fit its "
                             "distribution; use impute method 'halfmin'.")
        P = np.array(params)
        self.fallback_ = (float(np.median(P[:, 0])), float(np.median(P[:, 1])))
        return self

    def transform(self, X):
        check_is_fitted(self)
        V = X.to_numpy(float)
        out = V.copy()
        for i, s in enumerate(X.index):
            miss = ~np.isfinite(V[i])
            if not miss.any():
                continue
            par = self._params(V[i])
            mu, sd = (par[0], par[1]) if par is not None else self.fallback_
            pi = miss.mean()
            upper = mu + sd * special.ndtri(min(max(pi, 1e-6), 1 - 1e-6))
            sd_draw = sd * self.tune_sigma
            rng = np.random.default_rng(stable_seed(self.seed, str(s)))
            u = rng.random(X.shape[1]) * special.ndtr((upper - mu) / sd_draw)
            draws = mu + sd_draw * special.ndtri(np.clip(u, 1e-300, 1.0))
            out[i] = np.where(miss, draws, V[i])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


class WithinBatch(Step):
    """A MAR imputer run in each batch's own scale: each feature's batch offset (the batch's observed mean
    minus the overall observed mean, training rows, at least 2 observed values; 0 otherwise) is taken out,
    the imputer fit and applied, and the offset put back on the imputed cells; observed cells stay as
    they were. Donors and means then come from every batch without carrying batch shifts into the
    imputed values, and the batch step that follows moves imputed and observed values of a batch alike.
    A batch without training samples gets offset 0 (the pooled scale).

    Parameters
    ----------
    imputer
        The unfitted imputer.
    info
        Sample sheet with the batch column.
    batch_column
        Column of ``info`` with the batch.
    """

    _parameter_constraints: dict = {"imputer": [HasMethods(["fit", "transform"]), None], "info": SAMPLE_SHEET,
                                    "batch_column": COLUMN_NAME}

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
    mnar
        ``minprob``, ``qrilc`` or ``halfmin``.
    mar
        ``knn`` or ``iterative``.
    k
        Neighbours of the kNN method.
    group_missing
        Fraction of a group that must be missing for the group rule.
    shift_sd
        Threshold of the predicted-low rule, in observed sds.
    seed
        Seed of the random MNAR draws.
    info, batch_column
        Sample sheet and its batch column: the MAR method runs within batch (:class:`WithinBatch`);
        empty: pooled.
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

    def __init__(self, mnar: str = "minprob", mar: str = "knn", k: int = 10, group_missing: float = 1.0,
                 shift_sd: float = 0.5, seed: int = 0, info: pd.DataFrame | None = None, batch_column: str = ""):
        self.mnar = mnar
        self.mar = mar
        self.k = k
        self.group_missing = group_missing
        self.shift_sd = shift_sd
        self.seed = seed
        self.info = info
        self.batch_column = batch_column

    def fit(self, X, y=None):
        self._validate_params()
        if self.mnar not in ("minprob", "qrilc", "halfmin"):
            raise InputError(f"impute mixed: unknown mnar method '{self.mnar}' (minprob, qrilc, halfmin)")
        if self.mar not in ("knn", "iterative"):
            raise InputError(f"impute mixed: unknown mar method '{self.mar}' (knn, iterative)")
        self.mar_ = make_imputer(self.mar, {"k": self.k} if self.mar == "knn" else {}, seed=self.seed, info=self.info,
                                 batch_column=self.batch_column).fit(X, y)
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
        self.decisions_ = pd.DataFrame({
            "feature": X.columns, "missing_fraction": miss.mean(axis=0), "predicted_shift_sd": score,
            "absent_in_a_group": group, "predicted_low": low,
            "mechanism": np.where(mnar, "MNAR", np.where(miss.any(axis=0), "MAR", "complete")),
        })
        self.mnar_features_ = list(X.columns[mnar])
        return self

    def transform(self, X):
        check_is_fitted(self)
        mnar = X.columns.isin(self.mnar_features_)
        A = self.mar_.transform(X).to_numpy(float)
        B = self.mnar_.transform(X).to_numpy(float)
        return pd.DataFrame(np.where(mnar[None, :], B, A), index=X.index, columns=X.columns)


IMPUTE_METHODS = ("knn", "iterative", "halfmin", "minprob", "qrilc", "mixed", "mean", "auto")
AUTO_CANDIDATES = ("halfmin", "minprob", "qrilc", "knn", "mixed", "mean")


MAR_METHODS = ("knn", "iterative", "mean")  # borrow from other samples: run within batch (WithinBatch)


def make_imputer(method: str, opts: dict | None = None, *, seed: int = 0, info: pd.DataFrame | None = None,
                 batch_column: str = "") -> Step:
    """An unfitted imputer from its config method name and options.

    With ``info`` and a ``batch_column``, the MAR methods run within batch (:class:`WithinBatch`), and
    ``mixed`` and ``auto`` pass the batch on to their MAR parts and candidates.
    """
    opts = dict(opts or {})
    cls = {"knn": KNNImpute, "iterative": IterativeImpute, "halfmin": HalfMinImpute, "minprob": MinProbImpute,
           "qrilc": QRILCImpute, "mixed": MixedImpute, "mean": MeanImpute, "auto": AutoImpute}.get(method)
    if cls is None:
        raise InputError(f"impute: unknown method '{method}' ({', '.join(IMPUTE_METHODS)}, none)")
    params = cls().get_params()
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
    """The imputation diagnostics of a layer: the scores ``auto`` chose by, or, for a configured
    method, the same comparison with that method (its fitted options) marked ``chosen``.

    Parameters
    ----------
    step
        The layer's fitted impute step (or ``None``).
    X
        The impute step's input on the training samples.
    y
        Outcome of those samples.

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
    names = {KNNImpute: "knn", IterativeImpute: "iterative", HalfMinImpute: "halfmin", MinProbImpute: "minprob",
             QRILCImpute: "qrilc", MixedImpute: "mixed", MeanImpute: "mean"}
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
    candidates
        Method names (see :func:`make_imputer`); ``iterative`` is accurate but slow on wide layers.
    fraction
        Share of the observed cells to hide.
    k
        Neighbours of the kNN-based candidates.
    seed
        Seed of the mask and of the random draws.
    info, batch_column
        Sample sheet and its batch column: the MAR candidates (``mean`` among them) run within batch
        (:class:`WithinBatch`); empty: pooled.
    """

    _parameter_constraints: dict = {
        "candidates": ["array-like"],  # the names are checked in fit (an InputError)
        "fraction": [Interval(Real, 0, 1, closed="neither")],
        "k": [Integral],
        "seed": SEED,
        "info": SAMPLE_SHEET,
        "batch_column": COLUMN_NAME,
    }

    def __init__(self, candidates=AUTO_CANDIDATES, fraction: float = 0.1, k: int = 10, seed: int = 0,
                 info: pd.DataFrame | None = None, batch_column: str = ""):
        self.candidates = candidates
        self.fraction = fraction
        self.k = k
        self.seed = seed
        self.info = info
        self.batch_column = batch_column

    def _make(self, method):
        return make_imputer(method, {"k": self.k} if method in ("knn", "mixed") else {}, seed=self.seed,
                            info=self.info, batch_column=self.batch_column)

    def fit(self, X, y=None):
        self._validate_params()
        cands = list(self.candidates)
        bad = [c for c in cands if c not in IMPUTE_METHODS or c == "auto"]
        if bad or not cands:
            raise InputError(f"impute auto: unknown candidate(s) {bad}; choose among "
                             f"{', '.join(m for m in IMPUTE_METHODS if m != 'auto')}.")
        imputers = {m: self._make(m) for m in cands}
        imputers.setdefault("mean", self._make("mean"))  # the baseline, within batch like the other MAR methods
        table = score_imputers(X, y, imputers, fraction=self.fraction, seed=self.seed)
        self.chosen_ = str(table.loc[table["nrmse"].idxmin(), "method"])
        table["chosen"] = table["method"] == self.chosen_
        self.scores_ = table
        self.imputer_ = self._make(self.chosen_).fit(X, y)
        return self

    def transform(self, X):
        check_is_fitted(self)
        return self.imputer_.transform(X)
