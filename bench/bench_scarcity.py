"""Data scarcity: what augmentation adds to the evaluation's time, and what `synthesize` costs, on the demo.

For each demo size (``--sizes``; 150 is the shipped demo), a copy of the workflow simulates the demo and
checks its inputs (Snakemake, once); then, in this process, every CV split is evaluated as the cv_fold jobs
evaluate them (:func:`moflow.tasks.cv_fold`) with ``evaluation: augment`` ``[none]``, ``[none, smote]`` and
``[none, smote, latent]``, and the synthetic cohort is made as rule synthesize makes it
(:func:`moflow.tasks.synthesize`). Beside moflow's SMOTE step, imbalanced-learn's ``SMOTE.fit_resample`` on
the same concatenated training side (what a user would call) times the draw alone.

    python bench/bench_scarcity.py --sizes 150 300 --repeats 2

One untimed warm-up split first; then the three settings in turn, ``--repeats`` rounds, medians.

Writes bench/results/scarcity.md and scarcity.tsv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"


def _workdir(root: Path, n: int) -> Path:
    folder = root / f"demo{n}"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for f in files:
        if f.startswith(("tests/", "bench/")) or not (REPO / f).is_file():
            continue
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, folder / f)
    cfg = yaml.safe_load((folder / "config/config.yaml").read_text()) or {}
    cfg.setdefault("demo", {})["n_samples"] = n
    (folder / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    exe = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    # the simulated sheet of this size replaces config's (the 150 samples' sheet)
    subprocess.run([exe, "--cores", "1", "resources/demo/samples.tsv"], cwd=folder, check=True, capture_output=True)
    shutil.copy2(folder / "resources/demo/samples.tsv", folder / "config/samples.tsv")
    res = subprocess.run(
        [exe, "--cores", "2", "results/inputs/samples.tsv"], cwd=folder, capture_output=True, text=True
    )
    if res.returncode:
        raise SystemExit(f"demo of {n} samples: the inputs failed:\n{res.stderr[-3000:]}")
    return folder


def _measure(folder: Path, repeats: int) -> list[dict]:
    from imblearn.over_sampling import SMOTE

    from moflow import io
    from moflow.evaluate import split_members
    from moflow.scarcity import augment_layers
    from moflow.settings import Settings, apply_defaults
    from moflow.tasks import cv_fold, cv_splits, load_cohort, synthesize

    os.chdir(folder)
    config = apply_defaults(yaml.safe_load(Path("config/config.yaml").read_text()))
    samples, omics = io.read_sheet("results/inputs/samples.tsv"), io.read_sheet("config/omics.tsv")
    raw = {layer: io.read_matrix(f"results/inputs/{layer}.parquet") for layer in omics["layer"]}
    rows = []
    settings = {}
    for methods in (["none"], ["none", "smote"], ["none", "smote", "latent"]):
        config["evaluation"]["augment"] = methods
        settings[tuple(methods)] = Settings.from_config(config)
    s = settings[("none",)]
    splits = cv_splits(samples, omics, s)["splits"]
    names = list(dict.fromkeys(splits["split"]))
    cv_fold(raw, splits, names[:1], samples, omics, s)  # warm-up (imports, caches): not timed
    times = {m: [] for m in settings}
    for _ in range(repeats):  # the settings in turn, so that a slow spell of the machine hits each alike
        for methods, s in settings.items():
            t = time.perf_counter()
            cv_fold(raw, splits, names, samples, omics, s)
            times[methods].append(time.perf_counter() - t)
    base = float(pd.Series(times[("none",)]).median())
    for methods, ts in times.items():
        sec = float(pd.Series(ts).median())
        rows.append(
            {
                "step": "evaluation (every CV split)",
                "setting": "augment: [" + ", ".join(methods) + "]",
                "seconds": sec,
                "runs": ", ".join(f"{x:.1f}" for x in ts),
                "vs_none": sec / base,
            }
        )
    config["evaluation"]["augment"] = ["none", "smote", "latent"]
    s = Settings.from_config(config)
    cohort = load_cohort(samples, omics, s)
    train, _ = split_members(splits, names[0])
    y = cohort.y.loc[[t for t in train if t in cohort.y.index]]
    layers = {n: X.reindex(y.index).dropna(axis=1, how="all") for n, X in raw.items()}
    layers = {n: X.fillna(X.mean()) for n, X in layers.items()}
    for label, fn in (
        ("moflow augment_layers smote", lambda: augment_layers(layers, y, "smote", seed=0)),
        (
            "imbalanced-learn SMOTE.fit_resample",
            lambda: SMOTE(random_state=0).fit_resample(pd.concat(list(layers.values()), axis=1).to_numpy(), y),
        ),
        ("moflow augment_layers latent", lambda: augment_layers(layers, y, "latent", seed=0)),
    ):
        t = time.perf_counter()
        for _ in range(5):
            fn()
        rows.append({"step": "one split's draw", "setting": label, "seconds": (time.perf_counter() - t) / 5})
    rows += _distances(layers)
    paths = {n: f"results/synthetic/layers/{n}.tsv" for n in raw}
    t = time.perf_counter()
    out = synthesize(raw, samples, omics, s, paths)
    rows.append(
        {
            "step": "synthesize (in process)",
            "setting": f"{len(out['samples'])} samples",
            "seconds": time.perf_counter() - t,
        }
    )
    exe = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    t = time.perf_counter()
    subprocess.run([exe, "--cores", "2", "synthesize", "-f"], cwd=folder, check=True, capture_output=True)
    rows.append(
        {"step": "snakemake synthesize (job, start-up included)", "setting": "", "seconds": time.perf_counter() - t}
    )
    q = out["quality"]
    for _, r in q.iterrows():
        rows.append(
            {
                "step": "quality",
                "setting": f"{r['aspect']}: {r['check']} ({r['scope']})",
                "value": r["value"],
                "reference": r["reference"],
                "passed": bool(r["passed"]),
            }
        )
    return rows


def _distances(layers: dict) -> list[dict]:
    """The fidelity table's per-feature distances: moflow's one pass against scipy's calls feature by feature."""
    from scipy.stats import ks_2samp, wasserstein_distance

    from moflow.scarcity import normal_scores, two_sample_distances

    X = pd.concat(list(layers.values()), axis=1)
    half = len(X) // 2
    A, B = normal_scores(X.iloc[:half], X.iloc[:half]), normal_scores(X.iloc[:half], X.iloc[half:])

    def scipy_loop():
        return [
            (ks_2samp(A[:, j], B[:, j]).statistic, wasserstein_distance(A[:, j], B[:, j])) for j in range(A.shape[1])
        ]

    out, res = [], {}
    for label, fn in (
        ("moflow two_sample_distances", lambda: two_sample_distances(A, B)),
        ("scipy ks_2samp + wasserstein_distance per feature", scipy_loop),
    ):
        t = time.perf_counter()
        res[label] = fn()
        out.append(
            {"step": f"KS and Wasserstein, {A.shape[1]} features", "setting": label, "seconds": time.perf_counter() - t}
        )
    ks, w = res["moflow two_sample_distances"]
    ref = np.asarray(res["scipy ks_2samp + wasserstein_distance per feature"])
    out[0]["value"] = float(max(np.abs(ks - ref[:, 0]).max(), np.abs(w - ref[:, 1]).max()))  # largest difference
    return out


def main():
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[150, 300])
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = _workdir(Path(tmp), n)
            rows = _measure(folder, args.repeats)
            frames.append(pd.DataFrame(rows).assign(samples=n))
            os.chdir(REPO)
            _write(pd.concat(frames, ignore_index=True))


def _write(table: pd.DataFrame) -> None:
    cols = ["samples", "step", "setting", "seconds", "runs", "vs_none", "value", "reference", "passed"]
    table = table[[c for c in cols if c in table.columns]]
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "scarcity.tsv", sep="\t", index=False, float_format="%.3f")
    md = table.fillna("").to_markdown(index=False, floatfmt=".3f")
    (OUT / "scarcity.md").write_text(
        "# Data scarcity on the demo (bench/bench_scarcity.py)\n\n2 cores, BLAS threads 1; seconds are wall time.\n\n"
        + md
        + "\n"
    )
    print(md, flush=True)


if __name__ == "__main__":
    main()
