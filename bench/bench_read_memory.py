"""Benchmark: memory of the input stage (rule validate_inputs) and of reading one wide layer, TCGA-shaped cohorts.

Each cohort is ``bench_workflow_scale.make_cohort``'s (RNA counts 20,000 genes as a features x samples TSV,
methylation 20,000 probes as a Parquet file moflow wrote, miRNA 1,000 as TSV, proteomics 500 as CSV), and a
second one whose methylation is the Parquet file a user writes with pandas (``df.to_parquet``: samples in
rows, 20,000 float64 columns). Every measurement runs in a fresh process:

* ``validate_inputs``: the job as ``scripts/validate_inputs.py`` runs it, without Snakemake (sheets read,
  ``io.LazyTables``, ``moflow.tasks.validate_inputs``, ``io.write_outputs`` to a temporary folder); its
  peak resident memory, the whole process (what ``/usr/bin/time -v`` reports as maximum resident set size);
* reading the largest layer of each format with the package's reader (``io.read_raw_table``) and with what a
  user would otherwise call (``pandas.read_csv``; ``pyarrow.parquet.read_table().to_pandas()``,
  ``pandas.read_parquet``): the peak above the process's resident memory before the call, and that peak
  over the in-memory size of the DataFrame read (``df.memory_usage(deep=True).sum()``).

    python bench/bench_read_memory.py --sizes 250 500 1000
    python bench/bench_read_memory.py --sizes 1000 --src /tmp/head/src --label before   # another checkout

``--src`` measures the package of another source tree (e.g. ``git archive <commit> src schemas | tar -x -C
/tmp/head``) under ``--label`` (the libraries' own readers are measured, as ``library``, only without it);
rows of other labels already in bench/results/read_memory.tsv are kept, so one table holds before and after.
Writes bench/results/read_memory.tsv and .md. Linux only (peaks from /proc/self/status).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
VARIANTS = ("moflow Parquet", "pandas Parquet")  # how the methylation layer was written


NOTES = """\
## Where the peak came from, and what changed (issue 24)

