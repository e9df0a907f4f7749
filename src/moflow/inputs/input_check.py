"""Every input of a run checked at once (:func:`check_inputs`); the rule validate_inputs writes what it returns.

Both sheets, every layer's matrix parsed, checked against the sheets and aligned to the sample
sheet, and the gene-set files' overlap with the layers.
"""

from __future__ import annotations

import logging

import pandas as pd

from moflow.cohort import external_test_samples, outcome, positive_class
from moflow.inputs.geneset_files import check_gene_set_overlap
from moflow.inputs.matrices import align_layer, check_gene_symbols, check_orientation, parse_matrix
from moflow.inputs.scverse import anndata_suffix, source_label
from moflow.inputs.sheets import check_omics_sheet, check_samples_sheet
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")


@reads("outcome", "evaluation", "inputs", uses=[outcome, positive_class, external_test_samples])
def check_inputs(
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    raw_matrices: dict[str, pd.DataFrame],
    settings: Settings,
    *,
    labels: dict[str, str] | None = None,
    gmt_lines: dict[str, list[str]] | None = None,
    gmt_layers: dict[str, list[str]] | None = None,
):
    """Check both sheets and every matrix, and align each matrix to the sample sheet.

    A layer in a MuData ``.h5mu`` or AnnData ``.h5ad`` file (``raw_matrices`` read by
    :func:`moflow.io.read_raw_table` with the keyword arguments of
    :func:`moflow.inputs.sheets.anndata_sources`) goes through the same checks; messages and the summary
    name the file with its modality (and AnnData layer). The sample sheet may be a MuData's ``obs``
    (:func:`moflow.io.read_sheet`). Raises InputError before anything is written.

    Parameters
    ----------
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read (:func:`moflow.io.read_sheet`).
    raw_matrices : dict of str to pandas.DataFrame
        {layer: matrix}, the matrices as :func:`moflow.io.read_raw_table` read them.
    settings : Settings
        Read: ``outcome``, ``evaluation``, ``inputs``.
    labels : dict of str to str, optional
        The names files go by in messages and in the summary (keys ``samples``, ``omics`` and the
        layers), e.g. the paths a user wrote in the sheets when a storage plugin hands the job local
        copies under .snakemake/storage/.
    gmt_lines : dict of str to list of str, optional
        {path: lines} of the gene-set files enrichment will use.
    gmt_layers : dict of str to list of str, optional
        {path: layers} (:func:`moflow.inputs.geneset_files.gene_set_layers`); a file that shares no
        identifier with a layer it is meant for stops here, before anything downstream runs.

    Returns
    -------
    sheet : pandas.DataFrame
        The checked sample sheet.
    omics : pandas.DataFrame
        The checked omics sheet, indexed by layer.
    matrices : dict of str to pandas.DataFrame
        {layer: matrix} parsed to numbers and aligned to the sample sheet.
    summary : pandas.DataFrame
        One row per layer: kind, path, samples, QC injections, features, missing fraction.
    """
    labels = labels or {}
    samples_label = labels.get("samples", "the sample sheet")
    omics_label = labels.get("omics", "the omics sheet")
    ev = settings.evaluation
    sheet = check_samples_sheet(
        raw_samples,
        path=samples_label,
        outcome=settings.outcome.column,
        min_class_size=ev.folds,
        outcome_type=settings.outcome.type,
        time_column=settings.outcome.time,
        event_column=settings.outcome.event,
        missing=settings.outcome.missing,
        test_column=ev.test_column,
        test_value=ev.test_value,
    )
    excluded = sheet.index[sheet["sample_type"] == "excluded"]
    if len(excluded):
        log.warning(
            "%d sample(s) left out of the whole analysis (sample_type excluded: no outcome with config "
            "'outcome: missing: exclude', or so marked in %s): %s",
            len(excluded),
            samples_label,
            ", ".join(map(str, excluded)),
        )
    omics = check_omics_sheet(raw_omics, path=omics_label, samples=sheet, samples_path=samples_label)
    positive_class(outcome(sheet, settings), settings, path=samples_label)  # a misspelt positive class stops here
    optional = external_test_samples(sheet, settings)
    matrices, rows = {}, []
    for layer, row in omics.iterrows():
        anndata = bool(anndata_suffix(row["path"]))
        path = source_label(
            labels.get(layer, row["path"]),
            modality=row["modality"] if anndata else "",
            anndata_layer=row["anndata_layer"],
        )
        raw = raw_matrices[layer]
        check_orientation(
            raw,
            path=path,
            layer=layer,
            orientation=row["orientation"],
            sheet=sheet,
            omics_path=omics_label,
            anndata=anndata,
        )
        X = parse_matrix(
            raw,
            path=path,
            orientation=row["orientation"],
            kind=row["kind"],
            layer=layer,
            may_lack=bool(settings.inputs.allow_missing_samples) or [*optional, *excluded],
            log_scale=bool(row["log_scale"]),
        )
        del raw
        if row["gene_ids"] == "symbol":
            check_gene_symbols(X, path=path, layer=layer, omics_path=omics_label)
        X = align_layer(
            X,
            path=path,
            layer=layer,
            sheet=sheet,
            samples_path=samples_label,
            has_qc=row["has_qc"],
            batch_column=row["batch_column"],
            allow_missing_samples=bool(settings.inputs.allow_missing_samples),
            optional_samples=optional,
        )
        matrices[layer] = X
        n_qc = int((sheet.loc[X.index, "sample_type"] == "qc").sum())
        rows.append(
            {
                "layer": layer,
                "kind": row["kind"],
                "path": path,
                "samples": X.shape[0] - n_qc,
                "qc_injections": n_qc,
                "features": X.shape[1],
                "missing_fraction": float(X.isna().to_numpy().mean()),
            }
        )
    if gmt_layers:
        check_gene_set_overlap(
            {layer: list(X.columns) for layer, X in matrices.items()},
            gmt_lines or {},
            gmt_layers,
            labels={layer: labels.get(layer, omics.loc[layer, "path"]) for layer in matrices},
        )
    return sheet, omics, matrices, pd.DataFrame(rows)
