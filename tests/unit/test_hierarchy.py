"""Hierarchical features (:mod:`moflow.integrate.prior_knowledge`) on data with planted answers.

120 samples x 400 genes of noise plus a latent factor ``f`` driving set A (30 genes, +f) and set B
(30 genes: -f on half, +f on the other half), and a factor ``g`` driving the 25 targets of regulator
R (weights +1); five decoy regulators have random targets among the other genes.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from moflow.enrich import GeneMap
from moflow.errors import DataError
from moflow.integrate import GeneLevel, RegulatorActivity, SetScores, parse_edges, ulm_activity

N, P = 120, 400
GENES = [f"g{j:03d}" for j in range(P)]
SAMPLES = [f"s{i:03d}" for i in range(N)]
SET_A = GENES[:30]
SET_B = GENES[30:60]
TARGETS = GENES[100:125]


def _simulate():
    rng = np.random.default_rng(7)
    f, g = rng.normal(size=N), rng.normal(size=N)
    X = rng.normal(size=(N, P)) + rng.normal(0, 2, P)[None, :]
    X[:, :30] += f[:, None]
    X[:, 30:45] -= f[:, None]
    X[:, 45:60] += f[:, None]
    X[:, 100:125] += g[:, None]
    others = [x for x in GENES if x not in TARGETS]
    decoys = {f"D{k}": rng.choice(others, 25, replace=False) for k in range(5)}
    edges = [("R", t, 1.0) for t in TARGETS]
    edges += [(d, t, float(rng.choice([-1.0, 1.0]))) for d, ts in decoys.items() for t in ts]
    edges = pd.DataFrame(edges, columns=["source", "target", "weight"])
    return (
        pd.DataFrame(X, index=SAMPLES, columns=GENES),
        pd.Series(f, index=SAMPLES),
        pd.Series(g, index=SAMPLES),
        edges,
    )


RAW, F, G_FACTOR, EDGES = _simulate()
Z = GeneLevel().fit_transform(RAW)  # z-scores on all samples
SETS = {"A": SET_A, "B": SET_B}


def _r(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, float), np.asarray(b, float))[0, 1])


# ---------------------------------------------------------------------------------------------
# GeneLevel
# ---------------------------------------------------------------------------------------------


def _features():
    """Two features per gene (different offsets and scales), a constant feature, an unmapped feature,
    a few missing cells and one sample without the layer."""
    rng = np.random.default_rng(3)
    genes = ["G1", "G2", "G3", "G4"]
    cols, pairs = [], []
    for gname in genes:
        for k in "ab":
            cols.append(f"{gname}_{k}")
            pairs.append((f"{gname}_{k}", gname))
    cols += ["const", "orphan"]
    pairs += [("const", "G5"), ("const", "G1")]  # G5's only feature is constant; G1 gains nothing from it
    X = pd.DataFrame(
        rng.normal(5, 3, (30, len(cols))) * rng.uniform(0.5, 4, len(cols)),
        columns=cols,
        index=[f"t{i}" for i in range(30)],
    )
    X["const"] = 2.0
    X.iloc[3, 0] = np.nan
    X.iloc[7, 5] = np.nan
    X.iloc[10, :] = np.nan
    gm = GeneMap(layer="prot", pairs=pd.DataFrame(pairs, columns=["feature", "gene"]), many_to_one="mean")
    return X, gm


def _hand(X: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """The hand computation: per gene the mean of its two features standardized with train's statistics."""
    train = train.dropna(how="all")
    out = {}
    for gname in ["G1", "G2", "G3", "G4"]:
        zs = [((X[c] - train[c].mean()) / train[c].std(ddof=1)).fillna(0.0) for c in (f"{gname}_a", f"{gname}_b")]
        out[gname] = (zs[0] + zs[1]) / 2
    out = pd.DataFrame(out)
    out.loc[X.isna().all(axis=1)] = np.nan
    return out


def test_gene_level_many_to_one_equals_hand_computation():
    X, gm = _features()
    est = GeneLevel(gm)
    assert est.fit(X) is est
    out = est.transform(X)
    assert list(out.columns) == ["G1", "G2", "G3", "G4"]  # G5 (constant feature only) dropped; sorted
    assert "const" not in est.mean_.index and "orphan" not in est.mean_.index
    pd.testing.assert_frame_equal(out, _hand(X, X), check_names=False, atol=1e-12, rtol=0)
    assert out.loc["t10"].isna().all() and out.drop(index="t10").notna().all().all()


