"""Survival metrics: each against a brute-force / by-hand computation, sksurv itself, or a planted answer."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from moflow.evaluate import survival_scores as sv

WEIBULL_SHAPE, WEIBULL_SCALE = 1.5, 1.0


def weibull_data(n: int, seed: int, beta=(0.8, -0.6), censor_scale: float | None = 1.5):
    """Covariates, true log-hazard, observed time and event of Weibull proportional-hazards data with
    independent exponential censoring (none when ``censor_scale`` is None)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(beta)))
    lp = x @ np.asarray(beta)
    t_event = WEIBULL_SCALE * (rng.exponential(size=n) / np.exp(lp)) ** (1 / WEIBULL_SHAPE)
    if censor_scale is None:
        return x, lp, t_event, np.ones(n, bool)
    t_cens = rng.exponential(censor_scale, size=n)
    return x, lp, np.minimum(t_event, t_cens), t_event <= t_cens


def true_survival(lp: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.exp(-((np.asarray(times)[None, :] / WEIBULL_SCALE) ** WEIBULL_SHAPE) * np.exp(lp)[:, None])


def brute_harrell(time, event, risk) -> float:
    """Harrell's C by a double loop over all ordered pairs (sksurv's pair definition and 1e-8 risk ties)."""
    num = den = 0.0
    for i in range(len(time)):
        if not event[i]:
            continue
        for j in range(len(time)):
            if time[i] < time[j] or (time[i] == time[j] and not event[j]):
                den += 1
                if abs(risk[i] - risk[j]) <= 1e-8:
                    num += 0.5
                elif risk[i] > risk[j]:
                    num += 1
    return num / den if den else float("nan")


def tied_data(n: int, seed: int):
    """Integer times (many ties, events and censorings at the same time) and risks on a coarse grid."""
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 8, size=n).astype(float)
    event = rng.random(n) < 0.6
    risk = np.round(rng.normal(size=n), 0) / 2
    return time, event, risk


# --- structured outcome and concordance -----------------------------------------------------------


def test_as_structured():
    y = sv.as_structured([3, 1.5], [1, 0])
    assert y.dtype.names == ("event", "time")
    assert y["event"].dtype == bool and y["time"].dtype == float
    assert y["event"].tolist() == [True, False] and y["time"].tolist() == [3.0, 1.5]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_harrell_c_equals_brute_force(seed):
    time, event, risk = tied_data(60, seed)
    assert sv.harrell_c(time, event, risk) == pytest.approx(brute_harrell(time, event, risk), abs=1e-12)
    # continuous data too
    _, lp, t, e = weibull_data(80, seed)
    assert sv.harrell_c(t, e, lp) == pytest.approx(brute_harrell(t, e, lp), abs=1e-12)


