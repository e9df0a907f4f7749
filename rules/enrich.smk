# Enrichment: gseapy prerank of MOFA weights per factor and gene-mapped layer, local GMT files only.


rule enrich_mofa:
    input:
        weights="results/integrate/mofa/weights.tsv",
        omics=OMICS_PATH,
        gene_sets=[config["enrichment"]["gene_sets"][c] for c in COLLECTIONS],
    output:
        table="results/enrich/mofa_prerank.tsv",
    log:
        "logs/enrich/mofa_prerank.log",
    benchmark:
        "benchmarks/enrich/mofa_prerank.tsv"
    conda:
        "../envs/enrich.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb,
    params:
        enrichment=config["enrichment"],
        collections=COLLECTIONS,
        seed=config["seed"],
    script:
        "../scripts/enrich_mofa.py"