def test_gene_level_uses_training_statistics_only():
    X, gm = _features()
    train, test = X.iloc[:20], X.iloc[20:] * 1.5 + 100.0  # shifted, rescaled test set (t10 stays all-NaN)
    est = GeneLevel(gm).fit(train)
    out = est.transform(test)
    pd.testing.assert_frame_equal(out, _hand(test, train), check_names=False, atol=1e-10, rtol=0)
    assert (out.drop(index="t10", errors="ignore").abs() > 5).all().all()  # not re-standardized on the test rows
    # the sample without the layer is ignored by fit
    with_empty = pd.concat([train, pd.DataFrame(np.nan, index=["empty"], columns=X.columns)])
    est2 = GeneLevel(gm).fit(with_empty)
    pd.testing.assert_series_equal(est2.mean_, est.mean_)
    pd.testing.assert_series_equal(est2.sd_, est.sd_)


def test_gene_level_identity_is_training_z_scores():
    est = GeneLevel(GeneMap.identity("rna")).fit(RAW.iloc[:80])
    out = est.transform(RAW.iloc[80:])
    expected = (RAW.iloc[80:] - RAW.iloc[:80].mean()) / RAW.iloc[:80].std(ddof=1)
    np.testing.assert_allclose(out.to_numpy(), expected[out.columns].to_numpy(), atol=1e-12)
    assert list(out.columns) == sorted(GENES)


# ---------------------------------------------------------------------------------------------
# SetScores
# ---------------------------------------------------------------------------------------------


def test_plage_tracks_the_planted_factor_with_positive_sign():
    est = SetScores(SETS, method="plage", prefix="rna:").fit(Z)
    S = est.transform(Z)
    assert list(S.columns) == ["rna:A", "rna:B"]
    assert abs(_r(S["rna:A"], F)) > 0.9 and abs(_r(S["rna:B"], F)) > 0.9
    assert _r(S["rna:A"], F) > 0  # set A's members all rise with f: a positive score means members high
    assert _r(S["rna:A"], Z[SET_A].mean(axis=1)) > 0.9
    assert _r(S["rna:B"], Z[SET_B].mean(axis=1)) > 0
    assert 0.35 < est.explained_["A"] < 0.8
    np.testing.assert_allclose(np.linalg.norm(est.loadings_["A"]), 1.0)
    np.testing.assert_allclose(S["rna:A"].std(ddof=1), 1.0)  # unit SD on training
    # flipping the data flips the score, not the convention
    S2 = SetScores(SETS).fit(-Z).transform(-Z)
    assert _r(S2["A"], -Z[SET_A].mean(axis=1)) > 0.9
    np.testing.assert_allclose(S2["A"].to_numpy(), -S["rna:A"].to_numpy(), atol=1e-9)


def test_plage_held_out_samples():
    train, test = SAMPLES[:80], SAMPLES[80:]
    gl = GeneLevel().fit(RAW.loc[train])
    Gtr, Gte = gl.transform(RAW.loc[train]), gl.transform(RAW.loc[test])
    est = SetScores(SETS).fit(Gtr)
    S = est.transform(Gte)
    assert _r(S["A"], F[test]) > 0.85
    assert abs(_r(S["B"], F[test])) > 0.85
    assert _r(S["A"], Gte[SET_A].mean(axis=1)) > 0
    # held-out rows transform the same alone as together
    one = est.transform(Gte.iloc[[5]])
    np.testing.assert_allclose(one.to_numpy(), S.iloc[[5]].to_numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["mean", "rank"])
def test_mean_and_rank_track_the_factor(method):
    S = SetScores(SETS, method=method).fit(Z.iloc[:80]).transform(Z)
    assert _r(S["A"], F) > 0.8
    if method == "rank":
        assert S.to_numpy().min() >= -0.5 and S.to_numpy().max() <= 0.5


def test_rank_score_hand_computation():
    from scipy.stats import rankdata

    S = SetScores({"A": SET_A}, method="rank").fit(Z).transform(Z.iloc[:3])
    n, k = P, len(SET_A)
    for i in range(3):
        ranks = pd.Series(rankdata(Z.iloc[i].to_numpy()), index=Z.columns)
        m = ranks[SET_A].mean()
        lo, hi = (k + 1) / 2, (2 * n - k + 1) / 2
        assert S["A"].iloc[i] == pytest.approx((m - lo) / (hi - lo) - 0.5, abs=1e-12)
    # the top genes score 0.5, the bottom ones -0.5
    top = Z.iloc[0].sort_values().index
    T = SetScores({"hi": list(top[-12:]), "lo": list(top[:12])}, method="rank").fit(Z).transform(Z.iloc[[0]])
    assert T["hi"].iloc[0] == pytest.approx(0.5) and T["lo"].iloc[0] == pytest.approx(-0.5)


