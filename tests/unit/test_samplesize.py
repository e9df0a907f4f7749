"""Sample-size planning: a learning curve fitted on a small cohort against what a larger one actually gives, the
inverse power law against planted curves, and Riley's criteria against pmsampsize's published numbers."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from moflow.design import riley
from moflow.design import samplesize as ss

FRACTIONS = (0.25, 0.42, 0.67, 1.0)  # of a 120-sample training fold: 30, 50, 80, 120


def _cohort(seed: int, n: int = 2000, p: int = 200, k: int = 10, beta: float = 2.5):
    """Gaussian features; a logistic outcome driven by the first k of them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    lp = x[:, :k] @ np.full(k, beta)
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return x, y


def _model():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(l1_ratio=1.0, C=0.5, solver="liblinear")  # fixed L1 penalty: fast and sparse


@pytest.fixture(scope="module")
def planted():
    """Learning curve from 4 x 5-fold CV within the first 150 samples, and the AUC actually obtained training on
    500 samples (10 draws from the other 1850, scored on the rest of them)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import RepeatedStratifiedKFold

    x, y = _cohort(0)
    ids = np.array([f"s{i:04d}" for i in range(len(y))])
    pos = {s: i for i, s in enumerate(ids)}
    first = np.arange(150)
    strata = pd.Series(y[first], index=ids[first])
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=4, random_state=0)
    splits = [(list(ids[tr]), list(ids[te])) for tr, te in cv.split(first, y[first])]

    def fit_and_score(train, test):
        tr, te = [pos[s] for s in train], [pos[s] for s in test]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _model().fit(x[tr], y[tr])
        return roc_auc_score(y[te], model.decision_function(x[te]))

    curve = ss.learning_curve(splits, strata, FRACTIONS, fit_and_score, seed=0)
    fit = ss.fit_learning_curve(
        curve["n_train"], curve["score"], groups=curve["split"], n_boot=300, seed=0, test_to_train=30 / 120
    )
    rng = np.random.default_rng(1)
    actual = []
    for _ in range(10):
        perm = rng.permutation(np.arange(150, len(y)))
        actual.append(fit_and_score(list(ids[perm[:500]]), list(ids[perm[500:]])))
    return curve, fit, float(np.mean(actual))


def test_learning_curve_from_150_samples_predicts_the_score_at_500(planted):
    curve, fit, actual = planted
    assert len(curve) == 20 * len(FRACTIONS)
    sizes = curve.groupby("fraction")["n_train"].agg(["min", "max"])
    assert (sizes["min"].to_numpy() >= [29, 49, 79, 120]).all() and (sizes["max"].to_numpy() <= [31, 51, 81, 120]).all()
    pred = ss.predict_score(fit, [500]).iloc[0]
    assert pred["extrapolated"] and fit["n_failed"] < 0.05 * fit["n_boot"]
    assert pred["low"] <= actual <= pred["high"], (pred.to_dict(), actual)
    # informative, not merely wide: above what 120 samples give, and close to the truth
    assert pred["low"] > curve.loc[curve["fraction"] == 1.0, "score"].mean()
    assert abs(pred["score"] - actual) < 0.03
    assert pred["high"] - pred["low"] < 0.2


def test_size_for_target_reaches_the_target(planted):
    _, fit, _ = planted
    res = ss.size_for_target(fit, 0.95)
    assert res["reachable"] and res["status"] == "reachable"
    assert fit["predict"](res["n_exact"]) == pytest.approx(0.95, abs=1e-9)
    assert ss.predict_score(fit, [res["n"]])["score"].iloc[0] >= 0.95
    assert res["n"] == math.ceil(res["n_exact"])
    assert res["low"] <= res["n_exact"] <= res["high"]
    table = ss.size_table({"l1": fit, "same": fit}, 0.95)
    assert list(table.index) == ["l1", "same"] and table.loc["l1", "n"] == res["n"]


def _planted_points(a, b, c, sign, sizes=(30, 50, 80, 120, 200, 300), splits=20, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    n = np.tile(np.asarray(sizes, float), splits)
    groups = np.repeat(np.arange(splits), len(sizes))
    split_effect = rng.normal(0, noise / 2, splits)[groups]
    y = a - sign * b * n**-c + split_effect + rng.normal(0, noise, len(n))
    return n, y, groups


def test_error_kind_recovers_a_planted_decreasing_curve():
    n, y, groups = _planted_points(0.1, 2.0, 0.6, -1)
    fit = ss.fit_learning_curve(n, y, kind="error", groups=groups, n_boot=200, seed=1)
    assert fit["kind"] == "error" and fit["n_failed"] == 0 and fit["inflation"] == 1.0
    truth = 0.1 + 2.0 * np.array([100.0, 1000.0]) ** -0.6
    pred = ss.predict_score(fit, [100, 1000])
    assert ((pred["low"] <= truth) & (truth <= pred["high"])).all()
    assert pred["score"].iloc[1] < pred["score"].iloc[0]  # decreasing
    res = ss.size_for_target(fit, 0.13)
    true_n = (2.0 / 0.03) ** (1 / 0.6)
    assert res["reachable"] and res["low"] <= true_n <= res["high"]
    assert fit["predict"](res["n_exact"]) == pytest.approx(0.13)
    # an error below the asymptote is never reached
    assert ss.size_for_target(fit, 0.05)["status"].startswith("not reachable: asymptote")


def test_gain_kind_recovers_a_planted_curve_and_widening_grows_the_interval():
    n, y, groups = _planted_points(0.85, 1.5, 0.7, 1, seed=2)
    plain = ss.fit_learning_curve(n, y, groups=groups, n_boot=200, seed=0)
    wide = ss.fit_learning_curve(n, y, groups=groups, n_boot=200, seed=0, test_to_train=0.25)
    assert plain["params"]["a"] == pytest.approx(0.85, abs=0.02)
    assert wide["inflation"] == pytest.approx(math.sqrt(1 + 20 * 0.25))
    p, w = ss.predict_score(plain, [1000]).iloc[0], ss.predict_score(wide, [1000]).iloc[0]
    assert p["score"] == w["score"] and w["high"] - w["low"] > 1.5 * (p["high"] - p["low"])
    assert p["low"] <= 0.85 - 1.5 * 1000**-0.7 <= p["high"]


def test_unreachable_target_is_infinite_and_reported():
    n, y, groups = _planted_points(0.8, 1.0, 0.8, 1, seed=3)
    fit = ss.fit_learning_curve(n, y, groups=groups, n_boot=100, seed=0)
    res = ss.size_for_target(fit, 0.9)
    assert not res["reachable"] and res["n"] == np.inf and res["n_exact"] == np.inf
    assert re.fullmatch(r"not reachable: asymptote a=0\.(79|80)\d* below target 0\.9", res["status"]), res["status"]
    assert res["high"] == np.inf and res["boot_unreachable"] > 0.95
    near = ss.size_for_target(fit, fit["params"]["a"] - 1e-4, n_max=1e3)  # reachable, but beyond n_max
    assert near["n"] == np.inf and near["status"] == "not reachable within n_max=1000"


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="kind"):
        ss.fit_learning_curve([30, 50, 80], [0.6, 0.7, 0.75], kind="auc")
    with pytest.raises(ValueError, match="3 distinct"):
        ss.fit_learning_curve([30, 30, 31], [0.6, 0.7, 0.75], n_boot=0)
    with pytest.raises(ValueError, match="groups"):
        ss.fit_learning_curve([30, 50, 80], [0.6, 0.7, 0.75], n_boot=0, test_to_train=0.25)


def test_failed_bootstrap_fits_are_dropped_and_counted():
    # two splits only: a resample of one split twice has a single point per size, still fittable; with sizes
    # that collapse to fewer than 3 levels in a resample the fit fails and is counted
    n = np.array([30.0, 50.0, 80.0, 30.0, 50.0, 80.0, 120.0])
    y = np.array([0.6, 0.7, 0.75, 0.62, 0.69, 0.74, 0.78])
    groups = np.array([0, 0, 1, 2, 2, 3, 3])
    fit = ss.fit_learning_curve(n, y, groups=groups, n_boot=100, seed=0)
    assert fit["n_failed"] > 0 and len(fit["boot"]) == 100 - fit["n_failed"]


# --------------------------------------------------------------------------------------------------- subsampling
def _train_strata(n_pos=30, n_neg=60, n_rare=3):
    train = [f"p{i}" for i in range(n_pos)] + [f"n{i}" for i in range(n_neg)] + [f"r{i}" for i in range(n_rare)]
    labels = ["pos"] * n_pos + ["neg"] * n_neg + ["rare"] * n_rare
    return train, pd.Series(labels, index=train)


def test_subsample_is_stratified_with_at_least_two_per_stratum():
    train, strata = _train_strata()
    sub = ss.subsample_training(train, strata, 0.1, seed=0)
    counts = strata.loc[sub].value_counts()
    assert counts.to_dict() == {"neg": 6, "pos": 3, "rare": 2}
    assert ss.subsample_training(train, strata, 1.0, seed=0) == train
    single = ss.subsample_training(["a", "b", "c"], np.array([0, 0, 1]), 0.1, seed=0)
    assert set(single) == {"a", "b", "c"}  # a stratum of one keeps it


def test_subsample_is_nested_deterministic_and_order_free():
    train, strata = _train_strata()
    subs = [set(ss.subsample_training(train, strata, f, seed=5)) for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
    assert all(a <= b for a, b in zip(subs, subs[1:]))
    again = ss.subsample_training(train, strata, 0.5, seed=5)
    assert set(again) == subs[2] and again == [s for s in train if s in subs[2]]  # kept in the training order
    assert set(ss.subsample_training(train, strata, 0.5, seed=6)) != subs[2]
    shuffled = list(np.random.default_rng(0).permutation(train))
    assert set(ss.subsample_training(shuffled, strata, 0.5, seed=5)) == subs[2]
    aligned = strata.loc[train].to_numpy()
    assert ss.subsample_training(train, aligned, 0.5, seed=5) == again


def test_subsample_rejects_bad_input():
    train, strata = _train_strata()
    with pytest.raises(ValueError, match="fraction"):
        ss.subsample_training(train, strata, 0.0, seed=0)
    with pytest.raises(ValueError, match="lack"):
        ss.subsample_training(train + ["x"], strata, 0.5, seed=0)
    with pytest.raises(ValueError, match="entries"):
        ss.subsample_training(train, np.zeros(3), 0.5, seed=0)


def test_learning_curve_table():
    train, strata = _train_strata()
    splits = [(train[:60], train[60:]), (train[30:], train[:30])]
    curve = ss.learning_curve(splits, strata, [1.0, 0.5], lambda tr, te: len(tr) / 100, seed=0)
    assert list(curve.columns) == ["split", "fraction", "n_train", "score"]
    assert list(curve["fraction"]) == [0.5, 1.0, 0.5, 1.0]
    assert (curve["score"] == curve["n_train"] / 100).all()


# --------------------------------------------------------------------------------------------------- Riley et al.
# pmsampsize 1.1.3 tests/testthat (criteria 1, 2, 3, final) and the Riley et al. examples of its documentation
@pytest.mark.parametrize(
    "r2, p, prev, expected, epp",
    [
        (0.288, 24, 0.174, (623, 662, 221, 662), (4.52, 4.8, 1.6, 4.8)),  # Riley et al. BMJ 2020 / Stat Med 2019
        (0.55, 24, 0.174, (255, 532, 221, 532), (1.85, 3.86, 1.6, 3.86)),
        (0.288, 36, 0.174, (934, 992, 221, 992), (4.51, 4.79, 1.07, 4.79)),
        (0.288, 24, 0.25, (623, 590, 289, 623), (6.49, 6.15, 3.01, 6.49)),
    ],
)
def test_riley_binary_matches_pmsampsize(r2, p, prev, expected, epp):
    res = riley.riley_binary(p, prev, r2_cs=r2)
    assert tuple(res["criteria"]["n"]) == expected and res["n"] == expected[-1]
    assert tuple(res["criteria"]["epp"].round(2)) == epp
    assert res["criteria"].loc[1, "shrinkage"] == 0.9


def test_riley_binary_published_example_details():
    res = riley.riley_binary(24, 0.174, r2_cs=0.288)
    assert res["criteria"].loc[1, "n"] == 623  # the shrinkage criterion: 623 participants
    assert res["max_r2_cs"] == pytest.approx(0.603, abs=5e-4)
    assert res["nagelkerke_r2"] == pytest.approx(0.288 / 0.603, abs=1e-3)
    assert res["binding"] == 2 and math.ceil(res["events"]) == 116
    with pytest.raises(ValueError, match="exactly one"):
        riley.riley_binary(24, 0.174)
    with pytest.raises(ValueError, match="maximum"):
        riley.riley_binary(24, 0.174, r2_cs=0.65)


def test_c_statistic_conversion_matches_the_binormal_simulation():
    """The quadrature against pmsampsize's cstat2rsq recipe: simulate the binormal linear predictor, fit the
    logistic calibration model, and take 1 - exp(-LR / n)."""
    from scipy.stats import norm
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    c, prev, n = 0.81, 0.23, 400_000
    rng = np.random.default_rng(0)
    n_events = int(prev * n)
    lp = np.r_[rng.normal(np.sqrt(2) * norm.ppf(c), 1, n_events), rng.normal(0, 1, n - n_events)]
    y = np.r_[np.ones(n_events), np.zeros(n - n_events)]
    assert roc_auc_score(y, lp) == pytest.approx(c, abs=3e-3)
    model = LogisticRegression(C=np.inf).fit(lp[:, None], y)
    q = np.clip(model.predict_proba(lp[:, None])[:, 1], 1e-300, 1 - 1e-16)
    ll = np.sum(y * np.log(q) + (1 - y) * np.log(1 - q))
    ll0 = n_events * np.log(prev) + (n - n_events) * np.log(1 - prev)
    simulated = 1 - np.exp(-2 * (ll - ll0) / n)
    assert riley.r2cs_from_c_statistic(c, prev) == pytest.approx(simulated, abs=3e-3)
    assert riley.r2cs_from_c_statistic(c, prev) == pytest.approx(riley.r2cs_from_c_statistic(c, 1 - prev), abs=1e-9)
    res = riley.riley_binary(10, prev, c_statistic=c)
    assert res["r2_cs"] == riley.r2cs_from_c_statistic(c, prev) and res["r2_source"].startswith("c_statistic")


# pmsampsize 1.1.3 tests/testthat: (R2cs, parameters, rate, timepoint, mean follow-up) -> criteria 1, 2 and final
@pytest.mark.parametrize(
    "r2, p, rate, t, fup, n1, n2, final",
    [
        (0.051, 25, 0.065, 2, 2.07, 4286, 866, 4286),
        (0.065, 25, 0.065, 2, 2.07, 3335, 859, 3335),
        (0.051, 50, 0.065, 2, 2.07, 8572, 1731, 8572),
        (0.051, 25, 0.1, 2, 2.07, 4286, 731, 4286),
        (0.051, 25, 0.065, 4, 2.07, 4286, 866, 4286),
        (0.051, 25, 0.065, 2, 4, 4286, 679, 4286),
        (0.06, 40, 0.08, 3, 5, 5798, 969, 5798),
        (0.03, 10, 0.09, 3, 3, 2950, 272, 2950),
        (0.3, 80, 0.03, 1, 5, 1974, 2272, 2272),
    ],
)
def test_riley_survival_matches_pmsampsize(r2, p, rate, t, fup, n1, n2, final):
    res = riley.riley_survival(p, rate, fup, t, r2_cs=r2)
    assert (res["criteria"].loc[1, "n"], res["criteria"].loc[2, "n"], res["n"]) == (n1, n2, final)
    lo, hi = res["risk_interval"]
    assert hi - res["risk"] <= 0.05 and res["risk"] - lo <= 0.05


def test_riley_survival_published_example():
    """pmsampsize's documented example (Riley et al. BMJ 2020): 30 parameters, R2cs 0.051, rate 0.065, timepoint
    2, mean follow-up 2.07 -> 5143 participants, 692 events, 10646.0 person-years, EPP 23.07."""
    res = riley.riley_survival(30, 0.065, 2.07, 2, r2_cs=0.051)
    assert res["n"] == 5143 and math.ceil(res["events"]) == 692
    assert round(res["person_time"], 1) == 10646.0 and round(res["epp"], 2) == 23.07
    assert res["risk"] == pytest.approx(0.122, abs=5e-4)
    lo, hi = res["risk_interval"]
    assert (round(lo, 3), round(hi, 3)) == (0.113, 0.130)
    # criterion 3 alone: the smallest n whose interval of the 2-year risk is within +-0.05
    n3 = res["criteria"].loc[3, "n"]

    def half(n):
        return 1 - math.exp(-(0.065 + 1.96 * math.sqrt(0.065 / (n * 2.07))) * 2) - res["risk"]

    assert half(n3) <= 0.05 < half(n3 - 1)
    same = riley.riley_survival(30, event_fraction=0.065 * 2.07, mean_followup=2.07, timepoint=2, r2_cs=0.051)
    assert same["n"] == 5143


def test_riley_survival_from_a_c_index():
    lam = 0.065 * 2.07
    d = 5.50 * 0.2 + 10.26 * 0.2**3  # Jinks et al. 2015 at C = 0.7
    r2_d = d**2 * math.pi / 8 / (math.pi**2 / 6 + d**2 * math.pi / 8)
    assert riley.r2cs_from_c_index(0.7, lam) == pytest.approx(1 - (1 - r2_d) ** lam)
    assert riley.r2cs_from_c_index(0.65, lam) < riley.r2cs_from_c_index(0.7, lam) < riley.r2cs_from_c_index(0.8, lam)
    res = riley.riley_survival(30, 0.065, 2.07, 2, c_statistic=0.7)
    assert res["r2_cs"] == riley.r2cs_from_c_index(0.7, lam) and res["n"] == res["criteria"].loc[1, "n"]
    with pytest.raises(ValueError, match="exactly one"):
        riley.riley_survival(30, 0.065, 2.07, 2)


# pmsampsize 1.1.3 tests/testthat (criteria 1-4 and final; the 4th with its shrinkage)
@pytest.mark.parametrize(
    "r2, p, intercept, sd, shrinkage, expected",
    [
        (0.2, 25, 1.9, 0.6, 0.9, (918, 401, 259, 918, 918)),  # Riley et al. Stat Med 2019 part I (FEV1)
        (0.3, 25, 1.9, 0.6, 0.9, (574, 351, 259, 574, 574)),
        (0.2, 50, 1.9, 0.6, 0.9, (1924, 801, 284, 1924, 1924)),
        (0.2, 25, 10, 0.6, 0.9, (918, 401, 259, 918, 918)),
        (0.2, 25, 1.9, 2, 0.9, (918, 401, 259, 918, 918)),
        (0.5, 100, 1.9, 2, 0.9, (1264, 1001, 334, 1264, 1264)),
        (0.89, 30, 3.3, 1.1, 0.84, (32, 67, 264, 264, 264)),
    ],
)
def test_riley_continuous_matches_pmsampsize(r2, p, intercept, sd, shrinkage, expected):
    res = riley.riley_continuous(p, r2, intercept, sd, shrinkage=shrinkage)
    assert tuple(res["criteria"]["n"]) == expected and res["n"] == expected[-1]
    if shrinkage == 0.84:
        assert tuple(res["criteria"]["shrinkage"].round(3)) == (0.845, 0.851, 0.954, 0.954, 0.954)
