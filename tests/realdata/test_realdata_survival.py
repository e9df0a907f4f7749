"""Survival outcomes on real data (../shared/data), skipped where it is absent.

cll_mofa (Dietrich et al. 2018; drug response + mutations, the mRNA and methylation views are not
available here): time to treatment (``TTT_years``, event ``treatedAfter``): 174 samples with both,
96 events, no missing or non-positive time among them (the shortest is one day, 0.0027 years; 34
tied times). Every sample with the outcome has both layers.

Anchor: published CLL prognostic indices from clinical and genetic markers on cohorts of hundreds to
thousands reach a C-index of about 0.75 for time to treatment or survival. Measured here (default
settings, seed 1, 5 folds x 2 repeats): the best strategy, late integration, reaches Harrell's C 0.726
(corrected 95% interval 0.654-0.798; early 0.722, single_mutations 0.716, single_drugs 0.711, mixed 0.705,
mofa 0.685), below that anchor, which also uses clinical markers (stage, age, beta-2-microglobulin) absent
here; IGHV status alone ranks time to treatment at C 0.623 (162 samples with known IGHV). Outer-split
seeds 2-4 gave best C 0.699-0.719 before the Cox path fix (ties), hence the bound 0.69 below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from realdata_helpers import omics_table, require_dataset

from moflow.evaluate import (
    evaluation_times,
    fold_scores,
    make_splits,
    permutation_pvalue,
    run_fold,
    scoreboard,
    split_members,
    split_names,
)
from moflow.evaluate.ranking import best_strategy
from moflow.integrate import build_strategies
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings

pytestmark = pytest.mark.realdata

TIME, EVENT = "TTT_years", "treatedAfter"


def _cll(d: Path):
    """Metadata, the two layers (samples lacking a whole layer left out of it) and the time-to-treatment
    outcome of the samples that have it."""
    meta = pd.read_csv(d / "metadata.csv", index_col=0)
    drugs = pd.read_csv(d / "drugs.csv", index_col=0)
    muts = pd.read_csv(d / "mutations.csv", index_col=0)
    raw = {"drugs": drugs.loc[drugs.notna().any(axis=1)], "mutations": muts.loc[muts.notna().any(axis=1)]}
    ok = meta[TIME].notna() & meta[EVENT].notna()
    event = meta.loc[ok, EVENT].map({True: 1.0, False: 0.0, "True": 1.0, "False": 0.0})
    y = pd.DataFrame({"time": meta.loc[ok, TIME].astype(float), "event": event.astype(float)})
    return meta, raw, y


def test_cll_time_to_treatment_nested_cv():
    d = require_dataset("cll_mofa")
    meta, raw, y = _cll(d)
    assert len(y) == 174 and int(y["event"].sum()) == 96
    assert y.notna().all().all() and (y["time"] > 0).all()
    settings = Settings.defaults(seed=1, outcome={"type": "survival", "time": TIME, "event": EVENT})
    omics = omics_table([("drugs", "continuous"), ("mutations", "binary")], log_scale="false")
    info = meta.drop(columns=[TIME, EVENT]).assign(sample=meta.index, sample_type="sample")
    pps = build_preprocessors(omics, settings, info)
    strategies = build_strategies(omics, settings, "survival")
    splits = make_splits(y, folds=5, repeats=2, seed=1, task="survival")
    grid = evaluation_times(y)[1]  # one grid for every split, as the workflow's cv_fold rule
    preds = []
    for split in split_names(splits):
        train, test = split_members(splits, split)
        preds.append(run_fold(raw, pps, strategies, y, train, test, split=split, task="survival", grid=grid))
    pred = pd.concat(preds, ignore_index=True)
    scores = fold_scores(pred, "survival", y=y, times=evaluation_times(y)[0])
    board = scoreboard(scores, n_samples=len(y), min_class=None, task="survival", n_events=int(y["event"].sum()))
    print(
        "\n"
        + board[
            ["strategy", "harrell_c", "harrell_c_lo", "harrell_c_hi", "uno_c", "td_auc", "integrated_brier", "n_events"]
        ]
        .round(3)
        .to_string(index=False)
    )
    assert set(board["strategy"]) == {
        "single_drugs",
        "single_mutations",
        "early",
        "mixed",
        "mofa",
        "late",
        "naive",
        "trees",
    }
    assert (board["n_splits"] == 10).all()
    best = best_strategy(board)  # the best that may be chosen (not a baseline or the tree reference)
    perm = permutation_pvalue(pred[pred["strategy"] == best["strategy"]], task="survival", n_permutations=1000)
    print("best:", best["strategy"], "permutation:", perm)
    # Measured (this seed, default settings): early 0.722 best, then late and single_drugs 0.711; every
    # strategy 0.676-0.722. The run is deterministic; over outer-split seeds 1-4 the best strategy's C was
    # 0.722 / 0.699 / 0.701 / 0.719, so 0.69 (measured minus 0.03) leaves room for the whole spread of the
    # split draw. The 0.75 of the published prognostic indices is not reached with drugs + mutations.
    assert best["harrell_c"] >= 0.69
    assert perm["p"] < 0.01


def test_cll_mofa_survival_factor_is_the_ighv_factor():
    from moflow.integrate import MOFA, factor_associations
    from moflow.preprocess import LayerPreprocessor, layer_settings

    d = require_dataset("cll_mofa")
    meta, raw, y = _cll(d)
    # MOFA on the full cohort, as tests/realdata/test_realdata_integration.py fits it
    drugs = LayerPreprocessor(
        "continuous", layer_settings("continuous", {"impute": {"method": "none"}}), layer="drugs", seed=0
    ).fit_transform(raw["drugs"])
    muts = LayerPreprocessor("binary", layer_settings("binary"), layer="mutations", seed=0).fit_transform(
        raw["mutations"]
    )
    mofa = MOFA(n_factors=10, likelihoods={"mutations": "bernoulli"}, seed=1).fit({"drugs": drugs, "mutations": muts})
    Z = mofa.Z_train_
    Zs = Z.loc[Z.index.intersection(y.index)]
    assoc = factor_associations(Zs, meta.loc[Zs.index, ["IGHV", "trisomy12"]], survival=y)
    cox = assoc[assoc["test"] == "cox"].set_index("factor")
    ighv = meta["IGHV"].reindex(Z.index)
    ok = ighv.notna()
    r = pd.Series({f: np.corrcoef(Z.loc[ok, f], ighv[ok])[0, 1] for f in Z.columns})
    table = cox[["effect", "p", "p_adj"]].rename(columns={"effect": "hr_per_sd"}).assign(r_ighv=r).sort_values("p")
    print("\n" + table.to_string(float_format=lambda v: f"{v:.3g}"))
    top = table.index[0]
    # Measured: Factor1 carries the risk of early treatment (HR 0.63 per SD, 95% CI 0.52-0.76, p 1.8e-6,
    # BH 1.8e-5) and is the IGHV factor (r 0.64 with IGHV, 1 = mutated; no other factor reaches |r| 0.25).
    # The next, Factor3 (HR 0.62, p 1e-4), correlates with trisomy12 at r 0.35. Same ranking with 8 or 15
    # factors. IGHV-mutated CLL is treated later: the sign of the hazard ratio must oppose that of r.
    assert abs(r[top]) >= 0.4 and top == r.abs().idxmax()
    assert table.loc[top, "p_adj"] < 0.001
    assert np.sign(np.log(table.loc[top, "hr_per_sd"])) == -np.sign(r[top])


def test_cll_what_drugs_and_mutations_add_over_age_sex_and_ighv():
    """Time to treatment with age, sex and IGHV status as clinical covariates: the scoreboard has the
    naive and clinical baselines and every strategy with the covariates beside it; the verdict's first
    sentence says what the omics add over them.

    Measured (seed 1, 5 folds x 2 repeats, 174 samples, 96 events): clinical alone Harrell's C 0.605
    (0.505-0.704; a Cox model with the covariates' light ridge penalty, 96 events for a few encoded columns;
    IGHV unknown for 12 samples, imputed with an indicator inside each fold; 0.599 when its penalty was
    tuned by inner CV); late 0.726, late+clinical 0.714, early+clinical 0.698, single_mutations+clinical
    0.662. "Over the clinical covariates alone (clinical: Harrell's C 0.605), the omics add +0.109
    (late+clinical, 95% interval +0.040 to +0.178, Holm-adjusted p = 0.012 over 4 strategies)". The
    covariates add nothing to the omics here (every +clinical row a little below its strategy alone): the
    mutations layer carries IGHV and trisomy 12 already, and age and sex rank time to treatment barely
    above chance.
    """
    from moflow.evaluate import gains
    from moflow.integrate.clinical import clinical_inputs
    from moflow.report.added import added_facts, added_sentence

    d = require_dataset("cll_mofa")
    meta, raw, y = _cll(d)
    settings = Settings.defaults(
        seed=1,
        outcome={"type": "survival", "time": TIME, "event": EVENT},
        clinical={"columns": ["age", "Gender", "IGHV_status"]},
        evaluation={"strategies": ["early", "late"], "baselines": ["naive", "clinical"]},
    )
    omics = omics_table([("drugs", "continuous"), ("mutations", "binary")], log_scale="false")
    sheet = meta.drop(columns=[TIME, EVENT]).assign(sample=meta.index, sample_type="sample")
    sheet = sheet.astype({"age": str, "Gender": str, "IGHV_status": str}).replace("nan", "")
    pps = build_preprocessors(omics, settings, sheet)
    strategies = build_strategies(omics, settings, "survival")
    assert set(strategies) == {"single_drugs", "single_mutations", "early", "late", "naive", "clinical"}
    clinical = clinical_inputs(sheet, settings)
    splits = make_splits(y, folds=5, repeats=2, seed=1, task="survival")
    grid = evaluation_times(y)[1]
    preds = []
    for split in split_names(splits):
        train, test = split_members(splits, split)
        preds.append(
            run_fold(raw, pps, strategies, y, train, test, split=split, task="survival", grid=grid, clinical=clinical)
        )
    pred = pd.concat(preds, ignore_index=True)
    scores = fold_scores(pred, "survival", y=y, times=evaluation_times(y)[0])
    board = scoreboard(scores, n_samples=len(y), min_class=None, task="survival", n_events=int(y["event"].sum()))
    g = gains(scores, board, n_samples=len(y), task="survival")
    facts = added_facts(g, board)
    sentence = added_sentence(facts)
    print(
        "\n" + board[["strategy", "kind", "harrell_c", "harrell_c_lo", "harrell_c_hi"]].round(3).to_string(index=False)
    )
    print(g.round(3).to_string(index=False))
    print(sentence)
    c = board.set_index("strategy")["harrell_c"]
    assert {"early+clinical", "late+clinical", "single_drugs+clinical", "single_mutations+clinical"} <= set(c.index)
    assert abs(c["naive"] - 0.5) < 1e-9  # one risk for every sample ranks nobody
    # the covariates rank time to treatment better than chance, the omics better still
    assert 0.55 < c["clinical"] < c["late+clinical"]
    assert facts["baseline"] == "clinical" and facts["strategy"].endswith("+clinical")
    assert sentence.startswith("Over the clinical covariates alone (clinical: Harrell's C")
    assert facts["detectable"] and "the omics add +" in sentence  # p_holm 0.012 measured
    assert c["late"] >= c["late+clinical"] - 0.03  # the covariates add little to the omics here
