"""The fold loop: preprocess inside one outer split, fit every strategy, predict the held-out samples.

Inside one outer split, the whole per-layer preprocessing chain is fit on the training samples only
(with the training outcome protected in batch correction) and applied unchanged to the held-out
samples; every strategy is fit on the training side (tuning its hyperparameters by inner CV on the
training samples only: nested) and predicts the held-out side.

A prediction table has one row per (split, strategy, held-out sample): ``y_true`` and the class
probabilities ``p_<class>`` (:func:`class_columns`) or ``prediction``; a survival outcome's ``time``,
``event``, ``risk``, ``risk_group`` and the survival probabilities ``S@<time>`` (:func:`grid_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import clone

from moflow.preprocess.fit_apply import fit_apply

if TYPE_CHECKING:
    from moflow.preprocess import LayerPreprocessor

SURV_PREFIX = "S@"  # prediction columns of the survival probability at a grid time: S@<time>


def grid_of(pred: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The survival-probability columns of a prediction table and their times."""
    cols = [c for c in pred.columns if c.startswith(SURV_PREFIX)]
    return cols, np.array([float(c[len(SURV_PREFIX) :]) for c in cols])


def class_columns(pred: pd.DataFrame) -> list[str]:
    """The class-probability columns of a prediction table (``p_<class>``)."""
    return [c for c in pred.columns if c.startswith("p_")]


