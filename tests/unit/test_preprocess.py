"""Per-layer preprocessing estimators: planted effects are removed or recovered, and every step is
fit on training samples only."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from unit_helpers import LAYER_KINDS, make_preprocessors

from moflow.errors import InputError
from moflow.preprocess import (
    PQN,
    QCRLSC,
    AutoDrift,
    ComBat,
    CountNormalizer,
    FeatureFilter,
    HalfMinImpute,
    Identity,
    KNNImpute,
    LayerPreprocessor,
    MeanImpute,
    MedianCentering,
    MinProbImpute,
    SampleDrift,
    layer_settings,
    make_imputer,
    make_step,
    run_order_correlation,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def silhouette(X: pd.DataFrame, labels: pd.Series, k: int = 5) -> float:
    """Silhouette of ``labels`` on the top ``k`` PCs of the standardized matrix (missing -> 0)."""
    Z = (X - X.mean()) / X.std()
    E = PCA(k, random_state=0).fit_transform(Z.fillna(0.0).to_numpy())
    return float(silhouette_score(E, labels.loc[X.index].to_numpy()))


def planted_batch_data(
    seed: int = 0,
    n: int = 90,
    p: int = 200,
    batch_sd: float = 1.5,
    effect: float = 1.5,
    case_rate_by_batch=(1 / 3, 1 / 3, 1 / 3),
):
    """Gaussian features with a per-feature shift per batch and an outcome effect on features 0-19."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i:03d}" for i in range(n)]
    b = np.arange(n) % 3
    batch = pd.Series(np.array(["b1", "b2", "b3"])[b], index=idx)
    case = rng.random(n) < np.asarray(case_rate_by_batch)[b]
    y = pd.Series(np.where(case, "case", "control"), index=idx)
    V = rng.normal(0, 1, (n, p)) + rng.normal(0, batch_sd, (3, p))[b] + 10
    V[:, :20] += effect * case[:, None]
    X = pd.DataFrame(V, index=idx, columns=[f"f{j:03d}" for j in range(p)])
    return X, batch, y, pd.DataFrame({"batch": batch})


def mean_abs_t(X: pd.DataFrame, y: pd.Series, features) -> float:
    case = (y.loc[X.index] == "case").to_numpy()
    return float(
        np.mean([abs(stats.ttest_ind(X[f][case], X[f][~case], nan_policy="omit").statistic) for f in features])
    )


# ---------------------------------------------------------------------------------------------
# (a-c) ComBat
# ---------------------------------------------------------------------------------------------


def test_combat_removes_planted_batch_shift_and_keeps_outcome():
    X, batch, y, info = planted_batch_data()
    out = ComBat(info=info, batch_column="batch").fit_transform(X, y)
    assert out.shape == X.shape and list(out.columns) == list(X.columns)
    before, after = silhouette(X, batch), silhouette(out, batch)
    assert before > 0.3
    assert after < 0.1
    planted = X.columns[:20]
    assert mean_abs_t(out, y, planted) >= 0.9 * mean_abs_t(X, y, planted)
    assert silhouette(out, y) >= silhouette(X, y) - 0.05
    # the planted outcome effect (1.5) is still there, at its size
    case = (y == "case").to_numpy()
    diff = (out.loc[case, planted].mean() - out.loc[~case, planted].mean()).mean()
    assert diff == pytest.approx(1.5, abs=0.3)


def test_combat_on_simulated_proteomics(cohort, info, outcome):
    L = MedianCentering(log=False).fit_transform(cohort.layers["protein"])
    out = ComBat(info=info, batch_column="batch").fit_transform(L, outcome)
    assert silhouette(L, info["batch"]) > 0.3
    assert silhouette(out, info["batch"]) < 0.1
    assert silhouette(out, outcome) >= silhouette(L, outcome) - 0.05


def test_combat_protects_outcome_confounded_with_batch():
    """With cases concentrated in one batch, the outcome must enter the design, or ComBat removes part of
    the outcome effect as if it were batch."""
    X, batch, y, info = planted_batch_data(seed=3, n=150, case_rate_by_batch=(0.7, 0.2, 0.2))
    case = (y == "case").to_numpy()
    planted = X.columns[:20]

    def effect(out):
        return float((out.loc[case, planted].mean() - out.loc[~case, planted].mean()).mean())

    protected = ComBat(info=info, batch_column="batch").fit_transform(X, y)
    naive = ComBat(info=info, batch_column="batch", protect_outcome=False).fit_transform(X, y)
    assert effect(protected) == pytest.approx(1.5, abs=0.25)
    assert effect(naive) < effect(protected) - 0.2
    assert silhouette(protected, batch) < 0.1


def test_combat_with_missing_values():
    X, batch, y, info = planted_batch_data(seed=1)
    rng = np.random.default_rng(5)
    mask = rng.random(X.shape) < 0.10
    Xn = X.mask(mask)
    full = ComBat(info=info, batch_column="batch").fit_transform(X, y)
    part = ComBat(info=info, batch_column="batch").fit_transform(Xn, y)
    # missing cells stay missing, observed ones are corrected
    assert part.isna().equals(Xn.isna())
    obs = ~mask
    assert np.isfinite(part.to_numpy()[obs]).all()
    # corrections (not just values, which share feature means) agree with ComBat on complete data
    c_full = (full - X).to_numpy()[obs]
    c_part = (part - X).to_numpy()[obs]
    assert np.corrcoef(c_full, c_part)[0, 1] > 0.99
    assert np.corrcoef(full.to_numpy()[obs], part.to_numpy()[obs])[0, 1] > 0.99
    assert silhouette(part, batch) < 0.1


def test_combat_transform_of_new_samples():
    X, batch, y, info = planted_batch_data(seed=2)
    test = X.index[::5]  # every batch
    train = X.index.difference(test)
    cb = ComBat(info=info, batch_column="batch", protect_outcome=False)
    fitted = cb.fit_transform(X.loc[train], y.loc[train])
    # transform of the training samples reproduces the fit output
    np.testing.assert_allclose(cb.transform(X.loc[train]).to_numpy(), fitted.to_numpy(), rtol=1e-10, atol=1e-10)
    # held-out samples of known batches: batch means of every feature pulled together
    out = cb.transform(X.loc[test])
    spread_before = X.loc[test].groupby(batch.loc[test]).mean().std().median()
    spread_after = out.groupby(batch.loc[test]).mean().std().median()
    assert spread_after < spread_before / 3
    # each held-out sample gets the same correction whatever other samples come with it
    one = pd.concat([cb.transform(X.loc[[s]]) for s in test])
    np.testing.assert_allclose(one.to_numpy(), out.to_numpy(), rtol=1e-12)


def test_combat_protected_transform_removes_batch_from_new_samples():
    X, batch, y, info = planted_batch_data(seed=2)
    test = X.index[::5]  # every batch
    train = X.index.difference(test)
    cb = ComBat(info=info, batch_column="batch").fit(X.loc[train], y.loc[train])
    out = cb.transform(X.loc[test])  # no outcome needed for new samples
    assert silhouette(out, batch, k=3) < 0.1 < silhouette(X.loc[test], batch, k=3)


def test_combat_unseen_batch_raises():
    X, batch, y, info = planted_batch_data(seed=2)
    info2 = info.copy()
    info2.loc["S089", "batch"] = "b4"
    cb = ComBat(info=info2, batch_column="batch").fit(X.iloc[:60], y.iloc[:60])
    with pytest.raises(InputError, match=r"sample 'S089' belongs to batch 'b4'"):
        cb.transform(X.iloc[60:])


def test_combat_single_sample_batch_raises():
    X, batch, y, info = planted_batch_data(seed=2)
    info2 = info.copy()
    info2.loc["S005", "batch"] = "lonely"
    with pytest.raises(InputError, match=r"batch 'lonely' has a single training sample"):
        ComBat(info=info2, batch_column="batch").fit(X, y)


def test_combat_protects_numeric_covariate():
    X, batch, y, info = planted_batch_data(seed=4)
    rng = np.random.default_rng(4)
    age = rng.normal(50, 10, len(X))
    X = X.copy()
    X.iloc[:, 20:40] += 0.1 * (age - 50)[:, None]  # an age effect on 20 features
    info2 = info.assign(age=[f"{a:.1f}" for a in age])  # sheet values are strings
    out = ComBat(info=info2, batch_column="batch", covariates=("age",)).fit_transform(X, y)
    slope = np.polyfit(age, out.iloc[:, 20:40].mean(axis=1), 1)[0]
    assert slope == pytest.approx(0.1, abs=0.02)
    assert silhouette(out, batch) < 0.1


@pytest.mark.parametrize("token", ["NA", ""])
def test_combat_numeric_covariate_with_missing_value(token):
    X, batch, y, info = planted_batch_data(seed=4)
    age = np.random.default_rng(4).normal(50, 10, len(X))
    info2 = info.assign(age=[f"{a:.1f}" for a in age])
    info2.loc["S003", "age"] = token
    try:
        out = ComBat(info=info2, batch_column="batch", covariates=("age",)).fit_transform(X, y)
    except InputError as err:
        assert "'age'" in str(err) and "'S003'" in str(err), str(err)
    else:
        assert silhouette(out, batch) < 0.1


def test_combat_confounded_design_raises():
    X, batch, y, info = planted_batch_data(seed=2)
    y2 = pd.Series(np.where(batch == "b1", "case", "control"), index=X.index)
    with pytest.raises(InputError, match="confounded"):
        ComBat(info=info, batch_column="batch").fit(X, y2)


# ---------------------------------------------------------------------------------------------
# (d) library-size normalization
# ---------------------------------------------------------------------------------------------


