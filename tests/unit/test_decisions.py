"""What the run decided about the data: the rows read off planted tables (samples left out, a layer without
batch correction, the imputation chosen and its error, features removed, strategies left out), the console
lines, and the report's section right after the verdict."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from report_tables import sections

from moflow import io
from moflow.report import DECISION_COLUMNS, build_html, decision_lines, decisions

STEP_COLUMNS = ["step", "method", "params", "features_in", "features_out", "missing_fraction_out", "summary"]
FILTER_PARAMS = (
    "{'min_observed': 0.5, 'min_value': None, 'min_variance': 0.0, 'observed_in': 'overall', "
    "'qc_min_detection': None, 'qc_rsd_max': None, 'top_variable': None}"
)
COMBAT = "{'batch_column': 'batch', 'protect_outcome': True}"


def _steps(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=STEP_COLUMNS)


def rna_steps(batch=("ComBat", COMBAT, "batch/outcome cramers_v 0.09")) -> pd.DataFrame:
    """Counts: nothing filtered, nothing missing, batch corrected unless ``batch`` says otherwise."""
    method, params, summary = batch
    return _steps(
        ["normalize", "CountNormalizer", "{'method': 'median_of_ratios'}", 300, 300, 0.0, ""],
        ["filter", "FeatureFilter", FILTER_PARAMS, 300, 300, 0.0, ""],
        ["impute", "Identity", "{'reason': ''}", 300, 300, 0.0, ""],
        ["batch", method, params, 300, 300, 0.0, summary],
        ["scale", "Scaler", "{'method': 'standard'}", 300, 300, 0.0, ""],
    )


def protein_steps() -> pd.DataFrame:
    """Intensities: 12 features removed by the filter, the rest imputed (auto: knn), batch corrected."""
    return _steps(
        ["normalize", "MedianCentering", "{'log': False}", 120, 120, 0.15, ""],
        ["filter", "FeatureFilter", FILTER_PARAMS, 120, 108, 0.05, "removed 12 by observed"],
        ["impute", "AutoImpute", "{'candidates': ['knn', 'mean']}", 108, 108, 0.0, "chose knn"],
        ["batch", "ComBat", COMBAT, 108, 108, 0.0, "batch/outcome cramers_v 0.09"],
        ["scale", "Scaler", "{'method': 'standard'}", 108, 108, 0.0, ""],
    )


def imputation() -> dict[str, pd.DataFrame]:
    columns = ["method", "nrmse", "ratio_to_mean", "chosen", "masked_cells", "mode"]
    auto = pd.DataFrame(
        [["knn", 0.812, 0.8, True, 540, "auto"], ["mean", 1.015, 1.0, False, 540, "auto"]], columns=columns
    )
    return {"rna": pd.DataFrame(columns=columns), "protein": auto}


def samples() -> pd.DataFrame:
    """Eight cohort samples; S3 has no outcome (excluded), S5 is marked excluded in the sheet, two QCs."""
    return pd.DataFrame(
        {
            "sample": ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "QC1", "QC2"],
            "sample_type": ["sample"] * 2 + ["excluded", "sample", "excluded"] + ["sample"] * 3 + ["qc"] * 2,
            "outcome": ["case", "control", None, "case", "control", "case", "control", "case", None, None],
        }
    )


def inputs(protein_samples: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layer": ["rna", "protein"],
            "kind": ["rnaseq_counts", "proteomics_intensity"],
            "samples": [6, protein_samples],
            "features": [300, 120],
            "missing_fraction": [0.0, 0.15],
        }
    )


def board(*strategies) -> pd.DataFrame:
    return pd.DataFrame({"strategy": list(strategies), "balanced_accuracy": [0.8] * len(strategies)})


def planted(**changes):
    """The decisions of a two-layer run with one of each kind of decision (changes replace arguments)."""
    kwargs = dict(
        layers=["rna", "protein"],
        samples=samples(),
        inputs=inputs(),
        steps={
            "rna": rna_steps(
                ("Identity", "{'reason': 'no batch correction: one batch'}", "no batch correction: one batch")
            ),
            "protein": protein_steps(),
        },
        imputation=imputation(),
        board=board("early", "late", "single_rna", "single_protein", "mofa"),
        strategies=["early", "mofa", "late", "hierarchical"],
        outcome_columns=["outcome"],
    )
    return decisions(**{**kwargs, **changes})


EXPECTED = [
    ["inputs", "", "left out 1 sample(s): 'S3'", "no outcome, and config 'outcome: missing: exclude'"],
    ["inputs", "", "left out 1 sample(s): 'S5'", "sample_type 'excluded' in the sample sheet"],
    [
        "preprocess",
        "protein",
        "removed 12 of 120 features, 108 kept",
        "12 observed in fewer than 50% of the samples",
    ],
    [
        "preprocess",
        "protein",
        "imputed missing values with knn, masked-value NRMSE 0.812",
        "impute auto: the lowest of 2 candidates, mean imputation 1.015",
    ],
    ["preprocess", "rna", "no batch correction", "one batch"],
    [
        "integrate",
        "",
        "left out strategy hierarchical",
        "no layer it can score: that needs a layer of gene symbols with a gene-set collection "
        "(config 'enrichment: gene_sets'), or a regulator edge list",
    ],
]


def _sorted_like_run(rows):
    """EXPECTED in the run's order: stage, then the layers in sheet order (rna before protein), then steps."""
    order = {"inputs": 0, "preprocess": 1, "integrate": 2, "design": 3}
    layer = {"": 0, "rna": 1, "protein": 2}
    return sorted(rows, key=lambda r: (order[r[0]], layer[r[1]]))


