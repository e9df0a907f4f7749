"""The HTML report: figures (matplotlib, returned as PNG bytes) and the sections of one self-contained page
(building blocks in :mod:`moflow.report.html`, interactive SVG in :mod:`moflow.report.svg`, the first
screen in :mod:`moflow.report.verdict`).

Nothing here touches files; the report script hands the bytes and the page to :mod:`moflow.io`.
"""

from __future__ import annotations

import html
import io as _io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from moflow.report.html import PALETTE, build_html, details  # noqa: E402,F401 (build_html: the page, re-exported)
from moflow.report.html import img as _img  # noqa: E402
from moflow.report.html import table as _table  # noqa: E402
from moflow.report.svg import pca_svg  # noqa: E402
from moflow.report.verdict import outcome_factor  # noqa: E402


def png_bytes(fig) -> bytes:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
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


def plot_pca_steps(coords: pd.DataFrame, layer: str, per_row: int = 4):
    """PC1/PC2 after every preprocessing step (stages in order), coloured by batch and by outcome."""
    stages = list(dict.fromkeys(coords["stage"])) if len(coords) else []
    if not stages:
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.text(0.5, 0.5, f"{layer}: no step to show", ha="center", va="center")
        ax.axis("off")
        return fig
    ncol = min(per_row, len(stages))
    nblock = -(-len(stages) // ncol)
    fig, axes = plt.subplots(2 * nblock, ncol, figsize=(3.6 * ncol, 3.3 * 2 * nblock), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, stage in enumerate(stages):
        r, c = 2 * (k // ncol), k % ncol
        d = coords[coords["stage"] == stage]
        label = stage.replace("_", " ")
        for rr, col, what in ((r, "batch", "batch"), (r + 1, "outcome", "outcome")):
            axes[rr, c].axis("on")
            _scatter_groups(axes[rr, c], d["PC1"].to_numpy(), d["PC2"].to_numpy(),
                            d[col].fillna("").astype(str).to_numpy(), f"{layer}: {label}, by {what}")
    fig.tight_layout()
    return fig


def plot_missingness(X: pd.DataFrame, samples: pd.DataFrame | None, layer: str, max_features: int = 2000):
    """Missingness map: samples (grouped by batch and outcome) x features (sorted by missing fraction,
    at most ``max_features`` evenly spaced ones), with each sample's missing fraction beside it."""
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
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 0.02 * len(order) + 3), sharey=True,
                                  gridspec_kw={"width_ratios": [5, 1]})
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
    classes = "roc_auc" in board.columns or "harrell_c" in board.columns  # scores with chance at 0.5
    metrics = (("roc_auc", "balanced_accuracy") if "roc_auc" in board.columns else
               ("harrell_c", "uno_c") if "harrell_c" in board.columns else ("r2", "pearson_r"))
    b = board.sort_values(metrics[0])
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.45 * len(b) + 1.5), sharey=True)
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


def _fdr(v: float) -> str:
    """gseapy reports 0 when no permutation reached the observed score."""
    return "below the permutation resolution" if v == 0 else f"{v:.2g}"


