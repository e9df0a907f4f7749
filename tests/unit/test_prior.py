"""The hierarchical strategy (prior knowledge): gene-set scores and regulator activities learnt in fold, one
penalized model; planted answers: the outcome gene set is the top-weighted feature in every layer it drives,
a planted regulator whose targets move together is recovered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from unit_helpers import make_preprocessors

from moflow.enrich import GeneMap
from moflow.evaluate import fold_scores, make_splits, preprocess_fold, run_fold, scoreboard, split_members, split_names
from moflow.integrate import HierarchicalIntegration

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

GENE_LAYERS = ("rna", "protein")


def _prior(cohort, regulators=()):
    """The strategy's prior knowledge, and min_size 10 (these tests were written for it; the default
    is the config's 5)."""
    collections = (("pathways", dict(cohort.gene_sets), GENE_LAYERS),)
    return dict(
        collections=collections,
        gene_maps={n: GeneMap.identity(n) for n in GENE_LAYERS},
        regulators=regulators,
        min_size=10,
    )


@pytest.fixture(scope="module")
def full(cohort, info, outcome, qc_ids):
    tr, _ = preprocess_fold(
        cohort.layers, make_preprocessors(info), outcome, list(outcome.index), [], {"metabolomics": qc_ids}
    )
    return tr


def test_planted_outcome_set_is_the_top_feature_in_every_layer_it_drives(cohort, outcome, full):
    m = HierarchicalIntegration(**_prior(cohort), seed=0).fit(full, outcome)
    co = m.coefficients()
    value = [c for c in co.columns if c not in ("layer", "source", "feature", "structure_r")]
    assert value == ["control"]  # binary: one column, for the second class
    co = co.assign(a=co["structure_r"].abs())
    for layer in GENE_LAYERS:
        top = co[co["layer"] == layer].sort_values("a", ascending=False).iloc[0]
        assert top["feature"] == "PLANTED_F1_OUTCOME_RESPONSE", (layer, co[co["layer"] == layer].nlargest(5, "a"))
        assert top["source"] == "pathways" and top["a"] > 0.7
        # the planted program lowers the odds of "control" (cases have high F1): both signs agree
        assert top["structure_r"] < 0 and top["control"] < 0
        # (in this simulator F1 also loads weakly on most genes, so the first component of a random gene
        # set follows it too: decoys reach |r| 0.9 with F1, and the planted set still leads)
    # the same pathway in two layers is two features; scores standardized on the training samples
    S = m.scores(full)
    assert {"rna:pathways:PLANTED_F1_OUTCOME_RESPONSE", "protein:pathways:PLANTED_F1_OUTCOME_RESPONSE"} <= set(S)
    assert np.allclose(S.mean().to_numpy(), 0, atol=1e-8)
    # its score follows the planted factor
    f1 = cohort.factors.loc[S.index, "F1"]
    assert abs(np.corrcoef(S["rna:pathways:PLANTED_F1_OUTCOME_RESPONSE"], f1)[0, 1]) > 0.8


def test_planted_regulator_is_recovered(cohort, outcome, full):
    rng = np.random.default_rng(0)
    genes = list(full["rna"].columns)
    planted = list(cohort.gene_sets["PLANTED_F1_OUTCOME_RESPONSE"])
    rows = [("MIR_PLANTED", g, 1.0) for g in planted[:30] if g in genes]
    for k in range(5):  # decoys: random targets
        rows += [(f"MIR_DECOY{k}", g, 1.0) for g in rng.choice(genes, 30, replace=False)]
    edges = pd.DataFrame(rows, columns=["source", "target", "weight"])
    prior = _prior(cohort, regulators=(("mirna_targets", edges, "rna", 5),))
    prior["collections"] = ()  # regulators alone
    m = HierarchicalIntegration(**prior, seed=0).fit(full, outcome)
    S = m.scores(full)
    f1 = cohort.factors.loc[S.index, "F1"]
    r = {c.split(":")[-1]: abs(np.corrcoef(S[c], f1)[0, 1]) for c in S.columns}
    assert r["MIR_PLANTED"] > 0.8 and max(v for k, v in r.items() if k != "MIR_PLANTED") < 0.4, r
    co = m.coefficients()
    assert co.loc[co["structure_r"].abs().idxmax(), "feature"] == "MIR_PLANTED"


def test_hierarchical_in_nested_cv_beside_early(cohort, info, outcome, qc_ids):
    from moflow.integrate import EarlyIntegration

    strategies = {
        "hierarchical": lambda: HierarchicalIntegration(**_prior(cohort), seed=0),
        "early": lambda: EarlyIntegration(),
    }
    splits = make_splits(outcome, folds=3, repeats=1, seed=0)
    preds = []
    for s in split_names(splits):
        tr, te = split_members(splits, s)
        preds.append(
            run_fold(
                cohort.layers,
                make_preprocessors(info),
                strategies,
                outcome,
                tr,
                te,
                qc={"metabolomics": qc_ids},
                split=s,
            )
        )
    board = scoreboard(fold_scores(pd.concat(preds)), n_samples=len(outcome), min_class=30).set_index("strategy")
    assert board.loc["hierarchical", "roc_auc"] > 0.8, board


def test_sample_lacking_a_layer_is_scored_from_the_layers_it_has(cohort, outcome, full):
    layers = {n: X.copy() for n, X in full.items()}
    held = list(outcome.index[:10])
    train = [s for s in outcome.index if s not in held]
    layers["protein"].loc[held] = np.nan
    m = HierarchicalIntegration(**_prior(cohort), seed=0).fit(
        {n: X.loc[train] for n, X in layers.items()}, outcome.loc[train]
    )
    T = m.predict_table({n: X.loc[held] for n, X in layers.items()})
    assert T.notna().all().all()
    S = m.scores({n: X.loc[held] for n, X in layers.items()})
    assert S.filter(like="protein:").isna().all().all() and S.filter(like="rna:").notna().all().all()


def test_survival_outcome(cohort, full):
    from moflow.demo import simulate_survival

    y = simulate_survival(cohort.factors.loc[list(full["rna"].index), "F1"], beta=1.0, censoring=0.3, seed=0)
    y = pd.DataFrame({"time": y["time"].astype(float), "event": y["event"].astype(float)})
    m = HierarchicalIntegration(**_prior(cohort), task="survival", seed=0).fit(full, y)
    co = m.coefficients()
    assert "log_hazard_ratio" in co.columns
    top = co.loc[co["structure_r"].abs().idxmax()]
    # F1 raises the hazard: its program has a positive log hazard ratio
    assert top["feature"] == "PLANTED_F1_OUTCOME_RESPONSE" and top["structure_r"] > 0 and top["log_hazard_ratio"] > 0
