"""Splits that cannot be evaluated stop rule cv_splits; external test samples without an outcome are new patients.

* Split feasibility (:func:`moflow.tasks.cv_splits`, :func:`moflow.evaluate.make_splits` with ``check``):
  a CV split whose training side has no event (survival) or lacks a class, or holds a single sample of a
  class (the inner CV that tunes the models cannot be built), stops with a DataError naming the split,
  the samples and their subjects, and the fix; a feasible cohort's splits do not change.
* External test samples without an outcome pass start-up (only training samples without one need
  ``outcome: missing: exclude``), are predicted by the final model (split ``final``), written with an
  empty outcome, never scored, and listed in the logs of rules cv_splits and scoreboard.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
from test_bad_inputs import SAMPLES, STAGES, Project, both, config, mark_test, survival_outcome

from moflow import io
from moflow.cohort import external_samples_without_outcome, make_cohort
from moflow.errors import DataError, InputError
from moflow.evaluate import external_scores, make_splits, merge_predictions
from moflow.tasks import cv_fold, cv_splits, score


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def subjects(mapping: dict[str, str]):
    """A sheet column 'subject' (every sample its own subject unless mapped), named in evaluation: group_column."""

    def breaker(p: Project):
        p.sheet["subject"] = [
            mapping.get(s, s) if t == "sample" else "" for s, t in zip(p.sheet["sample"], p.sheet["sample_type"])
        ]
        p.config["evaluation"]["group_column"] = "subject"

    return breaker


def no_outcome(*samples: str):
    """The outcome (survival: time and event) of ``samples`` left empty."""

    def breaker(p: Project):
        rows = p.sheet["sample"].isin(samples)
        for col in ("outcome", "years", "died"):
            if col in p.sheet.columns:
                p.sheet.loc[rows, col] = ""

    return breaker


def run_cv_splits(p: Project):
    """Rule cv_splits after the start-up, on the sheets as read."""
    settings, _, _ = p.startup()
    return cv_splits(io.read_sheet(p.path("config/samples.tsv")), io.read_sheet(p.path("config/omics.tsv")), settings)


def _set_outcomes(p: Project, values):
    p.sheet.loc[p.sheet["sample"].isin(SAMPLES), "outcome"] = values


CASE_IDS = [s for s in SAMPLES if int(s[1:]) % 2 == 0]  # the tiny cohort's 'case' samples: S02, S04, ...

# name: (stage, breaker, error class, [regexes]); stage "splits": rule cv_splits after the start-up
CASES = {
    "splits: survival, every event in one subject": (
        "splits",
        both(survival_outcome(events=3), subjects({"S01": "P1", "S02": "P1", "S03": "P1"})),
        DataError,
        [
            r"evaluation split r1f[123]: its training side \(\d+ samples\) has no event",
            r"all 3 samples with an event are held out in it",
            r"'S01' \(subject 'P1'\), 'S02' \(subject 'P1'\), 'S03' \(subject 'P1'\)",
            r"1 subject\(s\) of config 'evaluation: group_column'",
            r"Lower 'evaluation: folds'",
            r"add samples with events",
            r"leave 'evaluation: group_column' empty",
        ],
    ),
    "splits: a class all in one subject": (
        "splits",
        subjects({s: "P1" for s in CASE_IDS}),
        DataError,
        [
            r"evaluation split r1f[123]: its training side \(\d+ samples\) has no sample of class 'case'",
            r"all 6 samples of class 'case' are held out in it",
            r"'S02' \(subject 'P1'\)",
            r"Lower 'evaluation: folds'.*leave 'evaluation: group_column' empty",
        ],
    ),
    "splits: a training side with one sample of a class (inner CV)": (
        "splits",
        both(config(evaluation__folds=2), lambda p: _set_outcomes(p, ["case"] * 3 + ["control"] * 9)),
        DataError,
        [
            r"evaluation split r1f[12]: its training side \(\d+ samples\) holds a single sample of class 'case', "
            r"sample\(s\) 'S0[123]'",
            r"inner cross-validation that tunes the models needs at least 2 of each class",
            r"Lower 'evaluation: folds'",
        ],
    ),
    "startup: a training sample without an outcome, with an external test set": (
        "startup",
        both(mark_test(3), no_outcome("S01", "S10")),
        DataError,
        [
            r"sample\(s\) 'S10' \(row \d+\) have no value in outcome column 'outcome'",
            r"outcome: missing: exclude",
            r"External test samples \(split = 'test'\) may lack an outcome: they are predicted by the final model",
        ],
    ),
}

STAGES_HERE = {**STAGES, "splits": run_cv_splits}


@pytest.mark.parametrize("case", list(CASES))
def test_infeasible_split_or_unlabelled_training_sample_stops_with_split_ids_and_fix(project, case):
    stage, breaker, error, patterns = CASES[case]
    breaker(project)
    with pytest.raises(InputError) as err:
        STAGES_HERE[stage](project)
    msg = str(err.value)
    assert isinstance(err.value, error), f"{type(err.value).__name__} instead of {error.__name__}: {msg}"
    for pattern in patterns:
        assert re.search(pattern, msg), f"{pattern!r} not in: {msg}"


def test_feasible_splits_are_unchanged_by_the_check(project):
    """The check only reads the splits: the workflow's splits equal those made without it."""
    subjects({"S01": "P1", "S03": "P1", "S02": "P2", "S04": "P2"})(project)
    splits = run_cv_splits(project)["splits"]
    settings, sheet, omics = project.startup()
    cohort = make_cohort(sheet, omics, settings)
    from moflow.cohort import split_groups

    plain = make_splits(
        cohort.y, folds=3, repeats=1, seed=settings.seed, task=cohort.task, groups=split_groups(sheet, settings)
    )
    pd.testing.assert_frame_equal(splits, plain)
    y = pd.Series(["a", "b"] * 20, index=[f"X{i}" for i in range(40)])
    pd.testing.assert_frame_equal(
        make_splits(y, folds=5, repeats=3, seed=7, check=True), make_splits(y, folds=5, repeats=3, seed=7)
    )


