"""Stage ``batch``: :class:`ComBat` and :class:`LinearBatch`.

:class:`ComBat` is empirical Bayes, parametric or not, NaN-aware; :class:`LinearBatch` is limma's
removeBatchEffect. Both sit behind the batch/outcome confounding guard :func:`check_batch_confounding`.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.preprocess.steps_base import (
    CHECKED_NAME,
    COLUMN_NAME,
    COUNT,
    COVARIATES,
    FRACTION,
    POSITIVE,
    SAMPLE_SHEET,
    Step,
)
from moflow.stats import batch_outcome_association


def check_batch_confounding(
    batch: pd.Series, y: pd.Series | None, *, max_association: float = 0.8, allow: bool = False, step: str = "batch"
) -> dict:
    """Stop when batch and outcome are too associated in the training samples for batch correction.

    Too associated means that correcting batch would remove (or cannot be separated from) the outcome.

    Parameters
    ----------
    batch : pandas.Series
        Batch of each training sample.
    y : pandas.Series or None
        Outcome of the training samples (``None``: nothing to check).
    max_association : float
        Largest allowed Cramér's V (categorical outcome) or correlation ratio (numeric outcome).
    allow : bool
        Compute and return the association, but never stop.
    step : str
        Name used in the message.

    Returns
    -------
    dict
        :func:`moflow.stats.batch_outcome_association` of the training samples (empty: no outcome, or
        fewer than two samples with one).

    Raises
    ------
    InputError
        Association above ``max_association``, or a batch holding a single outcome level, unless
        ``allow``.
    """
    if y is None:
        return {}
    yy = pd.Series(y).reindex(batch.index)
    keep = yy.notna().to_numpy()
    if keep.sum() < 2:
        return {}
    assoc = batch_outcome_association(batch[keep], yy[keep])
    if allow:
        return assoc
    single = assoc.get("single_level_batches") or []
    if assoc["value"] > max_association or single:
        why = [
            f"{assoc['statistic'].replace('_', ' ')} = {assoc['value']:.2f}"
            + (f" > {max_association}" if assoc["value"] > max_association else "")
        ]
        if single:
            b, level = single[0]
            why.append(
                f"batch '{b}' holds only outcome '{level}'"
                + (f" ({len(single)} such batch(es))" if len(single) > 1 else "")
            )
        raise InputError(
            f"{step}: batch and outcome are confounded in the training samples ({'; '.join(why)}). Batch "
            "correction would remove part of the outcome effect, or cannot tell the two apart. Fix the design "
            "(spread outcome groups over batches), set batch method 'none' for this layer, or set "
            "'batch_confounding: {allow: true}' in config (or 'allow_confounded: true' in this layer's batch "
            "options) to correct anyway."
        )
    return assoc


def _masked_lstsq(D: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Per-feature least squares on observed rows: solves (D' M_j D) b_j = D' M_j x_j; returns p x k."""
    M = np.isfinite(V)
    V0 = np.where(M, V, 0.0)
    k = D.shape[1]
    if M.all():
        G = D.T @ D + np.eye(k) * 1e-10
        return np.linalg.solve(G, D.T @ V0).T
    G = np.einsum("ni,nj,np->pij", D, D, M.astype(float), optimize=True)
    rhs = np.einsum("ni,np->pi", D, V0, optimize=True)
    G += np.eye(k)[None] * 1e-10
    return np.linalg.solve(G, rhs[..., None])[..., 0]


