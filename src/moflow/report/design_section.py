"""The design stage's figures and the report's "How many samples?" section.

Power curves per layer, learning curves with their extrapolation band, the joint design and a one-sentence
verdict.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd


def _fig(width: float, height: float):
    from moflow.report.figures import subplots

    return subplots(figsize=(width, height))


def plot_power_curves(power: pd.DataFrame, *, target_power: float, min_power: float):
    """Average power at the target FDR against samples per group, one line per layer (log x axis)."""
    fig, ax = _fig(6.4, 4.0)
    for layer, d in power.groupby("layer", sort=False):
        d = d.sort_values("n_per_group")
        ax.plot(d["n_per_group"], d["power"], marker="o", ms=3, label=f"{layer} ({d['kind'].iloc[0]})")
    ax.axhline(target_power, color="0.3", ls="--", lw=1, label=f"target {target_power:g}")
    ax.axhline(min_power, color="0.6", ls=":", lw=1, label=f"minimum {min_power:g}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("samples per group")
    ax.set_ylabel(f"average power at FDR {power['fdr'].iloc[0]:g}" if "fdr" in power.columns else "average power")
    groups = power["groups"].iloc[0] if "groups" in power.columns and len(power) else ""
    ax.set_title(f"Power per layer ({groups})", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_learning_curves(points: pd.DataFrame, curve: pd.DataFrame, size: pd.DataFrame):
    """Learning curves per strategy, with their bootstrap band and the target.

    Per strategy: the held-out scores at each training size (points, one per split), the fitted inverse
    power law (solid where observed, dashed where extrapolated), its bootstrap band, and the target.

    Parameters
    ----------
    points : pandas.DataFrame
        The learning-curve points (strategy, n_train, score).
    curve : pandas.DataFrame
        Each strategy's predicted curve (strategy, n, score, low, high, extrapolated).
    size : pandas.DataFrame
        The sample-size table: its strategies (other than ``riley_minimum``), metric and target.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = _fig(6.4, 4.0)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    rows = size[size["strategy"] != "riley_minimum"]
    for i, strat in enumerate(rows["strategy"]):
        col = colors[i % len(colors)]
        p = points[points["strategy"] == strat]
        ax.scatter(p["n_train"], p["score"], s=12, color=col, alpha=0.6)
        c = curve[curve["strategy"] == strat].sort_values("n")
        if len(c):
            obs = c[~c["extrapolated"].astype(bool)]
            ext = c[c["extrapolated"].astype(bool)]
            ax.fill_between(c["n"], c["low"], c["high"], color=col, alpha=0.15, lw=0)
            ax.plot(obs["n"], obs["score"], color=col, label=strat)
            ax.plot(ext["n"], ext["score"], color=col, ls="--")
    metric = str(rows["metric"].iloc[0]) if len(rows) else "score"
    target = float(rows["target"].iloc[0]) if len(rows) else np.nan
    if np.isfinite(target):
        ax.axhline(target, color="0.3", ls=":", lw=1, label=f"target {target:g}")
    ax.set_xscale("log")
    ax.set_xlabel("training samples")
    ax.set_ylabel(f"held-out {metric}")
    ax.set_title("Learning curves (points: CV splits; band: 95% bootstrap)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def _n(v) -> str:
    return "not reached" if not np.isfinite(float(v)) else f"{int(round(float(v))):,}"


def power_sentence(power: pd.DataFrame, joint: pd.DataFrame, *, target_power: float, min_power: float) -> str:
    """What the joint design with one size for every layer needs, or why none reaches the targets."""
    eq = joint[joint["design"] == "equal_n"]
    groups = power["groups"].iloc[0] if len(power) else "the two groups"
    fdr = float(power["fdr"].iloc[0]) if len(power) else np.nan
    if len(eq) and bool(eq["feasible"].iloc[0]):
        n = int(eq["n_per_group"].iloc[0])
        return (
            f"{n} samples per group ({groups}) give every layer at least {min_power:g} power and the layers "
            f"{float(eq['mean_power'].iloc[0]):.2f} on average at FDR {fdr:g}"
        )
    msg = str(eq["message"].iloc[0]) if len(eq) else "no layer"
    return f"no size up to the largest considered reaches the power targets at FDR {fdr:g} ({msg})"


METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "balanced_accuracy": "balanced accuracy",
    "balanced_error_rate": "balanced error rate",
    "harrell_c": "Harrell's C",
    "uno_c": "Uno's C",
    "td_auc": "time-dependent AUC",
    "r2": "R2",
    "pearson_r": "Pearson r",
    "rmse": "RMSE",
}


