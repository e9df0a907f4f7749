"""Data scarcity (moflow.scarcity): augmentation of the rare classes inside the folds, and a synthetic cohort.

Planted answers: a rare class whose samples differ from the others on a few features of two layers. SMOTE and
the latent model add samples of that class only, on its side of the planted shift; augmentation inside a split
never sees its held-out samples (poisoning them changes nothing the model is fit on); the synthetic copy's
train-on-synthetic score is close to train-on-real and a classifier hardly tells it from real samples; a
generator that copies its training rows is caught by both privacy checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow.errors import ConfigError
from moflow.scarcity import (
    SYNTHETIC_PREFIX,
    Augmented,
    CopulaSynthesizer,
    augment_layers,
    augmentation_table,
    closest_record,
    detection_auc,
    membership_auc,
    quality_table,
    safe_to_share,
)
from moflow.settings import Settings


def _cohort(n: int = 150, rare: float = 0.2, seed: int = 0):
    """Two layers (expr 60 features, mut 20 binary); class 'rare' (a share ``rare``) shifted on 8 expr
    features and more often mutated in 4 mut features; a shared factor runs through both layers."""
    rng = np.random.default_rng(seed)
    idx = [f"S{i:03d}" for i in range(n)]
    y = pd.Series(np.where(rng.random(n) < rare, "rare", "common"), index=idx, name="outcome")
    z = rng.normal(size=n)
    expr = rng.normal(size=(n, 60)) + 0.8 * z[:, None] * (np.arange(60) < 20)
    expr[:, :8] += 1.5 * (y == "rare").to_numpy()[:, None]
    p = 0.15 + 0.5 * (y == "rare").to_numpy()[:, None] * (np.arange(20) < 4)
    mut = (rng.random((n, 20)) < p).astype(float)
    layers = {
        "expr": pd.DataFrame(expr, index=idx, columns=[f"g{j}" for j in range(60)]),
        "mut": pd.DataFrame(mut, index=idx, columns=[f"m{j}" for j in range(20)]),
    }
    return layers, y


@pytest.mark.parametrize("method", ["smote", "latent"])
def test_augmentation_balances_the_rare_class_on_its_side_of_the_planted_shift(method):
    layers, y = _cohort()
    aug, ya, added = augment_layers(layers, y, method, seed=1, n_components=5)
    counts = ya.value_counts()
    assert counts["rare"] == counts["common"] == (y == "common").sum()
    assert set(added) == {"rare"} and added["rare"] == counts["common"] - (y == "rare").sum()
    new = [s for s in ya.index if s.startswith(SYNTHETIC_PREFIX)]
    assert len(new) == added["rare"] and set(ya.loc[new]) == {"rare"}
    real_rare = layers["expr"].loc[y == "rare"].iloc[:, :8].mean().mean()
    real_common = layers["expr"].loc[y == "common"].iloc[:, :8].mean().mean()
    made = aug["expr"].loc[new].iloc[:, :8].mean().mean()
    assert abs(made - real_rare) < 0.35 * abs(real_rare - real_common)  # on the rare side of the shift
    assert set(np.unique(aug["mut"].loc[new])) <= {0.0, 1.0}  # a binary layer stays binary
    assert aug["mut"].loc[new].iloc[:, :4].mean().mean() > aug["mut"].loc[new].iloc[:, 4:].mean().mean() + 0.2
    for name in layers:  # the real rows untouched
        pd.testing.assert_frame_equal(aug[name].loc[layers[name].index], layers[name])


def test_none_and_a_class_too_small_add_nothing(caplog):
    layers, y = _cohort(n=40)
    out, yo, added = augment_layers(layers, y, "none")
    assert added == {} and yo.equals(y.astype(str))
    y2 = y.copy()
    y2[:] = "common"
    y2.iloc[0] = "rare"
    with caplog.at_level("INFO", logger="moflow"):
        _, y3, added = augment_layers(layers, y2, "smote")
    assert added == {} and len(y3) == len(y2) and "class rare has 1 usable training sample" in caplog.text
    with pytest.raises(ValueError, match="unknown augmentation 'adasyn'"):
        augment_layers(layers, y, "adasyn")


class _Spy:
    """A strategy that keeps what it was fit on and predicts the training classes' shares."""

    seen: list = []

    def fit(self, layers, y, *, shared=None):
        _Spy.seen.append(({n: X.copy() for n, X in layers.items()}, y.copy()))
        self.classes_ = sorted(y.unique())
        self.share_ = y.value_counts(normalize=True)
        return self

    def predict_table(self, layers, **_):
        idx = next(iter(layers.values())).index
        return pd.DataFrame({f"p_{c}": self.share_[c] for c in self.classes_}, index=idx)