class _BatchBase(Step):
    """Shared parts of the batch correctors.

    The covariate design, the batch checks and the constraints of the options both have.
    """

    _parameter_constraints: dict = {
        "info": SAMPLE_SHEET,
        "batch_column": COLUMN_NAME,
        "covariates": COVARIATES,
        "protect_outcome": ["boolean"],
        "ref_batch": [str, None],
        "unseen_batch": CHECKED_NAME,
        "max_association": FRACTION,
        "allow_confounded": ["boolean"],
    }

    def _batch_of(self, index) -> np.ndarray:
        return self.info.loc[index, self.batch_column].astype(str).to_numpy()

    def _covariate_design(self, index, y) -> np.ndarray:
        from moflow.wording import NA_TOKENS

        blocks = []
        for c in self.covariates or ():
            col = self.info.loc[index, c].astype(str).str.strip()
            missing = col.str.lower().isin(NA_TOKENS)
            if missing.any():
                raise InputError(
                    f"{self._name}: protected covariate '{c}' is missing for sample '{col.index[missing][0]}' "
                    f"({int(missing.sum())} sample(s)). Fill it in the sample sheet, or remove '{c}' from config "
                    "'covariates'."
                )
            num = pd.to_numeric(col, errors="coerce")
            if num.notna().all():
                blocks.append(num.to_numpy(float)[:, None])
            else:
                blocks.append(pd.get_dummies(col, drop_first=True, dtype=float).to_numpy())
        if self.protect_outcome and y is not None:
            yy = pd.Series(y).reindex(index)
            if pd.api.types.is_float_dtype(yy):  # a continuous outcome (classes, coded 1/2/3 or not, are labels)
                v = yy.to_numpy(float)
                blocks.append(np.where(np.isnan(v), np.nanmean(v), v)[:, None])
            else:
                blocks.append(pd.get_dummies(yy.astype(str), drop_first=True, dtype=float).to_numpy())
        if not blocks:
            return np.zeros((len(index), 0))
        return np.hstack(blocks)

    def _check_batches(self, X, y) -> np.ndarray:
        if self.unseen_batch not in ("error", "reference"):
            raise InputError(f"{self._name}: unknown unseen_batch '{self.unseen_batch}' (error, reference)")
        if self.unseen_batch == "reference" and self.ref_batch is None:
            raise InputError(
                f"{self._name}: unseen_batch 'reference' needs a reference batch; set ref_batch to the "
                "batch new samples should be treated as."
            )
        batch = self._batch_of(X.index)
        self.batches_ = sorted(set(batch))
        self.skipped_ = ""
        if len(self.batches_) < 2:
            # nothing to correct: the step leaves the layer as it is, and the steps table says so
            self.confounding_ = {}
            self.skipped_ = (
                f"no batch correction: one batch ('{self.batches_[0]}' in column '{self.batch_column}') among the "
                f"{len(batch)} training sample(s), so there is no batch effect to estimate ({self._name} configured, "
                "not applied)"
            )
            return batch
        sizes = pd.Series(batch).value_counts()
        if (sizes < 2).any():
            b = sizes.index[sizes < 2][0]
            raise InputError(
                f"{self._name}: batch '{b}' has a single training sample; a batch needs at least two. Merge it with "
                "a similar batch or remove the sample."
            )
        if self.ref_batch is not None and str(self.ref_batch) not in self.batches_:
            raise InputError(
                f"{self._name}: reference batch '{self.ref_batch}' has no training samples; batches are "
                f"{', '.join(self.batches_)}."
            )
        self.confounding_ = check_batch_confounding(
            pd.Series(batch, index=X.index),
            y,
            max_association=self.max_association,
            allow=self.allow_confounded,
            step=self._name,
        )
        return batch

    def _unseen(self, X, batch) -> np.ndarray:
        """Mask of samples of batches without training samples (error unless they count as reference)."""
        unseen = ~np.isin(batch, self.batches_)
        if unseen.any() and self.unseen_batch != "reference":
            s = X.index[unseen][0]
            raise InputError(
                f"{self._name}: sample '{s}' belongs to batch '{batch[unseen][0]}', which has no training samples; "
                "its batch effect cannot be estimated. Include samples of that batch in training, set batch method "
                "'none', or set a ref_batch with unseen_batch 'reference' to leave such samples as the reference "
                "batch is left."
            )
        return unseen


