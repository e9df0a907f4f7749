"""Assembly of the package's estimators from the workflow's config and sheets.

Scripts call these functions so that the same objects are built for the full-cohort run and for
every cross-validation fold.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from .errors import InputError
from .validate import _truthy

# The estimators (scikit-learn, scipy, mofapy2) are imported where they are built: the Snakefile
# imports this module at every job start and only needs its light helpers.
if TYPE_CHECKING:
    from .mofa import MOFA
    from .preprocess import LayerPreprocessor


def sample_info(sheet: pd.DataFrame, config: dict) -> pd.DataFrame:
    """The sample sheet without the outcome: what preprocessing steps may know about every sample."""
    info = sheet.drop(columns=[config["outcome"]["column"]], errors="ignore")
    return info.set_index("sample", drop=False) if info.index.name != "sample" else info


def outcome(sheet: pd.DataFrame, config: dict) -> pd.Series:
    """The outcome of the cohort samples (QC injections and blanks excluded): strings for classes,
    floats for a continuous outcome."""
    s = sheet.set_index("sample", drop=False) if sheet.index.name != "sample" else sheet
    s = s[s["sample_type"] == "sample"]
    y = s[config["outcome"]["column"]].astype(str).str.strip()
    y.name = "outcome"
    if outcome_task(y, config) == "regression":
        num = pd.to_numeric(y, errors="coerce")
        if num.isna().any():
            bad = num.index[num.isna()][0]
            raise InputError(f"outcome '{config['outcome']['column']}' is declared continuous but sample '{bad}' has "
                             f"the value '{y[bad]}'. Fix the value or declare the outcome type binary/multiclass.")
        y = num.astype(float)
        y.name = "outcome"
    return y


def outcome_task(y: pd.Series, config: dict) -> str:
    """classification or regression, from config outcome.type (auto: continuous when every value is
    numeric and there are more than 10 distinct values)."""
    kind = (config.get("outcome") or {}).get("type", "auto")
    if kind in ("binary", "multiclass"):
        return "classification"
    if kind == "continuous":
        return "regression"
    num = pd.to_numeric(y, errors="coerce")
    return "regression" if num.notna().all() and num.nunique() > 10 else "classification"


def positive_class(y: pd.Series, config: dict, *, path: str = "the sample sheet") -> str | None:
    """The class of a binary outcome that signed tables (coefficients, their enrichment) point to:
    config ``outcome: positive``, else the second class in sorted order. None for other outcomes.

    Raises InputError when ``positive`` names no class of a binary outcome.
    """
    if outcome_task(y, config) != "classification":
        return None
    classes = sorted(pd.Series(y).astype(str).unique())
    if len(classes) != 2:
        return None
    wanted = (config.get("outcome") or {}).get("positive")
    if wanted is None or str(wanted).strip() == "":
        return classes[1]
    wanted = str(wanted).strip()
    if wanted not in classes:
        column = config["outcome"]["column"]
        raise InputError(f"config 'outcome: positive' is '{wanted}', but outcome column '{column}' of {path} has the "
                         f"classes '{classes[0]}' and '{classes[1]}'. Set 'positive' to one of them (or remove it).")
    return wanted


def orient_coefficients(table: pd.DataFrame, positive: str | None) -> pd.DataFrame:
    """A binary model's coefficient table signed towards the ``positive`` class.

    scikit-learn's binary linear models give one column, for the second class in sorted order; when
    ``positive`` is the other class the column is negated and renamed, so that a positive coefficient
    (and a positive NES of its enrichment) always means "higher in the positive class". Tables of
    other outcomes (several class columns, ``coefficient``, ``importance``) are returned unchanged.
    """
    if positive is None:
        return table
    value_cols = [c for c in table.columns if c not in ("layer", "feature")]
    if len(value_cols) != 1 or value_cols[0] in ("coefficient", "importance", positive):
        return table
    out = table.copy()
    out[value_cols[0]] = -out[value_cols[0]].astype(float)
    return out.rename(columns={value_cols[0]: positive})


def external_test_samples(sheet: pd.DataFrame, config: dict) -> list[str]:
    """Samples marked as external test in the sheet (config evaluation.test_column / test_value)."""
    ev = config.get("evaluation") or {}
    col = ev.get("test_column") or ""
    if not col:
        return []
    if col not in sheet.columns:
        raise InputError(f"config 'evaluation: test_column' names '{col}', which is not a sample-sheet column.")
    s = sheet[sheet["sample_type"] == "sample"]
    return list(s.loc[s[col].astype(str).str.strip() == str(ev.get("test_value", "test")), "sample"])


def training_samples(sheet: pd.DataFrame, config: dict) -> list[str]:
    test = set(external_test_samples(sheet, config))
    return [s for s in sheet.loc[sheet["sample_type"] == "sample", "sample"] if s not in test]


def qc_samples(sheet: pd.DataFrame) -> list[str]:
    return list(sheet.loc[sheet["sample_type"] == "qc", "sample"])


def build_preprocessor(row: pd.Series, config: dict, info: pd.DataFrame) -> LayerPreprocessor:
    """The per-layer chain for one row of the omics sheet, with config overrides for that layer."""
    from .preprocess import LayerPreprocessor, layer_settings

    overrides = (config.get("preprocess") or {}).get(row["layer"], {}) or {}
    settings = layer_settings(row["kind"], overrides)
    # the confounding guard of batch correction: config-wide defaults, per-layer options win
    guard = config.get("batch_confounding") or {}
    if "batch" in settings and settings["batch"].get("method", "none") != "none":
        settings["batch"].setdefault("max_association", float(guard.get("max_association", 0.8)))
        settings["batch"].setdefault("allow_confounded", bool(guard.get("allow", False)))
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


def mofa_groups(sheet: pd.DataFrame, config: dict, *, path: str = "the sample sheet") -> pd.Series | None:
    """MOFA+ groups of the cohort samples from the sample-sheet column named by config
    ``integration: mofa: groups`` (None where no column is named). Blank cells are missing (MOFA
    then stops and names the samples)."""
    column = str(((config.get("integration") or {}).get("mofa") or {}).get("groups") or "").strip()
    if not column:
        return None
    if column not in sheet.columns:
        raise InputError(f"config 'integration: mofa: groups' names the column '{column}', which is not in {path}; "
                         f"its columns are {', '.join(map(str, sheet.columns))}. Add it or leave 'groups' empty.")
    s = sheet.set_index("sample", drop=False) if sheet.index.name != "sample" else sheet
    s = s[s["sample_type"] == "sample"] if "sample_type" in s.columns else s
    g = s[column].astype(str).str.strip()
    return g.mask(g.isin(["", "nan", "NA", "NaN", "None"])).rename("group")


def build_mofa(omics: pd.DataFrame, config: dict, *, seed: int | None = None,
               sheet: pd.DataFrame | None = None) -> MOFA:
    """The configured MOFA; with ``integration: mofa: groups`` the sample ``sheet`` gives the groups."""
    from .mofa import MOFA

    m = config["integration"]["mofa"]
    groups = None
    if str(m.get("groups") or "").strip():
        if sheet is None:
            raise ValueError("build_mofa: MOFA groups are configured, pass the sample sheet")
        groups = mofa_groups(sheet, config)
    return MOFA(
        n_factors=int(m.get("factors", 10)),
        likelihoods=mofa_likelihoods(omics, config),
        spikeslab_weights=bool(m.get("spikeslab_weights", True)),
        ard_weights=bool(m.get("ard_weights", True)),
        ard_factors=bool(m.get("ard_factors", False)),
        drop_r2=m.get("drop_r2"),
        scale_views=bool(m.get("scale_views", False)),
        convergence_mode=m.get("convergence_mode", "fast"),
        max_iter=int(m.get("max_iter", 1000)),
        use_float32=bool(m.get("use_float32", True)),
        gpu_mode=bool(m.get("gpu_mode", False)),
        seed=int(config.get("seed", 0)) if seed is None else int(seed),
        groups=groups,
        center_groups=bool(m.get("center_groups", True)),
    )


STRATEGIES = ("early", "mixed", "mofa", "late")


def strategy_names(layers: list[str], config: dict) -> list[str]:
    """Every single-layer baseline (single_<layer>) and the integration strategies enabled in config."""
    wanted = (config.get("evaluation") or {}).get("strategies") or list(STRATEGIES)
    names = [f"single_{layer}" for layer in layers]
    names += [s for s in STRATEGIES if s in wanted and (s == "mofa" or len(layers) > 1)]
    return names


def build_strategies(omics: pd.DataFrame, config: dict, task: str = "classification", *,
                     sheet: pd.DataFrame | None = None) -> dict:
    """name -> factory of an unfitted estimator, for every single layer and every integration strategy.
    ``sheet``: the sample sheet, needed only for MOFA groups (``integration: mofa: groups``)."""
    from .integrate import EarlyIntegration, LateIntegration, MixedIntegration, MOFAClassifier, SingleLayer

    integ = config["integration"]
    common = {"task": task, "inner_folds": int(integ.get("inner_folds", 3)), "seed": int(config.get("seed", 0))}
    early, mixed = integ.get("early") or {}, integ.get("mixed") or {}
    mofa, late = integ.get("mofa") or {}, integ.get("late") or {}
    layers = list(omics["layer"])
    factories = {}
    for name in strategy_names(layers, config):
        if name.startswith("single_"):
            factories[name] = partial(SingleLayer, name[len("single_"):], penalty=early.get("penalty", "l2"),
                                      model=early.get("model", "linear"), **common)
        elif name == "early":
            factories[name] = partial(EarlyIntegration, layer_weights=early.get("layer_weights") or {},
                                      penalty=early.get("penalty", "l2"), model=early.get("model", "linear"),
                                      n_components=int(early.get("n_components", 10)),
                                      missing=early.get("missing", "refit"), **common)
        elif name == "mixed":
            factories[name] = partial(MixedIntegration, n_components=int(mixed.get("n_components", 10)),
                                      penalty=mixed.get("penalty", "l2"), model=mixed.get("model", "linear"), **common)
        elif name == "mofa":
            factories[name] = partial(_mofa_strategy, omics, config, sheet, penalty=mofa.get("penalty", "l2"),
                                      model=mofa.get("model", "linear"), **common)
        elif name == "late":
            factories[name] = partial(LateIntegration, penalty=late.get("penalty", "l2"),
                                      model=late.get("model", "linear"), **common)
    return factories


def _mofa_strategy(omics, config, sheet, **kwargs):
    """The mofa strategy, its MOFA built when the strategy is (groups need the sheet only then)."""
    from .integrate import MOFAClassifier

    return MOFAClassifier(build_mofa(omics, config, sheet=sheet), **kwargs)


def load_sheets(samples_path: str, omics_path: str, config: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and check both sheets (cheap; every script re-checks what it relies on)."""
    from .io import read_sheet
    from .validate import check_omics_sheet, check_samples_sheet

    sheet = check_samples_sheet(read_sheet(samples_path), path=samples_path, outcome=config["outcome"]["column"],
                                min_class_size=1)
    omics = check_omics_sheet(read_sheet(omics_path), path=omics_path, samples=sheet, samples_path=samples_path)
    return sheet, omics


