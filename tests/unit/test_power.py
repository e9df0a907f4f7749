"""Power and sample size (moflow.design.power): planted answers.

The analytic average power at the FDR-controlling level is compared with the empirical power of
simulated studies: 2000 features (200 with a planted effect), 50 studies per size, each called by
Benjamini-Hochberg at ``q / pi0`` (BH with the true pi0, whose FDR is ``q``: the Pounds & Cheng level
solves FDR(alpha) = q) and, separately, plain BH at ``q`` against the analytic curve at ``pi0 q``.
The tests are those the power formulas model: t test; NB Wald test on the log scale with the true
dispersion; arcsine (Cohen's h) z test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from moflow.design import (
    effect_sizes,
    expected_fdr,
    fdr_alpha,
    feature_power,
    joint_design,
    layer_power_curve,
    samples_needed,
    storey_pi0,
)
from moflow.errors import InputError

M, M1, Q, PI0 = 2000, 200, 0.05, 0.9
SIZES = {"continuous": (5, 10, 20), "counts": (5, 10, 20), "binary": (40, 80, 160)}


# --- simulated studies --------------------------------------------------------------------------


def _truth(kind, rng):
    sign = np.where(rng.random(M1) < 0.5, -1, 1)
    if kind == "continuous":
        d = np.zeros(M)
        d[:M1] = sign * rng.uniform(1.5, 3.0, M1)
        return {"d": d}
    if kind == "counts":
        mu1, phi = np.exp(rng.normal(np.log(50), 1, M)), rng.uniform(0.05, 0.3, M)
        lfc = np.zeros(M)
        lfc[:M1] = sign * rng.uniform(0.8, 1.5, M1)
        return {"mu1": mu1, "mu2": mu1 * 2**lfc, "phi": phi, "lfc": lfc}
    p1 = rng.uniform(0.3, 0.6, M)
    p2 = p1.copy()
    p2[:M1] += sign * 0.2
    return {"p1": p1, "p2": p2}


def _true_es(kind, t):
    if kind == "continuous":
        return pd.DataFrame({"effect": t["d"], "sd": 1.0})
    if kind == "counts":
        return pd.DataFrame({"effect": t["lfc"], "mean1": t["mu1"], "mean2": t["mu2"], "dispersion": t["phi"]})
    return pd.DataFrame({"effect": t["p2"] - t["p1"], "p1": t["p1"], "p2": t["p2"]})


def _draw(kind, t, n, reps, rng):
    """(group 1, group 2), each reps x n x features."""
    shape = (reps, n, M)
    if kind == "continuous":
        return rng.normal(0, 1, shape), rng.normal(t["d"], 1, shape)
    if kind == "counts":
        r = 1 / t["phi"]
        return (
            rng.negative_binomial(r, r / (r + t["mu1"]), shape).astype(float),
            rng.negative_binomial(r, r / (r + t["mu2"]), shape).astype(float),
        )
    return (rng.random(shape) < t["p1"]).astype(float), (rng.random(shape) < t["p2"]).astype(float)


def _pvalues(kind, t, A, B):
    n = A.shape[1]
    if kind == "continuous":
        sd = np.sqrt((A.var(1, ddof=1) + B.var(1, ddof=1)) / 2)
        return 2 * stats.t.sf(np.abs(B.mean(1) - A.mean(1)) / (sd * np.sqrt(2 / n)), 2 * n - 2)
    if kind == "counts":
        return _nb_wald_p(A.mean(1), B.mean(1), t["phi"], n)
    h = 2 * np.arcsin(np.sqrt(B.mean(1))) - 2 * np.arcsin(np.sqrt(A.mean(1)))
    return 2 * stats.norm.sf(np.abs(h) * np.sqrt(n / 2))


def _nb_wald_p(m1, m2, phi, n):
    """Wald test of ln(mu2/mu1) of a two-group NB GLM with known dispersion (MLEs: the group means)."""
    a, b = np.maximum(m1, 0.5 / n), np.maximum(m2, 0.5 / n)
    z = np.log(b / a) / np.sqrt((1 / a + phi) / n + (1 / b + phi) / n)
    return 2 * stats.norm.sf(np.abs(z))


def _bh(p, level):
    """Benjamini-Hochberg rejections along the last axis."""
    m = p.shape[-1]
    s = np.sort(p, axis=-1)
    ok = s <= level * np.arange(1, m + 1) / m
    k = np.where(ok.any(-1), m - np.argmax(ok[..., ::-1], -1), 0)
    thr = np.where(k > 0, np.take_along_axis(s, np.maximum(k - 1, 0)[..., None], -1)[..., 0], -1.0)
    return p <= thr[..., None]


@pytest.fixture(scope="module")
def studies():
    """Per kind: the truth, the analytic curves (true effects) and the empirical powers at each size."""
    out = {}
    for i, kind in enumerate(SIZES):
        rng = np.random.default_rng(10 + i)
        t = _truth(kind, rng)
        es = _true_es(kind, t)
        curve = layer_power_curve(es, kind, SIZES[kind], fdr=Q, effect_threshold=1e-12)
        curve_bh = layer_power_curve(es, kind, SIZES[kind], fdr=PI0 * Q, effect_threshold=1e-12)
        adaptive, plain = [], []
        for n in SIZES[kind]:
            p = _pvalues(kind, t, *_draw(kind, t, n, 50, rng))
            adaptive.append(_bh(p, Q / PI0)[:, :M1].mean())
            plain.append(_bh(p, Q)[:, :M1].mean())
        out[kind] = {
            "truth": t,
            "curve": curve,
            "curve_bh": curve_bh,
            "adaptive": np.array(adaptive),
            "plain": np.array(plain),
            "rng": rng,
        }
    return out


@pytest.mark.parametrize("kind", list(SIZES))
def test_analytic_power_matches_simulated_studies(studies, kind):
    s = studies[kind]
    curve = s["curve"]
    assert curve["pi0"].iloc[0] == pytest.approx(PI0) and (curve["m_nonnull"] == M1).all()
    print(
        f"\n{kind}: n {list(SIZES[kind])} analytic {curve['power'].round(3).tolist()} "
        f"empirical {s['adaptive'].round(3).tolist()} | BH: analytic {s['curve_bh']['power'].round(3).tolist()} "
        f"empirical {s['plain'].round(3).tolist()}"
    )
    np.testing.assert_allclose(curve["power"], s["adaptive"], atol=0.05)
    np.testing.assert_allclose(s["curve_bh"]["power"], s["plain"], atol=0.05)
    assert np.all(np.diff(curve["power"]) > 0) and np.all(np.diff(curve["alpha"]) > 0)
    # the curve's level really is the FDR-controlling one
    for _n, a, pw in curve[["n_per_group", "alpha", "power"]].itertuples(index=False):
        assert expected_fdr(a, pw, PI0) == pytest.approx(Q, abs=1e-6)


@pytest.mark.parametrize("kind", ["continuous", "counts"])
def test_pilot_estimates_are_in_range(studies, kind):
    """A pilot of 10 per group: pi0 from Storey's estimator, power from the estimated effects.
    Only loose bounds are asserted (winner's curse and pi0 error move them by several points)."""
    s = studies[kind]
    A, B = _draw(kind, s["truth"], 10, 1, np.random.default_rng(100))
    X = pd.DataFrame(np.vstack([A[0], B[0]]), columns=[f"f{i}" for i in range(M)])
    es = effect_sizes(X, pd.Series(["ctrl"] * 10 + ["case"] * 10), kind, order=("ctrl", "case"))
    curve = layer_power_curve(es, kind, SIZES[kind], fdr=Q)
    print(
        f"\n{kind} pilot: pi0 {curve['pi0'].iloc[0]:.3f} power {curve['power'].round(3).tolist()} "
        f"vs true-effect {s['curve']['power'].round(3).tolist()}"
    )
    assert abs(curve["pi0"].iloc[0] - PI0) < 0.1
    np.testing.assert_allclose(curve["power"], s["curve"]["power"], atol=0.2)


# --- closed forms --------------------------------------------------------------------------------


def test_t_power_matches_statsmodels():
    from statsmodels.stats.power import TTestIndPower

    d = np.array([0.0, 0.2, -0.5, 0.8, 1.3, 2.5])
    es = pd.DataFrame({"effect": d, "sd": 1.0})
    for n in (3, 8, 25, 60):
        for a in (0.05, 0.01, 1e-4):
            ref = np.array([TTestIndPower().power(effect_size=abs(x), nobs1=n, alpha=a, ratio=1.0) for x in d])
            ours = feature_power(es, "continuous", n, a)
            # statsmodels returns NaN where scipy's nct.cdf(-crit, df, ncp) fails (large ncp); ours does not
            ok = np.isfinite(ref)
            assert np.isfinite(ours).all() and ok[:4].all()
            np.testing.assert_allclose(ours[ok], ref[ok], rtol=1e-6, atol=1e-10)
            np.testing.assert_allclose(
                ours[~ok],
                [stats.nct.sf(stats.t.isf(a / 2, 2 * n - 2), 2 * n - 2, abs(x) * np.sqrt(n / 2)) for x in d[~ok]],
                atol=1e-10,
            )


def test_proportion_power_matches_statsmodels():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    p1 = np.array([0.1, 0.3, 0.5, 0.5, 0.9, 0.02])
    p2 = np.array([0.2, 0.5, 0.5, 0.3, 0.6, 0.1])
    es = pd.DataFrame({"effect": p2 - p1, "p1": p1, "p2": p2})
    for n in (10, 50, 200):
        for a in (0.05, 0.001):
            ref = [
                NormalIndPower().power(effect_size=abs(proportion_effectsize(b, c)), nobs1=n, alpha=a, ratio=1.0)
                for b, c in zip(p2, p1)
            ]
            np.testing.assert_allclose(feature_power(es, "binary", n, a), ref, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize(
    "mu1, mu2, phi, n, alpha",
    [(20, 40, 0.1, 10, 0.05), (100, 150, 0.2, 15, 0.01), (5, 12, 0.05, 8, 0.05), (50, 35, 0.3, 20, 0.001)],
)
def test_nb_wald_power_matches_simulation(mu1, mu2, phi, n, alpha):
    es = pd.DataFrame({"effect": [np.log2(mu2 / mu1)], "mean1": mu1, "mean2": mu2, "dispersion": phi})
    analytic = feature_power(es, "counts", n, alpha)[0]
    rng = np.random.default_rng(7)
    r = 1 / phi
    A = rng.negative_binomial(r, r / (r + mu1), (20000, n)).mean(1)
    B = rng.negative_binomial(r, r / (r + mu2), (20000, n)).mean(1)
    empirical = np.mean(_nb_wald_p(A, B, phi, n) <= alpha)
    assert abs(analytic - empirical) < 0.03, (analytic, empirical)


def test_log2_fold_change_is_base_2_and_wald_uses_natural_log():
    X = pd.DataFrame(
        {"double": [10, 12, 8, 10, 20, 24, 16, 20], "same": [5, 6, 4, 5, 5, 6, 4, 5]}, index=[f"s{i}" for i in range(8)]
    )
    g = pd.Series(["a"] * 4 + ["b"] * 4, index=X.index)
    es = effect_sizes(X, g, "counts", normalize=False).set_index("feature")
    assert es.loc["double", "effect"] == pytest.approx(1.0)  # 2-fold change
    assert es.loc["same", "effect"] == pytest.approx(0.0)
    np.testing.assert_allclose(es[["mean1", "mean2"]].to_numpy(), [[10, 20], [5, 5]])
    one = pd.DataFrame({"effect": [1.0], "mean1": [10.0], "mean2": [20.0], "dispersion": [0.1]})
    z = np.log(2) / np.sqrt((1 / 10 + 0.1) / 6 + (1 / 20 + 0.1) / 6)
    c = stats.norm.isf(0.025)
    assert feature_power(one, "counts", 6, 0.05)[0] == pytest.approx(stats.norm.cdf(z - c) + stats.norm.cdf(-z - c))
    two = pd.concat([one, one.assign(dispersion=0.3)], ignore_index=True)  # n and alpha broadcast per feature
    both = feature_power(two, "counts", np.array([6, 12]), np.array([0.05, 0.01]))
    assert both == pytest.approx(
        [feature_power(two.iloc[[0]], "counts", 6, 0.05)[0], feature_power(two.iloc[[1]], "counts", 12, 0.01)[0]]
    )
    with pytest.raises(InputError):
        feature_power(one, "counts", 1, 0.05)


# --- effect sizes ---------------------------------------------------------------------------------


def test_effect_sizes_recover_planted_parameters():
    rng = np.random.default_rng(3)
    n, mu, phi = 1000, np.array([5.0, 40.0, 200.0]), 0.2
    r = 1 / phi
    A = rng.negative_binomial(r, r / (r + mu), (n, 3))
    B = rng.negative_binomial(r, r / (r + 2 * mu), (n, 3))
    X = pd.DataFrame(np.vstack([A, B]), columns=["x", "y", "z"])
    g = pd.Series(["lo"] * n + ["hi"] * n)
    es = effect_sizes(X, g, "counts", order=("lo", "hi"), normalize=False)
    np.testing.assert_allclose(es["dispersion"], phi, atol=0.03)
    np.testing.assert_allclose(es["effect"], 1.0, atol=0.12)  # about 4 standard errors
    assert es.attrs["group1"] == "lo" and (es["pvalue"] < 1e-10).all()

    Y = pd.DataFrame({"f": [1.0, 2.0, 3.0, np.nan, 4.0, 6.0, 5.0, 9.0]})
    gy = pd.Series(["a"] * 4 + ["b"] * 4)
    e = effect_sizes(Y, gy, "continuous").iloc[0]
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 6.0, 5.0, 9.0])
    sd = np.sqrt((2 * a.var(ddof=1) + 3 * b.var(ddof=1)) / 5)
    assert e["effect"] == pytest.approx((b.mean() - a.mean()) / sd) and e["sd"] == pytest.approx(sd)
    assert e["pvalue"] == pytest.approx(stats.ttest_ind(b, a).pvalue) and (e["n1"], e["n2"]) == (3, 4)

    Z = pd.DataFrame({"m": [0, 0, 1, 1, 1, 1, 1, 0]}, dtype=float)
    e = effect_sizes(Z, gy, "binary").iloc[0]
    assert (e["p1"], e["p2"], e["effect"]) == pytest.approx((0.5, 0.75, 0.25))


