"""Every output of the rule report (:func:`report_outputs`), and the enrichment figures.

The figures, the HTML page, the provenance manifest and what the run decided about the data, made from the
run's tables; the enrichment figures
(:func:`enrichment_figures`).

Light to import: the figure and page modules (matplotlib) are imported when the functions run.
"""

from __future__ import annotations

import pandas as pd

from moflow.settings import SECTIONS, Settings, reads, thaw


def enrichment_figures(tables: dict) -> tuple[dict, dict]:
    """Enrichment figures (PNG bytes) and the tables the report shows.

    Parameters
    ----------
    tables : dict
        The report's tables by input name; the enrichment ones (``enrichment``,
        ``enrichment_pathways``, ``enrichment_models``, ``enrichment_competitive``,
        ``enrichment_ora``) where enrichment ran.

    Returns
    -------
    tuple of dict
        ({heatmap, dots_mofa, dots_models}: PNG bytes, and the enrichment tables with the figures
        under ``figures``, empty where MOFA's enrichment did not run).
    """
    from moflow.report.enrichment_section import plot_enrichment_dots, plot_pathway_heatmap
    from moflow.report.figures import png_bytes

    more = {
        "pathways": tables.get("enrichment_pathways"),
        "models": tables.get("enrichment_models"),
        "competitive": tables.get("enrichment_competitive"),
        "ora": tables.get("enrichment_ora"),
    }
    mofa = tables.get("enrichment")
    models = more["models"]
    figures = {
        "heatmap": png_bytes(plot_pathway_heatmap(more["pathways"])),
        "dots_mofa": png_bytes(plot_enrichment_dots(mofa, component="factor", title="MOFA")),
        "dots_models": png_bytes(
            plot_enrichment_dots(
                None
                if models is None
                else models.assign(model_target=models["model"].astype(str) + " " + models["target"].astype(str)),
                component="model_target",
                title="model",
            )
        ),
    }
    return figures, ({**more, "figures": figures} if mofa is not None else {})


