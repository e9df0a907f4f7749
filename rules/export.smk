# Export: the run's results as one MuData file for scverse users (muon, mofax, scanpy):
# preprocessed layers, MOFA factors and weights, held-out predictions, config and provenance.


rule export_mudata:
    input:
        matrices=expand("results/preprocess/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
        factors="results/integrate/mofa/factors.tsv",
        weights="results/integrate/mofa/weights.tsv",
        variance="results/integrate/mofa/variance_explained.tsv",
        predictions="results/evaluate/predictions.tsv",
        scoreboard="results/evaluate/scoreboard.tsv",
        # every file the user hands the workflow: its sha256 goes to the provenance in uns
        sources=list(SOURCE_FILES),
    output:
        mudata="results/moflow.h5mu",
    log:
        "logs/export/export_mudata.log",
    benchmark:
        "benchmarks/export_mudata.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=180, per_mcell=30, cells_of="matrices"),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.export_mudata),
        layers=LAYERS,
        sources=list(SOURCE_FILES),  # the names as written (inputs may be storage copies)
        workflow_dir=workflow.basedir,  # its git commit goes to the provenance
    script:
        "../scripts/export_mudata.py"