def test_effect_sizes_groups_and_bad_input():
    X = pd.DataFrame({"f": [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]}, index=list("abcdef"))
    three = pd.Series(["x", "x", "y", "y", "z", "z"], index=X.index)
    with pytest.raises(InputError, match="two groups"):
        effect_sizes(X, three, "continuous")
    e = effect_sizes(X, three, "continuous", order=("z", "x")).iloc[0]  # the caller picks the pair: x vs z
    assert e["effect"] < 0 and (e["n1"], e["n2"]) == (2, 2)
    cat = pd.Series(pd.Categorical(["y"] * 3 + ["x"] * 3, categories=["y", "x"]), index=X.index)
    assert effect_sizes(X, cat, "continuous").attrs["group1"] == "y"
    shuffled = pd.Series(["b", "b", "b", "a", "a", "a"], index=X.index)[::-1]  # aligned by sample ID
    assert effect_sizes(X, shuffled, "continuous")["effect"].iloc[0] < 0
    with pytest.raises(InputError, match="raw counts"):
        effect_sizes(-X, shuffled, "counts")
    with pytest.raises(InputError, match="0/1"):
        effect_sizes(X, shuffled, "binary")
    with pytest.raises(InputError, match="kind"):
        effect_sizes(X, shuffled, "ordinal")