def planted_counts(seed=0, n=40, p=500):
    rng = np.random.default_rng(seed)
    size = np.exp(rng.normal(0, 0.5, n))
    base = np.exp(rng.normal(4, 1.5, p))
    lfc = np.zeros((n, p))
    lfc[: n // 2, :50] = 1.0  # some differential genes, as in real data
    mu = size[:, None] * base[None, :] * np.exp(lfc)
    r = 10.0
    C = rng.negative_binomial(r, r / (r + mu))
    X = pd.DataFrame(C, index=[f"S{i}" for i in range(n)], columns=[f"G{j}" for j in range(p)])
    return X, pd.Series(size, index=X.index)


@pytest.mark.parametrize("method", ["median_of_ratios", "tmm"])
def test_count_normalizer_recovers_size_factors(method):
    X, size = planted_counts()
    cn = CountNormalizer(method=method)
    out = cn.fit_transform(X)
    est = cn.size_factors(X)
    assert np.corrcoef(np.log(est), np.log(size))[0, 1] > 0.95
    # factors are scaled to a geometric mean of 1 over the training samples
    assert np.exp(np.mean(np.log(est))) == pytest.approx(1.0, rel=1e-9)
    np.testing.assert_allclose(out.to_numpy(), np.log2(X.to_numpy() / est.to_numpy()[:, None] + 1.0))
    # after normalization, per-sample medians no longer follow library size
    med = out.median(axis=1)
    raw_med = np.log2(X + 1).median(axis=1)
    assert abs(stats.spearmanr(med, size).statistic) < abs(stats.spearmanr(raw_med, size).statistic)


@pytest.mark.parametrize("method", ["median_of_ratios", "tmm", "upper_quartile", "total"])
def test_count_normalizer_new_samples_use_training_reference(method):
    X, size = planted_counts(seed=1, n=45)
    train, test = X.iloc[:30], X.iloc[30:]
    cn = CountNormalizer(method=method).fit(train)
    all_at_once = cn.transform(test)
    sf_all = cn.size_factors(test)
    one_by_one = pd.concat([cn.transform(test.iloc[[i]]) for i in range(len(test))])
    pd.testing.assert_frame_equal(one_by_one, all_at_once)
    # held-out factors are on the training scale: they track the planted ones
    assert np.corrcoef(np.log(sf_all), np.log(size.iloc[30:]))[0, 1] > 0.9


def _edger_tmm_factor(obs, ref, logratio_trim=0.3, sum_trim=0.05):
    """edgeR's .calcFactorTMM (doWeighting=TRUE, Acutoff=-1e10), transcribed line by line."""
    nO, nR = obs.sum(), ref.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        logR = np.log2((obs / nO) / (ref / nR))
        absE = (np.log2(obs / nO) + np.log2(ref / nR)) / 2
        v = (nO - obs) / nO / obs + (nR - ref) / nR / ref
    fin = np.isfinite(logR) & np.isfinite(absE)
    logR, absE, v = logR[fin], absE[fin], v[fin]
    n = len(logR)
    loL = np.floor(n * logratio_trim) + 1
    hiL = n + 1 - loL
    loS = np.floor(n * sum_trim) + 1
    hiS = n + 1 - loS
    rl = pd.Series(logR).rank().to_numpy()
    ra = pd.Series(absE).rank().to_numpy()
    keep = (rl >= loL) & (rl <= hiL) & (ra >= loS) & (ra <= hiS)
    return 2 ** (np.sum(logR[keep] / v[keep]) / np.sum(1 / v[keep]))


def test_tmm_factor_matches_edger():
    from moflow.preprocess.normalize import _tmm_factor

    rng = np.random.default_rng(0)
    base = np.exp(rng.normal(3, 1.5, 20))
    obs = rng.poisson(base * 1.3).astype(float)
    ref = rng.poisson(base).astype(float)
    obs[:2] *= 4
    assert _tmm_factor(obs, ref) == pytest.approx(_edger_tmm_factor(obs, ref), rel=1e-9)


def test_median_of_ratios_ignores_zero_counts_of_new_samples():
    X, size = planted_counts(seed=1, n=45)
    train, test = X.iloc[:30], X.iloc[30:]
    cn = CountNormalizer().fit(train)
    before = cn.size_factors(test)
    dropped = test.copy()
    rng = np.random.default_rng(0)
    genes = np.asarray(cn.mor_genes_)
    for i in range(len(dropped)):
        dropped.iloc[i, rng.choice(genes, int(0.2 * len(genes)), replace=False)] = 0
    after = cn.size_factors(dropped)
    assert np.abs(np.log(after / before)).max() < 0.05


def test_median_of_ratios_needs_genes_present_everywhere():
    X, _ = planted_counts(n=10, p=30)
    X.iloc[0, :25] = 0
    with pytest.raises(InputError, match="median_of_ratios"):
        CountNormalizer().fit(X)


# ---------------------------------------------------------------------------------------------
# (e) imputation
# ---------------------------------------------------------------------------------------------


def nrmse(imputed: pd.DataFrame, truth: pd.DataFrame, mask: np.ndarray) -> float:
    d = imputed.to_numpy()[mask] - truth.to_numpy()[mask]
    return float(np.sqrt(np.mean(d**2)) / np.std(truth.to_numpy()[mask]))


@pytest.fixture(scope="module")
def protein_observed(cohort):
    """Simulated proteomics (log2), features observed in at least half of the samples."""
    P = cohort.layers["protein"]
    return P.loc[:, P.notna().mean() >= 0.5]


def test_knn_beats_mean_on_random_mask(protein_observed):
    X = protein_observed
    obs = X.notna().to_numpy()
    mask = obs & (np.random.default_rng(0).random(X.shape) < 0.10)
    Xm = X.mask(mask)
    knn = nrmse(KNNImpute(k=10).fit_transform(Xm), X, mask)
    mean = nrmse(MeanImpute().fit_transform(Xm), X, mask)
    assert knn < 0.85 * mean


def _left_censored_mask(
    X: pd.DataFrame, *, per_feature: bool, frac: float = 0.10, noise: float = 0.2, seed: int = 0
) -> np.ndarray:
    """Mask observed cells below a detection limit (plus noise): low values are far more likely masked.

    per_feature=False: one limit for the whole matrix (intensity-dependent, like the simulator);
    per_feature=True: each feature has its own limit (its ``frac`` quantile).
    """
    V = X.to_numpy()
    obs = np.isfinite(V)
    rng = np.random.default_rng(seed)
    if per_feature:
        z = (V - np.nanmean(V, 0)) / np.nanstd(V, 0)
    else:
        z = (V - np.nanmean(V)) / np.nanstd(V)
    score = np.where(obs, z + rng.normal(0, noise, V.shape), np.inf)
    limit = np.quantile(score[obs], frac)
    return obs & (score < limit)


def test_minprob_beats_mean_on_left_censored_mask(protein_observed):
    X = protein_observed
    mask = _left_censored_mask(X, per_feature=False)
    assert 0.08 < mask.sum() / X.notna().to_numpy().sum() < 0.12
    Xm = X.mask(mask)
    # the masked cells really are low ones
    assert np.median(X.to_numpy()[mask]) < np.nanquantile(X.to_numpy(), 0.2)
    minprob = nrmse(MinProbImpute(q=0.01, seed=0).fit_transform(Xm), X, mask)
    mean = nrmse(MeanImpute().fit_transform(Xm), X, mask)
    assert minprob < 0.85 * mean


def test_halfmin_beats_mean_on_left_censored_mask(protein_observed):
    X = protein_observed
    mask = _left_censored_mask(X, per_feature=True)
    Xm = X.mask(mask)
    halfmin = nrmse(HalfMinImpute().fit_transform(Xm), X, mask)
    mean = nrmse(MeanImpute().fit_transform(Xm), X, mask)
    assert halfmin < 0.85 * mean
    # left-censored: mean imputation overestimates, the left-censored method does not
    bias_mean = float(np.mean(MeanImpute().fit_transform(Xm).to_numpy()[mask] - X.to_numpy()[mask]))
    assert bias_mean > 0.5


def test_imputers_fill_only_missing_cells_and_use_training_values(protein_observed):
    X = protein_observed
    train, test = X.iloc[:60], X.iloc[60:]
    for imp in (KNNImpute(k=5), HalfMinImpute(), MinProbImpute(seed=3), MeanImpute()):
        imp.fit(train)
        out = imp.transform(test)
        assert not out.isna().to_numpy().any(), type(imp).__name__
        obs = test.notna().to_numpy()
        np.testing.assert_array_equal(out.to_numpy()[obs], test.to_numpy()[obs])
        # a held-out sample is imputed the same whichever samples come with it
        one = pd.concat([imp.transform(test.iloc[[i]]) for i in range(len(test))])
        np.testing.assert_allclose(one.to_numpy(), out.to_numpy(), rtol=1e-12)
    hm = HalfMinImpute().fit(train)
    np.testing.assert_allclose(hm.fill_.to_numpy(), (train.min() - 1.0).to_numpy())


def test_minprob_is_seeded_by_sample_id(protein_observed):
    X = protein_observed
    a = MinProbImpute(seed=0).fit(X.iloc[:60]).transform(X.iloc[60:])
    b = MinProbImpute(seed=0).fit(X.iloc[:60]).transform(X.iloc[60:][::-1])
    pd.testing.assert_frame_equal(a, b.loc[a.index])
    c = MinProbImpute(seed=1).fit(X.iloc[:60]).transform(X.iloc[60:])
    assert not np.allclose(a.to_numpy(), c.to_numpy())


# ---------------------------------------------------------------------------------------------
# (f) QC-RLSC drift correction
# ---------------------------------------------------------------------------------------------


def _within_batch_position(info: pd.DataFrame, index) -> pd.Series:
    sh = info.loc[index]
    order = pd.to_numeric(sh["injection_order"])
    g = order.groupby(sh["batch"])
    return (order - g.transform("min")) / (g.transform("max") - g.transform("min"))


def _drift_slopes(L: pd.DataFrame, info: pd.DataFrame) -> np.ndarray:
    """Per-feature slope of cohort samples' values on their position in the batch run (batch-centred)."""
    sh = info.loc[L.index]
    cohort = (sh["sample_type"] == "sample").to_numpy()
    t = _within_batch_position(info, L.index)[cohort]
    t = t - t.groupby(sh["batch"][cohort]).transform("mean")
    B = L[cohort]
    B = B - B.groupby(sh["batch"][cohort]).transform("mean")
    return (t.to_numpy() @ B.to_numpy()) / (t.to_numpy() @ t.to_numpy())


def test_qcrlsc_reduces_qc_rsd_and_drift(cohort, info):
    M = cohort.layers["metabolomics"]
    L = PQN(info=info).fit_transform(M)
    q = QCRLSC(info=info, batch_column="batch", frac=0.8).fit(L)
    assert q.qc_rsd_after_ < q.qc_rsd_before_ / 2
    out = q.transform(L)
    # injection-order drift in the cohort samples is reduced
    before = np.median(np.abs(_drift_slopes(L, info)))
    after = np.median(np.abs(_drift_slopes(out, info)))
    assert after < 0.7 * before
    # batches aligned: spread of batch means (cohort samples) shrinks
    coh = (info.loc[L.index, "sample_type"] == "sample").to_numpy()
    b = info.loc[L.index[coh], "batch"]
    assert out[coh].groupby(b).mean().std().median() < 0.5 * L[coh].groupby(b).mean().std().median()


def test_qcrlsc_transforms_held_out_samples(cohort, info, qc_ids, fold_ids):
    train, test = fold_ids
    M = cohort.layers["metabolomics"]
    pqn = PQN(info=info).fit(M.loc[train + qc_ids])
    q = QCRLSC(info=info, batch_column="batch").fit(pqn.transform(M.loc[train + qc_ids]))
    out = q.transform(pqn.transform(M.loc[test]))
    assert out.shape == (len(test), M.shape[1])
    assert np.isfinite(out.to_numpy()).all()
    # the correction is per sample: a held-out sample alone gets the same values
    alone = q.transform(pqn.transform(M.loc[test[:1]]))
    np.testing.assert_allclose(alone.to_numpy(), out.iloc[:1].to_numpy())


def test_pqn_on_log_scale_input_equals_pqn_on_linear_scale(cohort, info):
    M = cohort.layers["metabolomics"]
    linear = PQN(info=info).fit_transform(M)
    step = make_step(
        "normalize",
        {"method": "pqn"},
        kind="metabolomics_intensity",
        info=info,
        batch_column="batch",
        covariates=(),
        log_scale=True,
        seed=0,
    )
    logged = step.fit_transform(np.log2(M))
    # (medians of an even number of log ratios are not exactly logs of medians: allow 0.01)
    np.testing.assert_allclose(logged.to_numpy(), linear.to_numpy(), rtol=0, atol=0.01)


def test_pqn_removes_planted_dilution(info):
    rng = np.random.default_rng(0)
    samples = info.index[info["sample_type"] == "sample"][:40]
    base = np.exp(rng.normal(10, 1.5, 60))
    dil = np.exp(rng.normal(0, 0.4, len(samples)))
    M = pd.DataFrame(
        base[None, :] * dil[:, None] * np.exp(rng.normal(0, 0.05, (len(samples), 60))),
        index=samples,
        columns=[f"M{j}" for j in range(60)],
    )
    out = PQN(info=info).fit_transform(M)
    shift = out.sub(out.median()).median(axis=1)
    assert shift.std() < 0.05
    # the estimated quotients track the planted dilutions
    q = np.log2(M).sub(out).mean(axis=1)
    assert np.corrcoef(q, np.log2(dil))[0, 1] > 0.99


def test_qcrlsc_needs_qcs(cohort, info, qc_ids):
    M = np.log2(cohort.layers["metabolomics"])
    with pytest.raises(InputError, match="fewer than 3 QC"):
        QCRLSC(info=info, batch_column="batch").fit(M.drop(index=qc_ids))
    # a batch with fewer than 3 QCs
    b1_qcs = [s for s in qc_ids if info.loc[s, "batch"] == "b1"]
    with pytest.raises(InputError, match="batch 'b1' has 2 QC"):
        QCRLSC(info=info, batch_column="batch").fit(M.drop(index=b1_qcs[2:]))


# ---------------------------------------------------------------------------------------------
# (g) the per-layer chain: fit on training samples, transform held-out ones
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", list(LAYER_KINDS))
def test_layer_preprocessor_train_test(cohort, info, outcome, qc_ids, fold_ids, layer):
    train, test = fold_ids
    X = cohort.layers[layer]
    qcs = qc_ids if layer == "metabolomics" else []
    pp = make_preprocessors(info)[layer]
    tr = pp.fit_transform(X.loc[train + qcs], outcome.loc[train])
    te = pp.transform(X.loc[test])
    assert list(tr.index) == train  # QC injections removed from the output
    assert list(te.index) == test
    assert list(tr.columns) == list(te.columns) == pp.features_out_
    assert not tr.isna().to_numpy().any() and not te.isna().to_numpy().any()
    # standard scaling on training means/sds
    np.testing.assert_allclose(tr.mean().to_numpy(), 0, atol=1e-8)
    # transforming QC injections along with held-out samples drops them too
    if qcs:
        te2 = pp.transform(X.loc[test + qcs])
        pd.testing.assert_frame_equal(te2, te)
    # no test-set statistics: each held-out sample is processed the same alone
    one = pd.concat([pp.transform(X.loc[[s]]) for s in test[:5]])
    np.testing.assert_allclose(one.to_numpy(), te.iloc[:5].to_numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("layer", list(LAYER_KINDS))
def test_layer_preprocessor_fit_ignores_held_out_samples(cohort, info, outcome, qc_ids, fold_ids, layer):
    """The fitted state depends on training rows only: neither the held-out samples' sheet rows nor
    transforming (wildly different) held-out data change it."""
    train, test = fold_ids
    X = cohort.layers[layer]
    qcs = qc_ids if layer == "metabolomics" else []
    kind, log_scale = LAYER_KINDS[layer]
    pp = make_preprocessors(info)[layer]
    tr = pp.fit_transform(X.loc[train + qcs], outcome.loc[train])
    state = copy.deepcopy(pp.steps_)
    # a sheet that lacks the held-out samples gives the same fit
    info_train = info.loc[train + [s for s in info.index if info.loc[s, "sample_type"] == "qc"]]
    pp2 = LayerPreprocessor(
        kind, layer_settings(kind), info=info_train, batch_column="batch", log_scale=log_scale, layer=layer, seed=0
    )
    pd.testing.assert_frame_equal(pp2.fit_transform(X.loc[train + qcs], outcome.loc[train]), tr)
    # transforming drastically changed held-out data leaves the fit unchanged. (transform(train) is not
    # fit_transform(train): ComBat protects the training outcome, which new samples do not come with.)
    ref = pp.transform(X.loc[train])
    wild = X.loc[test] * 50 + (0 if layer == "rna" else 3)
    pp.transform(wild)
    pd.testing.assert_frame_equal(pp.transform(X.loc[train]), ref)
    for (name_a, a), (name_b, b) in zip(state, pp.steps_):
        assert name_a == name_b
        for attr, value in vars(a).items():
            if attr.endswith("_") and isinstance(value, (np.ndarray, pd.Series, float)):
                np.testing.assert_array_equal(np.asarray(getattr(b, attr)), np.asarray(value), err_msg=attr)


def test_layer_preprocessor_invariant_to_outcome_label_names(cohort, info, outcome, fold_ids):
    train, test = fold_ids
    X = cohort.layers["protein"]
    pp = make_preprocessors(info)["protein"].fit(X.loc[train], outcome.loc[train])
    flipped = outcome.loc[train].map({"case": "control", "control": "case"})
    pp_f = make_preprocessors(info)["protein"].fit(X.loc[train], flipped)
    # relabelling the training outcome consistently gives the same design, hence the same output
    pd.testing.assert_frame_equal(
        pp.transform(X.loc[test]), pp_f.transform(X.loc[test]), check_exact=False, rtol=0, atol=1e-3
    )  # EB iterations stop at tol 1e-4


# ---------------------------------------------------------------------------------------------
# (h) feature filter
# ---------------------------------------------------------------------------------------------


def test_feature_filter_missingness_and_top_variable():
    rng = np.random.default_rng(0)
    n = 100
    sds = np.linspace(0.5, 3.0, 12)
    X = pd.DataFrame(rng.normal(0, 1, (n, 12)) * sds, columns=[f"f{j:02d}" for j in range(12)])
    miss_frac = {"f00": 0.9, "f01": 0.6, "f02": 0.45, "f11": 0.7}
    for f, m in miss_frac.items():
        X.loc[rng.random(n) < m, f] = np.nan
    X["const"] = 1.0
    ff = FeatureFilter(min_observed=0.5).fit(X)
    kept = set(ff.features_)
    assert {"f00", "f01", "f11", "const"}.isdisjoint(kept)
    assert {"f02", "f03", "f10"} <= kept
    assert list(ff.transform(X).columns) == ff.features_
    # top_variable keeps the most variable of the features passing the missingness filter
    ff3 = FeatureFilter(min_observed=0.5, top_variable=3).fit(X)
    assert ff3.features_ == ["f08", "f09", "f10"]
    # min_value: low values do not count as observed
    Y = pd.DataFrame({"a": [0.1] * 6 + [5.0] * 4, "b": np.arange(10.0)})
    assert FeatureFilter(min_observed=0.5, min_value=1.0).fit(Y).features_ == ["b"]


def test_feature_filter_empty_layer_is_an_input_error(cohort, info, outcome):
    settings = layer_settings("proteomics_intensity", {"filter": {"method": "default", "min_observed": 1.01}})
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="protein", seed=0
    )
    with pytest.raises(InputError, match=r"layer 'protein': no feature left after filter"):
        pp.fit(cohort.layers["protein"], outcome)


@pytest.mark.parametrize("kind", ["proteomics_intensity", "rnaseq_counts"])
def test_default_chain_filters_features(cohort, info, outcome, kind):
    layer = {"proteomics_intensity": "protein", "rnaseq_counts": "rna"}[kind]
    step = make_step(
        "filter",
        layer_settings(kind)["filter"],
        kind=kind,
        info=info,
        batch_column="batch",
        covariates=(),
        log_scale=True,
        seed=0,
    )
    assert isinstance(step, FeatureFilter)
    pp = make_preprocessors(info)[layer]
    out = pp.fit_transform(cohort.layers[layer], outcome)
    assert isinstance(pp.named_step("filter"), FeatureFilter)
    if layer == "protein":
        # features observed in fewer than half the samples (here some in none) must be gone
        mostly_missing = cohort.layers["protein"].columns[cohort.layers["protein"].notna().mean() < 0.5]
        assert len(mostly_missing) > 0
        assert not set(mostly_missing) & set(out.columns)


def test_filter_with_explicit_method_filters(cohort, info, outcome):
    """The filter reached through an explicit method gives the same as the default."""
    settings = layer_settings("proteomics_intensity", {"filter": {"method": "default"}})
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="protein", seed=0
    )
    out = pp.fit_transform(cohort.layers["protein"], outcome)
    P = cohort.layers["protein"]
    assert set(out.columns) == set(P.columns[P.notna().mean() >= 0.5])