class ComBat(_BatchBase):
    """Empirical-Bayes batch correction (Johnson, Li & Rabinovic 2007) that accepts missing values.

    Batch moments come from the observed values of each feature; missing cells stay missing. The
    outcome (``y``, training samples only) and the named ``covariates`` (columns of ``info``) are
    protected: they enter the design when batch effects are estimated. New samples of known batches
    are adjusted with the stored estimates; their covariates are not needed (the covariate design is
    centred, so the adjustment uses the training average).

    Parameters
    ----------
    info : pandas.DataFrame or None
        Sample sheet (no outcome column).
    batch_column : str
        Column of ``info`` with the batch of each sample.
    covariates : array-like of str
        Columns of ``info`` to protect (categorical or numeric).
    protect_outcome : bool
        Put ``y`` in the design.
    parametric : bool
        Parametric priors (``True``) or the non-parametric (empirical) priors of sva: each
        feature's batch effects are the average of every other feature's estimates, weighted by the
        likelihood of this feature's data under them (computed in log space, so it never
        underflows).
    mean_only : bool
        Adjust location only (no scale).
    ref_batch : str or None
        Reference batch: its data are left unchanged, the pooled variance and grand mean are its
        own, and the other batches are moved to it.
    unseen_batch : str
        ``error`` (default) or ``reference``: a new sample of a batch without training samples is
        left unchanged, as the reference batch is (needs ``ref_batch``).
    ddof : int
        Variance convention of the batch variances and the prior moments: 1 as R's sva (default), 0
        as inmoose's ``pycombat_norm``. The pooled variance divides by n in both.
    max_association, allow_confounded
        The batch/outcome confounding guard (:func:`check_batch_confounding`).
    tol, max_iter
        Convergence of the parametric EB iterations (sva's rule: stop when the largest relative
        change of gamma and delta is at most ``tol``).
    block : int
        Features per block in the non-parametric computation (memory: block x features doubles).

    Attributes
    ----------
    batches_ : list of str
        The training batches, sorted.
    confounding_ : dict
        Batch/outcome association of the training samples (:func:`check_batch_confounding`).
    skipped_ : str
        Why nothing was corrected ("no batch correction: one batch ..." when the training samples are all
        in one batch: the step then changes nothing); empty when the batches were corrected.
    alpha_ : numpy.ndarray
        Grand mean of each feature (the reference batch's, with ``ref_batch``).
    sd_ : numpy.ndarray
        Pooled sd of each feature; features with sd 0 (``ok_`` False) are left unchanged.
    gamma_star_, delta_star_ : numpy.ndarray
        Batches x features adjusted location and scale effects (``gamma_hat_``, ``delta_hat_``: before
        shrinkage).
    n_iter_ : dict
        Parametric EB iterations per batch.
    """

    _name = "ComBat"
    _parameter_constraints: dict = {
        **_BatchBase._parameter_constraints,
        "parametric": ["boolean"],
        "mean_only": ["boolean"],
        "ddof": [Integral],  # 0 or 1, checked in fit (an InputError)
        "tol": POSITIVE,
        "max_iter": COUNT,
        "block": COUNT,
    }

    def __init__(
        self,
        info: pd.DataFrame | None = None,
        batch_column: str = "batch",
        covariates=(),
        protect_outcome: bool = True,
        parametric: bool = True,
        mean_only: bool = False,
        ref_batch: str | None = None,
        unseen_batch: str = "error",
        ddof: int = 1,
        max_association: float = 0.8,
        allow_confounded: bool = False,
        tol: float = 1e-4,
        max_iter: int = 1000,
        block: int = 1024,
    ):
        self.info = info
        self.batch_column = batch_column
        self.covariates = covariates
        self.protect_outcome = protect_outcome
        self.parametric = parametric
        self.mean_only = mean_only
        self.ref_batch = ref_batch
        self.unseen_batch = unseen_batch
        self.ddof = ddof
        self.max_association = max_association
        self.allow_confounded = allow_confounded
        self.tol = tol
        self.max_iter = max_iter
        self.block = block

    def fit(self, X, y=None):
        """Estimate the batch effects from the training samples."""
        self._validate_params()
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Estimate the batch effects from the training samples and return them adjusted."""
        self._validate_params()
        return self._fit(X, y)

    def _fit(self, X, y):
        if self.ddof not in (0, 1):
            raise InputError(f"ComBat: ddof must be 0 (inmoose) or 1 (sva), not {self.ddof!r}.")
        batch = self._check_batches(X, y)
        if self.skipped_:
            return pd.DataFrame(X.to_numpy(float), index=X.index, columns=X.columns)
        n = len(batch)
        nb_ = len(self.batches_)
        B = (batch[:, None] == np.array(self.batches_)[None, :]).astype(float)
        C = self._covariate_design(X.index, y)
        self.cov_mean_ = C.mean(0) if C.shape[1] else np.zeros(0)
        Cc = C - self.cov_mean_
        D = np.hstack([B, Cc])
        if np.linalg.matrix_rank(D) < D.shape[1]:
            raise InputError(
                "ComBat: batch is confounded with the outcome or a protected covariate (the design is singular); "
                "batch effects cannot be separated from biology. Remove the covariate from 'covariates', or set "
                "batch method 'none' for this layer."
            )
        V = X.to_numpy(float)
        M = np.isfinite(V)
        complete = bool(M.all())
        V0 = V if complete else np.where(M, V, 0.0)
        beta = _masked_lstsq(D, V)  # p x k
        nb = B.sum(0)
        gamma_b = beta[:, :nb_]
        self.ref_index_ = None if self.ref_batch is None else self.batches_.index(str(self.ref_batch))
        self.cov_beta_ = beta[:, nb_:]
        R = V0 - D @ beta.T  # residuals of the batch + covariate model
        if not complete:
            R[~M] = 0.0
        if self.ref_index_ is None:
            self.alpha_ = gamma_b @ (nb / n)
            rows = slice(None)
        else:
            self.alpha_ = gamma_b[:, self.ref_index_].copy()
            rows = batch == self.batches_[self.ref_index_]
        Rr = R[rows]
        var = np.einsum("ij,ij->j", Rr, Rr) / np.maximum(M[rows].sum(0), 1)
        del R, Rr
        self.var_pooled_ = var
        self.sd_ = np.sqrt(var)
        ok = self.sd_ > 0
        self.ok_ = ok
        # standardized data: (x - grand mean - covariate terms) / pooled sd; missing cells stay NaN
        stand = self.alpha_[None, :] + Cc @ self.cov_beta_.T if Cc.shape[1] else self.alpha_[None, :]
        S = V0 - stand
        S /= np.where(ok, self.sd_, 1.0)[None, :]
        if not complete:
            S[~M] = np.nan
        if not ok.all():
            S[:, ~ok] = np.nan

        p = V.shape[1]
        rows_of = {b: np.flatnonzero(batch == b) for b in self.batches_}
        gamma_hat = np.zeros((nb_, p))
        delta_hat = np.ones_like(gamma_hat)
        n_bj = np.zeros_like(gamma_hat)
        sums = {}
        for i, b in enumerate(self.batches_):
            Sb = S[rows_of[b]]
            if complete and ok.all():
                cnt = np.full(p, float(len(rows_of[b])))
                S1 = Sb.sum(0)
                SS = np.einsum("ij,ij->j", Sb, Sb)
            else:
                fin = np.isfinite(Sb)
                cnt = fin.sum(0).astype(float)
                S0 = np.where(fin, Sb, 0.0)
                S1 = S0.sum(0)
                SS = np.einsum("ij,ij->j", S0, S0)
            sums[b] = (S1, SS)
            n_bj[i] = cnt
            with np.errstate(invalid="ignore", divide="ignore"):
                g = S1 / np.maximum(cnt, 1)
                d = np.maximum(SS - S1 * g, 0.0) / np.maximum(cnt - self.ddof, 1)
            gamma_hat[i] = np.where(cnt > 0, g, 0.0)
            delta_hat[i] = np.where(cnt > 1, d, 1.0)
        delta_hat = np.where(delta_hat > 0, delta_hat, 1.0)
        if self.mean_only:
            delta_hat = np.ones_like(delta_hat)
        gamma_star = np.zeros_like(gamma_hat)
        delta_star = np.ones_like(delta_hat)
        self.n_iter_ = {}
        for i, b in enumerate(self.batches_):
            usable = ok & (n_bj[i] > 1)
            if usable.sum() < 2:
                gamma_star[i], delta_star[i] = gamma_hat[i], delta_hat[i]
                continue
            g_u, d_u, n_u = gamma_hat[i, usable], delta_hat[i, usable], n_bj[i, usable]
            if not self.parametric:
                g_s, d_s = _nonparametric_eb(S[rows_of[b]][:, usable], g_u, d_u, block=self.block)
                if self.mean_only:
                    d_s = np.ones_like(d_s)
            else:
                g_bar = g_u.mean()
                t2 = g_u.var(ddof=self.ddof)
                if self.mean_only:
                    d_s = np.ones_like(d_u)
                    g_s = (t2 * n_u * g_u + g_bar) / (t2 * n_u + 1.0)
                else:
                    m = d_u.mean()
                    s2 = d_u.var(ddof=self.ddof)
                    a = (2 * s2 + m**2) / s2
                    bb = (m * s2 + m**3) / s2
                    S1, SS = sums[b]
                    g_s, d_s, self.n_iter_[b] = _parametric_eb(
                        S1[usable], SS[usable], g_u, d_u, n_u, g_bar, t2, a, bb, tol=self.tol, max_iter=self.max_iter
                    )
            # a feature observed once in this batch: posterior mean of gamma with delta at its prior mean
            single = n_bj[i] == 1
            if self.parametric and single.any():
                d_prior = 1.0 if self.mean_only else d_u.mean()
                g_bar, t2 = g_u.mean(), g_u.var(ddof=self.ddof)
                gamma_star[i] = np.where(single, (t2 * gamma_hat[i] + d_prior * g_bar) / (t2 + d_prior), 0.0)
            else:
                gamma_star[i] = np.where(single, gamma_hat[i], 0.0)
            delta_star[i] = 1.0
            gamma_star[i, usable] = g_s
            delta_star[i, usable] = d_s
        if self.ref_index_ is not None:
            gamma_star[self.ref_index_] = 0.0
            delta_star[self.ref_index_] = 1.0
        self.gamma_hat_ = gamma_hat
        self.delta_hat_ = delta_hat
        self.gamma_star_ = gamma_star
        self.delta_star_ = delta_star
        out = self._adjust(V, batch, stand, S=S)
        return pd.DataFrame(out, index=X.index, columns=X.columns)

    def _adjust(self, V, batch, stand, S=None):
        """Adjusted values: (standardized - gamma*) / sqrt(delta*) * sd + standardization mean."""
        out = V.copy()
        sd = np.where(self.ok_, self.sd_, 1.0)
        for i, b in enumerate(self.batches_):
            sel = np.flatnonzero(batch == b)
            if not len(sel) or i == self.ref_index_:
                continue  # the reference batch is left exactly as it is
            st = stand if stand.shape[0] == 1 else stand[sel]
            s = S[sel] if S is not None else (V[sel] - st) / sd
            adj = (s - self.gamma_star_[i]) * (sd / np.sqrt(self.delta_star_[i])) + st
            out[sel] = adj if self.ok_.all() else np.where(self.ok_[None, :], adj, V[sel])
        return out

    def transform(self, X):
        """Adjust the samples with the stored estimates of their batch."""
        check_is_fitted(self)
        batch = self._batch_of(X.index)
        self._unseen(X, batch)  # unseen batches: error, or left unchanged as the reference batch
        V = X.to_numpy(float)
        if self.skipped_:  # one training batch: nothing was estimated, nothing is adjusted
            return pd.DataFrame(V, index=X.index, columns=X.columns)
        out = self._adjust(V, batch, self.alpha_[None, :])
        return pd.DataFrame(out, index=X.index, columns=X.columns)


def _parametric_eb(S1, SS, g_hat, d_hat, n, g_bar, t2, a, b, *, tol, max_iter):
    """Sva's it.sol: alternate the posterior means of gamma and delta until they converge.

    They converge when the largest relative change (signed, as in sva and inmoose) is at most ``tol``.
    ``S1`` and ``SS`` are each feature's sum and sum of squares of its standardized values in the batch,
    so an iteration costs O(features).
    """
    t2n = t2 * n
    t2ng = t2n * g_hat
    g_old, d_old = g_hat.copy(), d_hat.copy()
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007  (``it`` is returned after the loop: the iteration count)
        g_new = (t2ng + d_old * g_bar) / (t2n + d_old)
        ss = np.maximum(SS - 2.0 * g_new * S1 + n * g_new * g_new, 0.0)  # sum over the batch of (s - g_new)^2
        d_new = (0.5 * ss + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = max(np.nanmax(np.abs(g_new - g_old) / g_old), np.nanmax(np.abs(d_new - d_old) / d_old))
        g_old, d_old = g_new, d_new
        if not change > tol:
            break
    return g_old, d_old, it


def _nonparametric_eb(Sb, g_hat, d_hat, *, block=1024):
    """Sva's int.eprior, vectorised and in log space.

    For feature j, gamma* and delta* are the averages of every other feature's (gamma_hat, delta_hat)
    weighted by the Gaussian likelihood of feature j's standardized data under them.
    """
    Mb = np.isfinite(Sb)
    n = Mb.sum(0).astype(float)
    S1 = np.where(Mb, Sb, 0.0).sum(0)
    SS = np.where(Mb, Sb * Sb, 0.0).sum(0)
    p = len(g_hat)
    log2pid = np.log(2 * np.pi * d_hat)
    g_star = np.empty(p)
    d_star = np.empty(p)
    for s in range(0, p, block):
        e = min(p, s + block)
        sum2 = SS[s:e, None] - 2.0 * S1[s:e, None] * g_hat[None, :] + n[s:e, None] * g_hat[None, :] ** 2
        sum2 = np.maximum(sum2, 0.0)
        L = -0.5 * n[s:e, None] * log2pid[None, :] - sum2 / (2.0 * d_hat[None, :])
        L[np.arange(e - s), np.arange(s, e)] = -np.inf  # leave the feature itself out
        L -= L.max(axis=1, keepdims=True)
        W = np.exp(L)
        W /= W.sum(axis=1, keepdims=True)
        g_star[s:e] = W @ g_hat
        d_star[s:e] = W @ d_hat
    return g_star, d_star


class LinearBatch(_BatchBase):
    """limma-style removal of batch terms from a linear model (``removeBatchEffect``).

    Per feature, a least-squares fit on the training samples' observed values of
    ``intercept + batch + protected covariates (+ outcome)``; the fitted batch terms are subtracted.
    Batch terms are sum-to-zero contrasts as in limma (deviations from the average batch) or, with
    ``ref_batch``, differences to the reference batch, whose data are then left unchanged. New
    samples of known batches have their batch's stored term subtracted; they need neither the
    outcome nor the covariates.

    Parameters
    ----------
    info, batch_column, covariates, protect_outcome, ref_batch, unseen_batch, max_association,
    allow_confounded
        As in :class:`ComBat`. With ``unseen_batch='reference'`` a sample of a new batch gets no
        correction.

    Attributes
    ----------
    batches_ : list of str
        The training batches, sorted.
    confounding_ : dict
        Batch/outcome association of the training samples (:func:`check_batch_confounding`).
    skipped_ : str
        Why nothing was corrected ("no batch correction: one batch ..." when the training samples are all
        in one batch: the step then changes nothing); empty when the batches were corrected.
    effects_ : numpy.ndarray
        Batches x features term subtracted from the samples of each batch.
    """

    _name = "linear batch correction"
    _parameter_constraints: dict = dict(_BatchBase._parameter_constraints)

    def __init__(
        self,
        info: pd.DataFrame | None = None,
        batch_column: str = "batch",
        covariates=(),
        protect_outcome: bool = True,
        ref_batch: str | None = None,
        unseen_batch: str = "error",
        max_association: float = 0.8,
        allow_confounded: bool = False,
    ):
        self.info = info
        self.batch_column = batch_column
        self.covariates = covariates
        self.protect_outcome = protect_outcome
        self.ref_batch = ref_batch
        self.unseen_batch = unseen_batch
        self.max_association = max_association
        self.allow_confounded = allow_confounded

    def _contrasts(self) -> np.ndarray:
        K = len(self.batches_)
        if self.ref_batch is None:  # contr.sum: the last batch is minus the sum of the others
            return np.vstack([np.eye(K - 1), -np.ones((1, K - 1))])
        r = self.batches_.index(str(self.ref_batch))
        return np.delete(np.eye(K), r, axis=1)  # treatment contrasts against the reference batch

    def fit(self, X, y=None):
        """Estimate each batch's term from the training samples."""
        self._validate_params()
        batch = self._check_batches(X, y)
        if self.skipped_:
            return self
        B = (batch[:, None] == np.array(self.batches_)[None, :]).astype(float) @ self._contrasts()
        C = self._covariate_design(X.index, y)
        C = C - C.mean(0) if C.shape[1] else C
        D = np.hstack([np.ones((len(batch), 1)), B, C])
        if np.linalg.matrix_rank(D) < D.shape[1]:
            raise InputError(
                f"{self._name}: batch is confounded with the outcome or a protected covariate (the design is "
                "singular). Remove the covariate from 'covariates', or set batch method 'none' for this layer."
            )
        beta = _masked_lstsq(D, X.to_numpy(float))
        K1 = B.shape[1]
        self.effects_ = self._contrasts() @ beta[:, 1 : 1 + K1].T  # batches x features
        return self

    def transform(self, X):
        """Subtract the stored term of each sample's batch."""
        check_is_fitted(self)
        batch = self._batch_of(X.index)
        unseen = self._unseen(X, batch)
        if self.skipped_:  # one training batch: nothing was estimated, nothing is subtracted
            return pd.DataFrame(X.to_numpy(float), index=X.index, columns=X.columns)
        idx = np.array([self.batches_.index(b) if not u else 0 for b, u in zip(batch, unseen)], dtype=int)
        E = self.effects_[idx]
        E[unseen] = 0.0
        return pd.DataFrame(X.to_numpy(float) - E, index=X.index, columns=X.columns)
