"""Benchmark: the demo as a new user first meets it, one commit beside another.

For each commit: a fresh clone in a temporary folder, then the README's demo command
(``snakemake --cores 2`` in the clone, the package imported from the clone's own ``src/``), timed from
start to exit; then every job's CPU accounting (the ``moflow cpu: startup, read, analysis, write``
line each job's log ends with) summed, and the jobs counted. "Outside" is the share of the jobs' CPU
spent starting up (interpreter, Snakemake's script preamble, every import), reading and writing.

    python bench/bench_demo_feedback.py --commits 980fae3 HEAD --runs 3

Writes bench/results/demo_feedback.tsv (one row per commit and run) and prints medians. Run it alone
on the machine: every other process steals from the two cores the demo uses.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
CPU_LINE = re.compile(r"moflow cpu: startup ([\d.]+) s, read ([\d.]+) s, analysis ([\d.]+) s, write ([\d.]+) s")


def run_demo(commit: str, cores: int = 2) -> dict:
    """One fresh clone of ``commit``, its demo run, and what the jobs' logs say."""
    with tempfile.TemporaryDirectory(prefix="moflow_demo_") as tmp:
        clone = Path(tmp) / "moflow"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", commit], check=True)
        env = {**os.environ, "PYTHONPATH": str(clone / "src")}
        exe = Path(sys.executable).parent / "snakemake"
        t = time.perf_counter()
        cmd = [str(exe), "--cores", str(cores), "-q"]
        res = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if res.returncode:
            raise RuntimeError(f"demo of {commit} failed:\n{res.stderr[-3000:]}")
        parts = [0.0, 0.0, 0.0, 0.0]
        jobs = 0
        for log in (clone / "logs").rglob("*.log"):
            for m in CPU_LINE.finditer(log.read_text()):
                jobs += 1
                parts = [a + float(b) for a, b in zip(parts, m.groups(), strict=True)]
        startup, read, analysis, write = parts
        total = sum(parts)
        sha = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "commit": sha.stdout.strip(),
        "wall_s": round(wall, 1),
        "jobs": jobs,
        "cpu_s": round(total, 1),
        "startup_s": round(startup, 1),
        "read_s": round(read, 2),
        "analysis_s": round(analysis, 1),
        "write_s": round(write, 2),
        "outside_pct": round(100 * (startup + read + write) / total, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", nargs="+", default=["HEAD"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    rows = []
    for run in range(args.runs):  # interleaved, so that a slow minute of the machine hits every commit
        for commit in args.commits:
            row = {"run": run + 1, **run_demo(commit, args.cores)}
            print(row, flush=True)
            rows.append(row)
    table = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "demo_feedback.tsv", sep="\t", index=False)
    print(table.drop(columns="run").groupby("commit", sort=False).median().to_string())


if __name__ == "__main__":
    main()
