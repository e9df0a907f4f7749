# Integration on the full cohort: early (weighted concatenation), intermediate (MOFA), late (stacking).


rule integrate_early:
    input:
        matrices=expand("results/preprocess/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        embedding="results/integrate/early/embedding.tsv",
        coefficients="results/integrate/early/coefficients.tsv",
    log:
        "logs/integrate/early.log",
    benchmark:
        "benchmarks/integrate_early.tsv"
    conda:
        "../envs/core.yaml"
    threads: threads_for(max_threads=2, mb_per_thread=200)
    resources:
        mem_mb=mem_mb_for(base=250, per_input_mb=9),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.integrate_early),
        layers=LAYERS,
    script:
        "../scripts/integrate_early.py"


rule integrate_mofa:
    input:
        matrices=expand("results/preprocess/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        model="results/integrate/mofa/model.hdf5",
        factors="results/integrate/mofa/factors.tsv",
        weights="results/integrate/mofa/weights.tsv",
        variance="results/integrate/mofa/variance_explained.tsv",
        associations="results/integrate/mofa/associations.tsv",
        stability="results/integrate/mofa/stability.tsv",
    log:
        "logs/integrate/mofa.log",
    benchmark:
        "benchmarks/integrate_mofa.tsv"
    # the longest job on the path to the report (enrichment waits for it): started before the CV
    # splits, which fill the other cores meanwhile
    priority: 10
    conda:
        "../envs/mofa.yaml"
    threads: threads_for(max_threads=4, mb_per_thread=200)
    resources:
        mem_mb=mem_mb_for(base=300, per_input_mb=8),
        runtime=runtime_for(base=0.2, per_input_mb=0.04),
    params:
        settings=settings_for(tasks.integrate_mofa),
        layers=LAYERS,
    script:
        "../scripts/integrate_mofa.py"


rule integrate_late:
    input:
        matrices=expand("results/preprocess/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        layer_weights="results/integrate/late/layer_weights.tsv",
        coefficients="results/integrate/late/coefficients.tsv",
    log:
        "logs/integrate/late.log",
    benchmark:
        "benchmarks/integrate_late.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=250, per_input_mb=6),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.integrate_late),
        layers=LAYERS,
    script:
        "../scripts/integrate_late.py"


rule integrate_hierarchical:
    input:
        **prior_files(),
        matrices=expand("results/preprocess/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        scores="results/integrate/hierarchical/scores.tsv",
        coefficients="results/integrate/hierarchical/coefficients.tsv",
    log:
        "logs/integrate/hierarchical.log",
    benchmark:
        "benchmarks/integrate_hierarchical.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=300, per_input_mb=9),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.integrate_hierarchical),
        layers=LAYERS,
        regulators=list(REGULATORS),
    script:
        "../scripts/integrate_hierarchical.py"