def learning_sentence(size: pd.DataFrame) -> str:
    """The first strategy's size for its target, its interval, and Riley's floor.

    The first strategy is the best integration, unless configured.
    """
    n_cohort = int(size["n_cohort"].iloc[0]) if "n_cohort" in size.columns and len(size) else 0
    rows = size[size["strategy"] != "riley_minimum"]
    riley = size[size["strategy"] == "riley_minimum"]
    floor = (
        f"; Riley's minimum for developing a prediction model is {_n(riley['n_training'].iloc[0])} samples "
        f"(this cohort: {n_cohort})"
        if len(riley)
        else ""
    )
    if not len(rows):
        return f"no learning curve could be drawn{floor}"
    r = rows.iloc[0]
    metric = METRIC_LABELS.get(str(r["metric"]), str(r["metric"]))
    target = f"{metric} {float(r['target']):g}"
    status = str(r["status"])
    if status.startswith("reached in this cohort"):
        return (
            f"{r['strategy']} already reaches {target} with {_n(r['n_training'])} training samples "
            f"(this cohort: {n_cohort}){floor}"
        )
    if not np.isfinite(float(r["n_training"])):
        if np.isfinite(float(r["asymptote"])):
            return (
                f"{r['strategy']} levels off at {metric} {float(r['asymptote']):.3f}, short of {target}: more "
                f"samples alone will not get there{floor}"
            )
        return f"{r['strategy']} to reach {target}: {status}{floor}"
    lo, hi = _n(r["n_low"]), _n(r["n_high"])
    return (
        f"{r['strategy']} needs about {_n(r['n_training'])} training samples to reach {target} (95% interval "
        f"{lo} to {hi}; this cohort: {n_cohort}){floor}"
    )


def design_html(
    power: pd.DataFrame,
    joint: pd.DataFrame,
    points: pd.DataFrame,
    curve: pd.DataFrame,
    size: pd.DataFrame,
    *,
    power_png: bytes,
    learning_png: bytes,
    target_power: float,
    min_power: float,
    table,
) -> dict:
    """The report's "How many samples?" section and its one-sentence verdict.

    Parameters
    ----------
    power, joint : pandas.DataFrame
        The power per layer and the joint designs (:func:`moflow.design.pilot_power.power_design`).
    points, curve, size : pandas.DataFrame
        The learning-curve points, curves and sample-size table
        (:func:`moflow.design.pilot_learning.sample_size_design`).
    power_png, learning_png : bytes
        The power and learning-curve figures (PNG).
    target_power, min_power : float
        The design's target mean power and minimum power per layer.
    table : callable
        The report's table renderer (DataFrame -> HTML).

    Returns
    -------
    dict
        {"html": body, "sentence": the verdict}.
    """
    import base64

    def img(png, alt):
        return (
            f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}" style="max-width:100%">'
        )

    sentence = (
        "With this cohort as a pilot: "
        + power_sentence(power, joint, target_power=target_power, min_power=min_power)
        + "; "
        + learning_sentence(size)
        + "."
    )
    alone = joint[joint["design"] == "per_layer"][["layer", "n_per_group"]].rename(
        columns={"n_per_group": f"n_per_group_for_power_{target_power:g}"}
    )
    first = power.drop_duplicates("layer")[["layer", "kind", "m", "m_nonnull", "pi0"]]
    per_layer = first.merge(alone, on="layer", how="left")
    joint = joint[joint["design"] != "per_layer"]
    body = [
        f'<p class="verdict">{html.escape(sentence)}</p>',
        "<h3>Power per layer</h3>",
        "<p>The MultiPower model: per-feature effects between the groups from this cohort (counts: negative "
        "binomial with each feature's mean and dispersion; continuous layers: t test on the analysed scale; "
        "binary layers: two proportions), the significance level that keeps the FDR (Pounds and Cheng) and "
        "the average power of the non-null features at each size.</p>",
        img(power_png, "power curves per layer"),
        table(per_layer),
        "<h3>Joint design</h3>",
        table(joint),
        "<h3>The predictor's sample size</h3>",
        "<p>Training sides of the first CV repeat's splits subsampled (stratified), every chain refit, the "
        "held-out samples scored; an inverse power law fitted per strategy with a bootstrap over splits "
        "(widened for the splits' shared samples). Dashed: extrapolated beyond this cohort.</p>",
        img(learning_png, "learning curves"),
        table(size),
    ]
    return {"html": "".join(body), "sentence": sentence}
