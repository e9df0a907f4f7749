"""Benchmark: the model bundle of a TCGA-shaped cohort (size, fit, load) and scoring new samples with it.

A TCGA-shaped cohort (``bench_workflow_scale.make_cohort``: 41,500 features in four layers, binary outcome,
four batches) of ``--train`` samples is checked as the input stage checks it, and each strategy of
``--strategies`` is refit and saved as the report job's step ``model`` does (``moflow.tasks.fit_model``,
``predictor: strategy`` naming it). A second cohort of ``--new`` samples (another seed: new patients from
the same batches) is then scored from a folder of its own, as a user scores it:
``snakemake -s <repo>/Snakefile predict --cores 2 --config model=<bundle>`` (wall time of the whole
command, Snakemake's start-up included), and in-process (``moflow.tasks.predict_samples``: reading the
matrices, aligning, preprocessing and predicting).

    python bench/bench_predict.py --train 1000 --new 1000 --strategies early late

Writes bench/results/predict.tsv (one row per strategy) and prints it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
sys.path.insert(0, str(REPO / "bench"))


def _inputs(folder: Path):
    """The cohort of ``folder`` checked as the input stage checks it (run inside the folder: relative paths)."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return _checked(folder)
    finally:
        os.chdir(cwd)


def _checked(folder: Path):
    from moflow import io
    from moflow.inputs import anndata_sources
    from moflow.settings import Settings, apply_defaults
    from moflow.tasks import validate_inputs

    config = apply_defaults(yaml.safe_load((folder / "config" / "config.yaml").read_text()))
    settings = Settings.from_config(config)
    samples, omics = io.read_sheet(folder / "samples.tsv"), io.read_sheet(folder / "omics.tsv")
    paths = {r["layer"]: str(folder / r["path"]) for _, r in omics.iterrows()}
    sheet, _, matrices, _ = validate_inputs(samples, omics, io.LazyTables(paths, anndata_sources(omics)), settings)
    return settings, config, sheet, omics, matrices


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--new", type=int, default=1000)
    ap.add_argument("--strategies", nargs="+", default=["early", "late"])
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    from bench_workflow_scale import make_cohort

    from moflow import io
    from moflow.model import load_bundle
    from moflow.tasks import fit_model, predict_samples

    rows = []
    with tempfile.TemporaryDirectory(prefix="moflow_predict_") as tmp:
        train = make_cohort(Path(tmp) / "train", args.train, seed=11)
        new = make_cohort(Path(tmp) / "new", args.new, seed=12)
        settings, config, sheet, omics, matrices = _inputs(train)
        # the new folder: the sheet without the outcome, an omics sheet naming the matrices
        (new / "config").mkdir(exist_ok=True)
        new_sheet = io.read_sheet(new / "samples.tsv").drop(columns=["outcome"])
        new_sheet.to_csv(new / "config" / "samples.tsv", sep="\t", index=False)
        new_omics = io.read_sheet(new / "omics.tsv")[["layer", "path"]]
        new_omics.to_csv(new / "config" / "omics.tsv", sep="\t", index=False)
        (new / "config" / "config.yaml").unlink()
        for strategy in args.strategies:
            s = replace(settings, predictor=replace(settings.predictor, strategy=strategy))
            board = pd.DataFrame({"strategy": [strategy], "kind": ["integration"]})
            t = time.perf_counter()
            # no CV here: the bundle's prediction sets get no calibration rows (every class in every set);
            # their thresholds cost nothing at scoring time either way
            none = pd.DataFrame(columns=["split", "strategy", "sample", "y_true"])
            out = fit_model(matrices, board, none, sheet, omics, s, config=config)
            fit_s = time.perf_counter() - t
            folder = Path(tmp) / f"model_{strategy}"
            folder.mkdir()
            io.write_bytes(out["bundle"], folder / "bundle.pkl")
            io.write_json(out["manifest"], folder / "bundle.json")
            t = time.perf_counter()
            bundle = load_bundle(io.read_bytes(folder / "bundle.pkl"), io.read_json(folder / "bundle.json"))
            load_s = time.perf_counter() - t
            del bundle
            t = time.perf_counter()
            paths = {r["layer"]: str(new / r["path"]) for _, r in new_omics.iterrows()}
            res = predict_samples(
                io.read_bytes(folder / "bundle.pkl"),
                io.read_json(folder / "bundle.json"),
                new_sheet,
                new_omics,
                io.LazyTables(paths),
                bundle_path=str(folder / "bundle.pkl"),
                samples_path="samples",
                omics_path="omics",
            )
            inproc_s = time.perf_counter() - t
            for d in ("results", "logs", "benchmarks", ".snakemake"):
                shutil.rmtree(new / d, ignore_errors=True)
            exe = Path(sys.executable).parent / "snakemake"
            cmd = [str(exe), "-s", str(REPO / "Snakefile"), "predict", "--cores", str(args.cores), "-q"]
            cmd += ["--config", f"model={folder / 'bundle.pkl'}"]
            t = time.perf_counter()
            run = subprocess.run(cmd, cwd=new, capture_output=True, text=True)
            wall = time.perf_counter() - t
            if run.returncode:
                raise SystemExit(run.stderr[-3000:])
            bench = pd.read_csv(new / "benchmarks" / "predict.tsv", sep="\t").iloc[-1]
            scored = io.read_table(new / "results" / "predict" / "predictions.tsv")
            rows.append(
                {
                    "strategy": strategy,
                    "train_samples": args.train,
                    "new_samples": args.new,
                    "input_features": sum(v["input_features"] for v in out["manifest"]["layers"].values()),
                    "fit_s": round(fit_s, 1),
                    "bundle_mb": round(out["manifest"]["bytes"] / 2**20, 1),
                    "load_s": round(load_s, 2),
                    "score_in_process_s": round(inproc_s, 1),
                    "predict_command_wall_s": round(wall, 1),
                    "predict_job_max_rss_mb": round(float(bench["max_rss"]), 0),
                    "scored": int(scored["notes"].fillna("").str.contains("not scored").eq(False).sum()),
                    "agree_in_process": bool(
                        res["predictions"]["sample"].tolist() == scored["sample"].astype(str).tolist()
                    ),
                }
            )
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "predict.tsv", sep="\t", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
