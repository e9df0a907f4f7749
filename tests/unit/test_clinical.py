"""Clinical covariates as predictors, the baselines and the gain over them: planted answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.preprocessing import FunctionTransformer

from moflow.errors import InputError
from moflow.evaluate import make_splits, run_fold, split_members
from moflow.evaluate.metrics import fold_scores
from moflow.evaluate.ranking import best_strategy, gains, kind_of, scoreboard
from moflow.inputs.clinical_columns import check_clinical, clinical_frame, is_copy
from moflow.integrate import build_strategies
from moflow.integrate.baselines import NaiveBaseline
from moflow.integrate.clinical import ClinicalEncoder, clinical_inputs, covariate_screen
from moflow.report.added import added_facts, added_sentence
from moflow.settings import Settings

OMICS = pd.DataFrame({"layer": ["a", "b"], "kind": ["log_expression"] * 2, "path": ["a.tsv", "b.tsv"]})


def _sheet(n=12):
    return pd.DataFrame(
        {
            "sample": [f"S{i}" for i in range(n)],
            "age": [str(40 + i) for i in range(n)],
            "stage": ["I", "II", "III"] * (n // 3),
            "outcome": ["case", "control"] * (n // 2),
        }
    ).set_index("sample", drop=False)


# -------------------------------------------------------------------------------- the encoder


def test_encoder_learns_only_from_training_rows():
    sheet = _sheet()
    sheet.loc["S0", "age"] = ""
    sheet.loc["S1", "stage"] = "NA"
    frame = clinical_frame(sheet, ["age", "stage"])
    train, test = list(sheet.index[:8]), list(sheet.index[8:])
    enc = ClinicalEncoder(columns=("age", "stage")).fit(frame.loc[train])
    assert enc.kinds_ == {"age": "numeric", "stage": "categorical"}
    assert enc.medians_["age"] == float(np.median([41, 42, 43, 44, 45, 46, 47]))  # S0 missing: not counted
    assert "clinical:age_missing" in enc.names_ and "clinical:stage_missing" in enc.names_
    # the reference is the most frequent training level (ties by name): I, II, III have 3, 2, 2 after S1 -> NA
    assert enc.references_["stage"] == "I"
    assert {"clinical:stage=II", "clinical:stage=III"} <= set(enc.names_)
    C = enc.transform(frame.loc[train])
    assert np.allclose(C.mean(), 0) and np.allclose(C.std(ddof=0), 1)
    # extreme held-out values change nothing that was learned
    moved = frame.copy()
    moved.loc[test, "age"] = "1000"
    again = ClinicalEncoder(columns=("age", "stage")).fit(moved.loc[train])
    assert again.mean_.equals(enc.mean_) and again.scale_.equals(enc.scale_)
    # the missing training value is imputed by the median, flagged by its indicator
    raw = enc._raw(frame.loc[["S0"]])
    assert raw.loc["S0", "clinical:age"] == enc.medians_["age"] and raw.loc["S0", "clinical:age_missing"] == 1


def test_encoder_reference_and_unseen_level():
    sheet = _sheet()
    frame = clinical_frame(sheet, ["stage"])
    enc = ClinicalEncoder(columns=("stage",), reference={"stage": "III"}).fit(frame)
    assert enc.levels_["stage"][0] == "III" and "clinical:stage=III" not in enc.names_
    new = pd.DataFrame({"stage": ["IV"]}, index=["X"])
    out = enc._raw(new)
    assert (out.to_numpy() == 0).all()  # an unseen level is coded as the reference


def test_numbers_listed_as_categorical_are_one_hot():
    sheet = _sheet()
    sheet["grade"] = ["1", "2", "3"] * 4
    enc = ClinicalEncoder(columns=("grade",), categorical=("grade",)).fit(clinical_frame(sheet, ["grade"]))
    assert enc.kinds_["grade"] == "categorical" and len(enc.names_) == 2


# -------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "columns", "kw", "words"),
    [
        (None, ["weight"], {}, ["'weight'", "not a column"]),
        ("const", ["site"], {}, ["single value", "Remove it"]),
        (None, ["outcome"], {"outcome_columns": ["outcome"]}, ["outcome itself"]),
        ("words", ["age"], {}, ["S3 ('>80')", "clinical: categorical"]),
        (None, ["stage"], {"reference": {"stage": "IV"}}, ["'IV'", "reference level"]),
        (None, ["age"], {"categorical": ["stage"]}, ["clinical: categorical", "'stage'"]),
    ],
)
def test_bad_clinical_columns_stop_with_the_fix(change, columns, kw, words):
    sheet = _sheet()
    if change == "const":
        sheet["site"] = "A"
    if change == "words":
        sheet.loc["S3", "age"] = ">80"
    with pytest.raises(InputError) as err:
        check_clinical(sheet, columns, path="samples.tsv", **kw)
    for w in words:
        assert w in str(err.value)


def test_a_recoded_outcome_is_a_copy():
    sheet = _sheet()
    sheet["status"] = sheet["outcome"].map({"case": "1", "control": "0"})
    y = sheet["outcome"]
    assert is_copy(clinical_frame(sheet, ["status", "age"]), y, "classification") == ["status"]
    surv = pd.DataFrame({"time": np.arange(12.0) + 1, "event": [1, 0] * 6}, index=sheet.index)
    sheet["followup_days"] = (surv["time"] * 30).astype(str)
    assert is_copy(clinical_frame(sheet, ["followup_days"]), surv, "survival") == ["followup_days"]


def test_screen_flags_a_near_perfect_covariate():
    rng = np.random.default_rng(1)
    n = 200
    y = pd.Series(np.where(rng.random(n) < 0.4, "case", "control"), index=[f"S{i}" for i in range(n)])
    leak = np.where(y == "case", rng.normal(3, 0.5, n), rng.normal(0, 0.5, n))
    frame = pd.DataFrame({"marker": [f"{v:.3f}" for v in leak], "age": [str(v) for v in rng.integers(30, 80, n)]})
    frame.index = y.index
    screen = covariate_screen(frame, y, "classification", threshold=0.95)
    flagged = dict(zip(screen["covariate"], screen["likely_leak"], strict=True))
    assert flagged == {"marker": True, "age": False}


# -------------------------------------------------------------------------------- planted cohorts


def _cohort(task: str, omics_effect: float, clinical_effect: float, n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    samples = [f"S{i:03d}" for i in range(n)]
    age = rng.normal(60, 10, n)
    factor = rng.normal(size=n)
    lp = clinical_effect * (age - 60) / 10 + omics_effect * factor
    if task == "classification":
        y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-lp)), "case", "control"), index=samples)
    elif task == "multiclass":  # three ordered classes cut from the noisy linear predictor
        noisy = lp + rng.normal(0, 0.7, n)
        y = pd.Series(np.select([noisy < -0.6, noisy < 0.6], ["low", "mid"], "high"), index=samples)
    elif task == "regression":
        y = pd.Series(lp + rng.normal(0, 0.7, n), index=samples)
    else:
        t = rng.exponential(1 / np.exp(lp))
        c = rng.exponential(2.0, n)
        y = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)}, index=samples)
    a = pd.DataFrame(rng.normal(size=(n, 60)), index=samples, columns=[f"g{j}" for j in range(60)])
    a.iloc[:, :10] += factor[:, None]
    b = pd.DataFrame(rng.normal(size=(n, 20)), index=samples, columns=[f"p{j}" for j in range(20)])
    sheet = pd.DataFrame(
        {"sample": samples, "age": [f"{v:.1f}" for v in age], "sex": rng.choice(["F", "M"], n)}
    ).set_index("sample", drop=False)
    return {"a": a, "b": b}, y, sheet


def _evaluate(task, layers, y, sheet, strategies=("early", "single_a", "naive", "clinical")):
    s = Settings.defaults(
        clinical={"columns": ["age", "sex"]}, evaluation={"baselines": ["naive", "clinical"], "strategies": ["early"]}
    )
    built = build_strategies(OMICS, s, task)
    built = {k: v for k, v in built.items() if k in strategies}
    splits = make_splits(y, folds=4, repeats=2, seed=1, task=task)
    pre = {k: FunctionTransformer() for k in layers}
    clinical = clinical_inputs(sheet, s)
    preds = []
    for split in sorted(splits["split"].unique()):
        tr, te = split_members(splits, split)
        preds.append(run_fold(layers, pre, built, y, tr, te, split=split, task=task, clinical=clinical))
    pred = pd.concat(preds, ignore_index=True)
    if task == "survival":
        pred = pred.astype({"event": int})
    scores = fold_scores(pred, task, y=y)
    board = scoreboard(scores, n_samples=len(y), min_class=None, task=task)
    return board, gains(scores, board, n_samples=len(y), task=task)


def test_omics_that_add_to_the_covariate_are_detected():
    layers, y, sheet = _cohort("classification", omics_effect=2.0, clinical_effect=1.5)
    board, g = _evaluate("classification", layers, y, sheet)
    assert set(board["strategy"]) >= {"early", "early+clinical", "single_a+clinical", "naive", "clinical"}
    assert board.set_index("strategy").loc["naive", "kind"] == "baseline"
    assert best_strategy(board)["kind"] != "baseline"
    facts = added_facts(g, board)
    assert facts["baseline"] == "clinical" and facts["strategy"].endswith("+clinical")
    assert facts["detectable"] and facts["p"] < 0.05 and facts["gain"] > 0
    assert "add +" in added_sentence(facts)


def test_covariate_only_outcome_says_nothing_detectable():
    layers, y, sheet = _cohort("classification", omics_effect=0.0, clinical_effect=2.0, seed=2)
    board, g = _evaluate("classification", layers, y, sheet)
    facts = added_facts(g, board)
    assert not facts["detectable"]
    assert "add nothing detectable" in added_sentence(facts)
    # few splits and a positive gain: the sentence says the test had little power; many splits: it does not
    few = {**facts, "gain": 0.2, "lo": -0.1, "hi": 0.5, "n_splits": 4}
    assert "from 4 outer splits only, the corrected interval is wide" in added_sentence(few)
    assert "outer splits only" not in added_sentence({**few, "n_splits": 25})
    assert "outer splits only" not in added_sentence({**few, "gain": -0.05})
    sc = board.set_index("strategy")["balanced_accuracy"]
    assert sc["clinical"] > sc["early"] + 0.05  # the covariates carry the outcome; the omics alone do not
    assert sc["clinical"] > sc["naive"] + 0.1


@pytest.mark.parametrize("task", ["multiclass", "regression", "survival"])
def test_with_clinical_for_every_outcome_type(task):
    # three classes split the same signal three ways: stronger effects for the same power (8 splits)
    effects = (2.0, 1.5) if task == "multiclass" else (1.0, 1.0)
    layers, y, sheet = _cohort(task, omics_effect=effects[0], clinical_effect=effects[1], seed=3)
    kind = "classification" if task == "multiclass" else task
    board, g = _evaluate(kind, layers, y, sheet, strategies=("early", "naive", "clinical"))
    metric = {"multiclass": "balanced_accuracy", "regression": "r2", "survival": "harrell_c"}[task]
    sc = board.set_index("strategy")[metric]
    # the covariate and the omics factor each carry half the signal: together beat either alone
    assert sc["early+clinical"] > max(sc["early"], sc["clinical"]) + 0.02
    assert abs(sc["naive"] - {"multiclass": 1 / 3, "regression": 0.0, "survival": 0.5}[task]) < 0.06
    facts = added_facts(g, board)
    assert facts["detectable"]


def test_naive_baseline_is_chance():
    y = pd.Series(["a"] * 30 + ["b"] * 10, index=[f"S{i}" for i in range(40)])
    m = NaiveBaseline().fit({}, y)
    T = m.predict_table({"x": pd.DataFrame(index=["n1", "n2"])})
    assert T.columns.tolist() == ["p_a", "p_b"] and np.allclose(T.iloc[0], [0.75, 0.25])


def test_kinds():
    assert kind_of("naive") == "baseline" and kind_of("trees") == "reference"
    assert kind_of("early+clinical") == "integration + clinical"
    assert kind_of("single_rna+clinical") == "single layer + clinical" and kind_of("single_rna") == "single layer"


@pytest.mark.parametrize("task", ["classification", "regression", "survival"])
def test_the_clinical_baseline_tunes_its_penalty_only_where_the_covariates_are_many(task):
    """Ten or more samples of the smallest class (events; samples) per covariate column: the covariates' light
    penalty, one fit (a clinical model as usually fit); fewer: the penalty tuned by inner CV. Either way the
    covariate that drives the outcome is found."""
    from moflow.integrate.baselines import ClinicalOnly

    rng = np.random.default_rng(3)
    n = 120
    idx = pd.Index([f"s{i}" for i in range(n)])
    C = pd.DataFrame(rng.normal(size=(n, 30)), index=idx, columns=[f"c{j}" for j in range(30)])
    lp = 1.5 * C["c0"].to_numpy()
    if task == "classification":
        y = pd.Series(np.where(lp + rng.normal(size=n) > 0, "a", "b"), index=idx)
    elif task == "regression":
        y = pd.Series(lp + rng.normal(size=n), index=idx)
    else:
        y = pd.DataFrame({"time": rng.exponential(np.exp(-lp)), "event": rng.random(n) < 0.8}, index=idx)
    layers = {"x": pd.DataFrame(np.zeros((n, 1)), index=idx)}
    few = ClinicalOnly(task=task, inner_folds=3, seed=0).fit(layers, y, clinical=C[["c0", "c1"]])
    many = ClinicalOnly(task=task, inner_folds=3, seed=0).fit(layers, y, clinical=C)
    assert not few.tuned_ and many.tuned_
    for m, cols in ((few, ["c0", "c1"]), (many, list(C.columns))):
        pred = m.predict_table(layers, clinical=C[cols])
        score = pred.iloc[:, -1] if task != "classification" else pred["p_b"]
        r = np.corrcoef(score, lp)[0, 1]
        assert abs(r) > (0.8 if m is few else 0.6), (task, m.tuned_, r)


@pytest.mark.parametrize("strategy", ["early", "late", "mixed", "mofa"])
def test_the_refit_with_covariates_predicts_the_same_from_the_strategys_own_designs(strategy):
    """The fold loop builds a strategy's held-out design once: the refit with the covariates predicts the
    same from the designs the strategy's own predictions filled as from designs it builds itself (a
    held-out sample lacking a layer among them)."""
    from moflow.integrate.baselines import WithClinical
    from moflow.integrate.clinical import clinical_inputs

    layers, y, sheet = _cohort("classification", omics_effect=1.0, clinical_effect=1.0, n=120, seed=5)
    s = Settings.defaults(clinical={"columns": ["age", "sex"]}, evaluation={"strategies": [strategy]})
    model = build_strategies(OMICS, s, "classification")[strategy]()
    train, test = list(y.index[:90]), list(y.index[90:])
    tr = {k: v.loc[train] for k, v in layers.items()}
    te = {k: v.loc[test].copy() for k, v in layers.items()}
    te["b"].iloc[0] = np.nan  # the first held-out sample lacks layer b
    encoder, frame = clinical_inputs(sheet, s)
    C = clone(encoder).fit(frame.loc[train]).transform(frame.loc[train + test])
    model.fit(tr, y.loc[train])
    designs = {}
    base = model.predict_table(te, designs=designs)
    assert designs and base.notna().all().all()
    refit = WithClinical(model).fit(tr, y.loc[train], clinical=C)
    shared = refit.predict_table(te, clinical=C, designs=designs)
    built = WithClinical(model).fit(tr, y.loc[train], clinical=C).predict_table(te, clinical=C)
    pd.testing.assert_frame_equal(shared, built)


@pytest.mark.parametrize(
    ("columns", "change", "words"),
    [
        (["weight"], None, ["samples.tsv", "'weight'", "not a column", "correct the name"]),
        (["ward"], "const", ["samples.tsv", "'ward'", "single value", "Remove it"]),
        (["outcome"], None, ["config 'clinical: columns'", "'outcome'", "outcome itself"]),
        (
            ["status"],
            "copy",
            ["samples.tsv", "'status' is a copy of the outcome", "Remove it from 'clinical: columns'"],
        ),
    ],
)
def test_bad_covariates_stop_the_run_at_start_up(tmp_path, columns, change, words):
    """The same cases as a user meets them: the whole start-up, before any job, the file and the fix named."""
    from test_bad_inputs import Project
    from test_site_transfer import _multisite

    project = _multisite(Project(tmp_path), shift=None)
    if change == "const":
        project.sheet["ward"] = "B"
    if change == "copy":  # the outcome recoded, as a sheet often carries it twice
        project.sheet["status"] = project.sheet["outcome"].map({"case": "1", "control": "0"})
    project.config["clinical"] = {"columns": columns}
    project.config["evaluation"].pop("site_column")
    with pytest.raises(InputError) as err:
        project.startup()
    for w in words:
        assert w in str(err.value), str(err.value)


def test_a_leak_covariate_is_flagged_in_the_verdict():
    """A sheet column that is the outcome plus a little noise (a post-diagnosis marker): the start-up copy
    check lets it through (not one-to-one), the screen of the run flags it, and the verdict says so first."""
    from moflow.cohort import make_cohort
    from moflow.evaluate.summary import clinical_screen
    from moflow.report.verdict import verdict, verdict_sentence

    layers, y, sheet = _cohort("classification", omics_effect=2.0, clinical_effect=1.0, seed=4)
    rng = np.random.default_rng(9)
    marker = np.where(y == "case", 3.0, 0.0) + rng.normal(0, 0.4, len(y))
    sheet = sheet.assign(outcome=y.to_numpy(), sample_type="sample", marker=[f"{v:.3f}" for v in marker])
    s = Settings.defaults(
        outcome={"column": "outcome", "positive": "case"}, clinical={"columns": ["age", "sex", "marker"]}
    )
    assert not is_copy(clinical_frame(sheet, ["marker"]), y, "classification")
    omics = pd.DataFrame({"layer": ["a", "b"], "has_qc": [False, False]}).set_index("layer", drop=False)
    screen = clinical_screen(make_cohort(sheet, omics, s), s).set_index("covariate")
    assert bool(screen.loc["marker", "likely_leak"]) and not screen.loc[["age", "sex"], "likely_leak"].any()
    board, g = _evaluate("classification", layers, y, sheet)
    facts = verdict(board=board, layers=["a", "b"], gains=g, clinical=screen.reset_index(), n_classes=2)
    text = verdict_sentence(facts)
    assert "Likely leak: marker alone predict(s) the outcome nearly perfectly." in text
    assert text.index("Likely leak") < text.index("predicts best")
