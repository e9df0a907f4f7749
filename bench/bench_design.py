"""The design stage (issue 14): what it adds to a run, and its learning-curve fit beside SciPy's.

Part 1 (the stage in the workflow): the demo's config on demo-shaped cohorts (RNA counts 2,000 genes,
proteomics 500, metabolomics 200 with QC injections, 3 batches; 5 x 2 nested CV, every strategy) of 150
and 1,000 samples, each run twice with ``snakemake --cores 2`` from a folder of its own, once with
``design: enabled: false`` and once with the stage on (fresh results each time): the run's wall time,
the design jobs' wall and CPU seconds and their largest peak memory (Snakemake's benchmark files).

Part 2 (the inverse power law fit): ``moflow.design.samplesize``'s fit by variable projection (exact (a, b) for
each exponent c, c searched on a refined grid) against the same weighted bounded least squares by
``scipy.optimize.curve_fit`` (trust region reflective, started from the best of 24 grid values of c:
moflow's previous implementation), on planted curves with 5 x 3, 10 x 4 and 25 x 6 (splits x training
sizes) points, 500 bootstrap fits each: seconds and the weighted SSE of both fits.

    python bench/bench_design.py                 # both parts: bench/results/design.md, design.tsv
    python bench/bench_design.py --fit-only      # part 2 only (a minute)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
# the design stage runs in the report job (with the scoreboard, enrichment, export and page): its
# numbers are that job's, measured with the stage off and on
DESIGN_RULES = ("report",)


# ---------------------------------------------------------------------------------------------
# part 1: the stage in the workflow
# ---------------------------------------------------------------------------------------------


def make_folder(folder: Path, n: int, design: bool) -> None:
    """The demo's config and sheets in ``folder``, the cohort simulated at ``n`` samples."""
    import yaml

    from moflow import io
    from moflow.demo import simulate_cohort

    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(REPO / "config", folder / "config")
    cfg = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    cfg["demo"]["n_samples"] = n
    cfg["design"] = {"enabled": design}
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    cohort = simulate_cohort(**cfg["demo"])
    demo = folder / "resources" / "demo"
    paths = {
        "rna": demo / "rna_counts.tsv",
        "protein": demo / "proteomics.csv",
        "metabolomics": demo / "metabolomics.parquet",
        "samples": demo / "samples.tsv",
        "gene_sets": demo / "genesets.gmt",
        "factors": demo / "truth" / "factors.tsv",
        "loadings": demo / "truth" / "loadings.tsv",
        "gene_set_truth": demo / "truth" / "gene_sets.tsv",
    }
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    io.write_demo_cohort(cohort, {k: str(v) for k, v in paths.items()})
    shutil.copy(paths["samples"], folder / "config" / "samples.tsv")  # the demo's sheet, in step with n


def run_workflow(folder: Path, cores: int) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            str(cores),
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(folder),
            "--rerun-triggers",
            "mtime",
            "--quiet",
            "rules",
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(f"snakemake failed in {folder}:\n{proc.stderr[-3000:]}")
    rows = []
    for f in sorted((folder / "benchmarks").rglob("*.tsv")):
        b = pd.read_csv(f, sep="\t").iloc[-1]
        rel = f.relative_to(folder / "benchmarks")
        rows.append(
            {
                "rule": rel.parts[0] if len(rel.parts) > 1 else rel.stem,
                "wall_s": float(b["s"]),
                "cpu_s": float(b["cpu_time"]),
                "max_rss_mb": float(b["max_rss"]),
            }
        )
    jobs = pd.DataFrame(rows)
    d = jobs[jobs["rule"].isin(DESIGN_RULES)]
    return {
        "wall_s": wall,
        "jobs": len(jobs),
        "cpu_s": float(jobs["cpu_s"].sum()),
        "design_jobs": len(d),
        "design_wall_s": float(d["wall_s"].sum()),
        "design_cpu_s": float(d["cpu_s"].sum()),
        "design_max_rss_mb": float(d["max_rss_mb"].max()) if len(d) else np.nan,
        "per_rule": d.groupby("rule").agg(
            jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"), max_rss_mb=("max_rss_mb", "max")
        ),
    }