@reads(*SECTIONS)
def report_outputs(
    layers: list[str],
    tables: dict[str, pd.DataFrame],
    per_layer: dict[str, dict],
    settings: Settings,
    *,
    config: dict,
    file_hashes: dict[str, str],
    commit: str = "unknown",
) -> dict:
    """Every figure, the HTML page, the provenance manifest and what the run decided about the data.

    The decisions (:func:`moflow.report.decisions.decisions`) are read off the input summary, the sample
    sheet, the steps and imputation tables, the scoreboard and the design tables; the page shows them right
    after the verdict.

    Parameters
    ----------
    layers : list of str
        The layers, in report order.
    tables : dict
        The report's single tables by input name (samples, input_summary, variance, scoreboard,
        associations, late_weights, comparison, permutation, stability, and the enrichment tables
        where enrichment ran).
    per_layer : dict
        {input name: {layer: table or PNG bytes}} for diagnostics, steps, pca, imputation,
        missingness_png, pca_steps_png.
    settings : Settings
        Every section (the provenance records the config).
    config : dict
        The validated config as given (for provenance).
    file_hashes : dict
        {input file: sha256} of every file the user handed the workflow (sheets, layer matrices,
        gene-set and annotation files).
    commit : str
        The git commit of the workflow checkout (:func:`moflow.io.git_commit`).

    Returns
    -------
    dict
        {output name: PNG bytes, list of PNG bytes (pca, one per layer), HTML text, provenance, the
        decisions table}.
    """
    from moflow.integrate import SURVIVAL_COVARIATE
    from moflow.report.decisions import decisions
    from moflow.report.design_section import design_html
    from moflow.report.enrichment_section import plot_pathways
    from moflow.report.figures import plot_pca, plot_scoreboard, plot_variance, png_bytes
    from moflow.report.html import build_html, table
    from moflow.report.page import provenance, report_sections
    from moflow.report.scarcity_section import scarcity_parts
    from moflow.report.survival_section import survival_html
    from moflow.report.verdict import outcome_factor

    kind = settings.outcome.type
    outcome_column = SURVIVAL_COVARIATE if kind == "survival" else "" if kind == "none" else settings.outcome.column
    pca_png = {layer: png_bytes(plot_pca(per_layer["pca"][layer], layer)) for layer in layers}
    variance_png = png_bytes(plot_variance(tables["variance"]))
    board = tables.get("scoreboard")  # None without an outcome
    board_png = png_bytes(plot_scoreboard(board)) if board is not None else None
    associations = tables["associations"]
    of = outcome_factor(associations, outcome_column)
    enrichment = tables.get("enrichment")
    factor = of["factor"] if of is not None else ""
    pathways_png = png_bytes(
        plot_pathways(enrichment if enrichment is not None else pd.DataFrame(columns=["factor", "layer"]), factor)
    )
    figures, enrichment_more = enrichment_figures(tables)
    calibration_png = None
    if board is not None and tables.get("reliability") is not None and len(tables["reliability"]):
        from moflow.report.figures import plot_calibration

        saved = tables.get("model")
        drawn = [str((saved if saved is not None and len(saved) else board)["strategy"].iloc[0])]
        known = set(tables["reliability"]["strategy"])
        drawn += [s for s in board["strategy"].astype(str) if s not in drawn and s in known]
        decision = tables.get("decision_curve")
        calibration_png = png_bytes(
            plot_calibration(tables["reliability"], decision if decision is not None else board.iloc[:0], drawn[:3])
        )
    survival = None
    if settings.outcome.type == "survival":
        survival = survival_html(tables["predictions"], board, associations, time_unit=settings.outcome.time_unit)
    design = None
    if "design_power" in tables:  # the design stage ran: the section "How many samples?"
        design = design_html(
            tables["design_power"],
            tables["design_joint"],
            tables["design_points"],
            tables["design_curve"],
            tables["design_size"],
            power_png=tables["design_power_png"],
            learning_png=tables["design_learning_png"],
            target_power=float(settings.design.target_power),
            min_power=float(settings.design.min_power),
            table=table,
        )
    prov = provenance(thaw(config), sorted(file_hashes), file_hashes, commit=commit)
    survival_outcome = settings.outcome.type == "survival"
    decided = decisions(
        layers=layers,
        samples=tables.get("samples"),
        inputs=tables["input_summary"],
        steps=per_layer["steps"],
        imputation=per_layer["imputation"],
        board=board,
        strategies=list(settings.evaluation.strategies),
        design_joint=tables.get("design_joint"),
        hierarchical=tables.get("hierarchical"),
        outcome_columns=[settings.outcome.time, settings.outcome.event] if survival_outcome else [outcome_column],
        test_column=settings.evaluation.test_column,
        test_value=settings.evaluation.test_value,
        clinical=tables.get("clinical"),
        sites=tables.get("sites"),
        site_column=str(settings.evaluation.site_column or ""),
        model=tables.get("model"),
        coverage=tables.get("coverage"),
        outcome=board is not None,
        subtypes=tables.get("subtypes_summary"),
    )
    subtypes = subtype_parts(tables, per_layer, settings, outcome_column) if "subtypes_k_selection" in tables else None
    sections = report_sections(
        inputs=tables["input_summary"],
        layers=layers,
        diagnostics=per_layer["diagnostics"],
        steps=per_layer["steps"],
        pca_png=pca_png,
        variance_png=variance_png,
        associations=associations,
        outcome_column=outcome_column,
        late_weights=tables.get("late_weights"),
        board=board,
        board_png=board_png,
        enrichment=enrichment,
        pathways_png=pathways_png if enrichment is not None else None,
        provenance=prov,
        comparison=tables.get("comparison"),
        permutation=tables.get("permutation"),
        missingness_png=per_layer["missingness_png"],
        pca_steps_png=per_layer["pca_steps_png"],
        imputation=per_layer["imputation"],
        stability=tables["stability"],
        enrichment_more=enrichment_more,
        survival=survival,
        hierarchical=tables.get("hierarchical"),
        # interactive figures (PCA per layer, MOFA factor scatter) and the verdict's layer shares
        pca=per_layer["pca"],
        factors=tables.get("factors"),
        samples=tables.get("samples"),
        variance=tables["variance"],
        design=design,
        decisions=decided,
        gains=tables.get("gains"),
        clinical=tables.get("clinical"),
        sites=tables.get("sites"),
        shift=tables.get("shift"),
        calibration=tables.get("calibration"),
        calibration_png=calibration_png,
        coverage=tables.get("coverage"),
        subtypes=subtypes,
        scarcity=scarcity_parts(
            tables.get("augmentation"),
            tables.get("synthetic_quality"),
            len(tables["synthetic_samples"]) if tables.get("synthetic_samples") is not None else None,
        ),
    )
    out = {
        "html": build_html(title="moflow multi-omics report", sections=sections),
        "provenance": prov,
        "decisions": decided,
        "pca": [pca_png[layer] for layer in layers],
        "variance": variance_png,
        "pathways": pathways_png,
        "enrichment_heatmap": figures["heatmap"],
        "enrichment_dots_mofa": figures["dots_mofa"],
        "enrichment_dots_models": figures["dots_models"],
    }
    if board_png is not None:
        out["scoreboard"] = board_png
    if subtypes is not None:
        out["subtypes"] = subtypes["evidence_png"]
    return out


