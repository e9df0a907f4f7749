"""The report's survival figures and sentences.

Kaplan-Meier curves of the out-of-fold risk groups, the hazard ratios of the MOFA factors. Nothing here
touches files.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from moflow.report.figures import png_bytes, subplots
from moflow.report.html import PALETTE, img, table

GROUPS = ("low", "high")


def risk_groups(pred: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """The strategy's out-of-fold predictions of every CV sample (one row per sample and repeat).

    With the risk group each fold's model gave it (above or below the median risk of its training side).

    Parameters
    ----------
    pred : pandas.DataFrame
        The evaluation's predictions (columns strategy, split, sample, time, event, risk, risk_group).
    strategy : str
        The strategy whose predictions are taken.

    Returns
    -------
    pandas.DataFrame
        Columns split, sample, time, event, risk and risk_group; rows without a risk, and the final
        model's, are left out.
    """
    d = pred[(pred["strategy"] == strategy) & (pred["split"] != "final")]
    return d.dropna(subset=["risk"])[["split", "sample", "time", "event", "risk", "risk_group"]]


def km_table(d: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier estimate of each risk group.

    Columns: group plus those of :func:`moflow.evaluate.survival_scores.kaplan_meier`.
    """
    from moflow.evaluate import kaplan_meier

    parts = [
        kaplan_meier(g["time"].to_numpy(float), g["event"].to_numpy(float) > 0).assign(group=name)
        for name, g in d.groupby("risk_group", sort=True)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def plot_km(d: pd.DataFrame, *, strategy: str, time_unit: str, repeats: int):
    """Kaplan-Meier curves of the out-of-fold risk groups with 95% bands and the log-rank p.

    The number at risk is shown under the axis. With several CV repeats every sample appears once per repeat:
    the curves pool them (the log-rank p of the pooled rows is then optimistic, so the first repeat's is
    shown).

    Parameters
    ----------
    d : pandas.DataFrame
        The out-of-fold risk groups (:func:`risk_groups`).
    strategy : str
        The strategy's name, for the title.
    time_unit : str
        The unit of the times, for the axis label.
    repeats : int
        The number of CV repeats (unused).

    Returns
    -------
    tuple
        (figure, the log-rank test of the first repeat: a dict with ``p``).
    """
    from moflow.evaluate import logrank, number_at_risk

    first = d[d["split"].str.startswith("r1")] if d["split"].str.startswith("r1").any() else d
    lr = logrank(first["time"].to_numpy(float), first["event"].to_numpy(float) > 0, first["risk_group"].to_numpy())
    km = km_table(d)
    fig, (ax, tab) = subplots(2, 1, figsize=(7, 5.4), gridspec_kw={"height_ratios": [4, 1]})
    for g in GROUPS:
        k = km[km["group"] == g]
        if k.empty:
            continue
        last = k.iloc[[-1]].assign(time=float(d.loc[d["risk_group"] == g, "time"].max()))
        k = pd.concat([k, last], ignore_index=True)  # the curve runs to the group's last follow-up
        color = PALETTE[1] if g == "high" else PALETTE[0]
        n = int((first["risk_group"] == g).sum())
        ax.step(k["time"], k["survival"], where="post", color=color, label=f"{g} risk (n = {n})")
        ax.fill_between(
            k["time"],
            k["lo"].fillna(k["survival"]),
            k["hi"].fillna(k["survival"]),
            step="post",
            color=color,
            alpha=0.15,
            lw=0,
        )
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("event-free probability")
    ax.set_title(
        f"{strategy}: out-of-fold risk groups (split at each training side's median risk)\n"
        f"log-rank p = {lr['p']:.2g} (first CV repeat)",
        fontsize=9,
        loc="left",
    )
    ax.legend(frameon=False, fontsize=8)
    t_max = float(d["time"].max())
    at = np.unique(np.round(np.linspace(0, t_max, 6), 1))
    nar = number_at_risk(first["time"].to_numpy(float), first["risk_group"].to_numpy(), at)
    tab.axis("off")
    tab.set_xlim(0, t_max)
    for r, g in enumerate(nar.index):
        tab.text(-0.02 * t_max, 0.7 - 0.45 * r, g, ha="right", va="center", fontsize=8)
        for t, n in zip(at, nar.loc[g]):
            tab.text(t, 0.7 - 0.45 * r, str(int(n)), ha="center", va="center", fontsize=8)
    tab.set_ylim(-0.3, 1.0)
    tab.set_title("number at risk (first CV repeat)", fontsize=8, loc="left")
    ax.set_xlim(0, t_max)
    ax.set_xticks(at)
    ax.set_xlabel(f"time ({time_unit})")
    fig.tight_layout()
    return fig, lr


def plot_factor_hazards(associations: pd.DataFrame):
    """Forest plot: hazard ratio per SD of every MOFA factor (univariate Cox, 95% interval).

    The BH-adjusted p is beside it.
    """
    a = associations[associations["test"] == "cox"].copy()
    a = a.iloc[::-1]
    fig, ax = subplots(figsize=(6, 0.35 * len(a) + 1.2))
    y = np.arange(len(a))
    sig = a["p_adj"].to_numpy(float) < 0.05
    colors = [PALETTE[1] if s else PALETTE[6] for s in sig]
    hr = a["effect"].to_numpy(float)
    err = np.vstack([hr - a["hr_lo"].to_numpy(float), a["hr_hi"].to_numpy(float) - hr])
    ax.errorbar(hr, y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
    ax.scatter(hr, y, color=colors, zorder=3)
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    lo, hi = np.nanmin(a["hr_lo"].to_numpy(float)), np.nanmax(a["hr_hi"].to_numpy(float))
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10) if min(lo, 1) * 0.8 <= t <= max(hi, 1) * 1.25] or [1]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(y, [f"{f}  (BH p {p:.2g})" for f, p in zip(a["factor"], a["p_adj"])], fontsize=8)
    ax.set_xlabel("hazard ratio per SD of the factor (95% interval)")
    ax.set_title("MOFA factors and survival: univariate Cox (red: BH p < 0.05)", fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def survival_html(
    pred: pd.DataFrame, board: pd.DataFrame, associations: pd.DataFrame, *, time_unit: str
) -> tuple[str, list[str]]:
    """The survival part of the evaluation section (HTML) and the summary's sentences.

    Parameters
    ----------
    pred : pandas.DataFrame
        The evaluation's predictions (:func:`risk_groups`).
    board : pandas.DataFrame
        The scoreboard, best first: the best strategy's risk groups are shown.
    associations : pandas.DataFrame
        The MOFA factor associations (the Cox rows, ``test == "cox"``, give the hazards).
    time_unit : str
        The unit of the times.

    Returns
    -------
    tuple
        (HTML, list of the summary's sentences as HTML paragraphs).
    """
    best = str(board.iloc[0]["strategy"])
    d = risk_groups(pred, best)
    repeats = d["split"].str.extract(r"^r(\d+)")[0].nunique()
    parts, sentences = [], []
    if len(d) and d["risk_group"].nunique() == 2:
        fig, lr = plot_km(d, strategy=best, time_unit=time_unit, repeats=repeats)
        parts.append(img(png_bytes(fig), f"Kaplan-Meier curves of {best}'s out-of-fold risk groups"))
        km = km_table(d[d["split"].str.startswith("r1")] if d["split"].str.startswith("r1").any() else d)
        med = {g: _median(km[km["group"] == g]) for g in GROUPS}
        sentences.append(
            f"<p>Out-of-fold risk groups of {html.escape(best)}: high risk median time to event "
            f"{_median_text(med['high'], time_unit)}, low risk {_median_text(med['low'], time_unit)}; "
            f"log-rank p = {lr['p']:.2g} "
            "(first CV repeat; each sample's group from a model that never saw it).</p>"
        )
    cox = associations[associations["test"] == "cox"] if "test" in associations.columns else associations.iloc[:0]
    if len(cox):
        parts.append("<h3>MOFA factors and survival</h3>")
        parts.append(img(png_bytes(plot_factor_hazards(associations)), "hazard ratios of the MOFA factors"))
        cols = ["factor", "effect", "hr_lo", "hr_hi", "statistic", "p", "p_adj"]
        parts.append(
            table(cox.sort_values(["p", "factor"])[cols].rename(columns={"effect": "hr_per_sd", "statistic": "z"}))
        )
    return "".join(parts), sentences


def _median(k: pd.DataFrame) -> float:
    below = k[k["survival"] <= 0.5]
    return float(below["time"].iloc[0]) if len(below) else float("nan")


def _median_text(v: float, unit: str) -> str:
    return f"{v:.2f} {html.escape(unit)}" if np.isfinite(v) else "not reached"
