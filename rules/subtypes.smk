# Subtypes (with or without an outcome): the number of subtypes measured on held-out halves. A
# subtype_resamples job takes `subtypes: resamples_per_job` resamples, each one: halves drawn (seeded by
# the resample's number), every layer's preprocessing chain and every representation (components, the
# fused network, MOFA) refit on the fitted half, the held-out half assigned and clustered on its own, for
# every clustering and k, and the same on a reference without structure. The subtypes job chooses k and
# the representation, assigns the cohort's samples (the fit_cohort matrices and factors) with a
# confidence, describes them, and saves a classifier of new samples' subtypes as a model bundle
# (results/subtypes/bundle.pkl: `snakemake predict --config model=results/subtypes/bundle.pkl`).


rule subtype_resamples:
    input:
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        strengths="results/subtypes/resamples/{rpart}.tsv",
    log:
        "logs/subtypes/subtype_resamples_{rpart}.log",
    benchmark:
        "benchmarks/subtype_resamples/{rpart}.tsv"
    conda:
        "../envs/mofa.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=300, per_input_mb=9),
        runtime=runtime_for(base=0.2, per_input_mb=0.004, times=n_resamples),
    params:
        settings=settings_for(tasks.subtype_resamples),
        layers=LAYERS,
        resamples=lambda wildcards: RESAMPLE_JOBS[wildcards.rpart],
    script:
        "../scripts/subtype_resamples.py"


rule subtypes:
    input:
        strengths=expand("results/subtypes/resamples/{rpart}.tsv", rpart=RESAMPLE_JOBS),
        raw=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        matrices=expand("results/preprocess/{layer}.parquet", layer=LAYERS),
        factors="results/integrate/mofa/factors.tsv",
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        **subtype_outputs(),
        # the classifier of new samples' subtypes with every layer's chain (rule predict scores them)
        bundle="results/subtypes/bundle.pkl",
        manifest="results/subtypes/bundle.json",
    log:
        "logs/subtypes/subtypes.log",
    benchmark:
        "benchmarks/subtypes.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=400, per_input_mb=3),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.describe_subtypes),
        layers=LAYERS,
    script:
        "../scripts/subtypes.py"
