# moflow: multi-omics preprocessing, integration, honest evaluation and enrichment.
# This file is a table of contents; the rules live in rules/, the logic in src/moflow/.

from snakemake.utils import min_version

min_version("9.0")


include: "rules/config_file.smk"


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/inputs.smk"
include: "rules/integrate.smk"
include: "rules/evaluate.smk"
include: "rules/enrich.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),


# the end of a successful run: what it decided about the data, in a few lines (rules/common.smk)
onsuccess:
    say_decisions()