def test_harrell_c_nan_cases():
    assert np.isnan(sv.harrell_c([1.0], [True], [0.3]))  # fewer than 2 samples
    assert np.isnan(sv.harrell_c([1.0, 2.0, 3.0], [False] * 3, [0.1, 0.2, 0.3]))  # no event
    assert np.isnan(sv.harrell_c([2.0, 2.0], [True, True], [0.1, 0.2]))  # tied events: no comparable pair
    assert np.isnan(sv.harrell_c([1.0, 2.0], [True, False], [np.nan, 0.2]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_c_from_pairs_equals_harrell_with_ties(seed):
    time, event, risk = tied_data(80, seed)
    i, j = sv.comparable_pairs(time, event)
    expected = {
        (a, b)
        for a in range(len(time))
        for b in range(len(time))
        if event[a] and (time[a] < time[b] or (time[a] == time[b] and not event[b]))
    }
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected and len(i) == len(expected)
    assert abs(sv.c_from_pairs(i, j, risk) - sv.harrell_c(time, event, risk)) <= 1e-12
    rng = np.random.default_rng(seed)
    for _ in range(5):  # the permutation test's use: permuted risks against fixed pairs
        perm = rng.permutation(risk)
        assert abs(sv.c_from_pairs(i, j, perm) - sv.harrell_c(time, event, perm)) <= 1e-12


def test_c_from_pairs_no_pair_and_tolerance():
    assert np.isnan(sv.c_from_pairs(np.array([], int), np.array([], int), [0.1, 0.2]))
    i, j = np.array([0, 0]), np.array([1, 2])
    # 1e-9 apart is a tie for sksurv as well
    assert sv.c_from_pairs(i, j, [1.0, 1.0 + 1e-9, 0.0]) == 0.75
    assert sv.harrell_c([1.0, 2.0, 3.0], [True, False, False], [1.0, 1.0 + 1e-9, 0.0]) == 0.75


def test_true_log_hazard_concordant_random_risk_not():
    _, lp, t, e = weibull_data(1000, 7)
    assert 0.25 < 1 - e.mean() < 0.75  # censoring really present
    assert sv.harrell_c(t, e, lp) > 0.68
    assert sv.harrell_c(t, e, -lp) < 0.32  # the sign convention: higher risk = shorter survival
    random = np.random.default_rng(8).normal(size=len(t))
    assert abs(sv.harrell_c(t, e, random) - 0.5) < 0.04


def test_uno_c_equals_harrell_without_censoring():
    _, lp, t, e = weibull_data(400, 3, censor_scale=None)
    tr, te_ = slice(0, 250), slice(250, None)
    # no censoring anywhere: all weights 1 (the test times are kept below the training maximum)
    keep = t[te_] < t[tr].max()
    c_uno = sv.uno_c(t[tr], e[tr], t[te_][keep], e[te_][keep], lp[te_][keep])
    assert c_uno == pytest.approx(sv.harrell_c(t[te_][keep], e[te_][keep], lp[te_][keep]), abs=1e-12)
    # lightly censored training samples, uncensored test: weights near 1, close to Harrell's
    _, _, t2, e2 = weibull_data(400, 4, censor_scale=10.0)
    keep2 = t[te_] < t2.max()
    c2 = sv.uno_c(t2, e2, t[te_][keep2], e[te_][keep2], lp[te_][keep2])
    assert c2 == pytest.approx(sv.harrell_c(t[te_][keep2], e[te_][keep2], lp[te_][keep2]), abs=0.02)
    assert c2 != sv.harrell_c(t[te_][keep2], e[te_][keep2], lp[te_][keep2])


def test_uno_c_never_raises_beyond_training_follow_up():
    _, lp, t, e = weibull_data(600, 5)
    order = np.argsort(t)
    tr, te_ = order[:300], order[150:]  # the test set reaches far beyond the training maximum
    assert t[te_].max() > t[tr].max()
    c = sv.uno_c(t[tr], e[tr], t[te_], e[te_], lp[te_])
    assert np.isfinite(c) and c > 0.55
    # an explicit tau beyond the training follow-up is capped, the same value
    assert sv.uno_c(t[tr], e[tr], t[te_], e[te_], lp[te_], tau=1e9) == c
    # training follow-up ending on a censoring (G = 0 there) and a test event exactly at it
    tt, ee = np.array([1.0, 2, 3, 4, 5]), np.array([True, False, True, True, False])
    ts, es = np.array([1.5, 2.5, 5.0, 6.0]), np.array([True, True, True, False])
    assert np.isfinite(sv.uno_c(tt, ee, ts, es, np.array([3.0, 2.0, 1.0, 0.0])))


def test_uno_c_nan_cases():
    t, e = np.array([1.0, 2, 3, 4]), np.array([True, True, False, True])
    assert np.isnan(sv.uno_c(t, e, t, np.zeros(4, bool), [0.1, 0.2, 0.3, 0.4]))  # no test event
    assert np.isnan(sv.uno_c(t, e, t, e, [0.1, 0.2, 0.3, 0.4], tau=0.5))  # nothing before tau
    assert np.isnan(sv.uno_c(t, e, [5.0, 6.0], [True, True], [0.1, 0.2]))  # all beyond training follow-up


# --- time-dependent AUC and Brier score ---------------------------------------------------------


def test_time_auc_matches_sksurv_and_nan_outside_follow_up():
    from sksurv.metrics import cumulative_dynamic_auc

    _, lp, t, e = weibull_data(500, 11)
    tr, te_ = np.arange(250), np.arange(250, 500)
    keep = te_[t[te_] < t[tr].max()]
    times = sv.default_times(t[keep], e[keep])
    auc, mean = sv.time_auc(t[tr], e[tr], t[keep], e[keep], lp[keep], times)
    ref, ref_mean = cumulative_dynamic_auc(
        sv.as_structured(t[tr], e[tr]), sv.as_structured(t[keep], e[keep]), lp[keep], times
    )
    np.testing.assert_allclose(auc, ref, atol=1e-12)
    assert mean == pytest.approx(ref_mean, abs=1e-12)
    assert (auc > 0.6).all()
    # a time beyond the test follow-up (and one before it) gets NaN; order of the input is kept
    query = np.r_[t[keep].max() * 2, times[::-1], -1.0]
    auc2, mean2 = sv.time_auc(t[tr], e[tr], t[keep], e[keep], lp[keep], query)
    assert np.isnan(auc2[0]) and np.isnan(auc2[-1])
    np.testing.assert_allclose(auc2[1:-1], ref[::-1], atol=1e-12)
    assert mean2 == pytest.approx(ref_mean, abs=1e-12)
    # nothing valid
    auc3, mean3 = sv.time_auc(t[tr], e[tr], t[keep], e[keep], lp[keep], [1e6])
    assert np.isnan(auc3).all() and np.isnan(mean3)


def test_time_auc_test_events_beyond_training_follow_up():
    from sksurv.metrics import cumulative_dynamic_auc

    _, lp, t, e = weibull_data(600, 12)
    order = np.argsort(t)
    tr, te_ = order[:400], order[200:]
    assert (t[te_][e[te_]] > t[tr].max()).any()
    with pytest.raises(ValueError):  # what sksurv does on its own
        cumulative_dynamic_auc(sv.as_structured(t[tr], e[tr]), sv.as_structured(t[te_], e[te_]), lp[te_], [0.5])
    times = np.quantile(t[te_], [0.1, 0.3])
    assert times.max() < t[tr].max()
    auc, mean = sv.time_auc(t[tr], e[tr], t[te_], e[te_], lp[te_], np.r_[times, t[tr].max() * 1.01])
    assert np.isfinite(auc[:2]).all() and np.isnan(auc[2]) and np.isfinite(mean)


def test_integrated_brier_true_survival_beats_constant():
    from sksurv.metrics import integrated_brier_score

    _, lp, t, e = weibull_data(600, 21)
    tr, te_ = np.arange(300), np.arange(300, 600)
    grid = sv.time_grid(t[te_])
    assert len(grid) == 15
    np.testing.assert_allclose(grid[[0, -1]], np.quantile(t[te_], [0.1, 0.9]))
    truth = sv.integrated_brier(t[tr], e[tr], t[te_], e[te_], true_survival(lp[te_], grid), grid)
    const = sv.integrated_brier(t[tr], e[tr], t[te_], e[te_], np.full((300, len(grid)), 0.5), grid)
    assert truth < const - 0.05
    # with a grid inside the follow-up: exactly sksurv's value
    keep = t[te_] < t[tr].max()
    tk, ek, lk = t[te_][keep], e[te_][keep], lp[te_][keep]
    ref = integrated_brier_score(
        sv.as_structured(t[tr], e[tr]), sv.as_structured(tk, ek), true_survival(lk, grid), grid
    )
    assert sv.integrated_brier(t[tr], e[tr], tk, ek, true_survival(lk, grid), grid) == pytest.approx(ref, abs=1e-12)
    # points outside the follow-up are dropped with their columns
    wide = np.r_[-1.0, grid, tk.max() * 3]
    val = sv.integrated_brier(t[tr], e[tr], tk, ek, true_survival(lk, np.abs(wide)), wide)
    assert val == pytest.approx(ref, abs=1e-12)


def test_integrated_brier_nan_and_shape():
    _, lp, t, e = weibull_data(200, 22)
    grid = np.array([t.max() * 2, t.max() * 3])
    assert np.isnan(sv.integrated_brier(t, e, t, e, np.full((200, 2), 0.5), grid))  # no point inside
    one = np.array([np.median(t), t.max() * 2])
    assert np.isnan(sv.integrated_brier(t, e, t, e, np.full((200, 2), 0.5), one))  # one point inside
    with pytest.raises(ValueError):
        sv.integrated_brier(t, e, t, e, np.full((200, 3), 0.5), one)
    # test samples beyond the training follow-up: computed, not raised
    order = np.argsort(t)
    tr, te_ = order[:120], order[60:]
    g = np.quantile(t[te_], [0.05, 0.2, 0.3])
    assert g.max() < t[tr].max() < t[te_].max()
    assert np.isfinite(sv.integrated_brier(t[tr], e[tr], t[te_], e[te_], true_survival(lp[te_], g), g))


# --- Breslow baseline and survival function -----------------------------------------------------


def test_breslow_survival_function_match_sksurv_coxph():
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    x, _, t, e = weibull_data(150, 31)
    t = np.round(t, 2)  # tied times
    x = x + np.array([3.0, -2.0])  # uncentred covariates: sksurv's predict is X @ coef, not centred
    model = CoxPHSurvivalAnalysis().fit(x, sv.as_structured(t, e))
    risk = model.predict(x)
    base_t, base_h = sv.breslow(risk, t, e)
    assert np.all(np.diff(base_t) > 0) and np.all(np.diff(base_h) > 0)
    np.testing.assert_array_equal(base_t, np.unique(t[e]))
    np.testing.assert_allclose(base_h, model.cum_baseline_hazard_(base_t), rtol=1e-9)
    times = np.r_[np.quantile(t, [0.05, 0.3, 0.5, 0.8, 0.95]), base_t[3], t.max()]
    ours = sv.survival_function(risk, base_t, base_h, times)
    assert ours.shape == (150, len(times))
    ref = np.array([[f(s) for s in times] for f in model.predict_survival_function(x)])
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    # new samples
    x_new = np.random.default_rng(0).normal(size=(20, 2)) + np.array([3.0, -2.0])
    ref_new = np.array([[f(s) for s in times] for f in model.predict_survival_function(x_new)])
    np.testing.assert_allclose(sv.survival_function(model.predict(x_new), base_t, base_h, times), ref_new, atol=1e-6)


def test_breslow_by_hand_and_stable():
    # events at 1 (twice, Breslow ties), 3; censored at 2 and 4
    t = np.array([1.0, 1.0, 2.0, 3.0, 4.0])
    e = np.array([True, True, False, True, False])
    r = np.array([0.0, np.log(2), 0.5, -0.5, 1.0])
    w = np.exp(r)
    h1 = 2 / w.sum()
    h3 = h1 + 1 / w[3:].sum()
    bt, bh = sv.breslow(r, t, e)
    np.testing.assert_array_equal(bt, [1.0, 3.0])
    np.testing.assert_allclose(bh, [h1, h3], rtol=1e-12)
    s = sv.survival_function(r, bt, bh, [0.5, 1.0, 2.5, 3.0, 10.0])
    np.testing.assert_allclose(s[:, 0], 1.0)  # before the first event time
    np.testing.assert_allclose(s[:, 1], np.exp(-h1 * w), rtol=1e-12)
    np.testing.assert_allclose(s[:, 2], np.exp(-h1 * w), rtol=1e-12)  # step function
    np.testing.assert_allclose(s[:, 3:], np.exp(-h3 * w)[:, None] * np.ones(2), rtol=1e-12)
    # shifting every risk by a constant leaves the survival unchanged (H0 absorbs exp(-shift))
    for shift in (-300.0, 300.0):
        bt2, bh2 = sv.breslow(r + shift, t, e)
        np.testing.assert_allclose(bh2, bh * np.exp(-shift), rtol=1e-10)
        np.testing.assert_allclose(sv.survival_function(r + shift, bt2, bh2, [1.0, 3.0]), s[:, [1, 3]], rtol=1e-10)
    assert sv.breslow(r, t, np.zeros(5, bool))[0].size == 0


# --- evaluation times ------------------------------------------------------------------------------


def test_default_times_and_grid():
    t = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 100, 200])
    e = np.array([True] * 8 + [False] * 2)
    np.testing.assert_allclose(sv.default_times(t, e), np.quantile(t[:8], [0.25, 0.5, 0.75]))
    np.testing.assert_allclose(sv.default_times(t, np.zeros(10, bool)), np.quantile(t, [0.25, 0.5, 0.75]))
    got = sv.default_times([1.23456789, 1.23456789, 2.0], [1, 1, 0], quantiles=(0.1, 0.5, 0.9))
    np.testing.assert_array_equal(got, [1.235])  # 4 significant digits, unique
    g = sv.time_grid(t, n=5)
    np.testing.assert_allclose(g, np.linspace(np.quantile(t, 0.1), np.quantile(t, 0.9), 5))