def test_metabolomics_without_normalization_keeps_qc_drift(cohort, info, outcome):
    settings = layer_settings("metabolomics_intensity", {"normalize": {"method": "none"}})
    pp = LayerPreprocessor(
        "metabolomics_intensity", settings, info=info, batch_column="batch", layer="metabolomics", seed=0
    )
    out = pp.fit_transform(cohort.layers["metabolomics"], outcome)
    # (issue 11: the kind's default is qc_drift 'auto', which is QC-RLSC on a layer with QC injections)
    drift = pp.named_step("qc_drift")
    assert isinstance(drift, AutoDrift) and drift.chosen_ == "rlsc" and isinstance(drift.step_, QCRLSC)
    assert out.shape[0] == len(outcome)


def test_layer_settings_overrides_and_unknown_step():
    s = layer_settings("rnaseq_counts", {"normalize": {"method": "tmm"}, "filter": {"top_variable": 10}})
    assert s["normalize"] == {"method": "tmm", "pseudocount": 1.0}
    assert s["filter"]["top_variable"] == 10 and s["filter"]["min_observed"] == 0.5
    assert layer_settings("rnaseq_counts")["normalize"]["method"] == "median_of_ratios"  # defaults untouched
    with pytest.raises(InputError, match="unknown step 'smooth'"):
        layer_settings("rnaseq_counts", {"smooth": {}})
    with pytest.raises(InputError, match="unknown layer kind"):
        layer_settings("lipids")
    assert isinstance(
        make_step(
            "scale",
            {"method": "none"},
            kind="continuous",
            info=None,
            batch_column="",
            covariates=(),
            log_scale=False,
            seed=0,
        ),
        Identity,
    )


