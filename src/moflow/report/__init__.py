"""The HTML report (``rules/report.smk``).

One module per part of the page or kind of building block; nothing here touches files.

* :mod:`.outputs`: every output of the rule report (figures, page, provenance) from the run's tables;
* :mod:`.page`: :func:`report_sections` assembles the page's sections; :func:`provenance`, the run's manifest;
* :mod:`.verdict`: the first screen, the verdict read off the pipeline's tables;
* :mod:`.added`: what the omics add over the clinical covariates and a naive model (the verdict's first
  sentence, the section with the gains, the covariates' screen and the transfer to unseen sites);
* :mod:`.decisions`: what the run decided about the data (``results/decisions.tsv``), right after the verdict
  and at the end of the run;
* :mod:`.preprocessing_section`: per layer, the steps, diagnostics, missingness and PCA;
* :mod:`.hierarchical_section`: the hierarchical strategy's top-weighted programs and its sentence;
* :mod:`.enrichment_section`: "Pathway enrichment" and its figures (top pathways, dot plots, heatmap);
* :mod:`.design_section`: "How many samples?"; :mod:`.survival_section`: Kaplan-Meier and hazards;
* :mod:`.scarcity_section`: "Data scarcity", whether augmentation helped and whether the synthetic cohort
  passed every check (:func:`scarcity_parts`);
* :mod:`.subtypes_section`: "Subtypes", groups of samples found without the outcome (the evidence for k,
  the markers' heatmap, the section and its sentence);
* :mod:`.figures`: the matplotlib figures (PCA, missingness, variance explained, scoreboard) as PNG bytes;
* :mod:`.html`: the page's building blocks (shell, sortable tables, images, FDR text);
* :mod:`.svg`: interactive inline SVG figures.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "design_section": [
            "plot_power_curves",
            "plot_learning_curves",
            "power_sentence",
            "METRIC_LABELS",
            "learning_sentence",
            "design_html",
        ],
        "decisions": ["DECISION_COLUMNS", "decisions", "decision_lines", "decisions_html"],
        "enrichment_section": ["plot_pathways", "plot_enrichment_dots", "plot_pathway_heatmap", "enrichment_html"],
        "figures": [
            "subplots",
            "png_bytes",
            "plot_pca",
            "plot_pca_steps",
            "plot_missingness",
            "plot_variance",
            "plot_scoreboard",
            "plot_calibration",
        ],
        "hierarchical_section": ["hierarchical_sentence", "hierarchical_html"],
        "html": ["PALETTE", "esc", "table", "img", "fdr_text", "details", "CSS", "JS", "build_html"],
        "outputs": ["enrichment_figures", "report_outputs", "subtype_parts"],
        "page": ["report_sections", "provenance", "calibration_html", "coverage_html"],
        "preprocessing_section": ["preprocessing_html"],
        "scarcity_section": ["augmentation_sentence", "synthetic_sentence", "scarcity_parts"],
        "subtypes_section": [
            "plot_k_evidence",
            "plot_subtype_heatmap",
            "plot_subtype_km",
            "subtypes_html",
            "subtypes_sentence",
        ],
        "survival_section": ["GROUPS", "risk_groups", "km_table", "plot_km", "plot_factor_hazards", "survival_html"],
        "svg": [
            "NA_COLOR",
            "colour_scale",
            "scatter_svg",
            "pca_svg",
            "factor_pair",
            "factor_scatter_svg",
            "scoreboard_svg",
        ],
        "added": ["added_facts", "added_sentence", "added_html"],
        "verdict": [
            "ALPHA",
            "PRIMARY",
            "LABELS",
            "board_metric",
            "chance_level",
            "outcome_factor",
            "verdict",
            "verdict_sentence",
            "verdict_html",
            "n_classes",
        ],
    },
)
