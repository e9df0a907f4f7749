"""Issue 3 checks on real data (../shared/data), skipped where it is absent.

* MTBLS79 (DIMS metabolomics, 8 batches, 38 pooled QCs): QC-RLSC brings the median QC RSD from about
  24% to 10% or less (features detected in >= 80% of the QCs, as in the pmp vignette) and removes
  batch structure;
* DEP UbiLength (label-free proteomics, 12 samples, left-censored missing values): imputation scored
  on observed values hidden the way the layer loses them;
* breast.TCGA (mixOmics): subtype separation by a simple cross-validated classifier does not drop
  after preprocessing (the chain is fit inside each training fold).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow.diagnostics import batch_diagnostics
from moflow.preprocess import (
    AutoImpute,
    FeatureFilter,
    LayerPreprocessor,
    layer_settings,
    make_imputer,
    missingness_model,
    nrmse,
    pattern_mask,
)

pytestmark = [pytest.mark.realdata, pytest.mark.filterwarnings("ignore::RuntimeWarning")]


# ---------------------------------------------------------------------------------------------
# MTBLS79: QC-RLSC
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtbls79(dataset_dir):
    d = dataset_dir("mtbls79_dims_metabolomics")
    X = pd.read_csv(d / "peak_intensities_with_missing.csv", index_col=0)
    meta = pd.read_csv(d / "metadata.csv", index_col=0)
    info = pd.DataFrame({"sample": meta.index, "sample_type": np.where(meta["Class"] == "QC", "qc", "sample"),
                         "batch": meta["Batch"].astype(str), "injection_order": meta["injection_order"].astype(str)},
                        index=meta.index)
    species = meta.loc[meta["Class"] != "QC", "species"]
    return X.loc[meta.index], info, species


@pytest.fixture(scope="module")
def mtbls79_corrected(mtbls79):
    """pmp's order: keep features detected in >= 80% of the QCs, then QC-RLSC (LOWESS per batch)."""
    X, info, species = mtbls79
    settings = {"order": ["normalize", "filter", "qc_drift"], "normalize": {"method": "none"},
                "filter": {"min_observed": 0.0, "qc_min_detection": 0.8}, "qc_drift": {"method": "rlsc"}}
    pp = LayerPreprocessor("metabolomics_intensity", settings, info=info, batch_column="batch", layer="mtbls79")
    _, trace = pp.fit_trace(X, species)
    return pp, trace


def test_mtbls79_qc_rlsc_brings_qc_rsd_below_10_percent(mtbls79_corrected):
    pp, trace = mtbls79_corrected
    assert trace["filter"].shape[1] == 2370  # the pmp vignette's QC >= 80% filter (README: 2370 features)
    q = pp.named_step("qc_drift")
    assert 22.0 < q.qc_rsd_before_ < 26.0  # ~24% raw
    assert q.qc_rsd_after_ <= 10.0


def test_mtbls79_qc_rlsc_removes_batch_structure(mtbls79, mtbls79_corrected):
    X, info, species = mtbls79
    pp, trace = mtbls79_corrected
    qc = info.index[info["sample_type"] == "qc"]
    before_qc = batch_diagnostics(trace["filter"].loc[qc], batch=info["batch"], outcome=None)
    after_qc = batch_diagnostics(trace["qc_drift"].loc[qc], batch=info["batch"], outcome=None)
    # pooled QC injections are one sample: whatever separates them is technical
    assert after_qc["silhouette_batch"] < before_qc["silhouette_batch"] - 0.2
    assert after_qc["r2_batch"] < 0.25 * before_qc["r2_batch"]
    # cohort samples: the share of the top PCs explained by batch drops, species separation does not
    before = batch_diagnostics(trace["filter"].loc[species.index], batch=info["batch"], outcome=species)
    after = batch_diagnostics(trace["qc_drift"].loc[species.index], batch=info["batch"], outcome=species)
    assert after["r2_batch"] < 0.7 * before["r2_batch"]
    assert after["silhouette_outcome"] >= before["silhouette_outcome"] - 0.02
    # cohort samples show no batch clusters either before or after (silhouette near 0 both times)
    assert abs(after["silhouette_batch"]) < 0.1 and abs(before["silhouette_batch"]) < 0.1


def test_mtbls79_spline_smoother_also_works(mtbls79):
    X, info, species = mtbls79
    settings = {"order": ["normalize", "filter", "qc_drift"], "normalize": {"method": "none"},
                "filter": {"min_observed": 0.0, "qc_min_detection": 0.8},
                "qc_drift": {"method": "rlsc", "smoother": "spline"}}
    pp = LayerPreprocessor("metabolomics_intensity", settings, info=info, batch_column="batch", layer="mtbls79")
    pp.fit(X, species)
    assert pp.named_step("qc_drift").qc_rsd_after_ <= 10.0