# ---------------------------------------------------------------------------------------------
# external test samples without an outcome: new patients
# ---------------------------------------------------------------------------------------------


def test_external_test_samples_without_an_outcome_pass_the_inputs(project):
    """They stay cohort samples (not excluded, even with 'outcome: missing: exclude'), their outcome missing."""
    both(mark_test(3), no_outcome("S01", "S02"), config(outcome__missing="exclude"))(project)
    sheet, omics, matrices, _ = project.inputs()
    assert list(sheet.loc[["S01", "S02"], "sample_type"]) == ["sample", "sample"]
    assert all({"S01", "S02"} <= set(X.index) for X in matrices.values())
    settings, _, _ = project.startup()
    assert external_samples_without_outcome(sheet, settings) == ["S01", "S02"]
    cohort = make_cohort(sheet, omics, settings)
    assert cohort.test == ["S01", "S02", "S03"] and cohort.y[["S01", "S02"]].isna().all()
    assert cohort.y.dropna().nunique() == 2 and cohort.task == "classification"


def test_survival_external_test_samples_without_time_or_event_pass(project):
    both(survival_outcome(), mark_test(3, first=False), no_outcome("S11", "S12"))(project)
    settings, sheet, omics = project.startup()
    y = make_cohort(sheet, omics, settings).y
    assert y.loc[["S11", "S12"]].isna().all().all() and y.drop(index=["S11", "S12"]).notna().all().all()


def test_training_samples_without_an_outcome_still_need_exclude(project):
    both(mark_test(3), no_outcome("S01", "S11"))(project)
    with pytest.raises(DataError, match=r"'S11'.*outcome: missing: exclude"):
        project.startup()
    project.config["outcome"]["missing"] = "exclude"
    sheet, _, _, _ = project.inputs()
    assert sheet.loc["S11", "sample_type"] == "excluded" and sheet.loc["S01", "sample_type"] == "sample"


