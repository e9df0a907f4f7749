"""Benchmark: subtype discovery (moflow.subtypes.discover) on TCGA-shaped cohorts, beside the silhouette choice.

For each size of ``--samples``, a TCGA-shaped cohort (``moflow.demo.simulate_tcga_like``: RNA and miRNA
counts, methylation, proteins; 41,500 features) is brought to complete log-scale layers the simple way
(log2 counts per million, missing proteins set to the protein's mean), then :func:`discover` runs with
its defaults (k = 2..8, k-means, Gaussian mixture, Ward and spectral clustering on the per-layer
components and on the fused network's embedding, 20 halvings per k). Reported: wall and CPU time, the
k chosen and why.

Beside it, what peers do: k chosen by the best silhouette on the full data (k-means on the same
components; MOVICS, MOFA2 users), timed, on the same cohort and on a reference of no structure (a
Gaussian with the components' covariance) where the honest answer is k = 1, which the silhouette cannot
give.

    python bench/bench_subtypes.py --samples 250 1000

Writes bench/results/subtypes.tsv and prints it.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "bench" / "results"


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _layers(n: int, seed: int) -> dict:
    from moflow.demo import simulate_tcga_like

    c = simulate_tcga_like(n_samples=n, seed=seed)
    out = {}
    for name, X in c.layers.items():
        X = X.astype(float)
        if name in ("rna", "mirna"):  # counts: log2 counts per million
            X = np.log2(X.div(X.sum(axis=1), axis=0) * 1e6 + 1)
        X = X.loc[:, X.notna().any()]  # a protein never measured: left out
        out[name] = X.fillna(X.mean())
    return out


def _silhouette_k(Z: np.ndarray, k_max: int, seed: int) -> int:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    scores = {
        k: silhouette_score(Z, KMeans(k, n_init=10, random_state=seed).fit_predict(Z)) for k in range(2, k_max + 1)
    }
    return max(scores, key=scores.get)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", nargs="+", type=int, default=[250, 1000])
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    from moflow.subtypes import choose_k, discover, k_evidence, layer_components

    rows = []
    for n in args.samples:
        layers = _layers(n, args.seed)
        features = sum(X.shape[1] for X in layers.values())

        def timed(data: str, method: str, run, n=n, features=features) -> None:
            """Run ``run()`` (returning k and why), timed, as one row of the table."""
            cpu, t = _cpu(), time.perf_counter()
            k, why = run()
            wall, cpu = round(time.perf_counter() - t, 1), round(_cpu() - cpu, 1)
            row = {"samples": n, "features": features, "data": data, "method": method}
            rows.append(row | {"wall_s": wall, "cpu_s": cpu, "k": k, "why": why})
            print(rows[-1], flush=True)

        def found(layers=layers):
            out = discover(layers, seed=0)
            return out["k"], out["why"]

        timed("TCGA-shaped", "moflow discover (8 combinations, k 2-8, 20 halvings)", found)
        Z = layer_components(layers).to_numpy(float)
        null = np.random.default_rng(0).multivariate_normal(Z.mean(axis=0), np.cov(Z, rowvar=False), size=len(Z))
        for data, M in (("TCGA-shaped", Z), ("Gaussian reference, no structure", null)):
            timed(
                data,
                "silhouette on the full data (k-means, components)",
                lambda M=M: (_silhouette_k(M, 8, 0), "the best silhouette of k 2-8 (k = 1 cannot be its answer)"),
            )
        timed(
            "Gaussian reference, no structure",
            "moflow k_evidence + choose_k (k-means, components)",
            lambda null=null: choose_k(k_evidence(null, k_max=8, clustering="kmeans", seed=0)),
        )
    table = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "subtypes.tsv", sep="\t", index=False)
    print(table.drop(columns="why").to_string(index=False))


if __name__ == "__main__":
    main()
