"""What a predict run reads (:func:`predict_plan`), checked at start-up: one line naming a missing file."""

from __future__ import annotations

from pathlib import Path

from moflow.errors import InputError


def predict_plan(config: dict) -> dict:
    """The files of a predict run from its config (``model``, ``samples``, ``omics``, ``max_missing_features``).

    Parameters
    ----------
    config : dict
        The predict config, validated against ``schemas/predict.schema.yaml`` (its defaults filled).

    Returns
    -------
    dict
        ``bundle`` and ``manifest`` (the bundle's path, and its manifest beside it: same name, ``.json``),
        ``samples``, ``omics``, ``matrices`` ({layer: path}, from the omics sheet) and ``max_missing``.
    """
    from moflow import io

    bundle = Path(str(config["model"]))
    if bundle.is_dir():  # the folder results/model given instead of the file
        bundle = bundle / "bundle.pkl"
    if not bundle.is_file():
        raise InputError(
            f"config model: '{config['model']}' does not exist; give the path of the bundle a training run wrote "
            "(its results/model/bundle.pkl)."
        )
    manifest = bundle.with_suffix(".json")
    if not manifest.is_file():
        raise InputError(
            f"{manifest}: the bundle's manifest is missing (it is written beside the bundle); copy both files, "
            "bundle.pkl and bundle.json."
        )
    for key in ("samples", "omics"):
        if not Path(config[key]).is_file():
            raise InputError(
                f"config {key}: '{config[key]}' does not exist; put the new samples' {key} sheet there "
                f"(or name it with --config {key}=<path>)."
            )
    omics = io.read_sheet(config["omics"])
    for col in ("layer", "path"):
        if col not in omics.columns:
            raise InputError(
                f"{config['omics']}: no column '{col}'; list each layer (layer) and its matrix file (path)."
            )
    matrices = {}
    lines = omics.attrs.get("lines", list(range(2, len(omics) + 2)))
    for (_, row), line in zip(omics.iterrows(), lines, strict=False):
        layer, path = str(row["layer"]).strip(), str(row["path"]).strip()
        if layer in matrices:
            raise InputError(f"{config['omics']}, line {line}: layer '{layer}' is listed twice; list it once.")
        if not Path(path).is_file():
            raise InputError(f"{config['omics']}, line {line}: the matrix '{path}' of layer '{layer}' does not exist.")
        matrices[layer] = path
    return {
        "bundle": str(bundle),
        "manifest": str(manifest),
        "samples": str(config["samples"]),
        "omics": str(config["omics"]),
        "matrices": matrices,
        "max_missing": config["max_missing_features"],
    }


def predict_mem_mb(wildcards, input, attempt: int = 1) -> int:
    """A predict job's memory in MB (a Snakemake resource): 1 GB plus 3 MB per MB of its inputs.

    The inputs are the bundle and the new matrices (bench/bench_predict.py: 1.85 GB for early and 2.15 GB
    for late at 1,000 TCGA-shaped training and 1,000 new samples, a 201 MB and a 328 MB bundle); rounded
    up to 256 MB, times the attempt.
    """
    need = 1024 + 3.0 * float(input.size_mb)
    return int(-(-need // 256) * 256) * int(attempt)


def predict_runtime(wildcards, input, attempt: int = 1) -> int:
    """A predict job's wall time in minutes (a Snakemake resource): 1 plus one per 200 MB of inputs.

    About 10 s at 1,000 new TCGA-shaped samples (bench/bench_predict.py); times the attempt.
    """
    return max(1, int(-(-(1 + float(input.size_mb) / 200) // 1))) * int(attempt)