def subtype_parts(tables: dict, per_layer: dict, settings: Settings, outcome_column: str) -> dict:
    """The subtypes section of the page: its sentence for the verdict, its HTML and its figure of the evidence for k.

    Parameters
    ----------
    tables : dict
        The report's tables; ``subtypes_<name>`` for every table of results/subtypes/ (and
        ``enrichment_subtypes`` where the subtypes' rankings were enriched).
    per_layer : dict
        ``preprocessed`` ({layer: the cohort's preprocessed matrix}) draws the markers' heatmap.
    settings : Settings
        Read: ``subtypes``, ``outcome`` (the unit of a survival outcome's times).
    outcome_column : str
        The outcome's column ("" without one): the section relates it to the subtypes.

    Returns
    -------
    dict
        sentence (plain text), html, evidence_png.
    """
    from moflow.report.subtypes_section import (
        plot_k_evidence,
        plot_subtype_heatmap,
        plot_subtype_km,
        subtypes_html,
        subtypes_sentence,
    )

    t = {k[len("subtypes_") :]: v for k, v in tables.items() if k.startswith("subtypes_")}
    evidence_png = plot_k_evidence(t["k_selection"], min_strength=float(settings.subtypes.min_strength))
    layers = dict(per_layer.get("preprocessed") or {})
    heatmap = plot_subtype_heatmap(layers, t["assignments"], t["markers"]) if layers else None
    km, survival = t.get("kaplan_meier"), t.get("survival")
    unit = settings.outcome.time_unit if settings.outcome.type == "survival" else ""
    km_png = plot_subtype_km(km, survival, time_unit=unit) if km is not None and len(km) else None
    body = subtypes_html(
        k_selection=t["k_selection"],
        assignments=t["assignments"],
        markers=t["markers"],
        associations=t["associations"],
        survival=t.get("survival") if t.get("survival") is not None and len(t["survival"]) else None,
        profile=t.get("profile") if t.get("profile") is not None and len(t["profile"]) else None,
        embedding=t.get("embedding"),
        evidence_png=evidence_png,
        heatmap_png=heatmap,
        km_png=km_png,
        outcome_column=outcome_column or None,
    )
    enriched = tables.get("enrichment_subtypes")
    if enriched is not None and len(enriched):
        from moflow.report.html import table

        top = enriched[enriched["rank"] <= 3] if "rank" in enriched.columns else enriched
        body += "<h3>Pathways of each subtype (prerank of its markers, top 3 per layer)</h3>" + table(top, max_rows=200)
    return {
        "sentence": subtypes_sentence(t["k_selection"], t["assignments"]),
        "html": body,
        "evidence_png": evidence_png,
    }
