# The embedded demo cohort, simulated by the package (only built when the omics sheet points here).


rule simulate_demo:
    output:
        rna="resources/demo/rna_counts.tsv",
        protein="resources/demo/proteomics.csv",
        metabolomics="resources/demo/metabolomics.parquet",
        samples="resources/demo/samples.tsv",
        gene_sets="resources/demo/genesets.gmt",
        factors="resources/demo/truth/factors.tsv",
        loadings="resources/demo/truth/loadings.tsv",
        gene_set_truth="resources/demo/truth/gene_sets.tsv",
    log:
        "logs/demo/simulate_demo.log",
    benchmark:
        "benchmarks/simulate_demo.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=1024),
        runtime=runtime_for(base=10),
    params:
        settings=settings_for(tasks.simulate_demo),
    script:
        "../scripts/simulate_demo.py"
