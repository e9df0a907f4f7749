# Sheet loading, validation and the helper functions of every rule (the only place for them).

import pandas as pd
from snakemake.utils import validate

from pathlib import Path

import moflow.tasks.demo_rules
import moflow.tasks.design_rules
import moflow.tasks.enrich_rules
import moflow.tasks.evaluate_rules
import moflow.tasks.export_rules
import moflow.tasks.inputs_rules
import moflow.tasks.integrate_rules
import moflow.tasks.preprocess_rules
import moflow.tasks.report_rules
from moflow import tasks
from moflow.cohort import external_test_samples, split_jobs
from moflow.enrich import enrichment_layers
from moflow.errors import InputError
from moflow.evaluate import split_labels
from moflow.integrate import strategy_names
from moflow.settings import Settings, sections_of

# Start-up checks: bad config, sheets or gene-set files stop the run here, before any job, with one
# readable message naming the file, the line or key, and the fix (moflow.inputs.startup).
from moflow.io import enrichment_paths
from moflow.settings import apply_defaults
from moflow.inputs import check_startup
from moflow.inputs import gene_set_layers

CONFIG_SOURCE = ", ".join(map(str, workflow.configfiles)) or "config"
try:
    # one line per problem, the nearest valid name suggested (Snakemake's own message dumps the schema)
    config.update(apply_defaults(config, source=CONFIG_SOURCE))
except InputError as exc:
    raise WorkflowError(f"Invalid config: {exc}") from None
validate(config, schema="../schemas/config.schema.yaml")
SETTINGS = Settings.from_config(config)


def settings_for(task):
    """The config sections a rule's package function reads (``task.reads``), and only those: a
    change elsewhere in config does not rerun the rule."""
    return sections_of(config, task.reads)


SAMPLES_PATH = SETTINGS.samples
OMICS_PATH = SETTINGS.omics
DOWNLOAD_DIR = "resources/genesets"

try:
    # both sheets cell by cell, outcome and folds, every name config gives, the enrichment files,
    # and every gene-set file that exists (parsed)
    samples, omics = check_startup(
        SETTINGS,
        source=CONFIG_SOURCE,
        produced={"resources/demo/genesets.gmt"},
        download_dir=DOWNLOAD_DIR,
        gene_set_files=workflow.is_main_process,  # not again in every cluster job
    )
except InputError as exc:
    raise WorkflowError(f"Invalid input: {exc}") from None

LAYERS = list(omics["layer"])
GENE_LAYERS = [l for l in LAYERS if omics.loc[l, "gene_ids"] == "symbol"]
EXTERNAL_TEST = external_test_samples(samples, SETTINGS)
SPLITS = split_labels(
    SETTINGS.evaluation.repeats, SETTINGS.evaluation.folds, external=bool(EXTERNAL_TEST)
)
STRATEGY_NAMES = strategy_names(LAYERS, SETTINGS, omics)
# the hierarchical strategy reads the gene sets (and annotations) and its regulator edge lists
HIERARCHICAL = "hierarchical" in STRATEGY_NAMES
REGULATORS = {
    name: reg.edges
    for name, reg in SETTINGS.integration.hierarchical.regulators.items()
}
SPLIT_JOBS = split_jobs(SPLITS, SETTINGS.evaluation.splits_per_job)
# the design stage's learning curves: the first repeat's splits, one job each (they wait for the
# scoreboard and the report waits for them: on 2 cores one job of 5 splits added its whole time to the
# run, bench/results/design.md)
DESIGN = SETTINGS.design.enabled
DESIGN_JOBS = split_jobs([s for s in SPLITS if s.startswith("r1f")], 1)
COLLECTIONS = list(SETTINGS.enrichment.gene_sets)

# Enrichment: layers with genes (gene_ids = symbol, or an annotation in config) and layers with
# their own feature sets; gene-set files must exist, come from the demo, or be downloads turned on.
# Models fit on the full cohort whose coefficients are enriched. Late integration (and mixed) need
# two layers; with one, early integration is that layer's own penalized model.
MULTI_LAYER = len(LAYERS) > 1
ENRICH_MODELS = ["early", "late"] if MULTI_LAYER else ["early"]
_enrich_gene_layers, _enrich_feature_sets = enrichment_layers(
    omics, SETTINGS.enrichment
)
ENRICH_LAYERS = [
    l
    for l in LAYERS
    if (l in _enrich_gene_layers and COLLECTIONS) or l in _enrich_feature_sets
]
# {GMT: layers} checked against the layers' features in the input stage (enrichment runs only)
GENE_SET_LAYERS = gene_set_layers(omics, SETTINGS.enrichment) if ENRICH_LAYERS else {}
# every file the user hands the workflow (sheets, matrices, gene sets, annotations): checksummed in
# results/provenance.json; enrichment files only where enrichment uses them or they exist
SOURCE_FILES = list(
    dict.fromkeys(
        [SAMPLES_PATH, OMICS_PATH, *omics["path"]]
        + [
            p
            for p in enrichment_paths(SETTINGS.enrichment)
            if ENRICH_LAYERS or Path(p).exists()
        ]
    )
)


