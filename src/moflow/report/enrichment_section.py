"""The report's "Pathway enrichment" section and its figures.

The outcome factor's top pathways, dot plots per factor or model, the multi-omics pathway heatmap, and the
tables beyond the MOFA prerank (multi-omics pathway table, model prerank, competitive test,
over-representation). Nothing here touches files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.report.figures import subplots
from moflow.report.html import PALETTE, details, img, table


def plot_pathways(enrich: pd.DataFrame, factor: str, top: int = 10):
    """The ``top`` gene sets of ``factor`` (MOFA prerank) per layer, as -log10 FDR bars.

    Red for a positive NES, blue for a negative one.

    Parameters
    ----------
    enrich : pandas.DataFrame
        The MOFA prerank results (columns factor, layer, rank, term, fdr, nes).
    factor : str
        The factor shown (the outcome factor).
    top : int
        The gene sets shown per layer.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per layer (a placeholder text where the factor has no result).
    """
    d = enrich[enrich["factor"] == factor]
    fig, axes = subplots(
        1, max(1, d["layer"].nunique()), figsize=(5.5 * max(1, d["layer"].nunique()), 4), squeeze=False
    )
    for ax, (layer, g) in zip(axes[0], d.groupby("layer", sort=True)):
        g = g.sort_values("rank").head(top).iloc[::-1]
        score = -np.log10(np.maximum(g["fdr"].astype(float), 1e-4))
        colors = [PALETTE[1] if n >= 0 else PALETTE[0] for n in g["nes"]]
        ax.barh(range(len(g)), score, color=colors)
        ax.set_yticks(range(len(g)), [t[:45] for t in g["term"]], fontsize=7)
        ax.axvline(-np.log10(0.05), color="grey", ls=":", lw=1)
        ax.set_xlabel("-log10 FDR (red: positive NES, blue: negative)")
        ax.set_title(f"{factor}, {layer}", fontsize=9)
    if d.empty:
        axes[0, 0].text(0.5, 0.5, "no gene set enrichment for this factor", ha="center", va="center")
        axes[0, 0].axis("off")
    fig.tight_layout()
    return fig


def _component_order(values) -> list[str]:
    """Factor1, Factor2, ..., Factor10 in numeric order; other names alphabetically."""

    def key(v):
        v = str(v)
        digits = "".join(ch for ch in v if ch.isdigit())
        return (v.rstrip("0123456789"), int(digits) if digits and v.endswith(digits) else -1, v)

    return sorted(dict.fromkeys(map(str, values)), key=key)


def _placeholder(text: str):
    fig, ax = subplots(figsize=(5, 1.2))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    ax.axis("off")
    return fig


def plot_enrichment_dots(table: pd.DataFrame, *, component: str, title: str, top: int = 8, max_panels: int = 12):
    """A dot plot per factor or model (one panel per ``component`` value).

    The ``top`` sets by FDR across layers (rows) x layers (columns); colour = NES, size = -log10 FDR, black
    ring = FDR < 0.05.

    Parameters
    ----------
    table : pandas.DataFrame
        Prerank results (columns layer, term, nes, fdr, ``component`` and optionally collection).
    component : str
        The column that names a panel (the factor or model).
    title : str
        The panels' title prefix (and the placeholder's text where ``table`` is empty).
    top : int
        The sets shown per panel.
    max_panels : int
        The most panels drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    if table is None or table.empty:
        return _placeholder(f"{title}: nothing tested")
    t = table.copy()
    t["component"] = t[component].astype(str) if component in t.columns else ""
    comps = _component_order(t["component"])[:max_panels]
    layers = sorted(t["layer"].astype(str).unique())
    ncol = min(3, len(comps))
    nrow = int(np.ceil(len(comps) / ncol))
    fig, axes = subplots(
        nrow, ncol, figsize=(6.8 * ncol, (0.32 * top + 1.4) * nrow), squeeze=False, layout="constrained"
    )
    vmax = float(np.nanmax(np.abs(t["nes"].to_numpy(dtype=float)))) if len(t) else 1.0
    vmax = max(vmax, 1.0)
    for ax, comp in zip(axes.ravel(), comps):
        d = t[t["component"] == comp]
        if "collection" in d.columns and d["collection"].nunique() > 1:
            d = d.assign(label=d["collection"].astype(str) + ": " + d["term"].astype(str))
        else:
            d = d.assign(label=d["term"].astype(str))
        best = d.groupby("label")["fdr"].min().sort_values(kind="mergesort")
        terms = list(best.index[:top])[::-1]
        sub = d[d["label"].isin(terms)]
        x = sub["layer"].map({lay: i for i, lay in enumerate(layers)})
        y = sub["label"].map({lab: i for i, lab in enumerate(terms)})
        size = 20 + 40 * np.clip(-np.log10(np.maximum(sub["fdr"].astype(float), 1e-6)), 0, 6)
        sc = ax.scatter(
            x,
            y,
            s=size,
            c=sub["nes"].astype(float),
            cmap="RdBu_r",
            vmin=-vmax,
            vmax=vmax,
            edgecolors=np.where(sub["fdr"] < 0.05, "black", "none"),
            linewidths=1.0,
        )
        ax.set_xticks(range(len(layers)), layers, fontsize=8)
        ax.set_yticks(range(len(terms)), [lab[:48] for lab in terms], fontsize=7)
        ax.set_xlim(-0.6, len(layers) - 0.4)
        ax.set_ylim(-0.6, max(len(terms), 1) - 0.4)
        ax.set_title(f"{title} {comp}", fontsize=9)
    for ax in axes.ravel()[len(comps) :]:
        ax.axis("off")
    fig.colorbar(sc, ax=axes.ravel().tolist(), label="NES (ring: FDR < 0.05; size: -log10 FDR)", shrink=0.6)
    return fig