def load_inputs(samples_path: str, omics_path: str, matrix_paths: dict[str, str], config: dict, *,
                min_class_size: int = 2, labels: dict[str, str] | None = None):
    """Read every matrix, check it and align it to the sample sheet.

    ``labels``: the names files go by in messages and in the summary (keys ``samples``, ``omics`` and
    the layers), where they differ from the paths read, e.g. the paths a user wrote in the sheets when
    a storage plugin hands the job local copies under .snakemake/storage/.

    Returns (sheet, omics, {layer: matrix}, summary). Raises InputError before anything is written.
    """
    from .io import read_raw_table, read_sheet
    from .validate import align_layer, check_omics_sheet, check_samples_sheet, parse_matrix

    labels = labels or {}
    samples_label = labels.get("samples", samples_path)
    omics_label = labels.get("omics", omics_path)
    sheet = check_samples_sheet(read_sheet(samples_path), path=samples_label, outcome=config["outcome"]["column"],
                                min_class_size=min_class_size)
    omics = check_omics_sheet(read_sheet(omics_path), path=omics_label, samples=sheet, samples_path=samples_label)
    positive_class(outcome(sheet, config), config, path=samples_label)  # a misspelt positive class stops here
    matrices, rows = {}, []
    for layer, row in omics.iterrows():
        read_path = matrix_paths.get(layer, row["path"])
        path = labels.get(layer, read_path)
        raw = read_raw_table(read_path)
        X = parse_matrix(raw, path=path, orientation=row["orientation"], kind=row["kind"], layer=layer)
        X = align_layer(X, path=path, layer=layer, sheet=sheet, samples_path=samples_label, has_qc=row["has_qc"],
                        batch_column=row["batch_column"],
                        allow_missing_samples=bool(config["inputs"]["allow_missing_samples"]),
                        optional_samples=external_test_samples(sheet, config))
        matrices[layer] = X
        n_qc = int((sheet.loc[X.index, "sample_type"] == "qc").sum())
        rows.append({"layer": layer, "kind": row["kind"], "path": path, "samples": X.shape[0] - n_qc,
                     "qc_injections": n_qc, "features": X.shape[1],
                     "missing_fraction": float(X.isna().to_numpy().mean())})
    return sheet, omics, matrices, pd.DataFrame(rows)


