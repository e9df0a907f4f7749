"""Assembly of the package's estimators from the workflow's config and sheets.

Scripts call these functions so that the same objects are built for the full-cohort run and for
every cross-validation fold.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from .integrate import EarlyIntegration, LateIntegration, MOFAClassifier, SingleLayer
from .mofa import MOFA
from .preprocess import LayerPreprocessor, layer_settings
from .validate import _truthy


def sample_info(sheet: pd.DataFrame, config: dict) -> pd.DataFrame:
    """The sample sheet without the outcome: what preprocessing steps may know about every sample."""
    info = sheet.drop(columns=[config["outcome"]["column"]], errors="ignore")
    return info.set_index("sample", drop=False) if info.index.name != "sample" else info


def outcome(sheet: pd.DataFrame, config: dict) -> pd.Series:
    """The outcome of the cohort samples (QC injections and blanks excluded), as strings."""
    s = sheet.set_index("sample", drop=False) if sheet.index.name != "sample" else sheet
    s = s[s["sample_type"] == "sample"]
    y = s[config["outcome"]["column"]].astype(str).str.strip()
    y.name = "outcome"
    return y


def qc_samples(sheet: pd.DataFrame) -> list[str]:
    return list(sheet.loc[sheet["sample_type"] == "qc", "sample"])


def build_preprocessor(row: pd.Series, config: dict, info: pd.DataFrame) -> LayerPreprocessor:
    """The per-layer chain for one row of the omics sheet, with config overrides for that layer."""
    overrides = (config.get("preprocess") or {}).get(row["layer"], {}) or {}
    settings = layer_settings(row["kind"], overrides)
    return LayerPreprocessor(
        kind=row["kind"],
        settings=settings,
        info=info,
        batch_column=row.get("batch_column", "") or "",
        covariates=tuple(config.get("covariates") or ()),
        log_scale=_truthy(row.get("log_scale", "false")),
        layer=row["layer"],
        seed=int(config.get("seed", 0)),
    )


def build_preprocessors(omics: pd.DataFrame, config: dict, info: pd.DataFrame) -> dict[str, LayerPreprocessor]:
    return {row["layer"]: build_preprocessor(row, config, info) for _, row in omics.iterrows()}


def mofa_likelihoods(omics: pd.DataFrame, config: dict) -> dict[str, str]:
    liks = {row["layer"]: ("bernoulli" if row["kind"] == "binary" else "gaussian") for _, row in omics.iterrows()}
    liks.update((config["integration"]["mofa"].get("likelihoods") or {}))
    return liks


def build_mofa(omics: pd.DataFrame, config: dict) -> MOFA:
    m = config["integration"]["mofa"]
    return MOFA(
        n_factors=int(m.get("factors", 10)),
        likelihoods=mofa_likelihoods(omics, config),
        spikeslab_weights=bool(m.get("spikeslab_weights", True)),
        ard_weights=bool(m.get("ard_weights", True)),
        scale_views=bool(m.get("scale_views", False)),
        convergence_mode=m.get("convergence_mode", "fast"),
        max_iter=int(m.get("max_iter", 1000)),
        use_float32=bool(m.get("use_float32", True)),
        gpu_mode=bool(m.get("gpu_mode", False)),
        seed=int(config.get("seed", 0)),
    )


def build_strategies(omics: pd.DataFrame, config: dict) -> dict:
    """name -> factory of an unfitted estimator, for every single layer and every integration strategy."""
    integ = config["integration"]
    seed = int(config.get("seed", 0))
    inner = int(integ.get("inner_folds", 3))
    common = {"inner_folds": inner, "seed": seed}
    layers = list(omics["layer"])
    strategies = {f"single:{name}": partial(SingleLayer, name, penalty=integ["early"].get("penalty", "l2"), **common)
                  for name in layers}
    if len(layers) > 1:
        early = integ["early"]
        strategies["early"] = partial(EarlyIntegration, layer_weights=early.get("layer_weights") or {},
                                      penalty=early.get("penalty", "l2"),
                                      n_components=int(early.get("n_components", 10)), **common)
        strategies["late"] = partial(LateIntegration, penalty=integ["late"].get("penalty", "l2"), **common)
    strategies["mofa"] = partial(MOFAClassifier, build_mofa(omics, config),
                                 penalty=integ["mofa"].get("penalty", "l2"), **common)
    return strategies


def load_sheets(samples_path: str, omics_path: str, config: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and check both sheets (cheap; every script re-checks what it relies on)."""
    from .io import read_sheet
    from .validate import check_omics_sheet, check_samples_sheet

    sheet = check_samples_sheet(read_sheet(samples_path), path=samples_path, outcome=config["outcome"]["column"],
                                min_class_size=1)
    omics = check_omics_sheet(read_sheet(omics_path), path=omics_path, samples=sheet, samples_path=samples_path)
    return sheet, omics


