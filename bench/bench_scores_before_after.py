"""Scores before and after the scale work (issue 12) on the 1,000-sample TCGA-shaped cohort.

"Before": the workflow before the scale work (commit e5faf28: one cv_preprocess job per split, one cv_predict job
per split x strategy), run on the cohort's folder to its 200 prediction tables:

    git worktree add /tmp/oldcode e5faf28
    cd <cohort> && PYTHONPATH=/tmp/oldcode/src snakemake -s /tmp/oldcode/Snakefile --cores 2 \\
        --rerun-triggers=mtime -- results/evaluate/folds/{r1f1,...}/pred_{strategy}.tsv

"After": a finished run of this workflow on a copy of the same cohort
(``bench/bench_workflow_scale.py``). Both runs draw the same splits (``results/evaluate/splits.tsv``,
checked here), and both sets of predictions are scored by this package's scoring code, so the table
compares the models, not the scorers.

    python bench/bench_scores_before_after.py <before folder> <after folder>

Writes bench/results/workflow_scores_before_after.md / .tsv.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import pandas as pd
import yaml

from moflow import io
from moflow.settings import Settings, apply_defaults
from moflow.tasks import score

OUT = Path(__file__).resolve().parent / "results"


def main(before: str, after: str) -> None:
    if (Path(before) / "results/evaluate/splits.tsv").read_bytes() != (
        Path(after) / "results/evaluate/splits.tsv"
    ).read_bytes():
        raise SystemExit("the two runs drew different splits")
    cfg = yaml.safe_load(open(f"{after}/config/config.yaml"))
    cfg["samples"], cfg["omics"] = f"{after}/samples.tsv", f"{after}/omics.tsv"
    settings = Settings.from_config(apply_defaults(cfg))
    raw_samples = io.read_sheet(f"{after}/results/inputs/samples.tsv")
    raw_omics = io.read_sheet(f"{after}/omics.tsv")
    old = [io.read_table(p) for p in sorted(glob.glob(f"{before}/results/evaluate/folds/*/pred_*.tsv"))]
    b_old = score(old, raw_samples, raw_omics, settings)["scoreboard"].set_index("strategy")
    new = io.read_table(f"{after}/results/evaluate/predictions.tsv")
    b_new = score([new], raw_samples, raw_omics, settings)["scoreboard"].set_index("strategy")
    rows = []
    for s in b_new.index:
        o, n = b_old.loc[s], b_new.loc[s]
        rows.append(
            {
                "strategy": s,
                "before": f"{o.balanced_accuracy:.4f} [{o.balanced_accuracy_lo:.3f}, {o.balanced_accuracy_hi:.3f}]",
                "after": f"{n.balanced_accuracy:.4f} [{n.balanced_accuracy_lo:.3f}, {n.balanced_accuracy_hi:.3f}]",
                "difference": n.balanced_accuracy - o.balanced_accuracy,
                "after_inside_before_interval": bool(
                    o.balanced_accuracy_lo <= n.balanced_accuracy <= o.balanced_accuracy_hi
                ),
                "roc_auc_before": o.roc_auc,
                "roc_auc_after": n.roc_auc,
            }
        )
    t = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    t.to_csv(OUT / "workflow_scores_before_after.tsv", sep="\t", index=False, float_format="%.4f")
    (OUT / "workflow_scores_before_after.md").write_text(
        f"# Scores before / after on the {len(raw_samples)}-sample TCGA-shaped cohort "
        f"({len(old)} prediction tables before)\n\nBalanced accuracy, mean over the 25 splits "
        "[corrected 95% interval]; both scored by this package.\n\n" + t.to_markdown(index=False, floatfmt=".4f") + "\n"
    )
    print(t.to_string(index=False))


if __name__ == "__main__":
    main(*sys.argv[1:3])
