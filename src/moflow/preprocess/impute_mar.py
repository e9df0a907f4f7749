"""Imputers of values missing at random (MAR), which borrow from other samples.

:class:`KNNImpute` (k nearest training samples, NaN-Euclidean) and :class:`IterativeImpute` (chained
equations over each feature's nearest features). Where a layer has batches they run within batch
(:class:`moflow.preprocess.impute.WithinBatch`).
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import CHECKED_NAME, COUNT, SEED, Step


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
    k : int
        Number of neighbours.
    weights : str
        ``uniform`` or ``distance`` (inverse distance; zero-distance donors take all the weight).

    Attributes
    ----------
    values_, mask_ : numpy.ndarray
        The zero-filled training matrix and its observed mask (the donors).
    col_mean_ : numpy.ndarray
        Training mean of each feature (0 where a feature has no observed value).
    columns_ : list of str
        The training features, in order.
    """

    # k and weights are checked in fit (InputErrors)
    _parameter_constraints: dict = {"k": [Integral], "weights": CHECKED_NAME}

    def __init__(self, k: int = 10, weights: str = "uniform"):
        self.k = k
        self.weights = weights

    def fit(self, X, y=None):
        """Store the training samples as donors (and the products the distances need)."""
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
        """Squared NaN-Euclidean distances of the rows of V to the training samples.

        Parameters
        ----------
        V : numpy.ndarray
            Samples x training features (NaN: missing).

        Returns
        -------
        numpy.ndarray
            Rows of V x training samples (inf: nothing co-observed).
        """
        check_is_fitted(self)
        Mq = np.isfinite(V)
        Q0 = np.where(Mq, V, 0.0)
        Q2 = Q0 * Q0
        if self.sparse_ and (~Mq).sum() <= 0.3 * V.size:
            # few holes: sum_j a_j^2 Mb_j = sum_j a_j^2 - sum_j a_j^2 (1 - Mb_j), with (1 - M) sparse, so one
            # dense product (the cross term) remains
            from scipy import sparse

            Nq = sparse.csr_matrix(~Mq, dtype=float)
            ss = (
                Q2.sum(1)[:, None]
                - (self.missing_sp_ @ Q2.T).T
                + self.sq_rowsum_[None, :]
                - Nq @ self.sq_.T
                - 2.0 * (Q0 @ self.values_.T)
            )
            nco = V.shape[1] - (~Mq).sum(1)[:, None] - self.n_missing_[None, :] + (Nq @ self.missing_sp_.T).toarray()
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
            nco = (
                self.mask_.shape[1]
                - self.n_missing_[:, None]
                - self.n_missing_[None, :]
                + (self.missing_sp_ @ self.missing_sp_.T).toarray()
            )
        else:
            T1 = self.sq_ @ self.mask_f_.T
            nco = self.mask_f_ @ self.mask_f_.T
        ss = T1 + T1.T - 2.0 * G
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(nco > 0, np.maximum(ss, 0.0) * self.mask_.shape[1] / np.where(nco > 0, nco, 1.0), np.inf)

    def fit_transform(self, X, y=None, **fit_params):
        """Store the training samples as donors and impute them."""
        self.fit(X, y)
        return self._impute(X, training=len(X) <= 5000)

    def transform(self, X):
        """Impute the missing cells from the nearest training samples."""
        check_is_fitted(self)
        return self._impute(X, training=False)

    def _impute(self, X, training: bool):
        if list(X.columns) != self.columns_:
            raise InputError(
                "impute knn: the features differ from those seen in fit; transform needs the same "
                "features in the same order."
            )
        V = X.to_numpy(float)
        miss = ~np.isfinite(V)
        rows = np.flatnonzero(miss.any(axis=1))
        if not len(rows):
            return X
        out = V.copy()
        k = int(self.k)
        D_train = self._training_distances() if training else None
        for s in range(0, len(rows), 256):  # blocks bound the memory of the distance matrix
            blk = rows[s : s + 256]
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
    n_nearest_features : int
        Predictors per feature (keeps the cost linear in the number of features).
    max_iter : int
        Imputation rounds.
    seed : int
        Seed of the predictor draws.

    Attributes
    ----------
    imputer_ : sklearn.impute.IterativeImputer
        The chain of models fit on the training samples.
    """

    _parameter_constraints: dict = {"n_nearest_features": COUNT, "max_iter": COUNT, "seed": SEED}

    def __init__(self, n_nearest_features: int = 50, max_iter: int = 3, *, seed: int):
        self.n_nearest_features = n_nearest_features
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, X, y=None):
        """Fit the chain of models on the training samples."""
        self._validate_params()
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer
        from sklearn.linear_model import BayesianRidge

        nn = int(min(self.n_nearest_features, max(X.shape[1] - 1, 1)))
        self.imputer_ = IterativeImputer(
            estimator=BayesianRidge(),
            n_nearest_features=nn,
            max_iter=self.max_iter,
            random_state=int(self.seed),
            skip_complete=True,
            keep_empty_features=True,
            tol=1e-3,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at a small max_iter is expected
            self.imputer_.fit(X.to_numpy(float))
        return self

    def transform(self, X):
        """Impute the missing cells with the stored chain of models; observed cells stay as they are."""
        check_is_fitted(self)
        if not X.isna().to_numpy().any():
            return X
        out = self.imputer_.transform(X.to_numpy(float))
        V = X.to_numpy(float)
        return pd.DataFrame(np.where(np.isfinite(V), V, out), index=X.index, columns=X.columns)
