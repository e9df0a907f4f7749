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
POOLED = "p"  # with leave-one-site-out splits, the pooled CV beside them: p{R}f{F}


def split_labels(repeats: int, folds: int, *, external: bool, sites: int = 0) -> list[str]:
    """The names of the outer splits, in the order :func:`make_splits` makes them.

    ``r{R}f{F}`` for every repeat and fold, then ``final`` where there is an external test set. With
    ``sites`` (``evaluation: site_column``), the outer splits leave one site out at a time, ``r1f1`` to
    ``r1f{sites}`` in sorted site order (:func:`moflow.evaluate.sites.site_splits`), and the pooled CV
    beside them (sites mixed; the within-site comparison) is named ``p{R}f{F}`` (:func:`is_pooled`).

    Parameters
    ----------
    repeats, folds : int
        The numbers of CV repeats and folds.
    external : bool
        Whether there is an external test set (the split ``final``).
    sites : int
        The number of sites of leave-one-site-out splits (0: none).

    Returns
    -------
    list of str
        The split names.
    """
    cv = [f"r{r + 1}f{f + 1}" for r in range(repeats) for f in range(folds)]
    if sites:
        cv = [f"r1f{f + 1}" for f in range(sites)] + [POOLED + name[1:] for name in cv]
    return cv + ([FINAL] if external else [])


def is_pooled(split: str) -> bool:
    """Whether a split is of the pooled CV beside leave-one-site-out splits (``p{R}f{F}``)."""
    return str(split).startswith(POOLED) and str(split)[len(POOLED) : len(POOLED) + 1].isdigit()


def make_splits(
    y: pd.Series,
    *,
    folds: int,
    repeats: int,
    seed: int,
    task: str = "classification",
    test: list[str] | None = None,
    groups: pd.Series | None = None,
    check: bool = False,
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
    check : bool
        Stop with a :class:`moflow.errors.DataError` where a CV split cannot be evaluated
        (:func:`_check_splits`): the workflow's splits (rule cv_splits) are checked; the splits
        themselves do not change.

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
    splits = pd.DataFrame(rows)
    if check:
        _check_splits(splits, ytr, task=task, groups=groups)
    return splits


def _who(samples, groups: pd.Series | None, n: int = 8) -> str:
    """Samples named for a message, each with its subject where splits keep subjects together."""
    samples = [str(x) for x in samples]
    if groups is None:
        return f"sample(s) {', '.join(repr(x) for x in samples[:n])}" + (
            f" and {len(samples) - n} more" if len(samples) > n else ""
        )
    g = groups.copy()
    g.index = g.index.astype(str)
    subjects = list(dict.fromkeys(str(g.get(x)) for x in samples))
    shown = ", ".join(f"'{x}' (subject '{g.get(x)}')" for x in samples[:n])
    more = f" and {len(samples) - n} more" if len(samples) > n else ""
    return f"sample(s) {shown}{more}: {len(subjects)} subject(s) of config 'evaluation: group_column'"


def _check_splits(splits: pd.DataFrame, y, *, task: str, groups: pd.Series | None = None) -> None:
    """Stop where a CV split of :func:`make_splits` cannot be evaluated; name the split, the samples and the fix.

    Every CV split's training side must hold every class (classification) or an event (survival), and
    a classification's inner cross-validation, which tunes the models stratified by class, needs at
    least 2 training samples of each class. A split failing this would crash late in cross-validation
    ("the training samples have no event"); whole subjects kept on one side of every split (config
    ``evaluation: group_column``) are the usual cause. The external test split ``final`` trains on
    every training sample (checked at start-up). (A survival model tunes on any training side with an
    event.)

    Parameters
    ----------
    splits : pandas.DataFrame
        The splits table (:func:`make_splits`).
    y : pandas.Series or pandas.DataFrame
        The outcome of the training samples (survival: columns ``time`` and ``event``).
    task : str
        classification, regression (not checked) or survival.
    groups : pandas.Series, optional
        Sample -> subject, where splits keep subjects together (named in the messages).

    Raises
    ------
    moflow.errors.DataError
        Naming the split, the samples (and their subjects) and the fix.
    """
    from moflow.errors import DataError

    if task not in ("classification", "survival"):
        return
    if task == "survival":
        labels = pd.Series(np.where(y["event"].to_numpy(float) > 0, "event", "censored"), index=y.index)
    else:
        labels = pd.Series(y.astype(str).to_numpy(), index=y.index)
    labels.index = labels.index.astype(str)
    grouped = groups is not None
    fix = (
        "Lower 'evaluation: folds' (more samples on each training side), add samples"
        + (" with events" if task == "survival" else " of that class")
        + (
            ", or leave 'evaluation: group_column' empty (only where a subject's samples are independent)"
            if grouped
            else ""
        )
        + "."
    )
    strata = sorted(labels.unique())
    for name in split_names(splits):
        train, _ = split_members(splits, name)
        counts = labels.reindex(train).value_counts()
        absent = [c for c in strata if counts.get(c, 0) == 0 and (task == "classification" or c == "event")]
        if absent:
            c = absent[0]
            members = list(labels.index[labels == c])
            kind, of = (
                ("no event", "samples with an event")
                if task == "survival"
                else (
                    f"no sample of class '{c}'",
                    f"samples of class '{c}'",
                )
            )
            raise DataError(
                f"evaluation split {name}: its training side ({len(train)} samples) has {kind}: all "
                f"{len(members)} {of} are held out in it, {_who(members, groups)}. "
                + ("A survival model cannot be fitted without an event. " if task == "survival" else "")
                + (
                    "Splits keep each subject's samples together and these subjects fell into one fold. "
                    if grouped
                    else ""
                )
                + fix
            )
        thin = [c for c in strata if counts.get(c, 0) == 1] if task == "classification" else []
        if thin:
            c = thin[0]
            members = [x for x in train if labels.get(x) == c]
            raise DataError(
                f"evaluation split {name}: its training side ({len(train)} samples) holds a single sample of "
                f"class '{c}', {_who(members, groups)}: the inner cross-validation that tunes the models needs "
                "at least 2 of each class. " + fix
            )


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


def check_held_out(predictions: pd.DataFrame, splits: pd.DataFrame) -> None:
    """Check that the predictions cover every split of ``splits`` and hold each one's test side.

    Every CV job draws the splits itself (seeded, :func:`make_splits`); the job that scores them
    draws them again, writes them, and checks here that each split's predicted samples are exactly
    its held-out samples: a job that drew other splits (another seed, another sheet) cannot be scored
    silently on the wrong ones.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Every split x strategy's predictions (columns ``split``, ``sample``).
    splits : pandas.DataFrame
        The splits table (:func:`make_splits`).

    Raises
    ------
    RuntimeError
        Naming the first split whose predicted samples differ from its test side, or that has none.
    """
    predicted = predictions.assign(sample=predictions["sample"].astype(str)).groupby("split")["sample"]
    held = {split: set(s) for split, s in predicted}
    for split in dict.fromkeys(splits["split"].astype(str)):
        test = set(split_members(splits, split)[1])
        got = held.pop(split, None)
        if got is None:
            raise RuntimeError(f"no predictions for split {split}: rerun the CV jobs (results/evaluate/folds/)")
        if got != test:
            odd = sorted(got ^ test)[:5]
            raise RuntimeError(
                f"split {split}: the predicted samples are not its held-out samples (e.g. {', '.join(odd)}); "
                "the CV jobs drew other splits: rerun them (results/evaluate/folds/)"
            )
    if held:
        raise RuntimeError(f"predictions for splits that do not exist: {', '.join(sorted(held))}")
