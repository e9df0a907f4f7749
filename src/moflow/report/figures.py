"""The report's matplotlib figures, returned as PNG bytes (:func:`png_bytes`).

PCA of a layer before and after batch correction and after every preprocessing step, its missingness map,
MOFA variance explained, the scoreboard. Figures are matplotlib ``Figure`` objects drawn by the Agg canvas
(:func:`subplots`), without pyplot (its import cost each job that draws 0.2 s and it holds figures in a
global registry); nothing here touches files.
"""

from __future__ import annotations

import io as _io

import numpy as np
import pandas as pd

from moflow.report.html import PALETTE


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, **kwargs):
    """``matplotlib.pyplot.subplots`` without pyplot: a ``Figure`` on the Agg canvas and its axes.

    Parameters
    ----------
    nrows, ncols : int
        The grid of axes.
    figsize : tuple of float, optional
        Inches (matplotlib's default where None).
    **kwargs
        ``layout``, ``dpi``, ``facecolor`` go to the ``Figure``, the rest to ``Figure.subplots`` (sharex,
        sharey, squeeze, gridspec_kw...).

    Returns
    -------
    tuple
        (figure, axes) as ``pyplot.subplots`` returns them.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure_kw = {k: kwargs.pop(k) for k in ("layout", "dpi", "facecolor") if k in kwargs}
    fig = Figure(figsize=figsize, **figure_kw)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (110 dpi, no software stamp, so reruns give identical files)."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _scatter_groups(ax, x, y, groups, title):
    num = pd.to_numeric(pd.Series(groups), errors="coerce")
    if num.notna().all() and num.nunique() > 10:  # a continuous variable: a colour scale, not a legend
        sc = ax.scatter(x, y, s=12, alpha=0.85, c=num.to_numpy(float), cmap="viridis")
        ax.figure.colorbar(sc, ax=ax, fraction=0.046, pad=0.02)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    levels = sorted(pd.unique(pd.Series(groups).astype(str)))
    for i, g in enumerate(levels):
        sel = np.asarray(groups).astype(str) == g
        ax.scatter(x[sel], y[sel], s=12, alpha=0.8, color=PALETTE[i % len(PALETTE)], label=g)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False, markerscale=1.2)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_pca(coords: pd.DataFrame, layer: str):
    """PC1/PC2 before and after batch correction, coloured by batch and by outcome.

    Parameters
    ----------
    coords : pandas.DataFrame
        The PC coordinates: columns stage, PC1, PC2, batch and outcome, one row per sample and stage.
    layer : str
        The layer's name, for the titles.

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one column per stage, by batch above and by outcome below.
    """
    stages = list(dict.fromkeys(coords["stage"]))
    fig, axes = subplots(2, len(stages), figsize=(4.2 * len(stages), 7.5), squeeze=False)
    for j, stage in enumerate(stages):
        d = coords[coords["stage"] == stage]
        label = stage.replace("_", " ")
        _scatter_groups(
            axes[0, j],
            d["PC1"].to_numpy(),
            d["PC2"].to_numpy(),
            d["batch"].fillna("").to_numpy(),
            f"{layer}: {label}, by batch",
        )
        _scatter_groups(
            axes[1, j],
            d["PC1"].to_numpy(),
            d["PC2"].to_numpy(),
            d["outcome"].to_numpy(),
            f"{layer}: {label}, by outcome",
        )
    fig.tight_layout()
    return fig


def plot_pca_steps(coords: pd.DataFrame, layer: str, per_row: int = 4):
    """PC1/PC2 after every preprocessing step (stages in order), coloured by batch and by outcome.

    Parameters
    ----------
    coords : pandas.DataFrame
        The PC coordinates: columns stage, PC1, PC2, batch and outcome, one row per sample and stage.
    layer : str
        The layer's name, for the titles.
    per_row : int
        The most stages side by side.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (a placeholder where there is no stage).
    """
    stages = list(dict.fromkeys(coords["stage"])) if len(coords) else []
    if not stages:
        fig, ax = subplots(figsize=(4, 1.5))
        ax.text(0.5, 0.5, f"{layer}: no step to show", ha="center", va="center")
        ax.axis("off")
        return fig
    ncol = min(per_row, len(stages))
    nblock = -(-len(stages) // ncol)
    fig, axes = subplots(2 * nblock, ncol, figsize=(3.6 * ncol, 3.3 * 2 * nblock), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, stage in enumerate(stages):
        r, c = 2 * (k // ncol), k % ncol
        d = coords[coords["stage"] == stage]
        label = stage.replace("_", " ")
        for rr, col, what in ((r, "batch", "batch"), (r + 1, "outcome", "outcome")):
            axes[rr, c].axis("on")
            _scatter_groups(
                axes[rr, c],
                d["PC1"].to_numpy(),
                d["PC2"].to_numpy(),
                d[col].fillna("").astype(str).to_numpy(),
                f"{layer}: {label}, by {what}",
            )
    fig.tight_layout()
    return fig


def plot_missingness(X: pd.DataFrame, samples: pd.DataFrame | None, layer: str, max_features: int = 2000):
    """Missingness map: samples x features, with each sample's missing fraction beside it.

    Samples are grouped by sample type, batch and outcome; features are sorted by missing fraction (at most
    ``max_features`` evenly spaced ones).

    Parameters
    ----------
    X : pandas.DataFrame
        The layer (samples x features), with its missing values.
    samples : pandas.DataFrame or None
        The sample sheet (column ``sample``, and ``sample_type``, ``batch``, ``outcome`` where present) that
        orders the rows.
    layer : str
        The layer's name, for the title.
    max_features : int
        The most features drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    miss = X.isna()
    order = list(X.index)
    if samples is not None and len(samples):
        s = samples.set_index("sample").reindex(X.index)
        keys = [c for c in ("sample_type", "batch", "outcome") if c in s.columns]
        if keys:
            order = list(s.sort_values(keys, kind="mergesort").index)
    cols = miss.mean(axis=0).sort_values(ascending=False, kind="mergesort").index
    if len(cols) > max_features:
        cols = cols[np.linspace(0, len(cols) - 1, max_features).astype(int)]
    M = miss.loc[order, cols].to_numpy(float)
    fig, (ax, ax2) = subplots(
        1, 2, figsize=(9, 0.02 * len(order) + 3), sharey=True, gridspec_kw={"width_ratios": [5, 1]}
    )
    ax.imshow(M, aspect="auto", cmap="Greys", interpolation="nearest", vmin=0, vmax=1)
    ax.set_xlabel(f"features ({miss.shape[1]}; sorted by missing fraction)")
    ax.set_ylabel("samples")
    ax.set_yticks([])
    ax.set_title(f"{layer}: missing values (dark), {100 * miss.to_numpy().mean():.1f}% of cells", fontsize=9)
    frac = miss.loc[order].mean(axis=1).to_numpy()
    ax2.barh(np.arange(len(order)), frac, color=PALETTE[0], height=1.0)
    ax2.set_xlabel("missing fraction")
    ax2.set_xlim(0, max(0.05, float(frac.max()) * 1.1) if len(frac) else 1)
    fig.tight_layout()
    return fig