# --- univariate Cox ---------------------------------------------------------------------------------


def test_cox_univariate_recovers_planted_hr():
    rng = np.random.default_rng(41)
    n = 2000
    x = rng.normal(5.0, 3.0, size=n)  # not unit SD: the HR is per SD
    z = (x - x.mean()) / x.std(ddof=1)
    t_event = rng.exponential(size=n) / np.exp(0.7 * z)
    t_cens = rng.exponential(2.0, size=n)
    t, e = np.minimum(t_event, t_cens), t_event <= t_cens
    res = sv.cox_univariate(x, t, e)
    assert abs(np.log(res["hr_per_sd"]) - 0.7) < 0.1
    assert res["p"] < 1e-10 and res["z"] > 0
    assert res["hr_lo"] < res["hr_per_sd"] < res["hr_hi"]
    assert res["n"] == n and res["n_events"] == int(e.sum())
    assert np.log(res["hr_hi"] / res["hr_lo"]) / (2 * 1.959964) == pytest.approx(np.log(res["hr_per_sd"]) / res["z"])
    noise = sv.cox_univariate(rng.normal(size=n), t, e)
    assert noise["p"] > 0.01 and abs(np.log(noise["hr_per_sd"])) < 0.1


def test_cox_univariate_missing_constant_no_event():
    rng = np.random.default_rng(42)
    x, t = rng.normal(size=50), rng.exponential(size=50)
    e = rng.random(50) < 0.7
    x_missing = x.copy()
    x_missing[:5] = np.nan
    res = sv.cox_univariate(x_missing, t, e)
    assert res["n"] == 45 and res["n_events"] == int(e[5:].sum())
    assert res["hr_per_sd"] == pytest.approx(sv.cox_univariate(x[5:], t[5:], e[5:])["hr_per_sd"])
    for bad in (sv.cox_univariate(np.ones(50), t, e), sv.cox_univariate(x, t, np.zeros(50, bool))):
        assert all(np.isnan(bad[k]) for k in ("hr_per_sd", "hr_lo", "hr_hi", "z", "p"))
        assert bad["n"] == 50