def _summary(board, metric, best, of, *, enrichment, survival, hierarchical) -> list[str]:
    """The verdict's supporting numbers (folded under it): external test metrics, survival and
    hierarchical sentences, the outcome factor and its top gene sets."""
    summary = []
    if f"test_{metric}" in board.columns and pd.notna(best.get(f"test_{metric}")):
        extra = [m for m in ("accuracy", "sensitivity", "specificity", "f1", "roc_auc", "rmse", "pearson_r", "uno_c",
                             "td_auc", "integrated_brier") if f"test_{m}" in board.columns and m != metric]

        def _test(m):
            lo, hi = best.get(f"test_{m}_lo"), best.get(f"test_{m}_hi")
            ci = f" ({lo:.3f}-{hi:.3f})" if lo is not None and pd.notna(lo) else ""
            return f"{m.replace('_', ' ')} {best[f'test_{m}']:.3f}{ci}"

        summary.append(f"<p>On the external test set ({int(best['test_n_test'])} samples, never used to fit or "
                       f"tune), {html.escape(str(best['strategy']))} scores {_test(metric)}; "
                       + ", ".join(_test(m) for m in extra)
                       + " (95% bootstrap intervals over the test samples).</p>")
    if survival is not None:
        summary += survival[1]
    if hierarchical is not None and len(hierarchical):
        summary.append(hierarchical_sentence(hierarchical))
    if of is not None:
        test = (f"Pearson r = {of['statistic']:.2f}, p" if of.get("test") == "pearson" else
                f"hazard ratio per SD {of['effect']:.2f} ({of['hr_lo']:.2f}-{of['hr_hi']:.2f}), Cox p"
                if of.get("test") == "cox" else "Kruskal-Wallis p")
        summary.append(f"<p>Outcome-related MOFA factor: <b>{html.escape(str(of['factor']))}</b> "
                       f"({test} = {of['p']:.2g}, BH-adjusted {of['p_adj']:.2g}).</p>")
        if enrichment is not None and not enrichment.empty:
            top = enrichment[(enrichment["factor"] == of["factor"]) & (enrichment["rank"] == 1)]
            for _, r in top.iterrows():
                summary.append(f"<p>Top gene set of {html.escape(str(of['factor']))} in layer "
                               f"{html.escape(str(r['layer']))} ({html.escape(str(r['collection']))}): "
                               f"<b>{html.escape(str(r['term']))}</b> (NES {r['nes']:.2f}, FDR {_fdr(r['fdr'])}).</p>")
    return summary


def _outcome_colour(samples: pd.DataFrame | None, outcome_column: str) -> tuple[pd.Series | None, str]:
    """What colours the factor scatter: the outcome (survival: the event), by sample."""
    if samples is None or "sample" not in samples.columns:
        return None, ""
    s = samples.set_index("sample")
    for col, name in ((outcome_column, "outcome"), ("outcome", "outcome"), ("event", "event")):
        if col in s.columns:
            return s[col], name
    return None, ""


def _left_out(samples: pd.DataFrame | None) -> str:
    """A note naming the samples the analysis left out (sample_type ``excluded``: no outcome under config
    ``outcome: missing: exclude``, or so marked in the sheet)."""
    if samples is None or "sample_type" not in samples.columns:
        return ""
    out = samples.loc[samples["sample_type"] == "excluded", "sample"].astype(str).tolist()
    if not out:
        return ""
    shown = ", ".join(out[:30]) + (f" and {len(out) - 30} more" if len(out) > 30 else "")
    return (f'<p class="note">{len(out)} sample(s) left out of the whole analysis (sample_type <code>excluded</code>: '
            f"no outcome, with config <code>outcome: missing: exclude</code>, or so marked in the sample sheet): "
            f"{html.escape(shown)}.</p>")


