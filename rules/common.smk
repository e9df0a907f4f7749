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
import moflow.tasks.model_rules
import moflow.tasks.preprocess_rules
import moflow.tasks.report_rules
import moflow.tasks.subtypes_rules
import moflow.tasks.synthesize_rules
from moflow import tasks
from moflow.cohort import (
    external_test_samples,
    has_outcome,
    runs_subtypes,
    split_jobs,
    training_samples,
)
from moflow.enrich import enrichment_layers
from moflow.errors import InputError
from moflow.evaluate import site_levels, split_labels
from moflow.integrate import strategy_names
from moflow.model import fold_pairs
from moflow.settings import SECTIONS, Settings, sections_of
from moflow.subtypes.subtype_plan import resample_jobs

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


def settings_for(*tasks):
    """The config sections a rule's package functions read (``task.reads`` of each), and only those:
    a change elsewhere in config does not rerun the rule."""
    return sections_of(
        config, [s for s in SECTIONS if any(s in t.reads for t in tasks)]
    )


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
# no outcome (no `outcome` section, or `outcome: type: none`): preprocessing, MOFA, subtypes and their
# enrichment only; every stage that needs an outcome (evaluation, model, design) is left out
OUTCOME = has_outcome(SETTINGS)
# subtype discovery (rules/subtypes.smk): `subtypes: enabled`, or, where null, without an outcome
SUBTYPES = runs_subtypes(SETTINGS)
RESAMPLE_JOBS = resample_jobs(SETTINGS) if SUBTYPES else {}
GENE_LAYERS = [l for l in LAYERS if omics.loc[l, "gene_ids"] == "symbol"]
EXTERNAL_TEST = external_test_samples(samples, SETTINGS)
# evaluation: site_column: the outer splits leave one site out at a time (r1f1.. in sorted site
# order), the pooled CV beside them (p{R}f{F})
SITES = (
    site_levels(
        samples, SETTINGS.evaluation.site_column, training_samples(samples, SETTINGS)
    )
    if SETTINGS.evaluation.site_column.strip()
    else []
)
SPLITS = (
    split_labels(
        SETTINGS.evaluation.repeats,
        SETTINGS.evaluation.folds,
        external=bool(EXTERNAL_TEST),
        sites=len(SITES),
    )
    if OUTCOME
    else []
)
STRATEGY_NAMES = strategy_names(LAYERS, SETTINGS, omics) if OUTCOME else ["mofa"]
# the hierarchical strategy reads the gene sets (and annotations) and its regulator edge lists
HIERARCHICAL = "hierarchical" in STRATEGY_NAMES
REGULATORS = {
    name: reg.edges
    for name, reg in SETTINGS.integration.hierarchical.regulators.items()
}
SPLIT_JOBS = split_jobs(SPLITS, SETTINGS.evaluation.splits_per_job)
# Where every CV split fits in one job (the demo, small cohorts), the whole-cohort fit runs in that
# job too (the fit_cohort job: its splits and the fit forked over its threads): one process of ~1.5 s
# of start-up fewer (bench/results/demo_feedback.md). Otherwise the cv_fold jobs hold the splits.
COHORT_CV_PART = next(iter(SPLIT_JOBS)) if len(SPLIT_JOBS) == 1 else None
CV_PARTS = [p for p in SPLIT_JOBS if p != COHORT_CV_PART]
# the design stage's learning curves: the first repeat's splits, drawn in the report job (they need
# the scoreboard, the report needs them), over its threads
DESIGN = SETTINGS.design.enabled and OUTCOME
DESIGN_SPLITS = [s for s in SPLITS if s.startswith("r1f")]
# the coverage of the model's prediction sets or intervals: models fit without two folds of the first
# repeat, one per pair of folds, in the report job too (not for a survival outcome)
COVERAGE_PAIRS = (
    fold_pairs(DESIGN_SPLITS)
    if OUTCOME
    and SETTINGS.predictor.coverage_check
    and SETTINGS.outcome.type != "survival"
    else []
)
COLLECTIONS = list(SETTINGS.enrichment.gene_sets)

