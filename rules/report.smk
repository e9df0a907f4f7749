# Report: one self-contained HTML page with every stage, its plots, and a provenance manifest.


rule report:
    input:
        unpack(report_inputs),
    output:
        html="results/report.html",
        provenance="results/provenance.json",
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
    log:
        "logs/report/report.log",
    conda:
        "../envs/report.yaml"
    params:
        config=config,
        layers=LAYERS,
    script:
        "../scripts/report.py"
