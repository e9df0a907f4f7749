"""Matrix files at scale: wide matrices stored transposed and read back as written; text matrices read
straight to numbers give exactly what the cell-by-cell string route gives, and anything that route
would reject still meets its message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow import io
from moflow.errors import DataError
from moflow.inputs import parse_matrix


def _matrix(n=6, p=40, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.normal(10, 2, (n, p)), index=[f"{i:04d}" for i in range(n)], columns=[f"G{j}" for j in range(p)]
    )
    X.index.name = "sample"
    return X


def test_wide_matrix_stored_transposed_and_read_back(tmp_path):
    X = _matrix()
    io.write_matrix(X, tmp_path / "w.parquet")
    assert pd.read_parquet(tmp_path / "w.parquet").shape == (40, 6)  # features in rows on disk
    back = io.read_matrix(tmp_path / "w.parquet")
    pd.testing.assert_frame_equal(back, X, check_exact=True)
    assert list(back.index) == ["0000", "0001", "0002", "0003", "0004", "0005"]
    # handed back to the workflow as a user's input, it is read the right way round too
    raw = io.read_raw_table(tmp_path / "w.parquet")
    assert raw.shape == (6, 40) and list(raw.index[:2]) == ["0000", "0001"]


def test_tall_or_mixed_matrix_stored_as_is(tmp_path):
    X = _matrix(n=40, p=6)
    io.write_matrix(X, tmp_path / "t.parquet")
    assert pd.read_parquet(tmp_path / "t.parquet").shape == (40, 6)
    mixed = _matrix().assign(G0=lambda d: d["G0"].round().astype(int))
    io.write_matrix(mixed, tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(io.read_matrix(tmp_path / "m.parquet"), mixed)


def _string_route(path, orientation="samples_in_rows"):
    """What the cell-by-cell route makes of a file (the fast path switched off)."""
    data, text = io.decode_file(path)
    sep = "," if str(path).endswith(".csv") else "\t"
    df = pd.read_csv(path, sep=sep, dtype=str, header=None, keep_default_na=False, na_values=[])
    header = df.iloc[0, 1:].astype(str).str.strip().tolist()
    df = df.iloc[1:].set_index(0)
    df.columns = header
    df.index = df.index.astype(str).str.strip()
    df.index.name = None
    return parse_matrix(df, path=str(path), orientation=orientation, kind="continuous", layer="x")


@pytest.mark.parametrize("na", ["NA", "", "nan", "NULL", "-", "#N/A"])
def test_numeric_fast_path_equals_string_route(tmp_path, na):
    X = _matrix(n=30, p=12)
    X.iloc[2, 3] = np.nan
    X.iloc[5, 0] = 1e-12
    path = tmp_path / "m.csv"
    X.to_csv(path, na_rep=na, float_format="%.17g")
    fast = parse_matrix(
        io.read_raw_table(path), path=str(path), orientation="samples_in_rows", kind="continuous", layer="x"
    )
    pd.testing.assert_frame_equal(fast, _string_route(path), check_exact=True)
    assert np.isnan(fast.iloc[2, 3])


def test_cells_the_fast_path_cannot_read_get_the_string_route(tmp_path):
    path = tmp_path / "m.tsv"
    X = _matrix(n=5, p=4)
    X.to_csv(path, sep="\t")
    lines = path.read_text().splitlines()  # header, then samples 0000.. in rows
    lines[3] = "\t".join(lines[3].split("\t")[:1] + [" 1.5 "] + lines[3].split("\t")[2:])  # padded: string route
    path.write_text("\n".join(lines) + "\n")
    got = parse_matrix(
        io.read_raw_table(path), path=str(path), orientation="samples_in_rows", kind="continuous", layer="x"
    )
    assert got.loc["0002", "G0"] == 1.5
    bad = tmp_path / "bad.tsv"
    lines[4] = "\t".join(lines[4].split("\t")[:2] + ["high"] + lines[4].split("\t")[3:])
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="non-numeric value 'high' for sample '0003', feature 'G1'"):
        parse_matrix(io.read_raw_table(bad), path=str(bad), orientation="samples_in_rows", kind="continuous", layer="x")
    dup = tmp_path / "dup.tsv"
    dup.write_text("sample\tA\tA\n0001\t1\t2\n0002\t3\t4\n")
    with pytest.raises(DataError, match="feature ID 'A' appears more than once"):
        parse_matrix(io.read_raw_table(dup), path=str(dup), orientation="samples_in_rows", kind="continuous", layer="x")


@pytest.mark.parametrize("quoted", [False, True])
def test_carriage_return_line_breaks_read_like_line_feeds(tmp_path, quoted):
    """A matrix saved with a carriage return alone between lines (Excel's "CSV (Macintosh)") reads as the
    same file with line feeds (it crashed inside pandas with an IndexError)."""
    text = "sample,g1,g2\nS1,1.5,2\nS2,NA,4\nS3,5,6.25\n"
    if quoted:
        text = text.replace("S2", '"S2"')
    (tmp_path / "lf.csv").write_text(text)
    (tmp_path / "cr.csv").write_bytes(text.replace("\n", "\r").encode())
    lf, cr = io.read_raw_table(tmp_path / "lf.csv"), io.read_raw_table(tmp_path / "cr.csv")
    pd.testing.assert_frame_equal(cr, lf)
    assert lf.shape == (3, 2)
