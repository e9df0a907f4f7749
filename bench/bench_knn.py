"""Benchmark: moflow's NaN-aware numpy kNN imputer against scikit-learn's KNNImputer (side by side).

Both impute the same matrices (samples x features, low-rank signal plus noise, a share of the cells
missing completely at random) with k neighbours and uniform weights, fit and applied on the same
samples (``fit_transform``); the script reports wall time (median of the repeats), peak traced memory
(tracemalloc, a separate run), the NRMSE of both on the hidden cells, the largest difference between
the two results (they implement the same definition, so it should be ~1e-15) and the speed-up.

Run from the repository root::

    python bench/bench_knn.py           # writes bench/results/knn.md and knn.tsv
    python bench/bench_knn.py --quick

Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import peak_mb, timed

from moflow.preprocess import KNNImpute, nrmse

RESULTS = Path(__file__).resolve().parent / "results"


def simulate(n: int, p: int, missing: float, seed: int = 0, rank: int = 20):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, p)) * 0.3 + rng.normal(size=(n, p))
    mask = rng.random(X.shape) < missing
    return X, mask, np.where(mask, np.nan, X)


def run(sizes, k: int, repeats: int) -> pd.DataFrame:
    from sklearn.impute import KNNImputer

    rows = []
    for n, p, miss in sizes:
        X, mask, Xm = simulate(n, p, miss)
        df = pd.DataFrame(Xm)

        def ours(df=df):
            return KNNImpute(k=k).fit_transform(df).to_numpy()

        def theirs(Xm=Xm):
            return KNNImputer(n_neighbors=k).fit_transform(Xm)

        t_ours, a = timed(ours, repeats)
        t_theirs, b = timed(theirs, repeats)
        truth = pd.DataFrame(X)
        row = {
            "samples": n,
            "features": p,
            "missing": miss,
            "k": k,
            "moflow_s": t_ours,
            "sklearn_s": t_theirs,
            "speedup": t_theirs / t_ours,
            "moflow_peak_mb": peak_mb(ours),
            "sklearn_peak_mb": peak_mb(theirs),
            "moflow_nrmse": nrmse(pd.DataFrame(a), truth, mask),
            "sklearn_nrmse": nrmse(pd.DataFrame(b), truth, mask),
            "mean_nrmse": nrmse(pd.DataFrame(Xm).fillna(pd.DataFrame(Xm).mean()), truth, mask),
            "max_abs_diff": float(np.abs(a - b).max()),
        }
        rows.append(row)
        print(row, flush=True)
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    fmt = {
        "moflow_s": "{:.2f}",
        "sklearn_s": "{:.2f}",
        "speedup": "{:.1f}x",
        "moflow_peak_mb": "{:.0f}",
        "sklearn_peak_mb": "{:.0f}",
        "moflow_nrmse": "{:.4f}",
        "sklearn_nrmse": "{:.4f}",
        "mean_nrmse": "{:.4f}",
        "max_abs_diff": "{:.1e}",
    }
    d = df.copy()
    for c, f in fmt.items():
        d[c] = d[c].map(f.format)
    head = "| " + " | ".join(d.columns) + " |\n|" + "---|" * len(d.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in d.itertuples(index=False))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="pin BLAS threads (both libraries)")
    args = ap.parse_args()
    sizes = (
        [(200, 1000, 0.1), (500, 5000, 0.1)]
        if args.quick
        else [(200, 1000, 0.1), (500, 5000, 0.1), (500, 5000, 0.3), (1000, 5000, 0.1), (2000, 2000, 0.1)]
    )
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    df = run(sizes, args.k, args.repeats)
    RESULTS.mkdir(parents=True, exist_ok=True)
    df.to_csv(RESULTS / "knn.tsv", sep="\t", index=False, float_format="%.6g")
    import platform

    import sklearn

    text = (
        "# kNN imputation: moflow KNNImpute vs scikit-learn KNNImputer\n\n"
        f"k={args.k}, uniform weights, fit_transform on the same samples; median of {args.repeats} runs. "
        f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, BLAS threads: "
        f"{args.threads or 'default'}. NRMSE on the hidden cells (RMSE / sd of the true values); mean_nrmse "
        "is feature-mean imputation.\n\n" + markdown(df)
    )
    (RESULTS / "knn.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
