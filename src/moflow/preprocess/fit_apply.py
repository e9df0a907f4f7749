"""Fit a layer's preprocessing chain on some rows and apply it, unchanged, to others: the one place
this happens, for the full-cohort run (rule preprocess_layer) and every cross-validation split alike
(:func:`moflow.evaluate.folds.preprocess_fold`), with the outcome as the chain may see it.
"""

from __future__ import annotations

import pandas as pd


def fit_apply(
    pp, X: pd.DataFrame, y: pd.Series, fit_rows: list[str], apply_rows: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit a layer's chain on ``fit_rows`` of X (their outcome only; QC injections, which have none,
    may be among them) and apply it, unchanged, to ``apply_rows``. The one place where "fit on these
    rows, apply to those" happens, for the full cohort and every split alike.

    Returns (processed fit rows, processed apply rows); QC injections are dropped by the chain.
    """
    yp = preprocessing_outcome(y)
    fitted = pp.fit_transform(X.loc[fit_rows], None if yp is None else yp.reindex(fit_rows).dropna())
    applied = pp.transform(X.loc[apply_rows]) if apply_rows else fitted.iloc[:0]
    return fitted, applied


def preprocessing_outcome(y) -> pd.Series | None:
    """The outcome as the preprocessing chain sees it (batch correction protects it and checks batches
    against it): itself; none for a survival outcome (event status is no group to preserve: in a small
    training fold a batch often holds only events, and protecting it would keep batch effects).
    """
    return None if isinstance(y, pd.DataFrame) else y
