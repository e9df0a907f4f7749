"""Benchmark: run-order drift correction without pooled QC injections (``sample_lowess``, issue 11).

MTBLS79 (DIMS metabolomics, 8 batches, 134 study samples, 38 pooled QCs; ``../shared/data``), log2
intensities of the 2,370 peaks detected in >= 80% of the QCs (pmp's filter). The sample-based
correction is fit on the study samples only; the pooled QCs are held out of its fit and corrected
with the study samples' trend, so their RSD is an independent check. Compared: no correction, QC-RLSC
(fit on the QCs), and ``sample_lowess`` with its options. Reported: the median within-batch |Spearman
r| of the study samples with run order before / after (and with the run order shuffled: the no-drift
level), the held-out QCs' median RSD, species separation (silhouette, top 10 PCs) and the variance of
the top PCs explained by batch, and the fit time.

Then the same with a drift planted into every injection (per batch and peak, a linear and a curved
trend over the batch's run; slope sd 0.5 or 1.0 log2, curve sd 0.6 x that): how close the corrected
study samples come to the unplanted ones (mean absolute error after removing each batch's median,
relative to no correction). The QC RSD is given over all injections (batch offsets included, which
only ``rlsc`` and ``level: overall`` remove) and with each batch's QCs aligned to the overall QC median
(the drift alone).

Run from the repository root::

    python bench/bench_drift_without_qc.py          # bench/results/drift_without_qc.md, .tsv
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _realdata import data_dir, mtbls79

from moflow.preprocess import QCRLSC, FeatureFilter, SampleDrift, batch_diagnostics, qc_rsd, run_order_correlation

RESULTS = Path(__file__).resolve().parent / "results"


def plant_drift(L: pd.DataFrame, info: pd.DataFrame, seed: int = 0, slope_sd: float = 0.5, curve_sd: float = 0.3):
    """L plus, per batch and feature, slope x position + curve x sin(3 position) over the batch's run."""
    rng = np.random.default_rng(seed)
    out = L.copy()
    for _b, idx in L.groupby(info.loc[L.index, "batch"]).groups.items():
        o = info.loc[idx, "injection_order"].astype(float)
        pos = ((o - o.min()) / (o.max() - o.min())).to_numpy()
        slope, curve = rng.normal(0, slope_sd, L.shape[1]), rng.normal(0, curve_sd, L.shape[1])
        out.loc[idx] = L.loc[idx].to_numpy() + pos[:, None] * slope + np.sin(3 * pos)[:, None] * curve
    return out


def batch_centred_error(M: pd.DataFrame, clean: pd.DataFrame, batch: pd.Series) -> float:
    D = (M - clean).groupby(batch.loc[M.index]).transform(lambda c: c - c.median())
    return float(np.nanmean(np.abs(D.to_numpy())))


def aligned_qc_rsd(Q: pd.DataFrame, info: pd.DataFrame) -> float:
    """Median QC RSD (%) after moving each batch's QCs to the overall QC median (log scale)."""
    b = info.loc[Q.index, "batch"]
    A = Q - Q.groupby(b).transform("median") + Q.median()
    return float(np.nanmedian(qc_rsd(A)))


def evaluate(name, est, L, info, species, qc, clean=None) -> dict:
    study = species.index
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if est is None:
            S, Q = L.loc[study], L.loc[qc]
        elif isinstance(est, QCRLSC):
            est.fit(L.loc[list(study) + list(qc)])
            S, Q = est.transform(L.loc[study]), est.transform(L.loc[qc])
        else:
            est.fit(L.loc[study], species)
            S, Q = est.transform(L.loc[study]), est.transform(L.loc[qc])
    wall = time.perf_counter() - t
    d = batch_diagnostics(S, batch=info["batch"], outcome=species)
    row = {
        "method": name,
        "fit_s": wall if est is not None else np.nan,
        "r_before": run_order_correlation(L.loc[study], info, "batch"),
        "r_after": run_order_correlation(S, info, "batch"),
        "r_shuffled": run_order_correlation(L.loc[study], info, "batch", shuffle_seed=0),
        "qc_rsd": float(np.nanmedian(qc_rsd(Q))),
        "qc_rsd_aligned": aligned_qc_rsd(Q, info),
        "species_silhouette": d["silhouette_outcome"],
        "batch_r2": d["r2_batch"],
    }
    if clean is not None:
        row["error"] = batch_centred_error(S, clean.loc[study], info["batch"])
    print(row, flush=True)
    return row


