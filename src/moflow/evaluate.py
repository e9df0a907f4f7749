"""Honest evaluation: repeated stratified cross-validation on identical splits for every strategy.

Inside each outer fold the whole per-layer preprocessing chain is fit on the training samples only
(with the training outcome protected in batch correction) and applied unchanged to the held-out
samples; hyperparameters are tuned by inner CV on the training samples only.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold

from .preprocess import LayerPreprocessor


def make_splits(y: pd.Series, *, folds: int = 5, repeats: int = 1, seed: int = 0) -> pd.DataFrame:
    """Outer splits: one row per (split, sample) with role train / test. Splits are named r{R}f{F}."""
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    rows = []
    for i, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y.to_numpy())):
        name = f"r{i // folds + 1}f{i % folds + 1}"
        rows += [{"split": name, "sample": y.index[j], "role": "train"} for j in tr]
        rows += [{"split": name, "sample": y.index[j], "role": "test"} for j in te]
    return pd.DataFrame(rows)


def split_names(splits: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(splits["split"]))


def preprocess_fold(
    raw: dict[str, pd.DataFrame],
    preprocessors: dict[str, LayerPreprocessor],
    y: pd.Series,
    train: list[str],
    test: list[str],
    qc: dict[str, list[str]] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Fit each layer's chain on the training samples (plus that layer's QC injections) and transform
    both sides. Returns (train layers, test layers), each reindexed to the given sample lists."""
    qc = qc or {}
    tr_out, te_out = {}, {}
    ytr = y.loc[train]
    for name, X in raw.items():
        pp = clone(preprocessors[name])
        rows_tr = [s for s in train if s in X.index] + list(qc.get(name, []))
        Xt = pp.fit_transform(X.loc[rows_tr], ytr)
        rows_te = [s for s in test if s in X.index]
        Xe = pp.transform(X.loc[rows_te]) if rows_te else Xt.iloc[:0]
        tr_out[name] = Xt.reindex(train)
        te_out[name] = Xe.reindex(index=test, columns=Xt.columns)
    return tr_out, te_out


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
) -> pd.DataFrame:
    """Preprocess inside the fold, fit every strategy on the training side, predict the test side.

    ``strategies`` maps a name to a factory returning an unfitted estimator. Returns one row per
    (strategy, test sample) with the true class and one probability column per class.
    """
    tr, te = preprocess_fold(raw, preprocessors, y, train, test, qc)
    classes = sorted(y.unique())
    out = []
    for name, factory in strategies.items():
        model = factory().fit(tr, y.loc[train])
        P = model.predict_proba(te)
        df = pd.DataFrame(P, columns=[f"p_{c}" for c in model.classes_]).reindex(
            columns=[f"p_{c}" for c in classes], fill_value=0.0)
        df.insert(0, "y_true", y.loc[test].to_numpy())
        df.insert(0, "sample", test)
        df.insert(0, "strategy", name)
        df.insert(0, "split", split)
        out.append(df)
    return pd.concat(out, ignore_index=True)


def fold_scores(pred: pd.DataFrame) -> pd.DataFrame:
    """Balanced accuracy and ROC AUC (one-vs-rest macro for multiclass) per split and strategy."""
    pcols = [c for c in pred.columns if c.startswith("p_")]
    classes = [c[2:] for c in pcols]
    rows = []
    for (split, strat), d in pred.groupby(["split", "strategy"], sort=True):
        P = d[pcols].to_numpy()
        yt = d["y_true"].astype(str).to_numpy()
        yhat = np.array(classes)[np.argmax(P, axis=1)]
        bacc = balanced_accuracy_score(yt, yhat)
        if len(set(yt)) < 2:
            auc = np.nan
        elif len(classes) == 2:
            auc = roc_auc_score(yt == classes[1], P[:, 1])
        else:
            auc = roc_auc_score(yt, P, multi_class="ovr", average="macro", labels=classes)
        rows.append({"split": split, "strategy": strat, "balanced_accuracy": bacc, "roc_auc": auc,
                     "balanced_error_rate": 1 - bacc, "n_test": len(d)})
    return pd.DataFrame(rows)


def corrected_interval(values: np.ndarray, n_train: float, n_test: float, level: float = 0.95):
    """Mean and interval of CV fold scores with the Nadeau-Bengio corrected variance
    (folds share training samples, so the naive interval is too narrow)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    J = len(v)
    if J < 2:
        return float(np.mean(v)) if J else np.nan, np.nan, np.nan
    m = v.mean()
    var = v.var(ddof=1) * (1 / J + n_test / n_train)
    half = stats.t.ppf(0.5 + level / 2, J - 1) * np.sqrt(var)
    return float(m), float(max(m - half, 0.0)), float(min(m + half, 1.0))  # scores live in [0, 1]


def scoreboard(scores: pd.DataFrame, *, n_samples: int, min_class: int) -> pd.DataFrame:
    """One row per strategy: mean and corrected 95% interval of each metric, ranked by ROC AUC."""
    rows = []
    for strat, d in scores.groupby("strategy", sort=True):
        n_test = d["n_test"].mean()
        row = {"strategy": strat, "n_splits": len(d)}
        for metric in ("balanced_accuracy", "roc_auc", "balanced_error_rate"):
            m, lo, hi = corrected_interval(d[metric].to_numpy(), n_samples - n_test, n_test)
            row[metric] = m
            row[f"{metric}_lo"] = lo
            row[f"{metric}_hi"] = hi
        row["n_samples"] = n_samples
        row["smallest_class"] = min_class
        rows.append(row)
    board = pd.DataFrame(rows)
    board["kind"] = np.where(board["strategy"].str.startswith("single:"), "single layer", "integration")
    return board.sort_values(["roc_auc", "strategy"], ascending=[False, True]).reset_index(drop=True)
