"""Augmentation of the rare classes, on the training side of a split only, after its preprocessing.

``evaluation: augment`` lists the methods (``none`` is always there: the strategy as it is):

* ``smote``: imbalanced-learn's SMOTE on the layers side by side: a new sample of a rare class lies on the
  segment between one of its samples and one of its nearest neighbours of the same class;
* ``latent``: new samples of the rare classes drawn from a class-conditional Gaussian over the layers'
  principal components (:class:`moflow.scarcity.factors.GroupFactorModel`, fit on the training side), mapped
  back to every layer with each feature's residual noise.

A layer of 0/1 values (mutations) gets new values rounded to 0 or 1.

Each rare class gets as many new samples as bring it to the largest class's size. The samples a method
draws from are the training samples every layer has, their missing cells (a chain that does not impute)
filled with the training side's feature means; a class with fewer than two of them gets no new samples
(said in the log). New samples are named ``synthetic:<method>:<i>`` and never reach a held-out side:
:class:`Augmented` draws them inside its ``fit``, from the samples it is fit on.
"""

from __future__ import annotations

import logging
from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

AUGMENT_METHODS = ("none", "smote", "latent")
SYNTHETIC_PREFIX = "synthetic:"
AUGMENTATION_COLUMNS = [
    "strategy",
    "method",
    "augmented",
    "metric",
    "without",
    "with",
    "difference",
    "difference_lo",
    "difference_hi",
    "t",
    "p",
    "p_holm",
    "n_splits",
]
log = logging.getLogger("moflow")


def _usable(layers: dict[str, pd.DataFrame], y: pd.Series) -> tuple[list, np.ndarray, list[slice], dict]:
    """The samples every layer has, their layers side by side (missing cells: feature means), the blocks."""
    ok = np.ones(len(y), dtype=bool)
    for X in layers.values():  # a sample with at least one value in every layer
        ok &= X.reindex(y.index).notna().any(axis=1).to_numpy()
    samples = list(y.index[ok])
    parts, blocks, at, means = [], [], 0, {}
    for name, X in layers.items():
        V = X.loc[samples].to_numpy(float)
        mu = np.nanmean(V, axis=0) if len(V) else np.zeros(V.shape[1])
        mu = np.where(np.isnan(mu), 0.0, mu)
        means[name] = mu
        parts.append(np.where(np.isnan(V), mu, V))
        blocks.append(slice(at, at + V.shape[1]))
        at += V.shape[1]
    Z = np.hstack(parts) if parts else np.zeros((len(samples), 0))
    return samples, Z, blocks, means


def _is_binary(X: pd.DataFrame) -> bool:
    """Whether every observed value of a layer is 0 or 1."""
    V = X.to_numpy(float)
    V = V[~np.isnan(V)]
    return bool(len(V)) and bool(np.isin(V, (0.0, 1.0)).all())


def shortfall(y: pd.Series, counts: pd.Series | None = None) -> dict:
    """Per class below the largest one, how many new samples bring it to the largest class's size."""
    sizes = y.astype(str).value_counts() if counts is None else counts
    top = int(sizes.max())
    return {c: top - int(n) for c, n in sizes.items() if int(n) < top}


def augment_layers(
    layers: dict[str, pd.DataFrame],
    y: pd.Series,
    method: str,
    *,
    seed: int = 0,
    n_components: int = 10,
    k_neighbors: int = 5,
) -> tuple[dict[str, pd.DataFrame], pd.Series, dict]:
    """The layers and outcome with new samples of the rare classes added (``method``: :data:`AUGMENT_METHODS`).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        The preprocessed layers of the training side (samples x features).
    y : pandas.Series
        The training side's classes.
    method : str
        ``none``, ``smote`` or ``latent``.
    seed : int
        The draws' seed.
    n_components : int
        ``latent``: the principal components per layer.
    k_neighbors : int
        ``smote``: the nearest neighbours (fewer where a class has fewer samples).

    Returns
    -------
    tuple
        (layers, y, added): the layers with the new samples' rows appended, the outcome with theirs, and
        {class: number of new samples}.
    """
    if method not in AUGMENT_METHODS:
        raise ValueError(f"unknown augmentation {method!r}; methods are {', '.join(AUGMENT_METHODS)}")
    y = y.astype(str)
    if method == "none":
        return dict(layers), y, {}
    samples, Z, blocks, _ = _usable(layers, y)
    yu = y.loc[samples]
    want = shortfall(y)
    usable = yu.value_counts()
    short = {c: n for c, n in want.items() if usable.get(c, 0) >= 2 and n > 0}
    for c in sorted(set(want) - set(short)):
        log.info(
            "augmentation (%s): class %s has %d usable training sample(s); none added", method, c, usable.get(c, 0)
        )
    if not short or len(usable) < 2:
        return dict(layers), y, {}
    if method == "smote":
        from imblearn.over_sampling import SMOTE

        k = max(1, min(int(k_neighbors), min(int(usable[c]) for c in short) - 1))
        target = {c: int(usable[c]) + n for c, n in short.items()}
        Xr, yr = SMOTE(sampling_strategy=target, k_neighbors=k, random_state=seed).fit_resample(Z, yu.to_numpy())
        new_X, new_y = Xr[len(Z) :], np.asarray(yr[len(Z) :], dtype=object)
    else:
        from moflow.scarcity.factors import GroupFactorModel

        sd = Z.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        mu = Z.mean(axis=0)
        model = GroupFactorModel(n_components).fit((Z - mu) / sd, blocks, pd.DataFrame({"class": yu.to_numpy()}))
        new_y = np.array([c for c, n in sorted(short.items()) for _ in range(n)], dtype=object)
        new_X = model.sample(pd.DataFrame({"class": new_y}), seed=seed) * sd + mu
    names = [f"{SYNTHETIC_PREFIX}{method}:{i}" for i in range(len(new_y))]
    out = {}
    for (name, X), b in zip(layers.items(), blocks, strict=True):
        values = new_X[:, b]
        if _is_binary(X):  # a 0/1 layer (mutations) keeps 0/1 values
            values = np.clip(np.round(values), 0, 1)
        extra = pd.DataFrame(values, index=names, columns=X.columns)
        out[name] = pd.concat([X, extra])
    added = {c: int((new_y == c).sum()) for c in sorted(set(new_y))}
    return out, pd.concat([y, pd.Series(new_y, index=names, name=y.name)]), added


