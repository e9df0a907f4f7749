"""Rule export_mudata: the run's results as one MuData file."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import export_mudata

TABLES = ("factors", "weights", "variance", "predictions", "scoreboard")


def main(smk):
    log = setup(smk.log[0], smk.threads)
    layers = {layer: io.read_matrix(p) for layer, p in zip(smk.params.layers, smk.input.matrices, strict=True)}
    # every file the user handed the workflow, checksummed under the name it was given (inputs may be copies)
    hashes = {name: io.sha256(local) for name, local in zip(smk.params.sources, smk.input.sources, strict=True)}
    out = export_mudata(
        layers,
        io.read_sheet(smk.input.samples),
        io.read_sheet(smk.input.omics),
        {key: io.read_table(smk.input[key]) for key in TABLES},
        settings(smk),
        config=smk.params.settings,
        file_hashes=hashes,
        commit=io.git_commit(smk.params.workflow_dir),
    )
    io.write_outputs(out, smk.output)
    log.info("MuData written: %s", out["mudata"])


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
