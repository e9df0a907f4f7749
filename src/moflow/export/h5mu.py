"""The run's results as one MuData object (``results/moflow.h5mu``), for scverse users.

:func:`to_mudata` puts together what the workflow wrote as tables:

* one modality per layer: the preprocessed full-cohort matrix (``results/preprocess/{layer}.parquet``),
  the layer's kind and source in the modality's ``uns["moflow"]``;
* ``obs``: the checked sample sheet (``results/inputs/samples.tsv``, strings as written) of every
  sample of a modality, and the per-sample summary of the held-out predictions
  (:func:`summarize_predictions`);
* ``obsm["X_mofa"]``: the MOFA factors of every sample (external test samples projected), and in each
  modality ``varm["LFs"]`` its features' MOFA weights (columns: the factors, ``uns["mofa"]["factors"]``),
  the names muon's MOFA wrapper uses;
* ``uns``: the config and the provenance (JSON text: ``json.loads(mdata.uns["moflow"]["config"])``),
  the full predictions table, the scoreboard and MOFA's variance explained.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

ID_COLUMNS = ("split", "strategy", "sample", "y_true", "time", "event")
PREFIX = "oof_"
SUMMARY = (
    "obs oof_<strategy>_<column>: a cohort sample's held-out prediction averaged over the CV repeats (each "
    "from a model that never saw it; oof_repeats of them); an external test sample's prediction by the "
    "final models (oof_source external_test). Every prediction of every split: uns['predictions']."
)
PACKAGES = ("moflow", "snakemake", "numpy", "scipy", "pandas", "scikit-learn", "mofapy2", "anndata", "mudata")


def provenance(file_hashes: dict[str, str], *, commit: str = "unknown") -> dict:
    """The run's provenance record: package, Python and platform versions, git commit, input checksums.

    Versions of the main packages (:data:`PACKAGES`), Python and the platform, the workflow's git
    commit, and the sha256 of every input file the user handed the workflow. No timestamps: reruns
    give the same record.

    Parameters
    ----------
    file_hashes : dict of str to str
        {input file: its sha256}.
    commit : str
        The workflow's git commit (:func:`moflow.io.git_commit`).

    Returns
    -------
    dict
        ``versions``, ``python``, ``platform``, ``workflow_commit``, ``checksum`` and ``inputs`` (sorted by
        file).
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "workflow_commit": commit,
        "checksum": "sha256",
        "inputs": dict(sorted(file_hashes.items())),
    }


def summarize_predictions(pred: pd.DataFrame) -> pd.DataFrame:
    """One row per sample: every strategy's held-out prediction columns as ``oof_<strategy>_<column>``.

    The columns are ``p_<class>``, ``prediction``, ``risk``, ``S@<time>`` (the numeric ones of ``pred``).

    A cohort sample is held out once per CV repeat: the value is the mean over the repeats (each from a
    model that never saw the sample). An external test sample is predicted once, by the final models
    (split ``final``): that prediction. ``oof_source`` says which (``cv`` / ``external_test``) and
    ``oof_repeats`` over how many CV repeats the mean runs (0 for an external test sample). Text
    columns (a survival split's ``risk_group``, relative to that split's training median) have no
    mean: they stay in the full table, ``uns["predictions"]``. A sample that is both a CV and an
    external test sample raises ValueError.

    Parameters
    ----------
    pred : pandas.DataFrame
        The long predictions table: ``split``, ``strategy``, ``sample`` and the prediction columns.

    Returns
    -------
    pandas.DataFrame
        Indexed by sample (strings): ``oof_source``, ``oof_repeats``, then the ``oof_`` columns by
        strategy (columns with no value left out).
    """
    values = [c for c in pred.columns if c not in ID_COLUMNS and pd.api.types.is_numeric_dtype(pred[c])]
    final = pred["split"].astype(str) == "final"
    cv = pred.loc[~final].groupby(["sample", "strategy"], sort=False)[values].mean()
    test = pred.loc[final].groupby(["sample", "strategy"], sort=False)[values].first()
    both = cv.index.get_level_values("sample").unique().intersection(test.index.get_level_values("sample").unique())
    if len(both):
        raise ValueError(f"summarize_predictions: sample(s) {list(both[:3])} are both CV and external test samples")
    long = pd.concat([cv, test])
    wide = long.unstack("strategy")
    strategies = list(dict.fromkeys(pred["strategy"].astype(str)))
    cols = [(v, s) for s in strategies for v in values if (v, s) in wide.columns and wide[(v, s)].notna().any()]
    out = wide[cols]
    out.columns = [f"{PREFIX}{s}_{v}" for v, s in cols]
    repeats = pred.loc[~final].groupby("sample")["split"].nunique()
    out.insert(0, f"{PREFIX}repeats", repeats.reindex(out.index).fillna(0).astype(int))
    out.insert(
        0, f"{PREFIX}source", np.where(out.index.isin(cv.index.get_level_values("sample")), "cv", "external_test")
    )
    out.index = out.index.astype(str)
    out.index.name = None
    return out


def _weights_matrix(weights: pd.DataFrame, layer: str, features, factors: list[str]) -> np.ndarray:
    """The MOFA weights of a layer's features (rows, in ``features`` order) x ``factors``."""
    w = weights[weights["view"].astype(str) == layer]
    table = w.pivot_table(index="feature", columns="factor", values="weight", aggfunc="first")
    return table.reindex(index=pd.Index(features).astype(str), columns=factors).to_numpy(float)


