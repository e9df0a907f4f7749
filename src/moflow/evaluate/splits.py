"""The outer splits of the evaluation: every strategy and single layer is scored on the same ones.

CV splits are named ``r{R}f{F}`` (repeat R, fold F) and use only the training samples; with an
external test set, the split ``final`` trains on every training sample and tests on the external ones.
:func:`split_labels` is the one place those names are made (for :func:`make_splits` and the workflow's
job list alike): this module imports no scikit-learn at import time, the Snakefile reads it at every
job start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FINAL = "final"


def split_labels(repeats: int, folds: int, *, external: bool) -> list[str]:
    """The names of the outer splits, in the order :func:`make_splits` makes them.

    ``r{R}f{F}`` for every repeat and fold, then ``final`` where there is an external test set.

    Parameters
    ----------
    repeats, folds : int
        The numbers of CV repeats and folds.
    external : bool
        Whether there is an external test set (the split ``final``).

    Returns
    -------
    list of str
        The split names.
    """
    return [f"r{r + 1}f{f + 1}" for r in range(repeats) for f in range(folds)] + ([FINAL] if external else [])


def make_splits(
    y: pd.Series,
    *,
    folds: int,
    repeats: int,
    seed: int,
    task: str = "classification",
    test: list[str] | None = None,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Outer splits: one row per (split, sample) with role train / test.

    CV splits are named r{R}f{F} and use only the training samples; a continuous outcome is
    stratified by quantile bins. With external ``test`` samples, a split ``final`` trains on every
    training sample and tests on them. ``groups`` (the subject of each sample,
    :func:`moflow.cohort.split_groups`): every subject's samples on one side of every split
    (scikit-learn's StratifiedGroupKFold, reshuffled for every repeat).

    Parameters
    ----------
    y : pandas.Series or pandas.DataFrame
        The outcome of every sample (a DataFrame with ``time`` and ``event`` for survival).
    folds, repeats : int
        The numbers of CV folds and repeats.
    seed : int
        Seed of the fold assignment.
    task : str
        classification (stratified by class), regression (by at most 5 quantile bins) or survival
        (by :func:`moflow.evaluate.survival_scores.stratification_labels`).
    test : list of str, optional
        The external test samples.
    groups : pandas.Series, optional
        Sample -> subject.

    Returns
    -------
    pandas.DataFrame
        Columns split, sample, role.
    """
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    test = list(test or [])
    ytr = y.drop(index=test, errors="ignore")
    if task == "classification":
        strata = ytr.to_numpy()
    elif task == "survival":  # event status, and time within it where events are many
        from moflow.evaluate.survival_scores import stratification_labels

        strata = stratification_labels(ytr["time"].to_numpy(float), ytr["event"].to_numpy(float) > 0, folds)
    else:
        strata = pd.qcut(ytr.rank(method="first"), q=min(folds, 5), labels=False).to_numpy()
    if groups is None:
        cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
        parts = cv.split(np.zeros(len(ytr)), strata)
    else:
        g = groups.reindex(ytr.index).to_numpy()
        rng = np.random.RandomState(seed)  # one stream over the repeats, as RepeatedStratifiedKFold
        parts = (
            part
            for _ in range(repeats)
            for part in StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=rng).split(
                np.zeros(len(ytr)), strata, g
            )
        )
    rows = []
    for name, (tr, te) in zip(split_labels(repeats, folds, external=False), parts):
        rows += [{"split": name, "sample": ytr.index[j], "role": "train"} for j in tr]
        rows += [{"split": name, "sample": ytr.index[j], "role": "test"} for j in te]
    if test:
        rows += [{"split": FINAL, "sample": s, "role": "train"} for s in ytr.index]
        rows += [{"split": FINAL, "sample": s, "role": "test"} for s in test]
    return pd.DataFrame(rows)


def split_names(splits: pd.DataFrame, *, include_final: bool = False) -> list[str]:
    """The split names of a splits table (:func:`make_splits`) in their order, ``final`` only if asked."""
    names = list(dict.fromkeys(splits["split"]))
    return names if include_final else [n for n in names if n != FINAL]


def split_members(splits: pd.DataFrame, split: str) -> tuple[list[str], list[str]]:
    """The (training, test) samples of one split of a splits table (:func:`make_splits`), as strings."""
    s = splits[splits["split"] == split]
    return (
        list(s.loc[s["role"] == "train", "sample"].astype(str)),
        list(s.loc[s["role"] == "test", "sample"].astype(str)),
    )
