"""The tree-ensemble reference (TreeReference): planted non-linear answers it must find on held-out samples
(a threshold interaction a logistic regression misses, an absolute-value regression, a threshold hazard),
missing layers and cells, determinism under the seed, string labels that look like numbers, tuning on the
training side only, and its use by the fold loop (predict_split)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError
from sksurv.metrics import concordance_index_censored

from moflow.errors import InputError
from moflow.evaluate.folds import predict_split
from moflow.integrate.trees import TreeReference

N_TRAIN = 200


def _layers(n=500, seed=0, width=20):
    """Three layers of standard-normal features over ``n`` samples (names in unsorted order on purpose)."""
    rng = np.random.default_rng(seed)
    idx = pd.Index([f"s{i:03d}" for i in range(n)])
    layers = {
        name: pd.DataFrame(rng.standard_normal((n, width)), index=idx, columns=[f"g{j}" for j in range(width)])
        for name in ("rna", "meth", "prot")
    }
    return layers, rng


def _split(layers, y):
    train, test = y.index[:N_TRAIN], y.index[N_TRAIN:]
    return (
        {k: v.loc[train] for k, v in layers.items()},
        y.loc[train],
        {k: v.loc[test] for k, v in layers.items()},
        y.loc[test],
    )


def _holes(layers, rng, share=0.03):
    """Scattered missing cells, sample s000 lacking meth, s001 lacking every layer; copies."""
    out = {}
    for name, X in layers.items():
        X = X.copy()
        X[rng.random(X.shape) < share] = np.nan
        out[name] = X
    out["meth"].loc["s000"] = np.nan
    for X in out.values():
        X.loc["s001"] = np.nan
    return out


def _harrell(y, risk):
    return concordance_index_censored(y["event"].astype(bool).to_numpy(), y["time"].to_numpy(), np.asarray(risk))[0]


@pytest.fixture(scope="module")
def band():
    """Class ``yes`` where |rna:g0| > 0.7 and prot:g3 > 0 (a threshold interaction, not linear; 1/4 positive)."""
    layers, _ = _layers(seed=1)
    a, b = layers["rna"]["g0"].to_numpy(), layers["prot"]["g3"].to_numpy()
    y = pd.Series(np.where((np.abs(a) > 0.7) & (b > 0), "yes", "no"), index=layers["rna"].index)
    return layers, y


@pytest.fixture(scope="module")
def band_fit(band):
    layers, y = band
    Ltr, ytr, Lte, yte = _split(layers, y)
    return TreeReference(seed=0).fit(Ltr, ytr), Ltr, ytr, Lte, yte


def _survival(seed=2):
    """Hazard e^2.5 times higher where rna:g0 > 0 and e^2.5 again where it is > 1 (thresholds of one feature)."""
    layers, rng = _layers(seed=seed)
    a = layers["rna"]["g0"].to_numpy()
    t = rng.exponential(np.exp(-2.5 * (a > 0) - 2.5 * (a > 1)))
    c = rng.exponential(2 * np.median(t), len(t))
    y = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)}, index=layers["rna"].index)
    return layers, y


# -- planted answers --------------------------------------------------------------------------------


def test_classification_finds_a_threshold_interaction_a_linear_model_misses(band_fit):
    model, Ltr, ytr, Lte, yte = band_fit
    T = model.predict_table(Lte)
    assert list(T.columns) == ["p_no", "p_yes"] and T.index.equals(Lte["rna"].index)
    auc = roc_auc_score(yte == "yes", T["p_yes"])
    X_tr = pd.concat([Ltr[n] for n in sorted(Ltr)], axis=1).to_numpy()
    X_te = pd.concat([Lte[n] for n in sorted(Lte)], axis=1).to_numpy()
    linear = LogisticRegression(class_weight="balanced", max_iter=2000).fit(X_tr, ytr)
    auc_linear = roc_auc_score(yte == "yes", linear.predict_proba(X_te)[:, 1])
    assert auc > 0.9
    assert auc > auc_linear + 0.15
    # imbalanced classes (1/4 positive): the probabilities are balanced, so their most probable class
    # gives balanced decisions
    assert balanced_accuracy_score(yte, model.classes_[T.to_numpy().argmax(axis=1)]) > 0.8
    np.testing.assert_allclose(T.sum(axis=1), 1.0)


def test_regression_finds_an_absolute_value():
    layers, rng = _layers(seed=3, width=10)
    a = layers["prot"]["g5"].to_numpy()
    y = pd.Series(2 * np.abs(a) + 0.3 * rng.standard_normal(len(a)), index=layers["rna"].index)
    Ltr, ytr, Lte, yte = _split(layers, y)
    model = TreeReference(task="regression", seed=0).fit(Ltr, ytr)
    T = model.predict_table(Lte)
    assert model.columns() == ["prediction"] and list(T.columns) == ["prediction"]
    assert r2_score(yte, T["prediction"]) > 0.5


def test_survival_finds_a_threshold_hazard():
    layers, y = _survival()
    Ltr, ytr, Lte, yte = _split(layers, y)
    model = TreeReference(task="survival", seed=0).fit(Ltr, ytr)
    T = model.predict_table(Lte)
    assert model.columns() == ["risk"] and list(T.columns) == ["risk"]
    assert _harrell(yte, T["risk"]) > 0.7  # higher risk: earlier event


# -- interface, tuning ---------------------------------------------------------------------------------


def test_features_are_the_layers_concatenated_in_sorted_order(band_fit):
    model = band_fit[0]
    assert model.layers_ == ["meth", "prot", "rna"]
    assert model.features_[:2] == ["meth:g0", "meth:g1"] and model.features_[-1] == "rna:g19"
    assert len(model.features_) == model.n_features_in_ == 60


def test_forest_tuned_by_out_of_bag_score_over_the_grid(band_fit):
    model = band_fit[0]
    T = model.tuning_
    assert list(T.columns) == ["mtry", "max_features", "oob_brier"] and len(T) == 2
    assert T["max_features"].tolist() == [8, 15]  # 1 and 2 times sqrt(60)
    best = T.loc[T["oob_brier"].idxmin()]
    assert model.best_params_["max_features"] == best["max_features"] == model.model_.max_features
    assert model.best_params_["mtry"] == best["mtry"]
    assert model.model_.n_estimators == model.n_estimators


def test_survival_stages_tuned_by_inner_folds():
    layers, y = _survival(seed=4)
    model = TreeReference(task="survival", seed=0, stages=(10, 30)).fit(layers, y.iloc[:150])
    T = model.tuning_
    assert T["n_estimators"].tolist() == [10, 30] and np.isfinite(T["cv_loglik"]).all()
    assert model.best_params_["n_estimators"] == T.loc[T["cv_loglik"].idxmax(), "n_estimators"]
    assert model.model_.n_estimators == model.best_params_["n_estimators"]


def test_tuning_uses_the_training_samples_only(band):
    """Rows of held-out samples in the layers given to fit change nothing (rows are taken at y.index)."""
    layers, y = band
    train = y.index[:N_TRAIN]
    Ltr = {k: v.loc[train] for k, v in layers.items()}
    small = TreeReference(seed=0).fit(Ltr, y.loc[train])
    full = TreeReference(seed=0).fit(layers, y.loc[train])
    pd.testing.assert_frame_equal(small.tuning_, full.tuning_)
    pd.testing.assert_frame_equal(small.predict_table(layers), full.predict_table(layers))


# -- missing layers and cells --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["classification", "regression", "survival"])
def test_missing_layers_and_cells(band, task):
    layers, labels = band
    rng = np.random.default_rng(5)
    holes = _holes(layers, rng)
    index = labels.index[:150]
    if task == "classification":
        y = labels.loc[index]
    elif task == "regression":
        y = pd.Series(rng.standard_normal(150), index=index)
    else:
        y = pd.DataFrame({"time": rng.exponential(1.0, 150), "event": rng.integers(0, 2, 150)}, index=index)
    model = TreeReference(task=task, seed=0, n_estimators=20, stages=(10, 20)).fit(holes, y)
    test = labels.index[:4].append(labels.index[300:320])
    T = model.predict_table({k: v.loc[test] for k, v in holes.items()})
    assert T.index.equals(test)
    assert T.loc["s001"].isna().all()  # no layer at all: not predicted
    assert T.drop(index="s001").notna().all().all()  # a missing layer (s000) or cells: predicted
    assert np.isfinite(model.means_.to_numpy()).all()


def test_a_layer_absent_from_prediction_counts_as_missing(band_fit):
    model, _, _, Lte, _ = band_fit
    T = model.predict_table({"rna": Lte["rna"], "prot": Lte["prot"]})
    assert T.notna().all().all() and T.index.equals(Lte["rna"].index)
    nothing = model.predict_table({n: X * np.nan for n, X in Lte.items()})
    assert nothing.isna().all().all() and list(nothing.columns) == ["p_no", "p_yes"]


# -- determinism, labels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["classification", "survival"])
def test_same_seed_same_predictions(band, task):
    layers, labels = band
    index = labels.index[:120]
    if task == "classification":
        y = labels.loc[index]
    else:
        rng = np.random.default_rng(6)
        y = pd.DataFrame({"time": rng.exponential(1.0, 120), "event": rng.integers(0, 2, 120)}, index=index)
    kw = dict(task=task, n_estimators=30, stages=(10, 20))
    a = TreeReference(seed=7, **kw).fit(layers, y).predict_table(layers)
    b = TreeReference(seed=7, **kw).fit(layers, y).predict_table(layers)
    c = TreeReference(seed=8, **kw).fit(layers, y).predict_table(layers)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_multiclass_labels_that_look_like_numbers():
    layers, _ = _layers(n=300, seed=8, width=10)
    a = layers["rna"]["g1"].to_numpy()
    y = pd.Series(np.digitize(a, [-0.5, 0.5]).astype(str), index=layers["rna"].index)  # "0", "1", "2"
    Ltr, ytr, Lte, yte = _split(layers, y)
    model = TreeReference(seed=0).fit(Ltr, ytr)
    assert model.classes_.tolist() == ["0", "1", "2"]
    T = model.predict_table(Lte)
    assert list(T.columns) == model.columns() == ["p_0", "p_1", "p_2"]
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    assert balanced_accuracy_score(yte, model.classes_[T.to_numpy().argmax(axis=1)]) > 0.8


# -- errors, the fold loop --------------------------------------------------------------------------------


def test_errors(band):
    layers, y = band
    with pytest.raises(NotFittedError):
        TreeReference().predict_table(layers)
    with pytest.raises(InvalidParameterError):
        TreeReference(task="ranking").fit(layers, y)
    with pytest.raises(ValueError, match="mtry"):
        TreeReference(mtry=(0.0,)).fit(layers, y)
    with pytest.raises(InputError, match="single class"):
        TreeReference().fit(layers, y.loc[y == "no"].iloc[:30])
    no_event = pd.DataFrame({"time": np.ones(30), "event": np.zeros(30, int)}, index=y.index[:30])
    with pytest.raises(InputError, match="no event"):
        TreeReference(task="survival").fit(layers, no_event)


def test_predict_split_takes_it(band):
    layers, y = band
    train, test = list(y.index[:N_TRAIN]), list(y.index[N_TRAIN:260])
    T = predict_split(
        TreeReference(seed=0, n_estimators=30),
        {k: v.loc[train] for k, v in layers.items()},
        {k: v.loc[test] for k, v in layers.items()},
        y,
        train,
        test,
        strategy="trees",
        split="r0f0",
        classes=["no", "yes"],
    )
    assert T["sample"].tolist() == test and T[["p_no", "p_yes"]].notna().all().all()
    layers, ys = _survival(seed=9)
    S = predict_split(
        TreeReference(task="survival", seed=0, stages=(10, 20)),
        {k: v.loc[train] for k, v in layers.items()},
        {k: v.loc[test] for k, v in layers.items()},
        ys,
        train,
        test,
        strategy="trees",
        split="r0f0",
        grid=[0.5, 1.0],
    )
    assert S["sample"].tolist() == test and S["risk"].notna().all()


def test_probabilities_are_balanced_where_the_classes_are_not():
    """Without signal, a rare class (1/5) gets probabilities around 1/2, not 1/5: balanced decisions."""
    layers, rng = _layers(n=400, seed=10, width=10)
    y = pd.Series(np.where(rng.random(400) < 0.2, "rare", "common"), index=layers["rna"].index)
    Ltr, ytr, Lte, _ = _split(layers, y)
    model = TreeReference(seed=0).fit(Ltr, ytr)
    np.testing.assert_allclose(model.priors_, ytr.value_counts(normalize=True).sort_index().to_numpy())
    p_rare = model.predict_table(Lte)["p_rare"]
    assert 0.35 < p_rare.mean() < 0.65
    assert 0.2 < (p_rare > 0.5).mean() < 0.8


@pytest.mark.parametrize("task", ["classification", "regression", "survival"])
def test_screening_keeps_the_planted_features_among_many(task):
    """With more features than ``screen``, the ensemble is fit on those most associated with the outcome on
    the training samples: the planted ones among 3,000 noise features are kept, and predictions work."""
    rng = np.random.default_rng(4)
    n, p = 200, 3000
    X = rng.normal(size=(n, p))
    X[rng.random(X.shape) < 0.02] = np.nan
    idx = [f"s{i}" for i in range(n)]
    lp = 1.5 * (np.nan_to_num(X[:, 5]) + np.nan_to_num(X[:, 2500]))
    if task == "classification":
        y = pd.Series(np.where(lp + 0.3 * rng.normal(size=n) > 0, "a", "b"), index=idx)
    elif task == "regression":
        y = pd.Series(lp + 0.3 * rng.normal(size=n), index=idx)
    else:
        t = rng.exponential(np.exp(-lp))
        c = rng.exponential(2.0, n)
        y = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)}, index=idx)
    layers = {
        "a": pd.DataFrame(X[:, :2000], index=idx, columns=[f"g{j}" for j in range(2000)]),
        "b": pd.DataFrame(X[:, 2000:], index=idx, columns=[f"h{j}" for j in range(1000)]),
    }
    model = TreeReference(task=task, seed=0, n_estimators=30, stages=(10, 20), screen=100).fit(layers, y)
    kept = [model.features_[i] for i in model.kept_]
    assert len(kept) == 100 and {"a:g5", "b:h500"} <= set(kept)
    assert model.n_features_in_ == 3000
    T = model.predict_table(layers)
    assert T.notna().all().all() and len(T) == n
    full = TreeReference(task=task, seed=0, n_estimators=30, stages=(10, 20), screen=None).fit(layers, y)
    assert len(full.kept_) == 3000


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_tuned_forest_is_the_forest_of_one_full_fit(task):
    """Tuning scores half of each grid point's trees and grows the chosen forest to its full size: the model is
    the forest a single fit of ``n_estimators`` trees at the chosen ``max_features`` gives, tree for tree."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    layers, rng = _layers(n=160, seed=3, width=15)
    signal = layers["rna"]["g0"] + layers["prot"]["g1"]
    if task == "classification":
        y = pd.Series(np.where(signal + 0.5 * rng.normal(size=160) > 0, "a", "b"), index=signal.index)
    else:
        y = signal + 0.5 * pd.Series(rng.normal(size=160), index=signal.index)
    model = TreeReference(task=task, seed=7, n_estimators=30).fit(layers, y)
    assert len(model.model_.estimators_) == 30 and len(model.tuning_) == 2
    X = model._design(layers, y.index)[:, model.kept_]
    cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
    one = cls(
        n_estimators=30,
        max_features=model.best_params_["max_features"],
        min_samples_leaf=model.best_params_["min_samples_leaf"],
        random_state=7,
    )
    one.fit(X, np.unique(y, return_inverse=True)[1] if task == "classification" else y.to_numpy())
    got = model.model_.predict_proba(X) if task == "classification" else model.model_.predict(X)
    want = one.predict_proba(X) if task == "classification" else one.predict(X)
    np.testing.assert_array_equal(got, want)
