"""Honest evaluation: repeated, stratified, nested cross-validation on identical splits for every
strategy and single-layer baseline, plus an optional external test set.

Inside each outer split the whole per-layer preprocessing chain is fit on the training samples only
(with the training outcome protected in batch correction) and applied unchanged to the held-out
samples; every model tunes its hyperparameters by inner CV on the training samples only (nested).
Samples marked as external test are never in any training or tuning set: the ``final`` split trains
on every training sample and predicts them once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

if TYPE_CHECKING:
    from moflow.preprocess import LayerPreprocessor

log = logging.getLogger("moflow")
FINAL = "final"
CLASS_METRICS = ("balanced_accuracy", "roc_auc", "balanced_error_rate")
REG_METRICS = ("r2", "pearson_r", "rmse")
# survival: Harrell's and Uno's C, the time-dependent AUC (mean over the AUC times; also per time, as
# auc_<time> columns) and the integrated Brier score (lower is better)
SURV_METRICS = ("harrell_c", "uno_c", "td_auc", "integrated_brier")
# the range a metric can take: its interval is clipped to it (R2 cannot exceed 1, however wide)
METRIC_BOUNDS = {**{m: (0.0, 1.0) for m in CLASS_METRICS + SURV_METRICS}, "r2": (-np.inf, 1.0),
                 "pearson_r": (-1.0, 1.0), "rmse": (0.0, np.inf)}
COMPARISON_COLUMNS = ["metric", "best_integration", "best_single_layer", "difference", "t", "p", "n_splits"]
SURV_PREFIX = "S@"  # prediction columns of the survival probability at a grid time: S@<time>


def primary_metric(task: str) -> str:
    return {"classification": "balanced_accuracy", "survival": "harrell_c"}.get(task, "r2")


def auc_column(t: float) -> str:
    return f"auc_{t:g}"


def evaluation_times(y_train: pd.DataFrame, configured=()) -> tuple[np.ndarray, np.ndarray]:
    """The times a survival outcome is scored at: (AUC times, integrated Brier grid). AUC times are
    config ``evaluation: survival_times``, else the quartiles of the training samples' event times;
    the grid spans the 10th to 90th percentile of their follow-up times (15 points)."""
    from moflow.evaluate.survival_scores import default_times, time_grid

    time, event = y_train["time"].to_numpy(float), y_train["event"].to_numpy(float) > 0
    times = np.asarray(sorted(map(float, configured)), float) if len(configured) else default_times(time, event)
    return times, time_grid(time)


def grid_of(pred: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The survival-probability columns of a prediction table and their times."""
    cols = [c for c in pred.columns if c.startswith(SURV_PREFIX)]
    return cols, np.array([float(c[len(SURV_PREFIX):]) for c in cols])


def make_splits(y: pd.Series, *, folds: int = 5, repeats: int = 1, seed: int = 0, task: str = "classification",
                test: list[str] | None = None, groups: pd.Series | None = None) -> pd.DataFrame:
    """Outer splits: one row per (split, sample) with role train / test. CV splits are named r{R}f{F}
    and use only the training samples; a continuous outcome is stratified by quantile bins. With
    external ``test`` samples, a split ``final`` trains on every training sample and tests on them.
    ``groups`` (the subject of each sample, :func:`moflow.cohort.split_groups`): every subject's samples
    on one side of every split (scikit-learn's StratifiedGroupKFold, reshuffled for every repeat)."""
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
        parts = (part for _ in range(repeats) for part in StratifiedGroupKFold(
            n_splits=folds, shuffle=True, random_state=rng).split(np.zeros(len(ytr)), strata, g))
    rows = []
    for i, (tr, te) in enumerate(parts):
        name = f"r{i // folds + 1}f{i % folds + 1}"
        rows += [{"split": name, "sample": ytr.index[j], "role": "train"} for j in tr]
        rows += [{"split": name, "sample": ytr.index[j], "role": "test"} for j in te]
    if test:
        rows += [{"split": FINAL, "sample": s, "role": "train"} for s in ytr.index]
        rows += [{"split": FINAL, "sample": s, "role": "test"} for s in test]
    return pd.DataFrame(rows)


