# Scoring new samples with a saved model bundle (written by the report job under results/model/), in a
# folder of their own: `snakemake -s <moflow>/Snakefile predict --cores 1 --config model=<bundle.pkl>`.
# The folder holds the new samples' sheet and omics sheet (config/samples.tsv, config/omics.tsv) and
# their matrices; no config.yaml, no outcome. Nothing is refit.

from snakemake.utils import validate

from moflow.errors import InputError
from moflow.model import predict_mem_mb, predict_plan, predict_runtime

validate(config, schema="../schemas/predict.schema.yaml")
try:
    PREDICT = predict_plan(config)
except InputError as exc:
    raise WorkflowError(f"Invalid input: {exc}") from None


rule predict:
    default_target: True
    input:
        bundle=PREDICT["bundle"],
        manifest=PREDICT["manifest"],
        samples=PREDICT["samples"],
        omics=PREDICT["omics"],
        matrices=list(PREDICT["matrices"].values()),
    output:
        predictions="results/predict/predictions.tsv",
        layers="results/predict/layers.tsv",
        html="results/predict/predictions.html",
    log:
        "logs/predict/predict.log",
    benchmark:
        "benchmarks/predict.tsv"
    conda:
        "../envs/mofa.yaml"
    threads: 1
    resources:
        mem_mb=predict_mem_mb,
        runtime=predict_runtime,
    params:
        layers=list(PREDICT["matrices"]),
        max_missing=PREDICT["max_missing"],
    script:
        "../scripts/predict.py"