# --- Kaplan-Meier, log-rank, numbers at risk --------------------------------------------------------


def test_kaplan_meier_by_hand():
    t = np.array([2.0, 3.0, 3.0, 5.0, 6.0, 8.0])
    e = np.array([True, True, False, False, True, False])
    km = sv.kaplan_meier(t, e)
    assert list(km.columns) == ["time", "survival", "lo", "hi", "at_risk", "events"]
    # product limit: at 2: 5/6; at 3: x (4/5) (censored 3 still at risk); at 6: x (1/2); then flat to the
    # last follow-up (8, censored): the curve does not stop at the last event
    s = [1.0, 5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 * 1 / 2]
    last = km.iloc[-1]
    assert last["time"] == 8 and last["survival"] == s[-1] and last["at_risk"] == 1 and last["events"] == 0
    assert (last["lo"], last["hi"]) == (km["lo"].iloc[-2], km["hi"].iloc[-2])
    km = km.iloc[:-1]
    np.testing.assert_allclose(km["time"], [0, 2, 3, 6])
    np.testing.assert_allclose(km["survival"], s)
    assert km["at_risk"].tolist() == [6, 6, 5, 2] and km["events"].tolist() == [0, 1, 1, 1]
    # no censoring after the last event: no extra row; no event at all: flat from 0 to the last follow-up
    assert sv.kaplan_meier(t[:5], e[:5])["time"].tolist()[-1] == 6
    assert sv.kaplan_meier([4.0, 7.0], [False, False])[["time", "survival"]].values.tolist() == [[0, 1], [7, 1]]
    # Greenwood variance, log(-log) interval
    gw = np.cumsum([1 / (6 * 5), 1 / (5 * 4), 1 / (2 * 1)])
    sig = np.sqrt(gw) / np.abs(np.log(s[1:]))
    np.testing.assert_allclose(km["lo"][1:], np.array(s[1:]) ** np.exp(1.959964 * sig), rtol=1e-5)
    np.testing.assert_allclose(km["hi"][1:], np.array(s[1:]) ** np.exp(-1.959964 * sig), rtol=1e-5)
    assert (km["lo"] <= km["survival"]).all() and (km["survival"] <= km["hi"]).all()


