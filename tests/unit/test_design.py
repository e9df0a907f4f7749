"""The design stage's tasks (moflow.tasks.design_rules; their analyses in moflow.design.pilot_power and
pilot_learning) in process, on simulated cohorts with planted answers: the evaluation's own splits and scores
feed the learning curves, the planted layer has power and a null layer none, and the verdict sentence says
what the tables say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow import design as dsn
from moflow import tasks as td
from moflow.demo import simulate_cohort
from moflow.settings import Settings, default_config, sections_of

OMICS = pd.DataFrame(
    [
        {
            "layer": "rna",
            "kind": "rnaseq_counts",
            "path": "rna.tsv",
            "orientation": "features_in_rows",
            "batch_column": "batch",
            "has_qc": "false",
            "log_scale": "false",
            "gene_ids": "symbol",
        },
        {
            "layer": "protein",
            "kind": "proteomics_intensity",
            "path": "p.csv",
            "orientation": "samples_in_rows",
            "batch_column": "batch",
            "has_qc": "false",
            "log_scale": "true",
            "gene_ids": "symbol",
        },
    ]
)


def _settings(fn, **overrides):
    full = default_config(**overrides)
    return Settings.from_config(sections_of(full, fn.reads))


@pytest.fixture(scope="module")
def small():
    """90 samples (60 controls, 30 cases), RNA counts and proteomics, the outcome planted in both."""
    return simulate_cohort(n_samples=90, n_genes=400, n_proteins=150, n_metabolites=40, seed=3)


@pytest.fixture(scope="module")
def evaluated(small):
    """The evaluation's tables on 3 x 1 CV with early integration: splits, scoreboard, fold scores."""
    from moflow.tasks import cv_fold, cv_splits, score

    over = dict(evaluation={"folds": 3, "repeats": 1, "strategies": ["early"], "permutations": 50})
    raw = {k: small.layers[k] for k in ("rna", "protein")}
    splits = cv_splits(small.sheet, OMICS, _settings(cv_splits, **over))["splits"]
    pred = cv_fold(raw, splits, ["r1f1", "r1f2", "r1f3"], small.sheet, OMICS, _settings(cv_fold, **over))
    out = score([pred["predictions"]], small.sheet, OMICS, _settings(score, **over))
    return raw, splits, out, over


