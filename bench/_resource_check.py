"""Requests the rules' current resource numbers give the jobs of finished bench runs, against use.

    python bench/_resource_check.py /tmp/moflow_scale 250 500 1000   # -> bench/results/workflow_resources.md

The requests come from the rules' own functions (a forced dry run of each finished run,
``bench_workflow_scale.planned_jobs``), the use from each job's Snakemake benchmark file: a changed
rule needs no change here.
"""

import sys
from pathlib import Path

import pandas as pd
from bench_workflow_scale import job_table, planned_jobs, requests_per_rule

REPO = Path(__file__).resolve().parents[1]


def main():
    root, sizes = Path(sys.argv[1]), sys.argv[2:]
    frames = []
    for n in sizes:
        folder = root / f"n{n}"
        j = job_table(folder).merge(planned_jobs(folder, 2).drop(columns="rule"), on="job", how="left")
        frames.append(j.assign(samples=int(n)))
    t = pd.concat(frames, ignore_index=True).rename(columns={"max_rss_mb": "peak_rss_mb"})
    t["mem_ratio"] = t["mem_mb_requested"] / t["peak_rss_mb"]
    t["runtime_ratio"] = t["runtime_min_requested"] * 60 / t["wall_s"]
    g = requests_per_rule(t, by=("rule", "samples"), rss="peak_rss_mb", wall="wall_s")
    (REPO / "bench" / "results" / "workflow_resources.md").write_text(g.to_markdown(index=False, floatfmt=".3g") + "\n")
    g.to_csv(REPO / "bench" / "results" / "workflow_resources.tsv", sep="\t", index=False, float_format="%.4g")
    print(g.to_string())
    print(
        "memory: requests within [1, 2] x peak RSS for every job:",
        bool(((t["mem_ratio"] >= 1) & (t["mem_ratio"] <= 2)).all()),
    )


if __name__ == "__main__":
    main()
