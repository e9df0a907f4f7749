"""Cohorts that do not look like the demo, each in a folder of its own, as a user would set it up:
their files under data/, their sheets and a config/config.yaml holding only what differs from the
schema's defaults. Used by tests/e2e/test_scenarios.py; also runnable by hand:

    python tests/e2e/scenarios.py <folder> <scenario>   # then: cd <folder> && snakemake -s <repo>/Snakefile
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from moflow import io
from moflow.demo import simulate_cohort

SIZE = dict(n_samples=60, n_batches=3, n_genes=300, n_proteins=100, n_metabolites=50)

LAYER_ROWS = {
    "rna": ["rna", "rnaseq_counts", "data/rna.tsv", "features_in_rows", "batch", "false", "false", "symbol"],
    "protein": [
        "protein",
        "proteomics_intensity",
        "data/protein.csv",
        "samples_in_rows",
        "batch",
        "false",
        "true",
        "symbol",
    ],
    "metabolomics": [
        "metabolomics",
        "metabolomics_intensity",
        "data/metab.parquet",
        "samples_in_rows",
        "batch",
        "true",
        "false",
        "none",
    ],
}
OMICS_COLUMNS = ["layer", "kind", "path", "orientation", "batch_column", "has_qc", "log_scale", "gene_ids"]


@dataclass(frozen=True)
class Scenario:
    """outcome: strings | 01 | 12 | truefalse | multiclass | continuous | survival (follow-up time and a
    true/false death column, no outcome column) | none (no outcome column and no outcome in config; three
    groups planted in the RNA and protein layers, data/truth/groups.tsv: subtypes are sought);
    ids: plain | zeros (0001); regulators: a regulator
    edge list (data/regulators.tsv: a planted regulator of the outcome program's genes, decoys) for
    the hierarchical strategy;
    layers: which layers the cohort has; external: an external test set marked in the sheet;
    confounded: the outcome goes with batch (and config allows correcting anyway); h5mu: the cohort comes
    as one MuData file (data/cohort.h5mu: obs the sample sheet, one modality per layer, the RNA features
    as Ensembl-style IDs with their gene symbols in var column 'symbol', named in config); incomplete: three
    cohort samples without an outcome (config 'outcome: missing: exclude') and one sample's protein row all NA
    (config 'inputs: allow_missing_samples'); subjects: two samples per subject (of one outcome) in a sheet
    column 'subject', named in config 'evaluation: group_column'."""

    name: str
    outcome: str = "strings"
    layers: tuple = ("rna", "protein", "metabolomics")
    ids: str = "plain"
    external: bool = False
    confounded: bool = False
    regulators: bool = False
    h5mu: bool = False
    incomplete: bool = False
    subjects: bool = False
    config: dict = field(default_factory=dict)


LIGHT = {"enrichment": {"competitive": {"enabled": False}, "ora": {"enabled": False}}}

# Each factor of the matrix (outcome coding and type x layer count x ID style x external test set x
# batch confounded with the outcome) appears at least once; every run costs CI about a minute.
SCENARIOS = [
    # three layers with an external test set run in tests/e2e/test_workflow.py
    Scenario(
        "binary01_zeros_external", outcome="01", layers=("rna", "protein"), ids="zeros", external=True, regulators=True
    ),
    Scenario("binary12_one_layer", outcome="12", layers=("protein",), config=LIGHT),
    Scenario(
        "multiclass_two_layers_external",
        outcome="multiclass",
        layers=("rna", "protein"),
        external=True,
        config={**LIGHT, "evaluation": {"strategies": ["early", "mofa"]}},
    ),
    Scenario(
        "continuous_two_layers_external",
        outcome="continuous",
        layers=("rna", "metabolomics"),
        ids="zeros",
        external=True,
        config=LIGHT,
    ),
    Scenario(
        "truefalse_confounded_allowed",
        outcome="truefalse",
        layers=("rna", "protein"),
        confounded=True,
        incomplete=True,
        config={**LIGHT, "batch_confounding": {"allow": True}},
    ),
    Scenario(
        "multiclass_one_layer_zeros",
        outcome="multiclass",
        layers=("metabolomics",),
        ids="zeros",
        subjects=True,
        config=LIGHT,
    ),
    # 100 bootstrap resamples (the schema's least) of the external test set: its survival scores cost ~5 ms each
    Scenario(
        "survival_two_layers_external",
        outcome="survival",
        layers=("rna", "metabolomics"),
        external=True,
        config={"evaluation": {"bootstrap": 100}},
    ),
    # subtypes sought beside the outcome (the associations relate them to it)
    Scenario(
        "h5mu_cohort_two_layers",
        layers=("rna", "protein"),
        h5mu=True,
        config={
            **LIGHT,
            "subtypes": {
                "enabled": True,
                "resamples": 5,
                "k_max": 4,
                "representations": ["components"],
                "clusterings": ["kmeans"],
            },
        },
    ),
    # no outcome at all: preprocessing, MOFA, subtypes and their enrichment
    Scenario(
        "no_outcome_subtypes_three_layers",
        outcome="none",
        config={
            **LIGHT,
            "subtypes": {
                "resamples": 8,
                "resamples_per_job": 4,
                "k_max": 4,
                "clusterings": ["kmeans"],
                "time": "followup_months",
                "event": "died",
            },
        },
    ),
]
# Run by hand (`python tests/e2e/scenarios.py <folder> <name>`), not in CI: their factors are covered above.
MORE_SCENARIOS = [
    Scenario("continuous_one_layer", outcome="continuous", layers=("rna",), config=LIGHT),
]
BY_NAME = {s.name: s for s in SCENARIOS + MORE_SCENARIOS}


def _recode(sheet: pd.DataFrame, factors: pd.DataFrame, how: str, rng) -> pd.Series:
    is_sample = sheet["sample_type"] == "sample"
    case = sheet["outcome"] == "case"
    f1 = sheet["sample"].map(factors["F1"])
    if how == "strings":
        return sheet["outcome"]
    if how in ("01", "12", "truefalse"):
        a, b = {"01": ("0", "1"), "12": ("1", "2"), "truefalse": ("false", "true")}[how]
        return pd.Series(np.where(case, b, a), index=sheet.index).where(is_sample, "")
    if how == "multiclass":
        q = f1[is_sample].quantile([1 / 3, 2 / 3]).to_numpy()
        lab = np.select([f1 < q[0], f1 < q[1]], ["low", "mid"], "high")
        return pd.Series(lab, index=sheet.index).where(is_sample, "")
    if how == "continuous":
        val = 10 + 2 * f1 + rng.normal(0, 0.5, len(f1))
        return val.round(3).astype(str).where(is_sample, "")
    raise ValueError(how)


def make_scenario(root: Path, sc: Scenario, *, seed: int = 5) -> Path:
    """Write the scenario's folder: data/, config/samples.tsv, config/omics.tsv, config/config.yaml."""
    root = Path(root)
    (root / "config").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    c = simulate_cohort(**SIZE, seed=seed, survival=sc.outcome == "survival")
    sheet = c.sheet.copy()
    if sc.outcome == "none":  # no outcome column; three groups planted in two layers
        sheet = sheet.drop(columns=["outcome"])
        _plant_groups(root, c, sheet)
    elif sc.outcome == "survival":  # a user's own column names and event coding, no outcome column
        dead = sheet["event"].map({"1": "TRUE", "0": "false"}).fillna("")
        sheet = sheet.drop(columns=["outcome", "event"]).rename(columns={"time": "followup_years"})
        sheet.insert(3, "dead", dead)
    else:
        sheet["outcome"] = _recode(sheet, c.factors, sc.outcome, rng)
    if sc.confounded:  # the outcome follows batch (Cramér's V above 0.8), not identical to it
        is_sample = sheet["sample_type"] == "sample"
        first = (sheet.loc[is_sample, "batch"] == sorted(sheet["batch"].unique())[0]).to_numpy()
        flip = rng.random(int(is_sample.sum())) < 0.04
        flip[np.flatnonzero(first)[:2]] = True
        a_, b_ = {"01": ("0", "1"), "12": ("1", "2"), "truefalse": ("false", "true")}.get(
            sc.outcome, ("control", "case")
        )
        sheet.loc[is_sample, "outcome"] = np.where(first ^ flip, b_, a_)
    if sc.ids == "zeros":
        ids = {s: f"{i + 1:04d}" for i, s in enumerate(sheet["sample"])}
        sheet["sample"] = sheet["sample"].map(ids)
        c.layers = {k: v.rename(index=ids) for k, v in c.layers.items()}
        c.factors = c.factors.rename(index=ids)
    config: dict = {
        "samples": "config/samples.tsv",
        "omics": "config/omics.tsv",
        "outcome": {"column": "outcome"},
        "evaluation": {"folds": 2, "repeats": 1, "permutations": 100},
        "integration": {"inner_folds": 2, "mofa": {"factors": 4, "stability_seeds": 0}},
    }
    if sc.outcome == "none":
        del config["outcome"]
    if sc.outcome == "continuous":
        config["outcome"]["type"] = "continuous"
    if sc.outcome == "survival":
        config["outcome"] = {"type": "survival", "time": "followup_years", "event": "dead", "time_unit": "years"}
    if sc.outcome in ("01", "12", "truefalse"):
        config["outcome"]["positive"] = {"01": "1", "12": "2", "truefalse": "true"}[sc.outcome]
    if sc.external:
        cohort_ids = list(sheet.loc[sheet["sample_type"] == "sample", "sample"])
        test_ids = set(rng.choice(cohort_ids, 10, replace=False))
        sheet["set"] = ["test" if s in test_ids else "train" for s in sheet["sample"]]
        config["evaluation"].update({"test_column": "set", "test_value": "test"})
    data = root / "data"
    paths = {
        "rna": data / "rna.tsv",
        "protein": data / "protein.csv",
        "metabolomics": data / "metab.parquet",
        "samples": root / "config" / "samples.tsv",
        "gene_sets": data / "pathways.gmt",
        "factors": data / "truth" / "factors.tsv",
        "loadings": data / "truth" / "loadings.tsv",
        "gene_set_truth": data / "truth" / "gene_sets.tsv",
    }
    io.write_demo_cohort(c, {k: str(v) for k, v in paths.items()})
    sheet.to_csv(paths["samples"], sep="\t", index=False, lineterminator="\n")
    for layer in set(LAYER_ROWS) - set(sc.layers):
        Path(paths[layer]).unlink()
    omics = pd.DataFrame([LAYER_ROWS[layer] for layer in sc.layers], columns=OMICS_COLUMNS)
    omics.to_csv(root / "config" / "omics.tsv", sep="\t", index=False, lineterminator="\n")
    if any(LAYER_ROWS[layer][-1] == "symbol" for layer in sc.layers):
        config["enrichment"] = {"gene_sets": {"pathways": "data/pathways.gmt"}, "permutations": 100}
    if sc.regulators:  # a planted regulator of the outcome program (signs as +), decoys with random targets
        genes = list(c.layers["rna"].columns)
        planted = [g for g in c.gene_sets["PLANTED_F1_OUTCOME_RESPONSE"] if g in genes][:25]
        rows = [("TF_PLANTED", g, "+") for g in planted]
        for k in range(3):
            rows += [
                (f"TF_DECOY{k + 1}", g, "-" if j % 2 else "+")
                for j, g in enumerate(rng.choice(genes, 25, replace=False))
            ]
        pd.DataFrame(rows, columns=["source", "target", "sign"]).to_csv(
            data / "regulators.tsv", sep="\t", index=False, lineterminator="\n"
        )
        config.setdefault("integration", {})["hierarchical"] = {
            "regulators": {"tf": {"edges": "data/regulators.tsv", "layer": "rna"}}
        }
    if sc.incomplete:  # as real cohorts come: outcomes not known for all, a layer not measured for one
        cohort_ids = list(sheet.loc[sheet["sample_type"] == "sample", "sample"])
        sheet.loc[sheet["sample"].isin(cohort_ids[:3]), "outcome"] = ""
        sheet.to_csv(paths["samples"], sep="\t", index=False, lineterminator="\n")
        config["outcome"]["missing"] = "exclude"
        config["inputs"] = {"allow_missing_samples": True}
        protein = pd.read_csv(paths["protein"], index_col=0, dtype=str)
        protein.loc[cohort_ids[10]] = "NA"
        protein.to_csv(paths["protein"], lineterminator="\n")
    if sc.subjects:  # two samples per subject, of one outcome: kept together in every split
        cohort = sheet[sheet["sample_type"] == "sample"]
        subject = {}
        for label, d in cohort.groupby("outcome"):
            for i, s_ in enumerate(d["sample"]):
                subject[s_] = f"{label}_{i // 2}"
        sheet["subject"] = sheet["sample"].map(subject).fillna("")
        sheet.to_csv(paths["samples"], sep="\t", index=False, lineterminator="\n")
        config["evaluation"]["group_column"] = "subject"
    if sc.h5mu:
        _as_h5mu(root, sc, c, sheet, config)
    for key, value in sc.config.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def _plant_groups(root: Path, c, sheet: pd.DataFrame) -> None:
    """Three groups of the cohort samples (in turn: 0, 1, 2, 0, ...): each multiplies the counts of 60 genes
    of its own by 8 and raises 30 proteins of its own by 3 (log2); the metabolomics layer carries none.
    Written to data/truth/groups.tsv (sample, group). The first group's follow-up is short (mean 10 months,
    the others' 40): sheet columns followup_months and died (QC rows empty)."""
    samples = list(sheet.loc[sheet["sample_type"] == "sample", "sample"])
    group = pd.Series(np.arange(len(samples)) % 3, index=samples)
    rna, protein = c.layers["rna"].copy(), c.layers["protein"].copy()
    for g in range(3):
        members = group.index[group == g]
        genes, proteins = rna.columns[60 * g : 60 * (g + 1)], protein.columns[30 * g : 30 * (g + 1)]
        rna.loc[members, genes] = (rna.loc[members, genes] * 8).round()
        protein.loc[members, proteins] = protein.loc[members, proteins] + 3
    c.layers["rna"], c.layers["protein"] = rna, protein
    rng = np.random.default_rng(11)
    months = pd.Series(rng.exponential(np.where(group == 0, 10.0, 40.0)).round(1) + 0.1, index=samples)
    died = pd.Series(np.where(rng.random(len(samples)) < 0.8, "1", "0"), index=samples)
    sheet["followup_months"] = sheet["sample"].map(months.astype(str)).fillna("")
    sheet["died"] = sheet["sample"].map(died).fillna("")
    (root / "data" / "truth").mkdir(parents=True, exist_ok=True)
    group.rename_axis("sample").rename("group").reset_index().to_csv(
        root / "data" / "truth" / "groups.tsv", sep="\t", index=False, lineterminator="\n"
    )


def _as_h5mu(root: Path, sc: Scenario, c, sheet: pd.DataFrame, config: dict) -> None:
    """Replace the scenario's files by one MuData file, as a scverse user keeps a cohort: the sample
    sheet as obs (injection order as integers), one modality per layer (samples as obs), the RNA
    features as IDs with the gene symbols in var column 'symbol'; the omics sheet names the file and
    config points samples at it and names the symbol column for enrichment."""
    import anndata
    import mudata

    mudata.set_options(pull_on_update=False)
    mods = {}
    for layer in sc.layers:
        X = c.layers[layer]
        var = pd.DataFrame(index=X.columns.astype(str))
        if layer == "rna":
            var = pd.DataFrame({"symbol": X.columns.astype(str)}, index=[f"ENSG{i:011d}" for i in range(X.shape[1])])
        mods[layer] = anndata.AnnData(X=X.to_numpy(float), obs=pd.DataFrame(index=X.index.astype(str)), var=var)
    md = mudata.MuData(mods)
    obs = sheet.set_index("sample").reindex(md.obs_names)
    obs["injection_order"] = pd.to_numeric(obs["injection_order"]).astype("Int64")
    md.obs = obs
    md.write_h5mu(str(root / "data" / "cohort.h5mu"))
    for name in ("rna.tsv", "protein.csv", "metab.parquet"):
        (root / "data" / name).unlink(missing_ok=True)
    (root / "config" / "samples.tsv").unlink()
    omics = pd.DataFrame(
        {
            "layer": list(sc.layers),
            "kind": [LAYER_ROWS[x][1] for x in sc.layers],
            "path": "data/cohort.h5mu",
            "batch_column": "batch",
            "log_scale": [LAYER_ROWS[x][6] for x in sc.layers],
            "gene_ids": ["none" if x == "rna" else LAYER_ROWS[x][7] for x in sc.layers],
        }
    )
    omics.to_csv(root / "config" / "omics.tsv", sep="\t", index=False, lineterminator="\n")
    config["samples"] = "data/cohort.h5mu"
    if "rna" in sc.layers:
        config.setdefault("enrichment", {})["layers"] = {
            "rna": {"annotation": "data/cohort.h5mu", "gene_column": "symbol"}
        }


if __name__ == "__main__":
    make_scenario(Path(sys.argv[1]), BY_NAME[sys.argv[2]])
    print(f"written {sys.argv[1]}: {BY_NAME[sys.argv[2]]}")
