"""Rule validate_inputs: check every matrix against the sheets; write them only if all pass."""

from moflow import io
from moflow.inputs import anndata_sources
from moflow.runtime import settings, setup
from moflow.tasks import validate_inputs


def main(smk):
    log = setup(smk.log[0], smk.threads)
    layers = [k for k in smk.input.keys() if k not in ("samples", "omics", "gene_sets")]
    gmt_layers = dict(smk.params.gene_set_layers)
    gmt_lines = {path: io.read_gmt_lines(local) for path, local in zip(gmt_layers, smk.input.gene_sets, strict=True)}
    raw_omics = io.read_sheet(smk.input.omics)
    sheet, omics, matrices, summary = validate_inputs(
        io.read_sheet(smk.input.samples),
        raw_omics,
        io.LazyTables({k: smk.input[k] for k in layers}, anndata_sources(raw_omics)),
        settings(smk),
        labels=dict(smk.params.sources),
        gmt_lines=gmt_lines,
        gmt_layers=gmt_layers,
    )
    io.write_outputs(
        {"matrices": [matrices[layer] for layer in omics["layer"]], "samples": sheet, "summary": summary}, smk.output
    )
    log.info("inputs checked:\n%s", summary.to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
