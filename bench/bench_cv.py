"""Benchmark: repeated nested cross-validation of every strategy on the simulated demo cohort.

Runs the package in one process (what each Snakemake job does, without the per-job start-up) for
5 repeats x 5 folds, times the in-fold preprocessing of each layer and the fit + prediction of each
strategy, and reports wall time, peak memory (max RSS) and where the time goes. Several cohort
sizes. BLAS threads are pinned to 1, as in the workflow's jobs.

    python bench/bench_cv.py                 # sizes 150 and 300 samples, 5 x 5
    python bench/bench_cv.py --sizes 150 --repeats 1
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from moflow.cohort import qc_samples, sample_info
from moflow.demo import simulate_cohort
from moflow.evaluate import fold_scores, make_splits, predict_split, preprocess_fold, scoreboard, split_members
from moflow.integrate import build_strategies
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings

OUT = Path(__file__).parent / "results"
OMICS = pd.DataFrame(
    [
        {"layer": "rna", "kind": "rnaseq_counts", "batch_column": "batch", "has_qc": False, "log_scale": "false"},
        {
            "layer": "protein",
            "kind": "proteomics_intensity",
            "batch_column": "batch",
            "has_qc": False,
            "log_scale": "true",
        },
        {
            "layer": "metabolomics",
            "kind": "metabolomics_intensity",
            "batch_column": "batch",
            "has_qc": True,
            "log_scale": "false",
        },
    ]
).set_index("layer", drop=False)
CONFIG = Settings.defaults(
    seed=42,
    integration={"inner_folds": 3, "mofa": {"factors": 8, "convergence_mode": "fast"}},
    evaluation={"strategies": ["early", "mixed", "mofa", "late"]},
)


def run(n_samples: int, folds: int, repeats: int) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    c = simulate_cohort(n_samples=n_samples, seed=7)
    sheet = c.sheet.set_index("sample", drop=False)
    y = sheet.loc[sheet["sample_type"] == "sample", "outcome"]
    pps = build_preprocessors(OMICS, CONFIG, sample_info(sheet, CONFIG))
    strategies = build_strategies(OMICS, CONFIG, "classification")
    qc = {"metabolomics": qc_samples(sheet)}
    splits = make_splits(y, folds=folds, repeats=repeats, seed=42)
    timings, preds = [], []
    t_all = time.perf_counter()
    for split in dict.fromkeys(splits["split"]):
        train, test = split_members(splits, split)
        for layer in OMICS.index:
            t = time.perf_counter()
            preprocess_fold({layer: c.layers[layer]}, {layer: pps[layer]}, y, train, test, qc)
            timings.append({"stage": f"preprocess {layer}", "seconds": time.perf_counter() - t})
        tr, te = preprocess_fold(c.layers, pps, y, train, test, qc)
        for name, factory in strategies.items():
            t = time.perf_counter()
            preds.append(
                predict_split(factory(), tr, te, y, train, test, strategy=name, split=split, classes=sorted(y.unique()))
            )
            timings.append({"stage": f"fit+predict {name}", "seconds": time.perf_counter() - t})
    wall = time.perf_counter() - t_all
    board = scoreboard(fold_scores(pd.concat(preds)), n_samples=len(y), min_class=int(y.value_counts().min()))
    where = pd.DataFrame(timings).groupby("stage")["seconds"].agg(["sum", "mean"]).sort_values("sum", ascending=False)
    return board, where, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[150, 300])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    lines = [
        "# Nested cross-validation of every strategy on the simulated demo cohort",
        "",
        f"{args.repeats} repeats x {args.folds} folds, inner 3-fold CV per model, one process, BLAS threads = 1.",
        "",
    ]
    with threadpool_limits(1):
        for n in args.sizes:
            board, where, wall = run(n, args.folds, args.repeats)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            lines += [
                f"## {n} samples",
                "",
                f"wall time {wall:.1f} s; peak RSS so far {rss:.0f} MiB",
                "",
                "Where the time goes (seconds over all splits):",
                "",
                where.round(2).to_markdown(),
                "",
                board[["strategy", "balanced_accuracy", "balanced_accuracy_lo", "balanced_accuracy_hi", "roc_auc"]]
                .round(3)
                .to_markdown(index=False),
                "",
            ]
            print("\n".join(lines[-12:]), flush=True)
    (OUT / "cv.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
