"""MOFA: planted factors are recovered, projection reproduces and extends the fit, inputs are checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from unit_helpers import make_preprocessors

from moflow.demo import FACTORS
from moflow.errors import InputError
from moflow.evaluate import preprocess_fold
from moflow.integrate import MOFA, check_mofa_input, factor_associations, match_factors

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def matched(mofa_full, cohort):
    return match_factors(mofa_full.Z_train_, cohort.factors).set_index("true_factor")


@pytest.fixture(scope="module")
def fold_mofa(cohort, info, outcome, qc_ids, fold_ids):
    """Preprocessing and MOFA fit on the training samples of one fold only; held-out layers transformed."""
    train, test = fold_ids
    tr, te = preprocess_fold(cohort.layers, make_preprocessors(info), outcome, train, test, qc={"metabolomics": qc_ids})
    model = MOFA(n_factors=6, seed=0).fit(tr)
    return model, tr, te


def test_recovers_each_planted_factor(matched, mofa_full):
    assert set(matched.index) == set(FACTORS)
    assert (matched["abs_r"] > 0.8).all(), matched
    # distinct planted factors are found as distinct learned factors
    assert matched["learned_factor"].is_unique
    assert mofa_full.Z_train_.shape == (90, 6)


def test_variance_explained_follows_planted_layers(mofa_full, matched):
    r2 = mofa_full.r2_.pivot(index="factor", columns="view", values="r2")
    assert (mofa_full.r2_["r2"] >= 0).all()
    for f, (layers, _) in FACTORS.items():
        lf = matched.loc[f, "learned_factor"]
        assert r2.loc[lf].sum() > 0.02
        for view in ("rna", "protein", "metabolomics"):
            if view in layers:
                assert r2.loc[lf, view] > 0.01, (f, view)
            else:
                assert r2.loc[lf, view] < 0.01, (f, view)


def test_projection_of_training_samples_reproduces_fit(mofa_full, preprocessed):
    Z = mofa_full.transform(preprocessed)
    assert list(Z.index) == list(mofa_full.Z_train_.index)
    assert list(Z.columns) == mofa_full.factor_names_
    active = mofa_full.r2_.groupby("factor")["r2"].sum()
    for f in mofa_full.factor_names_:
        if active[f] > 0.01:
            assert np.corrcoef(Z[f], mofa_full.Z_train_[f])[0, 1] > 0.99, f


def test_projection_of_held_out_samples(fold_mofa, cohort, fold_ids):
    model, tr, te = fold_mofa
    train, test = fold_ids
    assert set(model.samples_) == set(train)  # the fit never saw held-out samples
    Z = model.transform(te)
    assert list(Z.index) == test
    m = match_factors(Z, cohort.factors).set_index("true_factor")
    assert m.loc["F1", "abs_r"] > 0.8
    assert (m["abs_r"] > 0.7).all(), m
    # the held-out projection uses the same factor as the training fit for F1
    m_train = match_factors(model.Z_train_, cohort.factors).set_index("true_factor")
    assert m.loc["F1", "learned_factor"] == m_train.loc["F1", "learned_factor"]
    assert np.sign(m.loc["F1", "r"]) == np.sign(m_train.loc["F1", "r"])


def test_projection_with_missing_layer_rows(fold_mofa):
    """A sample that lacks a layer (all missing there) is still projected from its other layers."""
    model, tr, te = fold_mofa
    Z_full = model.transform(te)
    te2 = dict(te)
    te2["protein"] = te["protein"].copy()
    te2["protein"].iloc[:5] = np.nan
    Z = model.transform(te2)
    assert np.isfinite(Z.to_numpy()).all()
    # the other samples are unaffected
    np.testing.assert_allclose(Z.iloc[5:].to_numpy(), Z_full.iloc[5:].to_numpy(), rtol=1e-10, atol=1e-10)
    # without protein, F1 (shared by all layers) is still estimated from RNA and metabolomics
    assert np.corrcoef(Z.iloc[:5, 0], Z_full.iloc[:5, 0])[0, 1] > 0.8


def test_weights_table(mofa_full, matched, cohort):
    W = mofa_full.weights()
    assert list(W.columns) == ["view", "feature", "factor", "weight"]
    n_feat = sum(len(v) for v in mofa_full.features_.values())
    assert len(W) == n_feat * mofa_full.K_
    # planted RNA genes carry the largest weights of their factor
    gs = FACTORS["F3"][1]
    lf = matched.loc["F3", "learned_factor"]
    w = W[(W["view"] == "rna") & (W["factor"] == lf)].set_index("feature")["weight"].abs()
    top = set(w.sort_values(ascending=False).index[:40])
    assert len(top & set(cohort.gene_sets[gs])) >= 30


def test_factor_associations_find_outcome_factor(mofa_full, matched, info, outcome):
    cov = info.loc[outcome.index, ["batch", "injection_order"]].assign(outcome=outcome)
    res = factor_associations(mofa_full.Z_train_, cov)
    assert {"factor", "covariate", "test", "p", "p_adj"} <= set(res.columns)
    assert set(res.loc[res["covariate"] == "outcome", "test"]) == {"kruskal"}
    assert set(res.loc[res["covariate"] == "injection_order", "test"]) == {"pearson"}
    out = res[res["covariate"] == "outcome"].sort_values("p_adj")
    assert out.iloc[0]["factor"] == matched.loc["F1", "learned_factor"]
    assert out.iloc[0]["p_adj"] < 0.01
    # no other factor is nearly as strongly tied to the outcome
    assert out.iloc[1]["p_adj"] > 100 * out.iloc[0]["p_adj"]


def test_factor_associations_numeric_covariate():
    rng = np.random.default_rng(0)
    idx = [f"S{i}" for i in range(60)]
    z = pd.DataFrame({"Factor1": rng.normal(size=60), "Factor2": rng.normal(size=60)}, index=idx)
    age = pd.Series((50 + 10 * z["Factor1"] + rng.normal(0, 3, 60)).round(1).astype(str), index=idx)
    age.iloc[3] = ""  # a missing value as read from the sheet
    res = factor_associations(z, pd.DataFrame({"age": age})).set_index("factor")
    assert (res["test"] == "pearson").all()
    assert res.loc["Factor1", "effect"] > 0.9 and res.loc["Factor1", "p_adj"] < 1e-10
    assert res.loc["Factor2", "p_adj"] > 0.01


def test_factor_associations_numeric_covariate_with_na_token():
    rng = np.random.default_rng(0)
    idx = [f"S{i}" for i in range(60)]
    z = pd.DataFrame({"Factor1": rng.normal(size=60)}, index=idx)
    age = pd.Series((50 + 10 * z["Factor1"] + rng.normal(0, 3, 60)).round(1).astype(str), index=idx)
    age.iloc[3] = "NA"
    res = factor_associations(z, pd.DataFrame({"age": age}))
    assert res.loc[0, "test"] == "pearson"
    assert res.loc[0, "p_adj"] < 1e-10


def test_no_factor_left_associated_with_batch(mofa_full, info, outcome):
    res = factor_associations(mofa_full.Z_train_, info.loc[outcome.index, ["batch"]])
    assert res["p_adj"].min() > 0.01, res.sort_values("p").head()


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------


def _small_layers(seed=0):
    rng = np.random.default_rng(seed)
    idx = [f"S{i}" for i in range(30)]
    a = pd.DataFrame(rng.normal(size=(30, 20)), index=idx, columns=[f"a{j}" for j in range(20)])
    b = pd.DataFrame(rng.integers(0, 2, (30, 10)).astype(float), index=idx, columns=[f"b{j}" for j in range(10)])
    return {"a": a, "b": b}


def test_check_mofa_input_accepts_valid_layers():
    layers = _small_layers()
    layers["a"].iloc[0, 0] = np.nan
    check_mofa_input(layers, {"b": "bernoulli"})


def test_check_mofa_input_rejects_all_nan_feature():
    layers = _small_layers()
    layers["a"]["a3"] = np.nan
    with pytest.raises(InputError, match=r"feature 'a3' of layer 'a' has no observed value"):
        check_mofa_input(layers, {})
    # and MOFA.fit stops with the same InputError before mofapy2 (which would sys.exit) sees it
    with pytest.raises(InputError, match="a3"):
        MOFA(n_factors=2).fit(layers)


def test_check_mofa_input_rejects_non_binary_bernoulli():
    layers = _small_layers()
    layers["b"].iloc[3, 2] = 0.5
    with pytest.raises(InputError, match=r"layer 'b' is declared bernoulli"):
        check_mofa_input(layers, {"b": "bernoulli"})
    try:
        MOFA(n_factors=2, likelihoods={"b": "bernoulli"}).fit(layers)
    except SystemExit:  # pragma: no cover - what the check exists to prevent
        pytest.fail("MOFA.fit let mofapy2 exit the interpreter")
    except InputError:
        pass
    else:  # pragma: no cover
        pytest.fail("MOFA.fit accepted a non-binary bernoulli layer")


def test_check_mofa_input_other_rejections():
    layers = _small_layers()
    with pytest.raises(InputError, match="likelihood 'binomial' unknown"):
        check_mofa_input(layers, {"b": "binomial"})
    with pytest.raises(InputError, match="poisson"):
        check_mofa_input({"a": layers["a"]}, {"a": "poisson"})
    inf = dict(layers)
    inf["a"] = layers["a"].copy()
    inf["a"].iloc[0, 0] = np.inf
    with pytest.raises(InputError, match="infinite"):
        check_mofa_input(inf, {})
    with pytest.raises(InputError, match="no layer"):
        check_mofa_input({}, {})
    with pytest.raises(InputError, match="no features"):
        check_mofa_input({"a": layers["a"].iloc[:, :0]}, {})


def test_fit_is_deterministic(preprocessed):
    small = {k: v.iloc[:, :60] for k, v in preprocessed.items()}
    a = MOFA(n_factors=3, seed=4, max_iter=200).fit(small)
    b = MOFA(n_factors=3, seed=4, max_iter=200).fit(small)
    pd.testing.assert_frame_equal(a.Z_train_, b.Z_train_)


def test_match_factors():
    rng = np.random.default_rng(0)
    T = pd.DataFrame(rng.normal(size=(50, 2)), columns=["F1", "F2"])
    L = pd.DataFrame({"Factor1": T["F2"] * 2 + rng.normal(0, 0.1, 50), "Factor2": -T["F1"]})
    m = match_factors(L, T).set_index("true_factor")
    assert m.loc["F1", "learned_factor"] == "Factor2" and m.loc["F1", "r"] == pytest.approx(-1.0)
    assert m.loc["F2", "learned_factor"] == "Factor1" and m.loc["F2", "abs_r"] > 0.99


def _grouped_cohort(seed=0):
    """Two views, one shared factor z; group 'B' sits 3 units higher on every feature and is three
    times noisier (noise sd 0.3 vs 0.9)."""
    rng = np.random.default_rng(seed)
    n_per, samples = 60, [f"S{i:03d}" for i in range(120)]
    group = pd.Series(["A"] * n_per + ["B"] * n_per, index=samples)
    z = rng.normal(size=120)
    noise = np.where(group == "A", 0.3, 0.9)[:, None]
    layers = {}
    for v, d in (("v1", 40), ("v2", 30)):
        w = rng.uniform(0.5, 1.0, d)
        X = np.outer(z, w) + 3.0 * (group == "B").to_numpy()[:, None] + noise * rng.normal(size=(120, d))
        layers[v] = pd.DataFrame(X, index=samples, columns=[f"{v}_{j}" for j in range(d)])
    return layers, group, pd.Series(z, index=samples)


def test_mofa_groups_separate_within_group_signal_from_group_shift():
    layers, group, z = _grouped_cohort()
    is_b = (group == "B").astype(float)

    plain = MOFA(n_factors=3, seed=0).fit(layers)
    assert plain.Z_train_.corrwith(is_b).abs().max() > 0.8  # one group: a factor is the group shift

    grouped = MOFA(n_factors=3, seed=0, groups=group).fit(layers)
    assert grouped.groups_ == ["A", "B"]
    Z = grouped.Z_train_
    assert Z.corrwith(is_b).abs().max() < 0.3  # centred per group: no factor is the shift
    assert Z.corrwith(z).abs().max() > 0.9  # the shared factor is recovered
    # noise precisions are learnt per group: B is three times noisier (precision ~9 times lower)
    ratio = np.median(grouped.group_tau_["v1"]["A"] / grouped.group_tau_["v1"]["B"])
    assert 4 < ratio < 20
    # projection with each sample's group means and precisions reproduces the fit
    proj = grouped.transform(layers)
    best = Z.corrwith(z).abs().idxmax()
    assert np.corrcoef(proj[best], Z[best])[0, 1] > 0.98
    # a sample of a group never seen in training is still projected (overall means, pooled precisions)
    new = {v: X.iloc[:3].rename(index=lambda s: s + "_new") for v, X in layers.items()}
    unseen = MOFA(n_factors=3, seed=0, groups=pd.concat([group, pd.Series("C", index=new["v1"].index)]))
    unseen.fit({v: X for v, X in layers.items()})
    assert np.isfinite(unseen.transform(new).to_numpy()).all()


def test_mofa_groups_need_a_label_and_three_samples_each():
    layers, group, _ = _grouped_cohort()
    with pytest.raises(InputError, match="have no group"):
        MOFA(n_factors=2, groups=group.iloc[:-1]).fit(layers)
    tiny = group.copy()
    tiny.iloc[:2] = "lonely"
    with pytest.raises(InputError, match="group 'lonely' has 2 training sample"):
        MOFA(n_factors=2, groups=tiny).fit(layers)


def test_mofa_groups_come_from_the_sample_sheet():
    from moflow.cohort import mofa_groups
    from moflow.integrate import build_mofa, build_strategies
    from moflow.settings import Settings

    sheet = pd.DataFrame(
        {
            "sample": ["S1", "S2", "S3", "QC1"],
            "sample_type": ["sample", "sample", "sample", "qc"],
            "outcome": ["a", "b", "a", ""],
            "centre": ["Oslo", "Lyon", "", "Oslo"],
        }
    )
    config = Settings.defaults(seed=0, integration={"mofa": {"groups": "centre", "factors": 3}})
    groups = mofa_groups(sheet, config)
    assert list(groups.index) == ["S1", "S2", "S3"]  # QC injections are not cohort samples
    assert groups["S1"] == "Oslo" and pd.isna(groups["S3"])  # blank: missing, MOFA then names it
    omics = pd.DataFrame({"layer": ["rna"], "kind": ["log_expression"]})
    mofa = build_mofa(omics, config, sheet=sheet)
    assert mofa.groups.equals(groups) and mofa.center_groups
    assert mofa_groups(sheet, Settings.defaults()) is None
    with pytest.raises(InputError, match="'site', which is not in config/samples.tsv"):
        mofa_groups(sheet, Settings.defaults(integration={"mofa": {"groups": "site"}}), path="config/samples.tsv")
    factory = build_strategies(omics, config)["mofa"]  # built lazily: early/late runs need no sheet
    with pytest.raises(ValueError, match="pass the sample sheet"):
        factory()


def test_check_tolerance_stops_sooner_and_finds_the_same_planted_factors(preprocessed, cohort, mofa_full):
    """A looser ELBO tolerance (the CV folds' check_tolerance) stops after fewer iterations and still
    recovers every planted factor, as the fully converged fit does."""
    quick = MOFA(n_factors=6, seed=0, tolerance=0.05).fit(preprocessed)
    assert quick.n_iter_ < mofa_full.n_iter_
    m = match_factors(quick.Z_train_, cohort.factors).set_index("true_factor")
    assert (m["abs_r"] > 0.8).all(), m
