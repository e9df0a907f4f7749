"""A synthetic copy of a cohort: a Gaussian copula over every layer's features, with low-rank dependence.

:class:`CopulaSynthesizer` is fit on the raw (validated, not preprocessed) layers of some samples and draws new
samples on the original scale of every feature:

* **marginals**: each feature's observed values (every fitted sample that has the layer). A feature of
  whole numbers with at most :data:`DISCRETE_LEVELS` distinct values (a binary mutation, a grade) gets new
  values among its observed ones; any other feature values interpolated between quantiles at about twice the
  square root of its values (counts rounded to whole numbers): interpolating between every observed value,
  or copying a sample's exact count, would mark the fitted samples as members. A feature's missing cells are taken as
  below its lowest observed value (as in label-free proteomics, where the low abundances go missing) and a
  new sample's cell is missing as often;
* **dependence**: the normal scores of the fitted samples that have every layer, modelled by
  :class:`moflow.scarcity.factors.GroupFactorModel` (each layer's leading components, a Gaussian over their
  scores given the outcome's class and the batches, each feature's residual noise): the correlation within
  and across layers that the components carry, and the differences between classes and batches;
* **the sample sheet**: each new sample's class and batches are drawn from the fitted samples' combinations
  (with replacement); numeric sheet columns (a continuous outcome, a survival time and event) are modelled
  as features of a block of their own, so that they follow the layers as in the real cohort; a layer is
  absent from a new sample as often as from the fitted ones.

No value of a fitted sample is copied as a whole: each new sample's features are drawn from the model, one
marginal at a time. Whether it is close enough to be useful and far enough to be safe is measured, not
assumed (:mod:`moflow.scarcity.quality`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from moflow.scarcity.factors import GroupFactorModel

SHEET_BLOCK = "(sheet)"  # the block of the sample sheet's numeric columns
DISCRETE_LEVELS = 10  # a whole-number feature with at most this many distinct values is drawn among them


def _knots(n: int) -> int:
    """The knots of a continuous feature's quantile function: about twice the square root of its values.

    Interpolating between every observed value would put each fitted sample on a knot, where new values
    crowd more than around a sample not fitted (which falls, more often than not, in a wide gap): a
    membership-inference attack reads that. Knots at quantiles average neighbouring samples.
    """
    return int(min(n, max(2, 2 * np.ceil(np.sqrt(n)))))


class _Marginal:
    """One block's per-feature marginals: sorted observed values, missing share, whole-number features."""

    def __init__(self, X: np.ndarray):
        self.missing = np.isnan(X).mean(axis=0)
        self.sorted = [np.sort(col[~np.isnan(col)]) for col in X.T]
        whole = np.array([bool(len(o)) and bool(np.all(o == np.round(o))) for o in self.sorted])
        few = np.array([len(np.unique(o)) <= DISCRETE_LEVELS for o in self.sorted])
        self.discrete = whole & few  # a mutation, a grade: new values among the observed ones
        self.whole = whole & ~few  # counts: values between the observed ones, rounded

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Normal scores of ``X`` (missing cells below every observed value)."""
        n = len(X)
        miss = np.isnan(X)
        q = miss.mean(axis=0)
        seen = np.maximum((~miss).sum(axis=0), 1)
        r = rankdata(X, axis=0, nan_policy="omit")  # average ranks among each feature's observed values
        u = np.where(miss, q / 2, q + (1 - q) * (r - 0.5) / seen)
        Z = ndtri(np.clip(u, 1e-6, 1 - 1e-6))
        if not hasattr(self, "sd"):  # the fitted samples' spread, which new scores are divided by
            sd = Z.std(axis=0) if n > 1 else np.ones(X.shape[1])
            self.sd = np.where(sd > 0, sd, 1.0)
        return Z

    def values(self, Z: np.ndarray) -> np.ndarray:
        """Values of the normal scores ``Z`` on the features' own scale (missing where below the missing share)."""
        U = ndtr(Z / self.sd)  # the model's scores on the unit scale (a 0/1 feature's scores spread less)
        out = np.full(Z.shape, np.nan)
        for j, o in enumerate(self.sorted):
            if not len(o):
                continue
            q = self.missing[j]
            u = U[:, j]
            keep = u >= q
            p = np.clip((u[keep] - q) / max(1 - q, 1e-12), 0.0, 1.0)
            if self.discrete[j]:
                idx = np.minimum((p * len(o)).astype(int), len(o) - 1)
                out[keep, j] = o[idx]
            else:
                levels = np.linspace(0.0, 1.0, _knots(len(o)))
                v = np.interp(p, levels, np.quantile(o, levels))
                out[keep, j] = np.round(v) if self.whole[j] else v
        return out