def plot_pathway_heatmap(pathways: pd.DataFrame, *, top: int = 25):
    """Heatmap of the multi-omics pathway table: the ``top`` pathways x factors and models.

    The pathways with the smallest combined FDR in any factor or model; colour = Stouffer z across layers,
    * = FDR < 0.05.
    """
    if pathways is None or pathways.empty:
        return _placeholder("no multi-omics pathway table")
    p = pathways.copy()
    multi = p["collection"].nunique() > 1
    p["row"] = (p["collection"].astype(str) + ": " if multi else "") + p["term"].astype(str)
    p["col"] = p["source"].astype(str) + " " + p["component"].astype(str)
    rows = list(p.groupby("row")["fdr"].min().sort_values(kind="mergesort").index[:top])
    cols = [
        f"{s} {c}" for s in ("mofa", "early", "late") for c in _component_order(p.loc[p["source"] == s, "component"])
    ]
    cols += [c for c in sorted(p["col"].unique()) if c not in cols]
    Z = p.pivot_table(index="row", columns="col", values="z", aggfunc="first").reindex(index=rows, columns=cols)
    F = p.pivot_table(index="row", columns="col", values="fdr", aggfunc="first").reindex(index=rows, columns=cols)
    vmax = max(float(np.nanmax(np.abs(Z.to_numpy()))) if Z.notna().any().any() else 1.0, 1.0)
    fig, ax = subplots(figsize=(2.5 + 0.55 * len(cols), 0.3 * len(rows) + 1.8))
    im = ax.imshow(Z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if F.iat[i, j] < 0.05:
                ax.text(j, i, "*", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), [r[:55] for r in rows], fontsize=7)
    fig.colorbar(im, ax=ax, label="Stouffer z across layers (* FDR < 0.05)", shrink=0.7)
    ax.set_title("Multi-omics pathway table", fontsize=9)
    fig.tight_layout()
    return fig


