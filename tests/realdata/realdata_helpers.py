"""Helpers shared by the real-data tests (imported by conftest.py and the test modules): where
../shared/data is, a clean skip where a dataset is not, an omics table and the breast_tcga cohort."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

#: ../shared/data, seen from the repository root (tests/realdata/ -> parents[2] is the root)
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def require_dataset(name: str) -> Path:
    """The folder of one dataset under ../shared/data, or skip the calling test where it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name} not found at {path}")
    return path


def omics_table(rows, *, log_scale: str = "true") -> pd.DataFrame:
    """An omics table of (layer, kind) or (layer, kind, gene_ids) rows: no batch column, no QC."""
    out = []
    for row in rows:
        layer, kind, *genes = row
        out.append(
            {
                "layer": layer,
                "kind": kind,
                "batch_column": "",
                "log_scale": log_scale,
                "has_qc": False,
                **({"gene_ids": genes[0]} if genes else {}),
            }
        )
    return pd.DataFrame(out).set_index("layer", drop=False)


def read_breast_tcga(d: Path) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """breast_tcga: (metadata by sample, {mrna, mirna: train + test, protein: train only}, the sheet the
    preprocessing sees: metadata without the subtype)."""
    meta = pd.read_csv(d / "metadata.csv", dtype=str).set_index("sample")
    raw = {
        n: pd.concat([pd.read_csv(d / f"{n}_train.csv", index_col=0), pd.read_csv(d / f"{n}_test.csv", index_col=0)])
        for n in ("mrna", "mirna")
    }
    raw["protein"] = pd.read_csv(d / "protein_train.csv", index_col=0)
    for X in raw.values():
        X.index = X.index.astype(str)
    info = meta.assign(sample=meta.index, sample_type="sample").drop(columns="subtype")
    return meta, raw, info