def split_names(splits: pd.DataFrame, *, include_final: bool = False) -> list[str]:
    names = list(dict.fromkeys(splits["split"]))
    return names if include_final else [n for n in names if n != FINAL]


def split_members(splits: pd.DataFrame, split: str) -> tuple[list[str], list[str]]:
    s = splits[splits["split"] == split]
    return (list(s.loc[s["role"] == "train", "sample"].astype(str)),
            list(s.loc[s["role"] == "test", "sample"].astype(str)))


def fit_apply(pp, X: pd.DataFrame, y: pd.Series, fit_rows: list[str], apply_rows: list[str]
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit a layer's chain on ``fit_rows`` of X (their outcome only; QC injections, which have none,
    may be among them) and apply it, unchanged, to ``apply_rows``. The one place where "fit on these
    rows, apply to those" happens, for the full cohort and every split alike.

    Returns (processed fit rows, processed apply rows); QC injections are dropped by the chain."""
    yp = preprocessing_outcome(y)
    fitted = pp.fit_transform(X.loc[fit_rows], None if yp is None else yp.reindex(fit_rows).dropna())
    applied = pp.transform(X.loc[apply_rows]) if apply_rows else fitted.iloc[:0]
    return fitted, applied


def preprocessing_outcome(y) -> pd.Series | None:
    """The outcome as the preprocessing chain sees it (batch correction protects it and checks batches
    against it): itself; none for a survival outcome (event status is no group to preserve: in a small
    training fold a batch often holds only events, and protecting it would keep batch effects)."""
    return None if isinstance(y, pd.DataFrame) else y


def outcome_labels(y) -> pd.Series:
    """The outcome as figures colour samples: itself, or a survival outcome's event status."""
    if isinstance(y, pd.DataFrame):
        return pd.Series(np.where(y["event"].to_numpy(float) > 0, "event", "censored"), index=y.index, name="event")
    return y


def preprocess_fold(
    raw: dict[str, pd.DataFrame],
    preprocessors: dict[str, LayerPreprocessor],
    y: pd.Series,
    train: list[str],
    test: list[str],
    qc: dict[str, list[str]] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Fit each layer's chain on the training samples that have the layer (plus that layer's QC
    injections) and transform both sides. Returns (train layers, test layers), each reindexed to the
    given sample lists (a sample lacking a layer gets a row of missing values)."""
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
    """A survival strategy's held-out risks ``T`` with what is derived from its training side only:
    ``risk_group`` (high above the median training risk, else low) and the survival probability at
    each ``grid`` time (``S@<time>``: Breslow baseline hazard of the training risks)."""
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


def predict_split(model, train_layers: dict[str, pd.DataFrame], test_layers: dict[str, pd.DataFrame],
                  y: pd.Series, train: list[str], test: list[str], *, strategy: str, split: str,
                  classes: list[str] | None = None, grid=None) -> pd.DataFrame:
    """Fit one strategy on the training side and predict the test side: one row per test sample. A
    survival outcome's rows also get the columns of :func:`survival_columns` (``grid``: the times)."""
    model = model.fit(train_layers, y.loc[train])
    T = model.predict_table(test_layers).reindex(test)
    if classes is not None:  # a class absent from this training side gets probability 0
        predicted = T.notna().any(axis=1)
        T = T.reindex(columns=[f"p_{c}" for c in classes])
        T.loc[predicted] = T.loc[predicted].fillna(0.0)
    if isinstance(y, pd.DataFrame):  # survival
        train_risk = model.predict_table({n: X.reindex(train) for n, X in train_layers.items()})["risk"]
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
) -> pd.DataFrame:
    """Preprocess inside the split, fit every strategy on the training side, predict the test side.

    ``strategies`` maps a name to a factory returning an unfitted estimator; ``grid``: the times at
    which a survival outcome's survival probabilities are predicted; ``log`` (a logger) gets each
    layer's feature count and each strategy's time."""
    import time

    from moflow.integrate import shared_fits

    t = time.perf_counter()
    tr, te = preprocess_fold(raw, preprocessors, y, train, test, qc)
    if log is not None:
        log.info("split %s: preprocessing %.1f s (%s)", split, time.perf_counter() - t,
                 ", ".join(f"{n} {X.shape[1]} features" for n, X in tr.items()))
    classes = sorted(y.loc[train].astype(str).unique()) if task == "classification" else None
    out = []
    with shared_fits():  # single_<layer> and late's base models: one fit each
        for name, factory in strategies.items():
            t = time.perf_counter()
            out.append(predict_split(factory(), tr, te, y, train, test, strategy=name, split=split,
                                     classes=classes, grid=grid))
            if log is not None:
                log.info("split %s: %s %.1f s", split, name, time.perf_counter() - t)
    return pd.concat(out, ignore_index=True)


