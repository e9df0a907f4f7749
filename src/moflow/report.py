"""The HTML report: figures (matplotlib, returned as PNG bytes) and one self-contained page.

Nothing here touches files; the report script hands the bytes and the page to :mod:`moflow.io`.
"""

from __future__ import annotations

import base64
import html
import io as _io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

PALETTE = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]


def png_bytes(fig) -> bytes:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _scatter_groups(ax, x, y, groups, title):
    levels = sorted(pd.unique(pd.Series(groups).astype(str)))
    for i, g in enumerate(levels):
        sel = np.asarray(groups).astype(str) == g
        ax.scatter(x[sel], y[sel], s=12, alpha=0.8, color=PALETTE[i % len(PALETTE)], label=g)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False, markerscale=1.2)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_pca(coords: pd.DataFrame, layer: str):
    """PC1/PC2 before and after batch correction, coloured by batch and by outcome."""
    stages = list(dict.fromkeys(coords["stage"]))
    fig, axes = plt.subplots(2, len(stages), figsize=(4.2 * len(stages), 7.5), squeeze=False)
    for j, stage in enumerate(stages):
        d = coords[coords["stage"] == stage]
        label = stage.replace("_", " ")
        _scatter_groups(axes[0, j], d["PC1"].to_numpy(), d["PC2"].to_numpy(), d["batch"].fillna("").to_numpy(),
                        f"{layer}: {label}, by batch")
        _scatter_groups(axes[1, j], d["PC1"].to_numpy(), d["PC2"].to_numpy(), d["outcome"].to_numpy(),
                        f"{layer}: {label}, by outcome")
    fig.tight_layout()
    return fig


