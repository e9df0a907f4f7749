"""Recalibrated strategies (moflow.integrate.recalibration): an overconfident strategy's probabilities are
brought back to calibration by Platt scaling and isotonic regression fitted on its training side only, the
workflow's tasks score the recalibrated rows beside the others, and a non-class outcome is refused."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from test_bad_inputs import Project

from moflow import io
from moflow.errors import ConfigError
from moflow.evaluate.calibration import intercept_slope
from moflow.integrate import Recalibrated


class Overconfident(BaseEstimator):
    """p(case) = sigmoid(3 x): the truth is sigmoid(x), so its probabilities are far too extreme."""

    def fit(self, layers, y, *, shared=None):
        self.layers_ = ["a"]
        self.classes_ = np.array(sorted(y.astype(str).unique()))
        return self

    def predict_table(self, layers, **kwargs):
        x = layers["a"]["x"].to_numpy(float)
        p = 1 / (1 + np.exp(-3 * x))
        return pd.DataFrame({"p_case": p, "p_control": 1 - p}, index=layers["a"].index)


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-x)), "case", "control")
    idx = [f"s{seed}_{i}" for i in range(n)]
    return {"a": pd.DataFrame({"x": x}, index=idx)}, pd.Series(y, index=idx)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_an_overconfident_strategy_is_recalibrated_on_its_training_side(method):
    layers, y = _data(3000, 0)
    new_layers, new_y = _data(5000, 1)
    raw = Overconfident().fit(layers, y).predict_table(new_layers)["p_case"].to_numpy()
    model = Recalibrated(Overconfident, method=method, inner_folds=3, seed=0).fit(layers, y)
    fixed = model.predict_table(new_layers)
    p = fixed["p_case"].to_numpy()
    hit = (new_y == "case").to_numpy(float)
    assert np.allclose(fixed["p_case"] + fixed["p_control"], 1)
    # the model bundle pickles it: the same predictions after a round trip
    again = pickle.loads(pickle.dumps(model)).predict_table(new_layers)
    pd.testing.assert_frame_equal(again, fixed)
    assert np.mean((p - hit) ** 2) < np.mean((raw - hit) ** 2) - 0.01  # Brier score better

    def ece(q):  # expected calibration error over 10 bins of the probability
        which = np.minimum((q * 10).astype(int), 9)
        return sum(abs(q[which == b].mean() - hit[which == b].mean()) * (which == b).mean() for b in np.unique(which))

    assert ece(raw) > 0.08 and ece(p) < 0.03, (ece(raw), ece(p))
    if method == "platt":  # a logistic map: the slope of the outcome on the logit is back near 1
        _, raw_slope = intercept_slope(hit, raw)
        _, slope = intercept_slope(hit, p)
        assert raw_slope < 0.45 and abs(slope - 1) < 0.15, (raw_slope, slope)


def test_three_classes_are_recalibrated_one_against_the_rest_and_sum_to_one():
    rng = np.random.default_rng(2)
    n = 900
    idx = [f"s{i}" for i in range(n)]
    y = pd.Series(rng.choice(["a", "b", "c"], n), index=idx)

    class Flat(Overconfident):
        def predict_table(self, layers, **kwargs):
            k = len(layers["a"])
            return pd.DataFrame({"p_a": np.full(k, 0.6), "p_b": 0.3, "p_c": 0.1}, index=layers["a"].index)

    model = Recalibrated(Flat, method="platt", inner_folds=3).fit({"a": pd.DataFrame({"x": 0.0}, index=idx)}, y)
    P = model.predict_table({"a": pd.DataFrame({"x": [0.0]}, index=["new"])})
    assert np.allclose(P[["p_a", "p_b", "p_c"]].sum(axis=1), 1)
    assert np.allclose(P[["p_a", "p_b", "p_c"]].to_numpy(), 1 / 3, atol=0.05)  # the classes' shares


def test_the_recalibrated_rows_are_scored_beside_the_others(tmp_path):
    from test_model import _cohort

    from moflow.tasks import cv_fold, cv_splits

    project = _cohort(Project(tmp_path))
    project.config["evaluation"] |= {"recalibration": ["platt"], "strategies": ["early"]}
    settings, _, _ = project.startup()
    _, _, matrices, _ = project.inputs()
    samples = io.read_sheet(project.path("config/samples.tsv"))
    omics = io.read_sheet(project.path("config/omics.tsv"))
    splits = cv_splits(samples, omics, settings)["splits"]
    pred = cv_fold(matrices, splits, ["r1f1"], samples, omics, settings)["predictions"]
    rows = set(pred["strategy"])
    assert {"early", "early+clinical", "early+platt"} <= rows and "early+platt+clinical" not in rows
    early, fixed = (pred[pred["strategy"] == s].set_index("sample")["p_case"] for s in ("early", "early+platt"))
    assert early.index.equals(fixed.index) and not np.allclose(early, fixed)
    # the recalibration is monotone: the samples keep their order
    assert (early.rank() == fixed.rank()).all()


def test_recalibration_of_a_continuous_outcome_is_refused_at_start(tmp_path):
    from test_conformal import _cohort

    project = _cohort(Project(tmp_path), "regression", seed=3)
    project.config["evaluation"]["recalibration"] = ["platt"]
    with pytest.raises(ConfigError, match="recalibration \\(platt\\) recalibrates class probabilities"):
        project.startup()