def enrichment_html(
    *,
    pathways: pd.DataFrame | None = None,
    models: pd.DataFrame | None = None,
    competitive: pd.DataFrame | None = None,
    ora: pd.DataFrame | None = None,
    figures: dict[str, bytes] | None = None,
) -> str:
    """The enrichment part of the report beyond the MOFA prerank table.

    Figures, the multi-omics pathway table, model prerank, competitive test and over-representation (top
    rows).

    Parameters
    ----------
    pathways : pandas.DataFrame, optional
        The multi-omics pathway table.
    models : pandas.DataFrame, optional
        The early and late models' prerank of coefficients.
    competitive : pandas.DataFrame, optional
        The competitive test of MOFA weights.
    ora : pandas.DataFrame, optional
        The over-representation of the top features.
    figures : dict of str to bytes, optional
        PNG bytes of ``heatmap``, ``dots_mofa`` and ``dots_models``; the heatmap and the model dot plots are shown only
        with their tables.

    Returns
    -------
    str
        The HTML.
    """
    out = [
        '<p class="note">Prerank (GSEA, gene-set permutation) per layer; every collection has its own FDR. '
        "The multi-omics table combines the layers' signed z-scores by Stouffer's method (BH-adjusted per "
        "collection and factor or model), so a pathway seen in two layers ranks above one seen in one. "
        "Conditional columns retest each set without the genes of more significant overlapping sets: a set "
        "significant only through shared genes has a large conditional FDR.</p>"
    ]
    shown = {
        "heatmap": pathways is not None and len(pathways) > 0,
        "dots_mofa": True,
        "dots_models": models is not None and len(models) > 0,
    }  # no figure without its table
    for key, alt in (
        ("heatmap", "multi-omics pathway heatmap"),
        ("dots_mofa", "MOFA factor dot plots"),
        ("dots_models", "model dot plots"),
    ):
        if figures and figures.get(key) and shown[key]:
            out.append(
                img(figures[key], alt) if key == "heatmap" else details(alt.capitalize(), img(figures[key], alt))
            )
    if pathways is not None and len(pathways):
        cols = [
            c
            for c in (
                "collection",
                "source",
                "component",
                "rank",
                "term",
                "z",
                "fdr",
                "fdr_conditional",
                "layers",
                "layers_significant",
            )
            if c in pathways.columns
        ]
        out += [
            "<h3>Multi-omics pathway table (top 5 per factor or model)</h3>",
            table(pathways[pathways["rank"] <= 5][cols], max_rows=200),
        ]
    if models is not None and len(models):
        cols = [
            c
            for c in ("collection", "model", "layer", "target", "rank", "term", "nes", "fdr", "set_size")
            if c in models.columns
        ]
        out += [
            "<h3>Early and late models: prerank of coefficients (top 3)</h3>",
            table(models[models["rank"] <= 3][cols], max_rows=200),
        ]
    if competitive is not None and len(competitive):
        cols = [
            c
            for c in ("collection", "layer", "factor", "rank", "term", "statistic", "correlation", "fdr")
            if c in competitive.columns
        ]
        out += [
            "<h3>Competitive test of MOFA weights (top 2)</h3>",
            '<p class="note">Rank-sum of set members vs other genes, variance inflated by the inter-gene '
            "correlation estimated in the layer's data after removing the factors (CAMERA).</p>",
            table(competitive[competitive["rank"] <= 2][cols], max_rows=200),
        ]
    if ora is not None and len(ora):
        cols = [
            c
            for c in (
                "collection",
                "source",
                "layer",
                "component",
                "side",
                "term",
                "overlap",
                "set_size",
                "background_size",
                "fdr",
                "fdr_conditional",
            )
            if c in ora.columns
        ]
        out += [
            "<h3>Over-representation of the top features (FDR &lt; 0.05)</h3>",
            '<p class="note">Background: every scored feature of the layer, mapped to genes.</p>',
            table(ora[ora["fdr"] < 0.05][cols], max_rows=100),
        ]
    return "".join(out)
