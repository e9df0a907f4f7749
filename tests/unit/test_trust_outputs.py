"""What the run decided about batch correction, said truly; outputs written whole or not at all.

* A layer whose samples are all in one batch (or that has no batch column) is not batch-corrected:
  the steps table's method is ``none`` and its summary, the job's log and the report say "no batch
  correction: ..." (issue 23, case 7).
* Every writer of :mod:`moflow.io` writes a temporary file in the same folder and renames it into
  place: a write that fails midway leaves neither a truncated final file nor the temporary one, and an
  ``OSError`` (disk full, read-only folder) is one line naming the path, the cause and the fix, printed
  first by a job without a traceback.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_diagnostics import CONFIG, _report, _sheet
from unit_helpers import make_info, make_outcome

from moflow import io
from moflow.io import WriteError
from moflow.preprocess import ComBat, LayerPreprocessor, LinearBatch, layer_settings
from moflow.report.preprocessing_section import preprocessing_html

PROTEIN = pd.Series({"layer": "protein", "kind": "proteomics_intensity", "batch_column": "batch", "log_scale": "true"})


# ---------------------------------------------------------------------------------------------
# 1. batch correction: the steps table, the log and the report say what happened
# ---------------------------------------------------------------------------------------------


def _one_batch_sheet(cohort):
    sheet = _sheet(cohort)
    sheet["batch"] = "run1"  # every sample in one batch
    return sheet


def _batch_row(steps: pd.DataFrame) -> pd.Series:
    return steps.set_index("step").loc["batch"]


def test_one_batch_layer_steps_table_says_no_batch_correction(cohort, caplog):
    with caplog.at_level(logging.INFO, logger="moflow"):
        r = _report(cohort.layers["protein"], PROTEIN, _one_batch_sheet(cohort), CONFIG)
    row = _batch_row(r.steps)
    assert row["method"] == "none"
    assert row["summary"].startswith("no batch correction: one batch ('run1' in column 'batch') among the 90 ")
    assert "ComBat configured, not applied" in row["summary"]
    assert "combat" not in row["method"].lower() and "cramers_v" not in row["summary"]
    # the log says it, as a warning naming the layer
    said = [rec for rec in caplog.records if "no batch correction: one batch" in rec.getMessage()]
    assert said and said[0].levelno == logging.WARNING and said[0].getMessage().startswith("layer protein: ")
    # nothing was corrected: the matrix after the batch step is the one before it
    diag = r.diagnostics.set_index("stage")
    assert diag.loc["after_batch", "pc1_variance"] == diag.loc["after_impute", "pc1_variance"]
    assert not any(c.startswith("batch_outcome_") for c in r.diagnostics.columns)
    # the report says it in words under the steps table
    html = preprocessing_html(
        ["protein"],
        pd.DataFrame({"layer": ["protein"], "missing_fraction": [0.1]}),
        {"protein": r.steps},
        {"protein": r.diagnostics},
        {"protein": r.pca},
        {"protein": b""},
        None,
        None,
        None,
    )
    assert '<p class="note">No batch correction: one batch (&#x27;run1&#x27; in column &#x27;batch&#x27;)' in html


def test_layer_without_batch_column_says_no_batch_correction(cohort, caplog):
    row = PROTEIN.copy()
    row["batch_column"] = ""
    with caplog.at_level(logging.INFO, logger="moflow"):
        r = _report(cohort.layers["protein"], row, _sheet(cohort), CONFIG)
    batch = _batch_row(r.steps)
    assert batch["method"] == "none"
    assert batch["summary"].startswith("no batch correction: no batch column for this layer")
    assert any("layer protein: no batch correction: no batch column" in rec.getMessage() for rec in caplog.records)


def test_multi_batch_layer_still_says_combat(cohort, caplog):
    with caplog.at_level(logging.INFO, logger="moflow"):
        r = _report(cohort.layers["protein"], PROTEIN, _sheet(cohort), CONFIG)
    batch = _batch_row(r.steps)
    assert batch["method"] == "ComBat"
    assert re.fullmatch(r"batch/outcome cramers_v \d\.\d\d", batch["summary"])
    assert not any("no batch correction" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize("method", ["combat", "linear", "none"])
def test_layer_preprocessor_one_batch_changes_nothing_and_says_so(cohort, outcome, method):
    info = make_info(cohort).copy()
    info["batch"] = "run1"
    settings = layer_settings("proteomics_intensity", {"batch": {"method": method}})
    X = cohort.layers["protein"]
    pp = LayerPreprocessor(
        "proteomics_intensity", settings, info=info, batch_column="batch", log_scale=True, layer="protein", seed=0
    )
    _, trace = pp.fit_trace(X, make_outcome(cohort))
    pd.testing.assert_frame_equal(trace["batch"], trace["impute"].astype(float))
    batch = _batch_row(pd.DataFrame(pp.history_))
    assert batch["method"] == "none"
    if method == "none":
        assert batch["summary"] == "no batch correction: batch method 'none' in config"
    else:
        name = "ComBat" if method == "combat" else "linear batch correction"
        assert batch["summary"].startswith("no batch correction: one batch ('run1' in column 'batch')")
        assert f"({name} configured, not applied)" in batch["summary"]
        # new samples of that batch are left as they are too
        _, again = pp.transform_trace(X)
        pd.testing.assert_frame_equal(again["batch"], again["impute"].astype(float))


@pytest.mark.parametrize("cls", [ComBat, LinearBatch])
def test_batch_step_with_one_training_batch_is_the_identity(cls):
    rng = np.random.default_rng(0)
    idx = [f"s{i}" for i in range(30)]
    X = pd.DataFrame(rng.normal(size=(30, 20)), index=idx)
    info = pd.DataFrame({"batch": ["b1"] * 30}, index=idx)
    y = pd.Series(["a", "b"] * 15, index=idx)
    step = cls(info=info).fit(X, y)
    assert step.skipped_.startswith("no batch correction: one batch ('b1'")
    assert step.confounding_ == {}
    pd.testing.assert_frame_equal(step.transform(X), X)
    two = info.copy()
    two.iloc[15:, 0] = "b2"
    assert cls(info=two).fit(X, y).skipped_ == ""  # two batches: corrected as before


# ---------------------------------------------------------------------------------------------
# 2. writes: temporary file + rename; a failed write leaves nothing; one-line OSError
# ---------------------------------------------------------------------------------------------

FRAME = pd.DataFrame({"sample": ["S1", "S2"], "value": [1.5, 2.25]})
WIDE = pd.DataFrame(np.arange(12.0).reshape(2, 6), index=["S1", "S2"], columns=[f"f{i}" for i in range(6)])


class _FakeMuData:
    """Enough of a MuData for write_mudata: write_h5mu writes the bytes it is given."""

    def __init__(self, data: bytes = b"MuData"):
        self.data = data

    def write_h5mu(self, path):
        Path(path).write_bytes(self.data)


# name -> (file name, fn(path) writing it)
WRITERS = {
    "write_table": ("t.tsv", lambda p: io.write_table(FRAME, p)),
    "write_matrix": ("m.parquet", lambda p: io.write_matrix(FRAME.set_index("sample"), p)),
    "write_matrix (wide)": ("w.parquet", lambda p: io.write_matrix(WIDE, p)),
    "write_json": ("j.json", lambda p: io.write_json({"a": np.int64(1), "b": [1.5]}, p)),
    "write_text": ("r.html", lambda p: io.write_text("<p>report</p>\n", p)),
    "write_bytes": ("f.png", lambda p: io.write_bytes(b"\x89PNG\r\n", p)),
    "write_gmt": ("s.gmt", lambda p: io.write_gmt({"SET": ["A", "B"]}, p)),
    "save_pickle": ("o.pkl", lambda p: io.save_pickle({"a": 1}, p)),
    "write_mudata": ("x.h5mu", lambda p: io.write_mudata(_FakeMuData(), p)),
    "write_outputs": ("o.tsv", lambda p: io.write_outputs({"t": FRAME}, {"t": str(p)})),
}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


@pytest.mark.parametrize("name", list(WRITERS))
def test_writer_renames_a_complete_temporary_file_into_place(tmp_path, monkeypatch, name):
    file, write = WRITERS[name]
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((Path(src), Path(dst)))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    final = tmp_path / "out" / file  # the folder is created
    write(final)
    assert final.exists() and _leftovers(final.parent) == []
    (src, dst), *_ = seen
    assert dst == final and src.parent == final.parent
    assert src.name.startswith(".tmp-") and src.name.endswith(file)  # same suffix: same format inferred


def test_written_bytes_are_those_of_a_direct_write(tmp_path):
    io.write_table(FRAME, tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text() == FRAME.to_csv(sep="\t", index=False, float_format="%.6g")
    io.write_json({"b": 1, "a": [1.5]}, tmp_path / "j.json")
    assert (tmp_path / "j.json").read_text() == json.dumps({"a": [1.5], "b": 1}, indent=2, sort_keys=True) + "\n"
    io.write_matrix(WIDE, tmp_path / "w.parquet")
    pd.testing.assert_frame_equal(io.read_matrix(tmp_path / "w.parquet"), WIDE.rename_axis("sample"))


def _half_then_fail(exc: BaseException):
    """A writer that writes half of a file under the name it is given, then raises ``exc``."""

    def write(self, path, *args, **kwargs):
        with open(path, "w") as fh:
            fh.write("sample\tvalue\nS1\t1.")
        raise exc

    return write


@pytest.mark.parametrize(
    "exc, cause",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device (errno 28)"),
        (OSError("Can't write data (file write failed: errno = 28, error message = 'No space')"), "(errno 28)"),
    ],
)
def test_failed_write_leaves_no_truncated_file_and_no_temporary_file(tmp_path, monkeypatch, exc, cause):
    final = tmp_path / "results" / "rna_steps.tsv"
    final.parent.mkdir()
    final.write_text("the previous complete table\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _half_then_fail(exc))
    with pytest.raises(WriteError) as err:
        io.write_table(FRAME, final)
    msg = str(err.value)
    assert msg == f"cannot write {final}: No space left on device (errno 28); free space or choose another folder"
    assert cause in msg and "\n" not in msg
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC and err.value.path == str(final)
    assert final.read_text() == "the previous complete table\n"  # the old file, never a truncated one
    assert _leftovers(final.parent) == []
    # a new file is not there at all
    with pytest.raises(WriteError):
        io.write_table(FRAME, final.parent / "new.tsv")
    assert sorted(p.name for p in final.parent.iterdir()) == ["rna_steps.tsv"]


def test_failed_non_os_error_removes_the_temporary_file_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(pd.DataFrame, "to_csv", _half_then_fail(KeyError("bug")))
    with pytest.raises(KeyError):
        io.write_table(FRAME, tmp_path / "t.tsv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["write_matrix", "write_mudata", "write_json"])
def test_failed_library_write_leaves_nothing(tmp_path, monkeypatch, name):
    """Parquet (pyarrow), MuData (h5py) and JSON writers, cut off midway by a full disk."""
    import pyarrow.parquet as pq

    def half(path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1\x00\x00")
        raise OSError(errno.ENOSPC, "No space left on device")

    if name == "write_matrix":
        monkeypatch.setattr(pd.DataFrame, "to_parquet", lambda self, p, *a, **k: half(p))
        monkeypatch.setattr(pq, "write_table", lambda table, p, *a, **k: half(p))
    elif name == "write_mudata":
        monkeypatch.setattr(_FakeMuData, "write_h5mu", lambda self, p: half(p))
    else:
        monkeypatch.setattr(Path, "write_text", lambda self, text, *a, **k: half(self))
    file, write = WRITERS[name]
    with pytest.raises(WriteError, match=r"^cannot write .*: No space left on device \(errno 28\); free space"):
        write(tmp_path / file)
    assert list(tmp_path.iterdir()) == []


def test_read_only_folder_is_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("")
            probe.unlink()
            writable = True  # root ignores the mode: say what a read-only folder says
        except PermissionError:
            writable = False
        if writable:

            def refuse(self, path, *args, **kwargs):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))

            monkeypatch.setattr(pd.DataFrame, "to_csv", refuse)
        with pytest.raises(WriteError) as err:
            io.write_table(FRAME, folder / "rna_steps.tsv")
        assert str(err.value) == (
            f"cannot write {folder / 'rna_steps.tsv'}: Permission denied (errno 13); make the folder writable or "
            "run from a folder you can write to"
        )
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "results").write_text("a file where the folder should be")
    with pytest.raises(
        WriteError, match=r"^cannot write .*results/preprocess/rna\.parquet: Not a directory \(errno 20\)"
    ):
        io.write_matrix(WIDE, tmp_path / "results" / "preprocess" / "rna.parquet")


def test_write_error_without_errno_keeps_the_first_line():
    err = io.write_error("out/x.h5mu", OSError("Unable to create file\n(details)"))
    assert str(err) == (
        "cannot write out/x.h5mu: Unable to create file; check that the folder exists, is writable and has free space"
    )


JOB = """
import errno, sys
import pandas as pd
from moflow import io
from moflow.runtime import setup

