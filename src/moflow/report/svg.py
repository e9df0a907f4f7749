"""Interactive figures for the report as inline SVG.

Every point carries a ``<title>`` (its tooltip, shown on hover by any browser, no script needed), and samples
carry ``data-s`` so that the page's small script highlights the same sample in every panel of a figure.
Nothing is fetched; nothing here touches files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.report.html import PALETTE, esc

NA_COLOR = "#BBBBBB"


def _ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    from matplotlib.ticker import MaxNLocator

    t = MaxNLocator(n).tick_values(lo, hi)
    return t[(t >= lo - 1e-12) & (t <= hi + 1e-12)]


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "NA" if not np.isfinite(v) else f"{v:.3g}"
    return esc(v)


def _viridis(values: np.ndarray) -> list[str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    lo, hi = np.nanmin(values), np.nanmax(values)
    z = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    cmap = colormaps["viridis"]
    return [NA_COLOR if not np.isfinite(v) else to_hex(cmap(float(v))) for v in z]


def colour_scale(values) -> tuple[list[str], list[tuple[str, str]]]:
    """Colours of ``values`` and the legend (label, colour).

    A palette for groups; a viridis scale for a numeric variable with more than 10 distinct values (legend:
    its minimum and maximum).
    """
    s = pd.Series(values).reset_index(drop=True)
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().any() and num.notna().sum() == (s.astype(str).str.len() > 0).sum() and num.nunique() > 10:
        cols = _viridis(num.to_numpy(float))
        lo, hi = num.min(), num.max()
        return cols, [
            (f"{lo:.3g} (low)", _viridis(np.array([0.0, 1.0]))[0]),
            (f"{hi:.3g} (high)", _viridis(np.array([0.0, 1.0]))[1]),
        ]
    lab = s.fillna("").astype(str)
    levels = sorted(v for v in lab.unique() if v != "")
    pal = {g: PALETTE[i % (len(PALETTE) - 2)] for i, g in enumerate(levels)}
    legend = [(g, pal[g]) for g in levels] + ([("NA", NA_COLOR)] if (lab == "").any() else [])
    return [pal.get(v, NA_COLOR) for v in lab], legend


def scatter_svg(
    x,
    y,
    samples,
    colour,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    colour_name: str,
    extra: dict | None = None,
    width: int = 360,
    height: int = 300,
) -> str:
    """One scatter panel: a circle per sample, coloured by ``colour`` (groups or a numeric scale).

    Each circle has a tooltip naming the sample, its colour value, its coordinates and ``extra``.

    Parameters
    ----------
    x, y : array-like
        The coordinates of each sample; samples with a missing coordinate are not drawn.
    samples : array-like
        The sample names.
    colour : array-like
        What colours each sample (:func:`colour_scale`).
    title, xlabel, ylabel : str
        The panel's title and axis labels.
    colour_name : str
        The legend's title (the name of ``colour``).
    extra : dict, optional
        {label: values (one per sample)} added to the tooltips.
    width, height : int
        The panel's size in pixels, without the legend.

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    cols, legend = colour_scale(colour)
    ml, mr, mt, mb = 44, 10, 26, 36
    lw = min(16 + 6 * max([len(colour_name)] + [min(len(lab), 22) for lab, _ in legend]), 160)
    pw, ph = width - ml - mr, height - mt - mb
    if ok.any():
        xl, xh = float(x[ok].min()), float(x[ok].max())
        yl, yh = float(y[ok].min()), float(y[ok].max())
    else:
        xl = yl = 0.0
        xh = yh = 1.0
    padx, pady = (xh - xl) * 0.05 or 0.5, (yh - yl) * 0.05 or 0.5
    xl, xh, yl, yh = xl - padx, xh + padx, yl - pady, yh + pady

    def sx(v):
        return ml + (v - xl) / (xh - xl) * pw

    def sy(v):
        return mt + ph - (v - yl) / (yh - yl) * ph

    out = [
        f'<svg class="fig" viewBox="0 0 {width + lw} {height}" width="{width + lw}" height="{height}" '
        f'role="img" aria-label="{esc(title)}">',
        f'<text x="{ml}" y="16" font-size="12" font-weight="600">{esc(title)}</text>',
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>',
    ]
    for t in _ticks(xl, xh):
        out.append(f'<text x="{sx(t):.1f}" y="{mt + ph + 13}" font-size="9" text-anchor="middle">{t:g}</text>')
    for t in _ticks(yl, yh):
        out.append(f'<text x="{ml - 4}" y="{sy(t) + 3:.1f}" font-size="9" text-anchor="end">{t:g}</text>')
    out.append(f'<text x="{ml + pw / 2:.0f}" y="{height - 6}" font-size="10" text-anchor="middle">{esc(xlabel)}</text>')
    out.append(
        f'<text transform="translate(11,{mt + ph / 2:.0f}) rotate(-90)" font-size="10" '
        f'text-anchor="middle">{esc(ylabel)}</text>'
    )
    samples = [str(s) for s in samples]
    colour = list(pd.Series(colour).fillna("").astype(str))
    extra = extra or {}
    for i in np.flatnonzero(ok):
        more = "".join(f"\n{esc(k)}: {_fmt(v[i])}" for k, v in extra.items())
        tip = (
            f"{esc(samples[i])}\n{esc(colour_name)}: {esc(colour[i] or 'NA')}\n{esc(xlabel)}: {x[i]:.3g}, "
            f"{esc(ylabel)}: {y[i]:.3g}{more}"
        )
        out.append(
            f'<circle class="pt" data-s="{esc(samples[i])}" cx="{sx(x[i]):.1f}" cy="{sy(y[i]):.1f}" r="3.5" '
            f'fill="{cols[i]}" fill-opacity="0.85"><title>{tip}</title></circle>'
        )
    out.append(f'<text x="{width + 2}" y="{mt + 2}" font-size="10" font-weight="600">{esc(colour_name)}</text>')
    for k, (lab, col) in enumerate(legend[:14]):
        yy = mt + 16 + 14 * k
        out.append(
            f'<circle cx="{width + 7}" cy="{yy - 3}" r="4" fill="{col}"/>'
            f'<text x="{width + 15}" y="{yy}" font-size="9">{esc(lab[:22])}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def pca_svg(coords: pd.DataFrame, layer: str) -> str:
    """PC1/PC2 of a layer at each stage (before and after batch correction), by batch and by outcome.

    One linked figure (hover a sample: it lights up in every panel).
    """
    panels = []
    for stage in dict.fromkeys(coords["stage"]):
        d = coords[coords["stage"] == stage]
        label = str(stage).replace("_", " ")
        for what in ("batch", "outcome"):
            panels.append(
                scatter_svg(
                    d["PC1"],
                    d["PC2"],
                    d["sample"],
                    d[what],
                    title=f"{layer}: {label}, by {what}",
                    xlabel="PC1",
                    ylabel="PC2",
                    colour_name=what,
                    extra={
                        "batch" if what == "outcome" else "outcome": d["outcome" if what == "batch" else "batch"]
                        .fillna("")
                        .to_numpy()
                    },
                )
            )
    return '<div class="figs linked">' + "".join(panels) + "</div>"


def factor_pair(associations: pd.DataFrame, outcome_column: str, factors: list[str]) -> tuple[str, str]:
    """The two factors to plot: the two most associated with the outcome (smallest p), else the first two."""
    a = associations[associations["covariate"] == outcome_column].sort_values(["p", "factor"])
    ranked = [f for f in a["factor"] if f in factors] + [f for f in factors if f not in set(a["factor"])]
    ranked = ranked or factors
    return ranked[0], (ranked[1] if len(ranked) > 1 else ranked[0])


def factor_scatter_svg(factors: pd.DataFrame, colour: pd.Series, *, pair: tuple[str, str], colour_name: str) -> str:
    """MOFA factor values of every sample (two factors), coloured by the outcome.

    The tooltip gives every factor's value.

    Parameters
    ----------
    factors : pandas.DataFrame
        The factor values: a ``sample`` column and one column per factor.
    colour : pandas.Series
        What colours each sample (the outcome), indexed by sample.
    pair : tuple of str
        The two factors plotted (x, y).
    colour_name : str
        The legend's title.

    Returns
    -------
    str
        The figure (HTML).
    """
    f = factors.set_index("sample")
    col = colour.reindex(f.index)
    extra = {c: f[c].to_numpy(float) for c in f.columns if c not in pair}
    return (
        '<div class="figs linked">'
        + scatter_svg(
            f[pair[0]],
            f[pair[1]],
            f.index,
            col.to_numpy(),
            title=f"MOFA: {pair[0]} vs {pair[1]}",
            xlabel=pair[0],
            ylabel=pair[1],
            colour_name=colour_name,
            extra=extra,
            width=460,
            height=360,
        )
        + "</div>"
    )


def scoreboard_svg(
    board: pd.DataFrame, metrics: list[str], *, chance: dict[str, float], tip_columns: list[str] = ()
) -> str:
    """Every strategy's cross-validated score with its 95% interval, one panel per metric.

    Rows in the board's order, integration blue, single layers grey, chance level dotted; the tooltip carries
    the row's numbers (``tip_columns``).

    Parameters
    ----------
    board : pandas.DataFrame
        The scoreboard (strategy, kind, and each metric with its ``_lo`` and ``_hi`` bounds).
    metrics : list of str
        The metrics, one panel each.
    chance : dict
        Metric -> chance level (default 0).
    tip_columns : list of str
        The columns the tooltips show.

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    rows = len(board)
    rh, top, left, pw, gap = 22, 34, 150, 300, 30
    height = top + rows * rh + 30
    width = left + len(metrics) * (pw + gap)
    out = [
        f'<svg class="fig" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        'aria-label="scoreboard">'
    ]
    for j, metric in enumerate(metrics):
        x0 = left + j * (pw + gap)
        lo_all = board[f"{metric}_lo"].to_numpy(float)
        c = chance.get(metric, 0.0)
        lo = min(c, float(np.nanmin(lo_all)) if np.isfinite(lo_all).any() else c)
        lo = max(lo, -1.0)
        lo = np.floor(lo * 10) / 10
        hi = 1.0

        def sx(v, x0=x0, lo=lo, hi=hi):
            return x0 + (min(max(v, lo), hi) - lo) / (hi - lo) * pw

        out.append(
            f'<text x="{x0}" y="14" font-size="11" font-weight="600">{esc(metric.replace("_", " "))} '
            "(95% interval)</text>"
        )
        for t in _ticks(lo, hi, 6):
            out.append(
                f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top - 6}" y2="{top + rows * rh}" stroke="#eee"/>'
                f'<text x="{sx(t):.1f}" y="{top + rows * rh + 14}" font-size="9" text-anchor="middle">{t:g}'
                "</text>"
            )
        out.append(
            f'<line x1="{sx(c):.1f}" x2="{sx(c):.1f}" y1="{top - 6}" y2="{top + rows * rh}" stroke="#888" '
            f'stroke-dasharray="3,3"><title>chance level {c:g}</title></line>'
        )
        for i, r in enumerate(board.itertuples(index=False)):
            r = r._asdict()
            y = top + i * rh + rh / 2
            colr = PALETTE[0] if r.get("kind") == "integration" else "#888888"
            tip = "\n".join(
                [str(r["strategy"]) + f" ({r.get('kind', '')})"]
                + [f"{c_}: {_fmt(r[c_])}" for c_ in tip_columns if c_ in r]
            )
            m, a, b = (float(r[metric]), float(r[f"{metric}_lo"]), float(r[f"{metric}_hi"]))
            out.append(
                f'<g class="row"><title>{esc(tip)}</title>'
                f'<rect class="band" x="{x0}" y="{y - rh / 2:.1f}" width="{pw}" height="{rh}" fill="transparent"/>'
            )
            if np.isfinite(a) and np.isfinite(b):
                out.append(
                    f'<line x1="{sx(a):.1f}" x2="{sx(b):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colr}" '
                    'stroke-width="2"/>'
                )
            if np.isfinite(m):
                out.append(f'<circle cx="{sx(m):.1f}" cy="{y:.1f}" r="5" fill="{colr}"/>')
            out.append("</g>")
            if j == 0:
                bold = ' font-weight="600"' if i == 0 else ""
                out.append(
                    f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end"{bold}>'
                    f"{esc(r['strategy'])}<title>{esc(tip)}</title></text>"
                )
    out.append(
        f'<text x="4" y="{height - 4}" font-size="9" fill="#555">blue: integration; grey: single layer; '
        "dotted: chance; hover a row for its numbers</text></svg>"
    )
    return "".join(out)