Before, at 1,000 samples, the job held: the RNA TSV parsed column by column, then concatenated, then
consolidated into one block (about 2.7x the matrix); parse_matrix's `astype(float)` copied every float64
matrix; align_layer copied it twice more (`drop` of no rows, then `.loc` in sheet order); write_matrix a
deep copy before Arrow's own; and a Parquet file of 20,000 columns cost `pyarrow.parquet.read_table` about
six times the matrix (every column's reader at once), `to_pandas` one more. All layers stay in memory until
they are written (the task returns them), so these transient copies stacked on about 0.3 GB of matrices.

After: the text reader parses a block of rows at a time into one preallocated float64 array (blocks of an
eighth of the values, at least 4 MB) and counts fields line by line without a list of every line; a
numeric Parquet file is read a slice of columns at a time (at most 500, about 16 MB) straight into one
float64 array (float32 and integers converted exactly as `astype(float)` converts them; anything else
goes the old way); parse_matrix keeps float64 as read; align_layer copies once, and not at all when the
matrix is already in sheet order; write_matrix shares the values. The outputs (results/inputs/*.parquet,
samples.tsv, summary.tsv) are byte-identical to before on the demo cohort and on both 1,000-sample
cohorts. The Parquet reader now gives float64 (the old one gave the stored float32, which parse_matrix
then copied to float64): hence the larger DataFrame, and the higher absolute read peak at 250 samples.
The small proteomics CSV (500 features) keeps a ratio above 3x: fixed costs of a 4 MB matrix.
"""


def _status() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return out


def _reset_peak() -> float:
    """Reset the peak resident memory of this process (Linux) and return the current resident memory in MiB."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status()["VmRSS"]


def child_job(cohort: str, out: str) -> dict:
    """validate_inputs as scripts/validate_inputs.py runs it (without Snakemake), in the cohort folder."""
    import resource

    import yaml

    os.chdir(cohort)
    from moflow import io
    from moflow.inputs import anndata_sources, check_startup, gene_set_layers
    from moflow.settings import Settings, apply_defaults
    from moflow.tasks import validate_inputs

    settings = Settings.from_config(apply_defaults(yaml.safe_load(Path("config/config.yaml").read_text())))
    _, omics = check_startup(settings, source="config", produced=set(), download_dir="resources/genesets")
    paths = {layer: omics.loc[layer, "path"] for layer in omics["layer"]}
    gmt_layers = gene_set_layers(omics, settings.enrichment)
    outputs = {
        "matrices": [str(Path(out) / f"{layer}.parquet") for layer in paths],
        "samples": str(Path(out) / "samples.tsv"),
        "summary": str(Path(out) / "summary.tsv"),
    }
    t = time.perf_counter()
    raw_omics = io.read_sheet(settings.omics)
    sheet, omics, matrices, summary = validate_inputs(
        io.read_sheet(settings.samples),
        raw_omics,
        io.LazyTables(paths, anndata_sources(raw_omics)),
        settings,
        labels={**paths, "samples": settings.samples, "omics": settings.omics},
        gmt_lines={p: io.read_gmt_lines(p) for p in gmt_layers},
        gmt_layers=gmt_layers,
    )
    io.write_outputs({"matrices": [matrices[k] for k in omics["layer"]], "samples": sheet, "summary": summary}, outputs)
    return {
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": time.perf_counter() - t,
        "result_mb": sum(m.memory_usage(deep=True).sum() for m in matrices.values()) / 2**20,
    }


def child_read(path: str, reader: str) -> dict:
    """Peak memory of reading one file with one reader, above the process's memory before the call."""
    import pandas as pd
    import pyarrow.parquet as pq

    from moflow import io

    sep = "," if path.endswith(".csv") else "\t"
    read = {
        "moflow read_raw_table": lambda: io.read_raw_table(path),
        "pandas.read_csv": lambda: pd.read_csv(path, sep=sep, index_col=0),
        "pyarrow read_table().to_pandas()": lambda: pq.read_table(path).to_pandas(),
        "pandas.read_parquet": lambda: pd.read_parquet(path),
    }[reader]
    base = _reset_peak()
    t = time.perf_counter()
    df = read()
    seconds = time.perf_counter() - t
    peak = _status()["VmHWM"] - base
    size = df.memory_usage(deep=True).sum() / 2**20
    return {"peak_mb": peak, "result_mb": size, "ratio": peak / size, "seconds": seconds, "shape": list(df.shape)}


def _run_child(args: list[str], src: str | None) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    res = subprocess.run(
        [sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True, check=False
    )
    if res.returncode:
        raise RuntimeError(f"child {args} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def make_cohorts(root: Path, n: int) -> dict[str, Path]:
    """The cohort of ``make_cohort`` and its twin whose methylation Parquet pandas wrote (samples in rows)."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_workflow_scale import make_cohort

    from moflow.io import read_matrix

    first, second = root / f"n{n}", root / f"n{n}_pandas_parquet"
    if not (first / "omics.tsv").exists():
        make_cohort(first, n)
    if not (second / "omics.tsv").exists():
        second.mkdir(parents=True, exist_ok=True)
        for f in first.iterdir():
            if f.name != "methylation.parquet" and not (second / f.name).exists():
                (second / f.name).symlink_to(f)
        read_matrix(first / "methylation.parquet").astype("float64").to_parquet(second / "methylation.parquet")
    return dict(zip(VARIANTS, (first, second), strict=True))


def measure(root: Path, sizes: list[int], src: str | None, label: str) -> pd.DataFrame:
    rows = []
    for n in sizes:
        cohorts = make_cohorts(root, n)
        for variant, folder in cohorts.items():
            out = root / f"out_{label}_{n}_{variant.split()[0]}"
            r = _run_child(["job", str(folder), str(out)], src)
            rows.append(
                {
                    "label": label,
                    "samples": n,
                    "what": "validate_inputs job",
                    "format": f"methylation: {variant}",
                    "file_mb": sum(
                        f.stat().st_size for f in folder.iterdir() if f.suffix in (".tsv", ".csv", ".parquet")
                    )
                    / 2**20,
                    "reader": "moflow (whole job, process peak)",
                    **r,
                    "ratio": float("nan"),
                }
            )
            print(rows[-1], flush=True)
        files = [
            ("TSV text", cohorts[VARIANTS[0]] / "rna_counts.tsv", ["moflow read_raw_table", "pandas.read_csv"]),
            ("CSV text", cohorts[VARIANTS[0]] / "proteomics.csv", ["moflow read_raw_table", "pandas.read_csv"]),
        ] + [
            (
                variant,
                cohorts[variant] / "methylation.parquet",
                ["moflow read_raw_table", "pyarrow read_table().to_pandas()", "pandas.read_parquet"],
            )
            for variant in VARIANTS
        ]
        for fmt, path, readers in files:
            for reader in readers:
                if src and not reader.startswith("moflow"):
                    continue  # the libraries do not change with the package
                r = _run_child(["read", str(path), reader], src)
                r.pop("shape")
                rows.append(
                    {
                        "label": label if reader.startswith("moflow") else "library",
                        "samples": n,
                        "what": "read one layer",
                        "format": fmt,
                        "file_mb": path.stat().st_size / 2**20,
                        "reader": reader,
                        **r,
                    }
                )
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    labels = list(dict.fromkeys(table["label"]))
    jobs = table[table["what"] == "validate_inputs job"]
    job_labels = list(dict.fromkeys(jobs["label"]))
    lines = [
        "# Memory of the input stage (rule validate_inputs) and of reading one layer",
        "",
        "`python bench/bench_read_memory.py` (see its docstring); measured on a machine with 2 cores, 23 GB of memory;",
        f"labels: {', '.join(labels)}. Cohorts: `bench_workflow_scale.make_cohort` (RNA 20,000 genes TSV,",
        "methylation 20,000 probes Parquet, miRNA 1,000 TSV, proteomics 500 CSV); 'pandas Parquet': the same",
        "cohort with methylation written by pandas `to_parquet` (samples in rows, 20,000 float64 columns).",
        "",
        "## validate_inputs: peak resident memory of the whole job (MB)",
        "",
        "| samples | methylation file | " + " | ".join(job_labels) + " |",
        "|---|---|" + "---|" * len(job_labels),
    ]
    for (n, fmt), g in jobs.groupby(["samples", "format"], sort=True):
        cells = [
            f"{g.loc[g['label'] == lb, 'peak_mb'].iloc[0]:,.0f}" if (g["label"] == lb).any() else ""
            for lb in job_labels
        ]
        lines.append(f"| {n:,} | {fmt.split(': ')[1]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Reading the largest layer of each format: peak above the memory before the call, and that peak",
        "over the in-memory size of the DataFrame read (ratio)",
        "",
        "| samples | format (file MB) | reader | label | peak MB | DataFrame MB | ratio | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    reads = table[table["what"] == "read one layer"]
    for _, r in reads.sort_values(["samples", "format", "reader", "label"]).iterrows():
        lines.append(
            f"| {r['samples']:,} | {r['format']} ({r['file_mb']:.0f}) | {r['reader']} | {r['label']} | "
            f"{r['peak_mb']:,.0f} | {r['result_mb']:,.0f} | {r['ratio']:.2f}x | {r['seconds']:.2f} |"
        )
    lines += ["", *NOTES.splitlines()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000])
    ap.add_argument("--root", type=Path, default=Path("/tmp/bench_read_memory"))
    ap.add_argument("--src", help="measure the package of this source tree (its src folder)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        print(json.dumps(child_job(*rest) if kind == "job" else child_read(*rest)))
        return
    table = measure(args.root, args.sizes, args.src, args.label)
    OUT.mkdir(parents=True, exist_ok=True)
    tsv = OUT / "read_memory.tsv"
    if tsv.exists():
        old = pd.read_csv(tsv, sep="\t")
        kept = (old["label"] != args.label) & ((old["label"] != "library") | bool(args.src))
        table = pd.concat([old[kept], table], ignore_index=True)
    table.to_csv(tsv, sep="\t", index=False, float_format="%.4g", lineterminator="\n")
    (OUT / "read_memory.md").write_text(markdown(table))
    print(markdown(table))


if __name__ == "__main__":
    main()
