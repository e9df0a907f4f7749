"""Benchmark: the whole workflow (Snakemake, every job) on TCGA-shaped simulated cohorts.

Each cohort (``moflow.demo.simulate.simulate_tcga_like``): RNA-seq counts 20,000 genes (features x samples
TSV), methylation beta 20,000 probes (Parquet), miRNA counts 1,000 (TSV), proteomics 500 with ~16%
missing (CSV); binary outcome 1:2, four batches; ``evaluation: folds 5, repeats 5``, every strategy;
enrichment of the simulated gene sets. The workflow runs as a user runs it
(``snakemake --cores N -s <repo>/Snakefile --directory <cohort>``), then the script reads every job's
Snakemake benchmark file (CPU seconds, peak resident memory) and the CPU accounting each job's log
ends with (``moflow cpu: startup ..., read ..., analysis ..., write ...``), and the memory and time
each job asked for (``snakemake --summary`` cannot say: the requests are recomputed here with the
rule's own functions through a dry run's job list).

    python bench/bench_workflow_scale.py --sizes 250 500 1000 --cores 2
    python bench/bench_workflow_scale.py --sizes 250 --make-only --root /tmp/scale   # cohort only

Writes bench/results/workflow_scale.tsv / .md (one row per size) and workflow_rules.tsv (per rule
and size: jobs, CPU seconds, largest peak memory, the memory and runtime requested).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
CONFIG = """\
samples: samples.tsv
omics: omics.tsv
seed: 42
outcome: {{column: outcome, positive: case}}
evaluation: {{folds: {folds}, repeats: {repeats}, strategies: [early, mixed, mofa, late]}}
enrichment:
  gene_sets: {{sim: genesets.gmt}}
