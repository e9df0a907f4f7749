# Enrichment runs in the report job (rules/report.smk): pathways behind MOFA factors, model
# coefficients and selected features, from local GMT files only. The download rule below contacts a
# server only when config enrichment: download: enabled is true.


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
