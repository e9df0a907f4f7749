"""Conformal prediction sets and intervals (moflow.model.conformal, .conformal_check): the finite-sample
threshold, per-class (Mondrian) coverage on an imbalanced outcome, and, on simulated cohorts through the
workflow's own tasks, coverage measured inside the outer splits within 3 points of the 90% target, where
thresholds taken from the training samples' own (in-sample) predictions fall far short."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_bad_inputs import Project

from moflow import io
from moflow.evaluate.ranking import kind_of
from moflow.model import apply_conformal, conformal_quantile, conformal_scores, covered, fit_conformal
from moflow.tasks import coverage_fold, cv_fold, cv_splits, fit_model, model_coverage


def test_the_threshold_is_the_finite_sample_quantile():
    s = np.arange(1, 20, dtype=float)  # 19 scores: at 90%, the ceil(0.9 * 20) = 18th smallest
    assert conformal_quantile(s, 0.9) == 18.0
    assert conformal_quantile(s[:8], 0.9) == math.inf  # 8 < 9 samples: no finite threshold
    assert conformal_quantile(np.arange(9.0), 0.9) == 8.0
    # two repeats pooled, 10 distinct samples: the level is ceil(0.9 * 11) / 10 = 1.0 -> the largest score
    assert conformal_quantile(np.r_[np.arange(10.0), np.arange(10.0) + 0.5], 0.9, n=10) == 9.5


def _probabilities(n: int, rng, prevalence: float) -> pd.DataFrame:
    """A calibrated classifier's out-of-fold rows: p(case) drawn, the label drawn from it."""
    logit = rng.normal(np.log(prevalence / (1 - prevalence)), 1.5, n)
    p = 1 / (1 + np.exp(-logit))
    y = np.where(rng.random(n) < p, "case", "control")
    rows = {"split": "r1f1", "sample": [f"s{i}" for i in range(n)], "y_true": y}
    return pd.DataFrame(rows | {"p_case": p, "p_control": 1 - p})


def test_each_class_is_covered_at_the_target_not_only_the_samples_on_average():
    rng = np.random.default_rng(0)
    cal, new = _probabilities(20000, rng, 0.1), _probabilities(20000, rng, 0.1)
    conf = fit_conformal(cal, "classification", 0.9, classes=["case", "control"])
    hit = covered(apply_conformal(conf, new), new["y_true"])
    for label in ("case", "control"):
        assert abs(hit[new["y_true"] == label].mean() - 0.9) < 0.02, label
    # a marginal threshold (one for all samples) covers the rare class far less: what per class avoids
    q = conformal_quantile(conformal_scores(cal, "classification"), 0.9)  # one threshold for every class
    rare = new[new["y_true"] == "case"]
    assert ((1 - rare["p_case"]) <= q).mean() < 0.8


def test_a_class_with_too_few_calibration_samples_is_in_every_set_and_said():
    rng = np.random.default_rng(1)
    cal = _probabilities(200, rng, 0.5)
    cal = pd.concat([cal, cal.iloc[:5].assign(y_true="rare", sample=lambda d: d["sample"] + "r")], ignore_index=True)
    cal["p_rare"] = 0.01
    conf = fit_conformal(cal, "classification", 0.9, classes=["case", "control", "rare"])
    assert conf.thresholds["rare"] == math.inf and "rare (5 calibration samples)" in conf.note
    assert "needs 9" in conf.note
    sets = apply_conformal(conf, cal)
    assert sets["prediction_set"].str.contains("rare").all()


def test_an_interval_is_the_prediction_plus_minus_the_residual_quantile():
    rng = np.random.default_rng(2)
    n = 4000
    y = rng.normal(size=n)
    cal = pd.DataFrame({"sample": range(n), "y_true": y, "prediction": y + rng.normal(0, 0.5, n)})
    conf = fit_conformal(cal, "regression", 0.8)
    assert conf.thresholds[""] == pytest.approx(0.5 * 1.2816, rel=0.05)  # |N(0, 0.5)|'s 80% quantile
    iv = apply_conformal(conf, cal.iloc[:3])
    assert np.allclose(iv["interval_upper"] - iv["interval_lower"], 2 * conf.thresholds[""])


# -- through the workflow's tasks: coverage measured inside the outer splits ---------------------------------------

N = 360