# =============================================================================================
# issue 3: normalization by kind, filters, QC drift, batch correction options, imputation
# =============================================================================================

from moflow.preprocess import (  # noqa: E402
    AutoImpute,
    BinaryCheck,
    IterativeImpute,
    LinearBatch,
    MixedImpute,
    MValue,
    QRILCImpute,
    QuantileNormalizer,
    Scaler,
    check_batch_confounding,
    fit_dispersion_trend,
    glog2,
    glog_lambda,
    lowess_columns,
    missingness_model,
    pattern_mask,
    score_imputers,
    vst,
)
from moflow.preprocess import nrmse as moflow_nrmse  # noqa: E402


def batch_frame(seed=0, n=60, p=120, shift=2.0, scale=(1.0, 1.0, 1.0)):
    """Three batches with a per-feature location shift and a per-batch scale; balanced outcome."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i:03d}" for i in range(n)]
    b = np.arange(n) % 3
    truth = rng.normal(0, 1, (n, p)) + 8
    y = pd.Series(np.where(np.arange(n) % 2 == 0, "case", "control"), index=idx)
    X = truth * np.asarray(scale)[b][:, None] + rng.normal(0, shift, (3, p))[b]
    info = pd.DataFrame({"batch": np.array(["b1", "b2", "b3"])[b]}, index=idx)
    return (
        pd.DataFrame(X, index=idx, columns=[f"f{j}" for j in range(p)]),
        info,
        y,
        pd.DataFrame(truth, index=idx, columns=[f"f{j}" for j in range(p)]),
    )


# ---------------------------------------------------------------------------------------------
# ComBat options
# ---------------------------------------------------------------------------------------------


def test_combat_reference_batch_left_unchanged_and_others_moved_to_it():
    X, info, y, _ = batch_frame(seed=1)
    cb = ComBat(info=info, batch_column="batch", ref_batch="b2")
    out = cb.fit_transform(X, y)
    ref = (info["batch"] == "b2").to_numpy()
    np.testing.assert_array_equal(out[ref].to_numpy(), X[ref].to_numpy())
    # the other batches' feature means now sit on the reference batch's
    gap_before = (X[~ref].groupby(info["batch"][~ref]).mean() - X[ref].mean()).abs().to_numpy().mean()
    gap_after = (out[~ref].groupby(info["batch"][~ref]).mean() - out[ref].mean()).abs().to_numpy().mean()
    assert gap_before > 1.0 and gap_after < 0.15 * gap_before
    # new samples: the reference batch is untouched, a new batch too when configured
    info2 = info.copy()
    info2.loc["S000", "batch"] = "b9"
    cb2 = ComBat(info=info2, batch_column="batch", ref_batch="b2", unseen_batch="reference").fit(X.iloc[1:], y.iloc[1:])
    np.testing.assert_array_equal(cb2.transform(X.iloc[:1]).to_numpy(), X.iloc[:1].to_numpy())
    with pytest.raises(InputError, match="unseen_batch 'reference' needs a reference batch"):
        ComBat(info=info, batch_column="batch", unseen_batch="reference").fit(X, y)
    with pytest.raises(InputError, match="reference batch 'zz' has no training samples"):
        ComBat(info=info, batch_column="batch", ref_batch="zz").fit(X, y)


def test_combat_nonparametric_removes_batch_and_agrees_with_parametric():
    X, info, y, truth = batch_frame(seed=2, scale=(1.0, 1.6, 0.7))
    par = ComBat(info=info, batch_column="batch", parametric=True).fit_transform(X, y)
    npar = ComBat(info=info, batch_column="batch", parametric=False).fit_transform(X, y)
    batch = info["batch"]
    assert silhouette(X, batch) > 0.3
    assert silhouette(npar, batch) < 0.1
    # on Gaussian data the empirical prior gives nearly the parametric answer
    assert np.corrcoef((par - X).to_numpy().ravel(), (npar - X).to_numpy().ravel())[0, 1] > 0.99
    # the per-batch scale is equalized too
    sd = npar.groupby(batch).std().median(axis=1)
    assert sd.max() / sd.min() < 1.15 < (X.groupby(batch).std().median(axis=1).pipe(lambda s: s.max() / s.min()))
    # with missing values: cells stay missing, the rest is corrected
    Xn = X.mask(np.random.default_rng(0).random(X.shape) < 0.1)
    out = ComBat(info=info, batch_column="batch", parametric=False).fit_transform(Xn, y)
    assert out.isna().equals(Xn.isna()) and silhouette(out, batch) < 0.1


def test_combat_mean_only_keeps_batch_scales():
    X, info, y, _ = batch_frame(seed=3, scale=(1.0, 2.0, 1.0))
    out = ComBat(info=info, batch_column="batch", mean_only=True).fit_transform(X, y)
    batch = info["batch"]
    ratio = lambda M: float(M.groupby(batch).std().median(axis=1)["b2"] / M.groupby(batch).std().median(axis=1)["b1"])  # noqa: E731
    assert ratio(out) == pytest.approx(ratio(X), rel=1e-6)
    spread = out.groupby(batch).mean().std().median()
    assert spread < 0.2 * X.groupby(batch).mean().std().median()


def test_combat_ddof_convention():
    X, info, y, _ = batch_frame(seed=4, n=24)
    a = ComBat(info=info, batch_column="batch", ddof=1).fit(X, y)
    b = ComBat(info=info, batch_column="batch", ddof=0).fit(X, y)
    # delta_hat scales with (n - 1) / n between the two conventions
    nb = 8
    np.testing.assert_allclose(b.delta_hat_, a.delta_hat_ * (nb - 1) / nb, rtol=1e-10)
    assert not np.allclose(a.gamma_star_, b.gamma_star_)
    with pytest.raises(InputError, match="ddof must be 0"):
        ComBat(info=info, batch_column="batch", ddof=2).fit(X, y)


# ---------------------------------------------------------------------------------------------
# linear (limma-style) batch removal
# ---------------------------------------------------------------------------------------------


def test_linear_batch_removes_planted_additive_shift_exactly():
    rng = np.random.default_rng(5)
    X, info, y, truth = batch_frame(seed=5)
    effect = pd.Series(np.where(y == "case", 1.0, 0.0), index=y.index)
    truth = truth.add(effect, axis=0)  # an outcome effect on every feature
    shifts = rng.normal(0, 2, (3, X.shape[1]))
    b = info["batch"].map({"b1": 0, "b2": 1, "b3": 2}).to_numpy()
    X = truth + shifts[b]
    lb = LinearBatch(info=info, batch_column="batch")
    out = lb.fit_transform(X, y)
    # the fitted batch terms are gone: refitting finds none left
    assert np.abs(LinearBatch(info=info, batch_column="batch").fit(out, y).effects_).max() < 1e-8
    # what was removed is a constant per batch and feature (no sample-level distortion), close to the planted shift
    resid = out - truth
    assert float(resid.groupby(info["batch"]).std().max().max()) < 1e-8
    removed = (X - out).groupby(info["batch"]).mean().to_numpy()
    assert np.corrcoef(removed.ravel(), (shifts - shifts.mean(0)).ravel())[0, 1] > 0.97
    # the outcome effect is protected: every batch holds as many cases as controls, so the case-control
    # difference of every feature is exactly what it was
    diff = lambda M: (M[y == "case"].mean() - M[y == "control"].mean()).to_numpy()  # noqa: E731
    np.testing.assert_allclose(diff(out), diff(X), atol=1e-10)
    assert float(diff(out).mean()) == pytest.approx(1.0, abs=0.1)
    # held-out samples of known batches get the stored batch terms
    lb2 = LinearBatch(info=info, batch_column="batch").fit(X.iloc[:45], y.iloc[:45])
    held = lb2.transform(X.iloc[45:])
    hb = info["batch"].iloc[45:]
    assert float((held - X.iloc[45:]).groupby(hb).std().max().max()) < 1e-10  # one term per batch and feature
    assert held.groupby(hb).mean().std().median() < 0.3 * X.iloc[45:].groupby(hb).mean().std().median()
    one = pd.concat([lb2.transform(X.iloc[[i]]) for i in range(45, 50)])
    np.testing.assert_allclose(one.to_numpy(), lb2.transform(X.iloc[45:50]).to_numpy())


def test_linear_batch_reference_and_unseen_batches():
    X, info, y, _ = batch_frame(seed=6)
    out = LinearBatch(info=info, batch_column="batch", ref_batch="b1").fit_transform(X, y)
    ref = (info["batch"] == "b1").to_numpy()
    np.testing.assert_allclose(out[ref].to_numpy(), X[ref].to_numpy(), atol=1e-12)
    info2 = info.copy()
    info2.loc["S000", "batch"] = "new"
    lb = LinearBatch(info=info2, batch_column="batch").fit(X.iloc[1:], y.iloc[1:])
    with pytest.raises(InputError, match="sample 'S000' belongs to batch 'new'"):
        lb.transform(X.iloc[:1])
    lb = LinearBatch(info=info2, batch_column="batch", ref_batch="b1", unseen_batch="reference").fit(
        X.iloc[1:], y.iloc[1:]
    )
    np.testing.assert_array_equal(lb.transform(X.iloc[:1]).to_numpy(), X.iloc[:1].to_numpy())


# ---------------------------------------------------------------------------------------------
# confounding guard
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [ComBat, LinearBatch])
def test_confounding_guard_stops_unless_allowed(cls):
    X, info, y, _ = batch_frame(seed=7, n=90)
    b = info["batch"]
    # 90% of b1 are cases, b2/b3 mostly controls: Cramér's V ~ 0.85
    rng = np.random.default_rng(7)
    y2 = pd.Series(
        np.where(
            b == "b1",
            np.where(rng.random(len(b)) < 0.95, "case", "control"),
            np.where(rng.random(len(b)) < 0.05, "case", "control"),
        ),
        index=b.index,
    )
    with pytest.raises(InputError, match=r"confounded in the training samples \(cramers v = 0\.\d\d > 0\.8"):
        cls(info=info, batch_column="batch").fit(X, y2)
    fitted = cls(info=info, batch_column="batch", allow_confounded=True).fit(X, y2)
    assert fitted.confounding_["value"] > 0.8
    # a batch that holds one outcome level only
    y3 = y.copy()
    y3[b == "b3"] = "case"
    with pytest.raises(InputError, match="batch 'b3' holds only outcome 'case'"):
        cls(info=info, batch_column="batch", max_association=0.99).fit(X, y3)
    # balanced designs pass and record the association
    assert cls(info=info, batch_column="batch").fit(X, y).confounding_["value"] < 0.2


def test_confounding_guard_for_continuous_outcome():
    batch = pd.Series(np.repeat(["a", "b"], 20))
    y = pd.Series(np.r_[np.linspace(0, 1, 20), np.linspace(5, 6, 20)])
    with pytest.raises(InputError, match="correlation ratio"):
        check_batch_confounding(batch, y)
    assert check_batch_confounding(batch, pd.Series(np.tile(np.linspace(0, 1, 20), 2)))["value"] < 0.1


def test_layer_error_names_layer_and_step(cohort, info, outcome):
    settings = layer_settings("proteomics_intensity", {"batch": {"method": "combat", "ref_batch": "nope"}})
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="protein", seed=0
    )
    with pytest.raises(InputError, match=r"^layer 'protein', step batch: ComBat: reference batch 'nope'"):
        pp.fit(cohort.layers["protein"], outcome)


# ---------------------------------------------------------------------------------------------
# normalization by kind
# ---------------------------------------------------------------------------------------------


def test_quantile_normalizer_reference_from_training_samples():
    rng = np.random.default_rng(8)
    truth = rng.normal(8, 2, (30, 400))
    # each sample distorted by its own monotone transform (intensity-dependent bias)
    a = rng.uniform(0.7, 1.3, 30)[:, None]
    X = pd.DataFrame(a * truth + 0.05 * truth**2 * rng.uniform(0, 1, 30)[:, None], index=[f"S{i}" for i in range(30)])
    qn = QuantileNormalizer().fit(X.iloc[:20])
    tr = qn.transform(X.iloc[:20])
    # every complete training sample gets exactly the reference distribution
    for i in range(20):
        np.testing.assert_allclose(np.sort(tr.iloc[i].to_numpy()), qn.reference_, rtol=1e-12)
    # held-out samples use the training reference, alone or together
    te = qn.transform(X.iloc[20:])
    one = pd.concat([qn.transform(X.iloc[[i]]) for i in range(20, 30)])
    pd.testing.assert_frame_equal(one, te)
    # ranks within a sample are kept, so each sample keeps its truth's order
    for i in range(20, 30):
        assert stats.spearmanr(te.iloc[i - 20], truth[i]).statistic > 0.999
    # missing values stay missing, observed ones still map onto the reference range
    Xn = X.iloc[20:].mask(rng.random((10, 400)) < 0.2)
    out = qn.transform(Xn)
    assert out.isna().equals(Xn.isna())
    assert out.min().min() >= qn.reference_[0] - 1e-9 and out.max().max() <= qn.reference_[-1] + 1e-9


def test_vst_stabilizes_variance_of_counts():
    rng = np.random.default_rng(9)
    n, p = 40, 600
    mu = np.exp(rng.uniform(np.log(2), np.log(2000), p))
    alpha = 0.08 + 1.0 / mu  # planted trend: a0 = 0.08, a1 = 1 (on top of Poisson)
    r = 1 / alpha
    C = rng.negative_binomial(r, r / (r + mu), size=(n, p)).astype(float)
    X = pd.DataFrame(C, index=[f"S{i}" for i in range(n)])
    sf = np.ones(n)
    a0, a1 = fit_dispersion_trend(C / sf[:, None])
    assert a0 == pytest.approx(0.08, rel=0.3)
    cn = CountNormalizer(method="total", transformation="vst").fit(X)
    V = cn.transform(X)
    L = np.log2(C / cn.size_factors(X).to_numpy()[:, None] + 1)
    low, high = mu < 10, mu > 200
    # log2(x + 1) shrinks the variance of low counts; the VST keeps it near the asymptotic level
    ratio = lambda M: float(np.median(M.std(0)[low]) / np.median(M.std(0)[high]))  # noqa: E731
    assert abs(np.log(ratio(V.to_numpy()))) < abs(np.log(ratio(L)))
    # at high counts the VST is log2 of normalized counts
    q = C / cn.size_factors(X).to_numpy()[:, None]
    hi = q > 5000
    np.testing.assert_allclose(V.to_numpy()[hi], np.log2(q[hi]), atol=0.1)
    assert np.isfinite(vst(np.array([0.0]), a0, a1)).all()


def test_glog_lambda_from_replicate_injections():
    rng = np.random.default_rng(10)
    mean = np.exp(rng.uniform(np.log(10), np.log(1e5), 300))
    add_sd, cv = 200.0, 0.1
    qc = mean + rng.normal(0, add_sd, (12, 300)) + mean * rng.normal(0, cv, (12, 300))
    lam = glog_lambda(qc)
    assert lam == pytest.approx(add_sd**2 / cv**2, rel=0.5)
    g = glog2(np.array([1e6, 0.0]), lam)
    assert g[0] == pytest.approx(np.log2(1e6), abs=0.01) and np.isfinite(g[1])


def test_pqn_glog_chain(cohort, info):
    M = cohort.layers["metabolomics"]
    step = make_step(
        "normalize",
        {"method": "pqn", "transformation": "glog"},
        kind="metabolomics_intensity",
        info=info,
        batch_column="batch",
        covariates=(),
        log_scale=False,
        seed=0,
    )
    out = step.fit_transform(M)
    assert step.lambda_ >= 0
    lin = PQN(info=info).fit_transform(M)
    big = lin > lin.stack().quantile(0.5)
    np.testing.assert_allclose(out.to_numpy()[big.to_numpy()], lin.to_numpy()[big.to_numpy()], atol=0.05)
    with pytest.raises(InputError, match="unknown transformation 'ln'"):
        PQN(info=info, transformation="ln").fit(M)


def test_binary_and_mvalue_checks():
    X = pd.DataFrame({"TP53": [0, 1, 1, np.nan], "KRAS": [0, 0, 2, 1]}, index=list("abcd"), dtype=float)
    with pytest.raises(InputError, match=r"value 2\.0 for sample 'c', feature 'KRAS'"):
        BinaryCheck().fit(X)
    ok = X.replace(2.0, 1.0)
    pd.testing.assert_frame_equal(BinaryCheck().fit_transform(ok), ok)
    assert isinstance(
        make_step(
            "normalize",
            layer_settings("binary")["normalize"],
            kind="binary",
            info=None,
            batch_column="",
            covariates=(),
            log_scale=False,
            seed=0,
        ),
        BinaryCheck,
    )
    B = pd.DataFrame({"cg1": [0.0, 0.5, 1.0], "cg2": [0.2, 1.3, 0.1]}, index=list("abc"))
    with pytest.raises(InputError, match="beta value 1.3 outside"):
        MValue().fit_transform(B)
    m = MValue(offset=0.01).fit_transform(B.iloc[:, :1])
    assert np.isfinite(m.to_numpy()).all() and m.iloc[1, 0] == 0.0
    with pytest.raises(InputError, match="does not apply to kind 'binary'"):
        make_step(
            "normalize",
            {"method": "quantile"},
            kind="binary",
            info=None,
            batch_column="",
            covariates=(),
            log_scale=False,
            seed=0,
        )


def test_scaler_unit_variance_and_pareto():
    X = pd.DataFrame(np.random.default_rng(0).normal(5, 3, (50, 4)))
    uv = Scaler("unit_variance").fit_transform(X)
    np.testing.assert_allclose(uv.std().to_numpy(), 1.0)
    par = Scaler("pareto").fit_transform(X)
    np.testing.assert_allclose(par.std().to_numpy(), np.sqrt(X.std().to_numpy()))


# ---------------------------------------------------------------------------------------------
# filters
# ---------------------------------------------------------------------------------------------


def test_filter_observed_in_any_group_keeps_condition_specific_features():
    idx = [f"S{i}" for i in range(12)]
    y = pd.Series(np.repeat(["ctrl", "treat"], 6), index=idx)
    X = pd.DataFrame(
        np.random.default_rng(1).normal(20, 1, (12, 3)), index=idx, columns=["both", "treat_only", "sparse"]
    )
    X.loc[idx[:6], "treat_only"] = np.nan  # absent in controls, present in every treated sample
    X.loc[idx[::2], "sparse"] = np.nan  # half missing in both groups
    overall = FeatureFilter(min_observed=0.75).fit(X, y).features_
    grouped = FeatureFilter(min_observed=0.75, observed_in="any_group").fit(X, y).features_
    assert overall == ["both"]
    assert grouped == ["both", "treat_only"]


def test_filter_on_qc_rsd_and_detection(info):
    rng = np.random.default_rng(2)
    qc = info.index[info["sample_type"] == "qc"]
    samples = info.index[info["sample_type"] == "sample"][:40]
    idx = list(samples) + list(qc)
    X = pd.DataFrame(rng.normal(15, 1, (len(idx), 4)), index=idx, columns=["stable", "noisy", "rare", "ok"])
    X.loc[qc, ["stable", "rare", "ok"]] = 15 + rng.normal(0, 0.05, (len(qc), 3))  # ~3.5% RSD
    X.loc[qc, "noisy"] = 15 + rng.normal(0, 0.6, len(qc))  # ~40% RSD
    X.loc[qc[: len(qc) // 2 + 1], "rare"] = np.nan  # detected in fewer than half the QCs
    ff = FeatureFilter(min_observed=0.5, qc_rsd_max=20.0, qc_min_detection=0.5, info=info)
    assert ff.uses_qc
    ff.fit(X)
    assert ff.features_ == ["stable", "ok"]
    assert ff.removed_ == {"observed": 0, "variance": 0, "qc_detection": 1, "qc_rsd": 1}
    # QC injections do not count in the cohort's missingness
    X2 = X.copy()
    X2.loc[qc, "ok"] = np.nan
    assert "ok" in FeatureFilter(min_observed=0.5, info=info).fit(X2).features_
    with pytest.raises(InputError, match="need at least 3"):
        ff.fit(X.loc[list(samples) + list(qc[:2])])


# ---------------------------------------------------------------------------------------------
# QC-RLSC smoothers
# ---------------------------------------------------------------------------------------------


def test_vectorised_lowess_equals_statsmodels():
    from statsmodels.nonparametric.smoothers_lowess import lowess

    rng = np.random.default_rng(3)
    for n, frac in ((4, 0.8), (7, 0.8), (15, 0.5)):
        x = np.sort(rng.choice(300, n, replace=False)).astype(float)
        Y = rng.normal(size=(n, 20)) + 0.01 * x[:, None]
        Y[0, 3] += 8  # an outlier for the robustifying iteration
        ours = lowess_columns(x, Y, frac=frac, it=1)
        ref = np.column_stack([lowess(Y[:, j], x, frac=frac, it=1, return_sorted=True)[:, 1] for j in range(20)])
        np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_qcrlsc_spline_smoother_reduces_qc_rsd(cohort, info):
    L = PQN(info=info).fit_transform(cohort.layers["metabolomics"])
    q = QCRLSC(info=info, batch_column="batch", smoother="spline").fit(L)
    assert q.qc_rsd_after_ < q.qc_rsd_before_ / 2
    assert set(q.smoother_by_batch_.values()) <= {"spline", "lowess"}
    with pytest.raises(InputError, match="unknown smoother"):
        QCRLSC(info=info, batch_column="batch", smoother="loess2").fit(L)


# ---------------------------------------------------------------------------------------------
# imputation
# ---------------------------------------------------------------------------------------------


def test_fast_knn_equals_sklearn_knnimputer():
    from sklearn.impute import KNNImputer

    rng = np.random.default_rng(4)
    V = rng.normal(size=(80, 6)) @ rng.normal(size=(6, 120)) + rng.normal(0, 0.3, (80, 120))
    V[rng.random(V.shape) < 0.15] = np.nan
    V[3, :110] = np.nan  # a sample with few observed values
    V[:, 7] = np.nan  # a feature never observed
    X = pd.DataFrame(V)
    for weights in ("uniform", "distance"):
        ours = KNNImpute(k=5, weights=weights).fit_transform(X).to_numpy()
        ref = KNNImputer(n_neighbors=5, weights=weights, keep_empty_features=True).fit_transform(V)
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
        held = KNNImpute(k=5, weights=weights).fit(X.iloc[:60]).transform(X.iloc[60:]).to_numpy()
        ref = KNNImputer(n_neighbors=5, weights=weights, keep_empty_features=True).fit(V[:60]).transform(V[60:])
        np.testing.assert_allclose(held, ref, rtol=1e-10, atol=1e-10)


def test_qrilc_recovers_left_censored_tail():
    rng = np.random.default_rng(5)
    idx = [f"S{i}" for i in range(20)]
    truth = pd.DataFrame(rng.normal(20, 2, (20, 400)), index=idx)
    limit = truth.quantile(0.2, axis=1)  # each sample censored at its own 20% quantile
    Xm = truth.mask(truth.lt(limit, axis=0))
    imp = QRILCImpute(seed=1).fit(Xm)
    # the fitted normal of each sample is the planted one
    mu, sd, pi = imp._params(Xm.iloc[0].to_numpy())
    assert mu == pytest.approx(20, abs=0.4) and sd == pytest.approx(2, rel=0.15) and pi == pytest.approx(0.2, abs=1e-9)
    out = imp.transform(Xm)
    mask = Xm.isna().to_numpy()
    drawn = out.to_numpy()[mask]
    assert (drawn <= np.repeat(limit.to_numpy()[:, None], 400, 1)[mask] + 0.5).mean() > 0.95
    assert moflow_nrmse(out, truth, mask) < 0.6 * moflow_nrmse(MeanImpute().fit_transform(Xm), truth, mask)
    # seeded by sample ID: order and company do not matter
    pd.testing.assert_frame_equal(imp.transform(Xm.iloc[::-1]).loc[Xm.index], out)


def test_iterative_imputer_uses_correlated_features(protein_observed):
    X = protein_observed
    obs = X.notna().to_numpy()
    mask = obs & (np.random.default_rng(6).random(X.shape) < 0.1)
    Xm = X.mask(mask)
    it = IterativeImpute(n_nearest_features=20, max_iter=3, seed=0).fit(Xm.iloc[:70])
    full = it.transform(Xm)
    assert moflow_nrmse(full, X, mask) < 0.85 * moflow_nrmse(MeanImpute().fit(Xm.iloc[:70]).transform(Xm), X, mask)
    one = pd.concat([it.transform(Xm.iloc[[i]]) for i in range(70, 75)])
    np.testing.assert_allclose(one.to_numpy(), full.iloc[70:75].to_numpy(), rtol=1e-9)


def censored_and_random(seed=7, n=60, p=200):
    """Correlated features; the first half left-censored at a feature-level limit, the rest missing at random."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i}" for i in range(n)]
    Z = rng.normal(size=(n, 3))
    V = 20 + Z @ rng.normal(0, 1.2, (3, p)) + rng.normal(0, 0.4, (n, p))
    truth = pd.DataFrame(V, index=idx, columns=[f"f{j}" for j in range(p)])
    miss = np.zeros_like(V, dtype=bool)
    half = p // 2
    limit = np.quantile(V[:, :half], 0.25, axis=0)
    miss[:, :half] = V[:, :half] < limit
    miss[:, half:] = rng.random((n, p - half)) < 0.25
    return truth, truth.mask(miss), half


