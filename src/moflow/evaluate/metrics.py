"""Scores of held-out predictions: per set of predictions, per CV split, on the external test set.

The metrics of each task (:func:`primary_metric`, the one strategies are ranked by), one set of
predictions (:func:`score_predictions`), every CV split x strategy (:func:`fold_scores`), the
external test set with bootstrap intervals (:func:`external_scores`, :func:`clinical_scores`), and a
survival outcome's scores and the times they are taken at (:func:`survival_prediction_scores`,
:func:`evaluation_times`; the estimators themselves are in :mod:`moflow.evaluate.survival_scores`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, mean_squared_error, r2_score, roc_auc_score

from moflow.evaluate.folds import class_columns, grid_of
from moflow.evaluate.metric_names import CLASS_METRICS, METRIC_BOUNDS, REG_METRICS, SURV_METRICS  # noqa: F401


def primary_metric(task: str) -> str:
    """The metric strategies are ranked and compared by: balanced accuracy, Harrell's C or R^2."""
    return {"classification": "balanced_accuracy", "survival": "harrell_c"}.get(task, "r2")


def auc_column(t: float) -> str:
    """The scores-table column of the time-dependent AUC at time ``t``: ``auc_<t>``."""
    return f"auc_{t:g}"


def evaluation_times(y_train: pd.DataFrame, configured=()) -> tuple[np.ndarray, np.ndarray]:
    """The times a survival outcome is scored at: (AUC times, integrated Brier grid).

    AUC times are config ``evaluation: survival_times``, else the quartiles of the training samples'
    event times; the grid spans the 10th to 90th percentile of their follow-up times (15 points).

    Parameters
    ----------
    y_train : pandas.DataFrame
        The training samples' outcome (columns ``time``, ``event``).
    configured : sequence of float
        The configured AUC times (sorted here); empty: the default ones.

    Returns
    -------
    tuple of numpy.ndarray
        (AUC times, integrated Brier grid).
    """
    from moflow.evaluate.survival_scores import default_times, time_grid

    time, event = y_train["time"].to_numpy(float), y_train["event"].to_numpy(float) > 0
    times = np.asarray(sorted(map(float, configured)), float) if len(configured) else default_times(time, event)
    return times, time_grid(time)


def score_metrics(scores: pd.DataFrame, task: str) -> list[str]:
    """The metrics a scores table holds for a task, in display order."""
    if task == "classification":
        return list(CLASS_METRICS)
    if task == "survival":
        return list(SURV_METRICS) + [c for c in scores.columns if c.startswith("auc_")]
    return list(REG_METRICS)


def survival_prediction_scores(d: pd.DataFrame, y_train: pd.DataFrame, times) -> dict:
    """Scores of one set of survival predictions (columns time, event, risk and ``S@<time>``).

    Harrell's C, Uno's C and the time-dependent AUC (censoring distribution of the training samples
    ``y_train``; ``auc_<time>`` per AUC time and ``td_auc``, their mean), the integrated Brier score
    over the grid of ``S@`` columns; ``n_test`` and ``n_events``, the effective sample size. NaN where
    a score cannot be computed (no event among the held-out samples, a time beyond their follow-up).

    Parameters
    ----------
    d : pandas.DataFrame
        The predictions; rows without a risk are left out.
    y_train : pandas.DataFrame
        The training samples' outcome (columns ``time``, ``event``).
    times : array-like of float
        The AUC times.

    Returns
    -------
    dict
        Metric name -> score, with ``n_test`` and ``n_events``.
    """
    from moflow.evaluate.survival_scores import TrainingCensoring

    return _survival_scores(
        d, TrainingCensoring(y_train["time"].to_numpy(float), y_train["event"].to_numpy(float) > 0), times
    )


def _survival_scores(d: pd.DataFrame, cens, times) -> dict:
    """Scores of :func:`survival_prediction_scores`, the censoring distribution ``cens`` already fitted.

    A bootstrap scores many resamples against one training set.
    """
    from moflow.evaluate.survival_scores import harrell_c

    d = d.dropna(subset=["risk"])
    time, event, risk = d["time"].to_numpy(float), d["event"].to_numpy(float) > 0, d["risk"].to_numpy(float)
    times = np.asarray(times, float)
    out = {
        "harrell_c": np.nan,
        "uno_c": np.nan,
        "td_auc": np.nan,
        "integrated_brier": np.nan,
        **{auc_column(t): np.nan for t in times},
        "n_test": len(d),
        "n_events": int(event.sum()),
    }
    if len(d) < 2 or not event.any():
        return out
    out["harrell_c"] = harrell_c(time, event, risk)
    out["uno_c"] = cens.uno_c(time, event, risk)
    if len(times):
        per, mean = cens.time_auc(time, event, risk, times)
        out.update({auc_column(t): float(a) for t, a in zip(times, per)}, td_auc=float(mean))
    cols, grid = grid_of(d)
    if len(cols):
        out["integrated_brier"] = cens.integrated_brier(time, event, d[cols].to_numpy(float), grid)
    return out