def _cohort(project: Project, task: str, seed: int) -> Project:
    """One wide layer (300 features, 12 carrying the signal) and an outcome that follows it with noise."""
    rng = np.random.default_rng(seed)
    samples = [f"S{i:03d}" for i in range(N)]
    z = rng.normal(size=N)
    X = rng.normal(size=(N, 300))
    X[:, :12] += 0.7 * z[:, None]
    sheet = {"sample": samples}
    if task == "classification":  # imbalanced: about 30% cases
        sheet["outcome"] = np.where(z + 0.8 * rng.normal(size=N) > 0.6, "case", "control")
        project.config = {"outcome": {"column": "outcome", "positive": "case"}}
    else:
        sheet["outcome"] = np.round(z + 0.6 * rng.normal(size=N), 4).astype(str)
        project.config = {"outcome": {"column": "outcome", "type": "continuous"}}
    project.sheet = pd.DataFrame(sheet)
    project.continuous_layers(samples, {"expr": (X, "g", "")})
    project.config |= {
        "samples": "config/samples.tsv",
        "omics": "config/omics.tsv",
        "evaluation": {"folds": 5, "repeats": 1, "strategies": ["early"], "baselines": ["naive"]},
        "predictor": {"strategy": "single_expr"},
        "design": {"enabled": False},
    }
    return project


