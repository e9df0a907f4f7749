"""Benchmark: what the baselines (naive, the tree reference) and the clinical block cost the run.

The demo as a user runs it (a fresh clone of a commit, ``snakemake --cores 2`` in it), three ways, in
turn, ``--runs`` times each:

* ``none``: ``evaluation: baselines: []`` (the strategies alone: the run before the baselines);
* ``baselines``: the defaults (naive and trees; clinical needs covariates);
* ``clinical``: the defaults plus two clinical covariates (age, sex, drawn into the sample sheet by this
  script: age ~ N(60 + 6 case, 8), sex 50:50), so every strategy is also scored with them.

With ``--tcga N`` also the TCGA-shaped cohort of ``bench_workflow_scale.py`` (N samples, 41,500
features, 5 x 5 CV of early, mixed, MOFA and late), ``--tcga-runs`` times each of ``--tcga-settings``
(default ``none`` and ``baselines``; ``clinical`` draws age and sex into its sheet as for the demo).

    python bench/bench_baselines.py --runs 3 --tcga 250

Writes bench/results/baselines.tsv (one row per run: cohort, setting, wall, the CPU of the job that
runs the CV) and prints medians and the ratios to ``none``. Run it alone on the machine.
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

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
CPU_LINE = re.compile(r"moflow cpu: startup ([\d.]+) s, read ([\d.]+) s, analysis ([\d.]+) s, write ([\d.]+) s")
SETTINGS = {
    "none": ["evaluation={'baselines': []}"],
    "baselines": [],
    "clinical": ["clinical={'columns': ['age', 'sex']}"],
}


def _cpu(folder: Path) -> float:
    total = 0.0
    for log in (folder / "logs").rglob("*.log"):
        for m in CPU_LINE.finditer(log.read_text()):
            total += sum(float(x) for x in m.groups())
    return total


def run(folder: Path, setting: str, cores: int, snakefile: Path | None = None) -> dict:
    for d in ("results", "logs", "benchmarks", ".snakemake"):
        subprocess.run(["rm", "-rf", str(folder / d)], check=True)
    exe = Path(sys.executable).parent / "snakemake"
    cmd = [str(exe), "--cores", str(cores), "-q"]
    if snakefile is not None:
        cmd += ["-s", str(snakefile)]
    if SETTINGS[setting]:
        cmd += ["--config", *SETTINGS[setting]]
    env = {**os.environ, "PYTHONPATH": str((snakefile.parent if snakefile else folder) / "src")}
    t = time.perf_counter()
    res = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode:
        raise SystemExit(f"{setting} in {folder} failed:\n{res.stderr[-3000:]}")
    board = pd.read_csv(folder / "results" / "evaluate" / "scoreboard.tsv", sep="\t")
    return {"setting": setting, "wall_s": round(wall, 1), "job_cpu_s": round(_cpu(folder), 1), "rows": len(board)}


def add_clinical(sheet_path: Path, seed: int = 5) -> None:
    """Age and sex drawn into the demo's sample sheet (the bench's own copy)."""
    lines = sheet_path.read_text().splitlines(keepends=True)
    comments = [line for line in lines if line.startswith("#")]
    from io import StringIO

    sheet = pd.read_csv(StringIO("".join(line for line in lines if not line.startswith("#"))), sep="\t", dtype=str)
    rng = np.random.default_rng(seed)
    case = (sheet["outcome"] == "case").to_numpy(float)
    qc = sheet.get("sample_type", pd.Series(["sample"] * len(sheet))).eq("qc").to_numpy()
    sheet["age"] = np.where(qc, "", np.round(rng.normal(60 + 6 * case, 8), 1).astype(str))
    sheet["sex"] = np.where(qc, "", rng.choice(["F", "M"], len(sheet)))
    sheet_path.write_text("".join(comments) + sheet.to_csv(sep="\t", index=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--tcga", type=int, default=0, help="also the TCGA-shaped cohort of this many samples")
    ap.add_argument("--tcga-runs", type=int, default=1, help="runs of each setting of the TCGA-shaped cohort")
    ap.add_argument(
        "--tcga-settings", nargs="+", default=["none", "baselines"], choices=list(SETTINGS), help="TCGA settings"
    )
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="moflow_baselines_") as tmp:
        clone = Path(tmp) / "moflow"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", args.commit], check=True)
        # the demo's sheet is simulated by the first run; draw the covariates into it once it exists
        if args.runs:
            first = run(clone, "none", args.cores)
            add_clinical(clone / "config" / "samples.tsv")
            rows.append({"cohort": "demo", "run": 0, **first})
        for r in range(args.runs):
            for setting in ("none", "baselines", "clinical"):
                out = run(clone, setting, args.cores)
                rows.append({"cohort": "demo", "run": r + 1, **out})
                print(rows[-1], flush=True)
        if args.tcga:
            sys.path.insert(0, str(REPO / "bench"))
            from bench_workflow_scale import make_cohort

            folder = make_cohort(Path(tmp) / f"tcga_{args.tcga}", args.tcga)
            if "clinical" in args.tcga_settings:
                add_clinical(folder / "samples.tsv")
            for r in range(args.tcga_runs):  # in turn, so that a slow spell of the machine hits both
                for setting in args.tcga_settings:
                    out = run(folder, setting, args.cores, snakefile=clone / "Snakefile")
                    rows.append({"cohort": f"tcga_{args.tcga}", "run": r + 1, **out})
                    print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table = table[table["run"] > 0]  # run 0 simulated the demo's data (and warmed the caches)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "baselines.tsv"
    if path.exists():  # the cohorts and settings not measured this time keep their rows
        old = pd.read_csv(path, sep="\t")
        measured = set(zip(table["cohort"], table["setting"], strict=True))
        keep = [(c, s) not in measured for c, s in zip(old["cohort"], old["setting"], strict=True)]
        table = pd.concat([old[keep], table], ignore_index=True)
    table.to_csv(path, sep="\t", index=False)
    med = table.groupby(["cohort", "setting"])[["wall_s", "job_cpu_s", "rows"]].median()
    for cohort, d in med.groupby(level=0):
        base = d.loc[(cohort, "none")]
        d = d.assign(wall_ratio=d["wall_s"] / base["wall_s"], cpu_ratio=d["job_cpu_s"] / base["job_cpu_s"])
        print(d.round(3).to_string())


if __name__ == "__main__":
    main()
