"""How often the bundle's prediction sets and intervals hold the truth, measured without touching it.

The bundle's conformal thresholds come from the outer CV's out-of-fold predictions, and the model that
uses them is the refit on every training sample (:mod:`moflow.model.conformal`). The check reruns that
procedure inside each outer split of the first repeat: the split's model (the one the evaluation scored
on its held-out fold) gets thresholds from out-of-fold predictions of its training side only, made by
models that saw neither the held-out fold nor the predicted one. With the first repeat's folds
``F1..FK``, the model of the pair ``{Fj, Fk}`` is fit (its preprocessing too) on every other fold and
predicts both: its predictions of ``Fj`` calibrate the outer split that holds out ``Fk``, and the
other way round. ``K (K - 1) / 2`` fits of one strategy (10 at 5 folds) give every outer split ``K - 1``
inner folds, each fit on ``(K - 2) / (K - 1)`` of its training side, as the bundle's thresholds come from
models fit on ``(K - 1) / K`` of all training samples (:func:`fold_pairs`, :func:`pair_predictions`,
:func:`conformal_check`). Nothing of a held-out fold enters its thresholds, so its coverage is an honest
estimate of the coverage of new samples from the same population. It needs 3 folds at least.

With an external test set, the bundle's own thresholds (every CV split's out-of-fold predictions) are
applied to the split ``final``'s predictions (the bundle's model): their coverage is the bundle's,
measured on samples it never saw (:func:`external_coverage`). :func:`coverage_summary` makes the table
the report shows: coverage with its 95% interval, set size or interval width, per class.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd

from moflow.errors import InputError
from moflow.model.conformal import Conformal, apply_conformal, covered, fit_conformal

log = logging.getLogger("moflow")
PAIR_SEP = "|"  # between the two held-out folds of a pair model (its predictions' column ``pair``)


def cv_predictions(predictions: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """The out-of-fold rows of one strategy: every CV split (not ``final``)."""
    from moflow.evaluate import FINAL

    return predictions[(predictions["strategy"] == strategy) & (predictions["split"] != FINAL)]


def check_splits(splits: pd.DataFrame) -> list[str]:
    """The outer splits the check scores: the first repeat's (``r1f*``; every training sample held out once)."""
    from moflow.evaluate import split_names

    return [s for s in split_names(splits) if str(s).startswith("r1f")]


def fold_pairs(names: list[str]) -> list[str]:
    """Every pair of the outer splits ``names`` (``"r1f1|r1f2"``): one model each (none with fewer than 3)."""
    if len(names) < 3:
        return []
    return [PAIR_SEP.join(p) for p in itertools.combinations(names, 2)]


def _rows(conf: Conformal, pred: pd.DataFrame, scope: str) -> pd.DataFrame:
    sets = apply_conformal(conf, pred)
    out = pred[["split", "sample", "y_true"]].copy()
    out.insert(0, "scope", scope)
    out = pd.concat([out, sets], axis=1)
    out["covered"] = covered(sets, pred["y_true"])
    return out.reset_index(drop=True)


