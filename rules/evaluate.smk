# Evaluation: identical outer splits for every strategy; each split is its own job, where the whole
# preprocessing chain is fit on the training samples only.


rule cv_splits:
    input:
        samples="results/inputs/samples.tsv",
    output:
        splits="results/evaluate/splits.tsv",
    log:
        "logs/evaluate/cv_splits.log",
    conda:
        "../envs/core.yaml"
    params:
        evaluation=config["evaluation"],
        outcome=config["outcome"],
        seed=config["seed"],
    script:
        "../scripts/cv_splits.py"


rule cv_fold:
    input:
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
        splits="results/evaluate/splits.tsv",
    output:
        predictions="results/evaluate/folds/{split}.tsv",
    log:
        "logs/evaluate/cv_fold_{split}.log",
    benchmark:
        "benchmarks/evaluate/cv_fold_{split}.tsv"
    conda:
        "../envs/mofa.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb,
    params:
        preprocess=config["preprocess"],
        integration=config["integration"],
        outcome=config["outcome"],
        covariates=config["covariates"],
        seed=config["seed"],
    script:
        "../scripts/cv_fold.py"


rule scoreboard:
    input:
        predictions=expand("results/evaluate/folds/{split}.tsv", split=SPLITS),
        samples="results/inputs/samples.tsv",
    output:
        scoreboard=report(
            "results/evaluate/scoreboard.tsv",
            caption="../report/scoreboard.rst",
            category="Evaluation",
        ),
        fold_scores="results/evaluate/fold_scores.tsv",
        predictions="results/evaluate/predictions.tsv",
    log:
        "logs/evaluate/scoreboard.log",
    conda:
        "../envs/core.yaml"
    params:
        outcome=config["outcome"],
    script:
        "../scripts/scoreboard.py"
