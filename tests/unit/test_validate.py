"""Input checks: every bad input raises InputError naming the file and the offending sample/feature."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from moflow.errors import ConfigError, DataError, InputError
from moflow.inputs import align_layer, check_omics_sheet, check_samples_sheet, parse_matrix
from moflow.io import read_raw_table, read_sheet

SAMPLES_PATH = "config/samples.tsv"


@pytest.fixture(scope="module")
def raw_sheet(cohort):
    """The sample sheet as read from disk: every column a string."""
    return cohort.sheet.astype(str)


@pytest.fixture(scope="module")
def sheet(raw_sheet):
    return check_samples_sheet(raw_sheet, path=SAMPLES_PATH, outcome="outcome", min_class_size=5)


def align(
    X, sheet, *, path="data/rna.tsv", layer="rna", has_qc=False, batch_column="batch", allow_missing_samples=False
):
    return align_layer(
        X,
        path=path,
        layer=layer,
        sheet=sheet,
        samples_path=SAMPLES_PATH,
        has_qc=has_qc,
        batch_column=batch_column,
        allow_missing_samples=allow_missing_samples,
    )


def as_raw(X: pd.DataFrame) -> pd.DataFrame:
    """A matrix the way read_raw_table returns it: strings."""
    return X.astype(str)


# ---------------------------------------------------------------------------------------------
# sample sheet
# ---------------------------------------------------------------------------------------------


def test_sheet_happy_path(sheet, cohort):
    assert list(sheet.index) == list(cohort.sheet["sample"])
    assert set(sheet["sample_type"]) == {"sample", "qc"}


def test_duplicate_sample_ids_in_sheet_give_rows(raw_sheet):
    bad = raw_sheet.copy()
    dup = bad.loc[3, "sample"]
    bad.loc[10, "sample"] = dup
    with pytest.raises(InputError) as err:
        check_samples_sheet(bad, path=SAMPLES_PATH, outcome="outcome")
    msg = str(err.value)
    assert SAMPLES_PATH in msg and f"'{dup}'" in msg
    # file rows (header is row 1): data rows 3 and 10 are file rows 5 and 12
    assert re.search(r"rows \[5, 12\]", msg), msg


def test_sheet_sample_without_outcome(raw_sheet):
    bad = raw_sheet.copy()
    bad.loc[7, "outcome"] = "NA"
    with pytest.raises(InputError, match=re.escape(bad.loc[7, "sample"])) as err:
        check_samples_sheet(bad, path=SAMPLES_PATH, outcome="outcome")
    assert SAMPLES_PATH in str(err.value)


def test_sheet_outcome_column_missing_or_single_class(raw_sheet):
    with pytest.raises(InputError, match="'status'"):
        check_samples_sheet(raw_sheet, path=SAMPLES_PATH, outcome="status")
    one = raw_sheet.copy()
    one.loc[one["sample_type"] == "sample", "outcome"] = "case"
    with pytest.raises(InputError, match="single class"):
        check_samples_sheet(one, path=SAMPLES_PATH, outcome="outcome")


def test_sheet_class_smaller_than_folds(raw_sheet):
    with pytest.raises(InputError, match="'case' has 30 sample"):
        check_samples_sheet(raw_sheet, path=SAMPLES_PATH, outcome="outcome", min_class_size=31)


def test_sheet_unknown_sample_type(raw_sheet):
    bad = raw_sheet.copy()
    bad.loc[2, "sample_type"] = "pool"
    with pytest.raises(InputError, match=re.escape(f"sample '{bad.loc[2, 'sample']}' has sample_type 'pool'")):
        check_samples_sheet(bad, path=SAMPLES_PATH, outcome="outcome")


# ---------------------------------------------------------------------------------------------
# sample sheet: survival outcome (outcome: type survival, time and event columns)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def surv_sheet():
    """The simulated sheet with a survival outcome (time in years, event 1/0), as read from disk."""
    from unit_helpers import COHORT_SEED, SIM

    from moflow.demo import simulate_cohort

    return simulate_cohort(**SIM, seed=COHORT_SEED, survival=True).sheet.astype(str)


def check_surv(sheet, **kw):
    args = dict(
        path=SAMPLES_PATH,
        outcome="",
        min_class_size=5,
        outcome_type="survival",
        time_column="time",
        event_column="event",
    )
    return check_samples_sheet(sheet, **{**args, **kw})


def _cohort_row(sheet, k: int = 0) -> int:
    """Label of the k-th cohort sample (not QC) of a raw sheet."""
    return int(sheet.index[sheet["sample_type"] == "sample"][k])


def _raises(exc_type, sheet, *, fix: str, sample: str | None = None, **kw) -> str:
    with pytest.raises(exc_type) as err:
        check_surv(sheet, **kw)
    msg = str(err.value)
    assert SAMPLES_PATH in msg, msg
    assert fix in msg, msg
    if sample is not None:
        assert f"sample '{sample}'" in msg, msg
    return msg


def test_survival_sheet_passes_with_0_1_events_and_without_outcome_column(surv_sheet):
    out = check_surv(surv_sheet)
    assert list(out.index) == list(surv_sheet["sample"])
    # time and event stay as written
    assert (out["time"].to_numpy() == surv_sheet["time"].to_numpy()).all()
    # the outcome column is not needed for a survival outcome
    out = check_surv(surv_sheet.drop(columns="outcome"), outcome="outcome")
    assert "outcome" not in out.columns


def test_survival_sheet_passes_with_true_false_events(surv_sheet):
    coded = surv_sheet.copy()
    cohort = coded["sample_type"] == "sample"
    rows = coded.index[cohort]
    spellings = {"1": ["true", "TRUE", "True", "1.0", " 1 "], "0": ["false", "FALSE", "False", "0.0", "0"]}
    coded.loc[rows, "event"] = [spellings[v][i % 5] for i, v in enumerate(coded.loc[rows, "event"])]
    check_surv(coded)
    # a follow-up time of 0 is allowed
    zero = surv_sheet.copy()
    zero.loc[_cohort_row(zero), "time"] = "0"
    check_surv(zero)


def test_survival_time_and_event_columns_must_be_set(surv_sheet):
    with pytest.raises(ConfigError, match="'outcome: time' is not set") as err:
        check_surv(surv_sheet, time_column="")
    assert SAMPLES_PATH in str(err.value)
    with pytest.raises(ConfigError, match="'outcome: event' is not set") as err:
        check_surv(surv_sheet, event_column="")
    assert SAMPLES_PATH in str(err.value)
    with pytest.raises(ConfigError, match="need a column each"):
        check_surv(surv_sheet, event_column="time")


def test_survival_columns_must_be_in_the_sheet(surv_sheet):
    msg = _raises(ConfigError, surv_sheet, fix="Name the right column in config 'outcome: time'", time_column="tme")
    assert "time column 'tme'" in msg and "columns are" in msg and "Did you mean 'time'?" in msg
    msg = _raises(
        ConfigError, surv_sheet, fix="Name the right column in config 'outcome: event'", event_column="events"
    )
    assert "event column 'events'" in msg and "Did you mean 'event'?" in msg


def test_survival_time_missing(surv_sheet):
    bad = surv_sheet.copy()
    i = _cohort_row(bad, 6)
    bad.loc[i, "time"] = "NA"
    msg = _raises(DataError, bad, sample=bad.loc[i, "sample"], fix="Fill in the time from study entry")
    assert f"row {i + 2}" in msg and "no follow-up time in column 'time'" in msg


def test_survival_time_not_a_number(surv_sheet):
    bad = surv_sheet.copy()
    i, j = _cohort_row(bad, 3), _cohort_row(bad, 8)
    bad.loc[i, "time"] = "5,2"
    bad.loc[j, "time"] = "inf"
    msg = _raises(DataError, bad, sample=bad.loc[i, "sample"], fix="Write the time as a number")
    assert "'5,2'" in msg and "not a number" in msg and "(1 more such sample(s))" in msg


def test_survival_time_negative(surv_sheet):
    bad = surv_sheet.copy()
    i = _cohort_row(bad, 11)
    bad.loc[i, "time"] = "-1.5"
    msg = _raises(DataError, bad, sample=bad.loc[i, "sample"], fix="Fix the value")
    assert "follow-up time cannot be negative" in msg and "'-1.5'" in msg and f"row {i + 2}" in msg


def test_survival_event_missing(surv_sheet):
    bad = surv_sheet.copy()
    i = _cohort_row(bad, 2)
    bad.loc[i, "event"] = ""
    msg = _raises(DataError, bad, sample=bad.loc[i, "sample"], fix="Fill in whether the event was observed")
    assert "no value in event column 'event'" in msg and f"row {i + 2}" in msg


@pytest.mark.parametrize("value", ["yes", "2", "dead"])
def test_survival_event_not_binary(surv_sheet, value):
    bad = surv_sheet.copy()
    i = _cohort_row(bad, 4)
    bad.loc[i, "event"] = value
    msg = _raises(DataError, bad, sample=bad.loc[i, "sample"], fix="Code events as 0/1")
    assert "true/false" in msg and "not an event coding" in msg
    # the values found, the offending one included
    assert "values found: '0', '1', " in msg and f"'{value}'" in msg


def test_survival_no_events_among_training_samples(surv_sheet):
    none = surv_sheet.copy()
    cohort = none["sample_type"] == "sample"
    none.loc[cohort, "event"] = "0"
    msg = _raises(DataError, none, fix="Check that events are coded 0/1")
    assert "no event" in msg and "all are censored" in msg
    # events only among external test samples do not count
    test = none.copy()
    test["split"] = ""
    rows = test.index[cohort][:10]
    test.loc[rows, "split"] = "test"
    test.loc[rows, "event"] = "1"
    msg = _raises(DataError, test, fix="Check that events are coded 0/1", test_column="split")
    assert "training samples (10 external test sample(s) not counted)" in msg


def test_survival_fewer_events_than_folds(surv_sheet):
    few = surv_sheet.copy()
    cohort = few.index[few["sample_type"] == "sample"]
    few.loc[cohort, "event"] = "0"
    few.loc[cohort[:3], "event"] = "1"
    msg = _raises(DataError, few, fix="Lower 'evaluation: folds'")
    assert "has 3 event(s) among the 90 samples" in msg and "5 cross-validation folds" in msg and "C-index" in msg
    check_surv(few, min_class_size=3)


def test_survival_external_test_samples_need_time_and_event(surv_sheet):
    bad = surv_sheet.copy()
    bad["split"] = ""
    i = _cohort_row(bad, 0)
    bad.loc[i, "split"] = "test"
    check_surv(bad, test_column="split")
    bad.loc[i, "time"] = "n/a"  # a half-filled outcome is an error, not a new patient
    _raises(DataError, bad, sample=bad.loc[i, "sample"], fix="Fill in the time", test_column="split")
    new = surv_sheet.copy()
    new["split"] = ""
    new.loc[i, ["split", "time", "event"]] = ["test", "", ""]  # neither time nor event: a new patient
    out = check_surv(new, test_column="split")
    assert new.loc[i, "sample"] in set(out.index)


def test_survival_columns_ignored_for_other_outcome_types(raw_sheet):
    """time/event settings are for survival outcomes only: other types check the outcome column as before."""
    out = check_samples_sheet(
        raw_sheet,
        path=SAMPLES_PATH,
        outcome="outcome",
        min_class_size=5,
        outcome_type="binary",
        time_column="time",
        event_column="event",
    )
    assert list(out.index) == list(raw_sheet["sample"])
    with pytest.raises(ConfigError, match="outcome column 'status'"):
        check_samples_sheet(raw_sheet, path=SAMPLES_PATH, outcome="status", time_column="time", event_column="event")


def test_parse_event_and_parse_time():
    from moflow.inputs import parse_event, parse_time

    values = pd.Series(["1", "0", "TRUE", "false", " 1.0 ", "0.0", "True"], index=[f"S{i}" for i in range(7)])
    event = parse_event(values)
    assert event.dtype == bool and list(event.index) == list(values.index)
    assert event.tolist() == [True, False, True, False, True, False, True]
    # typed input: booleans and numbers
    assert parse_event(pd.Series([True, False, 1, 0.0])).tolist() == [True, False, True, False]
    with pytest.raises(DataError) as err:
        parse_event(pd.Series(["1", "no"], index=["A", "B"]), path="s.tsv", column="dead")
    msg = str(err.value)
    assert "s.tsv: sample 'B'" in msg and "column 'dead'" in msg and "values found: '1', 'no'" in msg
    with pytest.raises(DataError, match="the sample sheet: sample 'B' has no value in event column 'event'"):
        parse_event(pd.Series(["1", "NA"], index=["A", "B"]))

    times = parse_time(pd.Series(["0", "1.5", "12"], index=["A", "B", "C"]), path="s.tsv", column="os")
    assert times.dtype == float and times.tolist() == [0.0, 1.5, 12.0] and list(times.index) == ["A", "B", "C"]
    for bad, what in (("-", "no follow-up time"), ("abc", "not a number"), ("-2", "cannot be negative")):
        with pytest.raises(DataError, match=re.escape("s.tsv: sample 'B'") + ".*" + what):
            parse_time(pd.Series(["1", bad], index=["A", "B"]), path="s.tsv", column="os")


# ---------------------------------------------------------------------------------------------
# omics sheet
# ---------------------------------------------------------------------------------------------


def test_omics_sheet_errors(sheet):
    good = pd.DataFrame(
        {
            "layer": ["rna", "metabolomics"],
            "kind": ["rnaseq_counts", "metabolomics_intensity"],
            "path": ["a.tsv", "b.parquet"],
            "has_qc": ["false", "true"],
        }
    )
    out = check_omics_sheet(good, path="omics.tsv", samples=sheet, samples_path=SAMPLES_PATH)
    assert bool(out.loc["metabolomics", "has_qc"]) and not bool(out.loc["rna", "has_qc"])
    bad = good.copy()
    bad.loc[1, "kind"] = "lipidomics"
    with pytest.raises(InputError, match=r"omics\.tsv, row 3 \(layer 'metabolomics'\).*lipidomics"):
        check_omics_sheet(bad, path="omics.tsv", samples=sheet, samples_path=SAMPLES_PATH)
    with pytest.raises(InputError, match="injection_order"):
        check_omics_sheet(
            good, path="omics.tsv", samples=sheet.drop(columns="injection_order"), samples_path=SAMPLES_PATH
        )
    bad = good.assign(batch_column=["plate", ""])
    with pytest.raises(InputError, match="batch_column 'plate'"):
        check_omics_sheet(bad, path="omics.tsv", samples=sheet, samples_path=SAMPLES_PATH)


# ---------------------------------------------------------------------------------------------
# matrices against the sheet
# ---------------------------------------------------------------------------------------------


def test_sample_in_matrix_missing_from_sheet(cohort, sheet):
    X = cohort.layers["rna"].rename(index={"S0017": "S9999"}).astype(float)
    with pytest.raises(InputError) as err:
        align(X, sheet)
    msg = str(err.value)
    assert "data/rna.tsv" in msg and "'S9999'" in msg and SAMPLES_PATH in msg


def test_sheet_sample_missing_from_matrix(cohort, sheet):
    X = cohort.layers["rna"].drop(index=["S0005"]).astype(float)
    with pytest.raises(InputError) as err:
        align(X, sheet)
    msg = str(err.value)
    assert "data/rna.tsv" in msg and "'S0005'" in msg and "allow_missing_samples" in msg
    out = align(X, sheet, allow_missing_samples=True)
    assert "S0005" not in out.index
    assert len(out) == len(X)


def test_batch_with_a_single_sample(cohort, sheet):
    one = sheet.copy()
    one.loc["S0042", "batch"] = "b9"
    with pytest.raises(InputError) as err:
        align(cohort.layers["rna"].astype(float), one)
    msg = str(err.value)
    assert SAMPLES_PATH in msg and "'b9'" in msg and "'S0042'" in msg


def test_batch_left_with_one_sample_by_missing_samples(cohort, sheet):
    """allow_missing_samples must not let a batch shrink to one sample unnoticed."""
    one = sheet.copy()
    one.loc[["S0042", "S0043"], "batch"] = "b9"
    X = cohort.layers["rna"].drop(index=["S0043"]).astype(float)
    with pytest.raises(InputError, match="'b9'.*'S0042'"):
        align(X, one, allow_missing_samples=True)


def test_qc_rows_in_layer_without_has_qc(cohort, sheet):
    X = cohort.layers["metabolomics"]
    with pytest.raises(InputError) as err:
        align(X, sheet, path="data/met.parquet", layer="metabolomics", has_qc=False)
    msg = str(err.value)
    assert "data/met.parquet" in msg and "has_qc" in msg and "'QC001'" in msg
    out = align(X, sheet, path="data/met.parquet", layer="metabolomics", has_qc=True)
    assert len(out) == len(X)


def test_has_qc_with_too_few_qcs(cohort, sheet):
    X = cohort.layers["metabolomics"]
    qcs = [s for s in X.index if s.startswith("QC")]
    with pytest.raises(InputError, match="at least 3"):
        align(X.drop(index=qcs[2:]), sheet, layer="metabolomics", has_qc=True)


def test_blank_injections_are_dropped(cohort, sheet):
    sh = sheet.copy()
    sh.loc["QC001", "sample_type"] = "blank"
    out = align(cohort.layers["metabolomics"], sh, layer="metabolomics", has_qc=True)
    assert "QC001" not in out.index and "QC002" in out.index


# ---------------------------------------------------------------------------------------------
# cell checks (parse_matrix)
# ---------------------------------------------------------------------------------------------


def test_duplicate_feature_ids_in_csv_are_detected_not_renamed(tmp_path):
    path = tmp_path / "rna.csv"
    path.write_text("sample,GENE1,GENE2,GENE1\nS1,1,2,3\nS2,4,5,6\n")
    raw = read_raw_table(path)
    # read as is: pandas would rename the second header to 'GENE1.1'
    assert list(raw.columns) == ["GENE1", "GENE2", "GENE1"]
    assert list(raw.index) == ["S1", "S2"]
    with pytest.raises(InputError) as err:
        parse_matrix(raw, path=str(path), orientation="samples_in_rows", kind="rnaseq_counts", layer="rna")
    msg = str(err.value)
    assert str(path) in msg and "feature ID 'GENE1'" in msg and "more than once" in msg


def test_duplicate_feature_ids_features_in_rows_tsv(tmp_path):
    path = tmp_path / "rna.tsv"
    path.write_text("gene\tS1\tS2\nGENE1\t1\t2\nGENE2\t3\t4\nGENE1\t5\t6\n")
    raw = read_raw_table(path)
    with pytest.raises(InputError, match=r"feature ID 'GENE1' appears more than once") as err:
        parse_matrix(raw, path=str(path), orientation="features_in_rows", kind="rnaseq_counts", layer="rna")
    assert str(path) in str(err.value)


def test_duplicate_sample_ids_in_matrix(tmp_path):
    path = tmp_path / "prot.csv"
    path.write_text("sample,P1,P2\nS1,1,2\nS2,4,5\nS1,7,8\n")
    with pytest.raises(InputError, match=r"sample ID 'S1' appears more than once"):
        parse_matrix(
            read_raw_table(path),
            path=str(path),
            orientation="samples_in_rows",
            kind="proteomics_intensity",
            layer="protein",
        )


@pytest.mark.parametrize("orientation", ["samples_in_rows", "features_in_rows"])
def test_non_numeric_cell_names_value_sample_and_feature(tmp_path, orientation):
    X = pd.DataFrame([[1, 2, 3], [4, 5, 6]], index=["S1", "S2"], columns=["G1", "G2", "G3"]).astype(str)
    X.loc["S2", "G3"] = "12a"
    path = tmp_path / "x.tsv"
    (X if orientation == "samples_in_rows" else X.T).to_csv(path, sep="\t")
    raw = read_raw_table(path)
    with pytest.raises(InputError) as err:
        parse_matrix(raw, path=str(path), orientation=orientation, kind="log_expression", layer="x")
    msg = str(err.value)
    assert str(path) in msg
    assert "'12a'" in msg and "sample 'S2'" in msg and "feature 'G3'" in msg


def test_na_tokens_are_missing_values():
    raw = pd.DataFrame(
        {"P1": ["1.5", "NA", " n/a "], "P2": ["", "2", "3"], "P3": ["-", "null", "NaN"]}, index=["S1", "S2", "S3"]
    )
    X = parse_matrix(raw, path="p.csv", orientation="samples_in_rows", kind="log_expression", layer="p")
    assert X.isna().to_numpy().sum() == 6
    assert X.loc["S1", "P1"] == 1.5 and X.loc["S2", "P2"] == 2.0


def test_negative_count(cohort):
    X = cohort.layers["rna"].iloc[:10, :20].copy()
    X.iloc[4, 7] = -3
    with pytest.raises(InputError) as err:
        parse_matrix(as_raw(X), path="data/rna.tsv", orientation="samples_in_rows", kind="rnaseq_counts", layer="rna")
    msg = str(err.value)
    assert "data/rna.tsv" in msg and "negative count" in msg
    assert f"sample '{X.index[4]}'" in msg and f"feature '{X.columns[7]}'" in msg and "(value -3;" in msg


def test_missing_count(cohort):
    X = cohort.layers["rna"].iloc[:10, :20].astype(str)
    X.iloc[2, 3] = "NA"
    with pytest.raises(InputError, match=f"missing count.*sample '{X.index[2]}', feature '{X.columns[3]}'"):
        parse_matrix(X, path="r.tsv", orientation="samples_in_rows", kind="rnaseq_counts", layer="rna")


def test_negative_intensity_and_zero_as_missing():
    raw = pd.DataFrame({"M1": ["10", "0", "5"], "M2": ["3", "4", "6"]}, index=["S1", "S2", "S3"])
    X = parse_matrix(raw, path="m.csv", orientation="samples_in_rows", kind="metabolomics_intensity", layer="m")
    assert np.isnan(X.loc["S2", "M1"]) and X.loc["S1", "M1"] == 10
    raw.loc["S3", "M2"] = "-1"
    with pytest.raises(InputError, match="negative intensity.*sample 'S3', feature 'M2'"):
        parse_matrix(raw, path="m.csv", orientation="samples_in_rows", kind="metabolomics_intensity", layer="m")


def test_infinite_value():
    raw = pd.DataFrame({"F1": ["1", "inf"], "F2": ["2", "3"]}, index=["S1", "S2"])
    with pytest.raises(InputError, match="m.csv: infinite value for sample 'S2', feature 'F1'"):
        parse_matrix(raw, path="m.csv", orientation="samples_in_rows", kind="continuous", layer="m")


def test_beta_outside_unit_interval():
    raw = pd.DataFrame({"cg1": ["0.2", "0.9"], "cg2": ["1.2", "0.5"]}, index=["S1", "S2"])
    with pytest.raises(InputError) as err:
        parse_matrix(raw, path="meth.csv", orientation="samples_in_rows", kind="methylation_beta", layer="meth")
    msg = str(err.value)
    assert "meth.csv" in msg and "outside [0, 1]" in msg and "sample 'S1'" in msg and "feature 'cg2'" in msg
    ok = parse_matrix(
        raw.replace("1.2", "1"), path="meth.csv", orientation="samples_in_rows", kind="methylation_beta", layer="meth"
    )
    assert ok.loc["S1", "cg2"] == 1.0


def test_binary_layer_non_binary_value():
    raw = pd.DataFrame({"m1": ["0", "1", "NA"], "m2": ["1", "2", "0"]}, index=["S1", "S2", "S3"])
    with pytest.raises(InputError) as err:
        parse_matrix(raw, path="mut.tsv", orientation="samples_in_rows", kind="binary", layer="mut")
    msg = str(err.value)
    assert "mut.tsv" in msg and "other than 0 or 1" in msg and "sample 'S2'" in msg and "feature 'm2'" in msg


def test_sample_without_any_observed_value():
    raw = pd.DataFrame({"P1": ["1", "NA"], "P2": ["2", ""]}, index=["S1", "S2"])
    with pytest.raises(InputError, match=r"p\.csv: sample\(s\) 'S2' have no observed value in layer 'p'"):
        parse_matrix(raw, path="p.csv", orientation="samples_in_rows", kind="log_expression", layer="p")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_raw_table(tmp_path / "nope.csv")
    p = tmp_path / "x.xlsx"
    p.write_text("")
    with pytest.raises(InputError, match=r"unknown matrix format '\.xlsx'"):
        read_raw_table(p)


def test_ragged_header_is_an_input_error(tmp_path):
    path = tmp_path / "rna.tsv"
    # R's write.table(x, sep='\t') writes the header without a cell for the row names
    path.write_text("S1\tS2\tS3\nGENE1\t1\t2\t3\nGENE2\t4\t5\t6\n")
    with pytest.raises(InputError, match=re.escape(str(path))):
        read_raw_table(path)


# ---------------------------------------------------------------------------------------------
# happy path: the demo cohort written in every orientation and format reads back unchanged
# ---------------------------------------------------------------------------------------------

LAYER_KIND = {"rna": "rnaseq_counts", "protein": "proteomics_intensity", "metabolomics": "metabolomics_intensity"}


def _write(X: pd.DataFrame, path, orientation: str) -> None:
    M = X if orientation == "samples_in_rows" else X.T
    suffix = "".join(path.suffixes)
    if suffix == ".parquet":
        M.to_parquet(path)
    elif suffix.startswith(".tsv") or suffix.startswith(".txt"):
        M.to_csv(path, sep="\t")
    else:
        M.to_csv(path)


@pytest.mark.parametrize("layer", ["rna", "protein", "metabolomics"])
@pytest.mark.parametrize(
    "orientation, filename",
    [
        ("samples_in_rows", "m.csv"),
        ("features_in_rows", "m.csv"),
        ("samples_in_rows", "m.tsv"),
        ("features_in_rows", "m.tsv.gz"),
        ("samples_in_rows", "m.parquet"),
        ("features_in_rows", "m.parquet"),
    ],
)
def test_demo_cohort_round_trip(cohort, sheet, tmp_path, layer, orientation, filename):
    X0 = cohort.layers[layer]
    path = tmp_path / filename
    _write(X0, path, orientation)
    raw = read_raw_table(path)
    X = parse_matrix(raw, path=str(path), orientation=orientation, kind=LAYER_KIND[layer], layer=layer)
    X = align(X, sheet, path=str(path), layer=layer, has_qc=(layer == "metabolomics"))
    # sheet order: cohort samples, then QC injections
    assert list(X.index) == [s for s in sheet.index if s in X0.index]
    assert list(X.columns) == list(X0.columns)
    expected = X0.loc[X.index].astype(float)
    pd.testing.assert_frame_equal(X, expected, check_names=False, check_exact=False, rtol=1e-12, atol=0)
    # missing proteomics cells stay missing, and nothing else becomes missing
    assert X.isna().to_numpy().sum() == X0.isna().to_numpy().sum()


def test_sheet_round_trip_through_read_sheet(cohort, tmp_path):
    path = tmp_path / "samples.tsv"
    cohort.sheet.to_csv(path, sep="\t", index=False)
    sh = check_samples_sheet(read_sheet(path), path=str(path), outcome="outcome")
    assert list(sh.index) == list(cohort.sheet["sample"])
    assert (sh["injection_order"] == cohort.sheet["injection_order"].astype(str).to_numpy()).all()


def test_read_sheet_keeps_hash_inside_values(tmp_path):
    path = tmp_path / "samples.tsv"
    path.write_text(
        "# demo sheet\n"
        "sample\tsample_type\toutcome\tbatch\tinjection_order\n"
        "S1\tsample\tcase\tplate#1\t1\n"
        "S2\tsample\tcontrol\tplate#2\t2\n"
        "S#3\tsample\tcontrol\tplate#2\t3\n"
    )
    df = read_sheet(path)
    assert list(df["sample"]) == ["S1", "S2", "S#3"]
    assert list(df["batch"]) == ["plate#1", "plate#2", "plate#2"]
    assert list(df["injection_order"]) == ["1", "2", "3"]


def test_load_inputs_names_files_as_written_not_as_read(tmp_path, cohort):
    """With a storage plugin a job reads local copies (.snakemake/storage/...); messages and the
    summary must name the files the way the user wrote them."""
    from moflow.io import LazyTables
    from moflow.settings import Settings
    from moflow.tasks import validate_inputs

    def load_inputs(sheet_path, omics_path, matrices, config, labels):
        return validate_inputs(
            read_sheet(sheet_path), read_sheet(omics_path), LazyTables(matrices), config, labels=labels
        )

    copies = tmp_path / ".snakemake" / "storage" / "s3" / "bucket"
    copies.mkdir(parents=True)
    sheet_path = copies / "samples.tsv"
    cohort.sheet.to_csv(sheet_path, sep="\t", index=False)
    omics_path = copies / "omics.tsv"
    pd.DataFrame(
        [
            [
                "protein",
                "proteomics_intensity",
                "data/protein.csv",
                "samples_in_rows",
                "batch",
                "false",
                "true",
                "symbol",
            ]
        ],
        columns=["layer", "kind", "path", "orientation", "batch_column", "has_qc", "log_scale", "gene_ids"],
    ).to_csv(omics_path, sep="\t", index=False)
    protein = cohort.layers["protein"]
    matrix_path = copies / "protein.csv"
    protein.to_csv(matrix_path)
    labels = {
        "samples": "s3://bucket/config/samples.tsv",
        "omics": "s3://bucket/config/omics.tsv",
        "protein": "s3://bucket/data/protein.csv",
    }
    config = Settings.defaults(outcome={"column": "outcome", "positive": "case"})
    *_, summary = load_inputs(str(sheet_path), str(omics_path), {"protein": str(matrix_path)}, config, labels=labels)
    assert list(summary["path"]) == ["s3://bucket/data/protein.csv"]

    dropped = protein.index[0]
    protein.drop(index=dropped).to_csv(matrix_path)
    with pytest.raises(InputError) as err:
        load_inputs(str(sheet_path), str(omics_path), {"protein": str(matrix_path)}, config, labels=labels)
    text = str(err.value)
    assert dropped in text and "s3://bucket/data/protein.csv" in text and ".snakemake" not in text


def test_tables_read_back_ids_and_labels_as_written(tmp_path):
    """IDs such as 0001 and labels such as false or 1 survive a round trip through a results table."""
    from moflow.io import read_table, write_table

    t = pd.DataFrame(
        {
            "split": ["r1f1", "r1f1"],
            "sample": ["0001", "0010"],
            "y_true": ["false", "true"],
            "p_false": [0.9, 0.2],
            "target": ["1", "2"],
            "score": [1.5, 2.0],
        }
    )
    write_table(t, tmp_path / "t.tsv")
    back = read_table(tmp_path / "t.tsv")
    assert list(back["sample"]) == ["0001", "0010"] and list(back["y_true"]) == ["false", "true"]
    assert list(back["target"]) == ["1", "2"] and back["score"].dtype == float
