# Enrichment: pathways behind MOFA factors, model coefficients and selected features. Local GMT files
# only; the download rule contacts a server only when config enrichment: download: enabled is true.


rule enrich_mofa:
    input:
        weights="results/integrate/mofa/weights.tsv",
        variance="results/integrate/mofa/variance_explained.tsv",
        omics=OMICS_PATH,
        files=enrichment_files(),
    output:
        table="results/enrich/mofa_prerank.tsv",
    log:
        "logs/enrich/mofa_prerank.log",
    benchmark:
        "benchmarks/enrich_mofa.tsv"
    conda:
        "../envs/enrich.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=256),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.enrich_mofa),
    script:
        "../scripts/enrich_mofa.py"


rule enrich_mofa_competitive:
    input:
        weights="results/integrate/mofa/weights.tsv",
        variance="results/integrate/mofa/variance_explained.tsv",
        factors="results/integrate/mofa/factors.tsv",
        matrices=expand("results/preprocess/{layer}.parquet", layer=ENRICH_LAYERS),
        omics=OMICS_PATH,
        files=enrichment_files(),
    output:
        table="results/enrich/mofa_competitive.tsv",
    log:
        "logs/enrich/mofa_competitive.log",
    benchmark:
        "benchmarks/enrich_mofa_competitive.tsv"
    conda:
        "../envs/enrich.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=200, per_input_mb=3.5),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.enrich_competitive),
        layers=ENRICH_LAYERS,
    script:
        "../scripts/enrich_competitive.py"


rule enrich_models:
    input:
        coefficients=expand(
            "results/integrate/{model}/coefficients.tsv", model=ENRICH_MODELS
        ),
        omics=OMICS_PATH,
        files=enrichment_files(),
    output:
        table="results/enrich/models_prerank.tsv",
    log:
        "logs/enrich/models_prerank.log",
    benchmark:
        "benchmarks/enrich_models.tsv"
    conda:
        "../envs/enrich.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=256),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.enrich_models),
        models=ENRICH_MODELS,
    script:
        "../scripts/enrich_models.py"


rule enrich_ora:
    input:
        weights="results/integrate/mofa/weights.tsv",
        variance="results/integrate/mofa/variance_explained.tsv",
        coefficients=expand(
            "results/integrate/{model}/coefficients.tsv", model=ENRICH_MODELS
        ),
        omics=OMICS_PATH,
        files=enrichment_files(),
    output:
        table="results/enrich/ora.tsv",
    log:
        "logs/enrich/ora.log",
    benchmark:
        "benchmarks/enrich_ora.tsv"
    conda:
        "../envs/enrich.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=256),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.enrich_ora),
        models=ENRICH_MODELS,
    script:
        "../scripts/enrich_ora.py"


rule enrich_combine:
    input:
        mofa="results/enrich/mofa_prerank.tsv",
        models="results/enrich/models_prerank.tsv",
    output:
        table="results/enrich/pathways.tsv",
    log:
        "logs/enrich/pathways.log",
    benchmark:
        "benchmarks/enrich_combine.tsv"
    conda:
        "../envs/enrich.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=256),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.enrich_combine),
    script:
        "../scripts/enrich_combine.py"


# The only rule that needs the network: run by Snakemake itself (the login node), never submitted.
localrules:
    enrich_download,


rule enrich_download:
    output:
        gmt=f"{DOWNLOAD_DIR}/{{library}}.gmt",
    log:
        "logs/enrich/download_{library}.log",
    benchmark:
        "benchmarks/enrich_download/{library}.tsv"
    wildcard_constraints:
        library="[A-Za-z0-9_.+-]+",
    conda:
        "../envs/enrich.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=1024),
        runtime=runtime_for(base=10),
    params:
        settings=settings_for(tasks.enrich_download),
    script:
        "../scripts/enrich_download.py"
