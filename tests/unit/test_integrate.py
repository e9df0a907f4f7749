"""Integration strategies: classes and continuous outcomes, samples lacking layers, refits per pattern."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, r2_score

from moflow.cohort import outcome_task
from moflow.evaluate import (
    FINAL,
    compare_best,
    corrected_ttest,
    make_splits,
    permutation_pvalue,
    scoreboard,
    split_members,
)
from moflow.integrate import (
    MOFA,
    EarlyIntegration,
    LateIntegration,
    MixedIntegration,
    MOFAStrategy,
    SingleLayer,
    stability,
)
from moflow.settings import Settings


def planted(n=160, seed=0, task="classification", n_classes=2):
    """Two layers driven by one latent variable z; the outcome follows z."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i:03d}" for i in range(n)]
    z = rng.normal(size=n)
    A = np.outer(z, rng.uniform(0.5, 1, 40)) + rng.normal(size=(n, 40))
    B = np.outer(z, rng.uniform(0.5, 1, 25)) + rng.normal(size=(n, 25))
    layers = {
        "A": pd.DataFrame(A, index=idx, columns=[f"a{j}" for j in range(40)]),
        "B": pd.DataFrame(B, index=idx, columns=[f"b{j}" for j in range(25)]),
    }
    layers = {k: (v - v.mean()) / v.std() for k, v in layers.items()}
    noisy = z + 0.5 * rng.normal(size=n)
    if task == "regression":
        y = pd.Series(noisy, index=idx)
    else:
        cuts = np.quantile(noisy, np.linspace(0, 1, n_classes + 1)[1:-1])
        y = pd.Series(np.array([f"c{k}" for k in range(n_classes)])[np.searchsorted(cuts, noisy)], index=idx)
    return layers, y


STRATS = {
    "single_A": lambda task: SingleLayer("A", task=task),
    "early": lambda task: EarlyIntegration(task=task),
    "mixed": lambda task: MixedIntegration(task=task, n_components=3),
    "late": lambda task: LateIntegration(task=task),
    "mofa": lambda task: MOFAStrategy(MOFA(n_factors=3, seed=0), task=task),
}


@pytest.mark.parametrize("name", sorted(STRATS))
def test_multiclass_outcome_is_learnt(name):
    layers, y = planted(task="classification", n_classes=3)
    tr, te = y.index[:110], y.index[110:]
    m = STRATS[name]("classification").fit({k: v.loc[tr] for k, v in layers.items()}, y.loc[tr])
    P = m.predict_table({k: v.loc[te] for k, v in layers.items()})
    assert list(P.columns) == ["p_c0", "p_c1", "p_c2"]
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-6)
    assert balanced_accuracy_score(y.loc[te], m.predict({k: v.loc[te] for k, v in layers.items()})) > 0.6


@pytest.mark.parametrize("name", sorted(STRATS))
def test_continuous_outcome_is_learnt(name):
    layers, y = planted(task="regression", seed=1)
    tr, te = y.index[:110], y.index[110:]
    m = STRATS[name]("regression").fit({k: v.loc[tr] for k, v in layers.items()}, y.loc[tr])
    pred = m.predict_table({k: v.loc[te] for k, v in layers.items()})["prediction"]
    assert r2_score(y.loc[te], pred) > 0.4


def test_permuted_continuous_outcome_is_not_learnt():
    layers, y = planted(task="regression", seed=2)
    y = pd.Series(np.random.default_rng(0).permutation(y.to_numpy()), index=y.index)
    tr, te = y.index[:110], y.index[110:]
    m = EarlyIntegration(task="regression").fit({k: v.loc[tr] for k, v in layers.items()}, y.loc[tr])
    assert r2_score(y.loc[te], m.predict_table({k: v.loc[te] for k, v in layers.items()})["prediction"]) < 0.1


def _lacking_b(layers, te, k=20):
    out = {n: v.copy() for n, v in layers.items()}
    out["B"].loc[te[:k]] = np.nan
    return out


def test_samples_lacking_a_layer():
    layers, y = planted(seed=3)
    tr, te = y.index[:110], y.index[110:]
    test_layers = _lacking_b({k: v.loc[te] for k, v in layers.items()}, te)
    train_layers = {k: v.loc[tr] for k, v in layers.items()}
    lacking = te[:20]
    single_b = SingleLayer("B").fit(train_layers, y.loc[tr]).predict_table(test_layers)
    assert single_b.loc[lacking].isna().all().all() and single_b.drop(index=lacking).notna().all().all()
    for name in ("early", "mixed", "late", "mofa"):
        m = STRATS[name]("classification").fit(train_layers, y.loc[tr])
        P = m.predict_table(test_layers)
        assert P.notna().all().all(), name
        assert ("A",) in m.subset_models_, name  # the lacking samples were scored by a model on layer A
        assert balanced_accuracy_score(y.loc[lacking], m.predict(test_layers)[:20]) > 0.6, name
    dropped = EarlyIntegration(missing="drop").fit(train_layers, y.loc[tr]).predict_table(test_layers)
    assert dropped.loc[lacking].isna().all().all()
    imputed = EarlyIntegration(missing="impute").fit(train_layers, y.loc[tr]).predict_table(test_layers)
    assert imputed.notna().all().all()