def test_learning_curves_from_the_evaluation_splits(small, evaluated):
    raw, splits, out, over = evaluated
    board = out["scoreboard"]
    assert dsn.learning_strategies(board) == [
        board.loc[board["kind"] == "integration", "strategy"].iloc[0],
        board.loc[board["kind"] == "single layer", "strategy"].iloc[0],
    ]
    assert dsn.learning_splits(splits) == ["r1f1", "r1f2", "r1f3"]
    fold = td.design_fold(
        raw, splits, ["r1f1", "r1f2", "r1f3"], board, small.sheet, OMICS, _settings(td.design_fold, **over)
    )["points"]
    assert sorted(fold["fraction"].unique()) == [0.4, 0.7]
    assert set(fold["strategy"]) == set(dsn.learning_strategies(board))
    n_train = {s: (splits[(splits["split"] == s) & (splits["role"] == "train")]).shape[0] for s in ("r1f1",)}
    assert fold.loc[(fold["split"] == "r1f1") & (fold["fraction"] == 0.4), "n_train"].iloc[0] == pytest.approx(
        0.4 * n_train["r1f1"], abs=2
    )
    res = td.design_learning(
        fold, out["fold_scores"], splits, board, small.sheet, OMICS, _settings(td.design_learning, **over)
    )
    pts, size = res["points"], res["sample_size"]
    # the full-size points are the evaluation's own fold scores, not refits
    full = pts[pts["fraction"] == 1.0]
    fs = out["fold_scores"].set_index(["strategy", "split"])["roc_auc"]
    assert np.allclose(full["score"], [fs[(s, p)] for s, p in zip(full["strategy"], full["split"])])
    assert list(size["strategy"]) == dsn.learning_strategies(board) + ["riley_minimum"]
    assert (size["metric"] == "roc_auc").all() and size["n_cohort"].iloc[0] == 90
    # the planted outcome: the learning curve rises with the training size and its fit follows the points
    early = pts[pts["strategy"] == dsn.learning_strategies(board)[0]].groupby("n_train")["score"].mean()
    assert early.iloc[-1] >= early.iloc[0] - 0.02
    curve = res["curve"]
    assert ((curve["low"] <= curve["score"] + 1e-9) & (curve["score"] <= curve["high"] + 1e-9)).all()
    assert res["figure"][:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_strategies_follow_config():
    board = pd.DataFrame(
        {
            "strategy": ["mofa", "single_rna", "early", "single_protein"],
            "kind": ["integration", "single layer", "integration", "single layer"],
        }
    )
    assert dsn.learning_strategies(board, _settings(td.design_learning)) == ["mofa", "single_rna"]
    s = _settings(td.design_learning, design={"strategies": ["early", "single_protein", "late"]})
    assert dsn.learning_strategies(board, s) == ["early", "single_protein"]  # late: not on this scoreboard


def test_strata_coarsen_where_a_subsample_would_keep_too_few(small):
    """Outcome x batch strata where each keeps >= 2 samples at the smallest fraction; coarser strata on a
    small training side (fine strata keep 2 each at every fraction, and the fractions would come out alike)."""
    from moflow.tasks import load_cohort

    cohort = load_cohort(small.sheet, OMICS, _settings(load_cohort))
    train = list(cohort.train)
    big = dsn.subsample_strata(cohort, train, 0.4)
    assert big.str.contains("|", regex=False).all() and big.nunique() == 6  # 2 classes x 3 batches
    small_side = train[:24]
    coarse = dsn.subsample_strata(cohort, small_side, 0.4)
    assert not coarse.str.contains("|", regex=False).any()  # the class only
    from moflow.design import size_levels, subsample_training

    sizes = [len(subsample_training(small_side, coarse, f, 0)) for f in (0.4, 0.7, 1.0)]
    assert size_levels(sizes) == 3, sizes


def test_learning_without_enough_sizes_says_why(small, evaluated):
    raw, splits, out, over = evaluated
    board = out["scoreboard"]
    chosen = dsn.learning_strategies(board)
    points = pd.DataFrame(
        [
            {
                "strategy": s,
                "split": sp,
                "fraction": 0.4,
                "n_train": 40,
                "note": "layer 'rna', step batch: ComBat: batch and outcome are confounded",
            }
            for s in chosen
            for sp in ("r1f1", "r1f2", "r1f3")
        ]
    )
    res = td.design_learning(
        points, out["fold_scores"], splits, board, small.sheet, OMICS, _settings(td.design_learning, **over)
    )
    size = res["sample_size"].set_index("strategy")
    for s in chosen:
        assert size.loc[s, "status"].startswith("fewer than 3 distinct training sizes with a score (1)")
        assert "confounded" in size.loc[s, "status"] and np.isnan(size.loc[s, "n_training"])
    assert res["curve"].empty and np.isfinite(size.loc["riley_minimum", "n_training"])


def test_size_row_says_when_the_cohort_already_reaches_the_target():
    observed = pd.DataFrame({"n_train": [20, 20, 40, 40, 60, 60], "score": [0.7, 0.72, 0.83, 0.81, 0.86, 0.88]})
    row = dsn.size_row(
        {}, {"target": 0.8, "n": 30.0, "low": 10.0, "high": 80.0, "status": "reachable"}, observed, "gain"
    )
    assert row["n_training"] == 40 and row["status"].startswith("reached in this cohort")
    row = dsn.size_row(
        {}, {"target": 0.95, "n": 400.0, "low": 150.0, "high": np.inf, "status": "reachable"}, observed, "gain"
    )
    assert row == {"n_training": 400.0, "n_low": 150.0, "n_high": np.inf, "status": "reachable"}
    # an error metric is reached from above
    err = observed.assign(score=1 - observed["score"])
    assert (
        dsn.size_row({}, {"target": 0.15, "n": 50.0, "low": 1, "high": 2, "status": "reachable"}, err, "error")[
            "n_training"
        ]
        == 60
    )


def test_power_finds_the_planted_layer_and_none_in_a_null_layer(small):
    """RNA carries the planted outcome program; a protein layer of pure noise has (almost) no power."""
    rng = np.random.default_rng(0)
    prot = small.layers["protein"]
    noise = pd.DataFrame(rng.normal(20, 1, prot.shape), index=prot.index, columns=prot.columns)
    raw = {"rna": small.layers["rna"], "protein": noise}
    settings = _settings(td.design_power)
    # "preprocessed" layers: log counts and the noise as it is (the task only needs them for pi0 and t tests)
    layers = {"rna": np.log2(raw["rna"] + 1), "protein": noise}
    out = td.design_power(raw, layers, small.sheet, OMICS, settings)
    power = out["power"].set_index(["layer", "n_per_group"])["power"]
    assert power[("rna", 100)] > 0.8
    first = out["power"].groupby("layer").first()
    assert first.loc["protein", "pi0"] > 0.95 and first.loc["rna", "pi0"] < 0.9
    # the planted program: 40 genes of 400 (a few more share the outcome factor's loadings)
    assert 40 <= first.loc["rna", "m_nonnull"] <= 100
    assert first.loc["protein", "m_nonnull"] == 0 and power.loc["protein"].isna().all()
    joint = out["joint"].set_index(["design", "layer"])
    # the null layer is left out of the joint designs, which the planted layer then meets
    assert joint.loc[("equal_n", "protein"), "message"].startswith("left out: no feature differs")
    assert joint.loc[("equal_n", "rna"), "feasible"] and joint.loc[("cost_optimal", "rna"), "feasible"]
    assert (
        joint.loc[("per_layer", "rna"), "n_per_group"]
        == out["power"].query("layer == 'rna' and power >= 0.8")["n_per_group"].min()
    )
    assert not joint.loc[("per_layer", "protein"), "feasible"]
    n_rna = joint.loc[("equal_n", "rna"), "n_per_group"]
    assert (
        power[("rna", n_rna)] >= 0.8
        and n_rna == out["power"].query("layer == 'rna' and power >= 0.8")["n_per_group"].min()
    )
    assert (out["power"]["groups"] == "case vs control").all()
    assert out["figure"][:4] == b"\x89PNG"


@pytest.mark.parametrize("kind", ["multiclass", "continuous", "survival"])
def test_design_groups_for_every_outcome_type(small, kind):
    from moflow.tasks import load_cohort

    sheet = small.sheet.copy()
    is_sample = sheet["sample_type"] == "sample"
    rng = np.random.default_rng(1)
    n = int(is_sample.sum())
    if kind == "multiclass":
        sheet.loc[is_sample, "outcome"] = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
        over = {"outcome": {"column": "outcome", "type": "multiclass"}}
    elif kind == "continuous":
        sheet.loc[is_sample, "outcome"] = rng.normal(size=n).round(4).astype(str)
        over = {"outcome": {"column": "outcome", "type": "continuous"}}
    else:
        sheet.loc[is_sample, "time"] = rng.uniform(1, 10, n).round(3).astype(str)
        sheet.loc[is_sample, "event"] = rng.choice(["0", "1"], n)
        sheet.loc[~is_sample, ["time", "event"]] = ""
        over = {"outcome": {"type": "survival", "time": "time", "event": "event"}}
    cohort = load_cohort(sheet, OMICS, _settings(load_cohort, **over))
    groups, pair, how = dsn.design_groups(cohort)
    assert set(groups.unique()) == set(pair) and len(pair) == 2
    if kind == "multiclass":
        assert pair == ("a", "b")  # the two largest classes
    if kind == "continuous":
        assert abs((groups == "high").mean() - 0.5) < 0.05
    if kind == "survival":
        assert pair == ("censored", "event")


def test_design_metric_defaults_and_overrides():
    s = _settings(td.design_learning)
    assert dsn.design_metric("classification", s)[:2] == ("roc_auc", 0.8)
    assert dsn.design_metric("survival", s)[:2] == ("harrell_c", 0.75)
    s = _settings(td.design_learning, design={"metric": "balanced_error_rate", "target_score": 0.1})
    assert dsn.design_metric("classification", s) == ("balanced_error_rate", 0.1, "error")


def test_verdict_sentence_says_what_the_tables_say():
    from moflow.report import learning_sentence, power_sentence

    power = pd.DataFrame({"layer": ["rna"], "groups": ["control vs case"], "fdr": [0.05]})
    joint = pd.DataFrame(
        {"design": ["equal_n"], "n_per_group": [40], "mean_power": [0.83], "feasible": [True], "message": [""]}
    )
    assert power_sentence(power, joint, target_power=0.8, min_power=0.6).startswith("40 samples per group")
    size = pd.DataFrame(
        {
            "strategy": ["mofa", "riley_minimum"],
            "metric": ["roc_auc", "roc_auc"],
            "target": [0.9, np.nan],
            "n_training": [412.0, 250.0],
            "n_low": [210.0, np.nan],
            "n_high": [1900.0, np.nan],
            "status": ["reachable", "logistic"],
            "asymptote": [0.95, np.nan],
            "n_cohort": [120, 120],
        }
    )
    s = learning_sentence(size)
    assert "mofa needs about 412 training samples to reach ROC AUC 0.9 (95% interval 210 to 1,900" in s
    assert "Riley's minimum for developing a prediction model is 250 samples (this cohort: 120)" in s
    size.loc[0, ["n_training", "asymptote"]] = [np.inf, 0.85]
    assert "mofa levels off at ROC AUC 0.850, short of ROC AUC 0.9" in learning_sentence(size)
    size.loc[0, ["n_training", "status"]] = [48.0, "reached in this cohort: mean score 0.91 at 48 training samples"]
    assert "mofa already reaches ROC AUC 0.9 with 48 training samples (this cohort: 120)" in learning_sentence(size)
