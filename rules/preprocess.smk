# Per-layer preprocessing on the full cohort: normalize, QC drift, filter, batch, impute, scale.


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
    log:
        "logs/preprocess/{layer}.log",
    benchmark:
        "benchmarks/preprocess/{layer}.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb,
    params:
        preprocess=config["preprocess"],
        outcome=config["outcome"],
        covariates=config["covariates"],
        seed=config["seed"],
    script:
        "../scripts/preprocess_layer.py"
