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

from moflow.errors import InputError
from moflow.preprocess import (
    PQN,
    QCRLSC,
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
    layer_settings,
    make_step,
)
from unit_helpers import LAYER_KINDS, make_preprocessors

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def silhouette(X: pd.DataFrame, labels: pd.Series, k: int = 5) -> float:
    """Silhouette of ``labels`` on the top ``k`` PCs of the standardized matrix (missing -> 0)."""
    Z = (X - X.mean()) / X.std()
    E = PCA(k, random_state=0).fit_transform(Z.fillna(0.0).to_numpy())
    return float(silhouette_score(E, labels.loc[X.index].to_numpy()))


def planted_batch_data(seed: int = 0, n: int = 90, p: int = 200, batch_sd: float = 1.5, effect: float = 1.5,
                       case_rate_by_batch=(1 / 3, 1 / 3, 1 / 3)):
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
    return float(np.mean([abs(stats.ttest_ind(X[f][case], X[f][~case], nan_policy="omit").statistic)
                          for f in features]))


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
    from moflow.preprocess import _tmm_factor

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


def _left_censored_mask(X: pd.DataFrame, *, per_feature: bool, frac: float = 0.10, noise: float = 0.2,
                        seed: int = 0) -> np.ndarray:
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
    minprob = nrmse(MinProbImpute(q=0.01).fit_transform(Xm), X, mask)
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
    step = make_step("normalize", {"method": "pqn"}, kind="metabolomics_intensity", info=info, batch_column="batch",
                     covariates=(), log_scale=True, seed=0)
    logged = step.fit_transform(np.log2(M))
    # (medians of an even number of log ratios are not exactly logs of medians: allow 0.01)
    np.testing.assert_allclose(logged.to_numpy(), linear.to_numpy(), rtol=0, atol=0.01)


def test_pqn_removes_planted_dilution(info):
    rng = np.random.default_rng(0)
    samples = info.index[info["sample_type"] == "sample"][:40]
    base = np.exp(rng.normal(10, 1.5, 60))
    dil = np.exp(rng.normal(0, 0.4, len(samples)))
    M = pd.DataFrame(base[None, :] * dil[:, None] * np.exp(rng.normal(0, 0.05, (len(samples), 60))),
                     index=samples, columns=[f"M{j}" for j in range(60)])
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
    pp2 = LayerPreprocessor(kind, layer_settings(kind), info=info_train, batch_column="batch",
                            log_scale=log_scale, layer=layer)
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
    pd.testing.assert_frame_equal(pp.transform(X.loc[test]), pp_f.transform(X.loc[test]), check_exact=False,
                                  rtol=0, atol=1e-3)  # EB iterations stop at tol 1e-4


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
    pp = LayerPreprocessor("proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True,
                           layer="protein")
    with pytest.raises(InputError, match=r"layer 'protein': no feature left after filter"):
        pp.fit(cohort.layers["protein"], outcome)


@pytest.mark.parametrize("kind", ["proteomics_intensity", "rnaseq_counts"])
def test_default_chain_filters_features(cohort, info, outcome, kind):
    layer = {"proteomics_intensity": "protein", "rnaseq_counts": "rna"}[kind]
    step = make_step("filter", layer_settings(kind)["filter"], kind=kind, info=info, batch_column="batch",
                     covariates=(), log_scale=True, seed=0)
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
    pp = LayerPreprocessor("proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True,
                           layer="protein")
    out = pp.fit_transform(cohort.layers["protein"], outcome)
    P = cohort.layers["protein"]
    assert set(out.columns) == set(P.columns[P.notna().mean() >= 0.5])


def test_metabolomics_without_normalization_keeps_qc_drift(cohort, info, outcome):
    settings = layer_settings("metabolomics_intensity", {"normalize": {"method": "none"}})
    pp = LayerPreprocessor("metabolomics_intensity", settings, info=info, batch_column="batch",
                           layer="metabolomics")
    out = pp.fit_transform(cohort.layers["metabolomics"], outcome)
    assert isinstance(pp.named_step("qc_drift"), QCRLSC)
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
    assert isinstance(make_step("scale", {"method": "none"}, kind="continuous", info=None, batch_column="",
                                covariates=(), log_scale=False, seed=0), Identity)