# --- FDR level, curves ----------------------------------------------------------------------------


def _z_power(deltas):
    d = np.asarray(deltas, float)

    def fn(a):
        c = stats.norm.isf(a / 2)
        return float(np.mean(stats.norm.cdf(d - c) + stats.norm.cdf(-d - c)))

    return fn


@pytest.mark.parametrize(
    "deltas, pi0, fdr",
    [([3.0], 0.9, 0.05), ([1.0, 2.0, 4.0], 0.95, 0.1), ([0.5, 5.0], 0.5, 0.01), ([2.5] * 3, 0.99, 0.2)],
)
def test_fdr_alpha_solves_pounds_cheng(deltas, pi0, fdr):
    fn = _z_power(deltas)
    a = fdr_alpha(fn, 1000, pi0, fdr)
    assert 0 < a < 1
    assert expected_fdr(a, fn(a), pi0) == pytest.approx(fdr, abs=1e-6)
    assert fdr_alpha(fn, 1000, pi0, fdr / 2) < a  # stricter FDR, smaller level


def test_fdr_alpha_edges():
    fn = _z_power([2.0])
    assert fdr_alpha(fn, 100, 0.04, 0.05) == 1.0  # pi0 <= fdr: every test may be called
    assert fdr_alpha(fn, 100, 1.0, 0.05) == 0.0  # no non-null feature
    assert fdr_alpha(fn, 100, 0.995, 0.05) == 0.0  # under one non-null feature among 100
    assert fdr_alpha(lambda a: a, 100, 0.5, 0.05) == 0.0  # power = alpha: no level reaches the target
    with pytest.raises(InputError):
        fdr_alpha(fn, 100, 0.9, 1.5)
    assert storey_pi0([0.1, 0.2, 0.6, 0.9]) == pytest.approx(1.0) and storey_pi0([0.01] * 9 + [0.7]) == 0.2


