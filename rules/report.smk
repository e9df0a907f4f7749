# The end of the run, in one job (`report`): the scoreboard from every CV job's predictions
# (results/evaluate/), the design stage (power per layer and the learning curves of the best
# integration and the best single layer, one split per thread; results/design/), enrichment of
# what the full-cohort models found (results/enrich/), the MuData export (results/moflow.h5mu) and the
# self-contained page with its provenance (results/report.html). One job: each part is seconds at
# demo size, and a job of its own cost more to start than to run (bench/results/demo_feedback.md).


rule report:
    input:
        unpack(report_inputs),
        # every file the user hands the workflow: its sha256 goes to results/provenance.json
        sources=list(SOURCE_FILES),
    output:
        **report_outputs(),
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report.tsv"
    conda:
        "../envs/report.yaml"
    threads: report_threads
    resources:
        mem_mb=mem_mb_for(
            base=700, per_input_mb=2, per_thread=DESIGN_WORKER_MB, thread_input="raw"
        ),
        runtime=runtime_for(base=0.5, per_input_mb=0.0006, times=n_design_splits),
    params:
        settings=settings_for(
            tasks.cv_splits,
            tasks.score,
            tasks.site_shift,
            tasks.fit_model,
            tasks.coverage_fold,
            tasks.model_coverage,
            tasks.design_power,
            tasks.design_fold,
            tasks.design_learning,
            tasks.enrich_mofa,
            tasks.enrich_competitive,
            tasks.enrich_models,
            tasks.enrich_subtypes,
            tasks.enrich_ora,
            tasks.enrich_combine,
            tasks.export_mudata,
            tasks.build_report,
        ),
        layers=LAYERS,
        design_splits=DESIGN_SPLITS if DESIGN else [],
        coverage_pairs=COVERAGE_PAIRS,
        enrich_layers=ENRICH_LAYERS,
        # the pathways of each subtype's markers (results/enrich/subtypes_prerank.tsv)
        subtypes_enrich=SUBTYPES and bool(ENRICH_LAYERS),
        enrich_models=ENRICH_MODELS,
        hierarchical=HIERARCHICAL,
        regulators=list(REGULATORS),
        page_tables=page_tables(),
        sources=list(SOURCE_FILES),  # the names as written (inputs may be storage copies)
        workflow_dir=workflow.basedir,  # its git commit goes to the provenance
    script:
        "../scripts/report.py"
