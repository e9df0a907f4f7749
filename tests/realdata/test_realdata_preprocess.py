"""Issue 3 and issue 11 checks on real data (../shared/data), skipped where it is absent.

* MTBLS79 (DIMS metabolomics, 8 batches, 38 pooled QCs): QC-RLSC brings the median QC RSD from about
  24% to 10% or less (features detected in >= 80% of the QCs, as in the pmp vignette) and removes
  batch structure;
* DEP UbiLength (label-free proteomics, 12 samples, left-censored missing values): imputation scored
  on observed values hidden the way the layer loses them;
* breast.TCGA (mixOmics): subtype separation by a simple cross-validated classifier does not drop
  after preprocessing (the chain is fit inside each training fold).

Issue 11:

* MTBLS79 without its QC injections: the study samples show no run-order association above the
  shuffled level, and ``sample_lowess`` says so; with a drift planted into every injection, it
  recovers the unplanted study samples and the pooled QCs, held out of its fit, lose the drift;
  ``rlsc`` on the layer without QCs stops and names ``sample_lowess``;
* DEP UbiLength: the proteomics default imputation does no worse than the feature mean on masked
  values (bench/bench_imputation_defaults.py has the full table);
* UbiLength with planted batches, and MTBLS79: imputation does not bring batch structure back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow.errors import InputError
from moflow.preprocess import (
    AutoImpute,
    FeatureFilter,
    LayerPreprocessor,
    SampleDrift,
    batch_diagnostics,
    layer_settings,
    make_imputer,
    make_step,
    missingness_model,
    nrmse,
    pattern_mask,
    qc_rsd,
    step_diagnostics,
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
    info = pd.DataFrame(
        {
            "sample": meta.index,
            "sample_type": np.where(meta["Class"] == "QC", "qc", "sample"),
            "batch": meta["Batch"].astype(str),
            "injection_order": meta["injection_order"].astype(str),
        },
        index=meta.index,
    )
    species = meta.loc[meta["Class"] != "QC", "species"]
    return X.loc[meta.index], info, species


@pytest.fixture(scope="module")
def mtbls79_corrected(mtbls79):
    """pmp's order: keep features detected in >= 80% of the QCs, then QC-RLSC (LOWESS per batch)."""
    X, info, species = mtbls79
    settings = {
        "order": ["normalize", "filter", "qc_drift"],
        "normalize": {"method": "none"},
        "filter": {"min_observed": 0.0, "qc_min_detection": 0.8},
        "qc_drift": {"method": "rlsc"},
    }
    pp = LayerPreprocessor("metabolomics_intensity", settings, info=info, batch_column="batch", layer="mtbls79", seed=0)
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
    settings = {
        "order": ["normalize", "filter", "qc_drift"],
        "normalize": {"method": "none"},
        "filter": {"min_observed": 0.0, "qc_min_detection": 0.8},
        "qc_drift": {"method": "rlsc", "smoother": "spline"},
    }
    pp = LayerPreprocessor("metabolomics_intensity", settings, info=info, batch_column="batch", layer="mtbls79", seed=0)
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


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Issue 3 asks for >= 30% lower NRMSE than mean imputation on UbiLength. Measured: the chosen method "
        "(kNN) is within 1% of feature-mean imputation (ratio ~0.99); no method tried (kNN k=1..10, "
        "IterativeImputer, low-rank SVD, MinProb, QRILC, half-minimum, mixed) gets below 0.87. The layer's "
        "censoring is soft (spread ~2 log2 units) against a within-protein sd of ~0.27, so hidden cells are "
        "nearly random within each protein and the protein's own mean is close to optimal. Masks that appear "
        "to show large gains hide every value of low proteins, which leaves mean imputation nothing to average."
    ),
)
def test_ubilength_chosen_imputation_beats_mean_by_30_percent(ubilength):
    X, y = ubilength
    _, chosen, mean = _ubilength_scores(X, y, seed=7)
    assert chosen <= 0.7 * mean


# ---------------------------------------------------------------------------------------------
# breast.TCGA: preprocessing keeps subtype separation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer,kind", [("mrna", "log_expression"), ("mirna", "log_expression"), ("protein", "continuous")]
)
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
    pp = LayerPreprocessor(kind, layer_settings(kind), layer=layer, seed=0)
    ours = cross_val_score(make_pipeline(pp, clf), X, y, cv=cv, scoring="balanced_accuracy")
    assert raw.mean() > 0.8
    assert ours.mean() >= raw.mean() - 0.02


# ---------------------------------------------------------------------------------------------
# issue 11: drift without QC injections (MTBLS79 with its QCs held out of the fit)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtbls79_log(mtbls79, mtbls79_corrected):
    """log2 intensities of the features passing pmp's QC >= 80% detection filter, all injections."""
    X, info, species = mtbls79
    _, trace = mtbls79_corrected
    return np.log2(X[trace["filter"].columns]), info, species


