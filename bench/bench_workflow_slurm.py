"""Benchmark: the TCGA-shaped cohort through a real Slurm scheduler with ``--profile profiles/slurm``.

What a cluster user runs: every job a Slurm job (sbatch with the rule's threads, mem_mb and runtime),
and the evaluation split the way a cluster wants it (``evaluation: splits_per_job: 1``: one cv_fold
job per CV split, 25 for 5 x 5, and one design_fold job per split of the first repeat). A single-node
cluster on loopback (``tools/slurm/start.sh``: Debian's slurmctld, slurmd and munge; root) stands in
for the cluster, so every job waits in Slurm's queue for the CPUs and memory it asked for.

    python bench/bench_workflow_slurm.py --cohort /tmp/moflow_scale/n1000 --local /tmp/moflow_scale/n1000

``--cohort``: a folder written by ``bench_workflow_scale.py`` (its input files are copied, its config
gets ``splits_per_job``); ``--local``: a finished local run of the same cohort whose result tables are
compared with the Slurm run's, byte for byte. Writes bench/results/workflow_slurm.md / .tsv (the run)
and workflow_slurm_rules.tsv (per rule: jobs, peak RSS, wall, the requests and their ratios).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_workflow_scale import OUT, REPO, planned_jobs, requests_per_rule, summarise

INPUTS = (
    "samples.tsv",
    "omics.tsv",
    "rna_counts.tsv",
    "methylation.parquet",
    "mirna_counts.tsv",
    "proteomics.csv",
    "genesets.gmt",
)


def tables(folder: Path) -> dict[str, Path]:
    """The deterministic result tables (TSV, Parquet) of a run, by relative path; per-job fold tables
    (their names follow splits_per_job) and the provenance left out."""
    out = {}
    for p in sorted((folder / "results").rglob("*")):
        rel = str(p.relative_to(folder))
        if p.suffix in (".tsv", ".parquet") and "/folds/" not in rel and "/design/folds/" not in rel:
            out[rel] = p
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cohort", type=Path, required=True)
    ap.add_argument("--local", type=Path, help="a finished local run of the same cohort, to compare tables with")
    ap.add_argument("--work", type=Path, default=Path("/tmp/moflow_slurm_bench"))
    ap.add_argument("--splits-per-job", type=int, default=1)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    run = a.work / "run"
    (run / "config").mkdir(parents=True)
    for f in INPUTS:
        shutil.copy(a.cohort / f, run / f)
    config = (a.cohort / "config" / "config.yaml").read_text()
    config = config.replace("evaluation: {", f"evaluation: {{splits_per_job: {a.splits_per_job}, ", 1)
    (run / "config" / "config.yaml").write_text(config)
    n = sum(1 for _ in open(run / "samples.tsv")) - 1

    cluster = a.work / "cluster"
    subprocess.run([str(REPO / "tools" / "slurm" / "start.sh"), str(cluster)], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, SLURM_CONF=str(cluster / "slurm.conf"))
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # jobs run snakemake from the same environment
    try:
        import resource

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(REPO / "Snakefile"),
                "--directory",
                str(run),
                "--profile",
                str(REPO / "profiles" / "slurm"),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        subprocess.run([str(REPO / "tools" / "slurm" / "stop.sh"), str(cluster)], stdout=subprocess.DEVNULL)
    log = proc.stdout + proc.stderr
    (a.work / "snakemake.out").write_text(log)
    if proc.returncode:
        raise SystemExit(f"the Slurm run failed (see {a.work / 'snakemake.out'})")
    # the jobs ran on the node, not as children of this process: their CPU comes from their own logs
    measured = {"wall_s": wall, "all_cpu_s": ru.ru_utime + ru.ru_stime - before.ru_utime - before.ru_stime}
    row, jobs = summarise(run, n, measured, cores=2)
    row.pop("snakemake_cpu_min", None)
    row["slurm_jobs"] = log.count("submitted with SLURM jobid")
    row["splits_per_job"] = a.splits_per_job
    if a.local:
        mine, theirs = tables(run), tables(a.local)
        common = sorted(set(mine) & set(theirs))
        same = [r for r in common if mine[r].read_bytes() == theirs[r].read_bytes()]
        row.update(
            {
                "tables_compared": len(common),
                "tables_identical": len(same),
                "tables_differing": ", ".join(sorted(set(common) - set(same))) or "none",
                "only_in_one_run": ", ".join(sorted(set(mine) ^ set(theirs))) or "none",
            }
        )
    plan = planned_jobs(run, 2)
    jobs = jobs.merge(plan.drop(columns="rule"), on="job", how="left")
    jobs["mem_ratio"] = jobs["mem_mb_requested"] / jobs["max_rss_mb"]
    jobs["runtime_ratio"] = jobs["runtime_min_requested"] * 60 / jobs["wall_s"]
    rules = requests_per_rule(jobs.drop(columns="input_mb", errors="ignore"))
    OUT.mkdir(exist_ok=True)
    table = pd.DataFrame([row])
    table.to_csv(OUT / f"workflow_slurm{a.tag}.tsv", sep="\t", index=False, float_format="%.4g")
    rules.to_csv(OUT / f"workflow_slurm_rules{a.tag}.tsv", sep="\t", index=False, float_format="%.4g")
    (OUT / f"workflow_slurm{a.tag}.md").write_text(
        table.T.to_markdown(headers=["", "value"], floatfmt=".4g")
        + "\n\n"
        + rules.to_markdown(index=False, floatfmt=".4g")
        + "\n"
    )
    print(table.T.to_string())
    print(rules.to_string(index=False))


if __name__ == "__main__":
    main()