def score_predictions(d: pd.DataFrame, task: str, *, y_train: pd.DataFrame | None = None, times=()) -> dict:
    """Scores of one set of predictions (rows the strategy could not predict are left out).

    A survival outcome's need the training samples' outcome ``y_train`` and the AUC ``times``.

    Parameters
    ----------
    d : pandas.DataFrame
        A prediction table (:func:`moflow.evaluate.folds.predict_split`) of one split and strategy.
    task : str
        classification, regression or survival.
    y_train : pandas.DataFrame, optional
        The training samples' outcome (survival only).
    times : array-like of float
        The AUC times (survival only).

    Returns
    -------
    dict
        Metric name -> score (:data:`CLASS_METRICS`, :data:`REG_METRICS` or
        :func:`survival_prediction_scores`), with ``n_test``; NaN scores where too few rows are left.
    """
    if task == "survival":
        return survival_prediction_scores(d, y_train, times)
    if task == "classification":
        pcols = class_columns(d)
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
    return {
        "r2": r2_score(yt, yp),
        "pearson_r": _pearson(yt, yp),
        "rmse": float(np.sqrt(mean_squared_error(yt, yp))),
        "n_test": len(d),
    }


EXTERNAL_CLASS_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "balanced_error_rate",
    "f1",
    "sensitivity",
    "specificity",
    "roc_auc",
)
EXTERNAL_REG_METRICS = ("r2", "rmse", "pearson_r")


def clinical_scores(y_true: np.ndarray, P: np.ndarray, classes: list[str], positive: str | None) -> dict:
    """What a clinician reads off a test set.

    Binary: sensitivity and specificity of the ``positive`` class, its F1 and ROC AUC; multiclass:
    one-vs-rest sensitivity, specificity and F1 averaged over classes (macro), macro one-vs-rest ROC
    AUC.

    Parameters
    ----------
    y_true : numpy.ndarray
        The true classes.
    P : numpy.ndarray
        Class probabilities (samples x classes, columns in the order of ``classes``).
    classes : list of str
        The classes; the called class is the one of largest probability.
    positive : str or None
        The positive class of a binary outcome; not one of ``classes``: the second class.

    Returns
    -------
    dict
        accuracy, balanced_accuracy, balanced_error_rate, f1, sensitivity, specificity, roc_auc.
    """
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
    out["roc_auc"] = (
        roc_auc_score(y_true, P / P.sum(1, keepdims=True), multi_class="ovr", average="macro", labels=classes)
        if present == set(classes)
        else np.nan
    )
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
    """:func:`clinical_scores` from integer class codes (true ``t``, called ``h``), numpy only.

    Numpy only because the bootstrap calls it a thousand times per strategy. The same definitions,
    class recalls from a confusion matrix, ROC AUC by ranks.
    """
    C = np.bincount(t * k + h, minlength=k * k).reshape(k, k)  # rows: true, columns: called
    n_true, n_called, tp = C.sum(1), C.sum(0), np.diag(C).astype(float)
    present = n_true > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, tp / n_true, np.nan)
        spec = np.where(len(t) - n_true > 0, (len(t) - n_true - n_called + tp) / (len(t) - n_true), np.nan)
        f1 = np.where(
            2 * tp + (n_called - tp) + (n_true - tp) > 0, 2 * tp / (2 * tp + (n_called - tp) + (n_true - tp)), 0.0
        )
    out = {"accuracy": float(tp.sum() / len(t)), "balanced_accuracy": float(np.nanmean(recall[present]))}
    out["balanced_error_rate"] = 1.0 - out["balanced_accuracy"]
    if k == 2:
        neg = 1 - pos
        out.update(
            f1=float(f1[pos]),
            sensitivity=float(recall[pos]),
            specificity=float(recall[neg]),
            roc_auc=_auc(P[:, pos], t == pos),
        )
        return out
    out.update(
        f1=float(np.mean(f1)),
        sensitivity=float(np.nanmean(recall)),
        specificity=float(np.nanmean(spec)),
        roc_auc=(float(np.mean([_auc(P[:, c] / P.sum(1), t == c) for c in range(k)])) if present.all() else np.nan),
    )
    return out


def _pearson(yt: np.ndarray, yp: np.ndarray) -> float:
    """Pearson's r, NaN where either side is constant.

    The naive baseline predicts the training mean for every held-out sample; rounding spread it by 1e-16,
    which gave an r of noise (-4e-16 beside NaN for another site).
    """

    def flat(v: np.ndarray) -> bool:
        return bool(np.ptp(v) <= 1e-12 * max(1.0, float(np.abs(v).max())))

    if len(yt) < 2 or flat(yt) or flat(yp):
        return float("nan")
    return float(np.corrcoef(yt, yp)[0, 1])


def _regression_scores(yt: np.ndarray, yp: np.ndarray) -> dict:
    return {
        "r2": r2_score(yt, yp),
        "rmse": float(np.sqrt(mean_squared_error(yt, yp))),
        "pearson_r": _pearson(yt, yp),
    }