def test_curve_selection_and_samples_needed():
    d = np.r_[np.full(20, 1.5), np.full(80, 0.3), np.zeros(100)]
    es = pd.DataFrame({"effect": d, "sd": 1.0, "pvalue": np.r_[np.full(100, 0.01), np.linspace(0.01, 1, 100)]})
    thr = layer_power_curve(es, "continuous", [5, 10, 20, 40], effect_threshold=1.0)
    assert (thr["m_nonnull"] == 20).all() and thr["pi0"].iloc[0] == pytest.approx(0.9)
    storey = layer_power_curve(es, "continuous", [5, 10, 20, 40])
    assert storey["pi0"].iloc[0] == pytest.approx(storey_pi0(es["pvalue"]))
    assert storey["m_nonnull"].iloc[0] == round((1 - storey["pi0"].iloc[0]) * 200)
    fixed = layer_power_curve(es, "continuous", [5, 10, 20, 40], pi0=0.9)  # the top 20 by effect
    np.testing.assert_allclose(
        fixed["power"], layer_power_curve(es, "continuous", [5, 10, 20, 40], pi0=0.9, effect_threshold=1.0)["power"]
    )
    n = samples_needed(thr, 0.8)
    assert n == thr.loc[thr["power"] >= 0.8, "n_per_group"].min()
    assert np.isnan(samples_needed(thr, 1.01))
    none = layer_power_curve(es.assign(effect=0.0), "continuous", [5, 10], effect_threshold=0.5)
    assert none["power"].isna().all() and (none["alpha"] == 0).all()


