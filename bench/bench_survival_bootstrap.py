"""The external test set's survival intervals: the bootstrap of its scores, moflow against calling
scikit-survival's metrics per resample.

A survival cohort with an external test set gets percentile intervals for Harrell's C, Uno's C, the
time-dependent AUC and the integrated Brier score from ``evaluation: bootstrap`` resamples (1,000 by default)
of the test samples, for every strategy and baseline. Each resample is scored against the same training
samples' censoring distribution. The way a user would write it calls scikit-survival's
``concordance_index_ipcw``, ``cumulative_dynamic_auc`` and ``integrated_brier_score`` per resample, each of
which refits that distribution and checks its inputs again; moflow fits it once
(``moflow.evaluate.TrainingCensoring``) and evaluates it with scikit-survival's own operations. The scores of
each resample are compared bit for bit (the first 50 resamples of each strategy).

Sizes: 40, 100 and 300 test samples against 120, 300 and 900 training samples, 5 strategies, 4 survival
columns, 2 AUC times, 200 resamples (median of 3 runs; BLAS threads 1).

    python bench/bench_survival_bootstrap.py     # bench/results/survival_bootstrap.md, .tsv
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import timed

OUT = Path(__file__).resolve().parent / "results"
SIZES = ((40, 120), (100, 300), (300, 900))
N_BOOT, STRATEGIES, REPEATS = 200, 5, 3


def predictions(n_test: int, n_train: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    tt = np.round(rng.exponential(10, n_train), 1) + 0.1
    te = rng.random(n_train) < 0.7
    t = np.minimum(np.round(rng.exponential(9, n_test), 1) + 0.1, tt.max() - 0.05)
    e = rng.random(n_test) < 0.7
    grid = np.quantile(t, [0.2, 0.4, 0.6, 0.8])
    rows = []
    for k in range(STRATEGIES):
        risk = rng.normal(size=n_test) - 0.1 * (k + 1) * t
        d = pd.DataFrame({"sample": [f"s{i}" for i in range(n_test)], "strategy": f"s{k}", "time": t, "event": e})
        d["event"] = d["event"].astype(int)
        d["risk"] = risk
        for g in grid:
            d[f"S@{g:g}"] = np.exp(-g / 10 * np.exp(risk))
        rows.append(d)
    return pd.concat(rows, ignore_index=True), pd.DataFrame({"time": tt, "event": te.astype(int)}), grid[1:3]


def resamples(pred, n_boot: int, seed: int = 0):
    """Per strategy, ``n_boot`` resamples of the test samples within event status (as moflow draws them)."""
    rng = np.random.default_rng(seed)
    for _, d in pred.groupby("strategy", sort=True):
        d = d.reset_index(drop=True)
        ev = d["event"].to_numpy() > 0
        groups = [np.flatnonzero(ev), np.flatnonzero(~ev)]
        for _ in range(n_boot):
            yield d.iloc[np.concatenate([rng.choice(g, len(g)) for g in groups])]


def sksurv_scores(d, y_train, times) -> dict:
    """One resample scored the way a user would write it: scikit-survival's public metrics, each refitting the
    training censoring distribution and checking its inputs."""
    from sksurv.metrics import (
        concordance_index_censored,
        concordance_index_ipcw,
        cumulative_dynamic_auc,
        integrated_brier_score,
    )
    from sksurv.util import Surv

    t, e, r = d["time"].to_numpy(float), d["event"].to_numpy() > 0, d["risk"].to_numpy(float)
    train = Surv.from_arrays(y_train["event"].to_numpy() > 0, y_train["time"].to_numpy(float))
    test = Surv.from_arrays(e, t)
    grid = np.array([float(c[2:]) for c in d.columns if c.startswith("S@")])
    keep = (grid >= t.min()) & (grid < t.max())
    out = {"harrell_c": concordance_index_censored(e, t, r, tied_tol=1e-8)[0]}
    out["uno_c"] = concordance_index_ipcw(train, test, r, tied_tol=1e-8)[0]
    auc, out["td_auc"] = cumulative_dynamic_auc(
        train, Surv.from_arrays(e & (t <= times.max()), t), r, times, tied_tol=1e-8
    )
    surv = d[[c for c in d.columns if c.startswith("S@")]].to_numpy(float)[:, keep]
    out["integrated_brier"] = integrated_brier_score(train, test, surv, grid[keep])
    return out


def main() -> None:
    from moflow.evaluate.metrics import external_scores, survival_prediction_scores

    rows = []
    for n_test, n_train in SIZES:
        pred, y_train, times = predictions(n_test, n_train)
        ours_s, ours = timed(
            lambda p=pred, y=y_train, q=times: external_scores(p, task="survival", n_boot=N_BOOT, y_train=y, times=q),
            REPEATS,
        )
        theirs_s, _ = timed(
            lambda p=pred, y=y_train, q=times: [sksurv_scores(d, y, q) for d in resamples(p, N_BOOT)], REPEATS
        )
        # the same scores, resample by resample (the first 50 of each strategy)
        same = True
        for d in resamples(pred, 50):
            a, b = survival_prediction_scores(d, y_train, times), sksurv_scores(d, y_train, times)
            same &= all(a[k] == b[k] for k in b)
        rows.append(
            {
                "n_test": n_test,
                "n_train": n_train,
                "resamples": N_BOOT * STRATEGIES,
                "moflow_s": round(ours_s, 2),
                "sksurv_per_resample_s": round(theirs_s, 2),
                "ratio": round(theirs_s / ours_s, 1),
                "ms_per_resample_moflow": round(1000 * ours_s / (N_BOOT * STRATEGIES), 2),
                "identical_scores": bool(same),
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "survival_bootstrap.tsv", sep="\t", index=False)
    (OUT / "survival_bootstrap.md").write_text(
        "# The external test set's survival bootstrap\n\n"
        + (__doc__ or "").split("\n\n")[1]
        + "\n\n"
        + table.to_markdown(index=False)
        + "\n"
    )


if __name__ == "__main__":
    main()