def pair_predictions(
    raw: dict[str, pd.DataFrame],
    splits: pd.DataFrame,
    cohort,
    strategy: str,
    pair: str,
    *,
    strategies: dict,
    preprocessors: dict,
    clinical: tuple | None,
) -> pd.DataFrame:
    """The predictions of the model fit on every fold but the pair's two, of the samples of those two.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}; every chain is refit on the pair's training side.
    splits : pandas.DataFrame
        The outer splits (:func:`moflow.evaluate.make_splits`).
    cohort : Cohort
        The cohort.
    strategy : str
        The bundle's strategy (a scoreboard row; ``<name>+clinical`` refits with the covariates).
    pair : str
        Two outer splits of the first repeat (:func:`fold_pairs`).
    strategies, preprocessors : dict
        {name: factory} and {layer: unfitted chain}, as the fold loop gets them.
    clinical : tuple or None
        (unfitted encoder, covariates) where the strategy uses them.

    Returns
    -------
    pandas.DataFrame
        The prediction table of the pair's samples (:func:`moflow.evaluate.folds.predict_split`) with the
        column ``pair``; one row with ``pair`` and ``note`` only where the model cannot be fit (why).
    """
    from moflow.evaluate import run_fold, split_members
    from moflow.integrate.baselines import WITH_CLINICAL

    a, b = pair.split(PAIR_SEP)
    train_a, test_a = split_members(splits, a)
    _, test_b = split_members(splits, b)
    held = set(test_a) | set(test_b)
    train = [s for s in dict.fromkeys([*train_a, *test_a]) if s not in held]
    base = strategy.removesuffix(WITH_CLINICAL)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    try:
        pred = run_fold(
            raw,
            preprocessors,
            {base: strategies[base]},
            cohort.y,
            train,
            [*test_a, *test_b],
            qc=qc,
            split=pair,
            task=cohort.task,
            clinical=clinical if strategy.endswith(WITH_CLINICAL) else None,
        )
    except (InputError, ValueError) as exc:
        why = f"the model without {a} and {b} ({len(train)} training samples) cannot be fit: {exc}"
        log.warning("conformal check: %s", why)
        return pd.DataFrame([{"pair": pair, "note": why}])
    pred = pred[pred["strategy"] == strategy].assign(pair=pair)
    log.info("conformal check: the model without %s and %s fit on %d samples", a, b, len(train))
    return pred.reset_index(drop=True)


def conformal_check(
    pairs: pd.DataFrame,
    predictions: pd.DataFrame,
    splits: pd.DataFrame,
    cohort,
    strategy: str,
    *,
    coverage: float,
) -> pd.DataFrame:
    """The coverage of the conformal procedure inside each outer split of the first repeat.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Every :func:`pair_predictions` of the first repeat's pairs.
    predictions : pandas.DataFrame
        The evaluation's predictions (the outer split models' held-out rows are read from it).
    splits : pandas.DataFrame
        The outer splits.
    cohort : Cohort
        The cohort.
    strategy : str
        The bundle's strategy.
    coverage : float
        ``predictor: coverage``.

    Returns
    -------
    pandas.DataFrame
        One row per held-out sample: scope (``cv``), split, sample, y_true, the set (``prediction_set``,
        ``set_size``) or interval (``interval_lower``, ``interval_upper``), ``covered`` and ``note``; an outer
        split that could not be checked has one row with its ``note`` (why) and no sample rows.
    """
    from moflow.evaluate import split_members

    names = check_splits(splits)
    if len(names) < 3:
        why = f"the check needs 3 outer folds at least, this run has {len(names)} (evaluation: folds)"
        return pd.DataFrame([{"scope": "cv", "split": n, "note": why} for n in names])
    outer = predictions[predictions["strategy"] == strategy]
    failed = pairs[pairs["note"].notna()] if "note" in pairs.columns else pairs.iloc[:0]
    out = []
    for name in names:
        train, test = split_members(splits, name)
        mine = [p for p in fold_pairs(names) if name in p.split(PAIR_SEP)]
        broken = failed[failed["pair"].isin(mine)]
        if len(broken):
            out.append(pd.DataFrame([{"scope": "cv", "split": name, "note": str(broken["note"].iloc[0])}]))
            continue
        rows = pairs[pairs["pair"].isin(mine) & pairs["sample"].isin(set(train))]  # the other fold of each pair
        classes = sorted(cohort.y.loc[train].astype(str).unique()) if cohort.task == "classification" else None
        conf = fit_conformal(rows, cohort.task, coverage, classes=classes)
        held = outer[outer["split"] == name].set_index("sample").reindex(test).reset_index()
        held["split"] = name
        checked = _rows(conf, held, "cv")
        checked["note"] = conf.note
        out.append(checked)
        log.info("conformal check: split %s, coverage %.3f", name, checked["covered"].mean())
    return pd.concat(out, ignore_index=True)


