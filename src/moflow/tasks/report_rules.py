"""Rule report: figures, the HTML report and the provenance manifest."""

from __future__ import annotations

import pandas as pd

from moflow.settings import SECTIONS, Settings, reads, thaw


def _enrichment_figures(tables: dict) -> tuple[dict, dict]:
    """Enrichment figures (PNG bytes) and the tables the report shows."""
    from moflow import report as rp

    more = {"pathways": tables.get("enrichment_pathways"), "models": tables.get("enrichment_models"),
            "competitive": tables.get("enrichment_competitive"), "ora": tables.get("enrichment_ora")}
    mofa = tables.get("enrichment")
    models = more["models"]
    figures = {
        "heatmap": rp.png_bytes(rp.plot_pathway_heatmap(more["pathways"])),
        "dots_mofa": rp.png_bytes(rp.plot_enrichment_dots(mofa, component="factor", title="MOFA")),
        "dots_models": rp.png_bytes(rp.plot_enrichment_dots(
            None if models is None else models.assign(
                model_target=models["model"].astype(str) + " " + models["target"].astype(str)),
            component="model_target", title="model")),
    }
    return figures, ({**more, "figures": figures} if mofa is not None else {})


@reads(*SECTIONS)
def build_report(layers: list[str], tables: dict[str, pd.DataFrame], per_layer: dict[str, dict],
                 settings: Settings, *, config: dict, file_hashes: dict[str, str], commit: str = "unknown") -> dict:
    """Every figure, the HTML page and the provenance manifest.

    ``tables``: the report's single tables by input name (samples, input_summary, variance,
    scoreboard, associations, late_weights, comparison, permutation, stability, and the enrichment
    tables where enrichment ran); ``per_layer``: {input name: {layer: table or PNG bytes}} for
    diagnostics, steps, pca, imputation, missingness_png, pca_steps_png; ``config``: the validated
    config as given (for provenance); ``file_hashes``: {input file: sha256} of every file the user
    handed the workflow (sheets, layer matrices, gene-set and annotation files); ``commit``: the git
    commit of the workflow checkout (:func:`moflow.io.git_commit`).
    Returns {output name: PNG bytes, list of PNG bytes (pca, one per layer), HTML text, provenance}.
    """
    from moflow import report as rp

    from moflow.integrate import SURVIVAL_COVARIATE

    outcome_column = SURVIVAL_COVARIATE if settings.outcome.type == "survival" else settings.outcome.column
    pca_png = {layer: rp.png_bytes(rp.plot_pca(per_layer["pca"][layer], layer)) for layer in layers}
    variance_png = rp.png_bytes(rp.plot_variance(tables["variance"]))
    board = tables["scoreboard"]
    board_png = rp.png_bytes(rp.plot_scoreboard(board))
    associations = tables["associations"]
    of = rp.outcome_factor(associations, outcome_column)
    enrichment = tables.get("enrichment")
    factor = of["factor"] if of is not None else ""
    pathways_png = rp.png_bytes(rp.plot_pathways(enrichment if enrichment is not None else
                                                 board.iloc[:0].assign(factor=[], layer=[]), factor))
    figures, enrichment_more = _enrichment_figures(tables)
    survival = None
    if settings.outcome.type == "survival":
        from moflow.report import survival_html

        survival = survival_html(tables["predictions"], board, associations, time_unit=settings.outcome.time_unit)
    design = None
    if "design_power" in tables:  # the design stage ran: the section "How many samples?"
        from moflow.report import design_html

        design = design_html(tables["design_power"], tables["design_joint"], tables["design_points"],
                             tables["design_curve"], tables["design_size"], power_png=tables["design_power_png"],
                             learning_png=tables["design_learning_png"],
                             target_power=float(settings.design.target_power),
                             min_power=float(settings.design.min_power), table=rp.table)
    prov = rp.provenance(thaw(config), sorted(file_hashes), file_hashes, commit=commit)
    sections = rp.report_sections(
        inputs=tables["input_summary"], layers=layers, diagnostics=per_layer["diagnostics"],
        steps=per_layer["steps"], pca_png=pca_png, variance_png=variance_png, associations=associations,
        outcome_column=outcome_column, late_weights=tables.get("late_weights"), board=board, board_png=board_png,
        enrichment=enrichment, pathways_png=pathways_png if enrichment is not None else None, provenance=prov,
        comparison=tables["comparison"], permutation=tables["permutation"],
        missingness_png=per_layer["missingness_png"], pca_steps_png=per_layer["pca_steps_png"],
        imputation=per_layer["imputation"], stability=tables["stability"], enrichment_more=enrichment_more,
        survival=survival, hierarchical=tables.get("hierarchical"),
        # interactive figures (PCA per layer, MOFA factor scatter) and the verdict's layer shares
        pca=per_layer["pca"], factors=tables.get("factors"), samples=tables.get("samples"),
        variance=tables["variance"], design=design)
    return {"html": rp.build_html(title="moflow multi-omics report", sections=sections), "provenance": prov,
            "pca": [pca_png[layer] for layer in layers], "variance": variance_png, "scoreboard": board_png,
            "pathways": pathways_png, "enrichment_heatmap": figures["heatmap"],
            "enrichment_dots_mofa": figures["dots_mofa"], "enrichment_dots_models": figures["dots_models"]}
