"""Requests the rules' current resource numbers give the jobs of finished bench runs, against use.

    python bench/_resource_check.py /tmp/moflow_scale 250 500 1000   # -> bench/results/workflow_resources.md
"""
import math
import re
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def rule_numbers() -> dict:
    text = "\n".join(p.read_text() for p in sorted((REPO / "rules").glob("*.smk")))
    blocks = re.split(r"^rule (\w+):\n", text, flags=re.M)
    out = {}
    for rule, body in zip(blocks[1::2], blocks[2::2]):
        m = re.search(r"mem_mb_for\(base=([\d.]+)(?:, per_input_mb=([\d.]+))?(?:, per_mcell=([\d.]+))?\)", body)
        r = re.search(r"runtime_for\(base=([\d.]+)(?:, per_input_mb=([\d.]+))?(, times=n_(?:design_)?splits)?\)",
                      body)
        if m and r:
            out[rule] = (float(m.group(1)), float(m.group(2) or 0), float(r.group(1)), float(r.group(2) or 0),
                         bool(r.group(3)), float(m.group(3) or 0))
    return out


def main():
    root, sizes = Path(sys.argv[1]), sys.argv[2:]
    nums = rule_numbers()
    jobs = pd.concat([pd.read_csv(root / f"n{n}" / "jobs.tsv", sep="\t") for n in sizes])
    rows = []
    for _, j in jobs.iterrows():
        mb, ms, rb, rs, per_split, mc = nums[j["rule"]]
        cells = 0.0
        if mc:
            import pyarrow.parquet as pq

            run = root / f"n{j['samples']}" / "results"
            if "/" in j["job"]:  # preprocess_layer: the layer's validated matrix
                files = [run / "inputs" / f"{j['job'].split('/')[1]}.parquet"]
            else:  # export_mudata: every preprocessed layer
                files = sorted((run / "preprocess").glob("*.parquet"))
            cells = sum(m.num_rows * m.num_columns for m in map(pq.read_metadata, files)) / 1e6
        mem = math.ceil((mb + ms * j["input_mb"] + mc * cells) / 256) * 256
        # splits per job in the runs: cv_fold 5 (evaluation: splits_per_job); design_fold one split a job
        # (before this session's change, 5: its jobs.tsv names the job part1 only)
        n = (5 if j["rule"] == "cv_fold" or j["job"].endswith("part1") and j["rule"] == "design_fold"
             and not (root / f"n{j['samples']}" / "benchmarks" / "design_fold" / "part2.tsv").exists()
             else 1) if per_split else 1
        rt = max(1, math.ceil((rb + rs * j["input_mb"]) * n))
        rows.append({"rule": j["rule"], "samples": j["samples"], "input_mb": j["input_mb"],
                     "peak_rss_mb": j["max_rss_mb"], "mem_mb_requested": mem, "mem_ratio": mem / j["max_rss_mb"],
                     "wall_s": j["wall_s"], "runtime_min_requested": rt, "runtime_ratio": rt * 60 / j["wall_s"]})
    t = pd.DataFrame(rows)
    g = t.groupby(["rule", "samples"]).agg(jobs=("rule", "size"), input_mb=("input_mb", "max"),
                                           peak_rss_mb=("peak_rss_mb", "max"),
                                           mem_mb_requested=("mem_mb_requested", "max"),
                                           mem_ratio_min=("mem_ratio", "min"), mem_ratio_max=("mem_ratio", "max"),
                                           wall_s=("wall_s", "max"),
                                           runtime_min_requested=("runtime_min_requested", "max"),
                                           runtime_ratio_min=("runtime_ratio", "min"),
                                           runtime_ratio_max=("runtime_ratio", "max")).reset_index()
    (REPO / "bench" / "results" / "workflow_resources.md").write_text(g.to_markdown(index=False, floatfmt=".3g") + "\n")
    g.to_csv(REPO / "bench" / "results" / "workflow_resources.tsv", sep="\t", index=False, float_format="%.4g")
    print(g.to_string())
    print("memory: requests within [1, 2] x peak RSS for every job:",
          bool(((t["mem_ratio"] >= 1) & (t["mem_ratio"] <= 2)).all()))


if __name__ == "__main__":
    main()