def _aligned_qc_rsd(Q: pd.DataFrame, info: pd.DataFrame) -> float:
    """Median QC RSD (%) with each batch's QCs moved to the overall QC median: the drift alone."""
    b = info.loc[Q.index, "batch"]
    return float(np.nanmedian(qc_rsd(Q - Q.groupby(b).transform("median") + Q.median())))


def _plant_drift(L: pd.DataFrame, info: pd.DataFrame, slope_sd: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Every injection plus, per batch and peak, a linear and a curved trend over the batch's run."""
    rng = np.random.default_rng(seed)
    out = L.copy()
    for _, idx in L.groupby(info.loc[L.index, "batch"]).groups.items():
        o = info.loc[idx, "injection_order"].astype(float)
        pos = ((o - o.min()) / (o.max() - o.min())).to_numpy()
        slope, curve = rng.normal(0, slope_sd, L.shape[1]), rng.normal(0, 0.6 * slope_sd, L.shape[1])
        out.loc[idx] = L.loc[idx].to_numpy() + pos[:, None] * slope + np.sin(3 * pos)[:, None] * curve
    return out


def test_mtbls79_study_samples_show_no_drift_and_sample_lowess_says_so(mtbls79_log):
    """As measured, MTBLS79's study samples follow their run order no more than shuffled ones do (|r|
    0.17 and 0.17, ~17 samples per batch): the steps table says the sample-based trend only adds noise."""
    from moflow.preprocess.chain import _step_summary

    L, info, species = mtbls79_log
    step = SampleDrift(info=info, batch_column="batch").fit(L.loc[species.index], species)
    assert abs(step.order_correlation_before_ - step.order_correlation_shuffled_) < 0.03
    assert "no run-order association above the shuffled level" in _step_summary(step)


def test_mtbls79_planted_drift_sample_lowess_without_qcs_and_the_held_out_qcs_confirm_it(mtbls79_log):
    """A drift planted into every injection (slope sd 1 log2 over a batch's run): fit on the study samples
    alone, the correction brings them closer to the unplanted values, and the pooled QCs, held out of
    the fit, lose much of the planted drift (bench/results/drift_without_qc.md)."""
    L, info, species = mtbls79_log
    study, qc = species.index, info.index[info["sample_type"] == "qc"]
    P = _plant_drift(L, info)
    step = SampleDrift(info=info, batch_column="batch").fit(P.loc[study], species)
    assert step.order_correlation_before_ > step.order_correlation_shuffled_ + 0.1
    assert step.order_correlation_after_ < step.order_correlation_shuffled_

    def err(M):  # distance to the unplanted values, each batch's median aside
        D = (M - L.loc[M.index]).groupby(info.loc[M.index, "batch"]).transform(lambda c: c - c.median())
        return float(np.nanmean(np.abs(D.to_numpy())))

    assert err(step.transform(P.loc[study])) < 0.65 * err(P.loc[study])
    assert _aligned_qc_rsd(step.transform(P.loc[qc]), info) < 0.75 * _aligned_qc_rsd(P.loc[qc], info)


def test_mtbls79_rlsc_without_qcs_stops_and_names_sample_lowess(mtbls79_log):
    L, info, species = mtbls79_log
    step = make_step(
        "qc_drift",
        {"method": "rlsc"},
        kind="metabolomics_intensity",
        info=info,
        batch_column="batch",
        covariates=(),
        log_scale=True,
        seed=0,
    )
    with pytest.raises(InputError, match="sample_lowess"):
        step.fit(L.loc[species.index], species)


def test_mtbls79_qc_rlsc_reports_the_study_samples_run_order_association(mtbls79_corrected):
    """The steps table gives the study samples' run-order association before and after QC-RLSC and with
    the run order shuffled. Measured: 0.17 -> 0.19 (shuffled 0.17): the QC trend, which takes the QC
    RSD from 24% to 6%, is not visible in the study samples either before or after."""
    pp, _ = mtbls79_corrected
    q = pp.named_step("qc_drift")
    for v in (q.order_correlation_before_, q.order_correlation_after_):
        assert abs(v - q.order_correlation_shuffled_) < 0.05
    summary = pd.DataFrame(pp.history_).set_index("step").loc["qc_drift", "summary"]
    assert (
        f"|Spearman r| {q.order_correlation_before_:.2f} -> {q.order_correlation_after_:.2f}" in summary
        and "with the run order shuffled" in summary
    )


# ---------------------------------------------------------------------------------------------
# issue 11: the proteomics default imputation on UbiLength
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ubilength_default_input(dataset_dir):
    """What the impute step of the proteomics default chain receives: log2 LFQ, median-normalized,
    proteins observed in half the samples (reverse hits and contaminants removed)."""
    d = dataset_dir("dep_ubilength")
    X = pd.read_csv(d / "protein_log2_LFQ_with_missing.csv", index_col=0)
    ann = pd.read_csv(d / "protein_feature_annotation.csv", index_col=0)
    y = pd.read_csv(d / "metadata.csv", index_col=0)["condition"].reindex(X.index)
    flagged = (ann["Reverse"] == "+") | (ann["Potential.contaminant"] == "+")
    X = X.loc[:, ~flagged.reindex(X.columns).fillna(False).to_numpy()]
    settings = layer_settings("proteomics_intensity")
    settings["order"] = ["normalize", "filter"]
    pp = LayerPreprocessor("proteomics_intensity", settings, log_scale=True, layer="ubilength", seed=0)
    return pp.fit_transform(X, y), y


@pytest.mark.parametrize("which", ["default chain", "DEP filter"])
def test_ubilength_proteomics_default_imputation_no_worse_than_mean(ubilength, ubilength_default_input, which):
    """Out of sample: the default imputer is fit on the masked matrix (auto makes its choice on a mask of
    its own) and scored on the hidden cells, against the feature mean, on three masks. (Measured with
    the old default, MinProb: 4.5x the mean's NRMSE; bench/results/imputation_defaults.md.)"""
    X, y = ubilength_default_input if which == "default chain" else ubilength
    opts = layer_settings("proteomics_intensity")["impute"]
    for seed in (1, 2, 3):
        mask = pattern_mask(X, fraction=0.1, seed=seed)
        Xm = X.mask(mask)
        default = make_step(
            "impute",
            opts,
            kind="proteomics_intensity",
            info=None,
            batch_column="",
            covariates=(),
            log_scale=True,
            seed=0,
        )
        ours = nrmse(default.fit(Xm, y).transform(Xm), X, mask)
        mean = nrmse(make_imputer("mean").fit(Xm, y).transform(Xm), X, mask)
        assert ours <= mean, (seed, default.chosen_, ours, mean)


# ---------------------------------------------------------------------------------------------
# issue 11: imputation does not bring batch structure back
# ---------------------------------------------------------------------------------------------


def _planted_batches(X: pd.DataFrame, seed: int = 0, shift_sd: float = 0.8, low_batch: float = -1.0):
    """UbiLength with batches planted: replicate r is batch r (one sample of each condition per batch),
    per-protein shifts and batch 3 lower by 1 log2, re-censored with the layer's own censoring model, so
    that the low batch loses more values (as bench/bench_impute_batch_order.py)."""
    from scipy import special

    b = np.array([int(s.rsplit("_", 1)[1]) - 1 for s in X.index])
    X = X.loc[:, X.notna().sum() >= 2]
    model = missingness_model(X)
    rng = np.random.default_rng(seed)
    V = X.to_numpy(float) + rng.normal(0, shift_sd, (3, X.shape[1]))[b] + np.array([0, 0, low_batch])[b][:, None]
    lost = rng.random(V.shape) < special.ndtr((model["threshold"] - np.nan_to_num(V, nan=-np.inf)) / model["spread"])
    info = pd.DataFrame({"sample": X.index, "sample_type": "sample", "batch": [f"r{i + 1}" for i in b]}, index=X.index)
    return pd.DataFrame(np.where(lost, np.nan, V), index=X.index, columns=X.columns), info


@pytest.mark.parametrize("impute", ["default", "minprob"])
def test_ubilength_planted_batches_imputation_keeps_batch_correction(dataset_dir, impute):
    d = dataset_dir("dep_ubilength")
    X = pd.read_csv(d / "protein_log2_LFQ_with_missing.csv", index_col=0)
    y = pd.read_csv(d / "metadata.csv", index_col=0)["condition"].reindex(X.index)
    Xb, info = _planted_batches(X)
    settings = layer_settings("proteomics_intensity", {} if impute == "default" else {"impute": {"method": impute}})
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="ubilength", seed=0
    )
    _, trace = pp.fit_trace(Xb, y)
    t = step_diagnostics(trace, batch=info["batch"], outcome=y)[0].set_index("stage")
    assert t.loc["after_filter", "r2_batch"] > 0.3  # the planted batches are there before correction
    assert t.loc["after_scale", "silhouette_batch"] <= t.loc["after_batch", "silhouette_batch"] + 0.02
    assert t.loc["after_scale", "r2_batch"] < 0.05


def test_mtbls79_default_chain_imputation_keeps_batch_correction(mtbls79):
    X, info, species = mtbls79
    pp = LayerPreprocessor(
        "metabolomics_intensity",
        layer_settings("metabolomics_intensity"),
        info=info,
        batch_column="batch",
        layer="mtbls79",
        seed=0,
    )
    _, trace = pp.fit_trace(X, species)
    t = step_diagnostics(trace, batch=info["batch"], outcome=species)[0].set_index("stage")
    assert t.loc["after_scale", "silhouette_batch"] <= t.loc["after_batch", "silhouette_batch"] + 0.02
