# Sheet loading, validation and the helper functions of every rule (the only place for them).

import pandas as pd
from snakemake.utils import validate

from moflow.errors import InputError
from moflow.io import read_sheet
from moflow.validate import check_omics_sheet, check_samples_sheet

validate(config, schema="../schemas/config.schema.yaml")

SAMPLES_PATH = config["samples"]
OMICS_PATH = config["omics"]

try:
    _raw_samples = read_sheet(SAMPLES_PATH)
    for _i, _row in _raw_samples.iterrows():
        validate(
            _row.to_frame().T,
            schema="../schemas/samples.schema.yaml",
            set_default=False,
        )
    samples = check_samples_sheet(
        _raw_samples,
        path=SAMPLES_PATH,
        outcome=config["outcome"]["column"],
        min_class_size=config["evaluation"]["folds"],
    )
    _raw_omics = read_sheet(OMICS_PATH)
    validate(_raw_omics, schema="../schemas/omics.schema.yaml")
    omics = check_omics_sheet(
        _raw_omics, path=OMICS_PATH, samples=samples, samples_path=SAMPLES_PATH
    )
except InputError as exc:
    raise WorkflowError(f"Invalid input: {exc}") from None

LAYERS = list(omics["layer"])
GENE_LAYERS = [l for l in LAYERS if omics.loc[l, "gene_ids"] == "symbol"]
N_SPLITS = config["evaluation"]["folds"] * config["evaluation"]["repeats"]
SPLITS = [
    f"r{r + 1}f{f + 1}"
    for r in range(config["evaluation"]["repeats"])
    for f in range(config["evaluation"]["folds"])
]
COLLECTIONS = list(config["enrichment"]["gene_sets"])


wildcard_constraints:
    layer="|".join(LAYERS),
    split="|".join(SPLITS),


def layer_matrix_paths(wildcards):
    """The raw matrix of every layer, named by layer."""
    return {layer: omics.loc[layer, "path"] for layer in LAYERS}


def gene_set_path(wildcards):
    return config["enrichment"]["gene_sets"][wildcards.collection]


def mem_mb(wildcards, input, attempt):
    """Memory that follows the input size (Parquet/CSV on disk expand several-fold in memory)."""
    return int(max(1000, 2000 + 40 * input.size_mb) * attempt)


def all_targets():
    targets = [
        "results/report.html",
        "results/evaluate/scoreboard.tsv",
        "results/integrate/mofa/factors.tsv",
    ]
    if GENE_LAYERS and COLLECTIONS:
        targets.append("results/enrich/mofa_prerank.tsv")
    return targets


def report_inputs(wildcards):
    inputs = {
        "samples": "results/inputs/samples.tsv",
        "input_summary": "results/inputs/summary.tsv",
        "omics": OMICS_PATH,
        "diagnostics": expand(
            "results/preprocess/{layer}_diagnostics.tsv", layer=LAYERS
        ),
        "pca": expand("results/preprocess/{layer}_pca.tsv", layer=LAYERS),
        "steps": expand("results/preprocess/{layer}_steps.tsv", layer=LAYERS),
        "factors": "results/integrate/mofa/factors.tsv",
        "variance": "results/integrate/mofa/variance_explained.tsv",
        "associations": "results/integrate/mofa/associations.tsv",
        "early_coefficients": "results/integrate/early/coefficients.tsv",
        "late_weights": "results/integrate/late/layer_weights.tsv",
        "scoreboard": "results/evaluate/scoreboard.tsv",
        "fold_scores": "results/evaluate/fold_scores.tsv",
    }
    if GENE_LAYERS and COLLECTIONS:
        inputs["enrichment"] = "results/enrich/mofa_prerank.tsv"
    return inputs