def test_planted_tables_give_exactly_those_decisions():
    got = planted()
    assert list(got.columns) == DECISION_COLUMNS
    assert got.values.tolist() == _sorted_like_run(EXPECTED)
    # deterministic: the same tables, the same rows in the same order
    pd.testing.assert_frame_equal(got, planted())


def test_a_run_that_decided_nothing_has_no_row():
    got = decisions(
        layers=["rna"],
        samples=samples().query("sample_type != 'excluded'"),
        inputs=inputs().iloc[:1],
        steps={"rna": rna_steps()},
        imputation=imputation(),
        board=board("single_rna", "mofa"),
        strategies=["mofa"],
        outcome_columns=["outcome"],
    )
    assert got.empty and list(got.columns) == DECISION_COLUMNS
    assert decision_lines(got)[1].strip().startswith("nothing: no sample left out")


@pytest.mark.parametrize(
    "method, params, summary, reason",
    [
        # the other wording of a single-batch layer: the batch step's note says so
        ("ComBat", COMBAT, "no batch correction: one batch", "one batch"),
        # a layer without a batch column (moflow.preprocess.registry)
        (
            "Identity",
            "{'reason': 'no batch column for this layer (omics sheet column batch_column): batch not corrected'}",
            "no batch column for this layer (omics sheet column batch_column): batch not corrected",
            "no batch column for this layer (omics sheet column batch_column): batch not corrected",
        ),
        # batch method none
        ("Identity", "{'reason': ''}", "", "batch method 'none' (config, or the default of the layer's kind)"),
    ],
)
def test_a_layer_without_batch_correction_whatever_the_wording(method, params, summary, reason):
    got = planted(steps={"rna": rna_steps((method, params, summary)), "protein": protein_steps()})
    rows = got[got["decision"] == "no batch correction"].values.tolist()
    assert rows == [["preprocess", "rna", "no batch correction", reason]]


def test_no_batch_step_in_the_order_is_no_batch_correction():
    steps = rna_steps()
    got = planted(steps={"rna": steps[steps["step"] != "batch"], "protein": protein_steps()})
    assert ["preprocess", "rna", "no batch correction", "no batch step in the layer's order"] in got.values.tolist()


def test_strategies_left_out_of_a_one_layer_cohort():
    got = decisions(
        layers=["protein"],
        steps={"protein": protein_steps()},
        imputation=imputation(),
        board=board("single_protein", "mofa"),
        strategies=["early", "mixed", "mofa", "late"],
    )
    left = got[got["stage"] == "integrate"].values.tolist()
    assert left == [
        ["integrate", "", f"left out strategy {s}", "it combines layers, and this cohort has one (protein)"]
        for s in ("early", "mixed", "late")
    ]


