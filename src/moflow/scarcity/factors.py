"""A generative model of samples: each block's principal components, a Gaussian over them given the groups.

:class:`GroupFactorModel` is the model both the latent augmentation (:mod:`moflow.scarcity.augment`) and the
synthetic cohort (:mod:`moflow.scarcity.copula`) draw from. Fitted on a samples x features matrix split into
blocks (the layers), it keeps

* per block, the leading principal components of its centred features (at most ``n_components``, the
  fitted samples minus one and the block's features);
* over the concatenated scores of all blocks, a linear model of the groups (one-hot columns of each
  grouping: the outcome's class, a batch; additive), and the covariance of what the groups leave
  (Ledoit-Wolf shrinkage: a few hundred samples, tens of scores): the correlation within and across
  blocks that the components carry;
* per feature, the standard deviation of what the components leave (the residual noise).

A new sample of given groups is the groups' mean scores plus a draw of the residual covariance, mapped back
through each block's components, plus Gaussian noise of each feature's residual deviation. Nothing of a
sample that was not fitted enters the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf


class GroupFactorModel:
    """Blocks' principal components with a Gaussian over their scores given categorical groups.

    Parameters
    ----------
    n_components : int
        Components per block (fewer where the samples or the block's features allow fewer).
    noise : float
        The scale of each feature's residual noise in new samples (1: as fitted; 0: none).
    """

    def __init__(self, n_components: int = 10, noise: float = 1.0):
        self.n_components = n_components
        self.noise = noise

    def fit(self, Z: np.ndarray, blocks: list[slice], groups: pd.DataFrame | None = None) -> GroupFactorModel:
        """Fit the model to ``Z`` (samples x features, no missing cell).

        Parameters
        ----------
        Z : numpy.ndarray
            The fitted samples' features.
        blocks : list of slice
            The column range of each block (a layer).
        groups : pandas.DataFrame, optional
            One row per sample, one categorical column per grouping (the class; a batch); None: one group.
        """
        Z = np.asarray(Z, float)
        n = len(Z)
        if n < 2:
            raise ValueError("a generative model needs at least 2 samples")
        self.blocks_ = list(blocks)
        self.mean_ = Z.mean(axis=0)
        C = Z - self.mean_
        self.components_, scores = [], []
        for b in self.blocks_:
            Cb = C[:, b]
            k = max(1, min(int(self.n_components), n - 1, Cb.shape[1]))
            _, s, Vt = np.linalg.svd(Cb, full_matrices=False)
            self.components_.append(Vt[:k])
            scores.append(Cb @ Vt[:k].T)
        S = np.hstack(scores)
        self.levels_ = {} if groups is None else {c: sorted(groups[c].astype(str).unique()) for c in groups.columns}
        D = self._design(groups, n)
        self.coef_, *_ = np.linalg.lstsq(D, S, rcond=None)
        E = S - D @ self.coef_
        dof = max(n - np.linalg.matrix_rank(D), 1)
        if S.shape[1] > 1 and n > 2:
            cov = LedoitWolf(assume_centered=True).fit(E).covariance_ * n / dof
        else:
            cov = np.atleast_2d(E.T @ E / dof)
        ratio, resid = self._out_of_sample(C)
        scale = np.concatenate([np.full(len(V), np.sqrt(r)) for V, r in zip(self.components_, ratio, strict=True)])
        self.covariance_ = cov * np.outer(scale, scale)
        self.residual_sd_ = resid
        return self

    def _out_of_sample(self, C: np.ndarray) -> tuple[list[float], np.ndarray]:
        """What samples the components were not fit on look like.

        Per block, the share of the fitted scores' variance that held-out projections keep, and per feature
        the held-out residual deviation.

        Components fit on few samples and many features follow the fitted samples' own noise: their scores
        spread wider, and their residuals are smaller, than those of a new sample. New samples drawn with the
        fitted values would lie closer to the fitted samples than a new real sample does (which a
        membership-inference attack detects); five folds give the values of samples not fitted.
        """
        n = len(C)
        folds = np.arange(n) % min(5, n)
        np.random.default_rng(0).shuffle(folds)
        resid = np.zeros(C.shape[1])
        ratio = []
        for b, V in zip(self.blocks_, self.components_, strict=True):
            k = len(V)
            inside = float(((C[:, b] @ V.T) ** 2).sum())
            outside = 0.0
            for f in np.unique(folds):
                fit, held = C[folds != f][:, b], C[folds == f][:, b]
                if len(fit) < 2:
                    continue
                mu = fit.mean(axis=0)
                _, _, Vt = np.linalg.svd(fit - mu, full_matrices=False)
                P = (held - mu) @ Vt[:k].T
                outside += float((P**2).sum())
                resid[b] += (((held - mu) - P @ Vt[:k]) ** 2).sum(axis=0)
            ratio.append(min(1.0, outside / inside) if inside > 0 else 1.0)
        return ratio, np.sqrt(resid / n)

    def _design(self, groups: pd.DataFrame | None, n: int) -> np.ndarray:
        """The intercept and, per grouping, one-hot columns of its levels after the first."""
        cols = [np.ones(n)]
        for c, levels in self.levels_.items():
            values = groups[c].astype(str).to_numpy()
            unknown = set(values) - set(levels)
            if unknown:
                raise ValueError(f"{c}: level(s) {sorted(unknown)} were not fitted (fitted: {levels})")
            cols += [(values == lev).astype(float) for lev in levels[1:]]
        return np.column_stack(cols)

    def _back(self, S: np.ndarray) -> np.ndarray:
        """Scores mapped back to the (centred) features of every block."""
        out = np.zeros((len(S), len(self.mean_)))
        at = 0
        for b, V in zip(self.blocks_, self.components_, strict=True):
            out[:, b] = S[:, at : at + len(V)] @ V
            at += len(V)
        return out

    @property
    def n_scores(self) -> int:
        """The number of scores over all blocks."""
        return sum(len(V) for V in self.components_)

    def sample(self, groups: pd.DataFrame | None, n: int | None = None, *, seed: int = 0) -> np.ndarray:
        """New samples (rows) of the given groups: ``len(groups)`` of them (``n`` where groups is None)."""
        rng = np.random.default_rng(seed)
        m = len(groups) if groups is not None else int(n)
        if groups is not None and not self.levels_:
            groups = None
        D = self._design(groups, m)
        S = D @ self.coef_ + rng.multivariate_normal(np.zeros(self.n_scores), self.covariance_, size=m, method="eigh")
        noise = rng.standard_normal((m, len(self.mean_))) * self.residual_sd_ * float(self.noise)
        return self.mean_ + self._back(S) + noise