# Enrichment: layers with genes (gene_ids = symbol, or an annotation in config) and layers with
# their own feature sets; gene-set files must exist, come from the demo, or be downloads turned on.
# Models fit on the full cohort whose coefficients are enriched. Late integration (and mixed) need
# two layers; with one, early integration is that layer's own penalized model.
MULTI_LAYER = len(LAYERS) > 1
ENRICH_MODELS = (["early", "late"] if MULTI_LAYER else ["early"]) if OUTCOME else []
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
    part="|".join(CV_PARTS) or "(?!)",  # (?!): matches nothing (no cv_fold job)
    rpart="|".join(RESAMPLE_JOBS) or "(?!)",


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
# jobs had at the three sizes; run times under half a minute still ask for one minute. The merged jobs
# (fit_cohort, report) and validate_inputs were calibrated again at 1,000 samples
# (bench/results/workflow_rules_merged_1000.tsv). Snakemake exports OMP/OPENBLAS/MKL_NUM_THREADS =
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


def mem_mb_for(
    base=1024,
    per_input_mb=0.0,
    per_mcell=0.0,
    cells_of=None,
    cells="sum",
    step=256,
    per_thread=None,
    thread_input=None,
):
    """Memory in MB: `base`, plus `per_input_mb` per MB of input, plus `per_mcell` per million cells
    of the Parquet matrices among the inputs (or among the input named `cells_of`; from their
    footers: counts compress ten times better than methylation values, so cells predict memory where
    file sizes cannot), summed over the files or, with `cells="largest"`, of the largest one (a job
    that handles one layer at a time), plus, per thread beyond the first, `per_thread` = (MB, MB per
    MB of the input named `thread_input`) for a job whose threads are forked workers each holding its
    own data; rounded up to `step` MB, times the attempt. The numbers of
    every rule come from bench/bench_workflow_scale.py and bench/bench_workflow_slurm.py (peak RSS
    per rule at 250, 500 and 1,000 samples; requests within [1, 2] x what the jobs used).
    """

    def mem_mb(wildcards, input, threads, attempt):
        size = input.size_mb
        counts = (
            parquet_mcells(input[cells_of] if cells_of else input)
            if per_mcell
            else [0.0]
        )
        mcells = max(counts, default=0.0) if cells == "largest" else sum(counts)
        need = base + per_input_mb * size + per_mcell * mcells
        if per_thread and threads > 1:
            try:
                mb = sum(Path(f).stat().st_size for f in input[thread_input]) / 2**20
            except OSError:  # not written yet (a dry run): the input's size counts none
                mb = 0.0
            need += (threads - 1) * (per_thread[0] + per_thread[1] * mb)
        # rounded first, so that a retry always asks for twice as much
        return int(-(-need // step) * step) * attempt

    return mem_mb


def parquet_mcells(input):
    """Million cells (rows x columns) of each Parquet file among the inputs; a file that is not
    Parquet (or not readable as such) counts none."""
    import pyarrow.parquet as pq

    cells = []
    for path in input:
        if str(path).endswith(".parquet"):
            try:
                meta = pq.read_metadata(path)
            except Exception:
                continue
            cells.append(meta.num_rows * meta.num_columns / 1e6)
    return cells


def runtime_for(base=1, per_input_mb=0.0, times=None):
    """Wall time in minutes: `base` plus `per_input_mb` per MB of input (times `times(wildcards, input)`,
    e.g. the CV splits a job runs), rounded up to whole minutes (a scheduler's unit: a job of
    seconds asks for one minute), times the attempt."""

    def runtime(wildcards, input, attempt):
        n = times(wildcards, input) if times else 1
        return max(1, int(-(-(base + per_input_mb * input.size_mb) * n // 1))) * attempt

    return runtime


def n_splits(wildcards, input=None):
    """The number of CV splits a cv_fold job runs (`evaluation: splits_per_job`)."""
    return len(SPLIT_JOBS[wildcards.part])


# the synthetic cohort's tables (written by rules/scarcity.smk), which the report reads where it is enabled
SYNTHETIC = {
    "synthetic__quality": "results/synthetic/quality.tsv",
    "synthetic__samples": "results/synthetic/samples.tsv",
}


def all_targets():
    targets = [
        "results/report.html",
        "results/decisions.tsv",  # what the run decided: printed at its end (say_decisions)
        "results/integrate/mofa/factors.tsv",
        "results/moflow.h5mu",  # the results as one MuData file (rule report)
    ]
    if OUTCOME:
        targets += [
            "results/evaluate/scoreboard.tsv",
            "results/model/bundle.pkl",  # the predictor for new samples (rule report; rule predict reads it)
        ]
    if SUBTYPES:
        targets += list(subtype_outputs().values())
    if HIERARCHICAL:
        targets.append("results/integrate/hierarchical/coefficients.tsv")
    if SETTINGS.synthesize.enabled:  # the synthetic cohort (rules/scarcity.smk)
        targets += list(SYNTHETIC.values())
    return targets + enrichment_targets() + (design_targets() if DESIGN else [])


def design_targets():
    """The design stage's tables (written by the report job)."""
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


# The strategies fit on the whole cohort in the fit_cohort job: late integration needs two layers,
# the hierarchical one runs where config turns it on; without an outcome, MOFA alone.
COHORT_STRATEGIES = (
    (
        ["early", "mofa"]
        + (["late"] if MULTI_LAYER else [])
        + (["hierarchical"] if HIERARCHICAL else [])
    )
    if OUTCOME
    else ["mofa"]
)


def subtype_outputs():
    """The subtypes job's tables by name (rules/subtypes.smk)."""
    names = [
        "k_selection",
        "assignments",
        "markers",
        "associations",
        "survival",
        "kaplan_meier",
        "profile",
        "embedding",
        "summary",
    ]
    return {name: f"results/subtypes/{name}.tsv" for name in names}


def n_resamples(wildcards, input=None):
    """The number of resamples a subtype_resamples job runs (`subtypes: resamples_per_job`)."""
    return len(RESAMPLE_JOBS[wildcards.rpart])


def _shown(path, caption, category, flag):
    return report(path, caption=caption, category=category) if flag else path


def cohort_outputs(flag=True):
    """The fit_cohort job's files by name, ``<step>__<output>`` (moflow.runtime.outputs_of splits
    them by step): every layer's preprocessing (a list in layer order per output), then every
    strategy's tables. `flag`: the figures marked for Snakemake's report (False: as inputs).
    """
    pre = "results/preprocess/{layer}"
    out = {
        f"preprocess__{name}": expand(f"{pre}{suffix}", layer=LAYERS)
        for name, suffix in [
            ("matrix", ".parquet"),
            ("diagnostics", "_diagnostics.tsv"),
            ("pca", "_pca.tsv"),
            ("steps", "_steps.tsv"),
            ("imputation", "_imputation.tsv"),
            ("missingness", "_missingness.tsv"),
            ("pca_steps", "_pca_steps.tsv"),
        ]
    }
    out["preprocess__missingness_png"] = _shown(
        expand(f"{pre}_missingness.png", layer=LAYERS),
        "../report/missingness.rst",
        "Preprocessing",
        flag,
    )
    out["preprocess__pca_steps_png"] = _shown(
        expand(f"{pre}_pca_steps.png", layer=LAYERS),
        "../report/pca_steps.rst",
        "Preprocessing",
        flag,
    )
    files = {
        "early": {"embedding": "embedding.tsv", "coefficients": "coefficients.tsv"},
        "mofa": {
            "model": "model.hdf5",
            "factors": "factors.tsv",
            "weights": "weights.tsv",
            "variance": "variance_explained.tsv",
            "associations": "associations.tsv",
            "stability": "stability.tsv",
        },
        "late": {
            "layer_weights": "layer_weights.tsv",
            "coefficients": "coefficients.tsv",
        },
        "hierarchical": {"scores": "scores.tsv", "coefficients": "coefficients.tsv"},
    }
    for step in COHORT_STRATEGIES:
        for name, file in files[step].items():
            out[f"{step}__{name}"] = f"results/integrate/{step}/{file}"
    if COHORT_CV_PART:  # the CV splits, where they all fit in this job
        out["evaluate__folds"] = f"results/evaluate/folds/{COHORT_CV_PART}.tsv"
    return out


def report_outputs():
    """The report job's files by name, ``<step>__<output>``: the scoreboard set, the design stage,
    enrichment, the MuData export and the page (moflow.runtime.outputs_of splits them by step).
    """
    ev = "results/evaluate"
    out = (
        {}
        if not OUTCOME
        else {
            "evaluate__splits": f"{ev}/splits.tsv",
            "evaluate__scoreboard": report(
                f"{ev}/scoreboard.tsv",
                caption="../report/scoreboard.rst",
                category="Evaluation",
            ),
            "evaluate__fold_scores": f"{ev}/fold_scores.tsv",
            "evaluate__predictions": f"{ev}/predictions.tsv",
            "evaluate__comparison": f"{ev}/comparison.tsv",
            "evaluate__permutation": f"{ev}/permutation_test.tsv",
            "evaluate__gains": f"{ev}/gains.tsv",
        }
    )
    # calibration of the out-of-fold probabilities (survival: predicted against observed by risk group;
    # a continuous outcome: empty tables)
    if OUTCOME:
        out["evaluate__calibration"] = f"{ev}/calibration.tsv"
        out["evaluate__reliability"] = f"{ev}/reliability.tsv"
        out["evaluate__decision_curve"] = f"{ev}/decision_curve.tsv"
    if SETTINGS.clinical.columns:
        out["evaluate__clinical"] = f"{ev}/clinical_covariates.tsv"
    # augmentation inside the folds: each augmented row against its strategy as it is
    if OUTCOME and [m for m in SETTINGS.evaluation.augment if m != "none"]:
        out["evaluate__augmentation"] = f"{ev}/augmentation.tsv"
    # leave-one-site-out: per-site scores, the pooled CV beside, the shift per layer
    if SITES:
        out["evaluate__sites"] = f"{ev}/sites.tsv"
        out["evaluate__scoreboard_pooled"] = f"{ev}/scoreboard_pooled_cv.tsv"
        out["shift__shift"] = f"{ev}/shift.tsv"
    if DESIGN:
        out.update(
            {
                "design__power": "results/design/power.tsv",
                "design__joint": "results/design/joint_design.tsv",
                "design__figure": report(
                    "results/design/power.png",
                    caption="../report/design_power.rst",
                    category="Design",
                ),
                "learning__points": "results/design/learning_points.tsv",
                "learning__curve": "results/design/learning_curve.tsv",
                "learning__sample_size": "results/design/sample_size.tsv",
                "learning__figure": report(
                    "results/design/learning_curve.png",
                    caption="../report/design_learning.rst",
                    category="Design",
                ),
            }
        )
    if ENRICH_LAYERS:
        out["enrich_mofa__table"] = "results/enrich/mofa_prerank.tsv"
        out["enrich_models__table"] = "results/enrich/models_prerank.tsv"
        if SUBTYPES:
            out["enrich_subtypes__table"] = "results/enrich/subtypes_prerank.tsv"
        out["enrich_combine__table"] = "results/enrich/pathways.tsv"
        if SETTINGS.enrichment.competitive.enabled:
            out["enrich_competitive__table"] = "results/enrich/mofa_competitive.tsv"
        if SETTINGS.enrichment.ora.enabled:
            out["enrich_ora__table"] = "results/enrich/ora.tsv"
    if OUTCOME:
        # the model bundle: the chosen strategy refit on every training sample (rule predict scores new
        # samples)
        out["model__bundle"] = "results/model/bundle.pkl"
        out["model__manifest"] = "results/model/bundle.json"
        out["model__summary"] = "results/model/model.tsv"
        # their prediction sets or intervals: coverage inside the outer splits and on the external test set
        out["coverage__samples"] = "results/model/conformal.tsv"
        out["coverage__coverage"] = "results/model/coverage.tsv"
    out["export__mudata"] = "results/moflow.h5mu"
    figures = "results/report"
    if OUTCOME:
        out.update(
            {
                "page__scoreboard": report(
                    f"{figures}/scoreboard.png",
                    caption="../report/scoreboard.rst",
                    category="Evaluation",
                ),
            }
        )
    if SUBTYPES:
        out.update(
            {
                "page__subtypes": report(
                    f"{figures}/subtypes_k.png",
                    caption="../report/subtypes.rst",
                    category="Subtypes",
                ),
            }
        )
    out.update(
        {
            "page__html": "results/report.html",
            "page__provenance": "results/provenance.json",
            # what the run decided about the data: the report's section after the verdict, printed
            # at the end of the run (onsuccess: say_decisions)
            "page__decisions": "results/decisions.tsv",
            "page__pca": report(
                expand(f"{figures}/pca_{{layer}}.png", layer=LAYERS),
                caption="../report/pca.rst",
                category="Preprocessing",
            ),
            "page__variance": report(
                f"{figures}/variance_explained.png",
                caption="../report/variance_explained.rst",
                category="MOFA",
            ),
            "page__pathways": report(
                f"{figures}/top_pathways.png",
                caption="../report/pathways.rst",
                category="Enrichment",
            ),
            "page__enrichment_heatmap": report(
                f"{figures}/enrichment_heatmap.png",
                caption="../report/enrichment_heatmap.rst",
                category="Enrichment",
            ),
            "page__enrichment_dots_mofa": report(
                f"{figures}/enrichment_dots_mofa.png",
                caption="../report/enrichment_dots_mofa.rst",
                category="Enrichment",
            ),
            "page__enrichment_dots_models": report(
                f"{figures}/enrichment_dots_models.png",
                caption="../report/enrichment_dots_models.rst",
                category="Enrichment",
            ),
        }
    )
    return out


def report_inputs(wildcards):
    """What the report job reads: the sheets, the validated and the preprocessed matrices, every
    table of fit_cohort (its MOFA model file aside), every CV job's predictions, the files of the
    hierarchical prior and of enrichment."""
    inputs = {
        "samples": "results/inputs/samples.tsv",
        "input_summary": "results/inputs/summary.tsv",
        "omics": OMICS_PATH,
        "raw": expand("results/inputs/{layer}.parquet", layer=LAYERS),
        "folds": expand("results/evaluate/folds/{part}.tsv", part=SPLIT_JOBS),
        **(
            {f"subtypes__{k}": v for k, v in subtype_outputs().items()}
            if SUBTYPES
            else {}
        ),
        **(SYNTHETIC if SETTINGS.synthesize.enabled else {}),
        "edges": list(REGULATORS.values()) if HIERARCHICAL else [],
        "files": enrichment_files() if (HIERARCHICAL or ENRICH_LAYERS) else [],
    }
    cohort = cohort_outputs(flag=False)
    cohort.pop("mofa__model")
    cohort.pop("evaluate__folds", None)  # among the folds above
    return inputs | cohort


def page_tables():
    """{table of the page (moflow.tasks.build_report): the report job's input or output name that
    holds it}; per-layer tables are lists in layer order."""
    tables = {
        "samples": "samples",
        "input_summary": "input_summary",
        "factors": "mofa__factors",
        "variance": "mofa__variance",
        "associations": "mofa__associations",
        "stability": "mofa__stability",
        # per layer
        "diagnostics": "preprocess__diagnostics",
        "pca": "preprocess__pca",
        "steps": "preprocess__steps",
        "imputation": "preprocess__imputation",
        "missingness_png": "preprocess__missingness_png",
        "pca_steps_png": "preprocess__pca_steps_png",
    }
    if OUTCOME:  # the evaluation's tables
        tables.update(
            {
                "early_coefficients": "early__coefficients",
                "scoreboard": "evaluate__scoreboard",
                "comparison": "evaluate__comparison",
                "permutation": "evaluate__permutation",
                "gains": "evaluate__gains",
                "fold_scores": "evaluate__fold_scores",
                "model": "model__summary",
                "calibration": "evaluate__calibration",
                "reliability": "evaluate__reliability",
                "decision_curve": "evaluate__decision_curve",
                "coverage": "coverage__coverage",
            }
        )
    if SUBTYPES:
        tables.update({f"subtypes_{k}": f"subtypes__{k}" for k in subtype_outputs()})
        tables["preprocessed"] = "preprocess__matrix"  # the subtypes' marker heatmap
    # survival: Kaplan-Meier curves of the out-of-fold risk groups
    if SETTINGS.outcome.type == "survival":
        tables["predictions"] = "evaluate__predictions"
    if MULTI_LAYER and OUTCOME:
        tables["late_weights"] = "late__layer_weights"
    if SETTINGS.clinical.columns:
        tables["clinical"] = "evaluate__clinical"
    if SITES:
        tables["sites"] = "evaluate__sites"
        tables["shift"] = "shift__shift"
    if HIERARCHICAL:
        tables["hierarchical"] = "hierarchical__coefficients"
    if OUTCOME and [m for m in SETTINGS.evaluation.augment if m != "none"]:
        tables["augmentation"] = "evaluate__augmentation"
    if SETTINGS.synthesize.enabled:
        tables.update(
            {
                "synthetic_quality": "synthetic__quality",
                "synthetic_samples": "synthetic__samples",
            }
        )
    if DESIGN:
        tables["design_power"] = "design__power"
        tables["design_joint"] = "design__joint"
        tables["design_points"] = "learning__points"
        tables["design_curve"] = "learning__curve"
        tables["design_size"] = "learning__sample_size"
        tables["design_power_png"] = "design__figure"
        tables["design_learning_png"] = "learning__figure"
    if ENRICH_LAYERS:
        tables["enrichment"] = "enrich_mofa__table"
        if SUBTYPES:
            tables["enrichment_subtypes"] = "enrich_subtypes__table"
        tables["enrichment_models"] = "enrich_models__table"
        tables["enrichment_pathways"] = "enrich_combine__table"
        if SETTINGS.enrichment.competitive.enabled:
            tables["enrichment_competitive"] = "enrich_competitive__table"
        if SETTINGS.enrichment.ora.enabled:
            tables["enrichment_ora"] = "enrich_ora__table"
    return tables


# The report job's threads: the design stage's learning-curve refits run side by side in forked workers
# (moflow.runtime.fork_map), at most four, and only as many as keep the job under the 2 GB every job
# keeps: a refit holds about 300 MB plus 6 MB per MB of the raw layers (the design_fold jobs of
# earlier versions: 1,249 MB at 194 MB, TCGA-shaped 1,000 samples,
# bench/results/workflow_rules_session7_1000.tsv); at that size one worker, at demo size four.
JOB_MEMORY_LINE_MB = 2048
DESIGN_WORKER_MB = (300, 6)


def design_workers(input):
    """The refits the report job runs side by side, learning-curve or coverage splits (1 without
    either, and while its inputs are not written yet: a dry run)."""
    if not DESIGN and not COVERAGE_PAIRS:
        return 1
    try:
        raw_mb = sum(Path(f).stat().st_size for f in input.raw) / 2**20
    except (OSError, AttributeError):
        return 1
    per_worker = DESIGN_WORKER_MB[0] + DESIGN_WORKER_MB[1] * raw_mb
    most = max(len(DESIGN_SPLITS) if DESIGN else 0, len(COVERAGE_PAIRS))
    return max(1, min(4, most, int(JOB_MEMORY_LINE_MB // per_worker)))


# a CV split beside the cohort fit in fit_cohort: about cv_fold's memory (300 MB plus 9 MB per MB of
# the raw layers)
CV_WORKER_MB = (300, 9)


def cohort_threads(wildcards, input):
    """fit_cohort's threads: its BLAS threads (threads_for), or, where the job holds the CV splits too,
    the forked workers that run them beside the cohort fit, as many as keep it under the 2 GB line.
    """
    if not COHORT_CV_PART:
        return threads_for(max_threads=4, mb_per_thread=200)(wildcards, input)
    try:
        raw_mb = sum(Path(f).stat().st_size for f in input.matrices) / 2**20
    except (OSError, AttributeError):
        return 1
    per_worker = CV_WORKER_MB[0] + CV_WORKER_MB[1] * raw_mb
    jobs = 1 + len(SPLIT_JOBS[COHORT_CV_PART])
    return max(1, min(4, jobs, int(JOB_MEMORY_LINE_MB // per_worker)))


def cohort_rounds(wildcards, input):
    """fit_cohort's run time in cohort fits: one, plus the CV splits it holds per worker."""
    if not COHORT_CV_PART:
        return 1
    workers = cohort_threads(wildcards, input)
    return 1 + -(-len(SPLIT_JOBS[COHORT_CV_PART]) // workers)


def report_threads(wildcards, input):
    return design_workers(input)


def n_design_splits(wildcards, input):
    """The refit rounds each of the report job's threads runs: its learning-curve splits and its coverage
    splits (1 without either)."""
    workers = design_workers(input)
    rounds = -(-len(DESIGN_SPLITS) // workers) if DESIGN else 0
    return max(1, rounds + -(-len(COVERAGE_PAIRS) // workers))


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