def plot_variance(r2: pd.DataFrame):
    M = r2.pivot(index="factor", columns="view", values="r2")
    M = M.loc[sorted(M.index, key=lambda f: int(f.replace("Factor", "")))]
    fig, ax = plt.subplots(figsize=(1.4 + 1.1 * M.shape[1], 0.45 * M.shape[0] + 1.2))
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
    b = board.sort_values("roc_auc")
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.45 * len(b) + 1.5), sharey=True)
    for ax, metric in zip(axes, ("roc_auc", "balanced_accuracy")):
        colors = [PALETTE[0] if k == "integration" else PALETTE[6] for k in b["kind"]]
        y = np.arange(len(b))
        ax.barh(y, b[metric], color=colors)
        err = np.vstack([b[metric] - b[f"{metric}_lo"], b[f"{metric}_hi"] - b[metric]])
        ax.errorbar(b[metric], y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
        ax.axvline(0.5, color="grey", ls=":", lw=1)
        ax.set_xlim(0, 1)
        ax.set_yticks(y, b["strategy"])
        ax.set_xlabel(metric.replace("_", " ") + " (95% interval)")
    axes[0].set_title("Cross-validated scores: integration (blue) vs single layers (grey)", fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def plot_pathways(enrich: pd.DataFrame, factor: str, top: int = 10):
    d = enrich[enrich["factor"] == factor]
    fig, axes = plt.subplots(1, max(1, d["layer"].nunique()), figsize=(5.5 * max(1, d["layer"].nunique()), 4),
                             squeeze=False)
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


def outcome_factor(associations: pd.DataFrame, outcome_column: str) -> pd.Series | None:
    """The factor most associated with the outcome (smallest p)."""
    a = associations[associations["covariate"] == outcome_column]
    if a.empty:
        return None
    return a.sort_values(["p", "factor"]).iloc[0]


def _fdr(v: float) -> str:
    """gseapy reports 0 when no permutation reached the observed score."""
    return "below the permutation resolution" if v == 0 else f"{v:.2g}"


def _table(df: pd.DataFrame, digits: int = 3, max_rows: int = 30) -> str:
    d = df.head(max_rows).copy()
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            d[c] = d[c].map(lambda v: "" if pd.isna(v) else f"{v:.{digits}g}")
    return d.to_html(index=False, border=0, classes="tbl", escape=True)


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.tbl{border-collapse:collapse;font-size:.82em;margin:.5em 0 1em}
.tbl th,.tbl td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}
.tbl th{background:#f5f5f5}.tbl td:first-child,.tbl th:first-child{text-align:left}
.note{color:#555;font-size:.9em}.key{background:#f0f6ff;border-left:4px solid #4477AA;padding:.6em 1em}
img{max-width:100%}
"""


def build_html(*, title: str, sections: list[tuple[str, str]]) -> str:
    toc = "".join(f'<li><a href="#s{i}">{html.escape(t)}</a></li>' for i, (t, _) in enumerate(sections))
    body = "".join(f'<h2 id="s{i}">{html.escape(t)}</h2>{content}' for i, (t, content) in enumerate(sections))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1><ul>{toc}</ul>{body}</body></html>\n")


def report_sections(*, inputs: pd.DataFrame, layers: list[str], diagnostics: dict[str, pd.DataFrame],
                    steps: dict[str, pd.DataFrame], pca_png: dict[str, bytes], variance_png: bytes,
                    associations: pd.DataFrame, outcome_column: str, late_weights: pd.DataFrame,
                    board: pd.DataFrame, board_png: bytes, enrichment: pd.DataFrame | None,
                    pathways_png: bytes | None, provenance: dict) -> list[tuple[str, str]]:
    """Assemble the report's sections (title, HTML) from the pipeline's tables and figures."""
    sections = []
    best = board.iloc[0]
    best_single = board[board["kind"] == "single layer"].iloc[0] if (board["kind"] == "single layer").any() else None
    of = outcome_factor(associations, outcome_column)
    summary = [f"<p>Best strategy by cross-validated ROC AUC: <b>{html.escape(str(best['strategy']))}</b> "
               f"(AUC {best['roc_auc']:.3f}, 95% interval {best['roc_auc_lo']:.3f}-{best['roc_auc_hi']:.3f}; "
               f"balanced accuracy {best['balanced_accuracy']:.3f}).</p>"]
    if best_single is not None:
        summary.append(f"<p>Best single layer: <b>{html.escape(str(best_single['strategy']))}</b> "
                       f"(AUC {best_single['roc_auc']:.3f}, {best_single['roc_auc_lo']:.3f}-"
                       f"{best_single['roc_auc_hi']:.3f}).</p>")
    if of is not None:
        summary.append(f"<p>Outcome-related MOFA factor: <b>{html.escape(str(of['factor']))}</b> "
                       f"(Kruskal-Wallis p = {of['p']:.2g}, BH-adjusted {of['p_adj']:.2g}).</p>")
        if enrichment is not None and not enrichment.empty:
            top = enrichment[(enrichment["factor"] == of["factor"]) & (enrichment["rank"] == 1)]
            for _, r in top.iterrows():
                summary.append(f"<p>Top gene set of {html.escape(str(of['factor']))} in layer "
                               f"{html.escape(str(r['layer']))} ({html.escape(str(r['collection']))}): "
                               f"<b>{html.escape(str(r['term']))}</b> (NES {r['nes']:.2f}, FDR {_fdr(r['fdr'])}).</p>")
    sections.append(("Summary", '<div class="key">' + "".join(summary) + "</div>"))
    sections.append(("Inputs", _table(inputs)))
    pre = []
    for layer in layers:
        pre.append(f"<h3>{html.escape(layer)}</h3>")
        pre.append(_table(steps[layer][["step", "method", "features_in", "features_out", "missing_fraction_out"]]))
        pre.append(_table(diagnostics[layer]))
        pre.append(_img(pca_png[layer], f"PCA of {layer}"))
    pre.append('<p class="note">Silhouettes are computed on the top principal components; r2_batch and '
               "r2_outcome are the shares of the top components' variance explained by batch and outcome.</p>")
    sections.append(("Preprocessing", "".join(pre)))
    mofa = [_img(variance_png, "MOFA variance explained"), "<h3>Factor associations (BH-adjusted)</h3>",
            _table(associations.sort_values(["p_adj", "factor"]))]
    sections.append(("Intermediate integration (MOFA)", "".join(mofa)))
    sections.append(("Late integration", "<p>Meta-learner coefficients of each layer's out-of-fold log-odds.</p>"
                     + _table(late_weights)))
    ev = [_img(board_png, "scoreboard"), _table(board[[c for c in board.columns if c != "kind"]]),
          '<p class="note">Repeated stratified cross-validation; every strategy and single layer sees identical '
          "splits, and the whole preprocessing chain is fit inside each training fold. Intervals use the "
          "Nadeau-Bengio corrected variance. smallest_class is the effective sample size.</p>"]
    sections.append(("Evaluation", "".join(ev)))
    if enrichment is not None:
        en = []
        if pathways_png is not None:
            en.append(_img(pathways_png, "top pathways"))
        top = enrichment[enrichment["rank"] <= 3][["collection", "layer", "factor", "rank", "term", "nes", "fdr",
                                                   "set_size"]]
        en.append(_table(top, max_rows=200))
        sections.append(("Pathway enrichment", "".join(en)))
    prov = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in provenance.get("versions", {}).items())
    sections.append(("Provenance", f'<table class="tbl"><tr><th>package</th><th>version</th></tr>{prov}</table>'
                     '<p class="note">Input checksums and the full configuration are in results/provenance.json.</p>'))
    return sections


def provenance(config: dict, input_files: list[str], file_hashes: dict[str, str]) -> dict:
    """Versions of the main packages, the config, and checksums of the inputs (no timestamps, so
    reruns give identical files)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("moflow", "snakemake", "numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "mofapy2",
                "gseapy", "matplotlib", "pyarrow"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {"versions": versions, "config": config, "inputs": {f: file_hashes[f] for f in input_files}}