class CopulaSynthesizer:
    """New samples of a cohort on every feature's original scale (see the module's description).

    Parameters
    ----------
    n_components : int
        Components per layer of the dependence model.
    """

    def __init__(self, n_components: int = 10):
        self.n_components = n_components

    def fit(
        self,
        layers: dict[str, pd.DataFrame],
        sheet: pd.DataFrame,
        *,
        groups: list[str] = (),
        numeric: list[str] = (),
    ) -> CopulaSynthesizer:
        """Fit on the samples of ``sheet`` (its index): their rows of each layer and the named sheet columns.

        Parameters
        ----------
        layers : dict of str to pandas.DataFrame
            The raw layers (samples x features); rows of other samples are ignored.
        sheet : pandas.DataFrame
            The fitted samples (index) with the columns below.
        groups : list of str
            Categorical columns the new samples are drawn within (the outcome's class, the batches).
        numeric : list of str
            Numeric columns modelled with the layers (a continuous outcome, a survival time and event).
        """
        samples = list(sheet.index)
        self.layers_ = list(layers)
        self.columns_ = {name: list(X.columns) for name, X in layers.items()}
        self.groups_, self.numeric_ = list(groups), list(numeric)
        present = {name: [s for s in samples if s in X.index and X.loc[s].notna().any()] for name, X in layers.items()}
        self.presence_ = {name: len(p) / len(samples) for name, p in present.items()}
        blocks = {name: X.reindex(samples).to_numpy(float) for name, X in layers.items()}
        if self.numeric_:
            blocks[SHEET_BLOCK] = sheet[self.numeric_].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        complete = np.ones(len(samples), bool)
        for name in layers:
            complete &= np.isin(samples, present[name])
        if complete.sum() < 3:
            raise ValueError(f"a synthetic cohort needs at least 3 samples with every layer; {complete.sum()} have")
        self.marginals_, scores, spans, at = {}, [], [], 0
        for name, V in blocks.items():
            has = np.isin(samples, present[name]) if name in present else np.ones(len(samples), bool)
            self.marginals_[name] = _Marginal(V[has])
            scores.append(self.marginals_[name].scores(V[complete]))
            spans.append(slice(at, at + V.shape[1]))
            at += V.shape[1]
        self.spans_ = dict(zip(blocks, spans, strict=True))
        self.combos_ = sheet.loc[complete, self.groups_].astype(str).reset_index(drop=True)
        self.model_ = GroupFactorModel(self.n_components).fit(
            np.hstack(scores), spans, self.combos_ if self.groups_ else None
        )
        return self

    def sample(
        self, n: int, *, seed: int = 0, prefix: str = "synthetic"
    ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
        """``n`` new samples: ({layer: samples x features}, the sheet of their groups and numeric columns)."""
        rng = np.random.default_rng(seed)
        names = [f"{prefix}_{i + 1:0{len(str(n))}d}" for i in range(int(n))]
        combos = self.combos_.iloc[rng.integers(0, len(self.combos_), int(n))].reset_index(drop=True)
        Z = self.model_.sample(combos if self.groups_ else None, int(n), seed=int(rng.integers(2**31)))
        sheet = combos.copy() if self.groups_ else pd.DataFrame(index=range(int(n)))
        sheet.index = pd.Index(names, name="sample")
        layers = {}
        for name, span in self.spans_.items():
            V = self.marginals_[name].values(Z[:, span])
            if name == SHEET_BLOCK:
                for j, c in enumerate(self.numeric_):
                    sheet[c] = V[:, j]
                continue
            X = pd.DataFrame(V, index=names, columns=self.columns_[name])
            keep = rng.random(int(n)) < self.presence_[name]
            layers[name] = X.loc[keep]
        return layers, sheet
