"""Rule report: figures, the HTML report and the provenance manifest."""

from moflow import io
from moflow import report as rp
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    layers = list(smk.params.layers)
    config = smk.params.config
    outcome_column = config["outcome"]["column"]
    diagnostics = {l: io.read_table(p) for l, p in zip(layers, smk.input.diagnostics)}
    steps = {l: io.read_table(p) for l, p in zip(layers, smk.input.steps)}
    pca_png = {}
    for layer, p, out in zip(layers, smk.input.pca, smk.output.pca):
        pca_png[layer] = rp.png_bytes(rp.plot_pca(io.read_table(p), layer))
        io.write_bytes(pca_png[layer], out)
    variance_png = rp.png_bytes(rp.plot_variance(io.read_table(smk.input.variance)))
    io.write_bytes(variance_png, smk.output.variance)
    board = io.read_table(smk.input.scoreboard)
    board_png = rp.png_bytes(rp.plot_scoreboard(board))
    io.write_bytes(board_png, smk.output.scoreboard)
    associations = io.read_table(smk.input.associations)
    of = rp.outcome_factor(associations, outcome_column)
    enrichment = io.read_table(smk.input.enrichment) if "enrichment" in smk.input.keys() else None
    factor = of["factor"] if of is not None else ""
    pathways_png = rp.png_bytes(rp.plot_pathways(enrichment if enrichment is not None else
                                                 board.iloc[:0].assign(factor=[], layer=[]), factor))
    io.write_bytes(pathways_png, smk.output.pathways)
    enrichment_more = enrichment_report(smk)
    input_files = sorted({smk.input.samples, smk.input.omics})
    prov = rp.provenance(config, input_files, {f: io.sha256(f) for f in input_files})
    io.write_json(prov, smk.output.provenance)
    sections = rp.report_sections(
        inputs=io.read_table(smk.input.input_summary), layers=layers, diagnostics=diagnostics, steps=steps,
        pca_png=pca_png, variance_png=variance_png, associations=associations, outcome_column=outcome_column,
        late_weights=io.read_table(smk.input.late_weights), board=board, board_png=board_png,
        enrichment=enrichment, pathways_png=pathways_png if enrichment is not None else None, provenance=prov,
        comparison=io.read_table(smk.input.comparison), permutation=io.read_table(smk.input.permutation),
        missingness_png={l: io.read_bytes(p) for l, p in zip(layers, smk.input.missingness_png)},
        pca_steps_png={l: io.read_bytes(p) for l, p in zip(layers, smk.input.pca_steps_png)},
        imputation={l: io.read_table(p) for l, p in zip(layers, smk.input.imputation)},
        stability=io.read_table(smk.input.stability), enrichment_more=enrichment_more)
    io.write_text(rp.build_html(title="moflow multi-omics report", sections=sections), smk.output.html)
    log.info("report written")


def enrichment_report(smk) -> dict:
    """Enrichment figures (written to their report() outputs) and tables for the report."""
    inputs = smk.input.keys()

    def table(key):
        return io.read_table(getattr(smk.input, key)) if key in inputs else None

    more = {"pathways": table("enrichment_pathways"), "models": table("enrichment_models"),
            "competitive": table("enrichment_competitive"), "ora": table("enrichment_ora")}
    mofa = table("enrichment")
    figures = {
        "heatmap": rp.png_bytes(rp.plot_pathway_heatmap(more["pathways"])),
        "dots_mofa": rp.png_bytes(rp.plot_enrichment_dots(mofa, component="factor", title="MOFA")),
        "dots_models": rp.png_bytes(rp.plot_enrichment_dots(
            None if more["models"] is None else more["models"].assign(
                model_target=more["models"]["model"].astype(str) + " " + more["models"]["target"].astype(str)),
            component="model_target", title="model")),
    }
    for key, out in (("heatmap", "enrichment_heatmap"), ("dots_mofa", "enrichment_dots_mofa"),
                     ("dots_models", "enrichment_dots_models")):
        io.write_bytes(figures[key], getattr(smk.output, out))
    return {**more, "figures": figures} if mofa is not None else {}


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
