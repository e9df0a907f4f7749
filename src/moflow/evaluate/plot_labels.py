"""How figures label samples by their outcome (the preprocessing diagnostics, the embeddings)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def outcome_labels(y) -> pd.Series:
    """The outcome as figures colour samples: itself, or a survival outcome's event status."""
    if isinstance(y, pd.DataFrame):
        return pd.Series(np.where(y["event"].to_numpy(float) > 0, "event", "censored"), index=y.index, name="event")
    return y