@pytest.mark.parametrize("method", ["smote", "latent"])
def test_poisoned_held_out_samples_change_nothing_augmentation_fits_on(method):
    """Augmentation inside a split: the held-out samples, made absurd, leave the training side's new samples
    exactly as they were, and only real held-out samples are predicted."""
    layers, y = _cohort(n=120)
    train, test = list(y.index[:90]), list(y.index[90:])
    runs = []
    for poison in (False, True):
        X = {n: M.copy() for n, M in layers.items()}
        if poison:
            X["expr"].loc[test] = 1e6
            X["mut"].loc[test] = 1.0
        _Spy.seen = []
        model = Augmented(_Spy, method=method, n_components=4, seed=3).fit(
            {n: M.loc[train] for n, M in X.items()}, y.loc[train]
        )
        pred = model.predict_table({n: M.loc[test] for n, M in X.items()})
        fitted, yf = _Spy.seen[-1]
        assert not set(test) & set(yf.index)  # no held-out sample among the training side's
        assert list(pred.index) == test  # the held-out side: the real samples, none synthetic
        runs.append(fitted)
    for name in layers:
        pd.testing.assert_frame_equal(runs[0][name], runs[1][name])
    assert model.added_ and sum(model.added_.values()) == len(yf) - len(train)


def test_augmentation_table_finds_a_planted_gain_and_holm_adjusts():
    rng = np.random.default_rng(0)
    rows = []
    for k in range(10):
        base = 0.7 + 0.02 * rng.normal()
        for name, score in (
            ("early", base),
            ("early+smote", base + 0.08 + 0.01 * rng.normal()),
            ("early+latent", base + 0.002 * rng.normal()),
        ):
            rows.append({"split": f"r1f{k}", "strategy": name, "balanced_accuracy": score, "n_test": 15})
    table = augmentation_table(pd.DataFrame(rows), n_samples=150)
    smote = table.set_index("method").loc["smote"]
    assert smote["strategy"] == "early" and smote["augmented"] == "early+smote"
    assert smote["difference"] == pytest.approx(0.08, abs=0.01) and smote["difference_lo"] > 0 and smote["p"] < 0.001
    latent = table.set_index("method").loc["latent"]
    assert latent["difference_lo"] < 0 < latent["difference_hi"] and latent["p"] > 0.05
    assert (table["p_holm"] >= table["p"]).all()
    assert augmentation_table(pd.DataFrame(rows)[lambda d: d["strategy"] == "early"], n_samples=150).empty


