"""How a predictor transfers to a site (hospital, centre) it has not seen: leave-one-site-out evaluation.

* :func:`site_splits`: one outer split per site, that site held out, in the table format of
  :func:`moflow.evaluate.splits.make_splits` (so every existing consumer of a splits table reads it);
  :func:`split_sites` says which site each split holds out;
* :func:`check_sites`: the start-up checks of the site column (raises on what cannot be scored, returns
  the log lines of what can be scored only roughly);
* :func:`site_table`: the scores of every strategy on every held-out site, beside the pooled CV's;
* :func:`shift_diagnostic`: how easily a classifier tells a held-out site's samples from the training
  sites' samples, per layer (no outcome used).

Pure functions: no file I/O, no Snakemake. Only numpy and pandas are imported at import time (the
workflow may import this module at start-up); scikit-learn is imported inside the functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.evaluate.splits import FINAL, split_labels, split_members, split_names

_SITE_KEY = "evaluation: site_column"


def _named(samples, n: int = 8) -> str:
    """The first ``n`` samples by name, and how many there are in all."""
    samples = [str(x) for x in samples]
    shown = ", ".join(repr(x) for x in samples[:n])
    more = f" and {len(samples) - n} more" if len(samples) > n else ""
    return f"{len(samples)} sample(s): {shown}{more}"


def _training_sites(index: pd.Index, sites: pd.Series, *, column: str, path: str) -> pd.Series:
    """The site of every training sample (``index``), as strings; raise where one is blank or missing."""
    from moflow.errors import DataError

    by_name = pd.Series(sites.to_numpy(), index=sites.index.astype(str))
    by_name = by_name[~by_name.index.duplicated(keep="first")]
    site = pd.Series(by_name.reindex(index.astype(str)).to_numpy(), index=index)
    blank = site.isna() | site.astype(str).str.strip().eq("")
    if blank.any():
        raise DataError(
            f"column '{column}' of {path} ({_SITE_KEY}) is blank for {_named(index[blank.to_numpy()])}: "
            "every training sample needs the site it was collected at. Fill in their site in the sheet, "
            f"or leave '{_SITE_KEY}' empty (no leave-one-site-out evaluation)."
        )
    return site.astype(str).str.strip()


def _single_site(column: str, path: str, levels: list[str]):
    """The error of a site column with fewer than two sites."""
    from moflow.errors import ConfigError

    which = f"a single site ('{levels[0]}')" if levels else "no site"
    return ConfigError(
        f"'{_SITE_KEY}' names '{column}', which has {which} among the training samples of {path}: leaving it "
        "out leaves nothing to train on. Name a column with at least two sites or leave site_column empty."
    )


def site_splits(
    y,
    sites: pd.Series,
    *,
    task: str,
    names: list[str] | None = None,
    test: list[str] | None = None,
) -> pd.DataFrame:
    """Leave-one-site-out outer splits, in the table format of :func:`moflow.evaluate.splits.make_splits`.

    One split per site, sites in sorted order (as strings): that site's training samples are ``test``,
    every other training sample ``train``. The table has exactly make_splits' columns (split, sample,
    role) and rows (each split's training rows, then its test rows, samples in the order of ``y``); with
    external ``test`` samples the split ``final`` trains on every training sample and tests on them, as
    make_splits makes it. Which site a split holds out: :func:`split_sites` (the table itself stays
    make_splits' format, which the fold jobs, :func:`moflow.evaluate.splits.check_held_out` and the
    written splits file read).

    Parameters
    ----------
    y : pandas.Series or pandas.DataFrame
        The outcome, indexed by sample: labels (classification), values (regression) or columns
        ``time`` and ``event`` (survival); only its index is used.
    sites : pandas.Series
        Sample -> site of the training samples (external test samples need none).
    task : str
        classification, regression or survival (the splits do not depend on it: every sample of a site
        is held out together; :func:`check_sites` checks each split can be scored).
    names : list of str, optional
        The split names, one per site in sorted site order; default ``r1f1``, ``r1f2``, ... (the
        workflow's names of a single repeat).
    test : list of str, optional
        The external test samples.

    Returns
    -------
    pandas.DataFrame
        Columns split, sample, role.

    Raises
    ------
    moflow.errors.InputError
        A training sample without a site, or fewer than two sites.
    ValueError
        ``names`` not one distinct name per site, or one of them ``final``.
    """
    if task not in ("classification", "regression", "survival"):
        raise ValueError(f"task must be classification, regression or survival, not {task!r}")
    test = list(test or [])
    ytr = y.drop(index=test, errors="ignore")
    site = _training_sites(ytr.index, sites, column="site_column", path="the sample sheet")
    levels = sorted(site.unique())
    if len(levels) < 2:
        raise _single_site("site_column", "the sample sheet", levels)
    names = list(names) if names is not None else split_labels(1, len(levels), external=False)
    if len(names) != len(levels) or len(set(names)) != len(names) or FINAL in names:
        raise ValueError(
            f"names: one distinct split name per site ({len(levels)}: {', '.join(levels)}), none of them "
            f"'{FINAL}'; got {names}"
        )
    held_all = site.to_numpy()
    rows = []
    for name, level in zip(names, levels):
        held = held_all == level
        rows += [{"split": name, "sample": s, "role": "train"} for s in ytr.index[~held]]
        rows += [{"split": name, "sample": s, "role": "test"} for s in ytr.index[held]]
    if test:
        rows += [{"split": FINAL, "sample": s, "role": "train"} for s in ytr.index]
        rows += [{"split": FINAL, "sample": s, "role": "test"} for s in test]
    return pd.DataFrame(rows)


def site_levels(sheet: pd.DataFrame, column: str, samples) -> list[str]:
    """The sorted distinct sites of ``samples`` (column ``column`` of the sample sheet), as stripped text.

    The order :func:`site_splits` holds them out in (its split ``r1f{i}`` holds out the i-th).
    """
    by = sheet.set_index("sample", drop=False) if "sample" in sheet.columns else sheet
    values = by.loc[[s for s in samples if s in by.index], column].astype(str).str.strip()
    return sorted(v for v in values.unique() if v not in ("", "nan"))


def split_sites(splits: pd.DataFrame, sites: pd.Series) -> dict[str, str]:
    """The site each split of a leave-one-site-out table (:func:`site_splits`) holds out.

    Parameters
    ----------
    splits : pandas.DataFrame
        The splits table (columns split, sample, role).
    sites : pandas.Series
        Sample -> site, as given to :func:`site_splits`.

    Returns
    -------
    dict
        Split name -> site (as a string), in the table's split order; ``final`` is left out.

    Raises
    ------
    ValueError
        Where a split's test side is not exactly one site (the table was not made by :func:`site_splits`
        from these sites).
    """
    by_name = pd.Series(sites.to_numpy(), index=sites.index.astype(str))
    by_name = by_name[~by_name.index.duplicated(keep="first")]
    out = {}
    for name in split_names(splits):
        _, held = split_members(splits, name)
        found = sorted({str(v).strip() for v in by_name.reindex(held)})
        if len(found) != 1 or found[0] in ("", "nan"):
            raise ValueError(
                f"split {name}: its test side holds sites {found}, not one site: not a leave-one-site-out split"
            )
        out[name] = found[0]
    return out


def check_sites(
    y,
    sites: pd.Series,
    *,
    task: str,
    column: str,
    path: str = "the sample sheet",
    test: list[str] | None = None,
) -> list[str]:
    """Start-up checks of a leave-one-site-out evaluation: stop on what cannot be scored, say what is rough.

    Stops (:class:`moflow.errors.InputError`) where

    * a training sample has a blank site (the samples named, the first 8, and counted);
    * there are fewer than 2 sites;
    * classification: a site holds a single class (its balanced accuracy and ROC AUC, held out, need
      both classes), or leaving a site out leaves a training side with fewer than 2 samples of a class
      (the inner cross-validation that tunes the models needs 2 of each);
    * survival: a site has no event (its concordance cannot be computed).

    Returns log lines: the sites and their sizes; a site scored but roughly, having fewer samples than
    twice the number of classes (classification), fewer than 5 (regression) or fewer than 5 events
    (survival) (:func:`rough_below`); a multiclass site lacking a class (no ROC AUC there); a regression
    site whose outcome is constant.

    Parameters
    ----------
    y : pandas.Series or pandas.DataFrame
        The outcome, indexed by sample (survival: columns ``time`` and ``event``).
    sites : pandas.Series
        Sample -> site.
    task : str
        classification, regression or survival.
    column : str
        The sheet column of the sites (config ``evaluation: site_column``), named in the messages.
    path : str
        The sheet, named in the messages.
    test : list of str, optional
        External test samples in ``y``: not checked (they are never held out by site).

    Returns
    -------
    list of str
        The messages to log.

    Raises
    ------
    moflow.errors.InputError
        Naming the column or site, what is wrong and the fix.
    """
    from moflow.errors import DataError

    ytr = y.drop(index=list(test or []), errors="ignore")
    site = _training_sites(ytr.index, sites, column=column, path=path)
    levels = sorted(site.unique())
    if len(levels) < 2:
        raise _single_site(column, path, levels)
    fix = f"Merge it with another site in the sheet, or leave '{_SITE_KEY}' empty."

    def where(level: str) -> str:
        return f"site '{level}' of column '{column}' ({path})"

    sizes = site.value_counts()
    messages = [
        f"leave-one-site-out over column '{column}': {len(levels)} sites ("
        + ", ".join(f"'{s}': {int(sizes[s])}" for s in levels)
        + " samples)"
    ]
    s = site.to_numpy()
    if task == "classification":
        labels = ytr.astype(str).to_numpy()
        classes = sorted(set(labels))
        for level in levels:
            held = s == level
            present = sorted(set(labels[held]))
            if len(present) == 1:
                raise DataError(
                    f"{where(level)}: its {int(held.sum())} samples are all of class '{present[0]}': held "
                    "out, it cannot be scored (balanced accuracy and ROC AUC need both classes). " + fix
                )
            counts = pd.Series(labels[~held]).value_counts()
            thin = [c for c in classes if counts.get(c, 0) < 2]
            if thin:
                c = thin[0]
                raise DataError(
                    f"{where(level)}: leaving it out leaves {int(counts.get(c, 0))} training sample(s) of class "
                    f"'{c}' (the site holds {int((labels[held] == c).sum())} of its {int((labels == c).sum())}): the "
                    "inner cross-validation that tunes the models needs at least 2 of each class. " + fix
                )
            if len(present) < len(classes):
                missing = ", ".join(f"'{c}'" for c in classes if c not in present)
                messages.append(
                    f"{where(level)} has no sample of class {missing}: its balanced accuracy is scored over "
                    "the classes it holds, its ROC AUC is not computed"
                )
        need = rough_below(task, len(classes))
    elif task == "survival":
        event = ytr["event"].to_numpy(float) > 0
        for level in levels:
            held = s == level
            if not event[held].any():
                raise DataError(
                    f"{where(level)}: none of its {int(held.sum())} samples has an event: held out, its "
                    "concordance cannot be computed. " + fix
                )
        need = rough_below(task)
    else:
        values = ytr.to_numpy(float)
        for level in levels:
            v = values[s == level]
            if len(v) > 1 and np.nanstd(v) == 0:
                messages.append(
                    f"{where(level)}: its outcome is constant ({v[0]:g}): its R2 and Pearson r are not "
                    "meaningful, only its RMSE"
                )
        need = rough_below(task)
    for level in levels:
        n = int((s == level).sum())
        if task == "survival":  # a concordance rests on the events
            n_ev = int((ytr["event"].to_numpy(float) > 0)[s == level].sum())
            if n_ev < need:
                size = f"{n} samples, {n_ev} event{'s' * (n_ev != 1)}"
                messages.append(f"{where(level)} is scored, but its score is rough ({size}; fewer than {need} events)")
        elif n < need:
            messages.append(f"{where(level)} is scored, but its score is rough (n = {n} samples; fewer than {need})")
    return messages


def rough_below(task: str, n_classes: int = 2) -> int:
    """The held-out size below which a site's score is rough.

    Twice the number of classes (classification), 5 samples (regression), 5 events (survival).

    Parameters
    ----------
    task : str
        classification, regression or survival.
    n_classes : int
        The outcome's classes (classification).

    Returns
    -------
    int
        The smallest held-out site whose score is not called rough.
    """
    return 2 * int(n_classes) if task == "classification" else 5


def site_table(
    scores: pd.DataFrame,
    site_of_split: dict[str, str],
    *,
    task: str,
    pooled: pd.DataFrame | None = None,
    rough_n: int | None = None,
) -> pd.DataFrame:
    """The scores of every strategy on every held-out site, beside the pooled CV's.

    Parameters
    ----------
    scores : pandas.DataFrame
        The scores of every split x strategy of the leave-one-site-out splits
        (:func:`moflow.evaluate.metrics.fold_scores`: columns split, strategy, n_test and one per metric);
        splits not in ``site_of_split`` (``final``) are left out.
    site_of_split : dict
        Split -> the site it holds out (:func:`split_sites`).
    task : str
        classification, regression or survival.
    pooled : pandas.DataFrame, optional
        The pooled CV's scores to set beside: with a column ``site``, one row per (strategy, site) (the
        site's samples scored from the pooled CV, :func:`pooled_site_scores`: the within-site score);
        otherwise its scoreboard (:func:`moflow.evaluate.ranking.scoreboard`: one row per strategy, a
        column ``strategy`` or the strategies as index, and the metric columns).
    rough_n : int, optional
        The held-out size below which a site's score is rough (:func:`rough_below`; survival: its events):
        a column ``rough``, true there.

    Returns
    -------
    pandas.DataFrame
        One row per (strategy, site), sorted by strategy then site: site, strategy, n_test (and n_events,
        survival), every metric of :func:`moflow.evaluate.metrics.score_metrics` and, with ``pooled``,
        ``<primary>_pooled_cv`` (the pooled CV's primary metric, of the site or of the strategy; NaN
        where it lacks one) and ``<primary>_drop`` = the site's ``<primary>`` minus the pooled CV's
        (negative where the site scores lower held out than seen in training; for a lower-is-better
        primary metric such as RMSE, positive is worse), and ``rough`` where ``rough_n`` is given.

    Raises
    ------
    ValueError
        Where two splits of a strategy hold out the same site.
    """
    from moflow.evaluate.metrics import primary_metric, score_metrics

    metrics = score_metrics(scores, task)
    site_of_split = {str(k): str(v) for k, v in site_of_split.items()}
    d = scores[scores["split"].astype(str).isin(site_of_split)].copy()
    d["site"] = d["split"].astype(str).map(site_of_split)
    twice = d.duplicated(["strategy", "site"])
    if twice.any():
        first = d[twice].iloc[0]
        raise ValueError(f"strategy {first['strategy']}: more than one split holds out site '{first['site']}'")
    extra = ["n_events"] if "n_events" in d.columns else []
    out = d.reindex(columns=["site", "strategy", "n_test", *extra, *metrics])
    if pooled is not None:
        m = primary_metric(task)
        if "site" in pooled.columns:
            by = pooled.set_index(["strategy", "site"])[m]
            keys = pd.MultiIndex.from_arrays([out["strategy"], out["site"].astype(str)])
            out[f"{m}_pooled_cv"] = by.reindex(keys).to_numpy(float)
        else:
            board = pooled.set_index("strategy") if "strategy" in pooled.columns else pooled
            out[f"{m}_pooled_cv"] = out["strategy"].map(board[m]).astype(float)
        out[f"{m}_drop"] = out[m].astype(float) - out[f"{m}_pooled_cv"]
    if rough_n is not None:
        size = out["n_events"] if task == "survival" and "n_events" in out.columns else out["n_test"]
        out["rough"] = size.astype(float) < rough_n
    return out.sort_values(["strategy", "site"], kind="stable").reset_index(drop=True)


def pooled_site_scores(pred: pd.DataFrame, sites: pd.Series, task: str, *, y=None, times=()) -> pd.DataFrame:
    """Every site's samples scored from the pooled CV (sites mixed): the score of a site seen in training.

    Per repeat of the pooled CV, the out-of-fold predictions of a site's samples (each predicted by a
    model whose training side held the site's other samples) are scored together
    (:func:`moflow.evaluate.metrics.fold_scores`, a survival outcome's training side being the other
    sites' samples); the scores are averaged over the repeats. Beside the score of the same site held
    out (:func:`site_table`), the difference is what leaving the site out costs.

    Parameters
    ----------
    pred : pandas.DataFrame
        The pooled CV's predictions (splits ``p{R}f{F}``, :func:`moflow.evaluate.splits.is_pooled`).
    sites : pandas.Series
        Sample -> site.
    task : str
        classification, regression or survival.
    y : pandas.DataFrame, optional
        The outcome (survival only).
    times : array-like of float
        The AUC times (survival only).

    Returns
    -------
    pandas.DataFrame
        One row per (strategy, site): strategy, site, n_test and the metrics, averaged over the repeats.
    """
    from moflow.evaluate.metrics import fold_scores, score_metrics

    site = pd.Series(sites.to_numpy(), index=sites.index.astype(str)).astype(str).str.strip()
    d = pred.copy()
    d["repeat"] = d["split"].astype(str).str.extract(r"^\D+(\d+)f", expand=False)
    d["site"] = d["sample"].astype(str).map(site)
    parts = []
    for repeat, part in d.groupby("repeat", sort=True):
        part = part.assign(split=part["site"]).drop(columns=["repeat", "site"])
        parts.append(fold_scores(part, task, y=y, times=times).assign(repeat=repeat))
    if not parts:
        return pd.DataFrame(columns=["strategy", "site", "n_test"])
    scores = pd.concat(parts, ignore_index=True).rename(columns={"split": "site"})
    metrics = [m for m in score_metrics(scores, task) if m in scores.columns]
    extra = [c for c in ("n_test", "n_events") if c in scores.columns]
    return scores.groupby(["strategy", "site"], sort=True)[extra + metrics].mean().reset_index()


_SHIFT_C = 0.1  # the fixed inverse L2 strength of the site classifier (features standardized)


def _separability(train: pd.DataFrame, test: pd.DataFrame, *, seed: int, folds: int, ratio: int, top: int) -> dict:
    """Cross-validated ROC AUC of a classifier telling ``test``'s rows from ``train``'s (:func:`shift_diagnostic`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cols = train.columns.intersection(test.columns, sort=False)
    tr = train[cols].to_numpy(float)
    te = test[cols].to_numpy(float)
    tr, te = tr[~np.isnan(tr).all(1)], te[~np.isnan(te).all(1)]
    out = {"auc": np.nan, "n_train": len(tr), "n_test": len(te), "features": 0}
    if len(tr) == 0 or len(te) == 0:
        return out
    with np.errstate(all="ignore"):
        means = np.nanmean(tr, axis=0)  # the whole training side's means (before the cap)
    keep = np.isfinite(means)
    tr, te, means = tr[:, keep], te[:, keep], means[keep]
    if len(tr) > ratio * len(te):
        rng = np.random.default_rng(seed)
        tr = tr[np.sort(rng.choice(len(tr), ratio * len(te), replace=False))]
    X = np.vstack([tr, te])
    X = np.where(np.isnan(X), means, X)
    var = X.var(axis=0)
    order = np.argsort(-var, kind="stable")
    chosen = order[var[order] > 0][:top]
    out.update(n_train=len(tr), features=len(chosen))
    k = min(folds, len(tr), len(te))
    if k < 2 or len(chosen) == 0:
        return out
    label = np.r_[np.zeros(len(tr), int), np.ones(len(te), int)]
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=_SHIFT_C, class_weight="balanced", max_iter=5000, random_state=seed)
    )
    cv = StratifiedKFold(k, shuffle=True, random_state=seed)
    out["auc"] = float(np.mean(cross_val_score(model, X[:, chosen], label, cv=cv, scoring="roc_auc")))
    return out


def shift_diagnostic(
    train_layers: dict[str, pd.DataFrame],
    test_layers: dict[str, pd.DataFrame],
    *,
    seed: int,
    folds: int = 3,
    train_sites: pd.Series | None = None,
    max_ratio: int = 5,
    max_features: int = 500,
) -> pd.DataFrame:
    """How easily a classifier tells a held-out site's samples from the training sites', per layer.

    For every layer of both sides (samples x features, already preprocessed: the preprocessing fit on
    the training side, applied to the held-out site), an L2 logistic regression (features standardized,
    fixed moderate strength ``C`` = 0.1, class weights balanced) learns which side a sample
    is on; its ROC AUC is cross-validated (stratified ``folds``-fold, shuffled with ``seed``; fewer folds
    where a side has fewer rows) and averaged over the folds. Only rows with an observed value are used;
    missing cells are filled with the training side's column means (features with no training value are
    left out). No outcome is used. AUC near 0.5: no detectable shift; near 1: the held-out site is
    trivially recognisable (a batch or platform effect the model must transfer across). With tens of
    samples a side, noise alone spreads the AUC of sides with no shift over about 0.35 to 0.65.

    Kept cheap: the training-side rows are capped at ``max_ratio`` times the held-out rows (drawn with
    ``seed``; the class weights balance the sides), and the features at the ``max_features`` of largest
    variance over the rows used of both sides (label-free, so choosing them before the CV leaks nothing).

    The AUC compares the held-out site with the training side as a whole: where the training side itself
    mixes sites that differ, any held-out site is told from the differing ones (a training side half of
    which is shifted gives about 0.75 to a held-out site like the other half). With ``train_sites``, the
    held-out site is also compared with each training site alone, and the smallest of those AUCs is
    reported (``auc_nearest_site``): near 0.5 where some training site looks like the held-out one.

    Parameters
    ----------
    train_layers : dict of str to pandas.DataFrame
        Layer -> the training side (samples x features).
    test_layers : dict of str to pandas.DataFrame
        Layer -> the held-out site (samples x features); layers missing here are left out.
    seed : int
        Seed of the row cap, the folds and the model.
    folds : int
        Folds of the cross-validation.
    train_sites : pandas.Series, optional
        Training sample -> site: adds ``nearest_site`` and ``auc_nearest_site``.
    max_ratio : int
        Training-side rows used, at most this many times the held-out rows.
    max_features : int
        Features used, the most variable ones.

    Returns
    -------
    pandas.DataFrame
        One row per layer: layer, auc, n_train (training rows used), n_test, features (features used);
        with ``train_sites`` also nearest_site and auc_nearest_site.
    """
    opts = {"seed": seed, "folds": folds, "ratio": max_ratio, "top": max_features}
    if train_sites is not None:
        by_name = pd.Series(train_sites.to_numpy(), index=train_sites.index.astype(str))
        by_name = by_name[~by_name.index.duplicated(keep="first")]
    rows = []
    for layer, train in train_layers.items():
        if layer not in test_layers:
            continue
        test = test_layers[layer]
        row = {"layer": layer, **_separability(train, test, **opts)}
        if train_sites is not None:
            site = by_name.reindex(train.index.astype(str)).astype(str).to_numpy()
            per = {
                level: _separability(train[site == level], test, **opts)["auc"] for level in sorted(set(site) - {"nan"})
            }
            finite = {k: v for k, v in per.items() if np.isfinite(v)}
            nearest = min(finite, key=finite.get) if finite else None
            row.update(nearest_site=nearest, auc_nearest_site=finite[nearest] if nearest else np.nan)
        rows.append(row)
    columns = ["layer", "auc", "n_train", "n_test", "features"]
    columns += ["nearest_site", "auc_nearest_site"] if train_sites is not None else []
    return pd.DataFrame(rows, columns=columns)
