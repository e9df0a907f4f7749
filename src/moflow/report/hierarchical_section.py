"""The report's lines on the hierarchical strategy.

The strategy: gene-set scores and regulator activities per layer in one penalized model. Its scoreboard row
and top-weighted scores per layer (:func:`hierarchical_html`, in the evaluation section) and the summary's
sentence (:func:`hierarchical_sentence`). Nothing here touches files.
"""

from __future__ import annotations

import html

import pandas as pd

from moflow.report.html import table
from moflow.report.verdict import PRIMARY


def _hierarchical_value(h: pd.DataFrame) -> tuple[pd.Series, str]:
    """What ranks the hierarchical strategy's scores.

    The structure coefficient where the model has one linear predictor, else the coefficient (the largest
    absolute one over classes).
    """
    if "structure_r" in h.columns:
        return h["structure_r"].astype(float), "correlation with the model's prediction"
    cols = [c for c in h.columns if c not in ("layer", "source", "feature")]
    v = h[cols].astype(float)
    return (v.iloc[:, 0] if len(cols) == 1 else v.abs().max(axis=1)), (cols[0] if len(cols) == 1 else "max |coef|")


def _left_out(h: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The scored rows, and the layers the strategy left out with the reasons (rows of source ``left out``).

    Returns the coefficients without those rows and a sentence naming each left-out layer and why ("" if none).
    """
    out = h["source"].astype(str) == "left out"
    if not out.any():
        return h, ""
    why = "; ".join(
        f"<b>{html.escape(str(r['layer']))}</b>: {html.escape(str(r['feature']))}" for _, r in h[out].iterrows()
    )
    return h[~out].dropna(axis=1, how="all"), f"Layers left out of the hierarchical strategy: {why}."


def hierarchical_sentence(h: pd.DataFrame) -> str:
    """The summary's line: the top-weighted set or regulator of each layer, with its sign."""
    h, left = _left_out(h)
    if not len(h):
        return f"<p>Hierarchical integration left out (not in the scoreboard): every layer is left out. {left}</p>"
    value, what = _hierarchical_value(h)
    top = (
        h.assign(v=value, a=value.abs()).sort_values(["a", "feature"], ascending=[False, True]).drop_duplicates("layer")
    )
    parts = [
        f"{html.escape(str(r['layer']))}: <b>{html.escape(str(r['feature']))}</b> ({html.escape(str(r['source']))}, "
        f"{r['v']:+.2f})"
        for _, r in top.iterrows()
    ]
    return (
        f"<p>Hierarchical integration, top-weighted program per layer ({html.escape(what)}, standardized "
        f"scores): {'; '.join(parts)}.{' ' + left if left else ''}</p>"
    )


def hierarchical_html(h: pd.DataFrame, board: pd.DataFrame) -> str:
    """The hierarchical strategy's scoreboard row and its top-weighted scores, per layer."""
    h, left = _left_out(h)
    if not len(h):
        return (
            "<h3>Hierarchical integration: left out</h3><p>The strategy is not in the scoreboard: every layer is "
            f"left out. {left}</p>"
        )
    value, _ = _hierarchical_value(h)
    top = (
        h.assign(a=value.abs()).sort_values("a", ascending=False).groupby("layer", sort=True).head(10).drop(columns="a")
    )
    row = board[board["strategy"] == "hierarchical"]
    metric = next((m for m in PRIMARY if m in board.columns), None)
    score = (
        f" Its cross-validated {metric.replace('_', ' ')}: {row.iloc[0][metric]:.3f} "
        f"({row.iloc[0][metric + '_lo']:.3f}-{row.iloc[0][metric + '_hi']:.3f})."
        if len(row) and metric
        else ""
    )
    return (
        "<h3>Hierarchical integration: the programs the model weighs</h3><p>Gene-set scores and regulator "
        "activities per layer (learnt on the training samples, standardized), one penalized model; the same "
        f"pathway in two layers is two features.{score} Top 10 per layer by the absolute correlation of the score "
        "with the model's prediction on the training samples (structure_r; the coefficients themselves share "
        "weight among correlated scores):</p>" + table(top, max_rows=200) + (f"<p>{left}</p>" if left else "")
    )