# --- joint design ----------------------------------------------------------------------------------


def _curve(sizes, powers):
    return pd.DataFrame({"n_per_group": sizes, "power": powers})


def _random_curves(rng, k, sizes):
    out = {}
    for i in range(k):
        p = np.sort(rng.uniform(0, 1, len(sizes)))
        out[f"L{i}"] = _curve(sizes, p)
    return out


def _brute(curves, target, min_power, costs):
    names = list(curves)
    best = None
    for combo in itertools.product(*(curves[k].itertuples(index=False) for k in names)):
        pw = [r.power for r in combo]
        if min(pw) >= min_power and np.mean(pw) >= target:
            cost = sum(costs[k] * r.n_per_group for k, r in zip(names, combo))
            best = cost if best is None else min(best, cost)
    return best


def test_equal_design_matches_brute_force():
    rng = np.random.default_rng(5)
    sizes = [4, 6, 8, 12, 16, 24, 32]
    for _ in range(20):
        curves = _random_curves(rng, 3, sizes)
        target, floor = rng.uniform(0.4, 0.8), rng.uniform(0.1, 0.5)
        out = joint_design(curves, target, floor)["equal_n"]
        hits = [
            n
            for j, n in enumerate(sizes)
            if min(c["power"][j] for c in curves.values()) >= floor
            and np.mean([c["power"][j] for c in curves.values()]) >= target
        ]
        if hits:
            assert out["feasible"] and set(out["n_per_group"].values()) == {hits[0]}
            assert out["power"] == {k: c["power"][sizes.index(hits[0])] for k, c in curves.items()}
        else:
            assert not out["feasible"] and out["message"].startswith("Infeasible")


