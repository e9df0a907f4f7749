# Evaluation: identical outer splits for every strategy and single layer. A cv_fold job takes
# `evaluation: splits_per_job` splits (default 5; 1 on a cluster with free slots), each one:
# preprocessing fit on its training samples only, then every strategy fit and its held-out samples
# predicted. Every job draws the same splits (moflow.evaluate.make_splits, seeded); the report job
# writes them to results/evaluate/splits.tsv and checks that every job's held-out samples are those
# splits' test sides. With an external test set, split "final" trains on every training sample.
# Where every split fits in one job, there is no cv_fold job: fit_cohort runs the splits beside the
# cohort fit (rules/integrate.smk).


# the hierarchical strategy's gene sets and regulator edge lists come in as inputs files and edges
# (empty lists without it)
rule cv_fold:
    input:
        **prior_files(),
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
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
        settings=settings_for(tasks.cv_splits, tasks.cv_fold),
        layers=LAYERS,
        splits=lambda wildcards: SPLIT_JOBS[wildcards.part],
        hierarchical=HIERARCHICAL,
        regulators=list(REGULATORS),
    script:
        "../scripts/cv_fold.py"