def plot_variance(r2: pd.DataFrame):
    """MOFA variance explained (%) per factor (rows, in numeric order) and layer (columns), as a heatmap."""
    M = r2.pivot(index="factor", columns="view", values="r2")
    M = M.loc[sorted(M.index, key=lambda f: int(f.replace("Factor", "")))]
    fig, ax = subplots(figsize=(1.4 + 1.1 * M.shape[1], 0.45 * M.shape[0] + 1.2))
    im = ax.imshow(M.to_numpy() * 100, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(M.shape[1]), M.columns, rotation=30, ha="right")
    ax.set_yticks(range(M.shape[0]), M.index)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(j, i, f"{100 * M.iat[i, j]:.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="variance explained (%)")
    ax.set_title("MOFA: variance explained per layer and factor", fontsize=9)
    fig.tight_layout()
    return fig


def plot_scoreboard(board: pd.DataFrame):
    """The scoreboard's two main metrics with their 95% intervals.

    Integration blue, single layers grey, chance level dotted.
    """
    classes = "roc_auc" in board.columns or "harrell_c" in board.columns  # scores with chance at 0.5
    metrics = (
        ("roc_auc", "balanced_accuracy")
        if "roc_auc" in board.columns
        else ("harrell_c", "uno_c")
        if "harrell_c" in board.columns
        else ("r2", "pearson_r")
    )
    b = board.sort_values(metrics[0])
    fig, axes = subplots(1, 2, figsize=(9, 0.45 * len(b) + 1.5), sharey=True)
    for ax, metric in zip(axes, metrics):
        colors = [PALETTE[0] if k == "integration" else PALETTE[6] for k in b["kind"]]
        y = np.arange(len(b))
        ax.barh(y, b[metric], color=colors)
        err = np.vstack([b[metric] - b[f"{metric}_lo"], b[f"{metric}_hi"] - b[metric]])
        ax.errorbar(b[metric], y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
        ax.axvline(0.5 if classes else 0.0, color="grey", ls=":", lw=1)
        low = 0.0 if classes else min(0.0, float(np.nanmin(b[f"{metric}_lo"].to_numpy(float))) - 0.05)
        ax.set_xlim(low if np.isfinite(low) else -1.0, 1)
        ax.set_yticks(y, b["strategy"])
        ax.set_xlabel(metric.replace("_", " ") + " (95% interval)")
    axes[0].set_title("Cross-validated scores: integration (blue) vs single layers (grey)", fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def plot_calibration(reliability: pd.DataFrame, decision: pd.DataFrame, strategies: list[str]):
    """The reliability diagram and, for a binary outcome, the decision curve of ``strategies`` (the first bold).

    Parameters
    ----------
    reliability : pandas.DataFrame
        ``results/evaluate/reliability.tsv`` (strategy, mean_predicted, observed, n per bin).
    decision : pandas.DataFrame
        ``results/evaluate/decision_curve.tsv`` (strategy, threshold, net_benefit; ``treat all``); empty
        for a multiclass outcome (no decision curve panel).
    strategies : list of str
        The strategies drawn, the model bundle's first.

    Returns
    -------
    matplotlib.figure.Figure
        One or two panels.
    """
    panels = 2 if len(decision) else 1
    fig, axes = subplots(1, panels, figsize=(4.6 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="ideal")
    for i, s in enumerate(strategies):
        d = reliability[reliability["strategy"] == s]
        if d.empty:
            continue
        size = 8 + 60 * d["n"].to_numpy(float) / max(1.0, float(d["n"].max()))
        ax.plot(d["mean_predicted"], d["observed"], color=PALETTE[i % len(PALETTE)], lw=2.2 if i == 0 else 1.1)
        ax.scatter(d["mean_predicted"], d["observed"], s=size, color=PALETTE[i % len(PALETTE)], label=s, zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability (bin)")
    ax.set_ylabel("observed share")
    ax.set_title("Reliability of the out-of-fold probabilities", fontsize=9, loc="left")
    ax.legend(fontsize=7, frameon=False)
    if panels == 2:
        ax = axes[0][1]
        ax.axhline(0, color="black", lw=1, label="treat none")
        every = decision[decision["strategy"] == "treat all"]
        ax.plot(every["threshold"], every["net_benefit"], color="grey", ls="--", lw=1, label="treat all")
        for i, s in enumerate(strategies):
            d = decision[decision["strategy"] == s]
            if not d.empty:
                colour, width = PALETTE[i % len(PALETTE)], 2.2 if i == 0 else 1.1
                ax.plot(d["threshold"], d["net_benefit"], color=colour, lw=width, label=s)
        top = float(np.nanmax(decision["net_benefit"].to_numpy(float))) if len(decision) else 1.0
        ax.set_ylim(-0.05, max(0.05, top * 1.1))
        ax.set_xlabel("threshold probability")
        ax.set_ylabel("net benefit")
        ax.set_title("Decision curve", fontsize=9, loc="left")
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
