# Inputs: every matrix parsed, checked against the sample sheet and written in one canonical form.
# All layers are checked in one job, so a bad file stops the run before anything is written.


rule validate_inputs:
    input:
        unpack(layer_matrix_paths),
        samples=SAMPLES_PATH,
        omics=OMICS_PATH,
    output:
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        summary="results/inputs/summary.tsv",
    log:
        "logs/inputs/validate_inputs.log",
    benchmark:
        "benchmarks/inputs/validate_inputs.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=mem_mb,
    params:
        outcome=config["outcome"]["column"],
        folds=config["evaluation"]["folds"],
        allow_missing=config["inputs"]["allow_missing_samples"],
    script:
        "../scripts/validate_inputs.py"
