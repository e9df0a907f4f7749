# Data scarcity: a synthetic copy of the cohort (`snakemake ... synthesize`; not part of the default run).
# The generator (a Gaussian copula with low-rank dependence) is fit on the training samples less a
# held-out share (synthesize: holdout); results/synthetic/ holds every layer on its own scale, a sample
# sheet with the outcome and the batches, an omics sheet of those files (the workflow runs on them), and
# quality.tsv: fidelity, utility (train on synthetic, test on real, per outer fold) and privacy, each
# against real samples the generator never saw. Augmentation inside the folds is part of cv_fold
# (evaluation: augment).


rule synthesize:
    input:
        matrices=expand("results/inputs/{layer}.parquet", layer=LAYERS),
        samples="results/inputs/samples.tsv",
        omics=OMICS_PATH,
    output:
        layers=expand("results/synthetic/layers/{layer}.tsv", layer=LAYERS),
        samples="results/synthetic/samples.tsv",
        omics="results/synthetic/omics.tsv",
        quality=report(
            "results/synthetic/quality.tsv",
            caption="../report/synthetic_quality.rst",
            category="Synthetic cohort",
        ),
        utility="results/synthetic/utility.tsv",
    log:
        "logs/synthesize.log",
    benchmark:
        "benchmarks/synthesize.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=600, per_input_mb=6),
        runtime=runtime_for(base=1, per_input_mb=0.01),
    params:
        settings=settings_for(tasks.synthesize),
        layers=LAYERS,
    script:
        "../scripts/synthesize.py"
