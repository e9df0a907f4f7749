"""Benchmark: subtype discovery (moflow.subtypes.discover) on TCGA-shaped cohorts, beside the silhouette choice.

For each size of ``--samples``, a TCGA-shaped cohort (``moflow.demo.simulate_tcga_like``: RNA and miRNA
counts, methylation, proteins; 41,500 features) is brought to complete log-scale layers the simple way
(log2 counts per million, missing proteins set to the protein's mean), then :func:`discover` runs with
its defaults (k = 2..8, k-means, Gaussian mixture, Ward and spectral clustering on the per-layer
components and on the fused network's embedding, 20 halvings per k). Reported: wall and CPU time, the
k chosen and why.

Beside it, what peers do: k chosen by the best silhouette on the full data (k-means on the same
components; MOVICS, MOFA2 users), timed, on the same cohort and on a reference of no structure (a
Gaussian with the components' covariance) where the honest answer is k = 1, which the silhouette cannot
give.

    python bench/bench_subtypes.py --samples 250 1000

Writes bench/results/subtypes.tsv and prints it.

With ``--stage N [N ...]``, the workflow's subtype stage instead, as a user without an outcome runs it: the
TCGA-shaped cohort of ``bench_workflow_scale.py`` (N samples) in a folder of its own with a config that
names no outcome; first the stages it needs (inputs, fit_cohort: preprocessing and MOFA), then, timed on
their own, the stage's jobs (``subtype_resamples`` jobs side by side, then ``subtypes``), ``--cores``
cores, the defaults otherwise (the schema's `subtypes: resamples` and `resamples_per_job`; components,
network and MOFA; four clusterings; k 2-8). Writes bench/results/subtypes_stage.tsv (one row per size: the
stage's wall time, its jobs' CPU and peak memory, k and why).

    python bench/bench_subtypes.py --stage 250 1000
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "bench" / "results"


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _layers(n: int, seed: int) -> dict:
    from moflow.demo import simulate_tcga_like

    c = simulate_tcga_like(n_samples=n, seed=seed)
    out = {}
    for name, X in c.layers.items():
        X = X.astype(float)
        if name in ("rna", "mirna"):  # counts: log2 counts per million
            X = np.log2(X.div(X.sum(axis=1), axis=0) * 1e6 + 1)
        X = X.loc[:, X.notna().any()]  # a protein never measured: left out
        out[name] = X.fillna(X.mean())
    return out


def _silhouette_k(Z: np.ndarray, k_max: int, seed: int) -> int:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    scores = {
        k: silhouette_score(Z, KMeans(k, n_init=10, random_state=seed).fit_predict(Z)) for k in range(2, k_max + 1)
    }
    return max(scores, key=scores.get)


STAGE_CONFIG = """\
samples: samples.tsv
omics: omics.tsv
seed: 42
enrichment:
  gene_sets: {sim: genesets.gmt}
"""


def stage(sizes: list[int], cores: int, seed: int) -> None:
    """The workflow's subtype stage at each size (see the module)."""
    import os
    import subprocess
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_workflow_scale import job_table, make_cohort

    repo = Path(__file__).resolve().parents[1]
    exe = Path(sys.executable).parent / "snakemake"
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="moflow_subtypes_") as tmp:
            folder = make_cohort(Path(tmp) / f"tcga_{n}", n, seed=seed)
            (folder / "config" / "config.yaml").write_text(STAGE_CONFIG)
            base = [str(exe), "--cores", str(cores), "-q", "-s", str(repo / "Snakefile")]

            def smk(*targets, folder=folder, base=base):
                res = subprocess.run([*base, *targets], cwd=folder, env=env, capture_output=True, text=True)
                if res.returncode:
                    raise SystemExit(f"snakemake {' '.join(targets)} failed:\n{res.stderr[-4000:]}")

            smk("results/integrate/mofa/factors.tsv", "results/preprocess/rna.parquet")
            t = time.perf_counter()
            smk("results/subtypes/summary.tsv")
            wall = time.perf_counter() - t
            jobs = job_table(folder)
            jobs = jobs[jobs["rule"].isin(["subtype_resamples", "subtypes"])]
            summary = pd.read_csv(folder / "results" / "subtypes" / "summary.tsv", sep="\t")
            rows.append(
                {
                    "samples": n,
                    "cores": cores,
                    "stage_wall_s": round(wall, 1),
                    "jobs": len(jobs),
                    "jobs_cpu_s": round(float(jobs["cpu_s"].sum()), 1),
                    "resample_job_wall_s": "/".join(
                        str(round(v, 1)) for v in jobs.loc[jobs["rule"] == "subtype_resamples", "wall_s"]
                    ),
                    "subtypes_job_wall_s": round(float(jobs.loc[jobs["rule"] == "subtypes", "wall_s"].sum()), 1),
                    "peak_rss_mb": round(float(jobs["max_rss_mb"].max()), 0),
                    "k": int(summary["k"].iloc[0]),
                    "representation": summary["representation"].fillna("").iloc[0],
                    "why": summary["why"].iloc[0],
                }
            )
            print(rows[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(OUT / "subtypes_stage.tsv", sep="\t", index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", nargs="+", type=int, default=[250, 1000])
    ap.add_argument("--stage", nargs="+", type=int, default=None, help="the workflow's stage at these sizes")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    if args.stage:
        stage(args.stage, args.cores, args.seed)
        return
    from moflow.subtypes import choose_k, discover, k_evidence, layer_components

    rows = []
    for n in args.samples:
        layers = _layers(n, args.seed)
        features = sum(X.shape[1] for X in layers.values())

        def timed(data: str, method: str, run, n=n, features=features) -> None:
            """Run ``run()`` (returning k and why), timed, as one row of the table."""
            cpu, t = _cpu(), time.perf_counter()
            k, why = run()
            wall, cpu = round(time.perf_counter() - t, 1), round(_cpu() - cpu, 1)
            row = {"samples": n, "features": features, "data": data, "method": method}
            rows.append(row | {"wall_s": wall, "cpu_s": cpu, "k": k, "why": why})
            print(rows[-1], flush=True)

        def found(layers=layers):
            out = discover(layers, seed=0)
            return out["k"], out["why"]

        timed("TCGA-shaped", "moflow discover (8 combinations, k 2-8, 20 halvings)", found)
        Z = layer_components(layers).to_numpy(float)
        null = np.random.default_rng(0).multivariate_normal(Z.mean(axis=0), np.cov(Z, rowvar=False), size=len(Z))
        for data, M in (("TCGA-shaped", Z), ("Gaussian reference, no structure", null)):
            timed(
                data,
                "silhouette on the full data (k-means, components)",
                lambda M=M: (_silhouette_k(M, 8, 0), "the best silhouette of k 2-8 (k = 1 cannot be its answer)"),
            )
        timed(
            "Gaussian reference, no structure",
            "moflow k_evidence + choose_k (k-means, components)",
            lambda null=null: choose_k(k_evidence(null, k_max=8, clustering="kmeans", seed=0)),
        )
    table = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "subtypes.tsv", sep="\t", index=False)
    print(table.drop(columns="why").to_string(index=False))


if __name__ == "__main__":
    main()