def _preprocessing(layers, inputs, steps, diagnostics, pca, pca_png, missingness_png, pca_steps_png,
                   imputation) -> str:
    missing = (dict(zip(inputs["layer"].astype(str), pd.to_numeric(inputs["missing_fraction"], errors="coerce")))
               if {"layer", "missing_fraction"} <= set(inputs.columns) else {})
    pre = []
    for layer in layers:
        pre.append(f"<h3>{html.escape(layer)}</h3>")
        step_cols = ["step", "method", "features_in", "features_out", "missing_fraction_out"]
        pre.append(_table(steps[layer][[c for c in step_cols + ["summary"] if c in steps[layer].columns]]))
        frac = missing.get(layer)
        if frac is not None and frac == 0:
            pre.append('<p class="note">No missing values in the raw layer (no missingness map, nothing to '
                       "impute).</p>")
        elif missingness_png and layer in missingness_png:
            pre.append(details(f"Missingness map of {layer} ({100 * frac:.1f}% of cells missing)"
                               if frac is not None else f"Missingness map of {layer}",
                               _img(missingness_png[layer], f"missingness map of {layer}")))
        if imputation and layer in imputation and len(imputation[layer]):
            pre.append("<p>Imputation on observed values hidden the way this layer loses them (NRMSE; "
                       "ratio_to_mean below 1 beats mean imputation):</p>" + _table(imputation[layer]))
        pre.append(_table(diagnostics[layer]))
        if pca is not None and layer in pca and len(pca[layer]):
            pre.append(pca_svg(pca[layer], layer))
        else:
            pre.append(_img(pca_png[layer], f"PCA of {layer}"))
        if pca_steps_png and layer in pca_steps_png and len(steps[layer]):
            pre.append(details(f"PCA of {layer} after every preprocessing step",
                               _img(pca_steps_png[layer], f"PCA of {layer} after every step")))
    pre.append('<p class="note">Silhouettes are computed on the top principal components; r2_batch and '
               "r2_outcome are the shares of the top components' variance explained by batch and outcome. Hover a "
               "point for its sample; it lights up in every panel of the layer.</p>")
    return "".join(pre)


