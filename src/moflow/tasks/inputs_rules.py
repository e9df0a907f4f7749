"""Rule validate_inputs: every matrix parsed, checked against the sheets and aligned."""

from __future__ import annotations

import pandas as pd

from moflow.inputs import check_inputs
from moflow.settings import Settings, reads


@reads(uses=[check_inputs])
def validate_inputs(
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    raw_matrices: dict[str, pd.DataFrame],
    settings: Settings,
    *,
    labels: dict[str, str] | None = None,
    gmt_lines: dict[str, list[str]] | None = None,
    gmt_layers: dict[str, list[str]] | None = None,
):
    """Check both sheets and every matrix and align each matrix to the sample sheet.

    :func:`moflow.inputs.input_check.check_inputs` does it, and describes the arguments.

    Returns (sheet, omics, {layer: matrix}, summary). Raises InputError before anything is written.
    """
    return check_inputs(
        raw_samples, raw_omics, raw_matrices, settings, labels=labels, gmt_lines=gmt_lines, gmt_layers=gmt_layers
    )