def test_configured_imputation_drift_new_patients_absent_samples_and_design():
    """The other decisions: a configured imputation and its error, qc_drift auto, external test samples
    without an outcome, samples a layer lacks, a layer the design stage leaves out."""
    steps = protein_steps()
    steps.loc[steps["step"] == "impute", ["method", "summary"]] = ["HalfMinImpute", ""]
    drift = pd.DataFrame(
        [
            [
                "qc_drift",
                "AutoDrift",
                "{'min_qc': 3}",
                120,
                120,
                0.15,
                "auto: rlsc (2 QC injection(s)); QC median "
                "RSD 27.7% -> 3.6%; run-order median within-batch |Spearman r| 0.23 -> 0.11 (study samples)",
            ]
        ],
        columns=STEP_COLUMNS,
    )
    steps = pd.concat([steps.iloc[:1], drift, steps.iloc[1:]], ignore_index=True)
    scores = imputation()["protein"].assign(mode="configured", chosen=[False, False])
    scores.loc[len(scores)] = ["halfmin", 1.4, 1.38, True, 540, "configured"]
    sheet = samples().assign(split=["train"] * 6 + ["test", "test", "train", "train"])
    sheet.loc[sheet["sample"] == "S8", "outcome"] = "NA"
    joint = pd.DataFrame(
        {
            "design": ["per_layer", "equal_n", "cost_optimal"],
            "layer": ["protein", "protein", "protein"],
            "message": [
                "protein does not reach power 0.8",
                "left out: no feature differs between the groups in this pilot (pi0 = 1.00)",
                "left out: no feature differs between the groups in this pilot (pi0 = 1.00)",
            ],
        }
    )
    got = decisions(
        layers=["protein"],
        samples=sheet,
        inputs=inputs(protein_samples=4).iloc[1:],
        steps={"protein": steps},
        imputation={"protein": scores},
        design_joint=joint,
        outcome_columns=["outcome"],
        test_column="split",
        test_value="test",
    ).values.tolist()
    assert got == [
        ["inputs", "", "left out 1 sample(s): 'S3'", "no outcome, and config 'outcome: missing: exclude'"],
        ["inputs", "", "left out 1 sample(s): 'S5'", "sample_type 'excluded' in the sample sheet"],
        [
            "inputs",
            "",
            "predicted 1 external test sample(s) without an outcome, not scored: 'S8'",
            "split = 'test' and no outcome: new patients",
        ],
        [
            "inputs",
            "protein",
            "2 of 6 sample(s) have no data in this layer",
            "absent from the layer's file (allowed for external test samples, and for others with config "
            "'inputs: allow_missing_samples')",
        ],
        [
            "preprocess",
            "protein",
            "run-order drift corrected with rlsc (qc_drift auto)",
            "2 QC injection(s), QC median RSD 27.7% -> 3.6%",
        ],
        [
            "preprocess",
            "protein",
            "removed 12 of 120 features, 108 kept",
            "12 observed in fewer than 50% of the samples",
        ],
        [
            "preprocess",
            "protein",
            "imputed missing values with halfmin, masked-value NRMSE 1.400",
            "the configured method, mean imputation 1.015",
        ],
        [
            "design",
            "protein",
            "left out of the joint sample-size designs",
            "no feature differs between the groups in this pilot (pi0 = 1.00)",
        ],
    ]


def test_console_lines_are_the_table_read_back(tmp_path):
    """The end of a run prints results/decisions.tsv as read back: a heading, then one line per decision."""
    table = planted()
    path = tmp_path / "decisions.tsv"
    io.write_table(table, path)
    lines = decision_lines(io.read_table(path))
    assert lines == decision_lines(table)
    assert lines[0].startswith("What this run decided about the data (results/decisions.tsv;")
    assert len(lines) == 1 + len(table)
    assert re.fullmatch(r"  inputs +cohort +left out 1 sample\(s\): 'S3' -- no outcome, .*", lines[1])
    assert re.fullmatch(
        r"  preprocess +protein +imputed missing values with knn, masked-value NRMSE 0\.812 -- impute auto: .*",
        lines[5],
    )
    # short: at most `most` decisions, then where the rest is
    many = decision_lines(table, most=2)
    assert len(many) == 4 and many[-1] == f"  ... and {len(table) - 2} more in results/decisions.tsv"