def load_inputs(samples_path: str, omics_path: str, matrix_paths: dict[str, str], config: dict, *,
                min_class_size: int = 2):
    """Read every matrix, check it and align it to the sample sheet.

    Returns (sheet, omics, {layer: matrix}, summary). Raises InputError before anything is written.
    """
    from .io import read_raw_table, read_sheet
    from .validate import align_layer, check_omics_sheet, check_samples_sheet, parse_matrix

    sheet = check_samples_sheet(read_sheet(samples_path), path=samples_path, outcome=config["outcome"]["column"],
                                min_class_size=min_class_size)
    omics = check_omics_sheet(read_sheet(omics_path), path=omics_path, samples=sheet, samples_path=samples_path)
    matrices, rows = {}, []
    for layer, row in omics.iterrows():
        path = matrix_paths.get(layer, row["path"])
        raw = read_raw_table(path)
        X = parse_matrix(raw, path=path, orientation=row["orientation"], kind=row["kind"], layer=layer)
        X = align_layer(X, path=path, layer=layer, sheet=sheet, samples_path=samples_path, has_qc=row["has_qc"],
                        batch_column=row["batch_column"],
                        allow_missing_samples=bool(config["inputs"]["allow_missing_samples"]))
        matrices[layer] = X
        n_qc = int((sheet.loc[X.index, "sample_type"] == "qc").sum())
        rows.append({"layer": layer, "kind": row["kind"], "path": path, "samples": X.shape[0] - n_qc,
                     "qc_injections": n_qc, "features": X.shape[1],
                     "missing_fraction": float(X.isna().to_numpy().mean())})
    return sheet, omics, matrices, pd.DataFrame(rows)


def read_layers(paths, layers: list[str]) -> dict[str, pd.DataFrame]:
    from .io import read_matrix

    return {layer: read_matrix(p) for layer, p in zip(layers, paths)}


def layer_report(X: pd.DataFrame, row: pd.Series, sheet: pd.DataFrame, config: dict):
    """Preprocess one layer on the full cohort and describe what batch correction did.

    Returns (processed matrix, diagnostics table, PCA coordinates, step history). "before" is the
    same chain with batch correction switched off, so the two differ by that step alone.
    """
    from .diagnostics import batch_diagnostics, pca_scores

    info = sample_info(sheet, config)
    y = outcome(sheet, config)
    pp = build_preprocessor(row, config, info)
    after = pp.fit_transform(X, y.reindex(X.index).dropna())
    settings = dict(pp.settings)
    settings["batch"] = {"method": "none"}
    before = pp.set_params(settings=settings).fit_transform(X, y.reindex(X.index).dropna()) if row["batch_column"] \
        else after
    bc = row["batch_column"] or None
    batch = info[bc] if bc else None
    seed = int(config.get("seed", 0))
    rows, coords = [], []
    for stage, M in (("before_batch_correction", before), ("after", after)):
        d = batch_diagnostics(M, batch=batch, outcome=y, seed=seed)
        d["stage"] = stage
        rows.append(d)
        S, evr = pca_scores(M, 2, seed)
        c = S.assign(stage=stage, batch=(batch.reindex(S.index).to_numpy() if batch is not None else ""),
                     outcome=y.reindex(S.index).to_numpy())
        c.insert(0, "sample", S.index)
        coords.append(c)
    diagnostics = pd.DataFrame(rows)
    qc_step = pp.named_step("qc_drift")
    if qc_step is not None and hasattr(qc_step, "qc_rsd_before_"):
        diagnostics["qc_median_rsd_before_drift"] = qc_step.qc_rsd_before_
        diagnostics["qc_median_rsd_after_drift"] = qc_step.qc_rsd_after_
    cols = ["stage"] + [c for c in diagnostics.columns if c != "stage"]
    return after, diagnostics[cols], pd.concat(coords, ignore_index=True), pd.DataFrame(pp.history_)


def gene_layers(omics: pd.DataFrame) -> list[str]:
    """Layers whose features are gene symbols (omics sheet column gene_ids)."""
    if "gene_ids" not in omics.columns:
        return []
    return list(omics.loc[omics["gene_ids"].str.strip() == "symbol", "layer"])
