# Evaluation: identical outer splits for every strategy and single layer. Each split's preprocessing
# is one job (fit on its training samples only); each split x strategy is its own job; a merge rule
# builds the scoreboard. With an external test set, split "final" trains on every training sample.


rule cv_splits:
    input:
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        splits="results/evaluate/splits.tsv",
    log:
        "logs/evaluate/cv_splits.log",
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=1024, per_input_mb=10),
        runtime=runtime_for(base=5, per_input_mb=0.1),
    params:
        settings=settings_for(tasks.evaluate.cv_splits),
    script:
        "../scripts/cv_splits.py"


rule cv_preprocess:
    input:
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
        splits="results/evaluate/splits.tsv",
    output:
        layers=expand("results/evaluate/folds/{{split}}/{layer}.parquet", layer=LAYERS),
    log:
        "logs/evaluate/cv_preprocess_{split}.log",
    benchmark:
        "benchmarks/evaluate/cv_preprocess_{split}.tsv"
    conda:
        "../envs/core.yaml"
    threads: threads_for(max_threads=4, mb_per_thread=200)
    resources:
        mem_mb=mem_mb_for(base=1024, per_input_mb=40),
        runtime=runtime_for(base=10, per_input_mb=0.5),
    params:
        settings=settings_for(tasks.evaluate.cv_preprocess),
        layers=LAYERS,
    script:
        "../scripts/cv_preprocess.py"


rule cv_predict:
    input:
        layers=expand("results/evaluate/folds/{{split}}/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
        splits="results/evaluate/splits.tsv",
    output:
        predictions="results/evaluate/folds/{split}/pred_{strategy}.tsv",
    log:
        "logs/evaluate/cv_predict_{split}_{strategy}.log",
    benchmark:
        "benchmarks/evaluate/cv_predict_{split}_{strategy}.tsv"
    conda:
        "../envs/mofa.yaml"
    threads: threads_for(max_threads=4, mb_per_thread=200)
    resources:
        mem_mb=mem_mb_for(base=2048, per_input_mb=40),
        runtime=runtime_for(base=15, per_input_mb=1.0),
    params:
        settings=settings_for(tasks.evaluate.cv_predict),
        layers=LAYERS,
    script:
        "../scripts/cv_predict.py"


rule scoreboard:
    input:
        predictions=expand(
            "results/evaluate/folds/{split}/pred_{strategy}.tsv",
            split=SPLITS,
            strategy=STRATEGY_NAMES,
        ),
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
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=1024, per_input_mb=10),
        runtime=runtime_for(base=10, per_input_mb=0.5),
    params:
        settings=settings_for(tasks.evaluate.score),
    script:
        "../scripts/scoreboard.py"
