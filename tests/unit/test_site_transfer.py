"""Transfer to an unseen site, through the workflow's own tasks: a planted multi-site cohort whose held-out
site H4 has a shifted layer. Leave-one-site-out splits beside the pooled CV (cv_splits), every split
fit and predicted (cv_fold), the per-site table beside the within-site scores (score), and the shift of
each held-out site per layer after preprocessing (site_shift); start-up stops on a site that cannot be
scored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_bad_inputs import Project

from moflow import io
from moflow.errors import InputError
from moflow.evaluate import is_pooled, split_names
from moflow.tasks import cv_fold, cv_splits, score, site_shift

SITES = ["H1", "H2", "H3", "H4"]
N_PER_SITE = 36


def _multisite(project: Project, *, shift: str | None = "H4", seed: int = 0) -> Project:
    """Four sites of 36 samples; the outcome follows a factor loaded on 8 of 40 'expr' features (and 3 of
    15 'prot' ones); at site ``shift`` every 'expr' feature is offset by a draw of N(0, 3), the 8 loaded
    ones by 3 more."""
    rng = np.random.default_rng(seed)
    n = len(SITES) * N_PER_SITE
    samples = [f"S{i:03d}" for i in range(n)]
    site = np.repeat(SITES, N_PER_SITE)
    z = rng.normal(size=n)
    y = np.where(z + 0.5 * rng.normal(size=n) > 0, "case", "control")
    expr = rng.normal(size=(n, 40))
    expr[:, :8] += 1.2 * z[:, None]
    if shift:
        expr[site == shift] += rng.normal(0, 3, 40)
        expr[np.ix_(site == shift, np.arange(8))] += 3.0  # the outcome's features too, one way
    prot = rng.normal(size=(n, 15))
    prot[:, :3] += 0.8 * z[:, None]
    project.sheet = pd.DataFrame({"sample": samples, "outcome": y, "site": site})
    project.continuous_layers(samples, {"expr": (expr, "e", ""), "prot": (prot, "p", "")})
    project.config = {
        "samples": "config/samples.tsv",
        "omics": "config/omics.tsv",
        "outcome": {"column": "outcome", "positive": "case"},
        "evaluation": {
            "folds": 3,
            "repeats": 1,
            "site_column": "site",
            "strategies": ["early"],
            "baselines": ["naive"],
        },
    }
    return project


def _run(project: Project) -> dict:
    settings, _, _ = project.startup()
    _, _, matrices, _ = project.inputs()
    raw_samples = io.read_sheet(project.path("config/samples.tsv"))
    raw_omics = io.read_sheet(project.path("config/omics.tsv"))
    splits = cv_splits(raw_samples, raw_omics, settings)["splits"]
    names = split_names(splits)
    pred = cv_fold(matrices, splits, names, raw_samples, raw_omics, settings)["predictions"]
    out = score([pred], raw_samples, raw_omics, settings)
    out["shift"] = site_shift(matrices, splits, raw_samples, raw_omics, settings)["shift"]
    out["splits"] = splits
    return out


@pytest.fixture(scope="module")
def shifted(tmp_path_factory):
    return _run(_multisite(Project(tmp_path_factory.mktemp("multisite"))))


def test_each_site_is_held_out_once_beside_the_pooled_cv(shifted):
    splits = shifted["splits"]
    names = split_names(splits)
    assert [n for n in names if not is_pooled(n)] == ["r1f1", "r1f2", "r1f3", "r1f4"]
    assert [n for n in names if is_pooled(n)] == ["p1f1", "p1f2", "p1f3"]
    sheet = pd.Series(np.repeat(SITES, N_PER_SITE), index=[f"S{i:03d}" for i in range(len(SITES) * N_PER_SITE)])
    for name, site in zip(["r1f1", "r1f2", "r1f3", "r1f4"], SITES, strict=True):
        test = splits.loc[(splits["split"] == name) & (splits["role"] == "test"), "sample"]
        assert set(sheet.loc[test]) == {site} and len(test) == N_PER_SITE
    # the scoreboard is the leave-one-site-out one; the pooled CV has its own
    assert set(shifted["fold_scores"]["split"]) == {"r1f1", "r1f2", "r1f3", "r1f4"}
    pooled = shifted["scoreboard_pooled"].set_index("strategy")
    assert {"early", "naive"} <= set(pooled.index)


def test_the_shifted_site_scores_lower_held_out_and_its_shift_is_high(shifted):
    sites = shifted["sites"]
    early = sites[sites["strategy"] == "early"].set_index("site")
    assert list(early.index) == SITES
    score = early["balanced_accuracy"]
    others = score.drop("H4")
    assert others.min() > 0.65  # the factor transfers between unshifted sites
    assert score["H4"] < others.min() - 0.15 and score["H4"] <= 0.55  # ... not to the shifted one
    # the same site, seen in training (pooled CV), scores higher than held out: the drop is negative
    assert early.loc["H4", "balanced_accuracy_drop"] < -0.2
    assert early.loc[["H1", "H2", "H3"], "balanced_accuracy_drop"].abs().max() < 0.1
    assert early["balanced_accuracy_pooled_cv"].notna().all()
    shift = shifted["shift"].set_index(["site", "layer"])["auc"]
    assert shift["H4", "expr"] > 0.95  # the held-out site is recognisable from the shifted layer ...
    assert shift["H4", "prot"] < 0.8  # ... not from the unshifted one
    for s in ("H1", "H2", "H3"):
        # unshifted sites: against the whole training side (which holds H4) the shift shows, but the
        # nearest single training site looks like them
        assert shifted["shift"].set_index(["site", "layer"]).loc[(s, "expr"), "auc_nearest_site"] < 0.8


def test_a_site_with_a_single_class_stops_at_start_up(tmp_path):
    project = _multisite(Project(tmp_path), shift=None)
    sheet = project.sheet
    sheet.loc[sheet["site"] == "H2", "outcome"] = "case"
    with pytest.raises(InputError, match=r"site 'H2' of column 'site'.*all of class 'case'"):
        project.startup()


def test_a_site_column_that_does_not_exist_stops_at_start_up(tmp_path):
    project = _multisite(Project(tmp_path), shift=None)
    project.config["evaluation"]["site_column"] = "centre"
    with pytest.raises(InputError, match="centre"):
        project.startup()


def test_a_site_that_is_a_corrected_batch_stops_at_start_up_with_the_fix(tmp_path):
    """Sites that are whole batches of a layer ComBat corrects: held out, a batch without training samples.
    Said at start-up (not in a fold job), with the fix; with the layer's batch correction off it runs."""
    project = _multisite(Project(tmp_path), shift=None)
    project.sheet["batch"] = project.sheet["site"]
    project.omics.loc[project.omics["layer"] == "expr", "batch_column"] = "batch"
    with pytest.raises(InputError, match=r"site 'H1' holds every sample of batch 'H1'.*layer 'expr'.*method: none"):
        project.startup()
    project.config["preprocess"] = {"expr": {"batch": {"method": "none"}}}
    project.startup()


