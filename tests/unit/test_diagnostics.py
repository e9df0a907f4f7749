"""Diagnostics: batch/outcome association, missingness summaries, per-step batch diagnostics and the
extra outputs of the preprocessing report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from unit_helpers import make_preprocessors

from moflow.errors import InputError
from moflow.preprocess import IMPUTATION_COLUMNS
from moflow.preprocess.diagnostics import (
    batch_diagnostics,
    batch_outcome_association,
    correlation_ratio,
    cramers_v,
    missingness_summary,
    missingness_table,
    step_diagnostics,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_cramers_v_limits():
    a = np.repeat(["b1", "b2", "b3"], 40)
    assert cramers_v(a, a) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert cramers_v(a, rng.choice(["x", "y"], len(a))) < 0.2
    # a 2 x 2 table with known chi-square: V = |phi|
    b = np.r_[["x"] * 30 + ["y"] * 10, ["x"] * 10 + ["y"] * 30]
    g = np.repeat(["g1", "g2"], 40)
    assert cramers_v(g, b) == pytest.approx(0.5)
    assert cramers_v(g, np.repeat("x", 80)) == 0.0


def test_correlation_ratio_and_association():
    g = np.repeat(["a", "b"], 10)
    v = np.r_[np.zeros(10), np.ones(10)]
    assert correlation_ratio(g, v) == pytest.approx(1.0)
    assert correlation_ratio(g, np.tile([0.0, 1.0], 10)) == pytest.approx(0.0)
    batch = pd.Series(np.repeat(["b1", "b2", "b3"], 4))
    y = pd.Series(["case", "control"] * 4 + ["case"] * 4)
    assoc = batch_outcome_association(batch, y)
    assert assoc["statistic"] == "cramers_v" and assoc["single_level_batches"] == [("b3", "case")]
    cont = batch_outcome_association(batch, pd.Series(np.arange(12.0)))
    assert cont["statistic"] == "correlation_ratio" and cont["value"] > 0.9


def test_missingness_table_and_summary():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(20, 2, (30, 50)), index=[f"S{i}" for i in range(30)])
    X = X.mask(X < 18.5)  # left-censored
    t = missingness_table(X, batch=pd.Series("b1", index=X.index), outcome=pd.Series("a", index=X.index))
    assert list(t.columns) == ["sample", "missing_fraction", "batch", "outcome"]
    np.testing.assert_allclose(t["missing_fraction"], X.isna().mean(axis=1))
    s = missingness_summary(X)
    assert s["missing_fraction"] == pytest.approx(float(X.isna().to_numpy().mean()))
    assert not s["missing_at_random"]
    assert s["censoring_threshold"] == pytest.approx(18.5, abs=0.6)


def test_step_diagnostics_follow_the_batch_correction(cohort, info, outcome):
    pp = make_preprocessors(info)["protein"]
    out, trace = pp.fit_trace(cohort.layers["protein"], outcome)
    assert list(trace) == ["normalize", "filter", "impute", "batch", "scale"]  # imputation before batch correction
    pd.testing.assert_frame_equal(trace["scale"], out)
    table, coords = step_diagnostics(trace, batch=info["batch"], outcome=outcome)
    t = table.set_index("stage")
    assert t.loc["after_filter", "silhouette_batch"] > 0.3
    assert t.loc["after_batch", "silhouette_batch"] < 0.1
    assert t.loc["after_impute", "missing_fraction"] == 0.0 < t.loc["after_filter", "missing_fraction"]
    assert set(coords["stage"]) == set(t.index) and {"PC1", "PC2", "batch", "outcome"} <= set(coords.columns)
    # the transform-mode trace of the fitted chain ends where transform ends
    again, trace2 = pp.transform_trace(cohort.layers["protein"])
    pd.testing.assert_frame_equal(again, pp.transform(cohort.layers["protein"]))
    assert list(trace2) == list(trace)
    d = batch_diagnostics(out, batch=info["batch"], outcome=outcome)
    assert d["r2_batch"] < 0.1


def _sheet(cohort):
    sheet = cohort.sheet.copy()
    sheet["sample_type"] = sheet["sample_type"].replace("", "sample")
    return sheet.set_index("sample", drop=False)


CONFIG = dict(seed=0)


def _report(X, row, sheet, config):
    from moflow.cohort import make_cohort
    from moflow.preprocess import layer_report
    from moflow.settings import Settings

    settings = Settings.defaults(**config)
    omics = pd.DataFrame([row]).set_index("layer", drop=False)
    return layer_report(X, row, make_cohort(sheet, omics, settings), settings)


def test_layer_report_extras(cohort):
    row = pd.Series({"layer": "protein", "kind": "proteomics_intensity", "batch_column": "batch", "log_scale": "true"})
    r = _report(cohort.layers["protein"], row, _sheet(cohort), CONFIG)
    diag, steps = r.diagnostics, r.steps
    more = {"imputation": r.imputation, "missingness": r.missingness, "pca_steps": r.pca_steps}
    stages = list(diag["stage"])
    assert stages[:2] == ["before_batch_correction", "after"]
    assert {"after_normalize", "after_batch", "after_scale"} <= set(stages)
    assert "batch_outcome_cramers_v" in diag.columns
    imp = more["imputation"]
    assert list(imp.columns) == IMPUTATION_COLUMNS
    assert imp["chosen"].sum() == 1 and imp.loc[imp["chosen"], "method"].iloc[0] == "knn"  # auto's choice here
    assert (imp["mode"] == "auto").all()
    assert len(more["missingness"]) == len(cohort.layers["protein"])
    assert set(more["pca_steps"]["stage"]) == {s for s in stages if s.startswith("after_")}
    assert "summary" in steps.columns
    # auto: the table is the one the choice was made by
    cfg = {**CONFIG, "preprocess": {"protein": {"impute": {"method": "auto", "candidates": ["halfmin", "knn"]}}}}
    imputation = _report(cohort.layers["protein"], row, _sheet(cohort), cfg).imputation
    assert (imputation["mode"] == "auto").all()
    assert set(imputation["method"]) == {"halfmin", "knn", "mean"}


def test_config_confounding_guard_reaches_batch_correction(cohort):
    from moflow.cohort import sample_info
    from moflow.preprocess import build_preprocessor
    from moflow.settings import Settings

    sheet = _sheet(cohort)
    row = pd.Series({"layer": "protein", "kind": "proteomics_intensity", "batch_column": "batch", "log_scale": "true"})
    # an outcome that follows batch
    conf = sheet.copy()
    is_sample = conf["sample_type"] == "sample"
    conf.loc[is_sample, "outcome"] = np.where(conf.loc[is_sample, "batch"] == "b1", "case", "control")
    with pytest.raises(InputError, match=r"layer 'protein', step batch: ComBat: batch and outcome are confounded"):
        _report(cohort.layers["protein"], row, conf, CONFIG)
    settings = Settings.defaults(**CONFIG)
    pp = build_preprocessor(
        row,
        Settings.defaults(**CONFIG, batch_confounding={"max_association": 0.5, "allow": True}),
        sample_info(sheet, settings),
    )
    assert pp.settings["batch"]["allow_confounded"] is True and pp.settings["batch"]["max_association"] == 0.5
    # a layer's own option wins over the config-wide default
    cfg = Settings.defaults(**CONFIG, preprocess={"protein": {"batch": {"allow_confounded": True}}})
    assert build_preprocessor(row, cfg, sample_info(sheet, settings)).settings["batch"]["allow_confounded"] is True


def test_diagnostics_of_a_continuous_outcome():
    """A continuous outcome has no groups: no silhouette, and its share of the PCs' variance is linear."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=80)
    X = pd.DataFrame(
        np.outer(z, rng.normal(size=30)) + rng.normal(0, 0.3, (80, 30)), index=[f"{i:04d}" for i in range(80)]
    )
    y = pd.Series(z * 2 + 10, index=X.index, dtype=float)
    d = batch_diagnostics(X, batch=None, outcome=y)
    assert np.isnan(d["silhouette_outcome"]) and d["r2_outcome"] > 0.5
    noise = pd.Series(rng.normal(size=80), index=X.index, dtype=float)
    assert batch_diagnostics(X, batch=None, outcome=noise)["r2_outcome"] < 0.1
