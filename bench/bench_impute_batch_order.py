"""Benchmark: does imputation bring back the batch structure that batch correction removed? (issue 11)

The same layer through the kind's default chain in two step orders: the old one (filter -> batch ->
impute -> scale) and the new default (filter -> impute -> batch -> scale), with several imputation
methods. Three variants: the old code (batch correction, then imputation pooled over batches), the
new order with pooled imputation, and the new code, where the MAR methods (knn, mean, and those among
auto's candidates) impute within batch (each feature's batch offsets taken out and put back:
``WithinBatch``); the left-censored methods impute in the measured scale in both. After every step, the
batch and outcome silhouettes and the share of the top PCs' variance explained by batch / outcome
(:func:`moflow.preprocess.diagnostics.step_diagnostics`, what the steps table of the workflow reports;
cells still missing count as the feature's mean there).

Layers:

* planted: 90 samples x 300 features in 3 batches (per-feature batch shifts, sd 0.8, and batch b3
  1 log2 unit lower overall), an outcome effect on 30 features, then left-censoring by one detection
  limit, so that b3 loses more values (about 28% against 16%); three seeds, and the oracle (the
  complete values through the same chain);
* UbiLength with planted batches: the 12 samples' replicate number as batch, per-protein shifts
  (sd 0.8) and batch 3 at -1 log2, re-censored with the layer's own censoring model (the published
  set has no batches: replicate explains nothing, silhouette -0.10);
* the simulated demo cohort's proteomics layer (3 batches, left-censored);
* MTBLS79 (8 batches, metabolomics default chain: PQN, QC-RLSC, filter, ...).

Run from the repository root::

    python bench/bench_impute_batch_order.py         # bench/results/impute_batch_order.md, .tsv
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _realdata import data_dir, mtbls79, ubilength
from scipy import special

from moflow.preprocess import LayerPreprocessor, layer_settings, missingness_model, step_diagnostics

RESULTS = Path(__file__).resolve().parent / "results"
OLD = ["normalize", "qc_drift", "filter", "batch", "impute", "scale"]
NEW = ["normalize", "qc_drift", "filter", "impute", "batch", "scale"]


def planted(seed: int, n: int = 90, p: int = 300, shift_sd: float = 0.8, low_batch: float = -1.0, missing: float = 0.2):
    """(X with left-censored missing values, sample sheet, outcome, complete values)."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i:03d}" for i in range(n)]
    b = np.arange(n) % 3
    case = rng.random(n) < 0.5
    V = (
        rng.normal(24, 2, p)
        + rng.normal(0, shift_sd, (3, p))[b]
        + np.array([0, 0, low_batch])[b][:, None]
        + rng.normal(0, 0.5, (n, p))
    )
    V[:, :30] += 1.0 * case[:, None]
    limit = np.quantile(V, missing) + rng.normal(0, 0.5, V.shape)
    cols = [f"f{j}" for j in range(p)]
    X = pd.DataFrame(np.where(V < limit, np.nan, V), index=idx, columns=cols)
    info = pd.DataFrame(
        {
            "sample": idx,
            "sample_type": "sample",
            "batch": np.array(["b1", "b2", "b3"])[b],
            "injection_order": np.arange(1, n + 1),
        },
        index=idx,
    )
    y = pd.Series(np.where(case, "case", "control"), index=idx)
    return X, info, y, pd.DataFrame(V, index=idx, columns=cols)


def ubilength_with_batches(d: Path, seed: int = 0, shift_sd: float = 0.8, low_batch: float = -1.0):
    X, y = ubilength(d)
    meta = pd.read_csv(d / "dep_ubilength" / "metadata.csv", index_col=0).reindex(X.index)
    b = meta["replicate"].astype(int).to_numpy() - 1
    X = X.loc[:, X.notna().sum() >= 2]
    model = missingness_model(X)
    rng = np.random.default_rng(seed)
    V = X.to_numpy(float) + rng.normal(0, shift_sd, (3, X.shape[1]))[b] + np.array([0, 0, low_batch])[b][:, None]
    # the shifted values go missing with the layer's own detection model
    lost = rng.random(V.shape) < special.ndtr((model["threshold"] - np.nan_to_num(V, nan=-np.inf)) / model["spread"])
    V = np.where(lost, np.nan, V)
    info = pd.DataFrame(
        {
            "sample": X.index,
            "sample_type": "sample",
            "batch": [f"r{i + 1}" for i in b],
            "injection_order": np.arange(1, len(X) + 1),
        },
        index=X.index,
    )
    return pd.DataFrame(V, index=X.index, columns=X.columns), info, y


class _Pooled(LayerPreprocessor):
    """The chain with the imputer of the old code: pooled over batches (no WithinBatch)."""

    def _build(self):
        from moflow.preprocess import make_imputer

        opts = dict(self.settings["impute"])
        method = opts.pop("method")
        return [(n, make_imputer(method, opts, seed=self.seed) if n == "impute" else st) for n, st in super()._build()]


