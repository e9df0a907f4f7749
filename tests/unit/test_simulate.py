"""The simulated cohort: sizes, planted structure, missingness, QC injections, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from unit_helpers import SIM

from moflow.demo import FACTORS, simulate_cohort


def test_layer_shapes_and_ids(cohort):
    rna, prot, met = (cohort.layers[k] for k in ("rna", "protein", "metabolomics"))
    samples = [f"S{i + 1:04d}" for i in range(SIM["n_samples"])]
    assert rna.shape == (SIM["n_samples"], SIM["n_genes"])
    assert prot.shape == (SIM["n_samples"], SIM["n_proteins"])
    n_qc = int((cohort.sheet["sample_type"] == "qc").sum())
    assert met.shape == (SIM["n_samples"] + n_qc, SIM["n_metabolites"])
    assert list(rna.index) == samples and list(prot.index) == samples
    assert set(met.index) == set(samples) | set(cohort.sheet.loc[cohort.sheet["sample_type"] == "qc", "sample"])
    for X in cohort.layers.values():
        assert X.index.is_unique and X.columns.is_unique
    # counts are non-negative integers; intensities positive where observed
    assert (rna.to_numpy() >= 0).all() and np.array_equal(rna.to_numpy(), np.round(rna.to_numpy()))
    assert (met.to_numpy() > 0).all()
    assert cohort.factors.shape == (SIM["n_samples"], len(FACTORS))
    assert list(cohort.factors.index) == samples


def test_outcome_is_imbalanced_about_one_to_two(cohort):
    y = cohort.sheet.loc[cohort.sheet["sample_type"] == "sample", "outcome"]
    counts = y.value_counts()
    assert set(counts.index) == {"case", "control"}
    assert counts["case"] == round(SIM["n_samples"] / 3)
    assert counts["control"] == SIM["n_samples"] - counts["case"]
    # QC injections carry no outcome
    assert (cohort.sheet.loc[cohort.sheet["sample_type"] == "qc", "outcome"] == "").all()


def test_outcome_is_driven_by_factor_f1(cohort):
    y = cohort.sheet.set_index("sample")["outcome"]
    z = cohort.factors["F1"]
    case = y.reindex(z.index) == "case"
    assert z[case].mean() - z[~case].mean() > 1.0
    # the other factors do not drive the outcome
    for f in ("F2", "F3", "F4"):
        assert stats.mannwhitneyu(cohort.factors.loc[case, f], cohort.factors.loc[~case, f]).pvalue > 0.001


def test_at_least_three_batches_independent_of_outcome(cohort):
    sheet = cohort.sheet[cohort.sheet["sample_type"] == "sample"]
    assert sheet["batch"].nunique() >= 3
    assert sheet["batch"].value_counts().min() >= 20
    table = pd.crosstab(sheet["batch"], sheet["outcome"])
    assert stats.chi2_contingency(table).pvalue > 0.01


def test_protein_missingness_near_target(cohort):
    prot = cohort.layers["protein"]
    frac = float(prot.isna().to_numpy().mean())
    assert abs(frac - 0.15) <= 0.05
    assert cohort.params["protein_missing_observed"] == pytest.approx(frac)
    # no missing values in the other layers
    assert not cohort.layers["rna"].isna().to_numpy().any()
    assert not cohort.layers["metabolomics"].isna().to_numpy().any()


def test_protein_missingness_is_left_censored(cohort):
    prot = cohort.layers["protein"]
    missing = prot.isna().mean(axis=0)
    observed_mean = prot.mean(axis=0, skipna=True)
    ok = observed_mean.notna()
    rho = stats.spearmanr(missing[ok], observed_mean[ok]).statistic
    assert rho < -0.3
    # intensity-dependent, not at random: the most-missing features are the low-abundance ones
    many = missing[ok] > 0.3
    few = missing[ok] < 0.05
    assert many.sum() >= 5 and few.sum() >= 5
    assert observed_mean[ok][many].mean() < observed_mean[ok][few].mean() - 1.0


def test_qc_injections_only_in_metabolomics(cohort):
    sheet = cohort.sheet.set_index("sample")
    qcs = set(sheet.index[sheet["sample_type"] == "qc"])
    assert len(qcs) >= 3 * cohort.params["n_batches"]
    assert qcs <= set(cohort.layers["metabolomics"].index)
    assert not qcs & set(cohort.layers["rna"].index)
    assert not qcs & set(cohort.layers["protein"].index)
    # every metabolomics row that is not a cohort sample is flagged as QC in the sheet
    extra = set(cohort.layers["metabolomics"].index) - set(cohort.layers["rna"].index)
    assert extra == qcs
    assert set(sheet["sample_type"]) == {"sample", "qc"}
    # every batch run has QCs, and injection orders are unique integers
    assert (sheet.loc[list(qcs)].groupby("batch").size() >= 3).all()
    assert sheet["injection_order"].is_unique


def test_qc_injections_are_tighter_than_samples(cohort):
    met = np.log(cohort.layers["metabolomics"])
    sheet = cohort.sheet.set_index("sample")
    is_qc = (sheet.loc[met.index, "sample_type"] == "qc").to_numpy()
    # pooled QCs carry no biology and no dilution: less spread than cohort samples
    assert met[is_qc].std().median() < met[~is_qc].std().median()


def _assert_same(a, b):
    for k in a.layers:
        pd.testing.assert_frame_equal(a.layers[k], b.layers[k])
    pd.testing.assert_frame_equal(a.sheet, b.sheet)
    pd.testing.assert_frame_equal(a.factors, b.factors)
    pd.testing.assert_frame_equal(a.loadings, b.loadings)
    pd.testing.assert_frame_equal(a.gene_set_truth, b.gene_set_truth)
    assert a.gene_sets == b.gene_sets


def test_same_seed_same_cohort():
    a = simulate_cohort(n_samples=40, n_genes=300, n_proteins=100, n_metabolites=40, seed=11)
    b = simulate_cohort(n_samples=40, n_genes=300, n_proteins=100, n_metabolites=40, seed=11)
    _assert_same(a, b)


def test_different_seed_different_cohort():
    a = simulate_cohort(n_samples=40, n_genes=300, n_proteins=100, n_metabolites=40, seed=11)
    b = simulate_cohort(n_samples=40, n_genes=300, n_proteins=100, n_metabolites=40, seed=12)
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(a.layers["rna"], b.layers["rna"])
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(a.factors, b.factors)
    assert a.gene_sets != b.gene_sets


def test_gene_sets_planted_and_decoys(cohort):
    planted = {gs for _, gs in FACTORS.values()}
    assert len(planted) == 4
    assert planted <= set(cohort.gene_sets)
    decoys = [g for g in cohort.gene_sets if g.startswith("DECOY_")]
    assert len(decoys) == 20
    assert set(cohort.gene_sets) == planted | set(decoys)
    genes = set(cohort.layers["rna"].columns)
    for members in cohort.gene_sets.values():
        assert len(members) == 40 and len(set(members)) == 40
        assert set(members) <= genes
    # planted sets are disjoint
    allp = [g for gs in planted for g in cohort.gene_sets[gs]]
    assert len(allp) == len(set(allp))
    truth = cohort.gene_set_truth.set_index("gene_set")
    assert set(truth.index) == set(cohort.gene_sets)
    assert set(truth.index[truth["planted"]]) == planted
    for f, (layers, gs) in FACTORS.items():
        assert truth.loc[gs, "factor"] == f
        assert truth.loc[gs, "layers"] == ",".join(layers)


def test_planted_sets_match_rna_loadings(cohort):
    """The genes loading on a factor in the RNA layer are exactly its planted gene set."""
    load = cohort.loadings
    for f, (layers, gs) in FACTORS.items():
        genes = set(load.loc[(load["layer"] == "rna") & (load["factor"] == f), "feature"])
        assert genes == set(cohort.gene_sets[gs])
        # layers a factor does not drive have no loadings on it
        for layer in {"rna", "protein", "metabolomics"} - set(layers):
            assert not ((load["layer"] == layer) & (load["factor"] == f)).any()


def test_proteins_are_a_subset_of_rna_genes(cohort):
    prot = set(cohort.layers["protein"].columns)
    assert prot <= set(cohort.layers["rna"].columns)
    # most planted genes of the protein-driving factors are measured as proteins
    for _f, (layers, gs) in FACTORS.items():
        if "protein" in layers:
            assert len(prot & set(cohort.gene_sets[gs])) >= 0.7 * len(cohort.gene_sets[gs])


def test_more_proteins_than_genes_is_rejected():
    with pytest.raises(ValueError, match="n_proteins"):
        simulate_cohort(n_samples=20, n_genes=50, n_proteins=60, n_metabolites=20)


def test_tcga_like_cohort_has_its_shape_and_planted_structure():
    """The scale benchmark's cohort: four layers on the demo's factors; methylation loads negatively
    on F1 (beta values in [0, 1]), miRNA counts positively."""
    from moflow.demo import simulate_tcga_like

    c = simulate_tcga_like(n_samples=120, n_genes=600, n_probes=800, n_mirnas=200, n_proteins=100, seed=2)
    assert {k: v.shape for k, v in c.layers.items()} == {
        "rna": (120, 600),
        "methylation": (120, 800),
        "mirna": (120, 200),
        "protein": (120, 100),
    }
    assert (c.sheet["sample_type"] == "sample").all() and c.sheet["batch"].nunique() == 4
    assert (c.sheet["outcome"] == "case").sum() == 40
    beta = c.layers["methylation"].to_numpy()
    assert beta.min() >= 0 and beta.max() <= 1
    assert 0.10 < c.layers["protein"].isna().to_numpy().mean() < 0.25
    f1 = c.factors["F1"].to_numpy()
    load = c.loadings.set_index(["layer", "feature", "factor"])["weight"]
    meth = [f for (layer, f, k) in load.index if layer == "methylation" and k == "F1"]
    m = np.log2(beta / (1 - beta))
    r = [np.corrcoef(m[:, c.layers["methylation"].columns.get_loc(f)], f1)[0, 1] for f in meth]
    assert len(meth) == 40 and np.median(r) < -0.4
    mir = [f for (layer, f, k) in load.index if layer == "mirna" and k == "F1"]
    counts = np.log1p(c.layers["mirna"][mir].to_numpy())
    assert np.median([np.corrcoef(counts[:, j], f1)[0, 1] for j in range(len(mir))]) > 0.3


# ---------------------------------------------------------------------------------------------
# survival outcome
# ---------------------------------------------------------------------------------------------

TINY = dict(n_genes=300, n_proteins=100, n_metabolites=40)


def _digest(cohort) -> tuple[str, str]:
    """SHA-256 of the sample sheet and of the RNA matrix, written the way write_demo_cohort writes them."""
    import hashlib

    sheet = cohort.sheet.to_csv(sep="\t", index=False, lineterminator="\n")
    rna = cohort.layers["rna"].T.to_csv(sep="\t", lineterminator="\n")
    return hashlib.sha256(sheet.encode()).hexdigest(), hashlib.sha256(rna.encode()).hexdigest()


def _cohort_rows(cohort) -> pd.DataFrame:
    return cohort.sheet[cohort.sheet["sample_type"] == "sample"].set_index("sample")


def test_survival_false_leaves_the_demo_byte_identical():
    plain = simulate_cohort(n_samples=40, seed=11, **TINY)
    off = simulate_cohort(n_samples=40, seed=11, survival=False, **TINY)
    assert _digest(off) == _digest(plain)
    _assert_same(off, plain)
    assert off.params == plain.params
    assert list(off.sheet.columns) == ["sample", "sample_type", "outcome", "batch", "injection_order"]
    # pinned: the output of the simulator before the survival option existed (a change here changes the demo)
    assert _digest(plain) == (
        "a976d00290cfd79aa86e84496ec1dcf00ad6b545395ec82299b4815578d78e87",
        "a3756ec7879d4208184dda2cc11bbdcf68ff5ae7e571a14d8c93813ba19bcb34",
    )


def test_survival_true_changes_nothing_but_two_sheet_columns():
    plain = simulate_cohort(n_samples=40, seed=11, **TINY)
    surv = simulate_cohort(n_samples=40, seed=11, survival=True, **TINY)
    assert list(surv.sheet.columns) == ["sample", "sample_type", "outcome", "time", "event", "batch", "injection_order"]
    for k in plain.layers:
        pd.testing.assert_frame_equal(surv.layers[k], plain.layers[k])
    pd.testing.assert_frame_equal(surv.sheet.drop(columns=["time", "event"]), plain.sheet)
    pd.testing.assert_frame_equal(surv.factors, plain.factors)
    pd.testing.assert_frame_equal(surv.loadings, plain.loadings)
    assert surv.gene_sets == plain.gene_sets


def test_survival_columns_are_strings_for_cohort_samples_only():
    c = simulate_cohort(n_samples=60, seed=3, survival=True, **TINY)
    sheet = c.sheet
    assert sheet["time"].dtype == object and sheet["event"].dtype == object
    cohort = sheet["sample_type"] == "sample"
    assert cohort.sum() == 60
    # QC injections carry no survival outcome, as they carry no outcome
    assert (sheet.loc[~cohort, ["time", "event"]] == "").all().all()
    assert sheet.loc[cohort, "time"].str.fullmatch(r"\d+\.\d{3}").all()
    assert set(sheet.loc[cohort, "event"]) == {"0", "1"}
    t = sheet.loc[cohort, "time"].astype(float)
    assert (t > 0).all() and (t <= 10.0).all()
    # follow-up ends at 10 years: a time of 10 is always censored
    assert (sheet.loc[cohort & (sheet["time"] == "10.000"), "event"] == "0").all()
    # same seed, same times; another seed, other times
    again = simulate_cohort(n_samples=60, seed=3, survival=True, **TINY)
    pd.testing.assert_frame_equal(again.sheet, sheet)
    other = simulate_cohort(n_samples=60, seed=4, survival=True, **TINY)
    assert not other.sheet["time"].equals(sheet["time"])


def test_survival_censoring_fraction_near_target():
    c = simulate_cohort(n_samples=500, seed=5, survival=True, **TINY)
    event = _cohort_rows(c)["event"].astype(int)
    censored = 1 - event.mean()
    assert 0.25 <= censored <= 0.45
    assert c.params["censored_observed"] == pytest.approx(censored)
    assert c.params["survival_beta"] == 1.0 and c.params["censoring"] == 0.35
    # a higher target censors more (more drop-out); a target below the administrative censoring adds none
    more = simulate_cohort(n_samples=500, seed=5, survival=True, censoring=0.6, **TINY)
    assert 0.5 <= more.params["censored_observed"] <= 0.7
    none = simulate_cohort(n_samples=500, seed=5, survival=True, censoring=0.0, **TINY)
    assert none.params["dropout_horizon"] == float("inf")
    assert 0.1 <= none.params["censored_observed"] <= 0.35
    with pytest.raises(ValueError, match="censoring"):
        simulate_cohort(n_samples=40, seed=5, survival=True, censoring=1.0, **TINY)


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_survival_hazard_is_driven_by_factor_f1(beta):
    """A univariate Cox model of each true factor: F1's log hazard ratio is the planted beta, and
    F1 is by far the most significant factor."""
    from statsmodels.duration.hazard_regression import PHReg

    c = simulate_cohort(n_samples=1000, seed=7, survival=True, survival_beta=beta, **TINY)
    rows = _cohort_rows(c)
    time = rows["time"].astype(float).to_numpy()
    event = rows["event"].astype(int).to_numpy()
    Z = c.factors.loc[rows.index]
    fits = {f: PHReg(time, Z[[f]].to_numpy(), status=event, ties="breslow").fit() for f in Z.columns}
    assert abs(fits["F1"].params[0] - beta) < 0.25
    p = {f: fit.pvalues[0] for f, fit in fits.items()}
    assert p["F1"] < 1e-10
    assert all(p["F1"] < 1e-6 * p[f] for f in ("F2", "F3", "F4"))


def test_survival_median_time_about_five_years_at_f1_zero():
    from moflow.demo import SURVIVAL_MEDIAN, simulate_survival

    f1 = pd.Series(np.zeros(20000))
    s = simulate_survival(f1, beta=1.0, censoring=0.0, seed=1)
    # no drop-out at this target; administrative censoring at 10 years does not touch the median
    assert s.attrs["dropout_horizon"] == float("inf")
    assert s["time"].median() == pytest.approx(SURVIVAL_MEDIAN, rel=0.03)
    assert s["event"].dtype == bool and list(s.index) == list(f1.index)


def test_tcga_like_cohort_with_survival():
    from moflow.demo import simulate_tcga_like

    kw = dict(n_samples=120, n_genes=600, n_probes=800, n_mirnas=200, n_proteins=100, seed=2)
    plain = simulate_tcga_like(**kw)
    surv = simulate_tcga_like(**kw, survival=True)
    assert "time" not in plain.sheet.columns
    assert list(surv.sheet.columns) == ["sample", "sample_type", "outcome", "time", "event", "batch"]
    pd.testing.assert_frame_equal(surv.sheet.drop(columns=["time", "event"]), plain.sheet)
    for k in plain.layers:
        pd.testing.assert_frame_equal(surv.layers[k], plain.layers[k])
    assert (surv.sheet["time"].astype(float) > 0).all() and set(surv.sheet["event"]) == {"0", "1"}
    # the same times as the demo-style cohort of the same seed
    base = simulate_cohort(
        n_samples=120,
        n_batches=4,
        n_genes=600,
        n_proteins=100,
        n_metabolites=50,
        protein_missing=0.16,
        seed=2,
        survival=True,
    )
    times = base.sheet.set_index("sample")["time"]
    assert (surv.sheet.set_index("sample")["time"] == times.loc[surv.sheet["sample"]]).all()
