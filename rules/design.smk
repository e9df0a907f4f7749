# Design: how many samples the next study needs, with this cohort as its pilot. Power per layer
# (MultiPower's model) and the joint design; learning curves of the best integration and the best
# single layer on the first CV repeat's splits (training sides subsampled, one job per split),
# fitted and extrapolated to the target score; Riley's minimum sample size as a floor.
# `snakemake design` runs this stage alone (with what it needs).


rule design_power:
    input:
        raw=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        matrices=expand("results/preprocess/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        power="results/design/power.tsv",
        joint="results/design/joint_design.tsv",
        figure=report(
            "results/design/power.png",
            caption="../report/design_power.rst",
            category="Design",
        ),
    log:
        "logs/design/power.log",
    benchmark:
        "benchmarks/design_power.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=300, per_input_mb=2.6),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.design_power),
        layers=LAYERS,
    script:
        "../scripts/design_power.py"


rule design_fold:
    input:
        **prior_files(),
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
        splits="results/evaluate/splits.tsv",
        scoreboard="results/evaluate/scoreboard.tsv",
    output:
        points="results/design/folds/{design_part}.tsv",
    log:
        "logs/design/fold_{design_part}.log",
    benchmark:
        "benchmarks/design_fold/{design_part}.tsv"
    # on the path to the report: started as soon as the scoreboard is written
    priority: 5
    conda:
        "../envs/mofa.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=300, per_input_mb=6),
        runtime=runtime_for(base=0.2, per_input_mb=0.003, times=n_design_splits),
    params:
        settings=settings_for(tasks.design_fold),
        layers=LAYERS,
        splits=lambda wildcards: DESIGN_JOBS[wildcards.design_part],
        hierarchical=HIERARCHICAL,
        regulators=list(REGULATORS),
    script:
        "../scripts/design_fold.py"


rule design_learning:
    input:
        points=expand("results/design/folds/{design_part}.tsv", design_part=DESIGN_JOBS),
        fold_scores="results/evaluate/fold_scores.tsv",
        splits="results/evaluate/splits.tsv",
        scoreboard="results/evaluate/scoreboard.tsv",
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        points="results/design/learning_points.tsv",
        curve="results/design/learning_curve.tsv",
        sample_size="results/design/sample_size.tsv",
        figure=report(
            "results/design/learning_curve.png",
            caption="../report/design_learning.rst",
            category="Design",
        ),
    log:
        "logs/design/learning.log",
    benchmark:
        "benchmarks/design_learning.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=256),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.design_learning),
    script:
        "../scripts/design_learning.py"


rule design:
    input:
        design_targets(),