def external_coverage(conf: Conformal, predictions: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """The bundle's sets or intervals for the external test samples (split ``final``), and whether each holds.

    Parameters
    ----------
    conf : Conformal
        The bundle's thresholds.
    predictions : pandas.DataFrame
        The evaluation's predictions.
    strategy : str
        The bundle's strategy.

    Returns
    -------
    pandas.DataFrame
        As :func:`conformal_check`, scope ``external test`` (empty without an external test set).
    """
    from moflow.evaluate import FINAL

    rows = predictions[(predictions["strategy"] == strategy) & (predictions["split"] == FINAL)]
    if rows.empty:
        return pd.DataFrame()
    out = _rows(conf, rows.reset_index(drop=True), "external test")
    out["note"] = conf.note
    return out


def _wilson(k: float, n: int) -> tuple[float, float]:
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return np.nan, np.nan
    lo, hi = proportion_confint(int(k), n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def coverage_summary(rows: pd.DataFrame, coverage: float, strategy: str) -> pd.DataFrame:
    """Coverage, its 95% (Wilson) interval and the size of the sets or width of the intervals, per scope.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`conformal_check` and :func:`external_coverage` rows.
    coverage : float
        The target.
    strategy : str
        The bundle's strategy (a column of the table).

    Returns
    -------
    pandas.DataFrame
        One row per scope (``cv``, ``external test``) and group (``all`` and, for classes, each class):
        strategy, scope, group, n, target, coverage, coverage_low, coverage_high, and mean_set_size,
        empty_sets, single_sets (classes) or mean_width, median_width (intervals).
    """
    out = []
    if rows.empty:
        return pd.DataFrame(columns=["strategy", "scope", "group", "n", "target", "coverage", "note"])
    if "covered" not in rows.columns:
        rows = rows.assign(covered=np.nan)
    scored = rows[rows["covered"].notna()]
    for scope, part in rows.groupby("scope", sort=False):  # nothing measured: say why
        if part["covered"].isna().all():
            notes = part["note"].dropna().astype(str) if "note" in part.columns else pd.Series(dtype=str)
            why = notes.iloc[0] if len(notes) else "no sample could be checked"
            out.append({"strategy": strategy, "scope": scope, "group": "all", "n": 0, "target": coverage, "note": why})
    for scope, part in scored.groupby("scope", sort=False):
        groups = [("all", part)]
        if "prediction_set" in part.columns:
            groups += [(str(c), g) for c, g in part.groupby(part["y_true"].astype(str), sort=True)]
        for group, g in groups:
            n, k = len(g), float(g["covered"].sum())
            lo, hi = _wilson(k, n)
            row = {
                "strategy": strategy,
                "scope": scope,
                "group": group,
                "n": n,
                "target": coverage,
                "coverage": k / n if n else np.nan,
                "coverage_low": lo,
                "coverage_high": hi,
            }
            notes = g["note"].dropna().astype(str) if "note" in g.columns else pd.Series(dtype=str)
            said = [next((x for x in notes if x), "")]
            if group == "all" and "note" in rows.columns:  # outer splits that could not be checked: which, why
                left = rows[(rows["scope"] == scope) & rows["covered"].isna() & rows["note"].notna()]
                if "sample" in left.columns:
                    left = left[left["sample"].isna()]
                said += [f"{r['split']} not checked: {r['note']}" for _, r in left.iterrows()]
            row["note"] = "; ".join(x for x in said if x)
            if "prediction_set" in g.columns:
                size = g["set_size"].astype(float)
                row |= {
                    "mean_set_size": float(size.mean()),
                    "empty_sets": float((size == 0).mean()),
                    "single_sets": float((size == 1).mean()),
                }
            else:
                width = (g["interval_upper"] - g["interval_lower"]).astype(float)
                row |= {"mean_width": float(width.mean()), "median_width": float(width.median())}
            out.append(row)
    table = pd.DataFrame(out)
    order = [c for c in table.columns if c != "note"] + ["note"]
    return table[order]
