"""Survival outcomes end to end in the package: Cox models, every strategy on a survival target, nested CV
scores, permutation test, MOFA factor hazards, with planted answers (a hazard driven by factor F1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from unit_helpers import make_preprocessors

from moflow.demo import simulate_cohort
from moflow.evaluate import (
    SURV_PREFIX,
    evaluation_times,
    external_scores,
    fold_scores,
    harrell_c,
    make_splits,
    permutation_pvalue,
    run_fold,
    scoreboard,
    split_members,
    split_names,
)
from moflow.integrate import (
    MOFA,
    EarlyIntegration,
    LateIntegration,
    MOFAStrategy,
    PenalizedCox,
    RidgeCox,
    SingleLayer,
    factor_associations,
    make_model,
    partial_log_likelihood,
    with_tuned_penalty,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")


def _cox_data(n=300, p=40, seed=0, beta=(1.0, -0.8, 0.6)):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = X[:, : len(beta)] @ np.asarray(beta)
    t = rng.exponential(np.exp(-eta))
    c = rng.exponential(np.median(t) * 2, n)
    return X, np.column_stack([np.minimum(t, c), (t <= c).astype(float)]), eta


def test_partial_log_likelihood_matches_statsmodels():
    from statsmodels.duration.hazard_regression import PHReg

    X, Y, _ = _cox_data(n=120, p=3, seed=1)
    Y[:10, 0] = Y[10:20, 0]  # tied times
    beta = np.array([0.3, -0.2, 0.1])
    ref = PHReg(Y[:, 0], X, status=Y[:, 1], ties="breslow").loglike(beta)
    assert partial_log_likelihood(X @ beta, Y[:, 0], Y[:, 1] > 0) == pytest.approx(ref, rel=1e-10)
    # several models at once (columns), and invariant to a shift of the linear predictor
    E = np.column_stack([X @ beta, X @ beta + 3.0])
    ll = partial_log_likelihood(E, Y[:, 0], Y[:, 1] > 0)
    assert ll[0] == pytest.approx(ll[1], rel=1e-10)


def test_penalized_cox_finds_the_planted_features_and_predicts_held_out():
    X, Y, eta = _cox_data(n=400, p=60, seed=2)
    tr, te = np.arange(300), np.arange(300, 400)
    m = PenalizedCox(l1_ratio=0.5, inner_folds=3, seed=0).fit(X[tr], Y[tr])
    top = np.argsort(-np.abs(m.coef_))[:3]
    assert set(top) == {0, 1, 2}
    assert np.sign(m.coef_[:3]).tolist() == [1.0, -1.0, 1.0]
    # the chosen strength is inside the path (the CV likelihood has an interior maximum)
    assert m.alphas_[0] > m.alpha_ > m.alphas_[-1]
    assert harrell_c(Y[te, 0], Y[te, 1] > 0, m.predict(X[te])) > 0.7
    # noise: the strongest penalties win, the held-out C-index stays near chance
    rng = np.random.default_rng(3)
    noise = PenalizedCox(inner_folds=3, seed=0).fit(rng.standard_normal((300, 60)), Y[tr])
    assert np.abs(noise.coef_).sum() < np.abs(m.coef_).sum() / 3


def test_fixed_penalty_refit_reproduces_the_tuned_model():
    X, Y, _ = _cox_data(n=200, p=30, seed=4)
    tuned = make_model(task="survival", penalty="elasticnet", inner_folds=3, seed=0).fit(X, Y)
    fixed = with_tuned_penalty(tuned).fit(X, Y)
    assert np.allclose(fixed.coef_, tuned.coef_, atol=1e-6)
    assert np.allclose(fixed.predict(X), tuned.predict(X), atol=1e-6)


def test_ridge_cox_meta_learner_and_random_forest_refused():
    X, Y, eta = _cox_data(n=200, p=2, seed=5, beta=(1.0, 0.0))
    m = RidgeCox().fit(X, Y)
    assert m.coef_[0] > 0.5 and abs(m.coef_[1]) < 0.3
    from moflow.errors import InputError

    with pytest.raises(InputError, match="linear"):
        make_model(task="survival", model="random_forest", seed=0)


@pytest.fixture(scope="module")
def surv_cohort():
    """A demo-like cohort whose event times follow a hazard driven by the planted factor F1."""
    c = simulate_cohort(n_samples=120, n_genes=500, n_proteins=150, n_metabolites=60, seed=11, survival=True)
    s = c.sheet[c.sheet["sample_type"] == "sample"].set_index("sample")
    y = pd.DataFrame({"time": s["time"].astype(float), "event": s["event"].astype(float)})
    info = c.sheet.set_index("sample", drop=False).drop(columns=["outcome", "time", "event"])
    qc = list(c.sheet.loc[c.sheet["sample_type"] == "qc", "sample"])
    return c, y, info, qc


@pytest.fixture(scope="module")
def surv_cv(surv_cohort):
    """3-fold CV of every strategy kind on the survival cohort."""
    c, y, info, qc = surv_cohort
    strategies = {
        "single_rna": lambda: SingleLayer("rna", task="survival", inner_folds=3),
        "single_metabolomics": lambda: SingleLayer("metabolomics", task="survival", inner_folds=3),
        "early": lambda: EarlyIntegration(task="survival", inner_folds=3),
        "late": lambda: LateIntegration(task="survival", inner_folds=3),
        "mofa": lambda: MOFAStrategy(MOFA(n_factors=5, seed=0), task="survival", inner_folds=3),
    }
    splits = make_splits(y, folds=3, repeats=1, seed=0, task="survival")
    times, grid = evaluation_times(y, ())
    preds = []
    for s in split_names(splits):
        tr, te = split_members(splits, s)
        preds.append(
            run_fold(
                c.layers,
                make_preprocessors(info),
                strategies,
                y,
                tr,
                te,
                qc={"metabolomics": qc},
                split=s,
                task="survival",
                grid=grid,
            )
        )
    return pd.concat(preds, ignore_index=True), splits, times


def test_survival_splits_are_stratified_by_event(surv_cohort):
    _, y, _, _ = surv_cohort
    splits = make_splits(y, folds=4, repeats=2, seed=0, task="survival")
    rate = y["event"].mean()
    for s in split_names(splits):
        _, te = split_members(splits, s)
        assert abs(y.loc[te, "event"].mean() - rate) < 0.08


def test_every_strategy_finds_the_planted_hazard(surv_cv, surv_cohort):
    pred, splits, times = surv_cv
    _, y, _, _ = surv_cohort
    assert {"time", "event", "risk", "risk_group"} <= set(pred.columns)
    assert any(c.startswith(SURV_PREFIX) for c in pred.columns)
    scores = fold_scores(pred, "survival", y=y, times=times)
    board = scoreboard(scores, n_samples=len(y), min_class=None, task="survival", n_events=int(y["event"].sum()))
    c = board.set_index("strategy")["harrell_c"]
    print(board[["strategy", "harrell_c", "harrell_c_lo", "harrell_c_hi", "uno_c", "td_auc", "integrated_brier"]])
    # F1 drives the hazard and loads on RNA (and protein): every strategy seeing RNA is well above chance
    for strategy in ("single_rna", "early", "late", "mofa"):
        assert c[strategy] > 0.68, strategy
    assert board.iloc[0]["n_events"] == int(y["event"].sum())
    # the survival probabilities are probabilities, decreasing in time; high risk means earlier events
    S = pred[[col for col in pred.columns if col.startswith(SURV_PREFIX)]].dropna().to_numpy()
    assert ((S >= 0) & (S <= 1)).all() and (np.diff(S, axis=1) <= 1e-12).all()
    rg = pred[pred["strategy"] == "early"]
    assert rg.loc[rg["risk_group"] == "high", "event"].mean() > rg.loc[rg["risk_group"] == "low", "event"].mean()
    # the integrated Brier score beats the uninformative 0.25 of a constant 0.5 prediction
    assert board.set_index("strategy").loc["early", "integrated_brier"] < 0.25


def test_survival_fold_scores_use_the_training_side(surv_cv, surv_cohort):
    pred, splits, times = surv_cv
    _, y, _, _ = surv_cohort
    s = split_names(splits)[0]
    tr, te = split_members(splits, s)
    d = pred[(pred["split"] == s) & (pred["strategy"] == "early")]
    from moflow.evaluate import survival_prediction_scores

    direct = survival_prediction_scores(d, y.loc[tr], times)
    scores = fold_scores(pred, "survival", y=y, times=times).set_index(["split", "strategy"])
    for k in ("harrell_c", "uno_c", "td_auc", "integrated_brier"):
        assert scores.loc[(s, "early"), k] == pytest.approx(direct[k], nan_ok=True)


def test_survival_permutation_test(surv_cv):
    pred, _, _ = surv_cv
    early = pred[pred["strategy"] == "early"]
    res = permutation_pvalue(early, task="survival", n_permutations=200, seed=0)
    assert res["metric"] == "harrell_c" and res["p"] < 0.01 and abs(res["null_mean"] - 0.5) < 0.03
    # risks unrelated to the outcome: not significant
    rng = np.random.default_rng(0)
    noise = early.assign(risk=rng.standard_normal(len(early)))
    assert permutation_pvalue(noise, task="survival", n_permutations=200, seed=0)["p"] > 0.05


def test_survival_external_scores(surv_cv, surv_cohort):
    pred, splits, times = surv_cv
    _, y, _, _ = surv_cohort
    s = split_names(splits)[0]
    tr, te = split_members(splits, s)
    final = pred[pred["split"] == s].assign(split="final")
    ext = external_scores(final, task="survival", y_train=y.loc[tr], times=times, n_boot=50).set_index("strategy")
    assert ext.loc["early", "test_n_events"] == int(y.loc[te, "event"].sum())
    assert (
        ext.loc["early", "test_harrell_c_lo"]
        <= ext.loc["early", "test_harrell_c"]
        <= ext.loc["early", "test_harrell_c_hi"]
    )


def test_mofa_factor_of_the_planted_hazard_has_the_strongest_cox_test(surv_cohort):
    c, y, _, _ = surv_cohort
    from moflow.preprocess import LayerPreprocessor, layer_settings

    layers = {}
    info = c.sheet.set_index("sample", drop=False)
    for name, (kind, log) in {"rna": ("rnaseq_counts", False), "protein": ("proteomics_intensity", True)}.items():
        pp = LayerPreprocessor(
            kind, layer_settings(kind), info=info, batch_column="batch", log_scale=log, layer=name, seed=0
        )
        layers[name] = pp.fit_transform(c.layers[name].loc[y.index])
    Z = MOFA(n_factors=5, seed=0).fit(layers).Z_train_
    assoc = factor_associations(Z, pd.DataFrame(index=Z.index), survival=y)
    cox = assoc[assoc["test"] == "cox"].sort_values("p")
    top = cox.iloc[0]["factor"]
    r = abs(np.corrcoef(Z[top], c.factors.loc[Z.index, "F1"])[0, 1])
    assert r > 0.8, (top, r)
    assert cox.iloc[0]["p_adj"] < 1e-4 and cox.iloc[1]["p"] > 1e-3
    assert {"hr_lo", "hr_hi"} <= set(cox.columns)


def test_survival_cohort_keeps_time_and_event_from_preprocessing_and_covariates(surv_cohort):
    from moflow.cohort import covariate_table, make_cohort, outcome_columns
    from moflow.inputs import check_omics_sheet, check_samples_sheet
    from moflow.settings import Settings

    c, y, _, _ = surv_cohort
    settings = Settings.defaults(outcome={"type": "survival", "time": "time", "event": "event"})
    raw = c.sheet.drop(columns="outcome").astype(str)
    sheet = check_samples_sheet(
        raw,
        path="samples.tsv",
        outcome="outcome",
        min_class_size=5,
        outcome_type="survival",
        time_column="time",
        event_column="event",
    )
    omics = check_omics_sheet(
        pd.DataFrame({"layer": ["rna"], "kind": ["rnaseq_counts"], "path": ["rna.tsv"], "batch_column": ["batch"]}),
        path="omics.tsv",
        samples=sheet,
        samples_path="samples.tsv",
    )
    co = make_cohort(sheet, omics, settings)
    assert co.task == "survival" and list(co.y.columns) == ["time", "event"]
    pd.testing.assert_frame_equal(co.y, y, check_names=False)
    assert outcome_columns(settings) == ["time", "event"]
    assert not {"time", "event"} & set(co.info.columns)  # preprocessing never sees the outcome
    assert not {"time", "event"} & set(covariate_table(co.sheet, settings, co.train).columns)


def test_survival_with_a_random_forest_stops_at_startup():
    from moflow.errors import ConfigError
    from moflow.inputs import check_config_columns
    from moflow.settings import Settings

    settings = Settings.defaults(
        outcome={"type": "survival", "time": "t", "event": "e"}, integration={"late": {"model": "random_forest"}}
    )
    with pytest.raises(ConfigError, match="integration: late: model"):
        check_config_columns(settings, pd.DataFrame(columns=["sample"]))
