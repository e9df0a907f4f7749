"""Rule report: the scoreboard from every CV job's predictions, the design stage, enrichment, the MuData
export and the page (figures, HTML, provenance, decisions), one step after another."""

import pandas as pd

from moflow import io
from moflow.evaluate import check_held_out
from moflow.runtime import fork_map, outputs_of, preload, regulators, settings, setup, sheets
from moflow.tasks import (
    build_report,
    coverage_fold,
    cv_splits,
    design_fold,
    design_learning,
    design_power,
    enrich_combine,
    enrich_competitive,
    enrich_models,
    enrich_mofa,
    enrich_ora,
    enrich_subtypes,
    export_mudata,
    fit_model,
    model_coverage,
    score,
    site_shift,
)

MUDATA_TABLES = {
    "factors": "mofa__factors",
    "weights": "mofa__weights",
    "variance": "mofa__variance",
    "predictions": "evaluate__predictions",
    "scoreboard": "evaluate__scoreboard",
    "subtypes": "subtypes__assignments",
}


def main(smk):
    log = setup(smk.log[0], smk.threads)
    s = settings(smk)
    p = smk.params
    names = list(p.layers)
    samples, omics = sheets(smk)

    def path(name):
        """A file of this job by name: one it reads or one it wrote before."""
        return smk.output[name] if name in smk.output.keys() else smk.input[name]

    def table(name):
        return io.read_table(path(name))

    def write(step, out):
        io.write_outputs(out, outputs_of(smk.output, step))
        log.info("%s written", step)

    if "evaluate__scoreboard" in smk.output.keys():  # an outcome: the evaluation and the model
        evaluate_and_model(smk, s, names, samples, omics, table, write, path)
    if p.subtypes_enrich:  # the pathways of each subtype's markers
        files = io.read_enrichment_files(s.enrichment, omics)
        write("enrich_subtypes", enrich_subtypes(table("subtypes__markers"), omics, files, s))
    if p.enrich_layers:  # the pathways behind MOFA's factors and the models' coefficients
        files = io.read_enrichment_files(s.enrichment, omics)
        weights, variance = table("mofa__weights"), table("mofa__variance")
        coefficients = {m: table(f"{m}__coefficients") for m in p.enrich_models}
        write("enrich_mofa", enrich_mofa(weights, variance, omics, files, s))
        write("enrich_models", enrich_models(coefficients, omics, files, s))
        if "enrich_competitive__table" in smk.output.keys():
            data = {
                layer: io.read_matrix(f)
                for layer, f in zip(names, smk.input.preprocess__matrix, strict=True)
                if layer in p.enrich_layers
            }
            write(
                "enrich_competitive",
                enrich_competitive(weights, variance, table("mofa__factors"), data, omics, files, s),
            )
            del data
        if "enrich_ora__table" in smk.output.keys():
            write("enrich_ora", enrich_ora(weights, variance, coefficients, omics, files, s))
        write("enrich_combine", enrich_combine(table("enrich_mofa__table"), table("enrich_models__table"), s))

    # every file the user handed the workflow, checksummed under the name it was given (params.sources;
    # the job may read storage copies)
    hashes = {name: io.sha256(local) for name, local in zip(p.sources, smk.input.sources, strict=True)}
    provenance = dict(config=p.settings, file_hashes=hashes, commit=io.git_commit(p.workflow_dir))
    layers = {layer: io.read_matrix(f) for layer, f in zip(names, smk.input.preprocess__matrix, strict=True)}
    written = set(smk.output.keys()) | set(smk.input.keys())
    tables = {key: table(name) for key, name in MUDATA_TABLES.items() if name in written}
    write("export", export_mudata(layers, samples, omics, tables, s, **provenance))
    del layers

    def page_input(key, f):
        if str(f).endswith(".png"):
            return io.read_bytes(f)
        return io.read_matrix(f) if str(f).endswith(".parquet") else io.read_table(f)

    single, per_layer = {}, {}
    for key, name in p.page_tables.items():
        found = path(name)
        if isinstance(found, str):
            single[key] = page_input(key, found)
        else:
            per_layer[key] = {layer: page_input(key, f) for layer, f in zip(names, found, strict=True)}
    write("page", build_report(names, single, per_layer, s, **provenance))


def evaluate_and_model(smk, s, names, samples, omics, table, write, path):
    """The scoreboard, the held-out sites' shift, the coverage check, the model bundle and the design stage."""
    p = smk.params
    # evaluation: the splits every CV job drew, checked against what they predicted, then scored
    splits = cv_splits(samples, omics, s)["splits"]
    predictions = [io.read_table(f) for f in smk.input.folds]
    check_held_out(pd.concat(predictions, ignore_index=True), splits)
    write("evaluate", {"splits": splits, **score(predictions, samples, omics, s)})
    splits, board = table("evaluate__splits"), table("evaluate__scoreboard")
    if "shift__shift" in smk.output.keys():  # leave-one-site-out: each held-out site's shift, per layer
        raw = {layer: io.read_matrix(f) for layer, f in zip(names, smk.input.raw, strict=True)}
        write("shift", site_shift(raw, splits, samples, omics, s))
        del raw

    edges = regulators(smk)
    # the model bundle: the chosen strategy refit on every training sample, saved for new samples (rule predict)
    # and its prediction sets or intervals
    raw = {layer: io.read_matrix(f) for layer, f in zip(names, smk.input.raw, strict=True)}
    files = io.read_enrichment_files(s.enrichment, omics) if p.hierarchical else None
    predictions = table("evaluate__predictions")

    # how often the model's prediction sets or intervals hold the truth: the conformal procedure rerun
    # inside each outer split of the first repeat, from models fit without two of its folds (one pair
    # per forked worker)
    def pair(name, raw=raw):
        return coverage_fold(raw, splits, board, samples, omics, s, [name], files=files, edges=edges)["rows"]

    preload()
    rows = fork_map(pair, p.coverage_pairs, smk.threads)
    rows = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    write("coverage", model_coverage(rows, predictions, splits, board, samples, omics, s))
    # the model bundle, with the coverage its sets reached (shown where new samples are scored)
    fitted = fit_model(
        raw,
        board,
        predictions,
        samples,
        omics,
        s,
        files=files,
        edges=edges,
        config=p.settings,
        coverage=table("coverage__coverage"),
    )
    write("model", fitted)
    del raw, predictions

    if p.design_splits:  # how many samples the next study needs, this cohort as its pilot
        raw = {layer: io.read_matrix(f) for layer, f in zip(names, smk.input.raw, strict=True)}
        pre = {layer: io.read_matrix(f) for layer, f in zip(names, smk.input.preprocess__matrix, strict=True)}
        write("design", design_power(raw, pre, samples, omics, s))
        del pre
        files = io.read_enrichment_files(s.enrichment) if p.hierarchical else None

        # the learning-curve refits, one split per forked worker (the job's threads)
        def fold(split):
            return design_fold(raw, splits, [split], board, samples, omics, s, files=files, edges=edges)["points"]

        preload()  # what every refit imports: once, before the fork
        points = fork_map(fold, p.design_splits, smk.threads)
        del raw
        points = pd.concat(points, ignore_index=True)
        write("learning", design_learning(points, table("evaluate__fold_scores"), splits, board, samples, omics, s))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
