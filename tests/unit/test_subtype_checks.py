"""A config without an outcome, and the subtype stage's start-up checks (moflow.inputs.subtype_checks), and what
the decisions say about the subtypes (moflow.report.decisions)."""

from __future__ import annotations

import pandas as pd
import pytest

from moflow.cohort import has_outcome, make_cohort, runs_subtypes
from moflow.errors import ConfigError
from moflow.inputs import check_subtypes, check_without_outcome
from moflow.report import decisions
from moflow.settings import Settings
from moflow.subtypes import resample_jobs, subtype_representations


def _sheet(n: int) -> pd.DataFrame:
    return pd.DataFrame({"sample": [f"s{i}" for i in range(n)], "sample_type": "sample", "age": "60"})


def test_no_outcome_section_means_no_outcome_and_subtypes_on():
    none = Settings.defaults(outcome={"type": "none"})
    assert not has_outcome(none) and runs_subtypes(none)
    with_outcome = Settings.defaults()
    assert has_outcome(with_outcome) and not runs_subtypes(with_outcome)
    assert runs_subtypes(Settings.defaults(subtypes={"enabled": True}))
    assert not runs_subtypes(Settings.defaults(outcome={"type": "none"}, subtypes={"enabled": False}))
    from moflow.settings import apply_defaults

    config = apply_defaults({"samples": "s.tsv", "omics": "o.tsv"})  # no outcome section at all
    assert config["outcome"]["type"] == "none"
    sheet = _sheet(10).set_index("sample", drop=False)
    omics = pd.DataFrame({"layer": ["rna"], "has_qc": [False]}).set_index("layer", drop=False)
    cohort = make_cohort(sheet, omics, Settings.from_config(config))
    assert cohort.y is None and cohort.task == "none" and len(cohort.train) == 10 and cohort.samples == cohort.train


def test_a_sheet_column_named_outcome_that_is_not_predicted_is_pointed_out(caplog):
    with caplog.at_level("INFO", logger="moflow"):
        check_without_outcome(Settings.defaults(outcome={"type": "none"}), columns=["sample", "outcome"])
    assert "the sample sheet has a column 'outcome': this run does not predict it" in caplog.text


@pytest.mark.parametrize(
    "config, named",
    [
        ({"clinical": {"columns": ["age"]}}, "clinical: columns"),
        ({"evaluation": {"site_column": "site"}}, "evaluation: site_column"),
        ({"evaluation": {"recalibration": ["platt"]}}, "evaluation: recalibration"),
    ],
)
def test_what_needs_an_outcome_stops_a_config_without_one(config, named):
    with pytest.raises(ConfigError, match=f"'{named}' is set, but the config has no outcome"):
        check_without_outcome(Settings.defaults(outcome={"type": "none"}, **config))


def test_too_few_samples_stop_and_a_lowered_k_max_and_a_representation_left_out_are_said(caplog):
    s = Settings.defaults(outcome={"type": "none"})
    omics = pd.DataFrame({"layer": ["rna"]})
    with pytest.raises(ConfigError, match="7 cohort samples are too few for subtype discovery"):
        check_subtypes(s, _sheet(7), omics)
    with caplog.at_level("INFO", logger="moflow"):
        check_subtypes(s, _sheet(20), omics)
    assert "k_max 8 lowered to 5" in caplog.text and "representation network" in caplog.text
    kept, left = subtype_representations(s, ["rna"])
    assert kept == ["components", "mofa"] and "two layers or more" in left["network"]
    with pytest.raises(ConfigError, match="'subtypes: time' names 'os_time', which is not a column"):
        check_subtypes(Settings.defaults(subtypes={"time": "os_time", "event": "age"}), _sheet(20), omics)
    assert resample_jobs(Settings.defaults(subtypes={"resamples": 12, "resamples_per_job": 5})) == {
        "part1": [1, 2, 3, 4, 5],
        "part2": [6, 7, 8, 9, 10],
        "part3": [11, 12],
    }


def test_the_decisions_say_no_outcome_the_subtypes_and_what_the_stage_left_out():
    summary = pd.DataFrame(
        [
            {
                "k": 3,
                "representation": "mofa",
                "clustering": "kmeans",
                "why": "k = 3: prediction strength 0.94",
                "samples": 58,
                "left_out": 2,
                "classifier_agreement": 1.0,
                "representations_left_out": "network: the fused network joins two layers or more",
                "layers_without_markers": "metabolomics",
                "k_max": 8,
                "k_tested": 7,
            }
        ]
    )
    d = decisions(layers=["rna"], outcome=False, subtypes=summary)
    text = " | ".join(d["decision"])
    assert text.startswith("no outcome:") and "3 subtypes (mofa, kmeans" in text
    assert "left out representation network" in text and "left out 2 sample(s) lacking a layer" in text
    assert "k tested up to 7, not k_max 8" in text
    assert (
        d.set_index("decision").loc["no feature of this layer separates a subtype (FDR 0.05)", "layer"]
        == "metabolomics"
    )
    assert "k tested up to" not in " | ".join(
        decisions(layers=["rna"], outcome=False, subtypes=summary.assign(k_tested=8))["decision"]
    )


def test_too_few_samples_with_every_layer_stop_the_stage_with_the_layers_named():
    """The start-up check counts the sheet; the stage counts the samples every layer has."""
    from types import SimpleNamespace

    from moflow.errors import DataError
    from moflow.tasks.subtypes_rules import _samples

    cohort = SimpleNamespace(train=[f"s{i}" for i in range(20)])
    layers = {
        "rna": pd.DataFrame(index=cohort.train),
        "protein": pd.DataFrame(index=cohort.train[:6]),
    }
    with pytest.raises(
        DataError, match=r"only 6 of the 20 cohort samples have every layer \(rna lacks 0, protein lacks 14\)"
    ):
        _samples(cohort, layers)
    assert _samples(cohort, {"rna": layers["rna"]}) == cohort.train


def test_the_subtypes_survival_columns_are_read_as_a_survival_outcome_is():
    """Events coded TRUE/false (as users write them) and a missing time: the log-rank test gets the others."""
    import numpy as np

    from moflow.subtypes import survival_difference
    from moflow.tasks.subtypes_rules import _survival_frame

    rng = np.random.default_rng(0)
    idx = [f"s{i}" for i in range(60)]
    labels = pd.Series(np.repeat(["S1", "S2"], 30), index=idx)
    time = rng.exponential(np.where(labels == "S1", 10, 2)).round(2).astype(str)
    time[3] = "NA"
    sheet = pd.DataFrame({"time": time, "dead": np.where(rng.random(60) < 0.8, "TRUE", "false")}, index=idx)
    t, e = _survival_frame(sheet, idx, "time", "dead")
    assert len(t) == 59 and set(e) == {0.0, 1.0}
    test = survival_difference(t, e, labels)
    assert test["n"] == 59 and test["p"] < 1e-3