def test_cost_design_matches_enumeration():
    rng = np.random.default_rng(6)
    sizes = [3, 5, 8, 13, 21, 34]
    for _ in range(12):
        curves = _random_curves(rng, 3, sizes)
        costs = {k: float(rng.choice([1, 2, 5, 10])) for k in curves}
        target, floor = rng.uniform(0.3, 0.8), rng.uniform(0.1, 0.5)
        out = joint_design(curves, target, floor, costs)["cost_optimal"]
        best = _brute(curves, target, floor, costs)
        if best is None:
            assert not out["feasible"] and "Infeasible" in out["message"]
        else:
            assert out["feasible"] and out["total_cost"] == pytest.approx(best)
            pw = list(out["power"].values())
            assert min(pw) >= floor and np.mean(pw) >= target - 1e-12


def test_costs_shift_samples_to_the_cheaper_layer():
    sizes = [5, 10, 15, 20, 30, 40]
    same = [0.2, 0.45, 0.62, 0.74, 0.86, 0.92]
    curves = {"rna": _curve(sizes, same), "metab": _curve(sizes, same)}
    flat = joint_design(curves, 0.8, 0.5)
    assert flat["equal_n"]["n_per_group"] == {"rna": 30, "metab": 30}
    costly = joint_design(curves, 0.8, 0.5, costs={"rna": 10.0, "metab": 1.0})
    n = costly["cost_optimal"]["n_per_group"]
    assert n["metab"] > n["rna"], n
    assert costly["cost_optimal"]["total_cost"] < costly["equal_n"]["total_cost"] == 330.0
    assert costly["costs"] == {"rna": 10.0, "metab": 1.0}


def test_infeasible_designs_say_so():
    curves = {"a": _curve([5, 10], [0.3, 0.5]), "b": _curve([5, 10], [0.9, 0.95])}
    out = joint_design(curves, 0.8, 0.6)
    for key in ("equal_n", "cost_optimal"):
        assert not out[key]["feasible"] and np.isnan(out[key]["total_cost"]) and out[key]["n_per_group"] == {}
        assert "Infeasible" in out[key]["message"]
    assert "a" in out["cost_optimal"]["message"]
    with pytest.raises(InputError, match="cost"):
        joint_design(curves, 0.8, 0.6, costs={"a": 1.0})