def report_sections(*, inputs: pd.DataFrame, layers: list[str], diagnostics: dict[str, pd.DataFrame],
                    steps: dict[str, pd.DataFrame], pca_png: dict[str, bytes], variance_png: bytes,
                    associations: pd.DataFrame, outcome_column: str, late_weights: pd.DataFrame | None,
                    board: pd.DataFrame, board_png: bytes, enrichment: pd.DataFrame | None,
                    pathways_png: bytes | None, provenance: dict, comparison: pd.DataFrame | None = None,
                    permutation: pd.DataFrame | None = None, stability: pd.DataFrame | None = None,
                    missingness_png: dict[str, bytes] | None = None, pca_steps_png: dict[str, bytes] | None = None,
                    imputation: dict[str, pd.DataFrame] | None = None,
                    enrichment_more: dict | None = None, survival: tuple[str, list[str]] | None = None,
                    hierarchical: pd.DataFrame | None = None, pca: dict[str, pd.DataFrame] | None = None,
                    factors: pd.DataFrame | None = None, samples: pd.DataFrame | None = None,
                    variance: pd.DataFrame | None = None, design: dict | None = None) -> list[tuple[str, str]]:
    """Assemble the report's sections (title, HTML) from the pipeline's tables and figures; the first
    is the verdict (:mod:`moflow.report.verdict`).

    ``missingness_png``, ``pca_steps_png`` and ``imputation`` (per layer; optional) add the missingness
    map (only for a layer with missing values), the PCA after every preprocessing step and the
    imputation NRMSE table to the preprocessing section. ``pca`` (per layer: the PC coordinates) draws
    the PCA as interactive SVG instead of ``pca_png``. ``factors`` and ``samples`` add the MOFA factor
    scatter; ``variance`` (MOFA variance explained) the layers' share of the outcome factor to the
    verdict. ``enrichment_more`` (keyword arguments of :func:`enrichment_html`) adds the multi-omics
    pathway table, model and competitive results, over-representation and their figures. ``survival``
    (a survival outcome; :func:`moflow.report.survival_section.survival_html`): the Kaplan-Meier and factor
    hazard figures for the evaluation section and the summary's sentences about them.
    ``hierarchical``: the hierarchical strategy's coefficients (layer, source, feature, value), shown
    beside the scoreboard with the top one of each layer in the summary. ``design``: {"html": the body
    of the "How many samples?" section, "sentence": its one-sentence verdict on sample size}.
    """
    from moflow.report.svg import factor_pair, factor_scatter_svg, scoreboard_svg
    from moflow.report.verdict import chance_level, n_classes, primary_metric, verdict, verdict_html

    sections = []
    metric = primary_metric(board)
    best = board.iloc[0]
    of = outcome_factor(associations, outcome_column)
    k = n_classes(samples, outcome_column, metric)
    pathways = (enrichment_more or {}).get("pathways")
    v = verdict(board=board, layers=layers, comparison=comparison, permutation=permutation, late_weights=late_weights,
                variance=variance, associations=associations, outcome_column=outcome_column, enrichment=enrichment,
                pathways=pathways, hierarchical=hierarchical, n_classes=k)
    metrics = [m for m in (metric, "roc_auc", "uno_c", "pearson_r") if m in board.columns][:2]
    chance = {m: chance_level(m, k) for m in metrics}
    tips = [c for c in board.columns if c not in ("strategy", "kind") and not c.endswith(("_lo", "_hi"))]
    summary = _summary(board, metric, best, of, enrichment=enrichment, survival=survival, hierarchical=hierarchical)
    lead = verdict_html(v, design_sentence=(design or {}).get("sentence"),
                        figure=scoreboard_svg(board, [metric], chance=chance, tip_columns=tips))
    if summary:
        lead += details("More numbers behind the verdict", '<div class="key">' + "".join(summary) + "</div>")
    sections.append(("Verdict", lead))
    sections.append(("Inputs", _table(inputs) + _left_out(samples)))
    sections.append(("Preprocessing", _preprocessing(layers, inputs, steps, diagnostics, pca, pca_png,
                                                     missingness_png, pca_steps_png, imputation)))
    mofa = [_img(variance_png, "MOFA variance explained")]
    colour, colour_name = _outcome_colour(samples, outcome_column)
    if factors is not None and len(factors) and colour is not None:
        names = [c for c in factors.columns if c != "sample"]
        pair = factor_pair(associations, outcome_column, names)
        mofa.append(factor_scatter_svg(factors, colour, pair=pair, colour_name=colour_name))
        mofa.append(f'<p class="note">The two factors most associated with the outcome ({html.escape(pair[0])}, '
                    f"{html.escape(pair[1])}); hover a sample for every factor's value.</p>")
    mofa += ["<h3>Factor associations (BH-adjusted)</h3>", _table(associations.sort_values(["p_adj", "factor"]))]
    if stability is not None and len(stability):
        st = stability.groupby("factor", sort=False)["abs_r"].agg(["mean", "min"]).reset_index()
        st.columns = ["factor", "consensus_abs_r", "min_abs_r"]
        mofa += ["<h3>Stability across seeds</h3><p>Factors of runs with other seeds matched to this run "
                 "(Hungarian assignment on |r| of factor values).</p>", _table(st)]
    sections.append(("Intermediate integration (MOFA)", "".join(mofa)))
    if late_weights is not None:
        sections.append(("Late integration", "<p>Meta-learner coefficients of each layer's out-of-fold "
                         "predictions.</p>" + _table(late_weights)))
    else:
        sections.append(("Late integration", f"<p>Skipped: late, mixed and early integration combine layers, and "
                         f"this cohort has one ({html.escape(', '.join(layers))}). Its evaluation compares the layer's "
                         "own model with MOFA on the same layer.</p>"))
    effective = ("n_events (the number of events) is the effective sample size; Uno's C, the time-dependent AUC "
                 "(auc_&lt;time&gt;, td_auc their mean) and the integrated Brier score (lower is better) weigh "
                 "censoring by the training side's censoring distribution" if "n_events" in board.columns else
                 "smallest_class is the effective sample size" if "smallest_class" in board.columns else
                 "n_samples is the effective sample size")
    ev = [scoreboard_svg(board, metrics, chance=chance, tip_columns=tips),
          _table(board[[c for c in board.columns if c != "kind"]]),
          '<p class="note">Repeated stratified cross-validation; every strategy and single layer sees identical '
          "splits, and the whole preprocessing chain is fit inside each training fold. Intervals use the "
          f"Nadeau-Bengio corrected variance. {effective}.</p>"]
    if survival is not None:
        ev.append(survival[0])
    if hierarchical is not None and len(hierarchical):
        ev.append(hierarchical_html(hierarchical, board))
    sections.append(("Evaluation", "".join(ev)))
    if design is not None:
        sections.append(("How many samples?", design.get("html", "")))
    if enrichment is not None:
        en = []
        if pathways_png is not None and of is not None and (enrichment["factor"] == of["factor"]).any():
            en.append(_img(pathways_png, "top pathways"))
        if enrichment_more:
            more = dict(enrichment_more)
            if enrichment.empty:  # no factor tested: its dot plot would be an empty placeholder
                more["figures"] = {k: v for k, v in (more.get("figures") or {}).items() if k != "dots_mofa"}
            en.append(enrichment_html(**more))
            en.append("<h3>MOFA factors: prerank per layer (top 3)</h3>")
        top = enrichment[enrichment["rank"] <= 3][["collection", "layer", "factor", "rank", "term", "nes", "fdr",
                                                   "set_size"]]
        en.append(_table(top, max_rows=200))
        sections.append(("Pathway enrichment", "".join(en)))
    prov = pd.DataFrame(list(provenance.get("versions", {}).items()), columns=["package", "version"])
    sections.append(("Provenance", _table(prov) + '<p class="note">Input checksums and the full configuration are '
                     "in results/provenance.json.</p>"))
    return sections