def test_set_sizes_outside_the_bounds_are_dropped():
    sets = {
        "small": GENES[200:205],
        "exact_min": GENES[200:210],
        "big": GENES[200:260],
        "absent": GENES[300:308] + ["nope1", "nope2", "nope3", "nope4"],
        "ok": GENES[300:340],
    }
    est = SetScores(sets, method="mean", min_size=10, max_size=50).fit(Z)
    assert list(est.members_) == ["exact_min", "ok"]
    assert list(est.transform(Z).columns) == ["exact_min", "ok"]
    assert sets["absent"][-1] == "nope4"  # the parameter is left as it was


def test_missing_layer_rows_stay_nan():
    G = Z.copy()
    G.iloc[4] = np.nan
    for method in ("plage", "mean", "rank"):
        S = SetScores(SETS, method=method).fit(G).transform(G)
        assert S.iloc[4].isna().all() and S.drop(index=G.index[4]).notna().all().all()
    est = SetScores(SETS).fit(G)
    ref = SetScores(SETS).fit(G.drop(index=G.index[4]))
    pd.testing.assert_series_equal(est.loadings_["A"], ref.loadings_["A"])
    A = RegulatorActivity(EDGES).fit(G).transform(G)
    assert A.iloc[4].isna().all() and A.drop(index=G.index[4]).notna().all().all()


# ---------------------------------------------------------------------------------------------
# ulm_activity and RegulatorActivity
# ---------------------------------------------------------------------------------------------


def _weights() -> pd.DataFrame:
    W = EDGES.pivot(index="target", columns="source", values="weight").reindex(GENES).fillna(0.0)
    return W


def test_ulm_equals_statsmodels_ols_t_value():
    sm = pytest.importorskip("statsmodels.api")
    W = _weights()
    act = ulm_activity(Z, W.sample(frac=1.0, random_state=0))  # rows in another order: aligned by gene
    for i in (0, 17, 63, 119):
        for reg in W.columns:
            fit = sm.OLS(Z.iloc[i].to_numpy(), sm.add_constant(W[reg].reindex(Z.columns).to_numpy())).fit()
            assert abs(act[reg].iloc[i] - fit.tvalues[1]) < 1e-8


def test_planted_regulator_is_recovered_and_decoys_are_not():
    est = RegulatorActivity(EDGES, min_targets=5, prefix="tf:").fit(Z.iloc[:80])
    A = est.transform(Z)
    assert list(A.columns) == ["tf:D0", "tf:D1", "tf:D2", "tf:D3", "tf:D4", "tf:R"]
    assert _r(A["tf:R"], G_FACTOR) > 0.9
    for d in range(5):
        assert abs(_r(A[f"tf:D{d}"], G_FACTOR)) < 0.3


def test_regulators_with_few_targets_are_dropped():
    extra = pd.DataFrame(
        {"source": ["few"] * 3 + ["ghost"] * 6, "target": GENES[:3] + [f"x{k}" for k in range(6)], "weight": 1.0}
    )
    edges = pd.concat([EDGES, extra], ignore_index=True)
    est = RegulatorActivity(edges, min_targets=5).fit(Z)
    assert "few" not in est.weights_.columns and "ghost" not in est.weights_.columns
    assert "R" in est.weights_.columns
    assert RegulatorActivity(edges, min_targets=3).fit(Z).weights_.columns.tolist().count("few") == 1


# ---------------------------------------------------------------------------------------------
# parse_edges
# ---------------------------------------------------------------------------------------------


def _table(**cols) -> pd.DataFrame:
    return pd.DataFrame({k: list(v) for k, v in cols.items()}, dtype=object)


def test_parse_edges_signs_and_weights():
    out = parse_edges(
        _table(source=["TF1", "TF1", "TF2", "TF2"], target=["a", "b", "a", "c"], sign=["+", "-", "1", "-1"]),
        path="net.tsv",
    )
    assert list(out.columns) == ["source", "target", "weight"]
    assert out["weight"].tolist() == [1.0, -1.0, 1.0, -1.0] and out["weight"].dtype == float
    out = parse_edges(_table(source=["TF1", "TF2"], target=["a", "b"], weight=["0.5", "-2"]), path="net.tsv")
    assert out["weight"].tolist() == [0.5, -2.0]
    out = parse_edges(_table(source=[" TF1 "], target=["a"]), path="net.tsv")
    assert out.iloc[0].tolist() == ["TF1", "a", 1.0]


