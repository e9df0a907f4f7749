# The whole cohort, in one job (`fit_cohort`): every layer's preprocessing chain fit on every sample
# (results/preprocess/), then every integration strategy fit on the preprocessed layers
# (results/integrate/): early (weighted concatenation), intermediate (MOFA), late (stacking) and
# hierarchical where they run. One job, not one per layer and strategy: at demo size each of those
# spent more CPU starting up than working (bench/results/demo_feedback.md); on a cluster it runs beside
# the CV jobs, which hold the large work. Where every CV split fits in one job (`evaluation:
# splits_per_job`), this job runs them too, forked beside the cohort fit (results/evaluate/folds/).


rule fit_cohort:
    input:
        **prior_files(),
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        **cohort_outputs(),
    log:
        "logs/integrate/fit_cohort.log",
    benchmark:
        "benchmarks/fit_cohort.tsv"
    # the longest job beside the CV (MOFA in it; enrichment and the report wait for it)
    priority: 10
    conda:
        "../envs/mofa.yaml"
    threads: cohort_threads
    resources:
        mem_mb=mem_mb_for(
            base=300,
            per_mcell=73,
            cells="largest",
            per_thread=CV_WORKER_MB if COHORT_CV_PART else None,
            thread_input="matrices",
        ),
        runtime=runtime_for(base=1, per_input_mb=0.006, times=cohort_rounds),
    params:
        settings=settings_for(
            tasks.preprocess_layer,
            tasks.integrate_early,
            tasks.integrate_mofa,
            tasks.integrate_late,
            tasks.integrate_hierarchical,
            tasks.cv_splits,
            tasks.cv_fold,
        ),
        layers=LAYERS,
        strategies=COHORT_STRATEGIES,
        regulators=list(REGULATORS),
        # the CV splits this job runs beside the cohort fit (none where cv_fold jobs hold them)
        cv_splits=SPLIT_JOBS[COHORT_CV_PART] if COHORT_CV_PART else [],
        hierarchical=HIERARCHICAL,
    script:
        "../scripts/fit_cohort.py"
