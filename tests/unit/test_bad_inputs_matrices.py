"""The hostile-input battery, matrix checks of rule validate_inputs (issue 23): counts that are not whole
numbers, non-finite and absurd magnitudes, and messages that name the real cause (a ';'-delimited file,
IDs equal only after trimming whitespace, a layer with one sample).

Same form as :mod:`test_bad_inputs` (its tiny ``Project``, its breakers): ``CASES`` = {name: (stage,
breaker, error class, [regexes])}; a regex starting with ``!`` must NOT match the message.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_bad_inputs import (
    GENES,
    SAMPLES,
    STAGES,
    Project,
    both,
    cell,
    config,
    drop_samples,
    lines_edit,
    omics_cell,
    rename_features,
    set_line,
)

from moflow.errors import DataError, InputError

P, R, M = r"data/protein\.csv", r"data/rna\.tsv", r"data/metab\.parquet"
ROOT = Path(__file__).resolve().parents[2]


def as_semicolon_csv(decimal_comma: bool):
    """protein.csv as Excel writes a CSV where the decimal mark is a comma: ';' between fields."""

    def breaker(p: Project):
        frame = p.protein.rename_axis("sample")
        if decimal_comma:
            frame = frame.map(lambda v: v.replace(".", ","))
        p.texts["data/protein.csv"] = frame.to_csv(sep=";")

    return breaker


def only_samples(frame: str, keep):
    """Keep only ``keep`` in a layer (the other cohort samples lack it)."""

    def breaker(p: Project):
        df = getattr(p, frame)
        setattr(p, frame, df.loc[[s for s in df.index if s in keep or s not in SAMPLES]])

    return breaker


CASES = {
    # 1. counts are whole numbers
    "count: a TPM-like decimal": (
        "inputs",
        cell("rna", "S03", "MYC", "3.27"),
        DataError,
        [
            R + r": count that is not a whole number in layer 'rna' \(kind rnaseq_counts\) for sample 'S03', "
            r"feature 'MYC' \(value 3\.27; 1 such cell\(s\)\)",
            r"Counts must be whole numbers; for TPM/FPKM/CPM or other normalised values declare the layer "
            r"`kind: log_expression` .*\(after log2\(x\+1\)\)",
        ],
    ),
    "count: a whole TPM matrix": (
        "inputs",
        lambda p: setattr(p, "rna", p.rna.map(lambda v: f"{v}.5")),
        DataError,
        [R + r": count that is not a whole number .* for sample 'S01', feature 'TP53'", r"; 72 such cell\(s\)"],
    ),
    "count: a decimal hidden by %g": (
        "inputs",
        cell("rna", "S05", "EGFR", "1234567.5"),
        DataError,
        [r"feature 'EGFR' \(value 1234567\.5;"],
    ),
    "count: a decimal in a Parquet count layer": (
        "inputs",
        both(
            omics_cell("metab", "kind", "rnaseq_counts"),
            lambda p: setattr(p, "metab", p.metab.round()),
            cell("metab", "S02", "M3", 10.25),
        ),
        DataError,
        [M + r": count that is not a whole number in layer 'metab' .*sample 'S02', feature 'M3' \(value 10\.25"],
    ),
    # 2. non-finite and absurd magnitudes
    "inf in a Parquet layer": (
        "inputs",
        both(cell("metab", "S04", "M2", np.inf), cell("metab", "S07", "M1", -np.inf)),
        DataError,
        [M + r": infinite value for sample 'S04', feature 'M2' \(value inf; 2 such cell\(s\)\)", "write NA"],
    ),
    "-inf in a log-scale text layer": (
        "inputs",
        cell("protein", "S09", "KRAS", "-inf"),
        DataError,
        [P + r": infinite value for sample 'S09', feature 'KRAS' \(value -inf; 1 such cell\(s\)\)"],
    ),
    "1e308 in a log-scale proteomics layer": (
        "inputs",
        both(cell("protein", "S02", "MYC", "1e308"), cell("protein", "S10", "TP53", "-9.9e307")),
        DataError,
        [
            P + r": absurd magnitude \(\|value\| > 1e100\) for sample 'S02', feature 'MYC' \(value 1e\+308; "
            r"2 such cell\(s\)\)",
            "sentinel",
            "write NA",
        ],
    ),
    "1e120 in a Parquet layer": (
        "inputs",
        cell("metab", "QC2", "M4", 1e120),
        DataError,
        [M + r": absurd magnitude .* for sample 'QC2', feature 'M4' \(value 1e\+120; 1 such cell"],
    ),
    "1e400 (beyond a float) in a text layer": (
        "inputs",
        cell("protein", "S06", "EGFR", "1e400"),
        DataError,
        [P + r": number '1e400' beyond the range of a float .* for sample 'S06', feature 'EGFR'", "write NA"],
    ),
    "huge count": (
        "inputs",
        cell("rna", "S08", "ACTB", "1e200"),
        DataError,
        [R + r": absurd magnitude .* for sample 'S08', feature 'ACTB'"],
    ),
    "4.9e-324 in a log-scale proteomics layer": (
        "inputs",
        cell("protein", "S05", "TP53", "4.9e-324"),
        DataError,
        [
            P + r": subnormal value \(0 < \|value\| < 2\.225e-308, below the smallest normal float\) for sample "
            r"'S05', feature 'TP53' \(value 4\.94066e-324; 1 such cell\(s\)\)",
            "log-scale values",
            "underflow",
        ],
    ),
    "subnormal in a metabolomics intensity layer (log2 downstream)": (
        "inputs",
        both(cell("metab", "S11", "M1", 1e-310), cell("metab", "S12", "M1", -1e-320)),
        DataError,
        [M + r": subnormal value .* for sample 'S11', feature 'M1' .*2 such cell", "log-transformed downstream"],
    ),
    "subnormal in a proteomics intensity layer, not log scale": (
        "inputs",
        both(omics_cell("protein", "log_scale", "false"), cell("protein", "S01", "KRAS", "2e-310")),
        DataError,
        [P + r": subnormal value .* sample 'S01', feature 'KRAS'", r"log-transformed downstream.*-1074"],
    ),
    "subnormal in a log_expression layer": (
        "inputs",
        both(
            omics_cell("protein", "kind", "log_expression"),
            omics_cell("protein", "log_scale", "false"),
            cell("protein", "S03", "EGFR", "3e-315"),
        ),
        DataError,
        [P + r": subnormal value .* sample 'S03', feature 'EGFR'", "log-scale values"],
    ),
    "subnormal in a count layer": (
        "inputs",
        cell("rna", "S02", "GAPDH", "5e-324"),
        DataError,
        [R + r": subnormal value .* sample 'S02', feature 'GAPDH'"],
    ),
    # 4. the real cause
    "';'-delimited CSV with decimal commas": (
        "inputs",
        as_semicolon_csv(decimal_comma=True),
        DataError,
        [
            P + r", line 2: 5 field\(s\) where the header \(line 1\) has 1: the file seems to use ';' as delimiter "
            r"\(its header holds 5 ';'-separated fields\)",
            "decimal mark",
            r"moflow reads ',' in \.csv and tab in \.tsv: save it with commas or as \.tsv",
            "!ragged|more fields than the header",
        ],
    ),
    "';'-delimited CSV without decimals": (
        "inputs",
        both(lambda p: setattr(p, "protein", p.protein.map(lambda v: v.split(".")[0])), as_semicolon_csv(False)),
        DataError,
        [
            P + r", line 1: the header has a single field: the file seems to use ';' as delimiter",
            r"save it with commas or as \.tsv",
            "!decimal mark",
        ],
    ),
    "comma-separated text named .tsv": (
        "inputs",
        lambda p: p.texts.update({"data/rna.tsv": p.rna.T.rename_axis("gene").to_csv()}),
        DataError,
        [R + r", line 1: the header has a single field: the file seems to use ',' as delimiter", r"name it \.csv"],
    ),
    "a ';' in a feature name is no delimiter": (
        "inputs",
        both(
            rename_features("protein", {"KRAS": "KRAS;NRAS"}),
            lines_edit("data/protein.csv", set_line(4, lambda s: s + ",1.5")),
        ),
        DataError,
        [P + r", line 4: 6 field\(s\) where the header \(line 1\) has 5", "more fields", "!delimiter"],
    ),
    "feature row equal to another only after trimming whitespace": (
        "inputs",
        lines_edit("data/rna.tsv", set_line(6, lambda s: "GAPDH " + s[len("ACTB") :])),
        DataError,
        [
            R + r": feature ID 'GAPDH' appears more than once in the first column after trimming surrounding "
            r"whitespace: 'GAPDH' \(line 5\) and 'GAPDH ' \(line 6\)",
            "two different features",
            "never merge",
            "!sum or average",
        ],
    ),
    "feature column equal to another only after trimming whitespace": (
        "inputs",
        lines_edit("data/protein.csv", set_line(1, lambda s: s.replace(",MYC,", ", EGFR,"))),
        DataError,
        [
            P + r": feature ID 'EGFR' appears more than once in the header after trimming surrounding whitespace: "
            r"'EGFR' \(line 1, field 3\) and ' EGFR' \(line 1, field 4\)",
            "!sum or average",
        ],
    ),
    "Parquet feature columns equal only after trimming whitespace": (
        "inputs",
        rename_features("metab", {"M3": "M2 "}),
        DataError,
        [M + r": feature ID 'M2' appears .* whitespace: 'M2' \(column 3\) and 'M2 ' \(column 4\)", "!sum or average"],
    ),
    "sample rows equal only after trimming whitespace": (
        "inputs",
        lambda p: p.texts.update({"data/protein.csv": p.text("data/protein.csv").replace("\nS06,", "\n S05 ,")}),
        DataError,
        [
            P + r": sample ID 'S05' appears more than once in the first column after trimming surrounding "
            r"whitespace: 'S05' \(line 6\) and ' S05 ' \(line 7\)",
            "Correct the ID",
        ],
    ),
    "a plain duplicate feature keeps its message": (
        "inputs",
        rename_features("rna", {"GAPDH": "ACTB"}),
        DataError,
        [R + r": feature ID 'ACTB' appears more than once in the first column \(2 entries", "!whitespace"],
    ),
    "a layer with one sample (with a batch)": (
        "inputs",
        both(config(inputs={"allow_missing_samples": True}), only_samples("protein", ["S04"])),
        DataError,
        [
            P + r": layer 'protein' has 1 sample \('S04'\) of the 12 cohort samples",
            "at least 2",
            "!holds a single sample",
        ],
    ),
    "a layer with one sample (no batch)": (
        "inputs",
        both(
            config(inputs={"allow_missing_samples": True}),
            omics_cell("protein", "batch_column", ""),
            only_samples("protein", ["S09"]),
        ),
        DataError,
        [P + r": layer 'protein' has 1 sample \('S09'\)", "remove the layer from the omics sheet"],
    ),
    "a layer whose only sample row is empty": (
        "inputs",
        both(
            config(inputs={"allow_missing_samples": True}),
            only_samples("metab", ["S01", "S02"]),
            cell("metab", "S02", slice(None), np.nan),
        ),
        DataError,
        [M + r": layer 'metab' has 1 sample \('S01'\)"],
    ),
    "a layer with no sample": (
        "inputs",
        both(config(inputs={"allow_missing_samples": True}), drop_samples("metab", SAMPLES)),
        DataError,
        [M + r": layer 'metab' has 0 samples of the 12 cohort samples"],
    ),
}


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_matrix_stops_with_file_cell_and_fix(project, case):
    stage, breaker, error, patterns = CASES[case]
    breaker(project)
    with pytest.raises(InputError) as err:
        STAGES[stage](project)
    msg = str(err.value)
    assert isinstance(err.value, error), f"{type(err.value).__name__} instead of {error.__name__}: {msg}"
    for pattern in patterns:
        if pattern.startswith("!"):
            assert not re.search(pattern[1:], msg), f"{pattern[1:]!r} should not be in: {msg}"
        else:
            assert re.search(pattern, msg), f"{pattern!r} not in: {msg}"


@pytest.mark.parametrize(
    "breaker",
    [
        pytest.param(lambda p: setattr(p, "rna", p.rna.map(lambda v: f"{v}.0")), id="counts written 12.0"),
        pytest.param(cell("rna", "S03", "MYC", "1e6"), id="a count written 1e6"),
        pytest.param(cell("protein", "S03", "MYC", "1e-300"), id="tiny but normal on a log scale"),
        pytest.param(cell("metab", "S03", "M1", 0.0), id="zero intensity (missing)"),
        pytest.param(
            both(omics_cell("protein", "kind", "continuous"), omics_cell("protein", "log_scale", "false")),
            id="continuous layer",
        ),
        pytest.param(
            both(
                omics_cell("protein", "kind", "continuous"),
                omics_cell("protein", "log_scale", "false"),
                cell("protein", "S03", "MYC", "4.9e-324"),
            ),
            id="subnormal in a continuous layer not on a log scale",
        ),
        pytest.param(cell("protein", "S03", "MYC", "1e100"), id="1e100 itself"),
    ],
)
def test_valid_values_pass(project, breaker):
    """Whole counts however written, and values only the checks' edges reach, pass validation unchanged."""
    breaker(project)
    _, _, matrices, _ = project.inputs()
    assert list(matrices["rna"].columns) == GENES


def test_count_values_kept_as_read(project):
    """A count layer written as 12.0 gives the same matrix as one written 12."""
    _, _, plain, _ = project.inputs()
    project.rna = project.rna.map(lambda v: f"{v}.0")
    _, _, dotted, _ = project.inputs()
    assert plain["rna"].equals(dotted["rna"])


def test_evaluation_waits_for_validation():
    """The jobs that draw the CV splits (cv_fold, report) read the validated sample sheet, so a run stopped
    by validate_inputs draws no splits."""
    rules = "\n".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))
    for rule in ("cv_fold", "fit_cohort"):
        block = rules[rules.index(f"rule {rule}:") :].split("\nrule ", 1)[0]
        inputs = block[block.index("input:") : block.index("output:")]
        assert 'samples="results/inputs/samples.tsv"' in inputs, rule
    common = (ROOT / "rules/common.smk").read_text()
    report_inputs = common[common.index("def report_inputs(") :].split("\ndef ", 1)[0]
    assert '"samples": "results/inputs/samples.tsv"' in report_inputs
    assert 'samples="results/inputs/samples.tsv"' in (ROOT / "rules/inputs.smk").read_text()


def test_battery_size():
    assert len(CASES) >= 25, len(CASES)