def _class_columns(pred: pd.DataFrame) -> list[str]:
    return [c for c in pred.columns if c.startswith("p_")]


def survival_scores(d: pd.DataFrame, y_train: pd.DataFrame, times) -> dict:
    """Scores of one set of survival predictions (columns time, event, risk and ``S@<time>``): Harrell's
    C, Uno's C and the time-dependent AUC (censoring distribution of the training samples ``y_train``;
    ``auc_<time>`` per AUC time and ``td_auc``, their mean), the integrated Brier score over the grid
    of ``S@`` columns; ``n_test`` and ``n_events``, the effective sample size. NaN where a score
    cannot be computed (no event among the held-out samples, a time beyond their follow-up)."""
    from moflow.evaluate.survival_scores import harrell_c, integrated_brier, time_auc, uno_c

    d = d.dropna(subset=["risk"])
    time, event, risk = d["time"].to_numpy(float), d["event"].to_numpy(float) > 0, d["risk"].to_numpy(float)
    tt, te = y_train["time"].to_numpy(float), y_train["event"].to_numpy(float) > 0
    times = np.asarray(times, float)
    out = {"harrell_c": np.nan, "uno_c": np.nan, "td_auc": np.nan, "integrated_brier": np.nan,
           **{auc_column(t): np.nan for t in times}, "n_test": len(d), "n_events": int(event.sum())}
    if len(d) < 2 or not event.any():
        return out
    out["harrell_c"] = harrell_c(time, event, risk)
    out["uno_c"] = uno_c(tt, te, time, event, risk)
    if len(times):
        per, mean = time_auc(tt, te, time, event, risk, times)
        out.update({auc_column(t): float(a) for t, a in zip(times, per)}, td_auc=float(mean))
    cols, grid = grid_of(d)
    if len(cols):
        out["integrated_brier"] = integrated_brier(tt, te, time, event, d[cols].to_numpy(float), grid)
    return out


def score_predictions(d: pd.DataFrame, task: str, *, y_train: pd.DataFrame | None = None, times=()) -> dict:
    """Scores of one set of predictions (rows the strategy could not predict are left out); a survival
    outcome's need the training samples' outcome ``y_train`` and the AUC ``times``."""
    if task == "survival":
        return survival_scores(d, y_train, times)
    if task == "classification":
        pcols = _class_columns(d)
        d = d.dropna(subset=pcols)
        classes = [c[2:] for c in pcols]
        yt = d["y_true"].astype(str).to_numpy()
        if len(d) == 0:
            return {"balanced_accuracy": np.nan, "roc_auc": np.nan, "balanced_error_rate": np.nan, "n_test": 0}
        P = d[pcols].to_numpy()
        yhat = np.array(classes)[np.argmax(P, axis=1)]
        bacc = balanced_accuracy_score(yt, yhat)
        present = sorted(set(yt))
        if len(present) < 2:
            auc = np.nan
        elif len(classes) == 2:
            auc = roc_auc_score(yt == classes[1], P[:, 1])
        elif len(present) == len(classes):
            auc = roc_auc_score(yt, P / P.sum(1, keepdims=True), multi_class="ovr", average="macro", labels=classes)
        else:
            auc = np.nan
        return {"balanced_accuracy": bacc, "roc_auc": auc, "balanced_error_rate": 1 - bacc, "n_test": len(d)}
    d = d.dropna(subset=["prediction"])
    yt = d["y_true"].astype(float).to_numpy()
    yp = d["prediction"].to_numpy(float)
    if len(d) < 3:
        return {"r2": np.nan, "pearson_r": np.nan, "rmse": np.nan, "n_test": len(d)}
    return {"r2": r2_score(yt, yp), "pearson_r": float(np.corrcoef(yt, yp)[0, 1]),
            "rmse": float(np.sqrt(mean_squared_error(yt, yp))), "n_test": len(d)}


