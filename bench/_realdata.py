"""Loaders of the real datasets in ../shared/data for the benchmarks (never copied into the repository).

Each returns what the benchmark needs as frames indexed by sample; ``data_dir()`` finds the folder as
the real-data tests do (``../shared/data`` next to the repository root), or takes ``--data``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def data_dir(given: str | None = None) -> Path | None:
    """The shared data folder, or None where it is absent."""
    for cand in ([Path(given)] if given else []) + [ROOT.parent / "shared" / "data", Path("/work/shared/data")]:
        if cand.is_dir():
            return cand
    return None


def ubilength(d: Path) -> tuple[pd.DataFrame, pd.Series]:
    """DEP UbiLength: log2 LFQ (0 -> NaN), 12 samples x 3006 protein groups, reverse hits and
    contaminants removed; the condition of each sample."""
    base = d / "dep_ubilength"
    X = pd.read_csv(base / "protein_log2_LFQ_with_missing.csv", index_col=0)
    ann = pd.read_csv(base / "protein_feature_annotation.csv", index_col=0)
    y = pd.read_csv(base / "metadata.csv", index_col=0)["condition"].reindex(X.index)
    flagged = (ann["Reverse"] == "+") | (ann["Potential.contaminant"] == "+")
    return X.loc[:, ~flagged.reindex(X.columns).fillna(False).to_numpy()], y


def mtbls79(d: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """MTBLS79 DIMS: raw intensities of 172 injections (38 pooled QCs) x 2488 peaks, the sample sheet
    (sample_type, batch, injection_order) and the species of the study samples."""
    base = d / "mtbls79_dims_metabolomics"
    X = pd.read_csv(base / "peak_intensities_with_missing.csv", index_col=0)
    meta = pd.read_csv(base / "metadata.csv", index_col=0)
    info = pd.DataFrame(
        {
            "sample": meta.index,
            "sample_type": np.where(meta["Class"] == "QC", "qc", "sample"),
            "batch": meta["Batch"].astype(str),
            "injection_order": meta["injection_order"],
        },
        index=meta.index,
    )
    species = meta.loc[meta["Class"] != "QC", "species"]
    return X.loc[meta.index], info, species