def external_scores(
    pred: pd.DataFrame,
    *,
    task: str,
    positive: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    y_train: pd.DataFrame | None = None,
    times=(),
) -> pd.DataFrame:
    """Scores of every strategy on the external test samples, with percentile bootstrap intervals.

    One prediction per external test sample, by models trained on all training samples; a test
    sample without an outcome (a new patient) is predicted but never scored (left out here); the
    intervals resample the test samples (within each class for a class outcome, within event status
    for survival: its scores need the training samples' outcome ``y_train`` and the AUC ``times``).

    Parameters
    ----------
    pred : pandas.DataFrame
        The predictions of the split ``final`` (every strategy).
    task : str
        classification, regression or survival.
    positive : str, optional
        The positive class of a binary outcome (:func:`clinical_scores`).
    n_boot : int
        Bootstrap resamples; a resample a metric cannot score is skipped.
    seed : int
        Seed of the resampling (one generator per strategy, from the seed and the strategy's name).
    level : float
        Coverage of the percentile intervals.
    y_train : pandas.DataFrame, optional
        The training samples' outcome (survival only).
    times : array-like of float
        The AUC times (survival only).

    Returns
    -------
    pandas.DataFrame
        One row per strategy: columns ``test_<metric>``, ``test_<metric>_lo`` / ``_hi`` and
        ``test_n_test`` (and ``test_n_events`` for survival); NaN scores with fewer than 3 test samples.
    """
    import zlib

    metrics = {"classification": EXTERNAL_CLASS_METRICS, "survival": SURV_METRICS}.get(task, EXTERNAL_REG_METRICS)
    pred = pred.dropna(subset=[c for c in ("y_true", "time", "event") if c in pred.columns])  # new patients
    if task == "survival":  # the training samples' censoring distribution: once for every resample
        from moflow.evaluate.survival_scores import TrainingCensoring

        cens = TrainingCensoring(y_train["time"].to_numpy(float), y_train["event"].to_numpy(float) > 0)
    rows = []
    for strat, d in pred.groupby("strategy", sort=True):
        # a generator per strategy: its interval does not depend on which other strategies are scored
        rng = np.random.default_rng([seed, zlib.crc32(str(strat).encode())])
        if task == "survival":
            d = d.dropna(subset=["risk"]).reset_index(drop=True)
            score = lambda idx, d=d: _survival_scores(d.iloc[idx], cens, times)  # noqa: E731
            ev = d["event"].to_numpy(float) > 0
            groups = [np.flatnonzero(ev), np.flatnonzero(~ev)]
            groups = [g for g in groups if len(g)]
            yt = ev
        elif task == "classification":
            pcols = class_columns(d)
            d = d.dropna(subset=pcols)
            classes = [c[2:] for c in pcols]
            yt, P = d["y_true"].astype(str).to_numpy(), d[pcols].to_numpy(float)
            codes = pd.Categorical(yt, categories=classes).codes
            known = codes >= 0  # a test class the training samples never had cannot be called: scored wrong
            t = np.where(known, codes, 0)
            h = np.argmax(P, axis=1)
            h = np.where(known, h, (t + 1) % len(classes))  # never equal to a placeholder code
            pos = classes.index(positive) if positive in classes else len(classes) - 1
            score = lambda idx, t=t, h=h, P=P, classes=classes, pos=pos: _coded_scores(  # noqa: E731
                t[idx], h[idx], P[idx], len(classes), pos
            )
            groups = [np.flatnonzero(yt == c) for c in sorted(set(yt))]
        else:
            d = d.dropna(subset=["prediction"])
            yt, yp = d["y_true"].astype(float).to_numpy(), d["prediction"].to_numpy(float)
            score = lambda idx, yt=yt, yp=yp: _regression_scores(yt[idx], yp[idx])  # noqa: E731
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
            lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2]) if len(vals) else (np.nan, np.nan)
            row[f"test_{m}"], row[f"test_{m}_lo"], row[f"test_{m}_hi"] = point[m], float(lo), float(hi)
        rows.append(row)
    return pd.DataFrame(rows)


def fold_scores(
    pred: pd.DataFrame, task: str = "classification", *, y: pd.DataFrame | None = None, times=()
) -> pd.DataFrame:
    """Scores of every split x strategy.

    A survival outcome's need the outcome ``y`` of the samples: a CV split's training samples are the
    CV samples it does not hold out (the splits partition them).

    Parameters
    ----------
    pred : pandas.DataFrame
        The prediction tables of the CV splits (:func:`moflow.evaluate.summary.merge_predictions`).
    task : str
        classification, regression or survival.
    y : pandas.DataFrame, optional
        The outcome of the samples (survival only).
    times : array-like of float
        The AUC times (survival only).

    Returns
    -------
    pandas.DataFrame
        One row per split and strategy: split, strategy and the scores of :func:`score_predictions`.
    """
    rows = []
    samples = pd.Index(pred["sample"].astype(str).unique())
    for (split, strat), d in pred.groupby(["split", "strategy"], sort=True):
        y_train = None
        if task == "survival":
            y_train = y.loc[samples.difference(d["sample"].astype(str), sort=False)]
        rows.append({"split": split, "strategy": strat, **score_predictions(d, task, y_train=y_train, times=times)})
    return pd.DataFrame(rows)
