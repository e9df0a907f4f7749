"""The subtype stage's resamples (moflow.subtypes.resampling): each layer's chain and each representation refit
on the fitted half only; planted groups found (k, adjusted Rand index, the layers that carry them), none found
where there are none; the held-out half never changes what was fitted, and resamples are the same in any job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from moflow.preprocess import LayerPreprocessor, layer_settings
from moflow.subtypes import (
    FusedNetwork,
    LayerComponents,
    choose_subtypes,
    halves,
    marker_layers,
    resample_strengths,
    settle,
    subtype_markers,
    summarize_strengths,
)


def _cohort(groups_in: tuple, n: int = 120, seed: int = 3, shift: float = 1.3):
    """Three log-expression layers (60, 40, 50 features, on a log2 scale around 8); three groups of n/3 shift
    12 features of each layer in ``groups_in``."""
    rng = np.random.default_rng(seed)
    g = np.repeat([0, 1, 2], n // 3)
    idx = [f"s{i:03d}" for i in range(n)]
    raw = {}
    for name, p in (("rna", 60), ("protein", 40), ("metab", 50)):
        X = 8 + rng.normal(size=(n, p))
        if name in groups_in:
            X[:, :12] += (rng.normal(size=(3, 12)) * shift)[g]
        raw[name] = pd.DataFrame(X, index=idx, columns=[f"{name}_{j}" for j in range(p)])
    info = pd.DataFrame({"sample": idx}, index=idx)
    chains = {
        name: LayerPreprocessor(
            "log_expression", layer_settings("log_expression"), info=info, log_scale=True, layer=name, seed=0
        )
        for name in raw
    }
    return g, raw, chains, idx


def _run(raw, chains, idx, resamples=range(1, 9), **kw):
    kw = {"representations": ("components", "network"), "clusterings": ("kmeans",), "k_max": 5, **kw}
    rows = pd.concat([resample_strengths(raw, chains, idx, r, seed=0, **kw) for r in resamples], ignore_index=True)
    return rows, choose_subtypes(summarize_strengths(rows))


def _final(raw, choice):
    # the cohort's own representation, as the subtypes job builds it from the preprocessed layers
    layers = {n: X - X.mean() for n, X in raw.items()}
    Z = (
        FusedNetwork().fit(layers).embedding_
        if choice["representation"] == "network"
        else LayerComponents().fit_transform(layers)
    )
    return settle(choice, Z, resamples=10, seed=0), layers


def test_three_groups_in_two_of_three_layers_give_k_3_and_name_the_two_layers():
    g, raw, chains, idx = _cohort(("rna", "protein"))
    rows, choice = _run(raw, chains, idx)
    assert set(rows["representation"]) == {"components", "network"} and rows["resample"].nunique() == 8
    assert choice["k"] == 3, summarize_strengths(rows).round(2).to_string()
    chosen = choice["evidence"][choice["evidence"]["chosen"]].iloc[0]
    assert chosen["gain_lo"] > 0 and chosen["strength"] >= 0.6 and chosen["resamples"] == 8
    found, layers = _final(raw, choice)
    a = found["assignments"].set_index("sample")["subtype"]
    assert adjusted_rand_score(g, a.loc[idx]) >= 0.8
    carriers = marker_layers(subtype_markers(layers, a))
    assert set(carriers["layer"].iloc[:2]) == {"rna", "protein"}
    assert carriers.set_index("layer").loc["metab", "share"] < 0.1


def test_groups_in_one_layer_only_are_found_and_that_layer_named():
    g, raw, chains, idx = _cohort(("protein",), n=150, shift=1.8)
    rows, choice = _run(raw, chains, idx)
    assert choice["k"] == 3, summarize_strengths(rows).round(2).to_string()
    found, layers = _final(raw, choice)
    a = found["assignments"].set_index("sample")["subtype"]
    assert adjusted_rand_score(g, a.loc[idx]) >= 0.8
    assert marker_layers(subtype_markers(layers, a))["layer"].iloc[0] == "protein"


def test_layers_without_groups_have_no_reproducible_subtypes():
    _, raw, chains, idx = _cohort(())
    rows, choice = _run(raw, chains, idx)
    assert choice["k"] == 1 and choice["why"].startswith("no reproducible subtypes"), summarize_strengths(rows)
    assert not choice["evidence"]["chosen"].any()


def test_halves_are_disjoint_seeded_by_the_resample_and_the_same_in_any_job():
    idx = [f"s{i}" for i in range(21)]
    a, b = halves(idx, 4, seed=7)
    assert not set(a) & set(b) and sorted(a + b) == sorted(idx) and len(a) == 10
    assert halves(idx, 4, seed=7) == (a, b) and halves(idx, 5, seed=7) != (a, b)
    _, raw, chains, ids = _cohort(("rna",), n=60)
    kw = {"representations": ("components",), "clusterings": ("kmeans",), "k_max": 3}
    alone = resample_strengths(raw, chains, ids, 2, seed=0, **kw)
    together = pd.concat([resample_strengths(raw, chains, ids, r, seed=0, **kw) for r in (1, 2)])
    pd.testing.assert_frame_equal(alone, together[together["resample"] == 2].reset_index(drop=True))


def test_the_held_out_half_never_changes_what_the_fitted_half_learned():
    g, raw, _, idx = _cohort(("rna", "protein"), n=90)
    fit, held = idx[::2], idx[1::2]
    layers = {n: X - X.mean() for n, X in raw.items()}
    comp = LayerComponents(5).fit({n: X.loc[fit] for n, X in layers.items()})
    net = FusedNetwork(k=10).fit({n: X.loc[fit] for n, X in layers.items()})
    # a held-out sample is represented and voted on alone as in company, and poisoned neighbours change nothing
    one = {n: X.loc[[held[0]]] for n, X in layers.items()}
    poisoned = {n: pd.concat([X.loc[[held[0]]], X.loc[held[1:]] * 100]) for n, X in layers.items()}
    pd.testing.assert_frame_equal(comp.transform(one), comp.transform(poisoned).loc[[held[0]]])
    labels = pd.Series(g, index=idx).loc[net.samples_].to_numpy()
    pd.testing.assert_frame_equal(net.vote(one, labels, 3), net.vote(poisoned, labels, 3).loc[[held[0]]])
    # and the vote places held-out samples in their planted group
    votes = net.vote({n: X.loc[held] for n, X in layers.items()}, labels, 3)
    assert (votes.to_numpy().argmax(axis=1) == pd.Series(g, index=idx).loc[held].to_numpy()).mean() > 0.9
    assert np.allclose(votes.sum(axis=1), 1.0)


def test_a_representation_that_needs_what_is_not_given_is_named():
    _, raw, chains, idx = _cohort((), n=40)
    with pytest.raises(ValueError, match="mofa representation needs an unfitted MOFA"):
        resample_strengths(raw, chains, idx, 1, representations=("mofa",), clusterings=("kmeans",), k_max=3)


def test_the_classifier_of_new_samples_learns_the_subtypes_and_says_how_often_it_agrees():
    from moflow.subtypes import SubtypeClassifier, classifier_agreement

    g, raw, _, idx = _cohort(("rna", "protein"), n=90)
    layers = {n: X - X.mean() for n, X in raw.items()}
    labels = pd.Series([f"S{v + 1}" for v in g], index=idx)
    fit, new = idx[::3] + idx[1::3], idx[2::3]
    model = SubtypeClassifier(5).fit({n: X.loc[fit] for n, X in layers.items()}, labels.loc[fit])
    P = model.predict_table({n: X.loc[new] for n, X in layers.items()})
    assert list(P.columns) == ["p_S1", "p_S2", "p_S3"] and np.allclose(P.sum(axis=1), 1)
    assert (P.to_numpy().argmax(axis=1) == g[2::3]).mean() > 0.9
    # a sample lacking a layer is not scored; one subtype: every sample gets it
    lacking = {n: X.loc[new[:2]].copy() for n, X in layers.items()}
    lacking["metab"].loc[new[0]] = np.nan
    assert model.predict_table(lacking).loc[new[0]].isna().all()
    one = SubtypeClassifier(5).fit(layers, pd.Series("S1", index=idx))
    assert (one.predict_table(layers)["p_S1"] == 1).all()
    assert classifier_agreement(layers, labels, n_components=5) > 0.9
    shuffled = pd.Series(np.random.default_rng(0).permutation(labels.to_numpy()), index=idx)
    assert classifier_agreement(layers, shuffled, n_components=5) < 0.6
    assert np.isnan(classifier_agreement(layers, pd.Series("S1", index=idx)))


def test_the_most_variable_features_are_chosen_on_the_samples_given():
    from moflow.subtypes import most_variable

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 6)) * [1, 5, 1, 3, 1, 1], columns=list("abcdef"))
    assert list(most_variable({"x": X}, 2)["x"].columns) == ["b", "d"]  # in column order
    assert most_variable({"x": X}, None)["x"] is X and most_variable({"x": X}, 10)["x"] is X
    # a feature that varies only among held-out samples is not chosen by the fitted half
    fit, held = X.index[:20], X.index[20:]
    X.loc[held, "f"] = rng.normal(size=20) * 100
    assert "f" not in most_variable({"x": X.loc[fit]}, 2)["x"].columns
    assert "f" in most_variable({"x": X}, 2)["x"].columns


def test_the_search_over_many_combinations_does_not_keep_a_lucky_one():
    """80 combinations without subtypes: by chance a few have a 95% gain bound above 0 (planted: one clears
    the strength too); the bound adjusted for the search keeps none. A real gain still gets through."""
    from moflow.subtypes import choose_subtypes, summarize_strengths

    rng = np.random.default_rng(3)
    rows = []
    for c in range(10):
        for k in range(2, 10):
            for r in range(10):
                ref = rng.normal(0.5, 0.05)
                lucky = c == 0 and k == 2
                rows.append(
                    {
                        "representation": "components",
                        "clustering": f"c{c}",
                        "k": k,
                        "resample": r,
                        "strength": ref + (0.15 + rng.normal(0, 0.12) if lucky else rng.normal(0, 0.2)),
                        "reference": ref,
                    }
                )
    ev = summarize_strengths(pd.DataFrame(rows))
    lucky = ev[(ev["clustering"] == "c0") & (ev["k"] == 2)].iloc[0]
    assert lucky["strength"] >= 0.6 and lucky["gain_lo"] > 0  # an unadjusted search keeps it
    choice = choose_subtypes(ev)
    assert choice["k"] == 1 and "adjusted for the 80 combinations" in choice["why"]
    strong = pd.DataFrame(rows).assign(
        strength=lambda d: np.where((d["clustering"] == "c1") & (d["k"] == 3), d["reference"] + 0.3, d["strength"])
    )
    choice = choose_subtypes(summarize_strengths(strong))
    assert (choice["k"], choice["clustering"]) == (3, "c1")
