# Inputs: every matrix parsed, checked against the sample sheet and written in one canonical form.
# All layers are checked in one job, so a bad file stops the run before anything is written.


rule validate_inputs:
    input:
        unpack(layer_matrix_paths),
        samples=SAMPLES_PATH,
        omics=OMICS_PATH,
        # gene-set files enrichment will use: one sharing no ID with its layer stops here; ancient: an
        # edited GMT does not rerun the input stage
        gene_sets=[ancient(p) for p in GENE_SET_LAYERS],
    output:
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        summary="results/inputs/summary.tsv",
    log:
        "logs/inputs/validate_inputs.log",
    benchmark:
        "benchmarks/validate_inputs.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=150, per_input_mb=3.5),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.validate_inputs),
        # the paths as written in the sheets and config, for messages (inputs may be storage copies)
        sources=lambda wildcards: {
            **layer_matrix_paths(wildcards),
            "samples": SAMPLES_PATH,
            "omics": OMICS_PATH,
        },
        gene_set_layers=GENE_SET_LAYERS,  # {GMT path: layers it is tested in}
    script:
        "../scripts/validate_inputs.py"
