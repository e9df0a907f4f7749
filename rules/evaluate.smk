# Evaluation: identical outer splits for every strategy and single layer. A cv_fold job takes
# `evaluation: splits_per_job` splits (default 5; 1 on a cluster with free slots), each one:
# preprocessing fit on its training samples only, then every strategy fit and its held-out samples
# predicted (per split x strategy jobs spent a third of their CPU starting up,
# bench/results/workflow_scale.md). A merge rule builds the scoreboard.
# With an external test set, split "final" trains on every training sample.


rule cv_splits:
    input:
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        splits="results/evaluate/splits.tsv",
    log:
        "logs/evaluate/cv_splits.log",
    benchmark:
        "benchmarks/cv_splits.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=256),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.cv_splits),
    script:
        "../scripts/cv_splits.py"


# the hierarchical strategy's gene sets and regulator edge lists come in as inputs files and edges
# (empty lists without it)
rule cv_fold:
    input:
        **prior_files(),
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
        splits="results/evaluate/splits.tsv",
    output:
        predictions="results/evaluate/folds/{part}.tsv",
    log:
        "logs/evaluate/cv_fold_{part}.log",
    benchmark:
        "benchmarks/cv_fold/{part}.tsv"
    conda:
        "../envs/mofa.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=300, per_input_mb=9),
        runtime=runtime_for(base=0.1, per_input_mb=0.004, times=n_splits),
    params:
        settings=settings_for(tasks.cv_fold),
        layers=LAYERS,
        splits=lambda wildcards: SPLIT_JOBS[wildcards.part],
        hierarchical=HIERARCHICAL,
        regulators=list(REGULATORS),
    script:
        "../scripts/cv_fold.py"


rule scoreboard:
    input:
        predictions=expand("results/evaluate/folds/{part}.tsv", part=SPLIT_JOBS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        scoreboard=report(
            "results/evaluate/scoreboard.tsv",
            caption="../report/scoreboard.rst",
            category="Evaluation",
        ),
        fold_scores="results/evaluate/fold_scores.tsv",
        predictions="results/evaluate/predictions.tsv",
        comparison="results/evaluate/comparison.tsv",
        permutation="results/evaluate/permutation_test.tsv",
    log:
        "logs/evaluate/scoreboard.log",
    benchmark:
        "benchmarks/scoreboard.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=256),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.score),
    script:
        "../scripts/scoreboard.py"