def test_early_refit_for_a_pattern_equals_early_on_that_layer():
    """The model that scores samples lacking B is exactly early integration trained on A alone."""
    layers, y = planted(seed=4)
    tr, te = y.index[:110], y.index[110:]
    test_layers = _lacking_b({k: v.loc[te] for k, v in layers.items()}, te, k=len(te))
    full = EarlyIntegration().fit({k: v.loc[tr] for k, v in layers.items()}, y.loc[tr])
    only_a = EarlyIntegration().fit({"A": layers["A"].loc[tr]}, y.loc[tr])
    np.testing.assert_allclose(
        full.predict_table(test_layers).to_numpy(),
        only_a.predict_table({"A": layers["A"].loc[te]}).to_numpy(),
        atol=1e-8,
    )


def test_training_samples_lacking_a_layer_are_kept():
    layers, y = planted(seed=5)
    tr = y.index[:110]
    train_layers = _lacking_b({k: v.loc[tr] for k, v in layers.items()}, tr, k=30)
    for name in ("late", "mofa", "single_A"):
        m = STRATS[name]("classification").fit(train_layers, y.loc[tr])
        assert m.predict_table({k: v.loc[y.index[110:]] for k, v in layers.items()}).notna().all().all()
    sb = SingleLayer("B").fit(train_layers, y.loc[tr])
    assert len(sb.y_) == 80  # trained on the samples that have B


def test_outcome_task():
    auto = Settings.defaults()
    assert outcome_task(pd.Series(["a", "b", "a"]), auto) == "classification"
    assert outcome_task(pd.Series([str(v) for v in np.linspace(0, 1, 30)]), auto) == "regression"
    assert outcome_task(pd.Series(["1", "2", "1"]), auto) == "classification"
    assert outcome_task(pd.Series(["1", "2"]), Settings.defaults(outcome={"type": "continuous"})) == "regression"


def test_external_test_samples_never_in_cv_training():
    _, y = planted(seed=6)
    test = list(y.index[-30:])
    sp = make_splits(y, folds=4, repeats=2, seed=0, test=test)
    cv = sp[sp["split"] != FINAL]
    assert not set(cv["sample"]) & set(test)
    train, held = split_members(sp, FINAL)
    assert set(held) == set(test) and set(train) == set(y.index) - set(test)
    # every training sample is held out once per repeat
    counts = cv[cv["role"] == "test"].groupby("sample").size()
    assert (counts == 2).all() and len(counts) == len(y) - 30


def test_regression_splits_are_stratified_by_quantiles():
    _, y = planted(task="regression", seed=7)
    sp = make_splits(y, folds=4, repeats=1, seed=0, task="regression")
    means = [y.loc[split_members(sp, s)[1]].mean() for s in ("r1f1", "r1f2", "r1f3", "r1f4")]
    assert np.ptp(means) < 0.35


def test_corrected_ttest_matches_hand_computation():
    a = np.array([0.80, 0.85, 0.78, 0.90, 0.82])
    b = np.array([0.75, 0.80, 0.79, 0.84, 0.76])
    d = a - b
    t = d.mean() / np.sqrt(d.var(ddof=1) * (1 / 5 + 20 / 80))
    res = corrected_ttest(a, b, n_train=80, n_test=20)
    assert res["t"] == pytest.approx(t)
    from scipy import stats

    assert res["p"] == pytest.approx(2 * stats.t.sf(abs(t), 4))


