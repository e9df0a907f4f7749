"""Benchmark: moflow's NaN-aware ComBat against inmoose's ``pycombat_norm`` (side by side).

For each size (features x samples x batches) it times both on the same simulated log-scale data
(a per-feature location and scale shift per batch), checks that the corrected matrices are equal
under the same variance convention (``ddof=0``: inmoose uses population variances), measures peak
memory with tracemalloc (in a separate run, so that tracing does not slow the timed one), and repeats
the moflow run with 10% of the cells missing, which inmoose refuses.

Run from the repository root (inmoose is optional: ``pip install -e '.[bench]'``)::

    python bench/bench_combat.py            # writes bench/results/combat.md and combat.tsv
    python bench/bench_combat.py --quick    # small sizes only

Not a test: timings depend on the machine. Peak memory is the largest traced allocation above the
input (numpy reports its buffers to tracemalloc).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import peak_mb, timed

from moflow.preprocess import ComBat

RESULTS = Path(__file__).resolve().parent / "results"


def simulate(n_features: int, n_samples: int, n_batches: int, seed: int = 0, missing: float = 0.0):
    rng = np.random.default_rng(seed)
    batch = np.arange(n_samples) % n_batches
    X = rng.normal(8, 1, (n_samples, n_features))
    X = (
        X * np.exp(rng.normal(0, 0.2, (n_batches, n_features)))[batch]
        + rng.normal(0, 1, (n_batches, n_features))[batch]
    )
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    idx = [f"S{i}" for i in range(n_samples)]
    labels = np.array([f"b{b}" for b in batch])
    return pd.DataFrame(X, index=idx), pd.DataFrame({"batch": labels}, index=idx), labels


def run(sizes, repeats: int, parametric_sizes, nonparametric_sizes):
    try:
        from inmoose.pycombat import pycombat_norm

        logging.getLogger("inmoose").setLevel(logging.WARNING)
    except ImportError:  # the benchmark still reports moflow alone
        pycombat_norm = None
    rows = []
    for parametric, size_list in ((True, parametric_sizes), (False, nonparametric_sizes)):
        for p, n, b in size_list:
            X, info, labels = simulate(p, n, b)

            def ours(X=X, info=info, parametric=parametric):
                return ComBat(
                    info=info,
                    batch_column="batch",
                    ddof=0,
                    parametric=parametric,
                    protect_outcome=False,
                ).fit_transform(X)

            t_ours, out = timed(ours, repeats)
            row = {
                "prior": "parametric" if parametric else "non-parametric",
                "features": p,
                "samples": n,
                "batches": b,
                "missing": 0.0,
                "moflow_s": t_ours,
                "moflow_peak_mb": peak_mb(ours),
            }
            if pycombat_norm is not None:

                def theirs(X=X, labels=labels, parametric=parametric):
                    return pycombat_norm(X.to_numpy().T, list(labels), par_prior=parametric)

                t_theirs, ref = timed(theirs, repeats)
                row.update(
                    {
                        "inmoose_s": t_theirs,
                        "inmoose_peak_mb": peak_mb(theirs),
                        "speedup": t_theirs / t_ours,
                        "max_abs_diff": float(np.abs(out.to_numpy() - np.asarray(ref).T).max()),
                    }
                )
            rows.append(row)
            print(row, flush=True)
            if parametric:
                Xm, info_m, labels_m = simulate(p, n, b, missing=0.1)

                def ours_m(Xm=Xm, info_m=info_m):
                    return ComBat(
                        info=info_m,
                        batch_column="batch",
                        ddof=0,
                        protect_outcome=False,
                    ).fit_transform(Xm)

                t_m, _ = timed(ours_m, repeats)
                row_m = {
                    "prior": "parametric",
                    "features": p,
                    "samples": n,
                    "batches": b,
                    "missing": 0.1,
                    "moflow_s": t_m,
                    "moflow_peak_mb": peak_mb(ours_m),
                }
                if pycombat_norm is not None:
                    try:
                        pycombat_norm(Xm.to_numpy().T, list(labels_m))
                        row_m["inmoose_s"] = float("nan")
                        row_m["note"] = "inmoose returned"
                    except Exception as err:
                        row_m["note"] = f"inmoose refuses: {type(err).__name__}: {str(err)[:80]}"
                rows.append(row_m)
                print(row_m, flush=True)
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    d = df.copy()
    for c in d.columns:
        if c in ("moflow_s", "inmoose_s"):
            d[c] = d[c].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        elif c in ("moflow_peak_mb", "inmoose_peak_mb"):
            d[c] = d[c].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
        elif c == "speedup":
            d[c] = d[c].map(lambda v: "" if pd.isna(v) else f"{v:.2f}x")
        elif c == "max_abs_diff":
            d[c] = d[c].map(lambda v: "" if pd.isna(v) else f"{v:.1e}")
    d = d.fillna("")
    head = "| " + " | ".join(d.columns) + " |\n|" + "---|" * len(d.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in d.itertuples(index=False))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="pin BLAS threads (both libraries)")
    args = ap.parse_args()
    if args.quick:
        par = [(2000, 200, 4), (5000, 500, 4)]
        nonpar = [(500, 100, 4)]
    else:
        par = [(5000, 500, 4), (20000, 500, 4), (20000, 1000, 4)]
        nonpar = [(1000, 200, 4), (2000, 200, 4)]
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    df = run(par, args.repeats, par, nonpar)
    RESULTS.mkdir(parents=True, exist_ok=True)
    df.to_csv(RESULTS / "combat.tsv", sep="\t", index=False, float_format="%.6g")
    import platform

    import numpy

    text = (
        "# ComBat: moflow vs inmoose pycombat_norm\n\n"
        f"Median of {args.repeats} runs; variance convention ddof=0 for both; outcome not protected "
        f"(inmoose is given no covariates). Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"BLAS threads: {args.threads or 'default'}.\n\n" + markdown(df)
    )
    (RESULTS / "combat.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