def _coverage(root, task: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    root.mkdir(parents=True, exist_ok=True)
    project = _cohort(Project(root), task, seed)
    settings, _, _ = project.startup()
    _, _, matrices, _ = project.inputs()
    samples = io.read_sheet(project.path("config/samples.tsv"))
    omics = io.read_sheet(project.path("config/omics.tsv"))
    splits = cv_splits(samples, omics, settings)["splits"]
    names = list(dict.fromkeys(splits["split"]))
    predictions = cv_fold(matrices, splits, names, samples, omics, settings)["predictions"]
    names_ = list(dict.fromkeys(predictions["strategy"]))
    board = pd.DataFrame({"strategy": names_, "kind": [kind_of(s) for s in names_]})
    from moflow.model import check_splits, fold_pairs

    pairs = fold_pairs(check_splits(splits))
    rows = coverage_fold(matrices, splits, board, samples, omics, settings, pairs)["rows"]
    out = model_coverage(rows, predictions, splits, board, samples, omics, settings)
    bundle = fit_model(matrices, board, predictions, samples, omics, settings)
    context = {"bundle": bundle, "settings": settings, "matrices": matrices, "samples": samples, "omics": omics}
    return out["coverage"], predictions, context | {"splits": splits}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_coverage_measured_in_the_outer_splits_is_within_3_points_of_the_target(tmp_path, task):
    # three cohorts of 360 samples: each coverage has a standard error of about 1.6 points
    seen = {}
    for seed in (5, 6, 7):
        table, predictions, extra = _coverage(tmp_path / str(seed), task, seed=seed)
        seen[seed] = table[(table["scope"] == "cv") & (table["group"] == "all")].iloc[0]["coverage"]
    assert abs(np.mean(list(seen.values())) - 0.9) <= 0.03 and all(abs(c - 0.9) <= 0.05 for c in seen.values()), seen
    overall = table[(table["scope"] == "cv") & (table["group"] == "all")].iloc[0]
    assert overall["n"] == N and overall["target"] == 0.9
    assert overall["coverage_low"] < overall["coverage"] < overall["coverage_high"]
    if task == "classification":
        assert 1.0 <= overall["mean_set_size"] < 2.0  # informative: not every class every time
        per_class = table[(table["scope"] == "cv") & (table["group"] != "all")].set_index("group")
        assert set(per_class.index) == {"case", "control"} and (per_class["coverage"] > 0.84).all()
    else:
        assert 0 < overall["median_width"] < 4 * predictions["y_true"].astype(float).std()

    # the check can fail: thresholds from the training samples' own predictions (the model has seen their
    # outcome) are too tight and cover far less than 90%
    from moflow.evaluate import run_fold, split_members
    from moflow.integrate import build_strategies
    from moflow.preprocess import build_preprocessors
    from moflow.tasks._common import load_cohort

    settings = extra["settings"]
    cohort = load_cohort(extra["samples"], extra["omics"], settings)
    train, _ = split_members(extra["splits"], "r1f1")  # (the last cohort's)
    strategies = build_strategies(cohort.omics, settings, cohort.task, sheet=cohort.sheet)
    pps = build_preprocessors(cohort.omics, settings, cohort.info)
    only = {"single_expr": strategies["single_expr"]}
    seen = run_fold(extra["matrices"], pps, only, cohort.y, train, train, task=cohort.task)
    held = predictions[(predictions["split"] == "r1f1") & (predictions["strategy"] == "single_expr")]
    classes = sorted(cohort.y.loc[train].astype(str).unique()) if task == "classification" else None
    naive = fit_conformal(seen[seen["strategy"] == "single_expr"], task, 0.9, classes=classes)
    assert covered(apply_conformal(naive, held), held["y_true"]).mean() < 0.8


def test_the_bundle_carries_the_thresholds_of_the_out_of_fold_predictions(tmp_path):
    from moflow.model import cv_predictions, load_bundle

    _, predictions, extra = _coverage(tmp_path, "classification", seed=6)
    out = extra["bundle"]
    bundle = load_bundle(out["bundle"], out["manifest"])
    expect = fit_conformal(cv_predictions(predictions, "single_expr"), "classification", 0.9, classes=bundle.classes)
    assert bundle.conformal.thresholds == expect.thresholds
    labels = predictions.loc[predictions["strategy"] == "single_expr", "y_true"]
    assert bundle.conformal.n_calibration == {c: int((labels == c).sum()) for c in ("case", "control")}


def test_two_folds_are_too_few_for_the_check_and_it_says_so():
    from moflow.model import conformal_check, fold_pairs

    assert fold_pairs(["r1f1", "r1f2"]) == []
    assert fold_pairs(["r1f1", "r1f2", "r1f3"]) == ["r1f1|r1f2", "r1f1|r1f3", "r1f2|r1f3"]
    splits = pd.DataFrame(
        [
            {"split": f"r1f{k}", "sample": f"s{i}", "role": "test" if i % 2 == k - 1 else "train"}
            for k in (1, 2)
            for i in range(6)
        ]
    )
    rows = conformal_check(
        pd.DataFrame({"pair": []}), pd.DataFrame({"strategy": []}), splits, None, "early", coverage=0.9
    )
    assert list(rows["split"]) == ["r1f1", "r1f2"] and rows["note"].str.contains("needs 3 outer folds").all()


def test_a_coverage_that_could_not_be_measured_is_said_in_the_table_the_decisions_and_the_predict_page():
    from types import SimpleNamespace

    from moflow.model import Conformal, coverage_summary, predictions_page
    from moflow.report.decisions import decisions

    rows = pd.DataFrame(
        [
            {
                "scope": "cv",
                "split": f"r1f{k}",
                "note": "the model without r1f1 and r1f2 (4 training samples) cannot be fit",
            }
            for k in (1, 2, 3)
        ]
    )
    table = coverage_summary(rows, 0.9, "mofa")
    assert table[["scope", "group", "n"]].values.tolist() == [["cv", "all", 0]]
    assert "cannot be fit" in table["note"].iloc[0]
    said = decisions(layers=["protein"], coverage=table)
    row = said[said["decision"].str.contains("not measured inside the outer splits")]
    assert len(row) == 1 and "4 training samples" in row["reason"].iloc[0]
    conf = Conformal("classification", 0.9, {"a": 0.5, "b": 0.5}, {"a": 6, "b": 6}, classes=["a", "b"])
    bundle = SimpleNamespace(
        strategy="mofa", chosen_by="best in nested CV", train=list(range(12)), conformal=conf, coverage=table
    )
    page = predictions_page(
        bundle,
        pd.DataFrame({"sample": ["n1"], "p_a": [0.7], "notes": [""]}),
        pd.DataFrame({"layer": ["protein"]}),
        manifest={"versions": {"moflow": "x"}, "sha256": "0" * 64},
        bundle_path="bundle.pkl",
    )
    assert "was not measured" in page and "4 training samples" in page


def test_outer_splits_that_could_not_be_checked_are_named_beside_the_measured_coverage():
    from moflow.model import coverage_summary

    measured = pd.DataFrame(
        {
            "scope": "cv",
            "split": "r1f1",
            "sample": ["a", "b"],
            "y_true": ["x", "y"],
            "prediction_set": ["x", "x|y"],
            "set_size": [1.0, 2.0],
            "covered": [1.0, 1.0],
            "note": "",
        }
    )
    failed = pd.DataFrame([{"scope": "cv", "split": "r1f2", "note": "the model without r1f2 and r1f3 cannot be fit"}])
    table = coverage_summary(pd.concat([measured, failed], ignore_index=True), 0.9, "early").set_index("group")
    assert table.loc["all", "n"] == 2 and "r1f2 not checked: the model without" in table.loc["all", "note"]