def _hierarchical_value(h: pd.DataFrame) -> tuple[pd.Series, str]:
    """What ranks the hierarchical strategy's scores: the structure coefficient where the model has
    one linear predictor, else the coefficient (the largest absolute one over classes)."""
    if "structure_r" in h.columns:
        return h["structure_r"].astype(float), "correlation with the model's prediction"
    cols = [c for c in h.columns if c not in ("layer", "source", "feature")]
    v = h[cols].astype(float)
    return (v.iloc[:, 0] if len(cols) == 1 else v.abs().max(axis=1)), (cols[0] if len(cols) == 1 else "max |coef|")


def hierarchical_sentence(h: pd.DataFrame) -> str:
    """The summary's line: the top-weighted set or regulator of each layer, with its sign."""
    value, what = _hierarchical_value(h)
    top = h.assign(v=value, a=value.abs()).sort_values(["a", "feature"], ascending=[False, True]).drop_duplicates(
        "layer")
    parts = [f"{html.escape(str(r['layer']))}: <b>{html.escape(str(r['feature']))}</b> ({html.escape(str(r['source']))}, "
             f"{r['v']:+.2f})" for _, r in top.iterrows()]
    return (f"<p>Hierarchical integration, top-weighted program per layer ({html.escape(what)}, standardized "
            f"scores): {'; '.join(parts)}.</p>")


def hierarchical_html(h: pd.DataFrame, board: pd.DataFrame) -> str:
    """The hierarchical strategy's scoreboard row and its top-weighted scores, per layer."""
    value, _ = _hierarchical_value(h)
    top = h.assign(a=value.abs()).sort_values("a", ascending=False).groupby("layer", sort=True).head(10).drop(
        columns="a")
    row = board[board["strategy"] == "hierarchical"]
    metric = next((m for m in ("balanced_accuracy", "harrell_c", "r2") if m in board.columns), None)
    score = (f" Its cross-validated {metric.replace('_', ' ')}: {row.iloc[0][metric]:.3f} "
             f"({row.iloc[0][metric + '_lo']:.3f}-{row.iloc[0][metric + '_hi']:.3f})." if len(row) and metric else "")
    return ("<h3>Hierarchical integration: the programs the model weighs</h3><p>Gene-set scores and regulator "
            "activities per layer (learnt on the training samples, standardized), one penalized model; the same "
            f"pathway in two layers is two features.{score} Top 10 per layer by the absolute correlation of the score "
            "with the model's prediction on the training samples (structure_r; the coefficients themselves share "
            "weight among correlated scores):</p>"
            + _table(top, max_rows=200))