def test_mixed_imputation_calls_censored_features_mnar():
    truth, Xm, half = censored_and_random()
    mx = MixedImpute(mnar="minprob", mar="knn", k=5, seed=0).fit(Xm)
    called = np.isin(Xm.columns, mx.mnar_features_)
    assert called[:half].mean() > 0.8 and called[half:].mean() < 0.2
    assert set(mx.decisions_["mechanism"]) <= {"MNAR", "MAR", "complete"}
    out = mx.transform(Xm)
    mask = Xm.isna().to_numpy()
    assert not out.isna().to_numpy().any()
    assert moflow_nrmse(out, truth, mask) < moflow_nrmse(MeanImpute().fit_transform(Xm), truth, mask)
    # a feature absent in a whole outcome group is MNAR by the group rule
    y = pd.Series(np.repeat(["a", "b"], 30), index=Xm.index)
    Xg = Xm.copy()
    Xg.iloc[:30, -1] = np.nan
    assert Xg.columns[-1] in MixedImpute(k=5, seed=0).fit(Xg, y).mnar_features_


def test_missingness_model_recovers_planted_censoring():
    rng = np.random.default_rng(8)
    V = rng.normal(0, 0.5, (40, 600)) + rng.normal(22, 2, 600)
    T, s = 21.0, 0.5
    miss = rng.random(V.shape) < stats.norm.cdf((T - V) / s)
    m = missingness_model(pd.DataFrame(np.where(miss, np.nan, V)))
    assert m["threshold"] == pytest.approx(T, abs=0.3) and m["spread"] == pytest.approx(s, rel=0.35)
    assert not m["at_random"]
    mar = np.where(rng.random(V.shape) < 0.2, np.nan, V)
    assert missingness_model(pd.DataFrame(mar))["at_random"]


