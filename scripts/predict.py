"""Rule predict: new samples scored with a saved model bundle; nothing is refit."""

from moflow import io
from moflow.runtime import setup
from moflow.tasks import predict_samples


def main(smk):
    log = setup(smk.log[0], smk.threads)
    out = predict_samples(
        io.read_bytes(smk.input.bundle),
        io.read_json(smk.input.manifest),
        io.read_sheet(smk.input.samples),
        io.read_sheet(smk.input.omics),
        io.LazyTables(dict(zip(smk.params.layers, smk.input.matrices, strict=True))),
        bundle_path=smk.input.bundle,
        samples_path=smk.input.samples,
        omics_path=smk.input.omics,
        max_missing=smk.params.max_missing,
    )
    io.write_outputs({k: out[k] for k in ("predictions", "layers", "html")}, smk.output)
    log.info("model:\n%s\nlayers:\n%s", out["model"].to_string(index=False), out["layers"].to_string(index=False))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