# ---------------------------------------------------------------------------------------------
# DEP UbiLength: imputation on the layer's own missingness pattern
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ubilength(dataset_dir):
    """log2 LFQ, reverse hits and contaminants removed, proteins complete in at least one condition
    (DEP's filter_missval(thr = 0)): 1899 proteins."""
    d = dataset_dir("dep_ubilength")
    X = pd.read_csv(d / "protein_log2_LFQ_with_missing.csv", index_col=0)
    ann = pd.read_csv(d / "protein_feature_annotation.csv", index_col=0)
    y = pd.read_csv(d / "metadata.csv", index_col=0)["condition"].reindex(X.index)
    flagged = (ann["Reverse"] == "+") | (ann["Potential.contaminant"] == "+")
    X = X.loc[:, ~flagged.reindex(X.columns).fillna(False).to_numpy()]
    X = FeatureFilter(min_observed=1.0, observed_in="any_group").fit(X, y).transform(X)
    return X, y


def test_ubilength_filter_and_censoring_model(ubilength):
    X, y = ubilength
    assert X.shape == (12, 1899)  # as published (DEP vignette)
    assert X.isna().to_numpy().mean() == pytest.approx(0.190, abs=0.001)
    model = missingness_model(X)
    assert not model["at_random"]  # low-abundance proteins go missing
    mask = pattern_mask(X, fraction=0.1, seed=1)
    V = X.to_numpy()
    assert np.median(V[mask]) < np.nanmedian(V) - 1.0  # hidden cells are low-intensity ones


def _ubilength_scores(X, y, seed):
    """(chosen method, its NRMSE, mean imputation's NRMSE) on a mask independent of the choice."""
    auto = AutoImpute(seed=0).fit(X, y)
    mask = pattern_mask(X, fraction=0.1, seed=seed)
    Xm = X.mask(mask)
    chosen = nrmse(make_imputer(auto.chosen_, {}, seed=0).fit(Xm, y).transform(Xm), X, mask)
    mean = nrmse(make_imputer("mean").fit(Xm, y).transform(Xm), X, mask)
    return auto, chosen, mean


def test_ubilength_chosen_imputation_is_no_worse_than_mean(ubilength):
    X, y = ubilength
    auto, chosen, mean = _ubilength_scores(X, y, seed=7)
    table = auto.scores_.set_index("method")
    assert table.loc[auto.chosen_, "ratio_to_mean"] <= 1.0
    assert chosen <= 1.01 * mean


@pytest.mark.xfail(strict=True, reason=(
    "Issue 3 asks for >= 30% lower NRMSE than mean imputation on UbiLength. Measured: the chosen method "
    "(kNN) is within 1% of feature-mean imputation (ratio ~0.99); no method tried (kNN k=1..10, "
    "IterativeImputer, low-rank SVD, MinProb, QRILC, half-minimum, mixed) gets below 0.87. The layer's "
    "censoring is soft (spread ~2 log2 units) against a within-protein sd of ~0.27, so hidden cells are "
    "nearly random within each protein and the protein's own mean is close to optimal. Masks that appear "
    "to show large gains hide every value of low proteins, which leaves mean imputation nothing to average."))
def test_ubilength_chosen_imputation_beats_mean_by_30_percent(ubilength):
    X, y = ubilength
    _, chosen, mean = _ubilength_scores(X, y, seed=7)
    assert chosen <= 0.7 * mean


# ---------------------------------------------------------------------------------------------
# breast.TCGA: preprocessing keeps subtype separation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer,kind", [("mrna", "log_expression"), ("mirna", "log_expression"),
                                        ("protein", "continuous")])
def test_breast_tcga_subtype_separation_does_not_drop(dataset_dir, layer, kind):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    d = dataset_dir("breast_tcga")
    X = pd.read_csv(d / f"{layer}_train.csv", index_col=0)
    y = pd.read_csv(d / "metadata.csv", index_col=0)["subtype"].reindex(X.index)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    clf = LogisticRegression(C=0.05, max_iter=5000)
    raw = cross_val_score(make_pipeline(StandardScaler(), clf), X, y, cv=cv, scoring="balanced_accuracy")
    # the kind's default chain, fit inside each training fold (a sklearn Pipeline hands it y)
    pp = LayerPreprocessor(kind, layer_settings(kind), layer=layer)
    ours = cross_val_score(make_pipeline(pp, clf), X, y, cv=cv, scoring="balanced_accuracy")
    assert raw.mean() > 0.8
    assert ours.mean() >= raw.mean() - 0.02
