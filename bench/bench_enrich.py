"""Benchmark: pathway enrichment of many MOFA factors x layers x collections.

The target (issue 5): 20 factors x 3 layers x (MSigDB Hallmark + Reactome) in under 2 minutes on
2 cores. Weights are simulated over real gene symbols from the two GMT files in ../shared/data:

* rna: 12,000 genes (symbols);
* protein: 4,000 protein groups (some groups of two genes, some genes measured by two isoform
  groups), mapped to genes through an annotation (expand, max |weight|);
* methylation: 20,000 CpG probes on 8,000 genes (two or three probes per gene), mean per gene.

Each factor has sparse, MOFA-like weights (mostly near zero) and drives three random Hallmark and
three random Reactome sets in every layer, so there is something to find (and conditional tests to
run). Every configuration runs in its own process, so the peak memory (max RSS) is its own.

    python bench/bench_enrich.py                 # moflow at 5 and 20 factors, gseapy on a sample of lists
    python bench/bench_enrich.py --factors 20 --only moflow
    python bench/bench_enrich.py --gseapy-lists 60   # gseapy on every list (about 50 minutes)

Results are printed and written to bench/results/enrich.tsv and enrich.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GENESETS = ROOT.parent / "shared" / "data" / "genesets"
COLLECTIONS = {
    "hallmark": GENESETS / "msigdb_hallmark_h.all.v7.0.symbols.gmt",
    "reactome": GENESETS / "reactome_pathways_2024-09-18_symbols.gmt",
}
SETTINGS = dict(permutations=1000, min_size=10, max_size=500, weight=0.0, seed=0)


def load_collections():
    from moflow.enrich import parse_gmt
    from moflow.io import read_gmt_lines

    return {name: parse_gmt(read_gmt_lines(path), path=str(path)) for name, path in COLLECTIONS.items()}


def simulate(n_factors: int, seed: int = 0):
    """Sparse weights per (layer, factor) over features; gene maps of protein and methylation."""
    from moflow.enrich import GeneMap, gene_map_from_annotation

    rng = np.random.default_rng(seed)
    sets = load_collections()
    universe = sorted(set().union(*(set().union(*s.values()) for s in sets.values())))
    genes = {"rna": sorted(rng.choice(universe, 12000, replace=False))}
    prot_genes = sorted(rng.choice(universe, 4000, replace=False))
    others = [g for g in universe if g not in set(prot_genes)]
    rows = []
    for i, g in enumerate(prot_genes):
        two = rng.random() < 0.1
        rows.append((f"P{i:05d}" + (f";Q{i:05d}" if two else ""), g + (";" + others[i % len(others)] if two else "")))
        if rng.random() < 0.1:
            rows.append((f"P{i:05d}-2", g))
    prot_ann = pd.DataFrame(rows, columns=["feature", "gene"])
    meth_genes = sorted(rng.choice(universe, 8000, replace=False))
    probes = [(f"cg{len(meth_genes) * k + i:08d}", g) for i, g in enumerate(meth_genes) for k in range(3)]
    meth_ann = pd.DataFrame(probes[:20000], columns=["feature", "gene"])
    maps = {
        "rna": GeneMap.identity("rna"),
        "protein": gene_map_from_annotation(prot_ann, layer="protein", path="protein_annotation"),
        "methylation": gene_map_from_annotation(
            meth_ann, layer="methylation", path="cpg_annotation", many_to_one="mean"
        ),
    }
    features = {"rna": genes["rna"], "protein": list(prot_ann["feature"]), "methylation": list(meth_ann["feature"])}
    feature_genes = {
        "rna": pd.Series(genes["rna"], index=genes["rna"]),
        "protein": prot_ann.set_index("feature")["gene"].str.split(";").str[0],
        "methylation": meth_ann.set_index("feature")["gene"],
    }
    lists = {}
    for k in range(n_factors):
        driven = set()
        for s in sets.values():
            names = sorted(s)
            for j in rng.choice(len(names), 3, replace=False):
                driven.update(s[names[j]])
        sign = rng.choice([-1.0, 1.0])
        for layer, feats in features.items():
            w = rng.normal(0, 0.01, len(feats))
            hit = feature_genes[layer].reindex(feats).isin(driven).to_numpy()
            w[hit] += sign * rng.uniform(0.2, 0.8, hit.sum()) * (rng.random(hit.sum()) < 0.6)
            lists[(layer, f"Factor{k + 1}")] = pd.Series(w, index=feats)
    return lists, maps, sets


def run_moflow(n_factors: int, conditional: bool = True) -> dict:
    from moflow.enrich import prerank_lists

    lists, maps, sets = simulate(n_factors)
    t0 = time.perf_counter()
    out = []
    for name, gs in sets.items():
        r = prerank_lists(
            lists,
            gs,
            keys=["layer", "factor"],
            gene_maps=maps,
            conditional_alpha=0.05 if conditional else None,
            **SETTINGS,
        )
        out.append(r.assign(collection=name))
    seconds = time.perf_counter() - t0
    res = pd.concat(out, ignore_index=True)
    return {"seconds": seconds, "lists": len(lists), "tests": len(res), "significant": int((res["fdr"] < 0.05).sum())}


def run_competitive_ora(n_factors: int) -> dict:
    from moflow.enrich import competitive_lists, ora_lists

    lists, maps, sets = simulate(n_factors)
    t0 = time.perf_counter()
    n = 0
    for gs in sets.values():
        n += len(
            competitive_lists(
                lists,
                gs,
                keys=["layer", "factor"],
                gene_maps=maps,
                inter_gene_correlation=0.01,
                min_size=10,
                max_size=500,
            )
        )
        n += len(ora_lists(lists, gs, keys=["layer", "factor"], gene_maps=maps, top=200, min_size=10, max_size=500))
    return {"seconds": time.perf_counter() - t0, "lists": len(lists), "tests": n}


def run_gseapy(n_lists: int, permutations: int = 1000, threads: int = 1) -> dict:
    """gseapy.prerank called once per list and collection, as a user would; n_lists of the 60."""
    from moflow.enrich import prerank

    lists, maps, sets = simulate(20)
    keys = list(lists)[:: max(1, len(lists) // n_lists)][:n_lists]
    t0 = time.perf_counter()
    for key in keys:
        scores = maps[key[0]].scores(lists[key])
        for gs in sets.values():
            prerank(scores, gs, engine="gseapy", threads=threads, **{**SETTINGS, "permutations": permutations})
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "lists": len(keys), "extrapolated_60_lists": seconds / len(keys) * 60}


def child(args) -> None:
    kind, n = args.child, args.n
    if kind == "moflow":
        out = run_moflow(n)
    elif kind == "moflow_marginal":
        out = run_moflow(n, conditional=False)
    elif kind == "competitive_ora":
        out = run_competitive_ora(n)
    elif kind.startswith("gseapy"):
        out = run_gseapy(n, permutations=args.permutations, threads=args.threads)
    else:
        raise SystemExit(f"unknown benchmark {kind}")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def spawn(kind: str, n: int, **extra) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--n", str(n)]
    for k, v in extra.items():
        cmd += [f"--{k}", str(v)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--factors", type=int, nargs="*", default=[5, 20])
    p.add_argument("--only", choices=["moflow", "gseapy", "all"], default="all")
    p.add_argument("--gseapy-lists", type=int, default=2, help="lists (of 60) run through gseapy.prerank")
    p.add_argument("--child")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--permutations", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    for path in COLLECTIONS.values():
        if not path.exists():
            raise SystemExit(f"{path} not found: the benchmark uses the real gene-set files in ../shared/data")
    rows = []
    if args.only in ("moflow", "all"):
        for n in args.factors:
            for kind in ("moflow", "moflow_marginal", "competitive_ora"):
                r = spawn(kind, n)
                rows.append({"method": kind, "factors": n, "layers": 3, "collections": "hallmark+reactome", **r})
                print(rows[-1], flush=True)
    if args.only in ("gseapy", "all"):
        for perms, threads in ((1000, 1), (1000, 2), (100, 1)):
            r = spawn("gseapy", args.gseapy_lists, permutations=perms, threads=threads)
            rows.append(
                {
                    "method": f"gseapy.prerank perm={perms} threads={threads}",
                    "factors": 20,
                    "layers": 3,
                    "collections": "hallmark+reactome",
                    **r,
                }
            )
            print(rows[-1], flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / "enrich.tsv", sep="\t", index=False, float_format="%.4g")
    lines = [
        "| method | factors x layers | lists run | seconds | seconds for 60 lists | tests | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in df.to_dict("records"):
        full = r.get("extrapolated_60_lists")
        full = f"{full:.0f} (extrapolated)" if pd.notna(full) else ("" if r["lists"] != 60 else f"{r['seconds']:.1f}")
        tests = "" if pd.isna(r.get("tests")) else f"{int(r['tests']):,}"
        lines.append(
            f"| {r['method']} | {r['factors']} x {r['layers']} | {r['lists']} | {r['seconds']:.1f} | {full} "
            f"| {tests} | {r['peak_rss_mb']:.0f} |"
        )
    (out / "enrich.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
