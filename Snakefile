# moflow: multi-omics preprocessing, integration, honest evaluation and enrichment.
# This file is a table of contents; the rules live in rules/, the logic in src/moflow/.

from snakemake.utils import min_version

min_version("9.0")


# `--config model=<bundle.pkl>`: new samples scored with a saved model, in a folder of their own
# (rules/model.smk); otherwise the whole workflow on the cohort of config/config.yaml.
if "model" in config:

    include: "rules/model.smk"

else:

    include: "rules/config_file.smk"

    configfile: "config/config.yaml"

    include: "rules/common.smk"
    include: "rules/demo.smk"
    include: "rules/inputs.smk"
    include: "rules/integrate.smk"
    include: "rules/evaluate.smk"
    include: "rules/subtypes.smk"
    include: "rules/enrich.smk"
    include: "rules/report.smk"
    include: "rules/scarcity.smk"

    rule all:
        default_target: True
        input:
            all_targets(),

    # the end of a successful run: what it decided about the data, in a few lines (rules/common.smk)
    onsuccess:
        say_decisions()
