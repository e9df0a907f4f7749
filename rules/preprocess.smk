# Per-layer preprocessing on the full cohort: normalize, QC drift, filter, impute, batch, scale.


rule preprocess_layer:
    input:
        matrix="results/inputs/{layer}.parquet",
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        matrix="results/preprocess/{layer}.parquet",
        diagnostics="results/preprocess/{layer}_diagnostics.tsv",
        pca="results/preprocess/{layer}_pca.tsv",
        steps="results/preprocess/{layer}_steps.tsv",
        imputation="results/preprocess/{layer}_imputation.tsv",
        missingness="results/preprocess/{layer}_missingness.tsv",
        pca_steps="results/preprocess/{layer}_pca_steps.tsv",
        missingness_png=report(
            "results/preprocess/{layer}_missingness.png",
            caption="../report/missingness.rst",
            category="Preprocessing",
        ),
        pca_steps_png=report(
            "results/preprocess/{layer}_pca_steps.png",
            caption="../report/pca_steps.rst",
            category="Preprocessing",
        ),
    log:
        "logs/preprocess/{layer}.log",
    benchmark:
        "benchmarks/preprocess_layer/{layer}.tsv"
    conda:
        "../envs/core.yaml"
    threads: threads_for(max_threads=4, mb_per_thread=200)
    resources:
        mem_mb=mem_mb_for(base=300, per_mcell=73),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.preprocess_layer),
    script:
        "../scripts/preprocess_layer.py"