setup(sys.argv[1])

def full(self, path, *args, **kwargs):
    with open(path, "w") as fh:
        fh.write("sample\\tva")
    raise OSError(errno.ENOSPC, "No space left on device")

pd.DataFrame.to_csv = full
io.write_outputs({"steps": pd.DataFrame({"a": [1]})}, {"steps": "results/preprocess/rna_steps.tsv"})
"""


def test_job_with_a_full_disk_says_one_line_first(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    log = tmp_path / "logs" / "job.log"
    res = subprocess.run([sys.executable, str(script), str(log)], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 1
    line = (
        "Error: cannot write results/preprocess/rna_steps.tsv: No space left on device (errno 28); free space or "
        "choose another folder"
    )
    assert res.stderr.splitlines()[0] == line
    assert "Traceback" not in res.stderr
    assert line in log.read_text() and "Traceback" not in log.read_text()
    assert list((tmp_path / "results" / "preprocess").iterdir()) == []


def test_job_whose_log_cannot_be_written_says_one_line(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import sys\nfrom moflow.runtime import setup\nsetup(sys.argv[1])\n")
    (tmp_path / "logs").write_text("a file where the log folder should be")
    res = subprocess.run(
        [sys.executable, str(script), "logs/preprocess/rna.log"], capture_output=True, text=True, cwd=tmp_path
    )
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        "Error: cannot write logs/preprocess/rna.log: Not a directory (errno 20); a file stands where a folder is "
        "needed on the path; rename or remove it"
    ]
