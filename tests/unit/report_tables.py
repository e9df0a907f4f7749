"""Small report inputs in the shape the workflow writes them (scoreboard, comparison, permutation test,
late weights, MOFA tables, preprocessing tables), for every outcome type, so that the report and its
verdict are tested without running the workflow."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.report import plot_variance, png_bytes, report_sections

# (strategy, primary score, lo, hi) in scoreboard order (best first)
ROWS = {
    "binary": [
        ("early", 0.85, 0.75, 0.95),
        ("late", 0.83, 0.72, 0.94),
        ("single_protein", 0.80, 0.70, 0.90),
        ("mofa", 0.78, 0.66, 0.90),
        ("single_rna", 0.70, 0.60, 0.80),
    ],
    "multiclass": [
        ("single_rna", 0.61, 0.45, 0.77),
        ("early", 0.59, 0.44, 0.74),
        ("mofa", 0.52, 0.36, 0.68),
        ("single_protein", 0.40, 0.25, 0.55),
    ],
    "continuous": [
        ("late", 0.42, 0.21, 0.63),
        ("early", 0.40, 0.18, 0.62),
        ("single_rna", 0.35, 0.12, 0.58),
        ("mofa", 0.30, 0.05, 0.55),
        ("single_metabolomics", 0.10, -0.20, 0.40),
    ],
    "survival": [
        ("mofa", 0.71, 0.62, 0.80),
        ("early", 0.69, 0.60, 0.78),
        ("single_rna", 0.66, 0.55, 0.77),
        ("single_metabolomics", 0.58, 0.47, 0.69),
    ],
    "one_layer": [("single_protein", 0.81, 0.70, 0.92), ("mofa", 0.77, 0.64, 0.90)],
}
METRIC = {
    "binary": "balanced_accuracy",
    "multiclass": "balanced_accuracy",
    "continuous": "r2",
    "survival": "harrell_c",
    "one_layer": "balanced_accuracy",
}
LAYERS = {
    "binary": ["rna", "protein"],
    "multiclass": ["rna", "protein"],
    "continuous": ["rna", "metabolomics"],
    "survival": ["rna", "metabolomics"],
    "one_layer": ["protein"],
}
N = 90
ENRICHMENT_COLUMNS = ["collection", "layer", "factor", "rank", "term", "nes", "fdr", "set_size"]


def board(case: str) -> pd.DataFrame:
    metric = METRIC[case]
    rows = []
    for strategy, m, lo, hi in ROWS[case]:
        r = {"strategy": strategy, "n_splits": 10, metric: m, f"{metric}_lo": lo, f"{metric}_hi": hi}
        second = {"balanced_accuracy": "roc_auc", "r2": "pearson_r", "harrell_c": "uno_c"}[metric]
        r.update({second: m + 0.05, f"{second}_lo": lo + 0.05, f"{second}_hi": min(hi + 0.05, 1.0), "n_samples": N})
        if case in ("binary", "one_layer"):
            r["smallest_class"] = 30
        elif case == "multiclass":
            r["smallest_class"] = 25
        elif case == "survival":
            r["n_events"] = 37
        rows.append(r)
    b = pd.DataFrame(rows)
    b["kind"] = np.where(b["strategy"].str.startswith("single_"), "single layer", "integration")
    return b


def comparison(case: str) -> pd.DataFrame:
    b = board(case)
    metric = METRIC[case]
    integ, single = b[b["kind"] == "integration"].iloc[0], b[b["kind"] == "single layer"].iloc[0]
    p = {"binary": 0.012, "multiclass": 0.64, "continuous": 0.31, "survival": 0.048, "one_layer": 0.2}[case]
    return pd.DataFrame(
        [
            {
                "metric": metric,
                "best_integration": integ["strategy"],
                "best_single_layer": single["strategy"],
                "difference": round(integ[metric] - single[metric], 6),
                "t": 1.0,
                "p": p,
                "n_splits": 10,
            }
        ]
    )


def permutation(case: str) -> pd.DataFrame | None:
    if case in ("multiclass", "continuous"):  # no permutation test: the verdict falls back on the interval
        return None
    b = board(case)
    return pd.DataFrame(
        [
            {
                "strategy": b.iloc[0]["strategy"],
                "metric": METRIC[case],
                "observed": b.iloc[0][METRIC[case]],
                "null_mean": 0.5,
                "p": 0.002,
                "n_permutations": 500,
            }
        ]
    )


def samples(case: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = [f"S{i:03d}" for i in range(N)]
    out = {
        "binary": rng.choice(["case", "control"], N),
        "one_layer": rng.choice(["1", "2"], N),
        "multiclass": rng.choice(["low", "mid", "high"], N),
        "continuous": rng.normal(10, 2, N).round(3).astype(str),
    }
    s = pd.DataFrame({"sample": ids, "sample_type": "sample", "batch": rng.choice(["b1", "b2"], N)})
    if case == "survival":
        s["time"] = rng.uniform(1, 10, N).round(2).astype(str)
        s["event"] = rng.choice(["0", "1"], N)
    else:
        s["outcome"] = out[case]
    return s


def tables(case: str) -> dict:
    """Everything :func:`moflow.report.page.report_sections` takes, for one outcome type."""
    rng = np.random.default_rng(1)
    layers = LAYERS[case]
    smp = samples(case)
    ids = smp["sample"].tolist()
    factors = pd.DataFrame(rng.normal(size=(N, 4)), columns=[f"Factor{i}" for i in range(1, 5)]).assign(sample=ids)
    factors = factors[["sample"] + [f"Factor{i}" for i in range(1, 5)]]
    variance = pd.DataFrame(
        [
            {"view": layer, "factor": f"Factor{k}", "r2": round(0.02 * k + 0.1 * j, 4)}
            for j, layer in enumerate(layers)
            for k in range(1, 5)
        ]
    )
    covariate = "survival" if case == "survival" else "outcome"
    assoc = pd.DataFrame(
        [
            {
                "factor": f"Factor{k}",
                "covariate": covariate,
                "test": "kruskal",
                "statistic": 3.0 / k,
                "effect": 0.1,
                "p": 10.0 ** -(5 - k),
                "p_adj": 10.0 ** -(4 - k),
            }
            for k in range(1, 5)
        ]
    )
    if case == "survival":
        assoc = assoc.assign(test="cox", effect=1.5, hr_lo=1.1, hr_hi=2.0)
    colour = smp["outcome"] if "outcome" in smp.columns else smp["event"]
    pca = {
        layer: pd.concat(
            [
                pd.DataFrame(
                    {
                        "sample": ids,
                        "PC1": rng.normal(size=N),
                        "PC2": rng.normal(size=N),
                        "stage": stage,
                        "batch": smp["batch"],
                        "outcome": colour,
                    }
                )
                for stage in ("before_batch_correction", "after")
            ],
            ignore_index=True,
        )
        for layer in layers
    }
    steps = {
        layer: pd.DataFrame(
            {
                "step": ["normalize", "scale"],
                "method": ["X", "Scaler"],
                "features_in": [50, 50],
                "features_out": [50, 50],
                "missing_fraction_out": [0.0, 0.0],
            }
        )
        for layer in layers
    }
    diagnostics = {
        layer: pd.DataFrame({"stage": ["before_batch_correction", "after"], "silhouette_batch": [0.4, 0.0]})
        for layer in layers
    }
    inputs = pd.DataFrame(
        {
            "layer": layers,
            "kind": "x",
            "samples": N,
            "features": 50,
            "missing_fraction": [0.0] + [0.12] * (len(layers) - 1),
        }
    )
    late = pd.DataFrame({"layer": layers, "meta_weight": [0.6, 0.2][: len(layers)]}) if len(layers) > 1 else None
    pathways = None
    if case == "binary":
        pathways = pd.DataFrame(
            [
                {
                    "collection": "demo",
                    "source": "early",
                    "component": "case",
                    "term": "SET_EARLY_A",
                    "z": 4.2,
                    "fdr": 0.001,
                    "rank": 1,
                    "layers": "protein,rna",
                    "layers_significant": "protein,rna",
                },
                {
                    "collection": "demo",
                    "source": "early",
                    "component": "case",
                    "term": "SET_EARLY_B",
                    "z": -3.1,
                    "fdr": 0.02,
                    "rank": 2,
                    "layers": "rna",
                    "layers_significant": "rna",
                },
                {
                    "collection": "demo",
                    "source": "early",
                    "component": "case",
                    "term": "SET_EARLY_NS",
                    "z": 1.0,
                    "fdr": 0.4,
                    "rank": 3,
                    "layers": "rna",
                    "layers_significant": "",
                },
                {
                    "collection": "demo",
                    "source": "mofa",
                    "component": "Factor1",
                    "term": "SET_MOFA",
                    "z": 5.0,
                    "fdr": 0.0001,
                    "rank": 1,
                    "layers": "rna",
                    "layers_significant": "rna",
                },
            ]
        )
    tiny = png_bytes(plot_variance(variance))
    return dict(
        inputs=inputs,
        layers=layers,
        diagnostics=diagnostics,
        steps=steps,
        pca_png={layer: tiny for layer in layers},
        variance_png=tiny,
        associations=assoc,
        outcome_column=covariate,
        late_weights=late,
        board=board(case),
        board_png=tiny,
        enrichment=None if pathways is None else pd.DataFrame(columns=ENRICHMENT_COLUMNS),
        pathways_png=None,
        provenance={"versions": {"moflow": "0"}},
        comparison=comparison(case),
        permutation=permutation(case),
        missingness_png={layer: tiny for layer in layers},
        enrichment_more={"pathways": pathways} if pathways is not None else None,
        pca=pca,
        factors=factors,
        samples=smp,
        variance=variance,
    )


def sections(case: str, **extra) -> list[tuple[str, str]]:
    return report_sections(**{**tables(case), **extra})