def test_pattern_mask_follows_the_layer():
    truth, Xm, half = censored_and_random(seed=9)
    mask = pattern_mask(Xm, fraction=0.1, seed=0)
    obs = Xm.notna().to_numpy()
    assert mask.sum() / obs.sum() == pytest.approx(0.1, abs=0.03)
    assert not (mask & ~obs).any()
    assert (obs.sum(0) - mask.sum(0) >= 2).all()
    # left-censored layer: hidden values are low ones
    V = Xm.to_numpy()
    assert np.median(V[mask]) < np.nanmedian(V) - 0.3
    # a layer missing at random: hidden values are typical ones
    rng = np.random.default_rng(1)
    R = pd.DataFrame(rng.normal(0, 1, (50, 300)) + rng.normal(0, 2, 300)).mask(rng.random((50, 300)) < 0.2)
    assert missingness_model(R)["at_random"]
    mr = pattern_mask(R, fraction=0.1, seed=0)
    assert mr.sum() / R.notna().to_numpy().sum() == pytest.approx(0.1, abs=0.03)
    assert abs(np.median(R.to_numpy()[mr]) - np.nanmedian(R.to_numpy())) < 0.25
    np.testing.assert_array_equal(mr, pattern_mask(R, fraction=0.1, seed=0))


def test_auto_imputation_picks_by_nrmse_and_reports_the_table():
    truth, Xm, half = censored_and_random(seed=10)
    auto = AutoImpute(candidates=("halfmin", "minprob", "knn"), k=5, seed=0).fit(Xm)
    t = auto.scores_
    assert list(t["method"]) == ["halfmin", "minprob", "knn", "mean"]
    assert t.loc[t["method"] == "mean", "ratio_to_mean"].iloc[0] == 1.0
    assert t["chosen"].sum() == 1 and t.loc[t["chosen"], "nrmse"].iloc[0] == t["nrmse"].min()
    assert auto.chosen_ != "mean"
    # the chosen method, refit on all training values, imputes new samples
    out = auto.transform(Xm)
    assert not out.isna().to_numpy().any()
    # on data missing at random with correlated features, kNN wins
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(60, 3)) @ rng.normal(size=(3, 150)) + rng.normal(0, 0.3, (60, 150))
    R = pd.DataFrame(Z).mask(rng.random(Z.shape) < 0.15)
    assert AutoImpute(candidates=("halfmin", "minprob", "knn"), k=5, seed=0).fit(R).chosen_ == "knn"
    with pytest.raises(InputError, match="unknown candidate"):
        AutoImpute(candidates=("magic",), seed=0).fit(Xm)
    t2 = score_imputers(Xm, None, {"knn": KNNImpute(k=5)}, seed=0)
    assert set(t2["method"]) == {"knn", "mean"}


