"""Benchmark: the coverage check of the model's prediction sets (the report job's step ``coverage``).

On TCGA-shaped cohorts (``bench_workflow_scale.make_cohort``: 41,500 features in four layers, a binary
outcome, four batches) of ``--samples`` sizes, the first CV repeat's five outer splits of one strategy
(``--strategy``) are fit as the evaluation fits them (preprocessing inside each split), then their
prediction sets at 90% are checked two ways, side by side, on ``--cores`` forked workers:

* ``pairs`` (moflow: :func:`moflow.model.pair_predictions`): one model per pair of folds, fit without
  both, 10 fits at 5 folds; each outer split calibrated by the four models that saw neither its fold
  nor the one they predict;
* ``nested`` (what a user would otherwise write: cross-conformal inside each outer split): the outer
  training side split again into 5 folds, the strategy refit on each, 25 fits.

Reported per size and scheme: fits, wall and CPU seconds (the workers' included), the peak resident
memory of a worker, the coverage and the mean set size measured, and the ratio of the two walls.

    python bench/bench_coverage.py --samples 250 1000

Writes bench/results/coverage.tsv and prints it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
sys.path.insert(0, str(REPO / "bench"))


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _outer(ctx: dict, name: str) -> pd.DataFrame:
    """The outer split's model and its held-out predictions (as the evaluation makes them)."""
    from moflow.evaluate import run_fold, split_members

    train, test = split_members(ctx["splits"], name)
    y, task = ctx["cohort"].y, ctx["cohort"].task
    return run_fold(ctx["matrices"], ctx["pps"], ctx["only"], y, train, test, split=name, task=task)


def _pair(ctx: dict, pair: str) -> tuple[pd.DataFrame, int]:
    """moflow's scheme: the model without the pair's two folds, predicting them."""
    from moflow.model import pair_predictions

    out = pair_predictions(
        ctx["matrices"],
        ctx["splits"],
        ctx["cohort"],
        ctx["strategy"],
        pair,
        strategies=ctx["strategies"],
        preprocessors=ctx["pps"],
        clinical=None,
    )
    return out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _nested(ctx: dict, name: str) -> tuple[pd.DataFrame, int]:
    """The scheme a user would otherwise write: 5 inner folds of the outer training side, each refit."""
    from moflow.evaluate import make_splits, run_fold, split_members
    from moflow.model import fit_conformal
    from moflow.model.conformal_check import _rows

    cohort = ctx["cohort"]
    train, _ = split_members(ctx["splits"], name)
    inner = make_splits(cohort.y.loc[train], folds=5, repeats=1, seed=ctx["seed"], task=cohort.task)
    oof = []
    for part in dict.fromkeys(inner["split"]):
        itrain, itest = split_members(inner, part)
        oof.append(run_fold(ctx["matrices"], ctx["pps"], ctx["only"], cohort.y, itrain, itest, task=cohort.task))
    classes = sorted(cohort.y.loc[train].astype(str).unique())
    conf = fit_conformal(pd.concat(oof, ignore_index=True), cohort.task, 0.9, classes=classes)
    predictions = ctx["predictions"]
    held = predictions[predictions["split"] == name].reset_index(drop=True)
    return _rows(conf, held, "cv"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", nargs="+", type=int, default=[250, 1000])
    ap.add_argument("--strategy", default="early")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    from bench_predict import _inputs
    from bench_workflow_scale import make_cohort

    from moflow.integrate import build_strategies
    from moflow.model import check_splits, conformal_check, coverage_summary, fold_pairs
    from moflow.preprocess import build_preprocessors
    from moflow.runtime import fork_map, preload
    from moflow.tasks import cv_splits
    from moflow.tasks._common import load_cohort

    rows = []
    for n in args.samples:
        with tempfile.TemporaryDirectory(prefix="moflow_coverage_") as tmp:
            folder = make_cohort(Path(tmp) / "cohort", n, folds=5, repeats=1, seed=11)
            settings, _, sheet, omics, matrices = _inputs(folder)
            cohort = load_cohort(sheet, omics, settings)
            strategies = build_strategies(cohort.omics, settings, cohort.task, sheet=cohort.sheet)
            pps = build_preprocessors(cohort.omics, settings, cohort.info)
            splits = cv_splits(sheet, omics, settings)["splits"]
            names = check_splits(splits)
            only = {args.strategy: strategies[args.strategy]}
            preload()

            ctx = dict(
                matrices=matrices, pps=pps, only=only, cohort=cohort, splits=splits, strategies=strategies,
                strategy=args.strategy, seed=int(settings.seed),
            )  # fmt: skip
            predictions = pd.concat(fork_map(partial(_outer, ctx), names, args.cores), ignore_index=True)
            ctx["predictions"] = predictions
            for scheme in ("pairs", "nested"):
                cpu, t = _cpu(), time.perf_counter()
                if scheme == "pairs":
                    items = fold_pairs(names)
                    done = fork_map(partial(_pair, ctx), items, args.cores)
                    checked = conformal_check(
                        pd.concat([d[0] for d in done], ignore_index=True),
                        predictions,
                        splits,
                        cohort,
                        args.strategy,
                        coverage=0.9,
                    )
                    fits = len(items)
                else:
                    done = fork_map(partial(_nested, ctx), names, args.cores)
                    checked = pd.concat([d[0] for d in done], ignore_index=True)
                    fits = 5 * len(names)
                wall, cpu = time.perf_counter() - t, _cpu() - cpu
                summary = coverage_summary(checked, 0.9, args.strategy)
                overall = summary[summary["group"] == "all"].iloc[0]
                rows.append(
                    {
                        "samples": n,
                        "features": sum(X.shape[1] for X in matrices.values()),
                        "strategy": args.strategy,
                        "scheme": scheme,
                        "fits": fits,
                        "wall_s": round(wall, 1),
                        "cpu_s": round(cpu, 1),
                        "worker_max_rss_mb": round(max(d[1] for d in done) / 1024, 0),
                        "coverage": round(float(overall["coverage"]), 3),
                        "mean_set_size": round(float(overall["mean_set_size"]), 3),
                    }
                )
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    walls = table.pivot(index="samples", columns="scheme", values="wall_s")
    table["nested_over_pairs_wall"] = table["samples"].map(walls["nested"] / walls["pairs"]).round(2)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "coverage.tsv", sep="\t", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