def _split(layers, y, held=0.25, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random(len(y)) < held
    tr = {n: X.loc[~mask] for n, X in layers.items()}
    ho = {n: X.loc[mask] for n, X in layers.items()}
    return tr, ho, y.loc[~mask], y.loc[mask]


def test_synthetic_copy_is_useful_hard_to_detect_and_a_copier_is_caught():
    """Train on synthetic, test on real within 0.05 balanced accuracy of train on real; detection AUC at most
    0.75; a generator that copies its training rows fails both privacy checks, the copula passes them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    layers, y = _cohort(n=400, rare=0.3, seed=5)
    tr, ho, ytr, yho = _split(layers, y, held=0.3)
    sheet = pd.DataFrame({"outcome": ytr})
    gen = CopulaSynthesizer(5).fit(tr, sheet, groups=["outcome"])
    syn, syn_sheet = gen.sample(len(ytr), seed=2)
    assert list(syn_sheet.columns) == ["outcome"] and set(syn_sheet["outcome"]) == {"rare", "common"}

    def fit_score(X, yy):
        model = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000).fit(X, yy)
        return balanced_accuracy_score(yho, model.predict(pd.concat([ho["expr"], ho["mut"]], axis=1)))

    real = fit_score(pd.concat([tr["expr"], tr["mut"]], axis=1), ytr)
    synthetic = fit_score(pd.concat([syn["expr"], syn["mut"]], axis=1), syn_sheet["outcome"])
    assert real > 0.75 and synthetic >= real - 0.05
    assert detection_auc(tr, syn, seed=0) <= 0.75
    settings = Settings.defaults()
    good = quality_table(tr, ho, syn, settings)
    assert safe_to_share(good), good.loc[~good["passed"], ["check", "scope", "value", "threshold"]]
    leaky = {n: X.set_axis([f"copy{i}" for i in range(len(X))]) for n, X in tr.items()}
    close = closest_record(tr, ho, leaky)
    mia = membership_auc(tr, ho, leaky)
    assert close["share_closer"] == 1.0 and mia["auc"] == 1.0 and mia["lo"] > 0.9
    bad = quality_table(tr, ho, leaky, settings).set_index("aspect")
    assert not bad.loc["privacy", "passed"].any() and not safe_to_share(bad.reset_index())


def test_synthetic_values_keep_each_feature_on_its_scale():
    layers, y = _cohort(n=120)
    counts = pd.DataFrame(
        np.random.default_rng(1).poisson(50, size=(120, 10)).astype(float), index=y.index, columns=list("abcdefghij")
    )
    counts.iloc[:20, 0] = np.nan  # a feature missing in a sixth of the samples
    gen = CopulaSynthesizer(3).fit({"c": counts, "mut": layers["mut"]}, pd.DataFrame({"o": y}), groups=["o"])
    syn, _ = gen.sample(300, seed=0)
    c = syn["c"].to_numpy()
    ok = ~np.isnan(c)
    assert (c[ok] == np.round(c[ok])).all() and c[ok].min() >= counts.min().min() and c[ok].max() <= counts.max().max()
    assert 0.08 < np.isnan(c[:, 0]).mean() < 0.27 and np.isnan(c[:, 1:]).sum() == 0
    assert set(np.unique(syn["mut"])) <= {0.0, 1.0}


def test_augment_and_synthesize_options_are_checked_at_start(tmp_path):
    from test_bad_inputs import Project
    from test_model import _cohort as project_cohort

    project = project_cohort(Project(tmp_path), task="survival")
    project.config["evaluation"]["augment"] = ["none", "smote"]
    with pytest.raises(ConfigError, match=r"evaluation: augment \(smote\) adds new samples of the rarer classes"):
        project.startup()
    project.config["evaluation"]["augment"] = ["none"]
    project = project_cohort(Project(tmp_path))
    project.config["evaluation"] |= {"augment": ["smote"], "augment_strategies": ["late"], "strategies": ["early"]}
    with pytest.raises(ConfigError, match="augment_strategies names 'late', which evaluation: strategies"):
        project.startup()
    project.config["evaluation"] |= {"augment_strategies": ["early"]}
    project.config["synthesize"] = {"strategies": ["eraly"]}
    with pytest.raises(ConfigError, match="'synthesize: strategies' names 'eraly'.*Did you mean 'early'"):
        project.startup()


def _project(tmp_path, task="classification"):
    from test_bad_inputs import Project
    from test_model import _cohort as project_cohort

    project = project_cohort(Project(tmp_path), task=task)
    project.config["evaluation"] |= {"strategies": ["early"], "recalibration": []}
    return project


def test_augmented_rows_are_scored_beside_the_others_on_real_held_out_samples(tmp_path):
    from moflow import io
    from moflow.tasks import cv_fold, cv_splits

    project = _project(tmp_path)
    project.config["evaluation"]["augment"] = ["none", "smote", "latent"]
    settings, _, _ = project.startup()
    _, _, matrices, _ = project.inputs()
    samples = io.read_sheet(project.path("config/samples.tsv"))
    omics = io.read_sheet(project.path("config/omics.tsv"))
    splits = cv_splits(samples, omics, settings)["splits"]
    pred = cv_fold(matrices, splits, ["r1f1"], samples, omics, settings)["predictions"]
    rows = set(pred["strategy"])
    assert {"early", "early+clinical", "early+smote", "early+latent"} <= rows and "early+smote+clinical" not in rows
    held = set(splits[(splits["split"] == "r1f1") & (splits["role"] == "test")]["sample"])
    for name in ("early", "early+smote", "early+latent"):
        assert set(pred.loc[pred["strategy"] == name, "sample"]) == held  # real held-out samples only
    assert not pred["sample"].str.startswith(SYNTHETIC_PREFIX).any()


@pytest.mark.parametrize("task", ["classification", "survival"])
def test_synthesize_writes_a_cohort_the_workflow_can_read(tmp_path, task):
    from moflow import io
    from moflow.tasks import synthesize

    project = _project(tmp_path, task)
    project.config["synthesize"] = {"folds": 3, "samples": 40}
    settings, _, _ = project.startup()
    _, _, matrices, _ = project.inputs()
    samples = io.read_sheet(project.path("config/samples.tsv"))
    omics = io.read_sheet(project.path("config/omics.tsv"))
    paths = {n: f"results/synthetic/layers/{n}.tsv" for n in matrices}
    out = synthesize(matrices, samples, omics, settings, paths)
    sheet = out["samples"]
    assert len(sheet) == 40 and (sheet["sample_type"] == "sample").all()
    assert "batch" in sheet.columns and set(sheet["batch"]) <= {"b1", "b2"}
    if task == "classification":
        assert set(sheet["outcome"]) == {"case", "control"}
    else:
        assert set(sheet["event"]) <= {0, 1} and (sheet["time"] > 0).all()
    for layer, X in zip(matrices, out["layers"], strict=True):
        assert list(X.columns[1:]) == list(matrices[layer].columns) and X["sample"].isin(sheet["sample"]).all()
    assert list(out["omics"]["path"]) == [paths[n] for n in out["omics"]["layer"]]
    q = out["quality"]
    assert set(q["aspect"]) == {"fidelity", "utility", "privacy"}
    u = out["utility"]
    assert (
        set(u["trained_on"]) == {"real", "synthetic"} and set(u["strategy"]) == {"early"} and u["fold"].nunique() == 3
    )
    assert (u["n_test"] > 0).all() and u["score"].notna().all()


def test_report_sentences_say_what_was_found():
    from moflow.report import augmentation_sentence, scarcity_parts, synthetic_sentence

    aug = pd.DataFrame(
        [
            ["early", "smote", "early+smote", "balanced_accuracy", 0.7, 0.76, 0.06, 0.02, 0.10, 3.1, 0.004, 0.008, 10],
            ["late", "smote", "late+smote", "balanced_accuracy", 0.7, 0.69, -0.01, -0.05, 0.03, -0.4, 0.7, 0.7, 10],
        ],
        columns=[
            "strategy", "method", "augmented", "metric", "without", "with", "difference", "difference_lo",
            "difference_hi", "t", "p", "p_holm", "n_splits",
        ],
    )  # fmt: skip
    assert augmentation_sentence(aug).startswith("Augmentation helped: early+smote scored +0.060 balanced accuracy")
    assert augmentation_sentence(aug.assign(p_holm=0.5)).startswith("Augmentation did not help")
    q = pd.DataFrame(
        {
            "aspect": ["fidelity", "privacy"],
            "check": ["detection AUC", "membership-inference AUC"],
            "scope": ["all layers"] * 2,
            "passed": [True, True],
        }
    )
    assert "is safe to share by these tests" in synthetic_sentence(q, 50)
    bad = synthetic_sentence(q.assign(passed=[True, False]))
    assert "not safe to share" in bad and "membership-inference AUC" in bad and "do not share it" in bad
    parts = scarcity_parts(aug, q)
    assert len(parts["sentences"]) == 2 and "Synthetic cohort" in parts["html"]
    assert scarcity_parts(None, None) is None


def test_two_sample_distances_are_scipys_for_every_feature_at_once():
    """Ties (discrete features), unequal sizes: the KS statistic and Wasserstein distance of scipy, column by column."""
    from scipy.stats import ks_2samp, wasserstein_distance

    from moflow.scarcity import two_sample_distances

    rng = np.random.default_rng(0)
    for n, m, discrete in ((60, 60, False), (60, 25, True), (8, 90, True)):
        A, B = rng.normal(size=(n, 40)), rng.normal(0.4, 1.3, size=(m, 40))
        if discrete:
            A, B = np.round(A), np.round(B)
        ks, w = two_sample_distances(A, B)
        np.testing.assert_allclose(ks, [ks_2samp(A[:, j], B[:, j]).statistic for j in range(40)], atol=1e-12)
        np.testing.assert_allclose(w, [wasserstein_distance(A[:, j], B[:, j]) for j in range(40)], atol=1e-12)
    ks, w = two_sample_distances(A, A)
    assert not ks.any() and not w.any()
