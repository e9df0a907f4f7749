"""Calibration of out-of-fold probabilities (moflow.evaluate.calibration), on planted probabilities: calibrated
ones score intercept ~0 and slope ~1, overconfident ones a slope below 1, shifted ones the shift as
intercept; the decision curve of a perfect predictor, treat-all and a useless predictor; survival's
predicted against observed by risk group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow.evaluate.calibration import (
    calibration_table,
    decision_curve,
    expected_calibration_error,
    intercept_slope,
    reliability_table,
    survival_calibration,
)


def _cv(p: np.ndarray, y: np.ndarray, strategy: str = "s", repeats: int = 2) -> pd.DataFrame:
    """``repeats`` repeats of 5 folds over the same samples: p_b = p, y_true a/b."""
    rows = []
    n = len(p)
    for r in range(1, repeats + 1):
        for i in range(n):
            rows.append(
                {
                    "split": f"r{r}f{i % 5 + 1}",
                    "strategy": strategy,
                    "sample": f"S{i}",
                    "y_true": "b" if y[i] else "a",
                    "p_a": 1 - p[i],
                    "p_b": p[i],
                }
            )
    return pd.DataFrame(rows)


def _planted(n=4000, seed=0, scale=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    lp = rng.normal(0, 1.5, n)
    y = rng.random(n) < 1 / (1 + np.exp(-lp))
    p = 1 / (1 + np.exp(-(scale * lp + shift)))
    return p, y


def test_calibrated_probabilities_score_intercept_zero_and_slope_one():
    p, y = _planted()
    a, b = intercept_slope(y, p)
    assert abs(a) < 0.1 and abs(b - 1) < 0.1
    codes = y.astype(int)
    assert expected_calibration_error(codes, np.column_stack([1 - p, p])) < 0.03


def test_overconfident_probabilities_score_a_slope_below_one_and_shifted_ones_the_shift():
    p, y = _planted(scale=3.0)
    assert abs(intercept_slope(y, p)[1] - 1 / 3) < 0.05
    p, y = _planted(shift=1.0)
    a, b = intercept_slope(y, p)
    assert abs(a + 1.0) < 0.12 and abs(b - 1) < 0.1
    assert expected_calibration_error(y.astype(int), np.column_stack([1 - p, p])) > 0.06


def test_the_table_per_strategy_and_the_naive_brier():
    p, y = _planted(n=4000)
    prev = y.mean()
    cv = pd.concat([_cv(p, y, "model"), _cv(np.full(len(y), prev), y, "naive")], ignore_index=True)
    table = calibration_table(cv, ["a", "b"], positive="b").set_index("strategy")
    assert list(table.index) == ["model", "naive"] and (table["n_repeats"] == 2).all()
    assert table.loc["naive", "brier"] == pytest.approx(prev * (1 - prev), abs=1e-9)
    assert table.loc["model", "brier"] < table.loc["naive", "brier"]
    assert np.isnan(table.loc["naive", "calibration_slope"])  # one probability for all: no slope
    assert abs(table.loc["naive", "calibration_intercept"]) < 1e-6
    rel = reliability_table(cv, ["a", "b"], positive="b")
    model = rel[rel["strategy"] == "model"]
    assert (model["n"].sum() == 2 * len(y)) and np.abs(model["mean_predicted"] - model["observed"]).max() < 0.1


def test_decision_curve_perfect_useless_and_treat_all():
    rng = np.random.default_rng(1)
    y = rng.random(2000) < 0.3
    perfect = _cv(y.astype(float), y, "perfect")
    useless = _cv(rng.random(len(y)), y, "useless")
    dc = decision_curve(pd.concat([perfect, useless]), ["a", "b"], positive="b").set_index(["strategy", "threshold"])
    prev = y.mean()
    assert dc.loc[("perfect", 0.2), "net_benefit"] == pytest.approx(prev)
    assert dc.loc[("treat all", 0.2), "net_benefit"] == pytest.approx(prev - (1 - prev) * 0.25)
    for t in (0.1, 0.3, 0.5):  # a random score is no better than treating all or none
        assert dc.loc[("useless", t), "net_benefit"] <= max(dc.loc[("treat all", t), "net_benefit"], 0) + 0.02
    assert decision_curve(perfect.assign(p_c=0.0), ["a", "b", "c"]).empty


def test_survival_predicted_against_observed_by_risk_group():
    rng = np.random.default_rng(2)
    n = 3000
    high = rng.random(n) < 0.5
    rate = np.where(high, 0.3, 0.1)
    time = rng.exponential(1 / rate)
    cv = pd.DataFrame(
        {
            "strategy": "s",
            "time": time,
            "event": 1,
            "risk_group": np.where(high, "high", "low"),
            "S@2": np.exp(-rate * 2),
            "S@5": np.exp(-rate * 5),
        }
    )
    table = survival_calibration(cv).set_index(["risk_group", "time"])
    assert np.abs(table["predicted"] - table["observed"]).max() < 0.03
    assert table.loc[("high", 5.0), "observed"] < table.loc[("low", 5.0), "observed"]


def test_regression_calibration_in_the_large_and_slope():
    """Predictions of the conditional mean: in the large ~0, slope ~1; spread twice too far: slope ~1/2; shifted
    by 1: in the large ~-1."""
    from moflow.evaluate.calibration import regression_calibration

    rng = np.random.default_rng(4)
    n = 3000
    mu = rng.normal(size=n)
    y = mu + rng.normal(size=n)
    rows = []
    for name, pred in (("good", mu), ("spread", 2 * mu), ("shifted", mu + 1)):
        rows += [
            {"split": f"r{r}f{i % 5 + 1}", "strategy": name, "y_true": y[i], "prediction": pred[i]}
            for r in (1, 2)
            for i in range(n)
        ]
    table = regression_calibration(pd.DataFrame(rows)).set_index("strategy")
    assert (
        abs(table.loc["good", "calibration_in_the_large"]) < 0.06
        and abs(table.loc["good", "calibration_slope"] - 1) < 0.06
    )
    assert abs(table.loc["spread", "calibration_slope"] - 0.5) < 0.04
    assert abs(table.loc["shifted", "calibration_in_the_large"] + 1) < 0.06
