"""The hostile-input battery, sample and omics sheets: labels spelt several ways, an external test value
that marks no sample, one file named as two layers, many samples without a batch.

Each case builds the tiny project of :mod:`test_bad_inputs` in tmp_path, breaks one thing and runs
the stage where the workflow stops (start-up: :func:`moflow.inputs.startup.check_startup`), asserting
the error class and regexes on the message (file, column, line, sample, fix).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_bad_inputs import (
    SAMPLES,
    STAGES,
    Project,
    as_h5mu,
    both,
    config,
    h5ad_layer,
    mark_test,
    sheet_cell,
)

from moflow.errors import ConfigError, DataError, InputError

# the tiny sample sheet: a comment on line 1, the header on line 2, S01 on line 3 ... S12 on line 14,
# QC1-QC3 on lines 15-17; outcome control (S01, S03, ...) / case (S02, S04, ...); batch b1 (S01-S06,
# QCs) / b2 (S07-S12). The omics sheet: header on line 1, rna, protein (batch column 'batch'), metab.
S = r"config/samples\.tsv"
OMICS = r"config/omics\.tsv"
FIX = r"Write each label one way"


def sheet_column(name: str, values: dict, default: str = ""):
    """A new sample-sheet column: {sample: value}, other rows ``default``."""

    def breaker(p: Project):
        p.sheet[name] = [values.get(s, default) for s in p.sheet["sample"]]

    return breaker


def omics_row(**cells):
    """One more omics-sheet row (other cells empty)."""

    def breaker(p: Project):
        row = {c: "" for c in p.omics.columns} | cells
        for c in cells:
            if c not in p.omics.columns:
                p.omics[c] = ""
        p.omics = pd.concat([p.omics, pd.DataFrame([row])], ignore_index=True).fillna("")

    return breaker


def subjects(fold=None):
    """A subject column (two samples per subject, P1-P6) used by group-aware splits; ``fold``:
    {sample: subject spelling} overrides."""
    ids = {s: f"P{(i // 2) + 1}" for i, s in enumerate(SAMPLES)}
    return both(
        sheet_column("patient", ids | (fold or {})),
        config(evaluation__group_column="patient"),
    )


CASES = {
    # 1. labels spelt several ways ------------------------------------------------------------------
    "outcome: Case beside case": (
        "startup",
        sheet_cell("S04", "outcome", "Case"),
        DataError,
        [
            S,
            r"column 'outcome' \(config 'outcome: column'\)",
            r"'case' 5 time\(s\) \(first on line 4, sample 'S02'\)",
            r"'Case' 1 time\(s\) \(line 6, sample 'S04'\)",
            FIX,
            r"for instance 'case'",
        ],
    ),
    "outcome: 'case ' beside case": (
        "startup",
        sheet_cell("S06", "outcome", "case "),
        DataError,
        [S, r"column 'outcome'", r"'case ' 1 time\(s\) \(line 8, sample 'S06'\)", r"'case' 5 time\(s\)", FIX],
    ),
    "outcome: case, 'case ', Case, control (the issue's four spellings)": (
        "startup",
        both(sheet_cell("S04", "outcome", "Case"), sheet_cell("S06", "outcome", "case ")),
        DataError,
        [
            S,
            r"'case' 4 time\(s\) \(first on line 4, sample 'S02'\)",
            r"'Case' 1 time\(s\) \(line 6, sample 'S04'\)",
            r"'case ' 1 time\(s\) \(line 8, sample 'S06'\)",
            FIX,
        ],
    ),
    "outcome: two labels each spelt two ways": (
        "startup",
        both(sheet_cell("S04", "outcome", "CASE"), sheet_cell("S05", "outcome", "Control")),
        DataError,
        [r"'Control' 1 time\(s\) \(line 7, sample 'S05'\); and .*'CASE' 1 time\(s\) \(line 6, sample 'S04'\)"],
    ),
    "outcome declared binary: spellings named, not '3 classes'": (
        "startup",
        both(sheet_cell("S04", "outcome", "Case"), config(outcome__type="binary")),
        DataError,
        [r"'Case' 1 time\(s\) \(line 6", FIX],
    ),
    "batch: B2 beside b2": (
        "startup",
        sheet_cell("S08", "batch", "B2"),
        DataError,
        [
            S,
            r"column 'batch' \(batch_column of layer\(s\) 'rna', 'protein' in .*omics\.tsv\)",
            r"'b2' 5 time\(s\) \(first on line 9, sample 'S07'\)",
            r"'B2' 1 time\(s\) \(line 10, sample 'S08'\)",
            r"a batch of its own",
            FIX,
        ],
    ),
    "batch: 'b1 ' beside b1": (
        "startup",
        sheet_cell("S03", "batch", "b1 "),
        DataError,
        [S, r"column 'batch'", r"'b1 ' 1 time\(s\) \(line 5, sample 'S03'\)", FIX],
    ),
    "batch: a QC injection's B1": (
        "startup",
        sheet_cell("QC2", "batch", "B1"),
        DataError,
        [S, r"column 'batch'", r"'B1' 1 time\(s\) \(line 16, sample 'QC2'\)", FIX],
    ),
    "group_column: p1 beside P1": (
        "startup",
        subjects({"S02": "p1"}),
        DataError,
        [
            S,
            r"column 'patient' \(config 'evaluation: group_column'\)",
            r"'P1' 1 time\(s\) \(line 3, sample 'S01'\)",
            r"'p1' 1 time\(s\) \(line 4, sample 'S02'\)",
            r"a subject of its own",
        ],
    ),
    "mofa groups (site): Site_A beside site_A": (
        "startup",
        both(
            sheet_column(
                "site", {s: ("site_A" if i < 6 else "site_B") for i, s in enumerate(SAMPLES)} | {"S05": "Site_A"}
            ),
            config(integration__mofa__groups="site"),
        ),
        DataError,
        [S, r"column 'site' \(config 'integration: mofa: groups'\)", r"'Site_A' 1 time\(s\) \(line 7, sample 'S05'\)"],
    ),
    "covariates: f beside F": (
        "startup",
        both(
            sheet_column("sex", {s: "FM"[i % 2] for i, s in enumerate(SAMPLES)} | {"S09": "f"}),
            config(covariates=["sex"]),
        ),
        DataError,
        [S, r"column 'sex' \(config 'covariates'\)", r"'F' 5 time\(s\)", r"'f' 1 time\(s\) \(line 11, sample 'S09'\)"],
    ),
    "test_column: Test beside test": (
        "startup",
        both(mark_test(3), sheet_cell("S02", "split", "Test")),
        DataError,
        [
            S,
            r"column 'split' \(config 'evaluation: test_column'\)",
            r"'test' 2 time\(s\) \(first on line 3, sample 'S01'\)",
            r"'Test' 1 time\(s\) \(line 4, sample 'S02'\)",
            FIX,
        ],
    ),
    # 2. an external test value that marks no sample ------------------------------------------------
    "test_value matches no row": (
        "startup",
        both(mark_test(3), config(evaluation__test_value="external")),
        ConfigError,
        [
            S,
            r"no cohort sample has 'external' \(config 'evaluation: test_value'\)",
            r"column 'split' \(config 'evaluation: test_column'\)",
            r"silently dropped",
            r"holds 'train' 9 time\(s\), 'test' 3 time\(s\)",
            r'test_column to ""',
        ],
    ),
    "test_value differs from the column only by case": (
        "startup",
        both(mark_test(3), config(evaluation__test_value="TEST")),
        ConfigError,
        [r"no cohort sample has 'TEST'", r"'test' 3 time\(s\)", r"Did you mean 'test'\?"],
    ),
    "test_column of empty cells": (
        "startup",
        both(sheet_column("holdout", {}), config(evaluation__test_column="holdout", evaluation__test_value="yes")),
        ConfigError,
        [r"no cohort sample has 'yes'", r"column 'holdout'", r"holds an empty cell 12 time\(s\)"],
    ),
    # 3. the same data named as two layers ----------------------------------------------------------
    "same file as two layers": (
        "startup",
        omics_row(layer="rna_again", kind="log_expression", path="data/rna.tsv", orientation="features_in_rows"),
        ConfigError,
        [OMICS + r", rows 2 and 5", r"layers 'rna' and 'rna_again' both read data/rna\.tsv", r"Keep one of these rows"],
    ),
    "same file as two layers, spelt ./data/rna.tsv": (
        "startup",
        omics_row(layer="rna_again", kind="rnaseq_counts", path="./data/rna.tsv", orientation="features_in_rows"),
        ConfigError,
        [OMICS + r", rows 2 and 5", r"both read data/rna\.tsv / \./data/rna\.tsv", r"count 2 times"],
    ),
    "same AnnData file as two layers (another anndata_layer)": (
        "startup",
        both(
            h5ad_layer("rna"),
            omics_row(layer="rna_norm", kind="log_expression", path="data/rna.h5ad", anndata_layer="norm"),
        ),
        ConfigError,
        [OMICS + r", rows 2 and 5", r"'rna' and 'rna_norm' both read data/rna\.h5ad"],
    ),
    "same MuData modality as two layers": (
        "startup",
        both(as_h5mu, omics_row(layer="rna_again", kind="rnaseq_counts", path="data/cohort.h5mu", modality="rna")),
        ConfigError,
        [OMICS + r", rows 2 and 5", r"both read modality 'rna' of data/cohort\.h5mu", r"its own modality"],
    ),
    # 4. every sample without a batch, at once ------------------------------------------------------
    "three samples without a batch": (
        "startup",
        both(*(sheet_cell(s, "batch", "") for s in ("S02", "S05", "S09"))),
        DataError,
        [
            S + r": 3 samples have no value in batch column 'batch'",
            r"batch_column of layer\(s\) 'rna', 'protein'",
            r"'S02' \(line 4\), 'S05' \(line 7\), 'S09' \(line 11\)\.",
            r"Fill in the batch of each",
        ],
    ),
    "one sample without a batch: its line": (
        "startup",
        sheet_cell("S03", "batch", ""),
        DataError,
        [S + r", line 5: sample 'S03' has no value in batch column 'batch'", r"Fill in its batch"],
    ),
    "twelve samples without a batch: ten listed, two counted": (
        "startup",
        both(*(sheet_cell(s, "batch", " ") for s in SAMPLES)),
        DataError,
        [r"12 samples have no value", r"'S01' \(line 3\), .*'S10' \(line 12\) and 2 more\."],
    ),
    "no batch in a MuData obs: rows, not lines": (
        "startup",
        both(as_h5mu, sheet_cell("S03", "batch", ""), sheet_cell("S04", "batch", "")),
        DataError,
        [r"data/cohort\.h5mu: 2 samples have no value", r"'S03' \(row 3\), 'S04' \(row 4\)"],
    ),
}


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_sheet_stops_with_file_line_id_and_fix(project, case):
    stage, breaker, error, patterns = CASES[case]
    breaker(project)
    with pytest.raises(InputError) as err:
        STAGES[stage](project)
    msg = str(err.value)
    assert isinstance(err.value, error), f"{type(err.value).__name__} instead of {error.__name__}: {msg}"
    for pattern in patterns:
        assert re.search(pattern, msg), f"{pattern!r} not in: {msg}"


# ---------------------------------------------------------------------------------------------
# what stays valid
# ---------------------------------------------------------------------------------------------


def test_one_spelling_everywhere_passes(project):
    """Labels written one way, whatever their case or surrounding spaces, are not a problem."""
    project.sheet.loc[project.sheet["sample"].isin(SAMPLES), "outcome"] = ["Control", "Case "] * 6
    project.sheet["batch"] = project.sheet["batch"].str.upper()
    project.config["outcome"]["positive"] = "Case"
    _, sheet, _ = project.startup()
    assert set(sheet.loc[SAMPLES, "outcome"].str.strip()) == {"Control", "Case"}


def test_numeric_covariate_with_spaces_is_a_number_not_a_label(project):
    project.sheet["age"] = [f"{40 + i}" for i in range(len(project.sheet))]
    project.sheet.loc[project.sheet["sample"] == "S03", "age"] = "42 "
    project.sheet.loc[project.sheet["sample"] == "S05", "age"] = "42"
    project.config["covariates"] = ["age"]
    project.startup()


def test_external_test_samples_marked_pass(project):
    mark_test(3)(project)
    project.startup()


def test_empty_batch_is_allowed_for_a_sample_that_may_lack_the_layer(project):
    """With allow_missing_samples a sample may lack a layer and so its batch; an external test sample
    may lack any layer: neither stops at start-up (the layer's own check applies to those it holds)."""
    project.omics.loc[project.omics["layer"] == "rna", "batch_column"] = ""
    project.protein = project.protein.drop(index="S05")
    project.sheet.loc[project.sheet["sample"] == "S05", "batch"] = ""
    project.config["inputs"] = {"allow_missing_samples": True}
    _, _, matrices, _ = project.inputs()
    assert "S05" not in matrices["protein"].index and "S05" in matrices["rna"].index


def test_different_modalities_of_one_mudata_file_pass(project):
    as_h5mu(project)
    project.startup()


def test_battery_size():
    assert len(CASES) >= 20, len(CASES)