@pytest.mark.parametrize(
    "table, expected",
    [
        (_table(regulator=["TF1"], target=["a"]), ["net.tsv", "'source'", "regulator, target"]),
        (
            _table(source=["TF1", "TF1", "TF2"], target=["a", "b", "c"], weight=["1", "2", "abc"]),
            ["net.tsv", "line 4", "'abc'"],
        ),
        (_table(source=["TF1", "TF1"], target=["a", "b"], sign=["+", "up"]), ["net.tsv", "line 3", "'up'"]),
        (_table(source=["TF1", "TF1"], target=["a", " "]), ["net.tsv", "line 3", "blank target"]),
        (_table(source=["TF1", "", "TF2"], target=["a", "b", "c"]), ["net.tsv", "line 3", "blank source"]),
        (
            _table(source=["TF1", "TF1", "TF2", "TF1"], target=["a", "b", "c", "a"]),
            ["net.tsv", "lines 2 and 5", "TF1 -> a"],
        ),
        (_table(source=["TF1"], target=["a"], weight=["1"], sign=["+"]), ["net.tsv", "'weight'", "'sign'"]),
    ],
)
def test_parse_edges_errors_name_file_and_line(table, expected):
    with pytest.raises(DataError) as err:
        parse_edges(table, path="net.tsv")
    for part in expected:
        assert part in str(err.value)


# ---------------------------------------------------------------------------------------------
# estimator contract
# ---------------------------------------------------------------------------------------------


def _same(a, b) -> bool:
    if isinstance(a, (pd.DataFrame, pd.Series, pd.Index)):
        return type(a) is type(b) and a.equals(b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if hasattr(a, "toarray"):
        return _same(a.toarray(), b.toarray())
    if isinstance(a, GeneMap):
        return a.layer == b.layer and a.many_to_one == b.many_to_one and _same(a.pairs, b.pairs)
    return bool(a == b)


def _cases():
    X, gm = _features()
    G = Z.copy()
    G.iloc[2] = np.nan
    return [
        ("GeneLevel-map", lambda: GeneLevel(gm), X.iloc[:20], X.iloc[20:]),
        ("GeneLevel-identity", lambda: GeneLevel(None), RAW.iloc[:80], RAW.iloc[80:]),
        *[
            (f"SetScores-{m}", lambda m=m: SetScores(SETS, method=m, min_size=5, prefix="p:"), G.iloc[:80], G.iloc[80:])
            for m in ("plage", "mean", "rank")
        ],
        ("RegulatorActivity", lambda: RegulatorActivity(EDGES, min_targets=5, prefix="tf:"), G.iloc[:80], G.iloc[80:]),
    ]


@pytest.mark.parametrize("name, make, train, held", _cases(), ids=[c[0] for c in _cases()])
def test_estimator_contract(name, make, train, held):
    est = make()
    params = est.get_params(deep=False)
    twin = clone(est)
    assert all(_same(v, twin.get_params(deep=False)[k]) for k, v in params.items())
    assert est.set_params(**params).get_params(deep=False) == params
    before = (train.copy(), held.copy(), copy.deepcopy(params))
    assert est.fit(train) is est
    state = copy.deepcopy(vars(est))
    out_train = est.transform(train)
    out_held = est.transform(held)
    poisoned = held * 3.0 + 50.0
    est.transform(poisoned)
    assert _same(vars(est), state), f"{name}: transform changed the learnt state"
    pd.testing.assert_frame_equal(est.transform(train), out_train)
    alone = est.transform(held.iloc[[1]])
    np.testing.assert_allclose(alone.to_numpy(), out_held.iloc[[1]].to_numpy(), rtol=1e-10, atol=1e-10)
    mixed = est.transform(pd.concat([held.iloc[[1]], poisoned.iloc[2:]]))
    np.testing.assert_allclose(mixed.iloc[[0]].to_numpy(), out_held.iloc[[1]].to_numpy(), rtol=1e-10, atol=1e-10)
    # inputs and parameters untouched; learnt attributes end with '_' and the clone has none
    assert train.equals(before[0]) and held.equals(before[1])
    assert all(_same(v, before[2][k]) for k, v in est.get_params(deep=False).items())
    assert all(k.endswith("_") for k in vars(est) if k not in params)
    fresh = clone(est)
    assert not [k for k in vars(fresh) if k.endswith("_")]
    pd.testing.assert_frame_equal(fresh.fit(train).transform(held), out_held)