def _logrank_by_hand(t, e, g):
    o_minus_e = var = 0.0
    for s in np.unique(t[e]):
        at = t >= s
        n, n1 = at.sum(), (at & g).sum()
        d, d1 = (e & (t == s)).sum(), (e & (t == s) & g).sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e**2 / var


def test_logrank():
    from scipy.stats import chi2

    rng = np.random.default_rng(51)
    g = np.repeat([True, False], 100)
    t_event = rng.exponential(np.where(g, 1.0, 3.0))
    t_cens = rng.exponential(4.0, size=200)
    t, e = np.round(np.minimum(t_event, t_cens), 1), t_event <= t_cens
    res = sv.logrank(t, e, g)
    assert res["df"] == 1 and res["p"] < 1e-6
    assert res["chi2"] == pytest.approx(_logrank_by_hand(t, e, g), rel=1e-8)
    assert res["p"] == pytest.approx(chi2.sf(res["chi2"], 1))
    same = sv.logrank(t, e, rng.random(200) < 0.5)
    assert same["p"] > 0.01
    three = sv.logrank(t, e, np.tile(["a", "b", "c", "d"], 50)[:200])
    assert three["df"] == 3 and np.isfinite(three["p"])
    assert np.isnan(sv.logrank(t, e, np.zeros(200))["p"])


