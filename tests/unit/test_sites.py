"""Leave-one-site-out evaluation (moflow.evaluate.sites): the splits, the start-up checks of the site
column, the per-site score table and the site-shift diagnostic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow.errors import InputError
from moflow.evaluate.sites import check_sites, shift_diagnostic, site_splits, site_table, split_sites
from moflow.evaluate.splits import make_splits, split_members, split_names


def _cohort(n_per_site=(12, 10, 14), seed=0):
    """Classification outcome and sites, samples shuffled so a site's samples are not contiguous."""
    rng = np.random.default_rng(seed)
    sites = np.concatenate([[f"H{i + 1}"] * n for i, n in enumerate(n_per_site)])
    samples = [f"S{i:03d}" for i in range(len(sites))]
    order = rng.permutation(len(sites))
    y = pd.Series(np.tile(["case", "control"], len(sites) // 2 + 1)[: len(sites)], index=samples)
    return y.iloc[order], pd.Series(sites, index=samples).iloc[order]


# --- site_splits ---------------------------------------------------------------------------------


def test_site_splits_hold_out_each_site_once():
    y, sites = _cohort()
    splits = site_splits(y, sites, task="classification")
    assert split_names(splits) == ["r1f1", "r1f2", "r1f3"]
    held = splits.loc[splits["role"] == "test", "sample"]
    assert sorted(held) == sorted(y.index) and held.is_unique  # every sample held out exactly once
    of = split_sites(splits, sites)
    assert of == {"r1f1": "H1", "r1f2": "H2", "r1f3": "H3"}  # sorted site order
    for name in split_names(splits):
        train, test = split_members(splits, name)
        assert set(sites[test]) == {of[name]}  # the test side is exactly one site ...
        assert set(test) == set(sites.index[sites == of[name]])  # ... all of it
        assert of[name] not in set(sites[train])  # none of it on the training side
        assert set(train) | set(test) == set(y.index)


def test_site_splits_format_is_make_splits_format():
    y, sites = _cohort()
    ours = site_splits(y, sites, task="classification")
    theirs = make_splits(y, folds=3, repeats=1, seed=0, task="classification")
    assert list(ours.columns) == list(theirs.columns)
    assert (ours.dtypes == theirs.dtypes).all()
    assert len(ours) == len(theirs)
    # survival and regression outcomes too
    ysurv = pd.DataFrame({"time": np.arange(len(y), dtype=float) + 1, "event": np.tile([1, 0], len(y) // 2)}, y.index)
    s1 = site_splits(ysurv, sites, task="survival")
    s2 = make_splits(ysurv, folds=3, repeats=1, seed=0, task="survival")
    assert list(s1.columns) == list(s2.columns) and (s1.dtypes == s2.dtypes).all()


def test_site_splits_external_test_goes_to_final():
    y, sites = _cohort()
    ext = ["E1", "E2", "E3"]
    yall = pd.concat([y, pd.Series(["case", "control", "case"], index=ext)])
    ours = site_splits(yall, sites, task="classification", test=ext)  # external samples have no site
    theirs = make_splits(yall, folds=3, repeats=1, seed=0, task="classification", test=ext)
    assert split_names(ours, include_final=True)[-1] == "final"
    f_ours = ours[ours["split"] == "final"].reset_index(drop=True)
    f_theirs = theirs[theirs["split"] == "final"].reset_index(drop=True)
    pd.testing.assert_frame_equal(f_ours, f_theirs)
    assert (ours.dtypes == theirs.dtypes).all()
    for name in split_names(ours):  # the external samples are in no site split
        train, test = split_members(ours, name)
        assert not set(ext) & (set(train) | set(test))
    assert "final" not in split_sites(ours, sites)


def test_site_splits_names_and_bad_input():
    y, sites = _cohort()
    splits = site_splits(y, sites, task="classification", names=["a", "b", "c"])
    assert split_sites(splits, sites) == {"a": "H1", "b": "H2", "c": "H3"}
    with pytest.raises(ValueError, match="one distinct split name per site"):
        site_splits(y, sites, task="classification", names=["a", "b"])
    blank = sites.copy()
    blank.iloc[0] = " "
    with pytest.raises(InputError, match="blank"):
        site_splits(y, blank, task="classification")
    with pytest.raises(InputError, match="single site"):
        site_splits(y, pd.Series("H1", index=sites.index), task="classification")


# --- check_sites ---------------------------------------------------------------------------------


def test_check_sites_good_sites_log_their_sizes():
    y, sites = _cohort()
    msgs = check_sites(y, sites, task="classification", column="hospital")
    assert len(msgs) == 1 and "'H1': 12" in msgs[0] and "hospital" in msgs[0]


def test_check_sites_single_site():
    y, sites = _cohort()
    with pytest.raises(InputError, match=r"'evaluation: site_column' names 'hospital', which has a single site"):
        check_sites(y, pd.Series("H1", index=sites.index), task="classification", column="hospital")


def test_check_sites_blank_site_names_samples_and_count():
    y, sites = _cohort()
    blank = sites.astype(object).copy()
    who = list(blank.index[:10])
    blank[who[:5]] = np.nan
    blank[who[5:]] = ""
    with pytest.raises(InputError) as err:
        check_sites(y, blank, task="classification", column="hospital")
    msg = str(err.value)
    assert "hospital" in msg and "10 sample(s)" in msg and "and 2 more" in msg
    assert all(repr(s) in msg for s in who[:8]) and repr(who[8]) not in msg
    # a training sample missing from the sites altogether counts as blank
    with pytest.raises(InputError, match="blank"):
        check_sites(y, sites.drop(index=sites.index[:1]), task="classification", column="hospital")


def test_check_sites_single_class_site():
    y, sites = _cohort()
    y = y.copy()
    y[sites == "H2"] = "case"
    with pytest.raises(InputError, match=r"site 'H2'.*all of class 'case'.*Merge it with another site"):
        check_sites(y, sites, task="classification", column="hospital")


def test_check_sites_thin_training_side():
    # class 'rare' has 3 samples, 2 of them at H3: leaving H3 out leaves 1 training sample of it
    y, sites = _cohort()
    y = y.copy()
    h3, h1 = sites.index[sites == "H3"], sites.index[sites == "H1"]
    y[:] = np.where(np.arange(len(y)) % 2, "a", "b")
    y[h3[:2]] = "rare"
    y[h1[:1]] = "rare"
    with pytest.raises(InputError, match=r"site 'H3'.*1 training sample\(s\) of class 'rare'"):
        check_sites(y, sites, task="classification", column="hospital")


def test_check_sites_survival_site_without_event():
    y, sites = _cohort()
    ysurv = pd.DataFrame({"time": np.arange(len(y), dtype=float) + 1, "event": 1}, index=y.index)
    assert len(check_sites(ysurv, sites, task="survival", column="hospital")) == 1
    ysurv.loc[sites.index[sites == "H3"], "event"] = 0
    with pytest.raises(InputError, match=r"site 'H3'.*has an event"):
        check_sites(ysurv, sites, task="survival", column="hospital")


def test_check_sites_small_site_is_rough_not_fatal():
    y, sites = _cohort(n_per_site=(12, 3, 14))  # H2: 3 samples < 2 x 2 classes
    msgs = check_sites(y, sites, task="classification", column="hospital")
    rough = [m for m in msgs if "rough" in m]
    assert len(rough) == 1 and "site 'H2'" in rough[0] and "n = 3" in rough[0]
    yreg = pd.Series(np.arange(len(y), dtype=float), index=y.index)
    rough = [m for m in check_sites(yreg, sites, task="regression", column="hospital") if "rough" in m]
    assert len(rough) == 1 and "site 'H2'" in rough[0]
    y2, sites2 = _cohort(n_per_site=(12, 10, 14))
    yreg2 = pd.Series(np.arange(len(y2), dtype=float), index=y2.index)
    assert not [m for m in check_sites(yreg2, sites2, task="regression", column="hospital") if "rough" in m]


def test_check_sites_ignores_external_test_samples():
    y, sites = _cohort()
    yall = pd.concat([y, pd.Series(["case"], index=["E1"])])
    check_sites(yall, sites, task="classification", column="hospital", test=["E1"])
    with pytest.raises(InputError, match="blank"):
        check_sites(yall, sites, task="classification", column="hospital")


# --- site_table ----------------------------------------------------------------------------------


def test_site_table_rows_and_drop():
    scores = pd.DataFrame(
        {
            "split": ["r1f1", "r1f2", "r1f1", "r1f2", "final", "final"],
            "strategy": ["late", "late", "early", "early", "late", "early"],
            "n_test": [10, 20, 10, 20, 5, 5],
            "balanced_accuracy": [0.6, 0.8, 0.5, 0.7, 0.9, 0.9],
            "roc_auc": [0.65, 0.85, 0.55, 0.75, 0.95, 0.95],
            "balanced_error_rate": [0.4, 0.2, 0.5, 0.3, 0.1, 0.1],
        }
    )
    pooled = pd.DataFrame({"strategy": ["late", "early"], "balanced_accuracy": [0.75, 0.6], "roc_auc": [0.8, 0.7]})
    t = site_table(scores, {"r1f1": "H2", "r1f2": "H1"}, task="classification", pooled=pooled)
    assert list(t.columns) == [
        "site",
        "strategy",
        "n_test",
        "balanced_accuracy",
        "roc_auc",
        "balanced_error_rate",
        "balanced_accuracy_pooled_cv",
        "balanced_accuracy_drop",
    ]
    assert list(zip(t["strategy"], t["site"])) == [("early", "H1"), ("early", "H2"), ("late", "H1"), ("late", "H2")]
    assert list(t["n_test"]) == [20, 10, 20, 10]
    assert t["balanced_accuracy"].tolist() == [0.7, 0.5, 0.8, 0.6]
    assert t["balanced_accuracy_pooled_cv"].tolist() == [0.6, 0.6, 0.75, 0.75]
    np.testing.assert_allclose(t["balanced_accuracy_drop"], [0.1, -0.1, 0.05, -0.15])
    # without the pooled scoreboard: no pooled columns; a pooled board indexed by strategy works too
    assert "balanced_accuracy_drop" not in site_table(scores, {"r1f1": "H2", "r1f2": "H1"}, task="classification")
    t2 = site_table(scores, {"r1f1": "H2", "r1f2": "H1"}, task="classification", pooled=pooled.set_index("strategy"))
    pd.testing.assert_frame_equal(t, t2)


def test_site_table_regression_primary_metric():
    scores = pd.DataFrame(
        {"split": ["r1f1"], "strategy": ["s"], "n_test": [8], "r2": [0.2], "pearson_r": [0.5], "rmse": [1.0]}
    )
    t = site_table(scores, {"r1f1": "A"}, task="regression", pooled=pd.DataFrame({"strategy": ["s"], "r2": [0.5]}))
    assert t["r2_pooled_cv"].tolist() == [0.5]
    np.testing.assert_allclose(t["r2_drop"], [-0.3])


# --- shift_diagnostic ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shifted_sites():
    """3 sites x 40 samples, 2 layers x 200 features; layer A of site 3 shifted by 1 SD in every feature."""
    rng = np.random.default_rng(7)
    n, p = 40, 200
    sites = pd.Series(np.repeat(["1", "2", "3"], n), index=[f"S{i}" for i in range(3 * n)])
    A = pd.DataFrame(rng.normal(size=(3 * n, p)), index=sites.index, columns=[f"a{j}" for j in range(p)])
    A.loc[sites == "3"] += 1.0
    B = pd.DataFrame(rng.normal(size=(3 * n, p)), index=sites.index, columns=[f"b{j}" for j in range(p)])
    A.iloc[0, :5] = np.nan  # a few missing cells are filled, not fatal
    return {"A": A, "B": B}, sites


def _held_out(layers, sites, site):
    held = sites == site
    return {k: v[~held.to_numpy()] for k, v in layers.items()}, {k: v[held.to_numpy()] for k, v in layers.items()}


def test_shift_diagnostic_finds_the_shifted_site(shifted_sites):
    layers, sites = shifted_sites
    train, test = _held_out(layers, sites, "3")
    d = shift_diagnostic(train, test, seed=0, train_sites=sites).set_index("layer")
    assert list(d.index) == ["A", "B"]
    assert d.loc["A", "auc"] > 0.9 and d.loc["B", "auc"] < 0.7
    assert d.loc["A", "auc_nearest_site"] > 0.9  # unlike every training site
    assert d.loc["A", "n_train"] == 80 and d.loc["A", "n_test"] == 40 and d.loc["A", "features"] == 200


def test_shift_diagnostic_site_like_the_others(shifted_sites):
    layers, sites = shifted_sites
    train, test = _held_out(layers, sites, "1")
    d = shift_diagnostic(train, test, seed=0, train_sites=sites).set_index("layer")
    # site 1 is like site 2: compared with each training site alone, no shift in either layer
    assert d.loc["A", "auc_nearest_site"] < 0.7 and d.loc["A", "nearest_site"] == "2"
    assert d.loc["B", "auc"] < 0.7 and d.loc["B", "auc_nearest_site"] < 0.7
    # against the whole training side, half of which (site 3) is shifted in layer A, site 1 is told
    # from that half only: about 0.5 x 1 + 0.5 x 0.5 = 0.75, well below the shifted site's
    assert 0.6 < d.loc["A", "auc"] < 0.9


def test_shift_diagnostic_caps_rows_and_features(shifted_sites):
    layers, sites = shifted_sites
    train, test = _held_out(layers, sites, "3")
    test = {k: v.iloc[:10] for k, v in test.items()}
    d = shift_diagnostic(train, test, seed=0, max_features=50).set_index("layer")
    assert d.loc["A", "n_train"] == 50 and d.loc["A", "n_test"] == 10 and d.loc["A", "features"] == 50
    assert "auc_nearest_site" not in d.columns
    again = shift_diagnostic(train, test, seed=0, max_features=50).set_index("layer")
    pd.testing.assert_frame_equal(d, again)  # seeded
