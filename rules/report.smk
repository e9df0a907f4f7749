# Report: one self-contained HTML page with every stage, its plots, and a provenance manifest.


rule report:
    input:
        unpack(report_inputs),
        # every file the user hands the workflow: its sha256 goes to results/provenance.json
        sources=list(SOURCE_FILES),
    output:
        html="results/report.html",
        provenance="results/provenance.json",
        # what the run decided about the data: the report's section after the verdict, printed at the
        # end of the run (onsuccess: say_decisions in rules/common.smk)
        decisions="results/decisions.tsv",
        pca=report(
            expand("results/report/pca_{layer}.png", layer=LAYERS),
            caption="../report/pca.rst",
            category="Preprocessing",
        ),
        variance=report(
            "results/report/variance_explained.png",
            caption="../report/variance_explained.rst",
            category="MOFA",
        ),
        scoreboard=report(
            "results/report/scoreboard.png",
            caption="../report/scoreboard.rst",
            category="Evaluation",
        ),
        pathways=report(
            "results/report/top_pathways.png",
            caption="../report/pathways.rst",
            category="Enrichment",
        ),
        enrichment_heatmap=report(
            "results/report/enrichment_heatmap.png",
            caption="../report/enrichment_heatmap.rst",
            category="Enrichment",
        ),
        enrichment_dots_mofa=report(
            "results/report/enrichment_dots_mofa.png",
            caption="../report/enrichment_dots_mofa.rst",
            category="Enrichment",
        ),
        enrichment_dots_models=report(
            "results/report/enrichment_dots_models.png",
            caption="../report/enrichment_dots_models.rst",
            category="Enrichment",
        ),
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(base=200, per_input_mb=0.5, step=64),
        runtime=runtime_for(base=1),
    params:
        settings=settings_for(tasks.build_report),
        layers=LAYERS,
        sources=list(SOURCE_FILES),  # the names as written (inputs may be storage copies)
        workflow_dir=workflow.basedir,  # its git commit goes to the provenance
    script:
        "../scripts/report.py"