def test_number_at_risk():
    t = np.array([1.0, 2, 3, 4, 5, 6])
    g = np.array(["b", "a", "b", "a", "b", "a"])
    tab = sv.number_at_risk(t, g, [0, 2, 4.5, 10])
    assert tab.index.tolist() == ["a", "b"]
    assert tab.to_numpy().tolist() == [[3, 3, 1, 0], [3, 2, 1, 0]]


# --- stratification ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "folds", "expected_k"), [(300, 5, {"event": 3, "censored": 3}), (24, 5, None)])
def test_stratification_labels(n, folds, expected_k):
    from sklearn.model_selection import StratifiedKFold

    _, _, t, e = weibull_data(n, 61)
    labels = sv.stratification_labels(t, e, folds)
    counts = Counter(labels)
    assert all(c >= folds for c in counts.values()), counts
    if expected_k:
        for status, k in expected_k.items():
            assert len([lab for lab in counts if lab.startswith(status)]) == k
    # event status is always kept
    assert all(lab.startswith("event") == bool(ev) for lab, ev in zip(labels, e, strict=True))
    # time tertiles/halves are ordered in time within a status
    for lab in counts:
        if "_t1of" in lab:
            later = lab.replace("_t1of", "_t2of")
            assert t[labels == lab].max() <= t[labels == later].min()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # StratifiedKFold warns when a class has fewer members than folds
        list(StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(n), labels))


