"""Rule report: figures, the HTML report, the provenance manifest and what the run decided (decisions.tsv)."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import build_report

PER_LAYER = ("diagnostics", "steps", "pca", "imputation", "missingness_png", "pca_steps_png")


def main(smk):
    log = setup(smk.log[0], smk.threads)
    layers = list(smk.params.layers)
    per_layer = {
        key: {
            layer: (io.read_bytes(p) if p.endswith(".png") else io.read_table(p))
            for layer, p in zip(layers, smk.input[key])
        }
        for key in PER_LAYER
    }
    tables = {
        key: (io.read_bytes(smk.input[key]) if key.endswith("_png") else io.read_table(smk.input[key]))
        for key in smk.input.keys()
        if key not in PER_LAYER and key not in ("omics", "sources")
    }
    # every file the user handed the workflow, checksummed under the name it was given (params.sources;
    # the job may read storage copies)
    hashes = {name: io.sha256(local) for name, local in zip(smk.params.sources, smk.input.sources, strict=True)}
    out = build_report(
        layers,
        tables,
        per_layer,
        settings(smk),
        config=smk.params.settings,
        file_hashes=hashes,
        commit=io.git_commit(smk.params.workflow_dir),
    )
    io.write_outputs(out, smk.output)
    log.info("report written")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