def provenance(config: dict, input_files: list[str], file_hashes: dict[str, str], *,
               commit: str = "unknown") -> dict:
    """Versions of the main packages and of Python, the platform, the git commit of the workflow
    checkout (``commit``; "unknown" outside a git checkout), the config, and the sha256 of every input
    file (sheets, layer matrices, gene-set and annotation files). No timestamps, so reruns give
    identical files."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("moflow", "snakemake", "numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "mofapy2",
                "gseapy", "matplotlib", "pyarrow"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {"versions": versions, "python": platform.python_version(), "platform": platform.platform(),
            "workflow_commit": commit, "config": config, "checksum": "sha256",
            "inputs": {f: file_hashes[f] for f in input_files}}


# ---------------------------------------------------------------------------------------------
# enrichment figures and section (issue 5)
# ---------------------------------------------------------------------------------------------


def _component_order(values) -> list[str]:
    """Factor1, Factor2, ..., Factor10 in numeric order; other names alphabetically."""
    def key(v):
        v = str(v)
        digits = "".join(ch for ch in v if ch.isdigit())
        return (v.rstrip("0123456789"), int(digits) if digits and v.endswith(digits) else -1, v)

    return sorted(dict.fromkeys(map(str, values)), key=key)


def _placeholder(text: str):
    fig, ax = plt.subplots(figsize=(5, 1.2))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    ax.axis("off")
    return fig


def plot_enrichment_dots(table: pd.DataFrame, *, component: str, title: str, top: int = 8, max_panels: int = 12):
    """A dot plot per factor or model (one panel per ``component`` value): the ``top`` sets by FDR
    across layers (rows) x layers (columns); colour = NES, size = -log10 FDR, black ring = FDR < 0.05."""
    if table is None or table.empty:
        return _placeholder(f"{title}: nothing tested")
    t = table.copy()
    t["component"] = t[component].astype(str) if component in t.columns else ""
    comps = _component_order(t["component"])[:max_panels]
    layers = sorted(t["layer"].astype(str).unique())
    ncol = min(3, len(comps))
    nrow = int(np.ceil(len(comps) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.8 * ncol, (0.32 * top + 1.4) * nrow), squeeze=False,
                             layout="constrained")
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
        sc = ax.scatter(x, y, s=size, c=sub["nes"].astype(float), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                        edgecolors=np.where(sub["fdr"] < 0.05, "black", "none"), linewidths=1.0)
        ax.set_xticks(range(len(layers)), layers, fontsize=8)
        ax.set_yticks(range(len(terms)), [lab[:48] for lab in terms], fontsize=7)
        ax.set_xlim(-0.6, len(layers) - 0.4)
        ax.set_ylim(-0.6, max(len(terms), 1) - 0.4)
        ax.set_title(f"{title} {comp}", fontsize=9)
    for ax in axes.ravel()[len(comps):]:
        ax.axis("off")
    fig.colorbar(sc, ax=axes.ravel().tolist(), label="NES (ring: FDR < 0.05; size: -log10 FDR)", shrink=0.6)
    return fig


def plot_pathway_heatmap(pathways: pd.DataFrame, *, top: int = 25):
    """Heatmap of the multi-omics pathway table: the ``top`` pathways (smallest combined FDR in any
    factor or model) x factors and models; colour = Stouffer z across layers, * = FDR < 0.05."""
    if pathways is None or pathways.empty:
        return _placeholder("no multi-omics pathway table")
    p = pathways.copy()
    multi = p["collection"].nunique() > 1
    p["row"] = (p["collection"].astype(str) + ": " if multi else "") + p["term"].astype(str)
    p["col"] = p["source"].astype(str) + " " + p["component"].astype(str)
    rows = list(p.groupby("row")["fdr"].min().sort_values(kind="mergesort").index[:top])
    cols = [f"{s} {c}" for s in ("mofa", "early", "late")
            for c in _component_order(p.loc[p["source"] == s, "component"])]
    cols += [c for c in sorted(p["col"].unique()) if c not in cols]
    Z = p.pivot_table(index="row", columns="col", values="z", aggfunc="first").reindex(index=rows, columns=cols)
    F = p.pivot_table(index="row", columns="col", values="fdr", aggfunc="first").reindex(index=rows, columns=cols)
    vmax = max(float(np.nanmax(np.abs(Z.to_numpy()))) if Z.notna().any().any() else 1.0, 1.0)
    fig, ax = plt.subplots(figsize=(2.5 + 0.55 * len(cols), 0.3 * len(rows) + 1.8))
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


def enrichment_html(*, pathways: pd.DataFrame | None = None, models: pd.DataFrame | None = None,
                    competitive: pd.DataFrame | None = None, ora: pd.DataFrame | None = None,
                    figures: dict[str, bytes] | None = None) -> str:
    """The enrichment part of the report beyond the MOFA prerank table: figures, the multi-omics
    pathway table, model prerank, competitive test and over-representation (top rows)."""
    out = ['<p class="note">Prerank (GSEA, gene-set permutation) per layer; every collection has its own FDR. '
           "The multi-omics table combines the layers' signed z-scores by Stouffer's method (BH-adjusted per "
           "collection and factor or model), so a pathway seen in two layers ranks above one seen in one. "
           "Conditional columns retest each set without the genes of more significant overlapping sets: a set "
           "significant only through shared genes has a large conditional FDR.</p>"]
    shown = {"heatmap": pathways is not None and len(pathways) > 0, "dots_mofa": True,
             "dots_models": models is not None and len(models) > 0}  # no figure without its table
    for key, alt in (("heatmap", "multi-omics pathway heatmap"), ("dots_mofa", "MOFA factor dot plots"),
                     ("dots_models", "model dot plots")):
        if figures and figures.get(key) and shown[key]:
            out.append(_img(figures[key], alt) if key == "heatmap" else details(alt.capitalize(), _img(figures[key], alt)))
    if pathways is not None and len(pathways):
        cols = [c for c in ("collection", "source", "component", "rank", "term", "z", "fdr", "fdr_conditional",
                            "layers", "layers_significant") if c in pathways.columns]
        out += ["<h3>Multi-omics pathway table (top 5 per factor or model)</h3>",
                _table(pathways[pathways["rank"] <= 5][cols], max_rows=200)]
    if models is not None and len(models):
        cols = [c for c in ("collection", "model", "layer", "target", "rank", "term", "nes", "fdr", "set_size")
                if c in models.columns]
        out += ["<h3>Early and late models: prerank of coefficients (top 3)</h3>",
                _table(models[models["rank"] <= 3][cols], max_rows=200)]
    if competitive is not None and len(competitive):
        cols = [c for c in ("collection", "layer", "factor", "rank", "term", "statistic", "correlation", "fdr")
                if c in competitive.columns]
        out += ["<h3>Competitive test of MOFA weights (top 2)</h3>",
                '<p class="note">Rank-sum of set members vs other genes, variance inflated by the inter-gene '
                "correlation estimated in the layer's data after removing the factors (CAMERA).</p>",
                _table(competitive[competitive["rank"] <= 2][cols], max_rows=200)]
    if ora is not None and len(ora):
        cols = [c for c in ("collection", "source", "layer", "component", "side", "term", "overlap", "set_size",
                            "background_size", "fdr", "fdr_conditional") if c in ora.columns]
        out += ["<h3>Over-representation of the top features (FDR &lt; 0.05)</h3>",
                '<p class="note">Background: every scored feature of the layer, mapped to genes.</p>',
                _table(ora[ora["fdr"] < 0.05][cols], max_rows=100)]
    return "".join(out)