def test_stratification_labels_fallback():
    t = np.arange(20.0)
    e = np.array([True] * 12 + [False] * 8)
    labels = sv.stratification_labels(t, e, 4)
    # 12 events -> tertiles of 4; 8 censored -> halves of 4
    assert Counter(labels) == {
        "event_t1of3": 4,
        "event_t2of3": 4,
        "event_t3of3": 4,
        "censored_t1of2": 4,
        "censored_t2of2": 4,
    }
    labels = sv.stratification_labels(t, e, 7)  # 12 events -> no split (6 < 7); 8 censored -> whole
    assert Counter(labels) == {"event": 12, "censored": 8}
    assert isinstance(labels, np.ndarray) and pd.Series(labels).dtype == object


@pytest.mark.parametrize("seed", range(12))
def test_censoring_fitted_once_gives_sksurv_values_exactly(seed):
    """Uno's C, the time-dependent AUC (and its mean) and the integrated Brier score evaluate the training
    censoring distribution fitted once (a bootstrap rescores hundreds of resamples against it) with sksurv's
    own operations: equal to sksurv's public functions to the last bit, with tied times and tied risks."""
    from sksurv.metrics import concordance_index_ipcw, cumulative_dynamic_auc, integrated_brier_score

    rng = np.random.default_rng(seed)
    tt = np.round(rng.exponential(10, 80), seed % 2) + 0.5
    te = rng.random(80) < 0.7
    te[np.argmax(tt)] = False  # G stays above 0 over the training follow-up
    n = 30
    t = np.minimum(np.round(rng.exponential(8, n), seed % 2) + 0.5, tt.max() - 0.25)
    e = rng.random(n) < 0.6
    r = np.round(rng.normal(size=n) - 0.1 * t, 1)
    train, test = sv.as_structured(tt, te), sv.as_structured(t, e)
    assert sv.uno_c(tt, te, t, e, r) == concordance_index_ipcw(train, test, r, tied_tol=sv.TIED_TOL)[0]
    tau = float(np.quantile(t, 0.7))
    assert (
        sv.uno_c(tt, te, t, e, r, tau=tau) == concordance_index_ipcw(train, test, r, tau=tau, tied_tol=sv.TIED_TOL)[0]
    )
    times = np.quantile(t[e], [0.2, 0.5, 0.8])
    e_used = e & (t <= times.max())  # as time_auc: later events are never cases
    auc, mean = cumulative_dynamic_auc(train, sv.as_structured(t, e_used), r, times, tied_tol=sv.TIED_TOL)
    got, got_mean = sv.time_auc(tt, te, t, e, r, times)
    assert np.array_equal(got, auc) and got_mean == mean
    grid = np.quantile(t, [0.1, 0.4, 0.6, 0.9])
    surv = np.exp(-np.outer(np.exp(r), grid) / 10)
    assert sv.integrated_brier(tt, te, t, e, surv, grid) == integrated_brier_score(train, test, surv, grid)


def test_every_training_sample_censored_fails_where_it_did():
    """The censoring distribution is fitted at its first use: with every training sample censored, Uno's C and
    the Brier score are NaN and the time-dependent AUC raises, as when sksurv fitted it inside each metric."""
    tt, te = np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4, bool)
    t, e, r = np.array([1.0, 2.0, 2.5, 3.0]), np.array([1, 1, 0, 1], bool), np.array([3.0, 2.0, 1.0, 0.0])
    assert np.isnan(sv.uno_c(tt, te, t, e, r))
    assert np.isnan(sv.integrated_brier(tt, te, t, e, np.full((4, 2), 0.5), [1.5, 2.5]))
    with pytest.raises(ValueError, match="all samples are censored"):
        sv.time_auc(tt, te, t, e, r, [2.0])