def test_make_step_impute_options_are_checked():
    with pytest.raises(InputError, match=r"impute minprob: unknown option\(s\) \['k'\]"):
        make_step(
            "impute",
            {"method": "minprob", "k": 3},
            kind="proteomics_intensity",
            info=None,
            batch_column="",
            covariates=(),
            log_scale=True,
            seed=0,
        )
    with pytest.raises(InputError, match="unknown method 'magic'"):
        make_step(
            "impute",
            {"method": "magic"},
            kind="continuous",
            info=None,
            batch_column="",
            covariates=(),
            log_scale=False,
            seed=0,
        )
    step = make_step(
        "impute",
        {"method": "qrilc"},
        kind="proteomics_intensity",
        info=None,
        batch_column="",
        covariates=(),
        log_scale=True,
        seed=5,
    )
    assert isinstance(step, QRILCImpute) and step.seed == 5


@pytest.mark.parametrize("method", ["qrilc", "mixed", "auto", "iterative"])
def test_new_imputers_in_the_chain_train_test(cohort, info, outcome, fold_ids, method):
    train, test = fold_ids
    X = cohort.layers["protein"]
    opts = {"method": method, **({"n_nearest_features": 10, "max_iter": 2} if method == "iterative" else {})}
    settings = layer_settings("proteomics_intensity", {"impute": opts})
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="protein", seed=0
    )
    tr = pp.fit_transform(X.loc[train], outcome.loc[train])
    te = pp.transform(X.loc[test])
    assert not tr.isna().to_numpy().any() and not te.isna().to_numpy().any()
    one = pd.concat([pp.transform(X.loc[[s]]) for s in test[:3]])
    np.testing.assert_allclose(one.to_numpy(), te.iloc[:3].to_numpy(), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# (i) issue 11: run-order drift without QC injections, nothing skipped silently, imputation
#     before batch correction, the proteomics imputation default
# ---------------------------------------------------------------------------------------------


def drift_layer(seed: int = 0, n: int = 96, p: int = 120, missing: float = 0.1, effect: float = 1.0):
    """Study samples only (no QC injections), 3 batches run one after the other, each feature drifting
    over its batch's run (a linear and a curved part, different per batch), an outcome effect on
    features 0-14 (outcome unrelated to run order), cells missing at random. Returns (X, drift-free
    values, sample sheet, outcome)."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i:03d}" for i in range(n)]
    b = np.repeat([0, 1, 2], n // 3)
    pos = np.tile(np.linspace(0, 1, n // 3), 3)
    slope = rng.normal(0, 1.0, (3, p))[b]
    curve = rng.normal(0, 0.6, (3, p))[b]
    drift = pos[:, None] * slope + np.sin(3 * pos)[:, None] * curve
    case = rng.permutation(np.arange(n) % 2 == 0)
    clean = 20 + rng.normal(0, 1.5, p) + rng.normal(0, 0.3, (n, p)) + effect * case[:, None] * (np.arange(p) < 15)
    V = clean + drift
    V[rng.random(V.shape) < missing] = np.nan
    info = pd.DataFrame(
        {
            "sample": idx,
            "sample_type": "sample",
            "batch": np.array(["b1", "b2", "b3"])[b],
            "injection_order": np.arange(1, n + 1),
        },
        index=idx,
    )
    cols = [f"f{j:03d}" for j in range(p)]
    y = pd.Series(np.where(case, "case", "control"), index=idx)
    return pd.DataFrame(V, index=idx, columns=cols), pd.DataFrame(clean, index=idx, columns=cols), info, y


def test_run_order_correlation_measures_drift():
    X, clean, info, _ = drift_layer(missing=0.0)
    drifted = run_order_correlation(X, info, "batch")
    noise = run_order_correlation(clean, info, "batch")
    assert drifted > 0.4 and noise < 0.15  # noise: about 0.8 / sqrt(32)
    # a feature rising over every batch's run has |r| = 1; without the batch column the runs pool
    rising = pd.DataFrame({"a": info["injection_order"].astype(float)})
    assert run_order_correlation(rising, info, "batch") == pytest.approx(1.0)
    assert np.isnan(run_order_correlation(X, info.drop(columns="injection_order"), "batch"))


def test_masked_lowess_fits_through_missing_cells():
    rng = np.random.default_rng(3)
    x = np.arange(60.0)
    trend = np.sin(x / 20)
    Y = trend[:, None] + rng.normal(0, 0.1, (60, 4))
    M = rng.random(Y.shape) > 0.25
    fit = lowess_columns(x, np.where(M, Y, np.nan), frac=0.4, it=3, mask=M)
    full = lowess_columns(x, Y, frac=0.4, it=3)
    assert np.isfinite(fit).all()  # the hidden cells get fitted values too
    assert np.abs(fit - trend[:, None]).max() < 0.15
    assert np.abs(fit - full).max() < 0.1  # about the fit with every cell observed
    # an all-True mask is the unmasked (statsmodels-equal) fit exactly
    np.testing.assert_array_equal(lowess_columns(x, Y, frac=0.4, it=3, mask=np.ones_like(M)), full)


@pytest.mark.parametrize("smoother", ["lowess", "spline"])
def test_sample_lowess_removes_run_order_drift(smoother):
    X, clean, info, y = drift_layer()
    step = SampleDrift(info=info, batch_column="batch", smoother=smoother).fit(X, y)
    out = step.transform(X)
    assert step.order_correlation_before_ > 0.4
    assert step.order_correlation_after_ < 0.15
    assert step.order_correlation_after_ == pytest.approx(run_order_correlation(out, info, "batch"))

    # closer to the drift-free values (each batch's level aside: level 'batch' keeps it)
    def err(M):
        D = (M - clean).groupby(info["batch"]).transform(lambda c: c - c.median())
        return float(np.nanmean(np.abs(D.to_numpy())))

    assert err(out) < 0.4 * err(X)

    # the outcome effect within batches (outcome unrelated to run order) comes back towards the drift-free one
    def t_within(M):
        return mean_abs_t(M.groupby(info["batch"]).transform(lambda c: c - c.median()), y, X.columns[:15])

    assert t_within(out) > t_within(X) and t_within(out) > 0.85 * t_within(clean)
    assert out.isna().equals(X.isna())


def test_sample_lowess_is_an_estimator_fit_on_training_rows():
    """Contract of tests/unit/test_estimator_contract.py for SampleDrift: transforming held-out rows
    (clean, then poisoned) never changes what was learnt, a held-out row comes out the same alone or
    with others, the training rows transform as before, and a refit of a clone learns the same."""
    from sklearn.base import clone

    X, clean, info, y = drift_layer(seed=1)
    held = X.index[5::6]
    train = X.index.difference(held)
    step = SampleDrift(info=info, batch_column="batch", level="overall")
    step.fit(X.loc[train], y.loc[train])
    state = copy.deepcopy(vars(step))
    train_out = step.transform(X.loc[train])
    held_out = step.transform(X.loc[held])
    poisoned = (X.loc[held] * 3 + 50).mask(np.random.default_rng(0).random((len(held), X.shape[1])) < 0.3)
    step.transform(poisoned)

    def same_state(a, b):
        assert list(a) == list(b)
        for k in a:
            if isinstance(a[k], dict):
                for kk in a[k]:
                    va, vb = a[k][kk], b[k][kk]
                    for u, v in zip(va if isinstance(va, tuple) else (va,), vb if isinstance(vb, tuple) else (vb,)):
                        np.testing.assert_array_equal(np.asarray(u), np.asarray(v), err_msg=f"{k}[{kk}]")
            elif isinstance(a[k], pd.DataFrame):
                pd.testing.assert_frame_equal(a[k], b[k])
            else:
                assert a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]), k

    same_state(vars(step), state)
    pd.testing.assert_frame_equal(step.transform(X.loc[train]), train_out)
    for s in held[:4]:
        pd.testing.assert_frame_equal(step.transform(X.loc[[s]]), held_out.loc[[s]])
        mixed = step.transform(pd.concat([X.loc[[s]], poisoned.drop(index=s)]))
        pd.testing.assert_frame_equal(mixed.loc[[s]], held_out.loc[[s]])

    # held-out samples are corrected too: closer to their drift-free values
    def err(M):
        D = (M - clean.loc[M.index]).groupby(info.loc[M.index, "batch"]).transform(lambda c: c - c.median())
        return float(np.nanmean(np.abs(D.to_numpy())))

    assert err(held_out) < 0.5 * err(X.loc[held])
    # a refit of a clone learns the same; the held-out rows' sheet entries play no part
    again = clone(step).set_params(info=info.loc[train]).fit(X.loc[train], y.loc[train])
    for b in step.curves_:
        np.testing.assert_array_equal(again.curves_[b][1], step.curves_[b][1])
        np.testing.assert_array_equal(again.levels_[b], step.levels_[b])


def test_sample_lowess_input_errors():
    X, _, info, y = drift_layer()
    with pytest.raises(InputError, match="no 'injection_order' column"):
        SampleDrift(info=info.drop(columns="injection_order"), batch_column="batch").fit(X)
    bad = info.astype({"injection_order": object})
    bad.loc["S007", "injection_order"] = "NA"
    with pytest.raises(InputError, match="sample 'S007' has no numeric injection_order"):
        SampleDrift(info=bad, batch_column="batch").fit(X)
    step = SampleDrift(info=info, batch_column="batch").fit(X.loc[info["batch"] != "b3"])
    with pytest.raises(InputError, match="batch 'b3' has no training samples"):
        step.transform(X.loc[info["batch"] == "b3"])
    with pytest.raises(InputError, match="batch 'b1' has 4 training sample"):
        SampleDrift(info=info, batch_column="batch").fit(X.iloc[list(range(4)) + list(range(32, 96))])
    with pytest.raises(InputError, match="reference_column 'plate' is not a column"):
        SampleDrift(info=info, reference_column="plate", reference_value="x").fit(X)


def test_sample_lowess_fits_on_reference_samples_only():
    X, _, info, y = drift_layer()
    sheet = info.assign(group=y)
    ref = SampleDrift(info=sheet, batch_column="batch", reference_column="group", reference_value="control").fit(X, y)
    assert sum(ref.n_fit_.values()) == int((y == "control").sum())
    # the cases, not fit on, lose their drift too
    cases = X.index[y == "case"]
    before = run_order_correlation(X.loc[cases], info, "batch")
    assert run_order_correlation(ref.transform(X.loc[cases]), info, "batch") < 0.6 * before


def test_rlsc_on_a_layer_without_qc_injections_stops_and_offers_sample_lowess():
    X, _, info, y = drift_layer()
    settings = layer_settings(
        "metabolomics_intensity", {"normalize": {"method": "none"}, "qc_drift": {"method": "rlsc"}}
    )
    pp = LayerPreprocessor(
        "metabolomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="metab", seed=0
    )
    with pytest.raises(InputError, match=r"layer 'metab', step qc_drift: .*no.*|.*0 found.*sample_lowess"):
        pp.fit(X, y)
    with pytest.raises(InputError, match="sample_lowess"):
        pp.fit(X, y)


def test_metabolomics_default_drift_is_auto_and_says_what_it_did(cohort, info, outcome):
    X, _, sheet, y = drift_layer()
    pp = LayerPreprocessor(
        "metabolomics_intensity",
        layer_settings("metabolomics_intensity"),
        info=sheet,
        batch_column="batch",
        log_scale=True,
        layer="metab",
        seed=0,
    )
    pp.fit(np.power(2.0, X), y)
    steps = pd.DataFrame(pp.history_).set_index("step")
    assert pp.named_step("qc_drift").chosen_ == "none"
    summary = steps.loc["qc_drift", "summary"]
    assert "no QC injections" in summary and "sample_lowess" in summary and "(not corrected; " in summary
    assert "with the run order shuffled" in summary
    # with QC injections: QC-RLSC, and its summary has the run-order association of the study samples
    pp = make_preprocessors(info)["metabolomics"]
    pp.fit(cohort.layers["metabolomics"], outcome)
    summary = pd.DataFrame(pp.history_).set_index("step").loc["qc_drift", "summary"]
    assert summary.startswith("auto: rlsc (") and "QC median RSD" in summary and "|Spearman r|" in summary
    drift = pp.named_step("qc_drift").step_
    assert drift.order_correlation_after_ < drift.order_correlation_before_


def test_sample_lowess_in_the_chain_reports_the_drift(cohort, info, outcome):
    X, _, sheet, y = drift_layer()
    settings = layer_settings("proteomics_intensity", {"qc_drift": {"method": "sample_lowess", "frac": 0.6}})
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=sheet, batch_column="batch", log_scale=True, layer="prot", seed=0
    )
    _, trace = pp.fit_trace(X, y)
    assert list(trace) == ["normalize", "qc_drift", "filter", "impute", "batch", "scale"]
    summary = pd.DataFrame(pp.history_).set_index("step").loc["qc_drift", "summary"]
    assert summary.startswith("trend fit on 96 training sample(s) in 3 batch(es)")
    step = pp.named_step("qc_drift")
    assert f"{step.order_correlation_before_:.2f} -> {step.order_correlation_after_:.2f}" in summary
    with pytest.raises(InputError, match=r"qc_drift sample_lowess: unknown option\(s\) \['min_qc'\]"):
        make_step(
            "qc_drift",
            {"method": "sample_lowess", "min_qc": 3},
            kind="proteomics_intensity",
            info=sheet,
            batch_column="batch",
            covariates=(),
            log_scale=True,
            seed=0,
        )


def test_steps_table_says_why_a_step_did_nothing(cohort, info, outcome):
    settings = layer_settings("proteomics_intensity")
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=info, batch_column="", log_scale=True, layer="protein", seed=0
    )
    pp.fit(cohort.layers["protein"], outcome)
    steps = pd.DataFrame(pp.history_).set_index("step")
    assert "no batch column" in steps.loc["batch", "summary"]
    assert steps.loc["impute", "summary"].startswith("chose ")
    assert "mean imputation" in steps.loc["impute", "summary"]


def test_proteomics_default_imputation_is_auto_with_mean_as_the_floor(protein_observed):
    opts = layer_settings("proteomics_intensity")["impute"]
    step = make_step(
        "impute", opts, kind="proteomics_intensity", info=None, batch_column="", covariates=(), log_scale=True, seed=0
    )
    assert isinstance(step, AutoImpute) and "mean" in step.candidates
    # on the simulated layer, out of sample: chosen on a mask of its own, scored on another one
    X = protein_observed
    mask = pattern_mask(X, fraction=0.1, seed=5)
    Xm = X.mask(mask)
    auto = nrmse(step.fit(Xm).transform(Xm), X, mask)
    mean = nrmse(MeanImpute().fit_transform(Xm), X, mask)
    assert auto <= mean


def censored_batches(seed: int = 0, n: int = 90, p: int = 300):
    """Log2 intensities in 3 batches with per-feature shifts and batch b3 1 log2 unit lower, an outcome
    effect on features 0-29, left-censored by one detection limit (b3 loses about 28% of its values,
    the others 16%)."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i:03d}" for i in range(n)]
    b = np.arange(n) % 3
    case = rng.random(n) < 0.5
    V = (
        rng.normal(24, 2, p)
        + rng.normal(0, 0.8, (3, p))[b]
        + np.array([0.0, 0.0, -1.0])[b][:, None]
        + rng.normal(0, 0.5, (n, p))
    )
    V[:, :30] += 1.0 * case[:, None]
    V = np.where(V < np.quantile(V, 0.2) + rng.normal(0, 0.5, V.shape), np.nan, V)
    info = pd.DataFrame(
        {
            "sample": idx,
            "sample_type": "sample",
            "batch": np.array(["b1", "b2", "b3"])[b],
            "injection_order": np.arange(1, n + 1),
        },
        index=idx,
    )
    return (
        pd.DataFrame(V, index=idx, columns=[f"f{j:03d}" for j in range(p)]),
        info,
        pd.Series(np.where(case, "case", "control"), index=idx),
    )