"""
OMICS = """\
layer\tkind\tpath\torientation\tbatch_column\thas_qc\tlog_scale\tgene_ids
rna\trnaseq_counts\trna_counts.tsv\tfeatures_in_rows\tbatch\tfalse\tfalse\tsymbol
methylation\tmethylation_beta\tmethylation.parquet\tsamples_in_rows\tbatch\tfalse\tfalse\tnone
mirna\trnaseq_counts\tmirna_counts.tsv\tfeatures_in_rows\tbatch\tfalse\tfalse\tnone
protein\tproteomics_intensity\tproteomics.csv\tsamples_in_rows\tbatch\tfalse\ttrue\tsymbol
"""
CPU_LINE = re.compile(r"moflow cpu: startup ([\d.]+) s, read ([\d.]+) s, analysis ([\d.]+) s, write ([\d.]+) s")


def make_cohort(folder: Path, n_samples: int, *, folds: int = 5, repeats: int = 5, seed: int = 11) -> Path:
    """Write a TCGA-shaped cohort and its config into ``folder`` (a user's own folder)."""
    from moflow.demo import simulate_tcga_like
    from moflow.io import write_gmt, write_matrix

    folder.mkdir(parents=True, exist_ok=True)
    c = simulate_tcga_like(n_samples=n_samples, seed=seed)
    rna = c.layers["rna"].T
    rna.index.name = "gene"
    rna.to_csv(folder / "rna_counts.tsv", sep="\t", lineterminator="\n")
    write_matrix(c.layers["methylation"], folder / "methylation.parquet")
    mir = c.layers["mirna"].T
    mir.index.name = "mirna"
    mir.to_csv(folder / "mirna_counts.tsv", sep="\t", lineterminator="\n")
    prot = c.layers["protein"].copy()
    prot.index.name = "sample"
    prot.to_csv(folder / "proteomics.csv", na_rep="NA", float_format="%.4f", lineterminator="\n")
    c.sheet.to_csv(folder / "samples.tsv", sep="\t", index=False, lineterminator="\n")
    write_gmt(c.gene_sets, folder / "genesets.gmt")
    (folder / "omics.tsv").write_text(OMICS)
    (folder / "config").mkdir(exist_ok=True)
    (folder / "config" / "config.yaml").write_text(CONFIG.format(folds=folds, repeats=repeats))
    return folder


def rule_of(bench_file: Path, root: Path) -> str:
    """The rule a Snakemake benchmark file under ``root`` belongs to: ``benchmarks/<rule>.tsv`` or
    ``benchmarks/<rule>/<wildcards>.tsv``."""
    rel = bench_file.relative_to(root / "benchmarks")
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def job_table(folder: Path) -> pd.DataFrame:
    """One row per job: rule, wall and CPU seconds and peak RSS (Snakemake's benchmark file,
    ``benchmarks/<rule>.tsv`` or ``benchmarks/<rule>/<wildcards>.tsv``)."""
    rows = []
    for f in sorted((folder / "benchmarks").rglob("*.tsv")):
        b = pd.read_csv(f, sep="\t").iloc[-1]
        rel = f.relative_to(folder / "benchmarks")
        rows.append(
            {
                "rule": rule_of(f, folder),
                "job": str(rel.with_suffix("")),
                "wall_s": float(b["s"]),
                "cpu_s": float(b["cpu_time"]),
                "max_rss_mb": float(b["max_rss"]),
            }
        )
    return pd.DataFrame(rows)


def cpu_accounting(folder: Path) -> pd.DataFrame:
    """The CPU accounting line of every job's log (startup, read, analysis, write seconds)."""
    rows = []
    for log in sorted((folder / "logs").rglob("*.log")):
        hit = CPU_LINE.findall(log.read_text(errors="replace"))
        if hit:
            rows.append(
                {
                    "log": str(log.relative_to(folder)),
                    **dict(zip(("startup", "read", "analysis", "write"), map(float, hit[-1]))),
                }
            )
    return pd.DataFrame(rows)


def planned_jobs(folder: Path, cores: int) -> pd.DataFrame:
    """Every job of the finished run as Snakemake plans it (a forced dry run, the inputs now on
    disk): rule, benchmark file, input size (MB, as ``input.size_mb``) and the memory (MB) and
    runtime (minutes) it asks for."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "-F",
            "--cores",
            str(cores),
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(folder),
        ],
        capture_output=True,
        text=True,
    )
    rows = []
    for block in re.split(r"\n(?=\[[^\n]*\]\n(?:local)?rule )", out.stdout + out.stderr):
        rule = re.search(r"^(?:local)?rule (\w+):", block, flags=re.M)
        bench = re.search(r"^\s+benchmark: (\S+)", block, flags=re.M)
        res = re.search(r"^\s+resources: (.*)$", block, flags=re.M)
        if not (rule and bench and res):
            continue
        inputs = re.search(r"^\s+input: (.*)$", block, flags=re.M)
        files = [f.strip() for f in inputs.group(1).split(",")] if inputs else []
        size = sum((folder / f).stat().st_size for f in files if (folder / f).is_file()) / 1024 / 1024
        kv = dict(x.split("=", 1) for x in res.group(1).split(", ") if "=" in x)

        def number(key, kv=kv):  # '<TBD>': Snakemake defers a request whose input another job of the DAG writes
            v = kv.get(key, "nan")
            return float(v) if v.replace(".", "", 1).isdigit() else float("nan")

        rows.append(
            {
                "rule": rule.group(1),
                "job": str(Path(bench.group(1)).relative_to("benchmarks").with_suffix("")),
                "input_mb": size,
                "mem_mb_requested": number("mem_mb"),
                "runtime_min_requested": number("runtime"),
            }
        )
    return pd.DataFrame(rows)


def run(folder: Path, cores: int) -> dict:
    for d in ("results", "benchmarks", "logs", ".snakemake"):
        subprocess.run(["rm", "-rf", str(folder / d)], check=True)
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
            "--quiet",
            "rules",
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    (folder / "snakemake.out").write_text(proc.stdout + proc.stderr)
    # the workflow's own process (DAG, scheduling) and its jobs: getrusage of the children
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"workflow failed in {folder} (see {folder / 'snakemake.out'})")
    return {"wall_s": wall, "all_cpu_s": ru.ru_utime + ru.ru_stime - before.ru_utime - before.ru_stime}


def summarise(folder: Path, n: int, measured: dict, cores: int) -> tuple[dict, pd.DataFrame]:
    jobs = job_table(folder)
    acct = cpu_accounting(folder)
    board = pd.read_csv(folder / "results" / "evaluate" / "scoreboard.tsv", sep="\t")
    best = board.iloc[0]
    # job CPU from the jobs' own accounting (process CPU time, every thread): Snakemake's benchmark
    # files sample CPU time now and then and miss most of a short job's
    job_cpu = acct[["startup", "read", "analysis", "write"]].to_numpy().sum() if len(acct) else np.nan
    row = {
        "samples": n,
        "cores": cores,
        "jobs": len(jobs),
        "wall_min": measured["wall_s"] / 60,
        "job_cpu_min": job_cpu / 60,
        "snakemake_cpu_min": (measured["all_cpu_s"] - job_cpu) / 60,
        "largest_rss_mb": jobs["max_rss_mb"].max(),
        "largest_rss_job": jobs.loc[jobs["max_rss_mb"].idxmax(), "job"],
    }
    if len(acct):
        total = acct[["startup", "read", "analysis", "write"]].sum()
        row.update(
            {
                "accounted_jobs": len(acct),
                "startup_cpu_s": total["startup"],
                "read_write_cpu_s": total["read"] + total["write"],
                "analysis_cpu_s": total["analysis"],
                "outside_analysis_pct": 100 * (1 - total["analysis"] / total.sum()),
            }
        )
    row.update({"best_strategy": best["strategy"], "best_balanced_accuracy": best["balanced_accuracy"]})
    return row, jobs


def requests_per_rule(
    jobs: pd.DataFrame, by=("rule",), rss: str = "max_rss_mb", wall: str = "max_wall_s"
) -> pd.DataFrame:
    """Per rule (and the other ``by`` columns): the number of jobs, the largest input, peak RSS and wall
    time, the largest requests, and the smallest and largest request / use ratios (``mem_ratio``,
    ``runtime_ratio`` per job). ``rss`` / ``wall``: the names of the peak-RSS column (in and out) and of
    the wall-time column out."""
    extra = {"input_mb": ("input_mb", "max")} if "input_mb" in jobs.columns else {}
    return (
        jobs.groupby(list(by))
        .agg(
            jobs=(by[0], "size"),
            **extra,
            **{rss: (rss, "max")},
            mem_mb_requested=("mem_mb_requested", "max"),
            mem_ratio_min=("mem_ratio", "min"),
            mem_ratio_max=("mem_ratio", "max"),
            **{wall: ("wall_s", "max")},
            runtime_min_requested=("runtime_min_requested", "max"),
            runtime_ratio_min=("runtime_ratio", "min"),
            runtime_ratio_max=("runtime_ratio", "max"),
        )
        .reset_index()
    )


def calibrate(jobs: pd.DataFrame, margin: float = 1.4) -> pd.DataFrame:
    """Per rule, the ``mem_mb_for`` / ``runtime_for`` numbers (base, per input MB) that put every
    measured job's request near ``margin`` x what it used: a least-squares line through
    (input MB, margin x peak RSS) and (input MB, margin x wall minutes) over all sizes; the ratios
    the rounded requests would give are reported beside them."""
    rows = []
    for rule, d in jobs.groupby("rule"):
        x = d["input_mb"].to_numpy(float)
        out = {"rule": rule}
        for what, used, step, floor in (
            ("mem", d["max_rss_mb"].to_numpy(float), 256, 256),
            ("runtime", d["wall_s"].to_numpy(float) / 60, 1, 1),
        ):
            target = margin * used
            slope, base = np.polyfit(x, target, 1) if np.ptp(x) > 0 else (0.0, target.mean())
            slope = max(slope, 0.0)
            base = max(base, float(np.min(target - slope * x)) if slope == 0 else base)
            req = np.maximum(floor, np.ceil((base + slope * x) / step) * step)
            out.update(
                {
                    f"{what}_base": round(float(base), 2 if what == "runtime" else 0),
                    f"{what}_per_input_mb": round(float(slope), 3),
                    f"{what}_ratio_min": float((req / used).min()),
                    f"{what}_ratio_max": float((req / used).max()),
                }
            )
        rows.append(out)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--root", type=Path, default=Path("/tmp/moflow_scale"))
    ap.add_argument("--make-only", action="store_true")
    ap.add_argument("--summarise-only", action="store_true", help="tables from finished runs under --root")
    ap.add_argument("--tag", default="", help="suffix of the result files (e.g. _before)")
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="suggest every rule's resource numbers from the jobs.tsv of the runs under --root",
    )
    a = ap.parse_args()
    if a.calibrate:
        jobs = pd.concat([pd.read_csv(a.root / f"n{n}" / "jobs.tsv", sep="\t") for n in a.sizes])
        print(calibrate(jobs).to_string(index=False))
        return
    rows, per_rule = [], []
    for n in a.sizes:
        folder = a.root / f"n{n}"
        if not a.summarise_only:
            if not (folder / "config" / "config.yaml").exists():
                make_cohort(folder, n)
            if a.make_only:
                continue
            (folder / "wall.json").write_text(json.dumps(run(folder, a.cores)))
        row, jobs = summarise(folder, n, json.loads((folder / "wall.json").read_text()), a.cores)
        rows.append(row)
        print(pd.Series(row).to_string(), flush=True)
        plan = planned_jobs(folder, a.cores)
        jobs = jobs.merge(plan.drop(columns="rule"), on="job", how="left")
        jobs["mem_ratio"] = jobs["mem_mb_requested"] / jobs["max_rss_mb"]
        jobs["runtime_ratio"] = jobs["runtime_min_requested"] * 60 / jobs["wall_s"]
        jobs.assign(samples=n).to_csv(folder / "jobs.tsv", sep="\t", index=False)
        per_rule.append(requests_per_rule(jobs).assign(samples=n))
    if a.make_only:
        return
    table = pd.DataFrame(rows)
    rules = pd.concat(per_rule, ignore_index=True)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / f"workflow_scale{a.tag}.tsv", sep="\t", index=False, float_format="%.4g")
    rules.to_csv(OUT / f"workflow_rules{a.tag}.tsv", sep="\t", index=False, float_format="%.4g")
    (OUT / f"workflow_scale{a.tag}.md").write_text(
        table.to_markdown(index=False, floatfmt=".3g") + "\n\n" + rules.to_markdown(index=False, floatfmt=".4g") + "\n"
    )
    print(table.to_string())


if __name__ == "__main__":
    main()