class IntegrationInputs(NamedTuple):
    """What the full-cohort integration rules start from (see ``load_integration_inputs``)."""

    config: dict
    sheet: pd.DataFrame
    omics: pd.DataFrame
    y: pd.Series
    layers: dict[str, pd.DataFrame]
    train: list[str]


def load_integration_inputs(samples_path: str, omics_path: str, matrix_paths, params) -> IntegrationInputs:
    """Sheets, outcome, preprocessed layers aligned to the outcome's samples, and the training
    samples (every cohort sample but the external test ones), for the integrate_* rules.

    ``params``: the rule's params (outcome, integration, evaluation, seed), as attributes.
    """
    config = {"outcome": params.outcome, "integration": params.integration, "evaluation": params.evaluation,
              "seed": params.seed}
    sheet, omics = load_sheets(samples_path, omics_path, config)
    y = outcome(sheet, config)
    layers = align_layers(read_layers(matrix_paths, list(omics["layer"])), list(y.index))
    train = [s for s in training_samples(sheet, config) if s in y.index]
    return IntegrationInputs(config, sheet, omics, y, layers, train)


def read_mofa_weights(weights_path: str, variance_path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MOFA's weights (feature IDs as strings) and variance explained, as integrate_mofa wrote them."""
    from .io import read_table

    weights = read_table(weights_path)
    weights["feature"] = weights["feature"].astype(str)
    return weights, read_table(variance_path)


def plan_enrichment_from_files(omics_path: str, enrichment: dict, layer_features: dict, log):
    """The enrichment plan (feature -> gene maps, gene-set collections) from the omics sheet and the
    gene-set and annotation files named in config ``enrichment``."""
    from .enrich import plan_enrichment
    from .io import read_enrichment_files, read_sheet

    gmt_lines, annotations = read_enrichment_files(enrichment)
    return plan_enrichment(read_sheet(omics_path), enrichment, gmt_lines=gmt_lines, annotations=annotations,
                           layer_features=layer_features, log=log)


def mofa_weight_lists(weights: pd.DataFrame, variance: pd.DataFrame, plan, enrichment: dict) -> dict:
    """{(layer, factor): weights} of the plan's layers, factors below the variance threshold left out."""
    from .enrich import weight_lists

    return weight_lists(weights, layers=plan.layers, variance=variance,
                        min_variance_explained=enrichment["min_variance_explained"])


def read_layers(paths, layers: list[str]) -> dict[str, pd.DataFrame]:
    from .io import read_matrix

    return {layer: read_matrix(p) for layer, p in zip(layers, paths)}


def fit_transform_layer(pp: LayerPreprocessor, X: pd.DataFrame, y: pd.Series, test: set) -> pd.DataFrame:
    """Fit a layer's chain on every sample but the external test ones (QC injections included) and
    return all cohort samples processed: external test samples are only transformed."""
    if not test:
        return pp.fit_transform(X, y.reindex(X.index).dropna())
    fit_rows = [s for s in X.index if s not in test]
    out = pp.fit_transform(X.loc[fit_rows], y.reindex(fit_rows).dropna())
    test_rows = [s for s in X.index if s in test]
    if test_rows:
        out = pd.concat([out, pp.transform(X.loc[test_rows])])
    return out


def layer_report(X: pd.DataFrame, row: pd.Series, sheet: pd.DataFrame, config: dict, *, extras: bool = False):
    """Preprocess one layer on the full cohort and describe what each step, batch correction above all, did.

    Returns (processed matrix, diagnostics table, PCA coordinates, step history), and with
    ``extras=True`` a fifth item, a dict of further diagnostics: ``imputation`` (NRMSE of the
    imputation methods on observed values hidden the way the layer loses them), ``missingness``
    (missing fraction per sample of the raw layer), ``pca_steps`` (PC coordinates after every step)
    and ``raw`` (the raw layer, for the missingness map). The diagnostics table has the stages
    "before_batch_correction" (the same chain with batch correction switched off, so the two differ
    by that step alone), "after", and "after_<step>" for every step of the fitted chain.
    """
    from .diagnostics import stage_diagnostics, step_diagnostics

    info = sample_info(sheet, config)
    y = outcome(sheet, config)
    pp = build_preprocessor(row, config, info)
    test = set(external_test_samples(sheet, config))
    after = fit_transform_layer(pp, X, y, test)
    settings = dict(pp.settings)
    settings["batch"] = {"method": "none"}
    from sklearn.base import clone

    # a clone: pp keeps the fitted state (and step history) of the chain that produced `after`
    before = fit_transform_layer(clone(pp).set_params(settings=settings), X, y, test) if row["batch_column"] else after
    bc = row["batch_column"] or None
    batch = info[bc] if bc else None
    seed = int(config.get("seed", 0))
    rows, coords = [], []
    for stage, M in (("before_batch_correction", before), ("after", after)):
        d, c = stage_diagnostics(M, stage, batch=batch, outcome=y, seed=seed)
        rows.append(d)
        coords.append(c)
    cohort = X.index[X.index.isin(y.index)]
    _, trace = pp.transform_trace(X)
    step_table, step_coords = step_diagnostics(trace, batch=batch, outcome=y.reindex(cohort), seed=seed)
    diagnostics = pd.concat([pd.DataFrame(rows), step_table], ignore_index=True)
    qc_step = pp.named_step("qc_drift")
    if qc_step is not None and hasattr(qc_step, "qc_rsd_before_"):
        diagnostics["qc_median_rsd_before_drift"] = qc_step.qc_rsd_before_
        diagnostics["qc_median_rsd_after_drift"] = qc_step.qc_rsd_after_
    batch_step = pp.named_step("batch")
    if getattr(batch_step, "confounding_", None):
        diagnostics["batch_outcome_" + batch_step.confounding_["statistic"]] = batch_step.confounding_["value"]
    cols = ["stage"] + [c for c in diagnostics.columns if c != "stage"]
    result = (after, diagnostics[cols], pd.concat(coords, ignore_index=True), pd.DataFrame(pp.history_))
    if not extras:
        return result
    from .diagnostics import missingness_table
    from .preprocess import imputation_table

    names = [name for name, _ in pp.steps_]
    impute_in = None
    if "impute" in names:
        i = names.index("impute")
        impute_in = trace[names[i - 1]] if i > 0 else X
        impute_in = impute_in.loc[impute_in.index.isin(cohort) & ~impute_in.index.isin(test)]
    more = {
        "imputation": imputation_table(pp.named_step("impute"), impute_in, y, seed=seed),
        "missingness": missingness_table(X, batch=batch, outcome=y,
                                         sample_type=info["sample_type"] if "sample_type" in info else None),
        "pca_steps": step_coords,
        "raw": X,
    }
    return result + (more,)


def gene_layers(omics: pd.DataFrame) -> list[str]:
    """Layers whose features are gene symbols (omics sheet column gene_ids)."""
    if "gene_ids" not in omics.columns:
        return []
    return list(omics.loc[omics["gene_ids"].str.strip() == "symbol", "layer"])


def align_layers(layers: dict[str, pd.DataFrame], samples: list[str]) -> dict[str, pd.DataFrame]:
    """Every layer on one sample index (a sample lacking a layer gets a row of missing values)."""
    return {n: X.reindex(samples) for n, X in layers.items()}


def covariate_table(sheet: pd.DataFrame, config: dict, samples: list[str]) -> pd.DataFrame:
    """Every sample-sheet column worth testing against factors: the outcome first, then the others
    (IDs, sample type and the external-test marker left out)."""
    out_col = config["outcome"]["column"]
    skip = {"sample", "sample_type", out_col, (config.get("evaluation") or {}).get("test_column") or ""}
    cols = [out_col] + [c for c in sheet.columns if c not in skip]
    tab = sheet.set_index("sample", drop=False).loc[samples, cols]
    return tab.loc[:, [c for c in cols if tab[c].astype(str).str.strip().replace("", pd.NA).nunique() > 1]]
