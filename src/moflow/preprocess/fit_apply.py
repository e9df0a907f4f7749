"""Fit a layer's preprocessing chain on some rows and apply it, unchanged, to others.

This is the one place this happens, for the full-cohort run (rule preprocess_layer) and every
cross-validation split alike (:func:`moflow.evaluate.folds.preprocess_fold`), with the outcome as the
chain may see it.
"""

from __future__ import annotations

import pandas as pd


def fit_apply(
    pp, X: pd.DataFrame, y: pd.Series, fit_rows: list[str], apply_rows: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit a layer's chain on ``fit_rows`` of X and apply it, unchanged, to ``apply_rows``.

    The chain sees the outcome of the fit rows only; QC injections, which have none, may be among them.
    The one place where "fit on these rows, apply to those" happens, for the full cohort and every split
    alike.

    Parameters
    ----------
    pp : LayerPreprocessor
        The layer's chain (unfitted; it is fitted here).
    X : pandas.DataFrame
        Samples x features matrix of the layer, indexed by sample ID.
    y : pandas.Series or pandas.DataFrame
        Outcome (see :func:`preprocessing_outcome`).
    fit_rows : list of str
        Sample IDs the chain is fit on.
    apply_rows : list of str
        Sample IDs the fitted chain is applied to (empty: none).

    Returns
    -------
    fitted, applied : pandas.DataFrame
        Processed fit rows and processed apply rows; QC injections are dropped by the chain.
    """
    yp = preprocessing_outcome(y)
    fitted = pp.fit_transform(X.loc[fit_rows], None if yp is None else yp.reindex(fit_rows).dropna())
    applied = pp.transform(X.loc[apply_rows]) if apply_rows else fitted.iloc[:0]
    return fitted, applied


def preprocessing_outcome(y) -> pd.Series | None:
    """The outcome as the preprocessing chain sees it.

    Batch correction protects it and checks batches against it. It is the outcome itself; none for a
    survival outcome (event status is no group to preserve: in a small training fold a batch often holds
    only events, and protecting it would keep batch effects).

    Parameters
    ----------
    y : pandas.Series or pandas.DataFrame
        The outcome; a DataFrame is a survival outcome.

    Returns
    -------
    pandas.Series or None
        ``y``, or ``None`` for a survival outcome.
    """
    return None if isinstance(y, pd.DataFrame) else y