def part_stage(sizes, root: Path, cores: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, rules = [], []
    for n in sizes:
        for design in (False, True):
            folder = root / f"n{n}_{'design' if design else 'plain'}"
            make_folder(folder, n, design)
            res = run_workflow(folder, cores)
            print(f"n={n} design={design}: {res['wall_s']:.0f} s, {res['jobs']} jobs", flush=True)
            rows.append({"n_samples": n, "design": design, **{k: v for k, v in res.items() if k != "per_rule"}})
            if design:
                rules.append(res["per_rule"].reset_index().assign(n_samples=n))
            if design:
                size = pd.read_csv(folder / "results" / "design" / "sample_size.tsv", sep="\t")
                print(size.to_string(index=False), flush=True)
    return pd.DataFrame(rows), pd.concat(rules, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# part 2: the fit
# ---------------------------------------------------------------------------------------------


def fit_curve_fit(n, y, sign, a_bounds):
    """moflow's previous fit: the best of 24 grid values of c starts SciPy's bounded curve_fit."""
    from scipy.optimize import OptimizeWarning, curve_fit

    from moflow.design.samplesize import _curve, _sigma

    sigma = _sigma(n, y)
    w = 1.0 / sigma**2
    best, start = np.inf, None
    for c in np.geomspace(0.05, 3.0, 24):
        x = np.power(n, -c)
        design = np.column_stack([np.ones_like(x), x]) * np.sqrt(w)[:, None]
        coef, *_ = np.linalg.lstsq(design, y * np.sqrt(w), rcond=None)
        a, b = coef[0], -sign * coef[1]
        sse = float(np.sum(w * (y - _curve(n, a, b, c, sign)) ** 2))
        if b > 0 and a_bounds[0] <= a <= a_bounds[1] and sse < best:
            best, start = sse, (a, b, c)
    if start is None:
        a0 = float(np.clip(y.max() if sign > 0 else y.min(), *a_bounds))
        start = (a0, max(abs(a0 - y.mean()), 1e-3) * np.sqrt(n.min()), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        params, _ = curve_fit(
            lambda nn, a, b, c: _curve(nn, a, b, c, sign),
            n,
            y,
            p0=start,
            sigma=sigma,
            bounds=([a_bounds[0], 1e-12, 1e-3], [a_bounds[1], np.inf, 5.0]),
            maxfev=5000,
        )
    return params


def wsse(n, y, params, sign):
    from moflow.design.samplesize import _curve, _sigma

    return float(np.sum((y - _curve(n, *params, sign)) ** 2 / _sigma(n, y) ** 2))


def part_fit(n_boot: int = 500) -> pd.DataFrame:
    from moflow.design.samplesize import _fit_once

    rows = []
    for splits, levels in ((5, 3), (10, 4), (25, 6)):
        rng = np.random.default_rng(splits)
        sizes = np.geomspace(40, 400, levels).round()
        n = np.repeat(sizes, splits)
        y = np.clip(0.92 - 1.5 * n**-0.6 + rng.normal(0, 0.03, len(n)), 0, 1)
        groups = np.tile(np.arange(splits), levels)
        picks = [
            np.concatenate([np.flatnonzero(groups == g) for g in rng.integers(0, splits, splits)])
            for _ in range(n_boot)
        ]
        for name, fn in (("variable projection (moflow)", _fit_once), ("curve_fit TRF (SciPy)", fit_curve_fit)):
            t = time.perf_counter()
            sse, failed = [], 0
            for p in picks:
                try:
                    sse.append(wsse(n[p], y[p], fn(n[p], y[p], 1.0, (0.0, 1.0)), 1.0))
                except (RuntimeError, ValueError):
                    failed += 1
                    sse.append(np.nan)
            rows.append(
                {
                    "points": f"{splits} x {levels}",
                    "method": name,
                    "fits": n_boot,
                    "seconds": time.perf_counter() - t,
                    "failed": failed,
                    "sse": np.array(sse),
                }
            )
    out = pd.DataFrame(rows)
    ref = {r["points"]: r["sse"] for _, r in out.iterrows() if r["method"].startswith("curve_fit")}
    out["sse_ratio_median"] = [float(np.nanmedian(r["sse"] / ref[r["points"]])) for _, r in out.iterrows()]
    out["fits_with_lower_sse_than_curve_fit"] = [
        int(np.sum(r["sse"] < ref[r["points"]] * (1 - 1e-6))) for _, r in out.iterrows()
    ]
    out["fits_with_higher_sse_than_curve_fit"] = [
        int(np.sum(r["sse"] > ref[r["points"]] * (1 + 1e-6))) for _, r in out.iterrows()
    ]
    return out.drop(columns="sse")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit-only", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[150, 1000])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--root", default="/tmp/moflow_bench_design")
    args = ap.parse_args()
    fit = part_fit()
    print(fit.to_string(index=False), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    md = ["# The design stage", "", "Written by `bench/bench_design.py`.", ""]
    if not args.fit_only:
        stage, rules = part_stage(args.sizes, Path(args.root), args.cores)
        stage.to_csv(OUT / "design.tsv", sep="\t", index=False)
        rules.to_csv(OUT / "design_rules.tsv", sep="\t", index=False)
        md += [
            f"## What the stage adds to a run (snakemake --cores {args.cores})",
            "",
            stage.to_markdown(index=False, floatfmt=".1f"),
            "",
            "Design jobs per rule:",
            "",
            rules.to_markdown(index=False, floatfmt=".1f"),
            "",
        ]
    fit.to_csv(OUT / "design_fit.tsv", sep="\t", index=False)
    md += [
        "## The learning-curve fit: variable projection beside curve_fit",
        "",
        fit.to_markdown(index=False, floatfmt=".3g"),
        "",
    ]
    (OUT / "design.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
