"""Honest evaluation: stratified splits, fold-internal preprocessing, planted signal found, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from unit_helpers import make_preprocessors

from moflow.evaluate import (
    corrected_interval,
    fold_scores,
    make_splits,
    permutation_pvalue,
    predict_split,
    preprocess_fold,
    run_fold,
    scoreboard,
    split_members,
    split_names,
)
from moflow.integrate import MOFA, EarlyIntegration, LateIntegration, MOFAStrategy, SingleLayer
from moflow.preprocess import LayerPreprocessor

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

ALL_STRATEGIES = {
    "single_rna": lambda: SingleLayer("rna"),
    "early": lambda: EarlyIntegration(),
    "late": lambda: LateIntegration(),
    "mofa": lambda: MOFAStrategy(MOFA(n_factors=6, seed=0)),
}
FAST_STRATEGIES = {
    "single_rna": lambda: SingleLayer("rna"),
    "single_protein": lambda: SingleLayer("protein"),
    "single_metabolomics": lambda: SingleLayer("metabolomics"),
    "early": lambda: EarlyIntegration(),
}


def _pooled_auc(pred: pd.DataFrame) -> pd.Series:
    return pred.groupby("strategy").apply(
        lambda d: roc_auc_score(d["y_true"] == "case", d["p_case"]), include_groups=False
    )


def _cv(cohort, info, y, qc_ids, strategies, folds=3, seed=0):
    splits = make_splits(y, folds=folds, repeats=1, seed=seed)
    preds = []
    for s in split_names(splits):
        d = splits[splits["split"] == s]
        preds.append(
            run_fold(
                cohort.layers,
                make_preprocessors(info),
                strategies,
                y,
                d.loc[d["role"] == "train", "sample"].tolist(),
                d.loc[d["role"] == "test", "sample"].tolist(),
                qc={"metabolomics": qc_ids},
                split=s,
            )
        )
    return pd.concat(preds, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# splits
# ---------------------------------------------------------------------------------------------


def test_make_splits_stratified_complete_deterministic(outcome):
    sp = make_splits(outcome, folds=5, repeats=2, seed=3)
    assert split_names(sp) == [f"r{r}f{f}" for r in (1, 2) for f in range(1, 6)]
    assert set(sp["role"]) == {"train", "test"}
    n_case = int((outcome == "case").sum())
    for _name, d in sp.groupby("split"):
        assert len(d) == len(outcome)
        assert set(d["sample"]) == set(outcome.index)  # train and test partition the samples
        test = d.loc[d["role"] == "test", "sample"]
        assert abs(int((outcome.loc[test] == "case").sum()) - n_case / 5) <= 1  # stratified
        assert abs(len(test) - len(outcome) / 5) <= 1
    for r in (1, 2):
        t = sp[(sp["split"].str.startswith(f"r{r}f")) & (sp["role"] == "test")]
        counts = t["sample"].value_counts()
        assert set(counts.index) == set(outcome.index) and (counts == 1).all()  # tested exactly once
    pd.testing.assert_frame_equal(sp, make_splits(outcome, folds=5, repeats=2, seed=3))
    other = make_splits(outcome, folds=5, repeats=2, seed=4)
    assert not sp.equals(other)
    # the two repeats differ
    t1 = sp[(sp["split"] == "r1f1") & (sp["role"] == "test")]["sample"]
    t2 = sp[(sp["split"] == "r2f1") & (sp["role"] == "test")]["sample"]
    assert set(t1) != set(t2)


# ---------------------------------------------------------------------------------------------
# run_fold
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fold_pred(cohort, info, outcome, qc_ids, fold_ids):
    train, test = fold_ids
    return run_fold(
        cohort.layers,
        make_preprocessors(info),
        ALL_STRATEGIES,
        outcome,
        train,
        test,
        qc={"metabolomics": qc_ids},
        split="r1f1",
    )


def test_run_fold_output_shape(fold_pred, fold_ids, outcome):
    train, test = fold_ids
    assert list(fold_pred.columns) == ["split", "strategy", "sample", "y_true", "p_case", "p_control"]
    assert len(fold_pred) == len(ALL_STRATEGIES) * len(test)
    for _name, d in fold_pred.groupby("strategy"):
        assert list(d["sample"]) == test
        assert (d["y_true"].to_numpy() == outcome.loc[test].to_numpy()).all()
        np.testing.assert_allclose(d["p_case"] + d["p_control"], 1.0)
    assert (fold_pred["split"] == "r1f1").all()


def test_run_fold_finds_planted_outcome(fold_pred):
    auc = _pooled_auc(fold_pred)
    assert auc["early"] > 0.75
    for s in ("single_rna", "late", "mofa"):
        assert auc[s] > 0.7, (s, auc)


def test_permuted_outcome_scores_at_chance(cohort, info, outcome, qc_ids):
    """Leakage check: with labels permuted, no strategy can score well out of fold."""
    aucs = []
    for perm in range(3):
        y = pd.Series(np.random.default_rng(perm).permutation(outcome.to_numpy()), index=outcome.index)
        pred = _cv(cohort, info, y, qc_ids, FAST_STRATEGIES, folds=3, seed=perm)
        aucs.append(_pooled_auc(pred))
    aucs = pd.DataFrame(aucs)
    assert aucs.shape == (3, len(FAST_STRATEGIES))
    mean = aucs.mean()
    assert ((mean > 0.3) & (mean < 0.7)).all(), aucs
    assert (aucs < 0.8).all().all(), aucs


def test_permuted_outcome_all_strategies_one_fold(cohort, info, outcome, qc_ids, fold_ids):
    train, test = fold_ids
    y = pd.Series(np.random.default_rng(1).permutation(outcome.to_numpy()), index=outcome.index)
    pred = run_fold(
        cohort.layers,
        make_preprocessors(info),
        ALL_STRATEGIES,
        y,
        train,
        test,
        qc={"metabolomics": qc_ids},
        split="perm",
    )
    auc = _pooled_auc(pred)
    assert (auc < 0.8).all(), auc
    assert auc.mean() < 0.7, auc


def test_run_fold_with_samples_missing_a_layer(cohort, info, outcome, qc_ids, fold_ids):
    """allow_missing_samples: some training and test samples lack the protein layer."""
    train, test = fold_ids
    layers = dict(cohort.layers)
    layers["protein"] = layers["protein"].drop(index=train[:5] + test[:5])
    pred = run_fold(
        layers,
        make_preprocessors(info),
        ALL_STRATEGIES,
        outcome,
        train,
        test,
        qc={"metabolomics": qc_ids},
        split="r1f1",
    )
    assert len(pred) == len(ALL_STRATEGIES) * len(test)
    assert np.isfinite(pred[["p_case", "p_control"]].to_numpy()).all()
    assert (_pooled_auc(pred) > 0.7).all()


# ---------------------------------------------------------------------------------------------
# preprocessing inside the fold sees training samples only
# ---------------------------------------------------------------------------------------------


def test_fold_preprocessing_fit_on_training_samples_only(monkeypatch, cohort, info, outcome, qc_ids, fold_ids):
    train, test = fold_ids
    seen = []
    real = LayerPreprocessor.fit_transform

    def spy(self, X, y=None, **kw):
        seen.append((self.layer, list(X.index), None if y is None else list(y.index)))
        return real(self, X, y, **kw)

    monkeypatch.setattr(LayerPreprocessor, "fit_transform", spy)
    monkeypatch.setattr(LayerPreprocessor, "fit", lambda self, X, y=None: (spy(self, X, y), self)[1])
    tr, te = preprocess_fold(cohort.layers, make_preprocessors(info), outcome, train, test, qc={"metabolomics": qc_ids})
    assert sorted(layer for layer, _, _ in seen) == ["metabolomics", "protein", "rna"]
    for layer, rows, y_rows in seen:
        assert not set(rows) & set(test), layer
        expected = set(train) | (set(qc_ids) if layer == "metabolomics" else set())
        assert set(rows) == expected, layer
        assert y_rows is not None and set(y_rows) == set(train)  # outcome of training samples only
    for name in tr:
        assert list(tr[name].index) == train and list(te[name].index) == test
        assert list(tr[name].columns) == list(te[name].columns)


def test_fold_training_output_ignores_held_out_data_and_labels(cohort, info, outcome, qc_ids, fold_ids):
    train, test = fold_ids
    qc = {"metabolomics": qc_ids}
    tr, te = preprocess_fold(cohort.layers, make_preprocessors(info), outcome, train, test, qc)
    # held-out raw values changed drastically, held-out labels flipped
    wild = {}
    for name, X in cohort.layers.items():
        X = X.copy().astype(float)
        X.loc[test] = X.loc[test].to_numpy()[::-1] * 7 + 1
        wild[name] = X
    y2 = outcome.copy()
    y2.loc[test] = y2.loc[test].map({"case": "control", "control": "case"})
    tr2, te2 = preprocess_fold(wild, make_preprocessors(info), y2, train, test, qc)
    for name in tr:
        pd.testing.assert_frame_equal(tr2[name], tr[name])
        assert not np.allclose(te2[name].to_numpy(), te[name].to_numpy())
    # flipping only the held-out labels changes nothing at all
    tr3, te3 = preprocess_fold(cohort.layers, make_preprocessors(info), y2, train, test, qc)
    for name in tr:
        pd.testing.assert_frame_equal(tr3[name], tr[name])
        pd.testing.assert_frame_equal(te3[name], te[name])


def test_mofa_classifier_fit_sees_training_samples_only(monkeypatch, preprocessed, outcome, fold_ids):
    train, test = fold_ids
    seen = []
    real = MOFA.fit

    def spy(self, layers, y=None):
        seen.append({n: list(X.index) for n, X in layers.items()})
        return real(self, layers, y)

    monkeypatch.setattr(MOFA, "fit", spy)
    tr = {n: X.loc[train] for n, X in preprocessed.items()}
    model = MOFAStrategy(MOFA(n_factors=4, seed=0)).fit(tr, outcome.loc[train])
    P = model.predict_proba({n: X.loc[test] for n, X in preprocessed.items()})
    assert len(seen) == 1 and all(set(rows) == set(train) for rows in seen[0].values())
    assert P.shape == (len(test), 2)


# ---------------------------------------------------------------------------------------------
# scores and the scoreboard
# ---------------------------------------------------------------------------------------------


def test_fold_scores_known_values():
    pred = pd.DataFrame(
        {
            "split": ["s1"] * 4 + ["s2"] * 4,
            "strategy": ["a"] * 8,
            "sample": list("ABCDABCD"),
            "y_true": ["case", "case", "control", "control"] * 2,
            "p_case": [0.9, 0.8, 0.3, 0.1, 0.2, 0.4, 0.6, 0.9],
        }
    )
    pred["p_control"] = 1 - pred["p_case"]
    fs = fold_scores(pred).set_index("split")
    assert fs.loc["s1", "roc_auc"] == 1.0 and fs.loc["s1", "balanced_accuracy"] == 1.0
    assert fs.loc["s2", "roc_auc"] == 0.0 and fs.loc["s2", "balanced_accuracy"] == 0.0
    assert fs.loc["s2", "balanced_error_rate"] == 1.0 and (fs["n_test"] == 4).all()


def test_scoreboard_intervals_contain_mean_and_lie_in_unit_interval():
    rng = np.random.default_rng(0)
    rows = []
    for strat, (auc, sd) in {
        "early": (0.85, 0.05),
        "single_rna": (0.7, 0.1),
        "perfect": (1.0, 0.0),
        "worst": (0.03, 0.05),
    }.items():
        for i in range(10):
            a = float(np.clip(auc + rng.normal(0, sd), 0, 1))
            b = float(np.clip(a - 0.1 + rng.normal(0, 0.05), 0, 1))
            rows.append(
                {
                    "split": f"r{i // 5 + 1}f{i % 5 + 1}",
                    "strategy": strat,
                    "roc_auc": a,
                    "balanced_accuracy": b,
                    "balanced_error_rate": 1 - b,
                    "n_test": 18,
                }
            )
    board = scoreboard(pd.DataFrame(rows), n_samples=90, min_class=30)
    assert list(board["strategy"]) == [
        "perfect",
        "early",
        "single_rna",
        "worst",
    ]  # ranked by the primary metric (balanced accuracy)
    assert dict(zip(board["strategy"], board["kind"]))["single_rna"] == "single layer"
    for metric in ("roc_auc", "balanced_accuracy", "balanced_error_rate"):
        m, lo, hi = board[metric], board[f"{metric}_lo"], board[f"{metric}_hi"]
        assert np.isfinite(lo).all() and np.isfinite(hi).all()
        assert ((lo <= m + 1e-12) & (m <= hi + 1e-12)).all(), metric
        assert ((lo >= 0) & (hi <= 1)).all(), metric
    assert (board["n_splits"] == 10).all()


def test_corrected_interval_is_wider_than_naive():
    from scipy import stats

    v = np.array([0.8, 0.85, 0.9, 0.75, 0.82, 0.88, 0.79, 0.86, 0.81, 0.84])
    m, lo, hi = corrected_interval(v, n_train=72, n_test=18)
    assert m == pytest.approx(v.mean())
    half_naive = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    assert (hi - lo) / 2 > half_naive
    assert corrected_interval(np.array([0.7]), 72, 18)[0] == 0.7
    assert np.isnan(corrected_interval(np.array([0.7]), 72, 18)[1])


def test_clinical_scores_of_a_known_confusion_matrix():
    from moflow.evaluate import clinical_scores, external_scores

    # 10 positives (8 found), 20 negatives (15 correctly negative); the positive class sorts first
    y = np.array(["yes"] * 10 + ["no"] * 20)
    call_yes = np.r_[np.ones(8), np.zeros(2), np.ones(5), np.zeros(15)].astype(bool)
    P = np.column_stack([np.where(call_yes, 0.2, 0.8), np.where(call_yes, 0.8, 0.2)])  # columns: no, yes
    s = clinical_scores(y, P, ["no", "yes"], "yes")
    assert s["sensitivity"] == pytest.approx(0.8) and s["specificity"] == pytest.approx(0.75)
    assert s["accuracy"] == pytest.approx(23 / 30) and s["f1"] == pytest.approx(16 / 23)
    # the other class as positive swaps sensitivity and specificity
    s2 = clinical_scores(y, P, ["no", "yes"], "no")
    assert s2["sensitivity"] == pytest.approx(0.75) and s2["specificity"] == pytest.approx(0.8)
    pred = pd.DataFrame(
        {
            "strategy": "s",
            "split": "final",
            "sample": [f"{i:04d}" for i in range(30)],
            "y_true": y,
            "p_no": P[:, 0],
            "p_yes": P[:, 1],
        }
    )
    ext = external_scores(pred, task="classification", positive="yes", n_boot=300, seed=1).iloc[0]
    assert ext["test_sensitivity"] == pytest.approx(0.8) and ext["test_n_test"] == 30
    assert ext["test_sensitivity_lo"] < 0.8 < ext["test_sensitivity_hi"]
    assert 0 <= ext["test_specificity_lo"] <= ext["test_specificity_hi"] <= 1


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fast_bootstrap_scores_equal_scikit_learn(n_classes):
    """The bootstrap's numpy scores are clinical_scores' (scikit-learn's definitions)."""
    from moflow.evaluate.metrics import _coded_scores, clinical_scores

    rng = np.random.default_rng(n_classes)
    classes = ["a", "b", "c"][:n_classes]
    t = rng.integers(0, n_classes, 60)
    P = rng.dirichlet(np.ones(n_classes), 60) + np.eye(n_classes)[t] * rng.uniform(0, 1, (60, 1))
    P = P / P.sum(1, keepdims=True)
    ref = clinical_scores(np.asarray(classes)[t], P, classes, "a")
    fast = _coded_scores(t, np.argmax(P, axis=1), P, n_classes, 0)
    for m, v in ref.items():
        assert fast[m] == pytest.approx(v, abs=1e-12), m


@pytest.mark.parametrize("case", ["binary", "multiclass_unseen_class", "regression"])
def test_permutation_scores_equal_score_predictions(case):
    """The permutation test's numpy scores are score_predictions' (scikit-learn's), also with rows a
    strategy could not predict and a held-out class the model never saw."""
    from moflow.evaluate.metrics import score_predictions
    from moflow.evaluate.significance import _permutation_codes, _permuted_score

    rng = np.random.default_rng(3)
    n = 40
    d = pd.DataFrame({"split": "r1f1", "strategy": "x", "sample": [f"S{i}" for i in range(n)]})
    if case == "regression":
        task = "regression"
        d["y_true"] = rng.normal(size=n)
        d["prediction"] = d["y_true"] + rng.normal(size=n)
        d.loc[[2, 7], "prediction"] = np.nan
        metric = "r2"
    else:
        task = "classification"
        classes = ["a", "b"] if case == "binary" else ["a", "b", "c"]
        truth = classes + (["d"] if case != "binary" else [])
        d["y_true"] = rng.choice(truth, n)
        P = rng.dirichlet(np.ones(len(classes)), n)
        for j, c in enumerate(classes):
            d[f"p_{c}"] = P[:, j]
        d.loc[[2, 7], [f"p_{c}" for c in classes]] = np.nan
        metric = "balanced_accuracy"
    t, h, valid = _permutation_codes(d, task)
    for _ in range(5):
        perm = rng.permutation(n)
        dd = d.copy()
        dd["y_true"] = d["y_true"].to_numpy()[perm]
        assert _permuted_score(t[perm], h, valid, task) == pytest.approx(score_predictions(dd, task)[metric], abs=1e-12)


def test_shared_single_layer_fits_change_nothing(fold_pred, cohort, info, outcome, qc_ids, fold_ids):
    """run_fold shares single_rna's fit with late's rna base model: late's predictions are those of
    late fit on its own."""
    train, test = fold_ids
    tr, te = preprocess_fold(cohort.layers, make_preprocessors(info), outcome, train, test, {"metabolomics": qc_ids})
    alone = predict_split(
        LateIntegration(),
        tr,
        te,
        outcome,
        train,
        test,
        strategy="late",
        split="r1f1",
        classes=sorted(outcome.loc[train].unique()),
    )
    shared = fold_pred[fold_pred["strategy"] == "late"].reset_index(drop=True)
    pd.testing.assert_frame_equal(shared, alone, check_exact=True)


def test_split_jobs_group_splits_in_order():
    from moflow.cohort import split_jobs

    names = [f"r{r}f{f}" for r in (1, 2) for f in (1, 2, 3)] + ["final"]
    assert split_jobs(names, 3) == {
        "part1": ["r1f1", "r1f2", "r1f3"],
        "part2": ["r2f1", "r2f2", "r2f3"],
        "part3": ["final"],
    }
    assert list(split_jobs(names, 1).values()) == [[n] for n in names]
    assert split_jobs(names, 50) == {"part1": names}


# ---------------------------------------------------------------------------------------------
# group-aware splits (config evaluation: group_column)
# ---------------------------------------------------------------------------------------------


def _repeated_subjects(n_subjects=24, per_subject=4, seed=0):
    """Planted leak: each subject's samples share a fingerprint (a strong subject-specific profile), the
    outcome is drawn per subject and unrelated to any feature."""
    rng = np.random.default_rng(seed)
    subj = np.repeat([f"P{i:02d}" for i in range(n_subjects)], per_subject)
    label = np.repeat(rng.permutation(["case", "control"] * (n_subjects // 2)), per_subject)
    finger = rng.normal(size=(n_subjects, 50))
    X = np.repeat(finger, per_subject, axis=0) + 0.1 * rng.normal(size=(len(subj), 50))
    ids = [f"S{i:03d}" for i in range(len(subj))]
    return (
        pd.DataFrame(X, index=ids),
        pd.Series(label, index=ids, name="outcome"),
        pd.Series(subj, index=ids, name="group"),
    )


def _cv_balanced_accuracy(X, y, splits):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    scores = []
    for name in split_names(splits):
        tr, te = split_members(splits, name)
        m = LogisticRegression(C=1.0, max_iter=2000).fit(X.loc[tr], y.loc[tr])
        scores.append(balanced_accuracy_score(y.loc[te], m.predict(X.loc[te])))
    return float(np.mean(scores))


def test_group_splits_keep_subjects_together_and_remove_the_planted_leak():
    """Repeated samples of one subject on both sides of a split let a model recognise the subject, not
    the outcome: sample-level CV scores the planted no-signal cohort near 1, subject-level CV near chance."""
    X, y, g = _repeated_subjects()
    grouped = make_splits(y, folds=4, repeats=2, seed=1, groups=g)
    for name in split_names(grouped):
        tr, te = split_members(grouped, name)
        assert not set(g.loc[tr]) & set(g.loc[te]), name
        assert sorted(tr + te) == sorted(y.index)
    assert make_splits(y, folds=4, repeats=2, seed=1, groups=g).equals(grouped)  # deterministic
    r1 = grouped[grouped["split"].str.startswith("r1")].set_index(["split", "sample"])["role"]
    r2 = grouped[grouped["split"].str.startswith("r2")].copy()
    r2["split"] = r2["split"].str.replace("r2", "r1")
    assert not r2.set_index(["split", "sample"])["role"].reindex(r1.index).equals(r1)  # repeats reshuffle
    leaky = _cv_balanced_accuracy(X, y, make_splits(y, folds=4, repeats=2, seed=1))
    honest = _cv_balanced_accuracy(X, y, grouped)
    assert leaky > 0.9 and abs(honest - 0.5) < 0.2, (leaky, honest)


def test_group_permutation_permutes_subjects():
    X, y, g = _repeated_subjects(seed=3)
    splits = make_splits(y, folds=4, repeats=1, seed=0, groups=g)
    rows = []
    for name in split_names(splits):
        tr, te = split_members(splits, name)
        for s in te:  # a constant call per subject: the null must move subjects, not samples
            rows.append(
                {
                    "split": name,
                    "sample": s,
                    "y_true": y[s],
                    "p_case": float(g[s] < "P12"),
                    "p_control": float(g[s] >= "P12"),
                }
            )
    pred = pd.DataFrame(rows)
    by_subject = permutation_pvalue(pred, task="classification", n_permutations=200, seed=0, subjects=g)
    by_sample = permutation_pvalue(pred, task="classification", n_permutations=200, seed=0)
    assert by_subject["unit"] == "subject" and by_sample["unit"] == "sample"
    assert by_subject["observed"] == by_sample["observed"]
    # permuting whole subjects gives a wider null than permuting samples (4 samples move together)
    assert by_subject["p"] >= by_sample["p"]


def test_group_column_checks(tmp_path):
    from moflow.cohort import split_groups
    from moflow.errors import ConfigError, DataError
    from moflow.settings import Settings

    sheet = pd.DataFrame(
        {
            "sample": ["a", "b", "c", "d"],
            "sample_type": "sample",
            "subject": ["p1", "p1", "p2", ""],
            "set": ["", "", "", "test"],
        }
    )
    s = Settings.defaults(evaluation={"group_column": "subjekt"})
    with pytest.raises(ConfigError, match="group_column' names 'subjekt'"):
        split_groups(sheet, s)
    s = Settings.defaults(evaluation={"group_column": "subject"})
    with pytest.raises(DataError, match="sample 'd' has no value in group column 'subject'"):
        split_groups(sheet, s)
    sheet.loc[3, "subject"] = "p2"
    s = Settings.defaults(evaluation={"group_column": "subject", "test_column": "set"})
    with pytest.raises(DataError, match="subject 'p2' .* external test sample 'd' and training sample 'c'"):
        split_groups(sheet, s)
    sheet.loc[3, "subject"] = "p3"
    with pytest.raises(DataError, match="2 subject\\(s\\) .* fewer than the 3 cross-validation folds"):
        split_groups(sheet, s, min_groups=3)
    assert list(split_groups(sheet, s)) == ["p1", "p1", "p2", "p3"]


def test_held_out_check_catches_predictions_of_other_splits():
    """The report job checks that every CV job predicted exactly the held-out samples of the splits it draws."""
    from moflow.evaluate import check_held_out, make_splits

    y = pd.Series(["a", "b"] * 15, index=[f"s{i}" for i in range(30)])
    splits = make_splits(y, folds=3, repeats=1, seed=1, task="classification")
    test = splits[splits["role"] == "test"]
    pred = pd.DataFrame({"split": test["split"], "sample": test["sample"], "strategy": "early"})
    check_held_out(pd.concat([pred, pred.assign(strategy="late")]), splits)
    other = make_splits(y, folds=3, repeats=1, seed=2, task="classification")
    moved = other[other["role"] == "test"]
    with pytest.raises(RuntimeError, match="split r1f1: the predicted samples are not its held-out samples"):
        check_held_out(pd.DataFrame({"split": moved["split"], "sample": moved["sample"]}), splits)
    with pytest.raises(RuntimeError, match="no predictions for split r1f3"):
        check_held_out(pred[pred["split"] != "r1f3"], splits)
    with pytest.raises(RuntimeError, match="splits that do not exist: r2f1"):
        check_held_out(pd.concat([pred, pred.assign(split="r2f1")]), splits)


def test_outputs_of_gives_one_step_of_a_merged_job():
    from moflow.runtime import outputs_of

    named = {
        "preprocess__matrix": ["a.parquet", "b.parquet"],
        "preprocess__pca": ["a.tsv", "b.tsv"],
        "mofa__factors": "f.tsv",
    }
    assert outputs_of(named, "preprocess", 1) == {"matrix": "b.parquet", "pca": "b.tsv"}
    assert outputs_of(named, "mofa") == {"factors": "f.tsv"}
    assert outputs_of(named, "late") == {}


def test_pearson_r_of_a_constant_prediction_is_nan_not_rounding_noise():
    """The naive baseline predicts the training mean for every held-out sample: its Pearson r is undefined
    (NaN), also where rounding spread the prediction by 1e-16 (it was -4e-16 on one site, NaN on another)."""
    from moflow.evaluate.metrics import external_scores, score_predictions

    rng = np.random.default_rng(0)
    y = rng.normal(10, 2, 12)
    flat = np.full(12, 10.3) + np.array([0.0, 1.7763568394002505e-15] * 6)
    d = pd.DataFrame({"sample": [f"s{i}" for i in range(12)], "y_true": y, "prediction": flat})
    with np.errstate(all="raise"):  # no division by a zero spread either
        got = score_predictions(d, "regression")
    assert np.isnan(got["pearson_r"]) and np.isfinite(got["r2"]) and np.isfinite(got["rmse"])
    good = d.assign(prediction=y + rng.normal(0, 1, 12))
    assert score_predictions(good, "regression")["pearson_r"] == pytest.approx(np.corrcoef(y, good["prediction"])[0, 1])
    ext = external_scores(d.assign(strategy="naive"), task="regression", n_boot=20)
    assert np.isnan(ext["test_pearson_r"].iloc[0])