wildcard_constraints:
    layer="|".join(LAYERS),
    part="|".join(SPLIT_JOBS),
    design_part="|".join(DESIGN_JOBS),


def layer_matrix_paths(wildcards):
    """The raw matrix of every layer, named by layer."""
    return {layer: omics.loc[layer, "path"] for layer in LAYERS}


def gene_set_path(wildcards):
    return SETTINGS.enrichment.gene_sets[wildcards.collection]


# Resources. Threads, memory and run time of every rule follow the size of the job's inputs on
# disk (input.size_mb); each rule passes its own base and slope, a profile may still override them
# (set-threads, set-resources). Memory and run time grow with the attempt, so a job retried after
# running out of memory or time (the cluster profiles set `retries: 1`) asks for twice as much.
# Measured by bench/bench_workflow_scale.py (TCGA-shaped cohorts of 250, 500 and 1,000 samples,
# bench/results/workflow_rules_*.tsv): every rule's memory request is 1-2x the largest peak RSS its
# jobs had at the three sizes; run times under half a minute still ask for one minute. Snakemake exports OMP/OPENBLAS/MKL_NUM_THREADS =
# threads to every job and moflow.runtime.setup pins BLAS to it, so a job uses what it asked for.


def threads_for(max_threads=1, mb_per_thread=200):
    """Threads: one, plus one per `mb_per_thread` MB of input, at most `max_threads`. Extra BLAS
    threads did not pay off at demo size (MOFA: twice the CPU time, no gain), hence the threshold.
    """

    def threads(wildcards, input):
        try:
            size = input.size_mb
        except WorkflowError:
            # Inputs not written yet (dry run): Snakemake re-evaluates when the job is ready.
            return 1
        return max(1, min(int(max_threads), 1 + int(size // mb_per_thread)))

    return threads


def mem_mb_for(base=1024, per_input_mb=0.0, per_mcell=0.0, cells_of=None, step=256):
    """Memory in MB: `base`, plus `per_input_mb` per MB of input, plus `per_mcell` per million cells
    of the Parquet matrices among the inputs (or among the input named `cells_of`; from their
    footers: counts compress ten times better than methylation values, so cells predict memory where
    file sizes cannot), rounded up to `step` MB, times the attempt. The numbers of every rule come
    from bench/bench_workflow_scale.py and bench/bench_workflow_slurm.py (peak RSS per rule at 250,
    500 and 1,000 samples; requests within [1, 2] x what the jobs used).
    """

    def mem_mb(wildcards, input, attempt):
        size = input.size_mb
        cells = (
            parquet_mcells(input[cells_of] if cells_of else input) if per_mcell else 0.0
        )
        need = base + per_input_mb * size + per_mcell * cells
        # rounded first, so that a retry always asks for twice as much
        return int(-(-need // step) * step) * attempt

    return mem_mb


def parquet_mcells(input):
    """Million cells (rows x columns) of the Parquet files among the inputs; a file that is not
    Parquet (or not readable as such) counts none."""
    import pyarrow.parquet as pq

    cells = 0
    for path in input:
        if str(path).endswith(".parquet"):
            try:
                meta = pq.read_metadata(path)
            except Exception:
                continue
            cells += meta.num_rows * meta.num_columns
    return cells / 1e6


def runtime_for(base=1, per_input_mb=0.0, times=None):
    """Wall time in minutes: `base` plus `per_input_mb` per MB of input (times `times(wildcards)`,
    e.g. the CV splits a job runs), rounded up to whole minutes (a scheduler's unit: a job of
    seconds asks for one minute), times the attempt."""

    def runtime(wildcards, input, attempt):
        n = times(wildcards) if times else 1
        return max(1, int(-(-(base + per_input_mb * input.size_mb) * n // 1))) * attempt

    return runtime


def n_splits(wildcards):
    """The number of CV splits a cv_fold job runs (`evaluation: splits_per_job`)."""
    return len(SPLIT_JOBS[wildcards.part])


def n_design_splits(wildcards):
    """The number of CV splits a design_fold job draws learning-curve points on."""
    return len(DESIGN_JOBS[wildcards.design_part])


def all_targets():
    targets = [
        "results/report.html",
        "results/decisions.tsv",  # what the run decided: printed at its end (say_decisions)
        "results/evaluate/scoreboard.tsv",
        "results/integrate/mofa/factors.tsv",
        "results/moflow.h5mu",  # rules/export.smk: the results as one MuData file
    ]
    if HIERARCHICAL:
        targets.append("results/integrate/hierarchical/coefficients.tsv")
    return targets + enrichment_targets() + (design_targets() if DESIGN else [])


def design_targets():
    """The design stage's tables (the target `snakemake design` asks for)."""
    return [
        "results/design/power.tsv",
        "results/design/joint_design.tsv",
        "results/design/learning_curve.tsv",
        "results/design/sample_size.tsv",
    ]


def prior_files():
    """What the hierarchical strategy reads: enrichment files and regulator edge lists (none without it)."""
    if not HIERARCHICAL:
        return {"files": [], "edges": []}
    return {"files": enrichment_files(), "edges": list(REGULATORS.values())}


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
        "imputation": expand("results/preprocess/{layer}_imputation.tsv", layer=LAYERS),
        "missingness_png": expand(
            "results/preprocess/{layer}_missingness.png", layer=LAYERS
        ),
        "pca_steps_png": expand(
            "results/preprocess/{layer}_pca_steps.png", layer=LAYERS
        ),
        "factors": "results/integrate/mofa/factors.tsv",
        "variance": "results/integrate/mofa/variance_explained.tsv",
        "associations": "results/integrate/mofa/associations.tsv",
        "early_coefficients": "results/integrate/early/coefficients.tsv",
        "scoreboard": "results/evaluate/scoreboard.tsv",
        "comparison": "results/evaluate/comparison.tsv",
        "permutation": "results/evaluate/permutation_test.tsv",
        "stability": "results/integrate/mofa/stability.tsv",
        "fold_scores": "results/evaluate/fold_scores.tsv",
    }
    # survival: Kaplan-Meier curves of the out-of-fold risk groups
    if SETTINGS.outcome.type == "survival":
        inputs["predictions"] = "results/evaluate/predictions.tsv"
    if MULTI_LAYER:
        inputs["late_weights"] = "results/integrate/late/layer_weights.tsv"
    if HIERARCHICAL:
        inputs["hierarchical"] = "results/integrate/hierarchical/coefficients.tsv"
    if DESIGN:
        inputs["design_power"] = "results/design/power.tsv"
        inputs["design_joint"] = "results/design/joint_design.tsv"
        inputs["design_points"] = "results/design/learning_points.tsv"
        inputs["design_curve"] = "results/design/learning_curve.tsv"
        inputs["design_size"] = "results/design/sample_size.tsv"
        inputs["design_power_png"] = "results/design/power.png"
        inputs["design_learning_png"] = "results/design/learning_curve.png"
    if ENRICH_LAYERS:
        inputs["enrichment"] = "results/enrich/mofa_prerank.tsv"
        inputs["enrichment_models"] = "results/enrich/models_prerank.tsv"
        inputs["enrichment_pathways"] = "results/enrich/pathways.tsv"
        if SETTINGS.enrichment.competitive.enabled:
            inputs["enrichment_competitive"] = "results/enrich/mofa_competitive.tsv"
        if SETTINGS.enrichment.ora.enabled:
            inputs["enrichment_ora"] = "results/enrich/ora.tsv"
    return inputs


def enrichment_files():
    """Every file config enrichment names: gene-set GMTs, layers' feature-set GMTs, annotations."""
    en = SETTINGS.enrichment
    files = list(en.gene_sets.values())
    for cfg in en.layers.values():
        files += list(cfg.feature_sets.values())
        if cfg.annotation:
            files.append(cfg.annotation)
    return list(dict.fromkeys(files))


def enrichment_targets():
    """The enrichment tables, when a layer has genes (and a collection) or its own feature sets."""
    if not ENRICH_LAYERS:
        return []
    en = SETTINGS.enrichment
    targets = [
        "results/enrich/mofa_prerank.tsv",
        "results/enrich/models_prerank.tsv",
        "results/enrich/pathways.tsv",
    ]
    if en.competitive.enabled:
        targets.append("results/enrich/mofa_competitive.tsv")
    if en.ora.enabled:
        targets.append("results/enrich/ora.tsv")
    return targets


# The end of a successful run (Snakefile: onsuccess): what it decided about the data, from the
# report's results/decisions.tsv (moflow.report.decisions), when this run wrote that file.
import time

from moflow.io import read_table
from moflow.report import decision_lines

RUN_STARTED = time.time()


def say_decisions(path="results/decisions.tsv"):
    """Print the decisions the run made about the data (samples left out, features removed, the imputation
    chosen and its error, layers without batch correction, strategies left out) as a few lines; nothing
    where the file does not exist or an earlier run wrote it."""
    found = Path(path)
    if not found.is_file() or found.stat().st_mtime < RUN_STARTED:
        return
    logger.info("\n".join(decision_lines(read_table(found), source=path)))
