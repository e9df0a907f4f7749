"""Survival outcomes: cost of the survival strategies beside the binary ones, and moflow's tuned Cox
model beside the recipe scikit-survival's user guide gives for the same job.

Part 1 (strategies): demo-shaped cohorts (RNA counts 2,000 genes, proteomics 500, metabolomics 200 with
QC injections, 3 batches) of 150, 500 and 1,000 samples whose sheet carries both a binary outcome and
event times driven by the same planted factor. For each size and outcome type, one outer split of
5-fold CV runs in a fresh process exactly as a ``cv_fold`` job runs it (every layer's chain fit on
the training side, every strategy fit and its held-out predictions made): wall time per strategy,
total, and the process's peak resident memory; the held-out score (balanced accuracy / Harrell's C).

Part 2 (the penalized Cox model): moflow's ``PenalizedCox`` (one Coxnet path, the strength chosen by
the Verweij cross-validated partial likelihood over 3 inner folds) against scikit-survival's
documented recipe (a Coxnet path for the strengths, then ``GridSearchCV`` over them with 3 folds,
scored by Harrell's C), on the preprocessed RNA layer: fit time and held-out Harrell's C.

    python bench/bench_survival.py            # bench/results/survival.md, survival.tsv
    python bench/bench_survival.py --quick    # 150 and 500 samples only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "results"
SIZES = (150, 500, 1000)
SKSURV_MAX = 150  # scikit-survival's grid search took minutes at 150 samples: not run on larger cohorts


def cohort(n: int):
    from moflow.demo import simulate_cohort

    c = simulate_cohort(n_samples=n, seed=7, survival=True)
    s = c.sheet[c.sheet["sample_type"] == "sample"].set_index("sample")
    y_bin = s["outcome"].astype(str)
    y_surv = pd.DataFrame({"time": s["time"].astype(float), "event": s["event"].astype(float)})
    info = c.sheet.set_index("sample", drop=False).drop(columns=["outcome", "time", "event"])
    qc = list(c.sheet.loc[c.sheet["sample_type"] == "qc", "sample"])
    return c, y_bin, y_surv, info, qc


def one_split(n: int, task: str) -> dict:
    """Run in a child process: one outer split, every strategy; timings and peak memory."""
    import logging
    import resource

    from moflow.evaluate import evaluation_times, make_splits, run_fold, score_predictions, split_members
    from moflow.inputs import check_omics_sheet
    from moflow.integrate import build_strategies
    from moflow.preprocess import build_preprocessors
    from moflow.settings import Settings

    c, y_bin, y_surv, info, qc = cohort(n)
    y = y_surv if task == "survival" else y_bin
    outcome = {"type": "survival", "time": "time", "event": "event"} if task == "survival" else {"column": "outcome"}
    settings = Settings.defaults(outcome=outcome, integration={"mofa": {"stability_seeds": 0}})
    omics = pd.DataFrame(
        {
            "layer": ["rna", "protein", "metabolomics"],
            "kind": ["rnaseq_counts", "proteomics_intensity", "metabolomics_intensity"],
            "path": ["rna", "protein", "metab"],
            "batch_column": "batch",
            "has_qc": ["false", "false", "true"],
            "log_scale": ["false", "true", "false"],
        }
    )
    omics = check_omics_sheet(omics, path="omics", samples=c.sheet.set_index("sample", drop=False), samples_path="s")
    model_task = "survival" if task == "survival" else "classification"
    strategies = build_strategies(omics, settings, model_task)
    pps = build_preprocessors(omics, settings, info)
    splits = make_splits(y, folds=5, repeats=1, seed=0, task=model_task)
    train, test = split_members(splits, "r1f1")
    times, grid = evaluation_times(y_surv.loc[train], ()) if task == "survival" else ((), None)
    timings: dict[str, float] = {}

    class Capture(logging.Handler):
        def emit(self, record):
            msg = record.getMessage()
            parts = msg.split(": ", 1)[-1].rsplit(" ", 2)
            if len(parts) == 3 and parts[2] == "s" and "preprocessing" not in msg:
                timings[parts[0]] = float(parts[1])
            elif "preprocessing" in msg:
                timings["preprocessing"] = float(msg.split("preprocessing ")[1].split(" s")[0])

    log = logging.getLogger("bench")
    log.setLevel(logging.INFO)
    log.addHandler(Capture())
    t0 = time.perf_counter()
    pred = run_fold(
        c.layers,
        pps,
        strategies,
        y,
        train,
        test,
        qc={"metabolomics": qc},
        split="r1f1",
        task=model_task,
        grid=grid,
        log=log,
    )
    total = time.perf_counter() - t0
    scores = {}
    for name, d in pred.groupby("strategy"):
        s = score_predictions(d, model_task, y_train=y_surv.loc[train] if task == "survival" else None, times=times)
        scores[name] = s["harrell_c" if task == "survival" else "balanced_accuracy"]
    return {
        "n": n,
        "task": task,
        "total_s": total,
        "timings": timings,
        "scores": scores,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def cox_comparison(n: int) -> dict:
    """moflow's PenalizedCox against scikit-survival's GridSearchCV recipe on the preprocessed RNA layer."""
    import warnings

    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sksurv.linear_model import CoxnetSurvivalAnalysis

    from moflow.evaluate import harrell_c, make_splits, preprocess_fold, split_members
    from moflow.integrate import PenalizedCox, structured
    from moflow.preprocess import LayerPreprocessor, layer_settings

    c, _, y, info, _ = cohort(n)
    splits = make_splits(y, folds=5, repeats=1, seed=0, task="survival")
    train, test = split_members(splits, "r1f1")
    pp = {
        "rna": LayerPreprocessor(
            "rnaseq_counts", layer_settings("rnaseq_counts"), info=info, batch_column="batch", layer="rna", seed=0
        )
    }
    tr, te = preprocess_fold({"rna": c.layers["rna"]}, pp, y, train, test)
    Xtr, Xte = tr["rna"].to_numpy(), te["rna"].to_numpy()
    Ytr = y.loc[train].to_numpy(float)
    out = {"n": n, "features": Xtr.shape[1]}
    t0 = time.perf_counter()
    m = PenalizedCox(l1_ratio=0.5, inner_folds=3, seed=0).fit(Xtr, Ytr)
    out["moflow_s"] = time.perf_counter() - t0
    out["moflow_c"] = harrell_c(y.loc[test, "time"], y.loc[test, "event"] > 0, m.predict(Xte))
    out["moflow_alpha"] = m.alpha_
    if n > SKSURV_MAX:
        return out
    # scikit-survival's user guide ("Penalized Cox models"): the path's alphas, then a grid search
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = structured(Ytr[:, 0], Ytr[:, 1] > 0)
        path = CoxnetSurvivalAnalysis(l1_ratio=0.5, n_alphas=30, alpha_min_ratio=0.01, normalize=True).fit(Xtr, target)
        gcv = GridSearchCV(
            CoxnetSurvivalAnalysis(l1_ratio=0.5, normalize=True, fit_baseline_model=False),
            param_grid={"alphas": [[a] for a in path.alphas_]},
            cv=StratifiedKFold(3, shuffle=True, random_state=0).split(Xtr, Ytr[:, 1] > 0),
            error_score=0.5,
            n_jobs=1,
        ).fit(Xtr, target)
    out["sksurv_s"] = time.perf_counter() - t0
    out["sksurv_c"] = harrell_c(y.loc[test, "time"], y.loc[test, "event"] > 0, gcv.best_estimator_.predict(Xte))
    out["sksurv_alpha"] = float(gcv.best_params_["alphas"][0])
    return out


def child(args) -> None:
    if args.child == "split":
        res = one_split(args.n, args.task)
    else:
        res = cox_comparison(args.n)
    print("RESULT " + json.dumps(res))


def run_child(*extra) -> dict:
    out = subprocess.run([sys.executable, __file__, *extra], capture_output=True, text=True, check=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", choices=["split", "cox"])
    ap.add_argument("--n", type=int)
    ap.add_argument("--task")
    args = ap.parse_args()
    if args.child:
        return child(args)
    sizes = SIZES[:2] if args.quick else SIZES
    rows, cox = [], []
    for n in sizes:
        for task in ("binary", "survival"):
            r = run_child("--child", "split", "--n", str(n), "--task", task)
            print(n, task, f"{r['total_s']:.1f} s", f"{r['peak_mb']:.0f} MB", flush=True)
            for strat, sec in r["timings"].items():
                rows.append(
                    {
                        "n": n,
                        "task": task,
                        "part": strat,
                        "seconds": sec,
                        "score": r["scores"].get(strat),
                        "total_s": r["total_s"],
                        "peak_mb": r["peak_mb"],
                    }
                )
        c = run_child("--child", "cox", "--n", str(n))
        print(c, flush=True)
        cox.append(c)
    T = pd.DataFrame(rows)
    C = pd.DataFrame(cox)
    OUT.mkdir(exist_ok=True)
    T.to_csv(OUT / "survival.tsv", sep="\t", index=False)
    C.to_csv(OUT / "survival_cox.tsv", sep="\t", index=False)
    lines = [
        "# Survival strategies beside binary ones; moflow's tuned Cox beside scikit-survival's recipe",
        "",
        "One outer split (training 80%) of a demo-shaped cohort (RNA 2,000 genes, proteomics 500, metabolomics "
        "200 + QC, 3 batches); binary outcome and event times driven by the same planted factor. Each run in a "
        "fresh process; peak RSS of that process. Machine: 2 cores, 24 GiB.",
        "",
        "| samples | outcome | total | preprocessing | "
        + " | ".join(
            s for s in ("single_rna", "single_protein", "single_metabolomics", "early", "mixed", "mofa", "late")
        )
        + " | peak RSS | held-out score of early |",
        "|" + "---|" * 12,
    ]
    for (n, task), d in T.groupby(["n", "task"], sort=True):
        sec = d.set_index("part")["seconds"]
        sc = d.set_index("part")["score"]
        cells = [
            f"{sec.get(s, np.nan):.1f} s"
            for s in (
                "preprocessing",
                "single_rna",
                "single_protein",
                "single_metabolomics",
                "early",
                "mixed",
                "mofa",
                "late",
            )
        ]
        metric = "C" if task == "survival" else "bal. acc."
        lines.append(
            f"| {n:,} | {task} | {d['total_s'].iloc[0]:.1f} s | "
            + " | ".join(cells)
            + f" | {d['peak_mb'].iloc[0]:.0f} MB | {metric} {sc.get('early', np.nan):.3f} |"
        )
    lines += [
        "",
        "## Penalized Cox on the RNA layer: moflow vs scikit-survival's GridSearchCV recipe",
        "",
        "moflow: one Coxnet path (30 strengths) + 3 inner path fits, Verweij cross-validated partial likelihood. "
        "scikit-survival (user guide, 'Penalized Cox models'): the same path for the strengths, then "
        "GridSearchCV over them (3 event-stratified folds, Harrell's C). l1_ratio 0.5 for both.",
        "",
        "| samples | features | moflow | scikit-survival | speed-up | held-out C moflow / sksurv | chosen alpha "
        "moflow / sksurv |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in C.iterrows():
        if pd.isna(r.get("sksurv_s")):
            lines.append(
                f"| {int(r['n']):,} | {int(r['features']):,} | {r['moflow_s']:.2f} s | not run (slow) | | "
                f"{r['moflow_c']:.3f} / | {r['moflow_alpha']:.3g} / |"
            )
            continue
        lines.append(
            f"| {int(r['n']):,} | {int(r['features']):,} | {r['moflow_s']:.2f} s | {r['sksurv_s']:.2f} s | "
            f"{r['sksurv_s'] / r['moflow_s']:.1f}x | {r['moflow_c']:.3f} / {r['sksurv_c']:.3f} | "
            f"{r['moflow_alpha']:.3g} / {r['sksurv_alpha']:.3g} |"
        )
    text = "\n".join(lines) + "\n"
    (OUT / "survival.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
