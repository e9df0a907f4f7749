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