def preprocess_fold(
    raw: dict[str, pd.DataFrame],
    preprocessors: dict[str, LayerPreprocessor],
    y: pd.Series,
    train: list[str],
    test: list[str],
    qc: dict[str, list[str]] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Fit each layer's chain on the training side and transform both sides.

    Each layer's chain is fit on the training samples that have the layer (plus that layer's QC
    injections).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        Layer name -> raw samples x features matrix.
    preprocessors : dict of str to LayerPreprocessor
        Layer name -> its unfitted preprocessing chain (cloned before fitting).
    y : pandas.Series
        The outcome of the samples.
    train, test : list of str
        The training and held-out samples of the split.
    qc : dict of str to list of str, optional
        Layer name -> its QC injections, added to the training rows of that layer.

    Returns
    -------
    tuple of dict
        (train layers, test layers), each reindexed to the given sample lists (a sample lacking a
        layer gets a row of missing values).
    """
    qc = qc or {}
    tr_out, te_out = {}, {}
    for name, X in raw.items():
        rows_tr = [s for s in train if s in X.index] + list(qc.get(name, []))
        rows_te = [s for s in test if s in X.index]
        Xt, Xe = fit_apply(clone(preprocessors[name]), X, y, rows_tr, rows_te)
        tr_out[name] = Xt.reindex(train)
        te_out[name] = Xe.reindex(index=test, columns=Xt.columns)
    return tr_out, te_out


def survival_columns(T: pd.DataFrame, train_risk: pd.Series, y_train: pd.DataFrame, grid) -> pd.DataFrame:
    """A survival strategy's held-out risks ``T`` with what is derived from its training side only.

    ``risk_group`` (high above the median training risk, else low) and the survival probability at
    each ``grid`` time (``S@<time>``: Breslow baseline hazard of the training risks).

    Parameters
    ----------
    T : pandas.DataFrame
        The held-out predictions, with a column ``risk``.
    train_risk : pandas.Series
        The strategy's risks of the training samples (missing ones are left out).
    y_train : pandas.DataFrame
        The training samples' outcome (columns ``time``, ``event``).
    grid : array-like of float
        The times of the survival probabilities; empty: none is added.

    Returns
    -------
    pandas.DataFrame
        A copy of ``T`` with ``risk_group`` and one ``S@<time>`` column per grid time.
    """
    from moflow.evaluate.survival_scores import breslow, survival_function

    ok = train_risk.notna()
    r = train_risk[ok].to_numpy(float)
    yt = y_train.loc[train_risk.index[ok]]
    out = T.copy()
    risk = out["risk"].to_numpy(float)
    out["risk_group"] = np.where(np.isnan(risk), None, np.where(risk > np.median(r), "high", "low"))
    if len(grid):
        bt, bh = breslow(r, yt["time"].to_numpy(float), yt["event"].to_numpy(float) > 0)
        S = np.full((len(out), len(grid)), np.nan)
        known = ~np.isnan(risk)
        if known.any():
            S[known] = survival_function(risk[known], bt, bh, np.asarray(grid, float))
        for j, t in enumerate(grid):
            out[f"{SURV_PREFIX}{t:g}"] = S[:, j]
    return out


def predict_split(
    model,
    train_layers: dict[str, pd.DataFrame],
    test_layers: dict[str, pd.DataFrame],
    y: pd.Series,
    train: list[str],
    test: list[str],
    *,
    strategy: str,
    split: str,
    classes: list[str] | None = None,
    grid=None,
    shared=None,
    clinical: pd.DataFrame | None = None,
    designs: dict | None = None,
) -> pd.DataFrame:
    """Fit one strategy on the training side and predict the test side: one row per test sample.

    A survival outcome's rows also get the columns of :func:`survival_columns` (``grid``: the times).

    Parameters
    ----------
    model : estimator
        The unfitted strategy (``fit(layers, y, shared=...)`` and ``predict_table(layers)``).
    train_layers, test_layers : dict of str to pandas.DataFrame
        The preprocessed layers of the training and the test side (:func:`preprocess_fold`).
    y : pandas.Series or pandas.DataFrame
        The outcome (a DataFrame with ``time`` and ``event`` for survival).
    train, test : list of str
        The training and held-out samples.
    strategy, split : str
        The names written in the ``strategy`` and ``split`` columns.
    classes : list of str, optional
        The classes of the ``p_<class>`` columns (classification); a class the model gives no
        probability for gets 0 in the rows it predicted.
    grid : array-like of float, optional
        The times of a survival outcome's survival probabilities.
    shared : SharedFits, optional
        The split's :class:`moflow.integrate.SharedFits` (equal single-layer fits done once).
    clinical : pandas.DataFrame, optional
        The encoded clinical covariates of both sides (fit on the training side), passed to a model
        that uses them (``uses_clinical``).
    designs : dict, optional
        Shared by a strategy and the same strategy refit with the clinical covariates: the strategy's
        predictions of the test side fill it with their designs, the refit one's read them.

    Returns
    -------
    pandas.DataFrame
        The prediction table: split, strategy, sample, then ``y_true`` (or ``time``, ``event``)
        and the predictions.
    """
    uses = getattr(model, "uses_clinical", False)
    if uses and clinical is None:
        raise ValueError(f"strategy {strategy} needs the clinical covariates (clinical: columns)")
    model = model.fit(train_layers, y.loc[train], shared=shared, **({"clinical": clinical} if uses else {}))
    kw = {"clinical": clinical} if uses else {}
    shared_designs = {"designs": designs} if designs is not None else {}
    T = model.predict_table(test_layers, **kw, **shared_designs).reindex(test)
    if classes is not None:  # a class absent from this training side gets probability 0
        predicted = T.notna().any(axis=1)
        T = T.reindex(columns=[f"p_{c}" for c in classes])
        T.loc[predicted] = T.loc[predicted].fillna(0.0)
    if isinstance(y, pd.DataFrame):  # survival
        train_risk = model.predict_table({n: X.reindex(train) for n, X in train_layers.items()}, **kw)["risk"]
        T = survival_columns(T, train_risk.reindex(train), y.loc[train], [] if grid is None else grid)
        T.insert(0, "event", y["event"].reindex(test).to_numpy(float).astype(int))
        T.insert(0, "time", y["time"].reindex(test).to_numpy(float))
    else:
        T.insert(0, "y_true", y.reindex(test).to_numpy())
    T.insert(0, "sample", test)
    T.insert(0, "strategy", strategy)
    T.insert(0, "split", split)
    return T.reset_index(drop=True)


def run_fold(
    raw: dict[str, pd.DataFrame],
    preprocessors: dict[str, LayerPreprocessor],
    strategies: dict[str, Callable],
    y: pd.Series,
    train: list[str],
    test: list[str],
    *,
    qc: dict[str, list[str]] | None = None,
    split: str = "",
    task: str = "classification",
    grid=None,
    log=None,
    clinical: tuple | None = None,
) -> pd.DataFrame:
    """Preprocess inside the split, fit every strategy on the training side, predict the test side.

    With clinical covariates, their encoder is fit on the training side too, and every strategy that
    is not a baseline is also scored with them (``<strategy>+clinical``:
    :class:`moflow.integrate.baselines.WithClinical`, its final model refit from the fitted strategy).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        Layer name -> raw samples x features matrix.
    preprocessors : dict of str to LayerPreprocessor
        Layer name -> its unfitted preprocessing chain.
    strategies : dict of str to callable
        Maps a name to a factory returning an unfitted estimator.
    y : pandas.Series or pandas.DataFrame
        The outcome (a DataFrame with ``time`` and ``event`` for survival).
    train, test : list of str
        The training and held-out samples of the split.
    qc : dict of str to list of str, optional
        Layer name -> its QC injections, added to the training side of the preprocessing.
    split : str
        The split's name (``r{R}f{F}`` or ``final``).
    task : str
        classification, regression or survival.
    grid : array-like of float, optional
        The times at which a survival outcome's survival probabilities are predicted.
    log : logging.Logger, optional
        Gets each layer's feature count and each strategy's time.
    clinical : tuple, optional
        (unfitted :class:`moflow.integrate.clinical.ClinicalEncoder`, the covariates of every sample as
        :func:`moflow.integrate.clinical.clinical_frame`).

    Returns
    -------
    pandas.DataFrame
        The prediction table of every strategy (:func:`predict_split`), one after the other.
    """
    import time

    from moflow.integrate import SharedFits

    t = time.perf_counter()
    tr, te = preprocess_fold(raw, preprocessors, y, train, test, qc)
    if log is not None:
        log.info(
            "split %s: preprocessing %.1f s (%s)",
            split,
            time.perf_counter() - t,
            ", ".join(f"{n} {X.shape[1]} features" for n, X in tr.items()),
        )
    from moflow.integrate.baselines import BASELINES, WITH_CLINICAL, WithClinical

    C = None
    if clinical is not None:
        encoder, frame = clinical
        encoder = clone(encoder).fit(frame.loc[list(train)])
        C = encoder.transform(frame.loc[list(dict.fromkeys([*train, *test]))])
    classes = sorted(y.loc[train].astype(str).unique()) if task == "classification" else None
    out = []
    shared = SharedFits()  # single_<layer> and late's base models: one fit each in this split
    common = {"split": split, "classes": classes, "grid": grid, "shared": shared, "clinical": C}
    for name, factory in strategies.items():
        t = time.perf_counter()
        model = factory()
        # the same fit, its final model refit with the covariates (not a recalibrated strategy: <name>+<method>)
        refit = C is not None and name not in BASELINES and "+" not in name
        designs = {} if refit else None  # the held-out designs, built once for both
        out.append(predict_split(model, tr, te, y, train, test, strategy=name, designs=designs, **common))
        if refit:
            out.append(
                predict_split(
                    WithClinical(model),
                    tr,
                    te,
                    y,
                    train,
                    test,
                    strategy=name + WITH_CLINICAL,
                    designs=designs,
                    **common,
                )
            )
        if log is not None:
            log.info("split %s: %s %.1f s", split, name, time.perf_counter() - t)
    return pd.concat(out, ignore_index=True)