def to_mudata(
    layers: dict[str, pd.DataFrame],
    sheet: pd.DataFrame,
    omics: pd.DataFrame,
    *,
    factors: pd.DataFrame,
    weights: pd.DataFrame,
    variance: pd.DataFrame,
    predictions: pd.DataFrame | None,
    scoreboard: pd.DataFrame | None,
    config: dict,
    provenance: dict,
    subtypes: pd.DataFrame | None = None,
):
    """The MuData object of the run (see the module's description).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed samples x features matrix}.
    sheet : pandas.DataFrame
        The checked sample sheet, indexed by sample.
    omics : pandas.DataFrame
        The checked omics sheet, indexed by layer.
    factors : pandas.DataFrame
        MOFA's factors (a ``sample`` column, one column per factor).
    weights : pandas.DataFrame
        (view, feature, factor, weight).
    variance : pandas.DataFrame
        (view, factor, r2).
    predictions : pandas.DataFrame or None
        The long table of every held-out prediction (None without an outcome).
    scoreboard : pandas.DataFrame or None
        The scores (None without an outcome).
    subtypes : pandas.DataFrame, optional
        results/subtypes/assignments.tsv (sample, subtype, confidence): ``obs['subtype']`` and
        ``obs['subtype_confidence']`` (empty and missing for a sample without one).
    config, provenance : dict
        JSON-serialisable mappings.

    Returns
    -------
    mudata.MuData
        Samples in the order of ``sheet`` (those not in it last).
    """
    import anndata
    import mudata

    mudata.set_options(pull_on_update=False)
    order = [str(s) for s in sheet.index]
    factor_names = [c for c in factors.columns if c != "sample"]
    mods = {}
    for layer, X in layers.items():
        X = X.copy()
        X.index = X.index.astype(str)
        X = X.loc[[s for s in order if s in X.index] + [s for s in X.index if s not in set(order)]]
        ad = anndata.AnnData(
            X=X.to_numpy(float),
            obs=pd.DataFrame(index=X.index),
            var=pd.DataFrame(index=pd.Index(X.columns.astype(str))),
        )
        ad.varm["LFs"] = _weights_matrix(weights, layer, ad.var_names, factor_names)
        row = omics.loc[layer]
        ad.uns["moflow"] = {
            "layer": layer,
            "kind": str(row["kind"]),
            "source": str(row["path"]),
            "matrix": "preprocessed (results/preprocess/{layer}.parquet): the full cohort's chain",
        }
        mods[layer] = ad
    with warnings.catch_warnings():  # a gene in two layers is one var name twice in the global var: by design
        warnings.filterwarnings("ignore", message="var_names are not unique")
        md = mudata.MuData(mods)
    present = [s for s in order if s in set(md.obs_names)] + [s for s in md.obs_names if s not in set(order)]
    if list(md.obs_names) != present:
        md = md[present].copy()
    obs = sheet.reindex(md.obs_names).drop(columns=["sample"], errors="ignore")
    obs = obs.fillna("").astype(str)
    parts = [obs]
    if predictions is not None:
        summary = summarize_predictions(predictions).reindex(md.obs_names)
        summary[f"{PREFIX}source"] = summary[f"{PREFIX}source"].fillna("none")
        summary[f"{PREFIX}repeats"] = summary[f"{PREFIX}repeats"].fillna(0).astype(int)
        parts.append(summary)
    if subtypes is not None:
        a = subtypes.assign(sample=subtypes["sample"].astype(str)).set_index("sample").reindex(md.obs_names)
        parts.append(
            pd.DataFrame(
                {"subtype": a["subtype"].fillna("").astype(str), "subtype_confidence": a["confidence"].astype(float)},
                index=md.obs_names,
            )
        )
    md.obs = pd.concat(parts, axis=1).set_axis(md.obs_names)
    f = factors.assign(sample=factors["sample"].astype(str)).set_index("sample")
    md.obsm["X_mofa"] = f.reindex(md.obs_names)[factor_names].to_numpy(float)
    md.uns["moflow"] = {
        "config": json.dumps(config, sort_keys=True, default=str),
        "provenance": json.dumps(provenance, sort_keys=True, default=str),
        "omics": omics.reset_index(drop=True).astype(str),
        "predictions_summary": SUMMARY,
    }
    md.uns["mofa"] = {
        "factors": np.asarray(factor_names, dtype=str),
        "variance_explained": variance.astype({"view": str, "factor": str}),
    }
    if predictions is not None:
        md.uns["predictions"] = _h5_safe(predictions.reset_index(drop=True))
    if scoreboard is not None:
        md.uns["scoreboard"] = scoreboard.reset_index(drop=True)
    return md


def _h5_safe(table: pd.DataFrame) -> pd.DataFrame:
    """The table with text columns as strings only: an empty cell (a new patient's ``y_true``) as ''.

    HDF5 stores a column of one type; a text column read from a TSV holds NaN where a cell was empty,
    which h5py cannot write beside strings. Numeric columns keep their NaN.
    """
    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].where(out[col].notna(), "").astype(str)
    return out