@pytest.mark.parametrize("impute", ["minprob", "halfmin", "default"])
def test_imputation_does_not_bring_back_batch_structure(impute):
    """Imputation runs before batch correction (STEP_ORDER): the batch silhouette after the whole chain is
    not above the one right after batch correction. In the old order (batch correction, then
    imputation) left-censored imputers brought the batch structure back (measured: -0.04 -> 0.29 with
    minprob; bench/results/impute_batch_order.md)."""
    from moflow.preprocess import step_diagnostics

    X, info, y = censored_batches()
    assert X.isna().groupby(info["batch"]).mean().mean(axis=1)["b3"] > 0.25
    overrides = {} if impute == "default" else {"impute": {"method": impute}}

    def run(order=None):
        settings = layer_settings("proteomics_intensity", overrides)
        if order:
            settings["order"] = order
        pp = LayerPreprocessor(
            "proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="protein", seed=0
        )
        _, trace = pp.fit_trace(X, y)
        return step_diagnostics(trace, batch=info["batch"], outcome=y)[0].set_index("stage")

    new = run()
    assert list(new.index) == ["after_normalize", "after_filter", "after_impute", "after_batch", "after_scale"]
    assert new.loc["after_filter", "silhouette_batch"] > 0.5  # strong batch structure before correction
    assert new.loc["after_batch", "silhouette_batch"] < 0.0
    assert new.loc["after_scale", "silhouette_batch"] <= new.loc["after_batch", "silhouette_batch"] + 0.02
    old = run(["normalize", "filter", "batch", "impute", "scale"])
    if impute != "default":  # the left-censored imputers after batch correction: the structure came back
        assert old.loc["after_impute", "silhouette_batch"] > old.loc["after_batch", "silhouette_batch"] + 0.1
        assert new.loc["after_scale", "silhouette_outcome"] > old.loc["after_scale", "silhouette_outcome"]
    assert new.loc["after_scale", "silhouette_batch"] <= old.loc["after_scale", "silhouette_batch"] + 0.02


def test_mar_imputers_run_within_batch_and_left_censored_ones_do_not():
    from moflow.preprocess import WithinBatch

    X, info, y = censored_batches(seed=3)
    kw = dict(info=info, batch_column="batch")
    for method in ("knn", "iterative", "mean"):
        est = make_imputer(method, {}, seed=0, **kw)
        assert isinstance(est, WithinBatch) and est.batch_column == "batch"
    for method in ("halfmin", "minprob", "qrilc"):
        assert not isinstance(make_imputer(method, {}, seed=0, **kw), WithinBatch)
    assert make_imputer("mixed", {}, seed=0, **kw).batch_column == "batch"
    assert make_imputer("auto", {}, seed=0, **kw).batch_column == "batch"
    assert not isinstance(make_imputer("knn", {}, seed=0), WithinBatch)  # no batch: pooled, as before
    # mean within batch: each batch's own observed mean, observed cells untouched
    out = make_imputer("mean", {}, **kw).fit(X).transform(X)
    V, Imp = X.to_numpy(), out.to_numpy()
    obs = np.isfinite(V)
    np.testing.assert_array_equal(Imp[obs], V[obs])
    enough = np.all([obs[(info["batch"] == b).to_numpy()].sum(0) >= 2 for b in ("b1", "b2", "b3")], axis=0)
    for b in ("b1", "b3"):
        sel = (info["batch"] == b).to_numpy()
        miss = ~obs[sel]
        j = int(np.flatnonzero(miss.any(0) & enough)[0])
        np.testing.assert_allclose(Imp[sel][miss[:, j], j], np.nanmean(V[sel, j]))


def test_within_batch_imputer_learns_from_training_rows_only():
    from moflow.preprocess import WithinBatch

    X, info, y = censored_batches(seed=4)
    train, held = X.index[:70], X.index[70:]
    est = WithinBatch(KNNImpute(k=5), info=info, batch_column="batch").fit(X.loc[train])
    offsets = copy.deepcopy(est.offsets_)
    ref = est.transform(X.loc[held])
    est.transform(X.loc[held] * 3 + 40)  # poisoned held-out rows
    for b in offsets:
        np.testing.assert_array_equal(est.offsets_[b], offsets[b])
    one = pd.concat([est.transform(X.loc[[s]]) for s in held[:5]])
    pd.testing.assert_frame_equal(one, ref.iloc[:5])
    # a batch without training samples: offset 0, the pooled scale
    sheet = info.copy()
    sheet.loc[held, "batch"] = "b9"
    est9 = WithinBatch(KNNImpute(k=5), info=sheet, batch_column="batch").fit(X.loc[train])
    pooled = KNNImpute(k=5).fit(X.loc[train] - est9._offsets(train))
    pd.testing.assert_frame_equal(est9.transform(X.loc[held]), pooled.transform(X.loc[held]))
