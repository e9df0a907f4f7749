"""Subtypes (moflow.subtypes): similarity network fusion recovers groups that no single layer separates,
and prediction strength against a reference without structure chooses k = 3 for three planted groups and
k = 1 ("no reproducible subtypes") for a cohort without groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score

from moflow.subtypes import affinity, choose_k, fuse, fused_network, k_evidence, prediction_strength


def _three_groups(n=150, seed=0, shift=1.5):
    """Groups 0, 1, 2; layer a separates group 0 from the rest, layer b group 1 from the rest."""
    rng = np.random.default_rng(seed)
    g = np.repeat([0, 1, 2], n // 3)
    a = rng.normal(size=(n, 40))
    a[g == 0, :10] += shift
    b = rng.normal(size=(n, 30))
    b[g == 1, :10] += shift
    idx = [f"s{i}" for i in range(n)]
    return g, {"a": pd.DataFrame(a, index=idx), "b": pd.DataFrame(b, index=idx)}


def _spectral(W, k):
    return SpectralClustering(k, affinity="precomputed", random_state=0).fit_predict(W)


def test_fusion_finds_the_groups_that_each_layer_sees_only_in_part():
    g, layers = _three_groups()
    alone = [adjusted_rand_score(g, _spectral(affinity(X.to_numpy(), k=20), 3)) for X in layers.values()]
    fused = fused_network(layers, k=20, t=20)
    assert list(fused.index) == list(layers["a"].index)
    W = fused.to_numpy()
    assert np.allclose(W, W.T) and np.allclose(np.diag(W), 0.5)
    both = adjusted_rand_score(g, _spectral(W, 3))
    assert max(alone) < 0.6 and both >= 0.8, (alone, both)


def test_one_layer_is_its_own_network_and_bad_input_is_named():
    _, layers = _three_groups(n=30)
    W = affinity(layers["a"].to_numpy(), k=5)
    assert W.shape == (30, 30) and np.allclose(W, W.T) and (np.diag(W) >= W.max(axis=1) - 1e-12).all()
    assert fuse([W]).shape == (30, 30)
    broken = layers["a"].to_numpy().copy()
    broken[0, 0] = np.nan
    with pytest.raises(ValueError, match="impute the missing values first"):
        affinity(broken)


def test_prediction_strength_is_the_worst_clusters_share_of_pairs_kept_together():
    assert prediction_strength([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0
    assert prediction_strength([0, 0, 0, 1, 1], [1, 1, 2, 3, 3]) == pytest.approx(1 / 3)


@pytest.mark.parametrize("clustering", ["kmeans", "gmm", "ward", "spectral"])
def test_three_planted_groups_give_k_3(clustering):
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0]], float)
    g = np.repeat([0, 1, 2], 60)
    Z = centres[g] + rng.normal(size=(180, 3))
    evidence = k_evidence(Z, k_max=6, clustering=clustering, resamples=10, seed=0)
    k, why = choose_k(evidence)
    assert k == 3, (evidence.round(2).to_string(), why)
    assert "k = 3" in why


def test_a_cohort_without_groups_has_no_reproducible_subtypes():
    rng = np.random.default_rng(2)
    cov = np.array([[1.0, 0.6, 0.2], [0.6, 1.0, 0.3], [0.2, 0.3, 1.0]])
    Z = rng.multivariate_normal(np.zeros(3), cov, size=180)
    evidence = k_evidence(Z, k_max=6, resamples=10, seed=0)
    k, why = choose_k(evidence)
    assert k == 1 and why.startswith("no reproducible subtypes"), evidence.round(2).to_string()
    # splitting the cloud in two is stable by itself: only the reference tells it from structure
    two = evidence.set_index("k").loc[2]
    assert two["strength"] > 0.6 and abs(two["gain"]) < 0.1


# -- discovery on layers: planted groups in two of three layers, in one layer only, and none -----------------------


def _layers(groups_in: tuple, n: int = 150, seed: int = 3, shift: float = 1.2):
    """Three layers (60, 40, 50 features); the groups (3 of 50) shift 12 features of each layer in ``groups_in``."""
    rng = np.random.default_rng(seed)
    g = np.repeat([0, 1, 2], n // 3)
    idx = [f"s{i}" for i in range(n)]
    out = {}
    for name, p in (("rna", 60), ("protein", 40), ("metab", 50)):
        X = rng.normal(size=(n, p))
        if name in groups_in:
            pattern = rng.normal(size=(3, 12)) * shift
            X[:, :12] += pattern[g]
        out[name] = pd.DataFrame(X, index=idx, columns=[f"{name}_{j}" for j in range(p)])
    return g, out


def test_three_groups_in_two_of_three_layers_are_found_and_the_two_layers_named():
    from moflow.subtypes import discover, marker_layers, subtype_markers

    g, layers = _layers(("rna", "protein"))
    found = discover(layers, k_max=5, clusterings=("kmeans",), resamples=10, seed=0)
    assert found["k"] == 3, found["evidence"].round(2).to_string()
    a = found["assignments"].set_index("sample")
    assert adjusted_rand_score(g, a.loc[layers["rna"].index, "subtype"]) >= 0.8
    assert a["confidence"].between(0, 1).all() and a["confidence"].median() > 0.9
    assert found["evidence"]["chosen"].sum() == 1
    carriers = marker_layers(subtype_markers(layers, a["subtype"]))
    assert set(carriers["layer"].iloc[:2]) == {"rna", "protein"}
    assert carriers.set_index("layer").loc["metab", "share"] < 0.1


def test_groups_in_one_layer_only_are_found_and_that_layer_named():
    from moflow.subtypes import discover, marker_layers, subtype_markers

    g, layers = _layers(("protein",), shift=1.6)
    found = discover(layers, k_max=5, clusterings=("kmeans",), resamples=10, seed=0)
    assert found["k"] == 3, found["evidence"].round(2).to_string()
    a = found["assignments"].set_index("sample")
    assert adjusted_rand_score(g, a.loc[layers["rna"].index, "subtype"]) >= 0.8
    assert marker_layers(subtype_markers(layers, a["subtype"]))["layer"].iloc[0] == "protein"


def test_layers_without_groups_have_no_reproducible_subtypes():
    from moflow.subtypes import discover

    _, layers = _layers(())
    found = discover(layers, k_max=5, clusterings=("kmeans",), resamples=10, seed=0)
    assert found["k"] == 1 and found["why"].startswith("no reproducible subtypes")
    assert (found["assignments"]["subtype"] == "S1").all() and not found["evidence"]["chosen"].any()


def test_associations_and_survival_of_the_subtypes():
    from moflow.subtypes import subtype_associations, survival_difference

    rng = np.random.default_rng(4)
    idx = [f"s{i}" for i in range(120)]
    labels = pd.Series(np.repeat(["S1", "S2"], 60), index=idx)
    sheet = pd.DataFrame(
        {
            "ighv": np.where(labels == "S1", "M", np.where(rng.random(120) < 0.8, "U", "M")),
            "age": np.round(rng.normal(60, 8, 120), 1).astype(str),
            "site": "A",  # one value: left out
        },
        index=idx,
    )
    assoc = subtype_associations(sheet, labels).set_index("column")
    assert "site" not in assoc.index and assoc.loc["ighv", "test"] == "chi2" and assoc.loc["age", "test"] == "kruskal"
    assert assoc.loc["ighv", "fdr"] < 1e-6 and assoc.loc["age", "p"] > 0.01
    time = pd.Series(rng.exponential(np.where(labels == "S1", 10.0, 3.0)), index=idx)
    event = pd.Series((rng.random(120) < 0.8).astype(int), index=idx)
    test = survival_difference(time, event, labels)
    assert test["df"] == 1 and test["n"] == 120 and test["p"] < 1e-3


def test_each_subtype_gets_its_kaplan_meier_curve():
    from moflow.evaluate import kaplan_meier
    from moflow.subtypes import KM_COLUMNS, subtype_kaplan_meier

    rng = np.random.default_rng(5)
    idx = [f"s{i}" for i in range(150)]
    labels = pd.Series(np.repeat(["S1", "S2", "S10"], 50), index=idx)
    # planted: S1 lives longest (mean 20), S10 shortest (mean 2); one sample without a time is left out
    time = pd.Series(rng.exponential(np.select([labels == "S1", labels == "S2"], [20.0, 6.0], 2.0)), index=idx)
    time.iloc[0] = np.nan
    event = pd.Series((rng.random(150) < 0.9).astype(int), index=idx)
    km = subtype_kaplan_meier(time, event, labels)
    assert list(km.columns) == KM_COLUMNS and list(dict.fromkeys(km["subtype"])) == ["S1", "S2", "S10"]
    first = km.groupby("subtype", sort=False).first()
    assert first["at_risk"].to_dict() == {"S1": 49, "S2": 50, "S10": 50} and (first["survival"] == 1).all()
    s2 = km[km["subtype"] == "S2"].drop(columns="subtype").reset_index(drop=True)
    ref = kaplan_meier(time[labels == "S2"].to_numpy(), event[labels == "S2"].to_numpy() > 0)
    pd.testing.assert_frame_equal(s2, ref[s2.columns], check_dtype=False)

    def at(g, t):
        k = km[(km["subtype"] == g) & (km["time"] <= t)]
        return float(k["survival"].iloc[-1])

    assert at("S1", 4.0) > at("S2", 4.0) > at("S10", 4.0)


def test_too_few_samples_are_named_and_a_lowered_k_max_is_said(caplog):
    with pytest.raises(ValueError, match="7 samples are too few to test even k = 2"):
        k_evidence(np.random.default_rng(0).normal(size=(7, 3)))
    with caplog.at_level("WARNING", logger="moflow"):
        ev = k_evidence(np.random.default_rng(0).normal(size=(20, 3)), k_max=8, resamples=3)
    assert list(ev["k"]) == [2, 3, 4, 5] and "k_max 8 lowered to 5" in caplog.text


def test_consensus_is_unambiguous_at_the_planted_k_and_ambiguous_without_structure():
    from moflow.subtypes import consensus_matrix, pac, pac_curve

    rng = np.random.default_rng(1)
    centres = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0]], float)
    Z = centres[np.repeat([0, 1, 2], 40)] + rng.normal(size=(120, 3))
    C = consensus_matrix(Z, 3, resamples=20)
    assert C.shape == (120, 120) and np.allclose(np.diag(C), 1) and np.nanmax(C) <= 1
    curve = pac_curve(Z, [2, 3, 4], resamples=20).set_index("k")["pac"]
    assert curve[3] < 0.05 and curve[3] < curve[2] and curve[3] < curve[4]
    cloud = rng.normal(size=(120, 3))
    assert pac(consensus_matrix(cloud, 3, resamples=20)) > 0.2