def test_the_report_section_shows_the_sites_and_the_shift(shifted):
    from moflow.report.added import added_facts, added_html

    facts = {"added": added_facts(shifted["gains"], shifted["scoreboard"])}
    page = added_html(facts, shifted["gains"], None, shifted["sites"], shifted["shift"])
    assert "Transfer to an unseen site" in page and "Shift of a held-out site" in page
    assert "balanced_accuracy_drop" in page and "auc_nearest_site" in page
    assert "<code>rough</code>: a site too small for a stable score" in page


def test_a_small_held_out_site_is_scored_and_called_rough_where_the_user_looks(shifted):
    """A site with fewer held-out samples than twice the classes is scored, and the run says it roughly is:
    the log at start-up, a column of results/evaluate/sites.tsv and a row of results/decisions.tsv."""
    from moflow.evaluate import check_sites, rough_below, site_table
    from moflow.report import decisions

    assert not shifted["sites"]["rough"].any()  # 36 samples per site
    y = pd.Series([["a", "b", "c"][i % 3] for i in range(32)], index=[f"s{i}" for i in range(32)])
    sites = pd.Series(["A"] * 20 + ["B"] * 9 + ["C"] * 3, index=y.index)
    said = check_sites(y, sites, task="classification", column="hospital", path="config/samples.tsv")
    assert rough_below("classification", 3) == 6 and rough_below("survival") == 5
    assert any("site 'C'" in m and "rough (n = 3 samples; fewer than 6)" in m for m in said), said
    scores = pd.DataFrame(
        {"split": ["r1f1", "r1f2", "r1f3"], "strategy": "early", "n_test": [20, 9, 3], "balanced_accuracy": 0.7}
    )
    table = site_table(scores, {"r1f1": "A", "r1f2": "B", "r1f3": "C"}, task="classification", rough_n=6)
    assert table.set_index("site")["rough"].to_dict() == {"A": False, "B": False, "C": True}
    rows = decisions(layers=[], sites=table, site_column="hospital")
    text = rows["decision"].tolist()
    assert "held-out site(s) C (3) scored, but roughly: too small for a stable score" in text
    assert any("hospital" in r for r in rows["reason"])
    # survival: a concordance rests on the events, so a site is rough by its events, not its samples
    event = pd.Series([1.0] * 20 + [1.0, 0.0] * 4 + [0.0] + [1.0, 0.0, 0.0], index=y.index)
    y_surv = pd.DataFrame({"time": np.arange(1.0, 33.0), "event": event}, index=y.index)
    said = check_sites(y_surv, sites, task="survival", column="hospital", path="config/samples.tsv")
    rough = [m for m in said if "rough" in m]
    assert len(rough) == 2, said  # B: 9 samples but 4 events; C: 3 samples, 1 event; A: 20 events
    assert "site 'B'" in rough[0] and "(9 samples, 4 events; fewer than 5 events)" in rough[0]
    assert "site 'C'" in rough[1] and "(3 samples, 1 event;" in rough[1]
    surv = scores.assign(n_events=[20, 5, 1], harrell_c=0.7).drop(columns="balanced_accuracy")
    table = site_table(surv, {"r1f1": "A", "r1f2": "B", "r1f3": "C"}, task="survival", rough_n=5)
    assert table.set_index("site")["rough"].to_dict() == {"A": False, "B": False, "C": True}
    text = decisions(layers=[], sites=table, site_column="hospital")["decision"].tolist()
    assert "held-out site(s) C (3, 1 event) scored, but roughly: too small for a stable score" in text