EXTERNAL_CLASS_METRICS = ("accuracy", "balanced_accuracy", "balanced_error_rate", "f1", "sensitivity", "specificity", "roc_auc")
EXTERNAL_REG_METRICS = ("r2", "rmse", "pearson_r")


def clinical_scores(y_true: np.ndarray, P: np.ndarray, classes: list[str], positive: str | None) -> dict:
    """What a clinician reads off a test set. Binary: sensitivity and specificity of the ``positive``
    class, its F1 and ROC AUC; multiclass: one-vs-rest sensitivity, specificity and F1 averaged over
    classes (macro), macro one-vs-rest ROC AUC."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    yhat = np.asarray(classes)[np.argmax(P, axis=1)]
    out = {"accuracy": accuracy_score(y_true, yhat), "balanced_accuracy": balanced_accuracy_score(y_true, yhat)}
    out["balanced_error_rate"] = 1.0 - out["balanced_accuracy"]
    present = set(y_true)
    if len(classes) == 2:
        pos = positive if positive in classes else classes[1]
        neg = classes[0] if pos == classes[1] else classes[1]
        out["f1"] = f1_score(y_true, yhat, pos_label=pos, labels=classes, zero_division=0.0)
        out["sensitivity"] = recall_score(y_true, yhat, pos_label=pos, labels=classes, zero_division=np.nan)
        out["specificity"] = recall_score(y_true, yhat, pos_label=neg, labels=classes, zero_division=np.nan)
        out["roc_auc"] = roc_auc_score(y_true == pos, P[:, classes.index(pos)]) if len(present) == 2 else np.nan
        return out
    sens, spec = [], []
    for c in classes:
        t, p = y_true == c, yhat == c
        sens.append(np.sum(t & p) / t.sum() if t.sum() else np.nan)
        spec.append(np.sum(~t & ~p) / (~t).sum() if (~t).sum() else np.nan)
    out["f1"] = f1_score(y_true, yhat, labels=classes, average="macro", zero_division=0.0)
    out["sensitivity"], out["specificity"] = float(np.nanmean(sens)), float(np.nanmean(spec))
    out["roc_auc"] = (roc_auc_score(y_true, P / P.sum(1, keepdims=True), multi_class="ovr", average="macro",
                                    labels=classes) if present == set(classes) else np.nan)
    return out


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties averaged; NaN without both classes."""
    from scipy.stats import rankdata

    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if n1 == 0 or n0 == 0:
        return np.nan
    r = rankdata(scores)
    return float((r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _coded_scores(t: np.ndarray, h: np.ndarray, P: np.ndarray, k: int, pos: int) -> dict:
    """:func:`clinical_scores` from integer class codes (true ``t``, called ``h``), numpy only (the
    bootstrap calls it a thousand times per strategy): the same definitions, class recalls from a
    confusion matrix, ROC AUC by ranks."""
    C = np.bincount(t * k + h, minlength=k * k).reshape(k, k)  # rows: true, columns: called
    n_true, n_called, tp = C.sum(1), C.sum(0), np.diag(C).astype(float)
    present = n_true > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, tp / n_true, np.nan)
        spec = np.where(len(t) - n_true > 0, (len(t) - n_true - n_called + tp) / (len(t) - n_true), np.nan)
        f1 = np.where(2 * tp + (n_called - tp) + (n_true - tp) > 0,
                      2 * tp / (2 * tp + (n_called - tp) + (n_true - tp)), 0.0)
    out = {"accuracy": float(tp.sum() / len(t)), "balanced_accuracy": float(np.nanmean(recall[present]))}
    out["balanced_error_rate"] = 1.0 - out["balanced_accuracy"]
    if k == 2:
        neg = 1 - pos
        out.update(f1=float(f1[pos]), sensitivity=float(recall[pos]), specificity=float(recall[neg]),
                   roc_auc=_auc(P[:, pos], t == pos))
        return out
    out.update(f1=float(np.mean(f1)), sensitivity=float(np.nanmean(recall)), specificity=float(np.nanmean(spec)),
               roc_auc=(float(np.mean([_auc(P[:, c] / P.sum(1), t == c) for c in range(k)])) if present.all()
                        else np.nan))
    return out


def _regression_scores(yt: np.ndarray, yp: np.ndarray) -> dict:
    return {"r2": r2_score(yt, yp), "rmse": float(np.sqrt(mean_squared_error(yt, yp))),
            "pearson_r": float(np.corrcoef(yt, yp)[0, 1])}


def external_scores(pred: pd.DataFrame, *, task: str, positive: str | None = None, n_boot: int = 1000,
                    seed: int = 0, level: float = 0.95, y_train: pd.DataFrame | None = None,
                    times=()) -> pd.DataFrame:
    """Scores of every strategy on the external test samples (one prediction each, by models trained
    on all training samples), with percentile bootstrap intervals over the test samples (resampled
    within each class for a class outcome, within event status for survival: its scores need the
    training samples' outcome ``y_train`` and the AUC ``times``). Columns ``test_<metric>``,
    ``test_<metric>_lo`` / ``_hi`` and ``test_n_test``; one row per strategy."""
    import zlib

    metrics = {"classification": EXTERNAL_CLASS_METRICS, "survival": SURV_METRICS}.get(task, EXTERNAL_REG_METRICS)
    rows = []
    for strat, d in pred.groupby("strategy", sort=True):
        # a generator per strategy: its interval does not depend on which other strategies are scored
        rng = np.random.default_rng([seed, zlib.crc32(str(strat).encode())])
        if task == "survival":
            d = d.dropna(subset=["risk"]).reset_index(drop=True)
            score = lambda idx: survival_scores(d.iloc[idx], y_train, times)  # noqa: E731
            ev = d["event"].to_numpy(float) > 0
            groups = [np.flatnonzero(ev), np.flatnonzero(~ev)]
            groups = [g for g in groups if len(g)]
            yt = ev
        elif task == "classification":
            pcols = _class_columns(d)
            d = d.dropna(subset=pcols)
            classes = [c[2:] for c in pcols]
            yt, P = d["y_true"].astype(str).to_numpy(), d[pcols].to_numpy(float)
            codes = pd.Categorical(yt, categories=classes).codes
            known = codes >= 0  # a test class the training samples never had cannot be called: scored wrong
            t = np.where(known, codes, 0)
            h = np.argmax(P, axis=1)
            h = np.where(known, h, (t + 1) % len(classes))  # never equal to a placeholder code
            pos = classes.index(positive) if positive in classes else len(classes) - 1
            score = lambda idx: _coded_scores(t[idx], h[idx], P[idx], len(classes), pos)  # noqa: E731
            groups = [np.flatnonzero(yt == c) for c in sorted(set(yt))]
        else:
            d = d.dropna(subset=["prediction"])
            yt, yp = d["y_true"].astype(float).to_numpy(), d["prediction"].to_numpy(float)
            score = lambda idx: _regression_scores(yt[idx], yp[idx])  # noqa: E731
            groups = [np.arange(len(yt))]
        row = {"strategy": strat, "test_n_test": len(d)}
        if task == "survival":
            row["test_n_events"] = int(yt.sum())
        if len(d) < 3:
            row.update({f"test_{m}{s}": np.nan for m in metrics for s in ("", "_lo", "_hi")})
            rows.append(row)
            continue
        point = score(np.arange(len(yt)))
        boot = []
        with np.errstate(all="ignore"):
            for _ in range(n_boot):
                idx = np.concatenate([rng.choice(g, len(g), replace=True) for g in groups])
                try:
                    boot.append(score(idx))
                except ValueError:  # a resample a metric cannot score (e.g. one class for ROC AUC)
                    continue
        B = pd.DataFrame(boot)
        for m in metrics:
            vals = B[m].dropna().to_numpy() if m in B else np.array([])
            lo, hi = (np.quantile(vals, [(1 - level) / 2, (1 + level) / 2]) if len(vals) else (np.nan, np.nan))
            row[f"test_{m}"], row[f"test_{m}_lo"], row[f"test_{m}_hi"] = point[m], float(lo), float(hi)
        rows.append(row)
    return pd.DataFrame(rows)


def fold_scores(pred: pd.DataFrame, task: str = "classification", *, y: pd.DataFrame | None = None,
                times=()) -> pd.DataFrame:
    """Scores of every split x strategy. A survival outcome's need the outcome ``y`` of the samples: a
    CV split's training samples are the CV samples it does not hold out (the splits partition them)."""
    rows = []
    samples = pd.Index(pred["sample"].astype(str).unique())
    for (split, strat), d in pred.groupby(["split", "strategy"], sort=True):
        y_train = None
        if task == "survival":
            y_train = y.loc[samples.difference(d["sample"].astype(str), sort=False)]
        rows.append({"split": split, "strategy": strat, **score_predictions(d, task, y_train=y_train, times=times)})
    return pd.DataFrame(rows)


def corrected_interval(values: np.ndarray, n_train: float, n_test: float, level: float = 0.95,
                       bounds: tuple[float, float] | None = (0.0, 1.0)):
    """Mean and interval of CV split scores with the Nadeau-Bengio corrected variance
    (splits share training samples, so the naive interval is too narrow)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    J = len(v)
    if J < 2:
        return (float(np.mean(v)) if J else np.nan), np.nan, np.nan
    m = v.mean()
    var = v.var(ddof=1) * (1 / J + n_test / n_train)
    half = stats.t.ppf(0.5 + level / 2, J - 1) * np.sqrt(var)
    lo, hi = m - half, m + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return float(m), float(lo), float(hi)


def corrected_ttest(a: np.ndarray, b: np.ndarray, n_train: float, n_test: float) -> dict:
    """Corrected resampled t-test (Nadeau & Bengio 2003) of paired split scores a - b."""
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    J = len(d)
    if J < 2 or d.var(ddof=1) == 0:
        return {"difference": float(d.mean()) if J else np.nan, "t": np.nan, "p": np.nan, "n_splits": J}
    t = d.mean() / np.sqrt(d.var(ddof=1) * (1 / J + n_test / n_train))
    return {"difference": float(d.mean()), "t": float(t), "p": float(2 * stats.t.sf(abs(t), J - 1)), "n_splits": J}


def permutation_pvalue(pred: pd.DataFrame, *, task: str, n_permutations: int = 1000, seed: int = 0,
                       subjects: pd.Series | None = None) -> dict:
    """Label-permutation test of held-out predictions of one strategy.

    Within each split the true labels are permuted against the fixed out-of-fold predictions, and the
    mean split score is recomputed. The predictions never saw their own labels, so under the null of
    no association between features and outcome the observed score is exchangeable with the permuted
    ones. p = (1 + #{permuted >= observed}) / (1 + n).

    ``subjects`` (sample -> subject, config ``evaluation: group_column``): samples of one subject are not
    exchangeable with each other's labels, so the subjects' labels are permuted among the subjects and
    every sample takes its subject's (``unit`` subject). Where a subject's samples carry different
    outcomes (or for a survival outcome) that cannot be done: samples are permuted (``unit`` sample)
    and a warning says the p-value may be too small."""
    metric = primary_metric(task)
    rng = np.random.default_rng(seed)
    groups = [d.reset_index(drop=True) for _, d in pred.groupby("split", sort=True)]
    blocks = _subject_blocks(groups, subjects, task)
    if task == "survival":
        return {**_survival_permutation(groups, rng, n_permutations), "unit": "sample"}
    observed = float(np.nanmean([score_predictions(d, task)[metric] for d in groups]))
    coded = [_permutation_codes(d, task) for d in groups]
    null = np.empty(n_permutations)
    with np.errstate(all="ignore"):
        if blocks is None:
            for b in range(n_permutations):
                # the same draws as permuting each split's y_true column (numpy shuffles any dtype alike)
                null[b] = np.nanmean([_permuted_score(rng.permutation(t), h, valid, task) for t, h, valid in coded])
        else:
            for b in range(n_permutations):
                null[b] = np.nanmean([_permuted_score(first[rng.permutation(len(first))][inverse], h, valid, task)
                                      for (t, h, valid), (first, inverse) in zip(coded, blocks)])
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (1 + n_permutations)
    return {"metric": metric, "observed": observed, "null_mean": float(null.mean()), "p": p,
            "n_permutations": n_permutations, "unit": "sample" if blocks is None else "subject"}


def _subject_blocks(groups: list[pd.DataFrame], subjects: pd.Series | None, task: str):
    """Per split: (the label of each subject, each row's subject index) for permuting subjects' labels,
    or None (no subjects, a survival outcome, or a subject whose samples carry different labels)."""
    if subjects is None:
        return None
    out = []
    for d in groups:
        subj = subjects.reindex(d["sample"].astype(str)).to_numpy()
        t = _permutation_codes(d, task)[0]
        codes, first_row, inverse = np.unique(subj.astype(str), return_index=True, return_inverse=True)
        if task == "survival" or not np.array_equal(t, t[first_row][inverse]):
            log.warning("permutation test: samples are permuted one by one, not by subject (%s); with several "
                        "samples per subject the p-value may be too small",
                        "survival outcome" if task == "survival" else "a subject's samples carry different outcomes")
            return None
        out.append((t[first_row], inverse))
    return out


def _survival_permutation(groups: list[pd.DataFrame], rng, n_permutations: int) -> dict:
    """:func:`permutation_pvalue` of Harrell's C: within each split the held-out risks are permuted
    against the fixed (time, event) pairs, the same null as permuting the outcomes against the risks
    (the comparable pairs are computed once per split)."""
    from moflow.evaluate.survival_scores import c_from_pairs, comparable_pairs

    coded = []
    for d in groups:
        d = d.dropna(subset=["risk"])
        i, j = comparable_pairs(d["time"].to_numpy(float), d["event"].to_numpy(float) > 0)
        coded.append((i, j, d["risk"].to_numpy(float)))
    with np.errstate(all="ignore"):
        observed = float(np.nanmean([c_from_pairs(i, j, r) for i, j, r in coded]))
        null = np.array([np.nanmean([c_from_pairs(i, j, rng.permutation(r)) for i, j, r in coded])
                         for _ in range(n_permutations)])
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (1 + n_permutations)
    return {"metric": "harrell_c", "observed": observed, "null_mean": float(np.nanmean(null)), "p": p,
            "n_permutations": n_permutations}


def _permutation_codes(d: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One split's held-out rows as numbers for :func:`_permuted_score`: true labels (class codes, or
    values), calls (codes of the predicted class, or predictions) and the rows the strategy scored."""
    if task == "classification":
        pcols = _class_columns(d)
        classes = [c[2:] for c in pcols]
        yt = d["y_true"].astype(str).to_numpy()
        labels = sorted(set(yt) | set(classes))
        P = d[pcols].to_numpy(float)
        valid = ~np.isnan(P).any(axis=1)
        calls = np.searchsorted(labels, np.asarray(classes)[np.argmax(np.where(np.isnan(P), -np.inf, P), axis=1)])
        return np.searchsorted(labels, yt), calls, valid
    yp = d["prediction"].to_numpy(float)
    return d["y_true"].to_numpy(float), yp, ~np.isnan(yp)


def _permuted_score(t: np.ndarray, h: np.ndarray, valid: np.ndarray, task: str) -> float:
    """The primary metric of permuted labels ``t`` against fixed calls ``h``: balanced accuracy (mean
    recall over the classes present, as scikit-learn's) or R^2; what :func:`score_predictions` gives,
    without scikit-learn's input checks (25,000 calls for 1,000 permutations of 25 splits: 11 minutes
    of checks on a 250-sample cohort)."""
    t, h = t[valid], h[valid]
    if task == "classification":
        if not len(t):
            return np.nan
        k = int(max(t.max(), h.max())) + 1
        n_true = np.bincount(t, minlength=k)
        hit = np.bincount(t[t == h], minlength=k)
        present = n_true > 0
        return float(np.mean(hit[present] / n_true[present]))
    if len(t) < 3:
        return np.nan
    ss_tot = float(((t - t.mean()) ** 2).sum())
    ss_res = float(((t - h) ** 2).sum())
    return (1.0 - ss_res / ss_tot) if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)


def score_metrics(scores: pd.DataFrame, task: str) -> list[str]:
    """The metrics a scores table holds for a task, in display order."""
    if task == "classification":
        return list(CLASS_METRICS)
    if task == "survival":
        return list(SURV_METRICS) + [c for c in scores.columns if c.startswith("auc_")]
    return list(REG_METRICS)


def scoreboard(scores: pd.DataFrame, *, n_samples: int, min_class: int | None, task: str = "classification",
               external: pd.DataFrame | None = None, n_events: int | None = None) -> pd.DataFrame:
    """One row per strategy: mean and corrected 95% interval of each metric over the CV splits, ranked
    by the primary metric; external-test scores beside them where there is an external test set. The
    effective sample size beside the scores: the smallest class, or the number of events (survival)."""
    metrics = score_metrics(scores, task)
    rows = []
    for strat, d in scores.groupby("strategy", sort=True):
        n_test = d["n_test"].mean()
        row = {"strategy": strat, "n_splits": len(d)}
        for metric in metrics:
            bounds = METRIC_BOUNDS.get(metric, (0.0, 1.0) if metric.startswith("auc_") else None)
            m, lo, hi = corrected_interval(d[metric].to_numpy(), max(n_samples - n_test, 1), n_test, bounds=bounds)
            row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = m, lo, hi
        row["n_samples"] = n_samples
        if min_class is not None:
            row["smallest_class"] = min_class
        if n_events is not None:
            row["n_events"] = n_events
        rows.append(row)
    board = pd.DataFrame(rows)
    board["kind"] = np.where(board["strategy"].str.startswith("single_"), "single layer", "integration")
    if external is not None and len(external):
        ext = external.set_index("strategy")
        for col in ext.columns:
            board[col] = board["strategy"].map(ext[col])
    key = primary_metric(task)
    return board.sort_values([key, "strategy"], ascending=[False, True]).reset_index(drop=True)


def compare_best(scores: pd.DataFrame, board: pd.DataFrame, *, n_samples: int, task: str) -> pd.DataFrame:
    """Corrected resampled t-test: best integration strategy vs best single layer, on paired splits."""
    metric = primary_metric(task)
    integ = board[board["kind"] == "integration"]
    single = board[board["kind"] == "single layer"]
    if integ.empty or single.empty:  # nothing to compare: the columns, no row
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    a_name, b_name = integ.iloc[0]["strategy"], single.iloc[0]["strategy"]
    wide = scores.pivot(index="split", columns="strategy", values=metric)
    n_test = scores["n_test"].mean()
    res = corrected_ttest(wide[a_name].to_numpy(), wide[b_name].to_numpy(), max(n_samples - n_test, 1), n_test)
    return pd.DataFrame([{"metric": metric, "best_integration": a_name, "best_single_layer": b_name, **res}])