def test_report_shows_the_decisions_right_after_the_verdict():
    table = planted()
    sec = sections("binary", decisions=table)
    titles = [t for t, _ in sec]
    assert titles[:3] == ["Verdict", "What the run decided", "Inputs"]
    body = sec[1][1]
    for rec in table.itertuples(index=False):
        assert f">{rec.decision}<" in body.replace("&#x27;", "'")
    page = build_html(title="t", sections=sec)
    assert page.index("<h2>Verdict</h2>") < page.index("<h2>What the run decided</h2>") < page.index("<h2>Inputs</h2>")
    # nothing decided: the section says so
    empty = dict(sections("binary", decisions=table.iloc[:0]))["What the run decided"]
    assert "Nothing to report" in empty


def test_a_layer_the_hierarchical_strategy_leaves_out_is_a_decision():
    """The left-out rows of the hierarchical coefficients become one decision each, with the reason."""
    coefficients = pd.DataFrame(
        {
            "layer": ["rna", "rna", "protein"],
            "source": ["hallmark", "hallmark", "left out"],
            "feature": [
                "SET_A",
                "SET_B",
                "no gene set of demo has between 5 and 500 members among the layer's 4 genes",
            ],
            "coefficient": [0.5, -0.2, np.nan],
        }
    )
    got = decisions(layers=["rna", "protein"], hierarchical=coefficients)
    assert got[["stage", "layer", "decision"]].values.tolist() == [
        ["integrate", "protein", "layer left out of the hierarchical strategy"]
    ]
    assert got["reason"].iloc[0].startswith("no gene set of demo")
    assert decisions(layers=["rna", "protein"], hierarchical=coefficients.iloc[:2]).empty


def test_clinical_covariates_a_leak_and_leave_one_site_out_are_said():
    """The covariates as predictors (one row), a covariate's missing values, a likely leak, and the
    leave-one-site-out outer splits with each site's size, read off the planted tables."""
    clinical = pd.DataFrame(
        {
            "covariate": ["age", "stage", "relapse_code"],
            "kind": ["numeric", "categorical", "categorical"],
            "n_missing": [3, 0, 0],
            "metric": ["auc"] * 3,
            "score": [0.61, 0.55, 0.99],
            "likely_leak": [False, False, True],
        }
    )
    sites = pd.DataFrame(
        {
            "site": ["Leeds", "Lyon", "Leeds", "Lyon"],
            "strategy": ["early", "early", "late", "late"],
            "n_test": [45, 59, 45, 59],
        }
    )
    got = decisions(layers=["rna"], clinical=clinical, sites=sites, site_column="centre")
    said = got[got["stage"] == "evaluate"]["decision"].tolist()
    assert said == [
        "clinical covariates age (numeric), stage (categorical), relapse_code (categorical) enter every strategy "
        "as a block of their own, (nearly) unpenalized",
        "clinical covariate age: 3 missing value(s) filled",
        "clinical covariate relapse_code flagged as a likely leak",
        "outer splits leave one site out at a time (2 sites: Leeds 45, Lyon 59 held-out samples)",
    ]
    reasons = got[got["stage"] == "evaluate"]["reason"].tolist()
    assert "auc 0.99" in reasons[2] and "evaluation: site_column: centre" in reasons[3]
    assert decisions(layers=["rna"]).empty  # neither: no row


def test_the_saved_model_is_a_decision():
    """The strategy saved for new samples, why, and on how many training samples (results/model/model.tsv)."""
    model = pd.DataFrame(
        {
            "strategy": ["late+clinical"] * 2,
            "chosen_by": ["best in nested CV"] * 2,
            "task": ["classification"] * 2,
            "n_training_samples": [120, 120],
            "layer": ["rna", "protein"],
        }
    )
    table = decisions(layers=["rna", "protein"], model=model)
    row = table[table["stage"] == "model"].iloc[0]
    assert row["decision"] == "late+clinical saved for new samples (results/model/bundle.pkl)"
    assert row["reason"].startswith("best in nested CV; refit on 120 training samples with the layers rna, protein")
    assert not (decisions(layers=["rna"])["stage"] == "model").any()