def run(data: str | None) -> pd.DataFrame:
    d = data_dir(data)
    if d is None or not (d / "mtbls79_dims_metabolomics").is_dir():
        raise SystemExit("MTBLS79 not found (../shared/data/mtbls79_dims_metabolomics)")
    X, info, species = mtbls79(d)
    keep = FeatureFilter(min_observed=0.0, qc_min_detection=0.8, info=info).fit(np.log2(X)).features_
    L = np.log2(X[keep])
    qc = info.index[info["sample_type"] == "qc"]

    def methods():
        return [
            ("none", None),
            ("rlsc (fit on the QCs)", QCRLSC(info=info, batch_column="batch")),
            ("sample_lowess (default: frac 1.0)", SampleDrift(info=info, batch_column="batch")),
            ("sample_lowess, level overall", SampleDrift(info=info, batch_column="batch", level="overall")),
            ("sample_lowess, frac 0.75", SampleDrift(info=info, batch_column="batch", frac=0.75)),
            ("sample_lowess, frac 0.5", SampleDrift(info=info, batch_column="batch", frac=0.5)),
            ("sample_lowess, spline", SampleDrift(info=info, batch_column="batch", smoother="spline")),
        ]

    rows = [dict(evaluate(n, e, L, info, species, qc), data="MTBLS79 as measured") for n, e in methods()]
    for sd in (0.5, 1.0):
        P = plant_drift(L, info, slope_sd=sd, curve_sd=0.6 * sd)
        rows += [
            dict(
                evaluate(n, e, P, info, species, qc, clean=L),
                data=f"MTBLS79 + planted drift (slope sd {sd}, every injection)",
            )
            for n, e in methods()
        ]
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    out = []
    for data, t in df.groupby("data", sort=False):
        err = "error" in t and t["error"].notna().any()
        out.append(f"\n### {data}\n")
        out.append(
            "| method | run-order |r| before -> after (shuffled) | held-out QC RSD (batches aligned) | "
            "species silhouette | batch R2 | " + ("error vs unplanted (x none) | " if err else "") + "fit time |"
        )
        out.append("|---|---|---|---|---|" + ("---|" if err else "") + "---|")
        base = t["error"].iloc[0] if err else None
        for r in t.itertuples():
            e = f"{r.error:.3f} ({r.error / base:.2f}) | " if err else ""
            fit = "" if np.isnan(r.fit_s) else f"{r.fit_s:.1f} s"
            out.append(
                f"| {r.method} | {r.r_before:.3f} -> {r.r_after:.3f} ({r.r_shuffled:.3f}) | {r.qc_rsd:.1f}% "
                f"({r.qc_rsd_aligned:.1f}%) | "
                f"{r.species_silhouette:.3f} | {r.batch_r2:.3f} | {e}{fit} |"
            )
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    df = run(args.data)
    RESULTS.mkdir(parents=True, exist_ok=True)
    df.to_csv(RESULTS / "drift_without_qc.tsv", sep="\t", index=False, float_format="%.6g")
    text = (
        "# Run-order drift without QC injections (MTBLS79)\n\n"
        "Study samples: 134 (8 batches, ~17 per batch); the 38 pooled QCs are held out of every sample-based "
        "fit (rlsc is fit on them). |r|: median over peaks and batches of the within-batch |Spearman r| "
        "with injection order "
        "(`run_order_correlation`); shuffled: the same with the run order permuted within batch (no drift). "
        f"BLAS threads {args.threads}, 2 shared cores.\n" + markdown(df)
    )
    (RESULTS / "drift_without_qc.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