class Augmented(BaseEstimator):
    """A strategy fit on its training side with new samples of the rare classes (``<strategy>+<method>``).

    The held-out side is predicted as the strategy predicts it: only ``fit`` sees new samples, drawn from the
    samples it is fit on (:func:`augment_layers`).

    Parameters
    ----------
    factory : callable
        Returns the unfitted strategy (:func:`moflow.integrate.strategy_factory`).
    method : {"smote", "latent"}
        The augmentation.
    n_components : int
        ``latent``: the principal components per layer.
    seed : int
        The draws' seed.

    Attributes
    ----------
    base_ : estimator
        The strategy fitted on the augmented training side.
    added_ : dict
        {class: number of new samples}.
    """

    _parameter_constraints: ClassVar[dict] = {
        "factory": [callable, None],
        "method": [StrOptions({"smote", "latent"})],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "seed": ["random_state"],
    }

    def __init__(self, factory=None, method: str = "smote", n_components: int = 10, seed: int = 42):
        self.factory = factory
        self.method = method
        self.n_components = n_components
        self.seed = seed

    @property
    def layers_(self) -> list:
        """The layers of the fitted strategy."""
        check_is_fitted(self)
        return self.base_.layers_

    @property
    def task(self) -> str:
        """Always ``classification``."""
        return "classification"

    def fit(self, layers: dict, y: pd.Series, *, shared=None):
        """Draw the new samples from ``layers`` and ``y``, then fit the strategy on both (``shared`` unused)."""
        from moflow.integrate.single import SharedFits

        self._validate_params()
        if self.factory is None:
            raise ValueError("Augmented needs the strategy's factory (factory=...)")
        seed = int(self.seed) if isinstance(self.seed, Integral) else 0
        aug, ya, self.added_ = augment_layers(layers, y, self.method, seed=seed, n_components=int(self.n_components))
        if self.added_:
            log.info(
                "augmentation (%s): %s new training samples (%d real)",
                self.method,
                ", ".join(f"{c}: {n}" for c, n in self.added_.items()),
                len(y),
            )
        self.base_ = self.factory().fit(aug, ya, shared=SharedFits())  # other samples than the split's shared fits
        return self

    def predict_table(self, layers: dict, **kwargs) -> pd.DataFrame:
        """The strategy's prediction table of ``layers``."""
        check_is_fitted(self)
        return self.base_.predict_table(layers, **kwargs)


def augmentation_table(scores: pd.DataFrame, *, n_samples: int, task: str = "classification") -> pd.DataFrame:
    """Each augmented row against its strategy as it is, on the same splits, with the corrected test.

    Per scoreboard row ``<strategy>+<method>`` of an augmentation: the primary metric's mean without and with
    it, the mean difference (positive: augmentation helped) with its Nadeau-Bengio corrected 95% interval,
    the corrected resampled t-test and its p, Holm-adjusted over every augmented row (``p_holm``).

    Parameters
    ----------
    scores : pandas.DataFrame
        The scores of every split x strategy (:func:`moflow.evaluate.metrics.fold_scores`).
    n_samples : int
        The number of CV samples.
    task : str
        The outcome's task (augmentation: classification).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AUGMENTATION_COLUMNS`; empty where no row is augmented.
    """
    from moflow.evaluate.metrics import primary_metric
    from moflow.evaluate.significance import corrected_interval, corrected_ttest, holm

    metric = primary_metric(task)
    wide = scores.pivot(index="split", columns="strategy", values=metric)
    n_test = float(scores["n_test"].mean()) if len(scores) else 0.0
    n_train = max(n_samples - n_test, 1.0)
    rows = []
    for name in wide.columns:
        base, _, method = str(name).rpartition("+")
        if method not in AUGMENT_METHODS or method == "none" or base not in wide.columns:
            continue
        a, b = wide[name].to_numpy(float), wide[base].to_numpy(float)
        m, lo, hi = corrected_interval(a - b, n_train, n_test, bounds=None)
        res = corrected_ttest(a, b, n_train, n_test)
        rows.append(
            {
                "strategy": base,
                "method": method,
                "augmented": name,
                "metric": metric,
                "without": float(np.nanmean(b)),
                "with": float(np.nanmean(a)),
                "difference": m,
                "difference_lo": lo,
                "difference_hi": hi,
                "t": res["t"],
                "p": res["p"],
                "n_splits": res["n_splits"],
            }
        )
    for r, q in zip(rows, holm([r["p"] for r in rows]), strict=True):
        r["p_holm"] = q
    return pd.DataFrame(rows, columns=AUGMENTATION_COLUMNS)
