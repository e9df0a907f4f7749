"""Benchmark: which imputation should proteomics layers get by default? (issue 11)

Every imputation method of moflow, and ``auto`` with the candidates of the proteomics default
(``kind_defaults`` in the config schema), scored by the package's own masked-value benchmark: observed
cells hidden the way the layer loses values (:func:`moflow.preprocess.pattern_mask`, 10% of the
observed cells, its own left-censoring model), each method fit on the masked matrix (with the
outcome, for the methods that use it) and scored by NRMSE on the hidden cells
(:func:`moflow.preprocess.nrmse`), over several mask seeds. ``auto`` is scored honestly: it makes its
choice on the masked matrix, with a mask of its own, never seeing the scored cells. The matrix is what
the imputation step of the default chain receives (or the published filter, where one exists).

Datasets (``../shared/data``, skipped where absent; nothing is copied into the repository):

* DEP UbiLength (label-free proteomics, 12 samples): the DEP vignette's filter (1,899 proteins, 19%
  missing), the proteomics default chain up to imputation (median normalization, features observed in
  half the samples), and a loose filter (observed in 3 of 12 samples: 39% missing);
* MTBLS79 (DIMS metabolomics, 134 study samples): the metabolomics default chain up to imputation
  (PQN, QC-RLSC, filter); not proteomics, reported for comparison;
* the simulated demo cohort's proteomics layer (150 samples), and a larger simulated one (400 x 3,000)
  for the wall time.

Run from the repository root::

    python bench/bench_imputation_defaults.py            # bench/results/imputation_defaults.md, .tsv
    python bench/bench_imputation_defaults.py --quick    # 2 mask seeds, no large simulation

Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd
from _realdata import data_dir, mtbls79, ubilength
from sklearn.base import clone

from moflow.preprocess import (
    FeatureFilter,
    LayerPreprocessor,
    kind_defaults,
    layer_settings,
    make_imputer,
    nrmse,
    pattern_mask,
)

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("mean", "halfmin", "minprob", "qrilc", "knn", "mixed", "iterative")


def _chain_input(
    kind: str, X: pd.DataFrame, y: pd.Series, info=None, log_scale: bool = False, batch_column: str = ""
) -> pd.DataFrame:
    """What the impute step of the kind's default chain receives (the training samples' matrix)."""
    settings = layer_settings(kind)
    order = [s for s in ("normalize", "qc_drift", "filter") if s in settings]
    pp = LayerPreprocessor(
        kind,
        {**settings, "order": order},
        info=info,
        batch_column=batch_column,
        log_scale=log_scale,
        layer=kind,
        seed=0,
    )
    return pp.fit_transform(X, y.reindex(X.index))


def datasets(d: Path | None, quick: bool):
    """(name, matrix the imputer sees, outcome) of every dataset found."""
    from moflow.demo import simulate_cohort

    out = []
    if d is not None and (d / "dep_ubilength").is_dir():
        X, y = ubilength(d)
        out.append(
            (
                "UbiLength, DEP filter",
                FeatureFilter(min_observed=1.0, observed_in="any_group").fit(X, y).transform(X),
                y,
            )
        )
        out.append(
            ("UbiLength, proteomics default chain", _chain_input("proteomics_intensity", X, y, log_scale=True), y)
        )
        out.append(("UbiLength, observed in >= 3 of 12", FeatureFilter(min_observed=0.25).fit(X).transform(X), y))
    if d is not None and (d / "mtbls79_dims_metabolomics").is_dir():
        X, info, species = mtbls79(d)
        M = _chain_input("metabolomics_intensity", X, species, info=info, batch_column="batch")
        out.append(("MTBLS79 (metabolomics), default chain", M.loc[species.index], species))
    c = simulate_cohort(seed=7)
    y = c.sheet.set_index("sample")["outcome"]
    y = y[y != ""]
    P = c.layers["protein"].loc[y.index]
    out.append(("simulated demo proteomics", _chain_input("proteomics_intensity", P, y, log_scale=True), y))
    if not quick:
        c = simulate_cohort(n_samples=400, n_genes=4000, n_proteins=3000, seed=8)
        y = c.sheet.set_index("sample")["outcome"]
        y = y[y != ""]
        P = c.layers["protein"].loc[y.index]
        out.append(("simulated proteomics 400 x 3000", _chain_input("proteomics_intensity", P, y, log_scale=True), y))
    return out


def default_auto():
    opts = dict(kind_defaults()["proteomics_intensity"]["impute"])
    method = opts.pop("method")
    return method, opts


def run(seeds, quick: bool, data: str | None) -> pd.DataFrame:
    d = data_dir(data)
    method, opts = default_auto()
    rows = []
    for name, X, y in datasets(d, quick):
        wide = X.shape[0] * X.shape[1] > 500_000
        imputers = {m: make_imputer(m, {}, seed=0) for m in METHODS if not (m == "iterative" and wide)}
        imputers[f"{method} (proteomics default)"] = make_imputer(method, opts, seed=0)
        for seed in seeds:
            mask = pattern_mask(X, fraction=0.1, seed=seed)
            Xm = X.mask(mask)
            scores = {}
            for m, est in imputers.items():
                e = clone(est)
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    imputed = e.fit(Xm, y.reindex(Xm.index)).transform(Xm)
                wall = time.perf_counter() - t
                scores[m] = nrmse(imputed, X, mask)
                rows.append(
                    {
                        "dataset": name,
                        "samples": X.shape[0],
                        "features": X.shape[1],
                        "missing": float(X.isna().to_numpy().mean()),
                        "seed": seed,
                        "method": m,
                        "nrmse": scores[m],
                        "wall_s": wall,
                        "chosen": getattr(e, "chosen_", ""),
                    }
                )
            for r in rows[-len(imputers) :]:
                r["ratio_to_mean"] = r["nrmse"] / scores["mean"]
            print(name, seed, {k: round(v, 3) for k, v in scores.items()}, flush=True)
    return pd.DataFrame(rows)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    def chosen(s):
        s = s[s != ""]
        return ", ".join(f"{k} x{v}" for k, v in s.value_counts().items()) if len(s) else ""

    g = df.groupby(["dataset", "method"], sort=False)
    out = g.agg(
        samples=("samples", "first"),
        features=("features", "first"),
        missing=("missing", "first"),
        nrmse=("nrmse", "mean"),
        nrmse_sd=("nrmse", "std"),
        ratio_to_mean=("ratio_to_mean", "mean"),
        worst_ratio=("ratio_to_mean", "max"),
        wall_s=("wall_s", "median"),
        chosen=("chosen", chosen),
    )
    return out.reset_index()


def markdown(s: pd.DataFrame) -> str:
    lines = []
    for name, t in s.groupby("dataset", sort=False):
        r0 = t.iloc[0]
        lines.append(
            f"\n### {name} ({r0['samples']} samples x {r0['features']} features, {100 * r0['missing']:.1f}% missing)\n"
        )
        lines.append(
            "| method | NRMSE (mean +- sd over masks) | ratio to mean | worst ratio | wall time | auto chose |"
        )
        lines.append("|---|---|---|---|---|---|")
        for _, r in t.sort_values("nrmse").iterrows():
            lines.append(
                f"| {r['method']} | {r['nrmse']:.3f} +- {r['nrmse_sd']:.3f} | {r['ratio_to_mean']:.3f} | "
                f"{r['worst_ratio']:.3f} | {r['wall_s']:.2f} s | {r['chosen']} |"
            )
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=5, help="mask seeds (1..N)")
    ap.add_argument("--data", default=None, help="the shared data folder (default: ../shared/data)")
    ap.add_argument("--threads", type=int, default=1, help="pin BLAS threads")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    seeds = range(1, (2 if args.quick else args.seeds) + 1)
    df = run(seeds, args.quick, args.data)
    s = summarize(df)
    RESULTS.mkdir(parents=True, exist_ok=True)
    s.to_csv(RESULTS / "imputation_defaults.tsv", sep="\t", index=False, float_format="%.6g")
    method, opts = default_auto()
    text = (
        "# Imputation defaults: masked-value NRMSE per method and dataset\n\n"
        f"The proteomics default is `impute: {{method: {method}, "
        + ", ".join(f"{k}: {v}" for k, v in opts.items()).replace("'", "")
        + "}`. "
        f"Masks: `pattern_mask(fraction=0.1)`, seeds {seeds.start}..{seeds.stop - 1}; NRMSE = RMSE on the hidden "
        "cells / their sd; ratio to mean = NRMSE / the feature mean's NRMSE on the same mask (mean of the "
        "per-mask ratios; worst = largest); wall time = fit + transform of the masked matrix (median), BLAS "
        f"threads {args.threads}, 2 shared cores. auto is fit on the masked matrix and chooses on a mask of its "
        "own, so its score is out of sample. iterative is left out of matrices over 500,000 cells.\n" + markdown(s)
    )
    (RESULTS / "imputation_defaults.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
