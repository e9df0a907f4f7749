"""The short page of a predict run (``results/predict/predictions.html``): what was scored, with what, and how."""

from __future__ import annotations

import html

import pandas as pd

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
    "th{background:#f3f3f3}.note{color:#8a4b00}"
)


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_html(index=False, escape=True, float_format=lambda v: f"{v:.{digits}g}", na_rep="")


def predictions_page(
    bundle, predictions: pd.DataFrame, layers: pd.DataFrame, *, manifest: dict, bundle_path: str
) -> str:
    """The page: the model (strategy, why, training samples, checksum), the layers' alignment, the predictions.

    Parameters
    ----------
    bundle : ModelBundle
        The bundle used.
    predictions : pandas.DataFrame
        :func:`moflow.model.score_new`'s predictions.
    layers : pandas.DataFrame
        Its per-layer alignment table.
    manifest : dict
        The bundle's manifest.
    bundle_path : str
        Where the bundle was read from.

    Returns
    -------
    str
        Self-contained HTML.
    """
    e = html.escape
    score_cols = [c for c in predictions.columns if c.startswith(("p_", "risk", "prediction", "predicted"))]
    scored = predictions[score_cols[0]].notna() if score_cols else pd.Series(False, index=predictions.index)
    noted = predictions["notes"].astype(str).str.len() > 0
    version = e(str(manifest["versions"].get("moflow")))
    lines = [
        f"<p>{int(scored.sum())} of {len(predictions)} new samples scored by <b>{e(bundle.strategy)}</b> "
        f"({e(bundle.chosen_by)}), refit on {len(bundle.train)} training samples; bundle "
        f"<code>{e(bundle_path)}</code>, sha256 <code>{e(manifest['sha256'][:16])}</code>..., moflow {version}.</p>",
    ]
    conformal = getattr(bundle, "conformal", None)
    if conformal is not None:
        what = (
            "prediction set (columns prediction_set, set_size)"
            if conformal.task == "classification"
            else ("prediction interval (columns interval_lower, interval_upper)")
        )
        measured, kind = "", "sets" if conformal.task == "classification" else "intervals"
        cov = getattr(bundle, "coverage", None)
        if cov is not None and len(cov) and "group" in cov.columns:
            for _, r in cov[cov["group"].astype(str) == "all"].iterrows():
                where = "held-out samples of the outer CV" if r["scope"] == "cv" else "external test samples"
                if not int(r["n"]):
                    measured += (
                        f" Their coverage on the {where} of the training run was not measured: {r.get('note', '')}."
                    )
                    continue
                measured += (
                    f" In the training run, such {kind} held the truth for {float(r['coverage']):.1%} of {int(r['n'])} "
                    f"{where} (95% interval {float(r['coverage_low']):.1%} to {float(r['coverage_high']):.1%})."
                )
        lines.append(
            f"<p>Each sample's {e(what)} is meant to hold its true outcome {conformal.coverage:.0%} of the time."
            f"{e(measured)} {e(conformal.note)}</p>"
        )
    if noted.any():
        lines.append(f"<p class='note'>{int(noted.sum())} sample(s) carry a note (column <code>notes</code>).</p>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>moflow: new samples scored</title>"
        f"<style>{STYLE}</style></head><body><h1>New samples scored</h1>{''.join(lines)}"
        f"<h2>Layers</h2>{_table(layers)}<h2>Predictions</h2>{_table(predictions)}</body></html>"
    )
