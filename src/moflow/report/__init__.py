"""The HTML report (``rules/report.smk``): one module per part of the page; nothing here touches files.

* :mod:`.verdict`: the first screen, the verdict read off the pipeline's tables;
* :mod:`.sections`: figures and the sections of the page (inputs, preprocessing, scoreboard, enrichment);
* :mod:`.design_section`: "How many samples?"; :mod:`.survival_section`: Kaplan-Meier and hazards;
* :mod:`.html`: the page's building blocks (shell, sortable tables, images);
* :mod:`.svg`: interactive inline SVG figures.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "design_section": ["plot_power_curves", "plot_learning_curves", "power_sentence", "METRIC_LABELS", "learning_sentence", "design_html"],
        "html": ["PALETTE", "esc", "table", "img", "details", "CSS", "JS", "build_html"],
        "sections": ["png_bytes", "plot_pca", "plot_pca_steps", "plot_missingness", "plot_variance", "plot_scoreboard", "plot_pathways", "report_sections", "hierarchical_sentence", "hierarchical_html", "provenance", "plot_enrichment_dots", "plot_pathway_heatmap", "enrichment_html"],
        "survival_section": ["GROUPS", "risk_groups", "km_table", "plot_km", "plot_factor_hazards", "survival_html"],
        "svg": ["NA_COLOR", "colour_scale", "scatter_svg", "pca_svg", "factor_pair", "factor_scatter_svg", "scoreboard_svg"],
        "verdict": ["ALPHA", "PRIMARY", "LABELS", "primary_metric", "chance_level", "outcome_factor", "verdict", "verdict_sentence", "verdict_html", "n_classes"],
    },
)