def _oof(signal: float, seed: int):
    rng = np.random.default_rng(seed)
    rows = []
    for split in ("r1f1", "r1f2", "r1f3"):
        yt = rng.integers(0, 2, 40)
        p1 = np.clip(0.5 + signal * (yt - 0.5) + rng.normal(0, 0.2, 40), 0.01, 0.99)
        rows.append(
            pd.DataFrame(
                {
                    "split": split,
                    "strategy": "s",
                    "sample": [f"{split}_{i}" for i in range(40)],
                    "y_true": np.where(yt == 1, "b", "a"),
                    "p_a": 1 - p1,
                    "p_b": p1,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_permutation_pvalue_separates_signal_from_noise():
    strong = permutation_pvalue(_oof(0.6, 0), task="classification", n_permutations=199, seed=0)
    none = permutation_pvalue(_oof(0.0, 1), task="classification", n_permutations=199, seed=0)
    assert strong["p"] == pytest.approx(1 / 200)
    assert none["p"] > 0.05


def test_scoreboard_with_external_test_and_comparison():
    rows = []
    rng = np.random.default_rng(0)
    for strat, base in (("early", 0.85), ("single_A", 0.75)):
        for i in range(10):
            b = base + rng.normal(0, 0.02)
            rows.append(
                {
                    "split": f"r{i // 5 + 1}f{i % 5 + 1}",
                    "strategy": strat,
                    "balanced_accuracy": b,
                    "roc_auc": b + 0.05,
                    "balanced_error_rate": 1 - b,
                    "n_test": 20,
                }
            )
    scores = pd.DataFrame(rows)
    ext = pd.DataFrame(
        [
            {
                "strategy": "early",
                "test_balanced_accuracy": 0.9,
                "test_balanced_accuracy_lo": 0.8,
                "test_balanced_accuracy_hi": 0.97,
                "test_n_test": 30,
            },
            {
                "strategy": "single_A",
                "test_balanced_accuracy": 0.7,
                "test_balanced_accuracy_lo": 0.6,
                "test_balanced_accuracy_hi": 0.8,
                "test_n_test": 28,
            },
        ]
    )
    board = scoreboard(scores, n_samples=100, min_class=40, external=ext)
    best = board.iloc[0]
    assert best["strategy"] == "early" and best["test_balanced_accuracy"] == pytest.approx(0.9)
    assert best["test_balanced_accuracy_lo"] == pytest.approx(0.8) and best["test_n_test"] == 30
    comp = compare_best(scores, board, n_samples=100, task="classification").iloc[0]
    assert comp["best_integration"] == "early" and comp["best_single_layer"] == "single_A"
    assert comp["difference"] == pytest.approx(0.1, abs=0.02) and comp["p"] < 0.01


def test_mofa_stability_matches_permuted_and_flipped_factors():
    rng = np.random.default_rng(0)
    Z = pd.DataFrame(rng.normal(size=(50, 3)), columns=["Factor1", "Factor2", "Factor3"])
    other = pd.DataFrame(
        {"Factor1": -Z["Factor3"], "Factor2": Z["Factor1"] + 0.01 * rng.normal(size=50), "Factor3": Z["Factor2"]}
    )
    st = stability(Z, {7: other}).set_index("factor")
    assert st.loc["Factor1", "matched_factor"] == "Factor2" and st.loc["Factor3", "matched_factor"] == "Factor1"
    assert st.loc["Factor3", "r"] == pytest.approx(-1.0)
    assert (st["abs_r"] > 0.99).all()


@pytest.mark.parametrize("positive", ["c0", "c1", None])
def test_binary_coefficients_point_to_the_positive_class(positive):
    """Every feature loads positively on z and class c1 has the high z: coefficients towards c1 are
    positive, towards c0 negative, whichever class sorts second."""
    from moflow.cohort import orient_coefficients, positive_class

    layers, y = planted()
    config = Settings.defaults(outcome={"column": "outcome", "type": "auto", "positive": positive})
    pos = positive_class(y, config)
    assert pos == (positive or "c1")
    for model in (EarlyIntegration(), SingleLayer("A")):
        table = orient_coefficients(model.fit(layers, y).coefficients(), pos)
        assert [c for c in table.columns if c not in ("layer", "feature")] == [pos]
        share_positive = (table[pos] > 0).mean()
        assert share_positive > 0.75 if pos == "c1" else share_positive < 0.25


def test_positive_class_must_name_a_class():
    from moflow.cohort import orient_coefficients, positive_class
    from moflow.errors import InputError

    _, y = planted()
    case = Settings.defaults(outcome={"column": "outcome", "positive": "case"})
    with pytest.raises(InputError, match=r"'outcome: positive' is 'case'.*classes 'c0' and 'c1'"):
        positive_class(y, case)
    _, y3 = planted(n_classes=3)
    assert positive_class(y3, case) is None
    table = pd.DataFrame({"layer": ["A"], "feature": ["a0"], "coefficient": [1.5]})
    assert orient_coefficients(table, "c0").equals(table)


def test_inner_folds_shrink_to_the_smallest_class_of_a_small_training_side():
    """DEP's UbiLength (4 conditions x 3 replicates) in 3 outer folds leaves 2 samples per class for
    training: the 3 configured inner folds become 2 (a crash in sklearn before); a class with a single
    training sample stops with a message that names the fix."""
    from moflow.errors import InputError
    from moflow.integrate import InnerStratifiedKFold

    rng = np.random.default_rng(0)
    y = pd.Series(np.repeat(["a", "b", "c", "d"], 2), index=[f"S{i}" for i in range(8)])
    X = pd.DataFrame(rng.normal(size=(8, 20)) + np.repeat(np.arange(4), 2)[:, None], index=y.index)
    cv = InnerStratifiedKFold(3, shuffle=True, random_state=0)
    assert cv.get_n_splits(X, y) == 2 and len(list(cv.split(X, y))) == 2
    assert InnerStratifiedKFold(3).get_n_splits(X, np.repeat(["a", "b"], 4)) == 3
    model = LateIntegration(task="classification", inner_folds=3).fit({"x": X, "z": X * 2}, y)
    assert model.predict_table({"x": X, "z": X * 2}).shape[0] == 8
    with pytest.raises(InputError, match="1 sample.*Lower 'evaluation: folds'"):
        list(cv.split(X.iloc[:7], y.iloc[:7]))


def _room_estimators():
    """Every scikit-learn estimator class the integrate room defines (private ones included)."""
    import importlib
    import inspect
    import pkgutil

    from sklearn.base import BaseEstimator

    import moflow.integrate

    found = {}
    for info in pkgutil.iter_modules(moflow.integrate.__path__):
        module = importlib.import_module(f"moflow.integrate.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, BaseEstimator):
                found[f"{info.name}.{cls.__name__}"] = cls
    return found


def test_every_estimator_constrains_every_parameter():
    """scikit-learn's parameter validation: each estimator's ``_parameter_constraints`` names every
    ``__init__`` parameter (``fit`` checks them first), and its defaults satisfy them."""
    import inspect

    from sklearn.utils._param_validation import validate_parameter_constraints

    classes = _room_estimators()
    assert {
        "single.SingleLayer",
        "mofa.MOFA",
        "cox.PenalizedCox",
        "prior_knowledge.SetScores",
        "models.EncodedClassifier",
        "hierarchical.HierarchicalIntegration",
    } <= set(classes)
    for name, cls in classes.items():
        params = [
            p
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        missing = [p.name for p in params if p.name not in cls._parameter_constraints]
        assert not missing, f"{name}: no constraint for {missing}"
        defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        validate_parameter_constraints(cls._parameter_constraints, defaults, caller_name=name)


def test_bad_parameters_and_unfitted_estimators_are_refused():
    from sklearn.exceptions import NotFittedError
    from sklearn.utils._param_validation import InvalidParameterError

    from moflow.integrate import GeneLevel, PenalizedCox, RegulatorActivity, SetScores

    layers, y = planted()
    with pytest.raises(InvalidParameterError, match="penalty"):
        SingleLayer("A", penalty="lasso").fit(layers, y)
    with pytest.raises(InvalidParameterError, match="missing"):
        EarlyIntegration(missing="skip").fit(layers, y)
    with pytest.raises(InvalidParameterError, match="n_factors"):
        MOFA(n_factors=0).fit(layers)
    for est, call in [
        (SingleLayer("A"), "predict_table"),
        (EarlyIntegration(), "embed"),
        (MOFA(), "transform"),
        (GeneLevel(), "transform"),
        (SetScores(), "transform"),
        (RegulatorActivity(), "transform"),
    ]:
        with pytest.raises(NotFittedError):
            getattr(est, call)(layers)
    with pytest.raises(NotFittedError):
        LateIntegration().layer_weights()
    with pytest.raises(NotFittedError):
        PenalizedCox().predict(np.zeros((2, 2)))


def test_shared_fits_are_passed_explicitly_and_reused_within_a_split():
    """One SharedFits per CV split: late integration's base model of a layer is the very fit of the
    single-layer baseline on the same training samples; without it each fits its own."""
    from moflow.integrate import SharedFits

    layers, y = planted(n=80)
    shared = SharedFits()
    single = SingleLayer("A", seed=1).fit(layers, y, shared=shared)
    late = LateIntegration(seed=1).fit(layers, y, shared=shared)
    assert late.base_["A"].model_ is single.model_
    assert len(shared) > len(layers)  # the base models and late's inner-fold refits were stored
    alone = LateIntegration(seed=1).fit(layers, y)
    assert alone.base_["A"].model_ is not single.model_
    assert np.allclose(alone.predict_table(layers).to_numpy(), late.predict_table(layers).to_numpy())
    other = SharedFits()  # a new split: nothing carried over
    assert SingleLayer("A", seed=1).fit(layers, y, shared=other).model_ is not single.model_