def _evaluate(p: Project):
    """Rules cv_splits, cv_fold (every split in one job) and scoreboard on the tiny project's protein layer."""
    p.omics = p.omics[p.omics["layer"] == "protein"].reset_index(drop=True).assign(batch_column="")
    p.config["evaluation"]["strategies"] = ["early"]
    p.config["kind_defaults"] = {"proteomics_intensity": {"impute": {"method": "halfmin"}}}
    settings, _, _ = p.startup()
    raw_samples, raw_omics = io.read_sheet(p.path("config/samples.tsv")), io.read_sheet(p.path("config/omics.tsv"))
    _, _, matrices, _ = p.inputs()
    splits = cv_splits(raw_samples, raw_omics, settings)["splits"]
    names = list(dict.fromkeys(splits["split"]))
    pred = cv_fold(matrices, splits, names, raw_samples, raw_omics, settings)["predictions"]
    pred = pd.read_csv(io_roundtrip(pred, p.path("folds.tsv")), sep="\t", dtype={c: str for c in io.ID_COLUMNS})
    return score([pred], raw_samples, raw_omics, settings)


def io_roundtrip(table: pd.DataFrame, path) -> str:
    """The table as rule cv_fold writes it (the scoreboard reads it back)."""
    io.write_table(table, path)
    return str(path)


@pytest.mark.parametrize("labelled", [1, 0])
def test_new_patients_are_predicted_never_scored_and_logged(project, caplog, labelled):
    """Two (or all three) external test samples lack the outcome: the final model predicts them, their
    y_true is empty, the external scores count only the labelled one (none: no test_* columns)."""
    new = ["S01", "S02", "S03"][: 3 - labelled]
    both(mark_test(3), no_outcome(*new))(project)
    with caplog.at_level(logging.INFO, logger="moflow"):
        out = _evaluate(project)
    pred, board = out["predictions"], out["scoreboard"]
    final = pred[pred["split"] == "final"]
    assert set(final["sample"]) == {"S01", "S02", "S03"}
    rows = final[final["sample"].isin(new)]
    assert rows["y_true"].isna().all() and rows[["p_case", "p_control"]].notna().all().all()
    assert pred.loc[pred["split"] != "final", "y_true"].notna().all()
    if labelled:
        assert (board["test_n_test"] == 1).all()
    else:
        assert not [c for c in board.columns if c.startswith("test_")]
        assert "no external test sample has an outcome" in caplog.text
    assert f"{len(new)} external test sample(s) without an outcome (new patients)" in caplog.text
    assert ", ".join(new) in caplog.text


def test_new_survival_patients_are_predicted_with_an_empty_time_and_event(project):
    both(
        survival_outcome(events=7),
        mark_test(3, first=False),
        no_outcome("S11", "S12"),
    )(project)
    out = _evaluate(project)
    pred, board = out["predictions"], out["scoreboard"]
    final = pred[pred["split"] == "final"].set_index("sample")
    assert final.loc[["S11", "S12"], ["time", "event"]].isna().all().all()
    assert final.loc[["S11", "S12"], "risk"].notna().all()
    assert (final.loc[["S10"], "event"] == 0).all() and (board["test_n_test"] == 1).all()
    assert pred.loc[pred["split"] != "final", "event"].notna().all()


def test_merge_and_external_scores_leave_samples_without_an_outcome_out():
    pred = pd.DataFrame(
        {
            "split": "final",
            "strategy": "s",
            "sample": [f"T{i}" for i in range(8)],
            "y_true": ["a", "b", "a", "b", "a", "b", np.nan, np.nan],
            "p_a": np.linspace(0.1, 0.9, 8),
            "p_b": 1 - np.linspace(0.1, 0.9, 8),
        }
    )
    merged = merge_predictions([pred], "classification")
    assert merged["y_true"].isna().sum() == 2 and "nan" not in set(merged["y_true"].dropna())
    with_new = external_scores(merged, task="classification", positive="b", n_boot=50)
    without = external_scores(merged.iloc[:6], task="classification", positive="b", n_boot=50)
    pd.testing.assert_frame_equal(with_new, without)
    assert int(with_new["test_n_test"].iloc[0]) == 6


def test_a_continuous_outcome_keeps_its_task_with_new_patients(project):
    """auto: more than 10 numeric values is continuous; empty cells of new patients do not make it a class."""
    values = [f"{v:.1f}" for v in np.linspace(1, 30, 12)]
    project.sheet.loc[project.sheet["sample"].isin(SAMPLES), "outcome"] = values
    project.config["outcome"] = {"column": "outcome"}
    both(mark_test(1, first=False), no_outcome("S12"))(project)
    settings, sheet, omics = project.startup()
    cohort = make_cohort(sheet, omics, settings)
    assert cohort.task == "regression" and np.isnan(cohort.y["S12"])