def chain_trace(kind, X, info, y, order, impute, log_scale, pooled=False):
    settings = layer_settings(kind, {"impute": impute} if impute else None)
    settings["order"] = [s for s in order if s in settings]
    if kind == "proteomics_intensity":
        settings["filter"] = {"min_observed": 0.5}
    cls = _Pooled if pooled else LayerPreprocessor
    pp = cls(kind, settings, info=info, batch_column="batch", log_scale=log_scale, layer=kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, trace = pp.fit_trace(X, y)
    table, _ = step_diagnostics(trace, batch=info["batch"], outcome=y)
    chosen = getattr(pp.named_step("impute"), "chosen_", "")
    return table.set_index("stage"), chosen


def run(data: str | None, seeds) -> pd.DataFrame:
    d = data_dir(data)
    layers = []
    for s in seeds:
        X, info, y, truth = planted(s)
        layers.append((f"planted, seed {s}", "proteomics_intensity", X, info, y, True, truth))
    if d is not None and (d / "dep_ubilength").is_dir():
        X, info, y = ubilength_with_batches(d)
        layers.append(("UbiLength, planted batches", "proteomics_intensity", X, info, y, True, None))
    from moflow.demo import simulate_cohort

    c = simulate_cohort(seed=7)
    sheet = c.sheet.set_index("sample", drop=False)
    y = sheet.loc[sheet["outcome"] != "", "outcome"]
    layers.append(
        (
            "simulated demo proteomics",
            "proteomics_intensity",
            c.layers["protein"],
            sheet.drop(columns="outcome"),
            y,
            True,
            None,
        )
    )
    if d is not None and (d / "mtbls79_dims_metabolomics").is_dir():
        X, info, species = mtbls79(d)
        layers.append(("MTBLS79 (metabolomics)", "metabolomics_intensity", X, info, species, False, None))
    rows = []
    for name, kind, X, info, y, log_scale, truth in layers:
        methods = (
            {
                "minprob (old default)": {"method": "minprob"},
                "auto (new default)": None,
                "halfmin": {"method": "halfmin"},
                "knn": {"method": "knn"},
            }
            if kind == "proteomics_intensity"
            else {"halfmin (default)": None, "auto": {"method": "auto"}}
        )
        for label, impute in methods.items():
            method = (impute or layer_settings(kind)["impute"])["method"]
            mar = method in ("knn", "auto")
            variants = [("batch -> impute, pooled (old code)", OLD, True), ("impute -> batch, pooled", NEW, True)]
            if mar:  # the left-censored imputers are never wrapped: pooled is what the new code does
                variants.append(("impute -> batch, MAR within batch (new code)", NEW, False))
            for oname, order, pooled in variants:
                t, chosen = chain_trace(kind, X, info, y, order, impute, log_scale, pooled)
                rows.append(
                    {
                        "layer": name,
                        "impute": label + (f" [{chosen}]" if chosen else ""),
                        "order": oname,
                        "batch_sil_after_batch": t.loc["after_batch", "silhouette_batch"],
                        "batch_sil_after_impute": t.loc["after_impute", "silhouette_batch"],
                        "batch_sil_final": t.loc["after_scale", "silhouette_batch"],
                        "r2_batch_final": t.loc["after_scale", "r2_batch"],
                        "outcome_sil_final": t.loc["after_scale", "silhouette_outcome"],
                        "r2_outcome_final": t.loc["after_scale", "r2_outcome"],
                    }
                )
                print(rows[-1], flush=True)
        if truth is not None:  # the complete values: no imputation needed
            t, _ = chain_trace(kind, truth, info, y, NEW, {"method": "none"}, log_scale)
            rows.append(
                {
                    "layer": name,
                    "impute": "oracle (complete values)",
                    "order": "",
                    "batch_sil_after_batch": t.loc["after_batch", "silhouette_batch"],
                    "batch_sil_after_impute": np.nan,
                    "batch_sil_final": t.loc["after_scale", "silhouette_batch"],
                    "r2_batch_final": t.loc["after_scale", "r2_batch"],
                    "outcome_sil_final": t.loc["after_scale", "silhouette_outcome"],
                    "r2_outcome_final": t.loc["after_scale", "r2_outcome"],
                }
            )
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    head = (
        "| layer | imputation [auto's choice] | order | batch silhouette after batch step | after impute step | "
        "final (after scale) | batch R2 final | outcome silhouette final | outcome R2 final |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )

    def f(v):
        return "" if pd.isna(v) else f"{v:.3f}"

    return head + "".join(
        f"| {r.layer} | {r.impute} | {r.order} | {f(r.batch_sil_after_batch)} | {f(r.batch_sil_after_impute)} | "
        f"{f(r.batch_sil_final)} | {f(r.r2_batch_final)} | {f(r.outcome_sil_final)} | {f(r.r2_outcome_final)} |\n"
        for r in df.itertuples()
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    df = run(args.data, range(args.seeds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    df.to_csv(RESULTS / "impute_batch_order.tsv", sep="\t", index=False, float_format="%.6g")
    text = (
        "# Imputation and batch correction: step order\n\n"
        "Batch and outcome silhouettes (top 10 PCs) and the share of their variance explained by batch / outcome "
        "after the steps of the kind's default chain, with the old order (batch correction, then imputation) "
        "and the new default (imputation, then batch correction; MAR methods within batch). After the batch "
        "step of the old order, cells "
        "still missing count as the feature's mean, which hides what their imputed values will do. "
        "ComBat, outcome protected; filter: features observed in half the samples.\n\n" + markdown(df)
    )
    (RESULTS / "impute_batch_order.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
