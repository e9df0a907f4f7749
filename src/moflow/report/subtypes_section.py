"""The report's "Subtypes" section: groups of samples found without an outcome, and how many the data support.

The evidence for k (prediction strength against a reference without structure), a heatmap of every subtype's
markers per layer, the section's body and its one-sentence verdict. Nothing here touches files.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from moflow.report.figures import png_bytes, subplots
from moflow.report.html import PALETTE, details, img, table
from moflow.report.svg import scatter_svg

_KSEL_SHOWN = (
    "representation clustering k strength strength_lo strength_hi reference reference_lo reference_hi gain gain_lo "
    "pac chosen resamples"
).split()
_TESTS = {"chi2": "chi-squared test", "kruskal": "Kruskal-Wallis test"}


def _chosen(ks: pd.DataFrame) -> pd.Series:
    c = ks["chosen"] if "chosen" in ks.columns else pd.Series(False, index=ks.index)
    if pd.api.types.is_bool_dtype(c):
        return c.fillna(False).astype(bool)
    return c.astype(str).str.strip().str.lower().isin({"true", "1", "yes"})


def _kept(ks: pd.DataFrame) -> tuple[pd.Series | None, pd.Series | None, pd.Series]:
    """(the chosen row or None, the row with the largest gain, the kept combination's mask)."""
    mask = _chosen(ks)
    gains = pd.to_numeric(ks["gain"], errors="coerce") if len(ks) else pd.Series(dtype=float)
    best = ks.loc[gains.idxmax()] if gains.notna().any() else (ks.iloc[0] if len(ks) else None)
    row = ks[mask].iloc[0] if mask.any() else None
    ref = row if row is not None else best
    if ref is None:
        return None, None, mask
    combo = (ks["representation"] == ref["representation"]) & (ks["clustering"] == ref["clustering"])
    return row, best, combo


def _order(labels) -> list[str]:
    """Subtype names in their natural order (S2 before S10)."""
    return sorted({str(s) for s in labels}, key=lambda s: (0, int(s[1:]), s) if s[1:].isdigit() else (1, 0, s))


def _sizes(assignments: pd.DataFrame) -> list[tuple[str, int]]:
    counts = assignments["subtype"].astype(str).value_counts()
    return [(s, int(counts[s])) for s in _order(counts.index)]


def _combo(r: pd.Series) -> str:
    return f"{r['representation']} + {r['clustering']}"


def plot_k_evidence(k_selection: pd.DataFrame, *, min_strength: float = 0.6) -> bytes:
    """The evidence for the number of subtypes: prediction strength of the kept combination, and every gain.

    Left: the kept combination's (the chosen row's, else the largest gain's) mean prediction strength against
    k with its 2.5-97.5 percentile band, the reference without structure likewise, ``min_strength`` dashed
    and the chosen k marked. Right: the gain over the reference per k of every representation and
    clustering (the kept one thick, with its 95% interval), 0 dotted.

    Parameters
    ----------
    k_selection : pandas.DataFrame
        The k-selection table (representation, clustering, k, strength and reference with their bounds, gain,
        gain_lo, chosen).
    min_strength : float
        The smallest prediction strength a chosen k must reach.

    Returns
    -------
    bytes
        The PNG.
    """
    row, _, combo = _kept(k_selection)
    fig, (ax, ax2) = subplots(1, 2, figsize=(11, 4.0))
    kept = k_selection[combo].sort_values("k")
    k = kept["k"].to_numpy(float)
    for col, name, colour in (("strength", "data", PALETTE[0]), ("reference", "reference without structure", "0.45")):
        ax.fill_between(k, kept[f"{col}_lo"], kept[f"{col}_hi"], color=colour, alpha=0.18, lw=0)
        ax.plot(k, kept[col], marker="o", ms=4, color=colour, label=name)
    ax.axhline(min_strength, color="0.3", ls="--", lw=1, label=f"minimum {min_strength:g}")
    if row is not None:
        ax.plot(
            [row["k"]], [row["strength"]], marker="*", ms=16, color=PALETTE[1], ls="", label=f"chosen k = {row['k']}"
        )
    label = _combo(kept.iloc[0]) if len(kept) else "none"
    ax.set_title(f"Prediction strength, {label}" + ("" if row is not None else " (no k chosen: k = 1)"), fontsize=9)
    ax.set(ylim=(0, 1.02), xlabel="k", ylabel="prediction strength (2.5-97.5 percentiles)")
    ax.legend(fontsize=7, loc="lower left")
    reps = list(dict.fromkeys(k_selection["representation"]))
    styles = {c: s for c, s in zip(dict.fromkeys(k_selection["clustering"]), ("-", "--", ":", "-.", (0, (1, 3))))}
    for (rep, clu), d in k_selection.groupby(["representation", "clustering"], sort=False):
        d = d.sort_values("k")
        is_kept = bool(combo[d.index].all())
        colour = PALETTE[reps.index(rep) % len(PALETTE)]
        if is_kept:
            half = d["gain"] - d["gain_lo"]
            ax2.fill_between(d["k"], d["gain_lo"], d["gain"] + half, color=colour, alpha=0.2, lw=0)
        lw, alpha, z = (2.8, 1.0, 3) if is_kept else (1.0, 0.6, 2)
        label = f"{rep} + {clu}" + (" (kept)" if is_kept else "")
        ax2.plot(d["k"], d["gain"], color=colour, ls=styles.get(clu, "-"), lw=lw, alpha=alpha, zorder=z, label=label)
    ax2.axhline(0, color="0.3", ls=":", lw=1)
    ax2.set(xlabel="k", ylabel="gain over the reference")
    ax2.set_title("Gain per k, every representation and clustering (kept: thick, 95% interval)", fontsize=9)
    ax2.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    for a in (ax, ax2):
        a.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return png_bytes(fig)


def plot_subtype_km(km: pd.DataFrame, survival: pd.DataFrame | None = None, *, time_unit: str = "") -> bytes:
    """Each subtype's Kaplan-Meier curve with its 95% band, the log-rank p in the title.

    Parameters
    ----------
    km : pandas.DataFrame
        :func:`moflow.subtypes.subtype_kaplan_meier`'s table (subtype, time, survival, lo, hi, at_risk, events).
    survival : pandas.DataFrame, optional
        The log-rank test (one row: chi2, df, p, n).
    time_unit : str
        The unit of the times, for the axis label.

    Returns
    -------
    bytes
        The PNG.
    """
    fig, ax = subplots(1, 1, figsize=(7, 4.2))
    for i, g in enumerate(_order(km["subtype"])):
        k = km[km["subtype"].astype(str) == g].sort_values("time", kind="mergesort")
        colour = PALETTE[i % (len(PALETTE) - 2)]
        n = int(k["at_risk"].iloc[0])
        ax.step(k["time"], k["survival"], where="post", color=colour, label=f"{g} (n = {n})")
        lo, hi = k["lo"].fillna(k["survival"]), k["hi"].fillna(k["survival"])
        ax.fill_between(k["time"], lo, hi, step="post", color=colour, alpha=0.12, lw=0)
    title = "Survival of the subtypes (Kaplan-Meier, 95% bands)"
    if survival is not None and len(survival):
        r = survival.iloc[0]
        title += f"\nlog-rank chi2 = {float(r['chi2']):.2f} on {int(r['df'])} df, p = {float(r['p']):.2g}"
    ax.set_title(title, fontsize=9, loc="left")
    ax.set(ylim=(0, 1.02), ylabel="event-free probability", xlabel="time" + (f" ({time_unit})" if time_unit else ""))
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def plot_subtype_heatmap(
    layers: dict[str, pd.DataFrame], assignments: pd.DataFrame, markers: pd.DataFrame, *, top: int = 10
) -> bytes | None:
    """Every subtype's top markers per layer: z-scores, samples ordered by subtype, subtypes coloured on top.

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: samples x features}, as the markers were computed on.
    assignments : pandas.DataFrame
        Columns sample, subtype (and confidence: samples sorted by it within their subtype).
    markers : pandas.DataFrame
        The markers (layer, subtype, feature, p...).
    top : int
        The markers shown per subtype and layer (smallest p).

    Returns
    -------
    bytes or None
        The PNG (one panel per layer, stacked), or None with no marker or a single subtype.
    """
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    subtypes = _order(assignments["subtype"]) if len(assignments) else []
    shown = [lay for lay in layers if lay in set(markers["layer"].astype(str))] if len(markers) else []
    if len(subtypes) < 2 or not shown:
        return None
    a = assignments.assign(
        _o=assignments["subtype"].astype(str).map({s: i for i, s in enumerate(subtypes)}),
        _c=-assignments["confidence"] if "confidence" in assignments.columns else 0,
    ).sort_values(["_o", "_c"], kind="mergesort")
    samples = a["sample"].astype(str).tolist()
    blocks = []
    for lay in shown:
        m = markers[(markers["layer"].astype(str) == lay)].sort_values("p", kind="mergesort")
        feats = list(dict.fromkeys(m.groupby("subtype", sort=False).head(top)["feature"].astype(str)))
        X = layers[lay].copy()
        X.index, X.columns = X.index.astype(str), X.columns.astype(str)
        V = X.reindex(index=samples, columns=feats).to_numpy(float).T
        with np.errstate(all="ignore"):
            sd = np.nanstd(V, axis=1, keepdims=True)
            Z = (V - np.nanmean(V, axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
        blocks.append((lay, feats, np.clip(Z, -3, 3)))
    ratios = [r for _, f, _ in blocks for r in (0.35, max(1.0, 0.16 * len(f)))]
    size, gs = (9, 0.6 + sum(ratios)), {"height_ratios": ratios}
    fig, axes = subplots(2 * len(blocks), 1, figsize=size, squeeze=False, layout="constrained", gridspec_kw=gs)
    cmap_s = ListedColormap([PALETTE[i % (len(PALETTE) - 2)] for i in range(len(subtypes))])
    cmap_z = colormaps["RdBu_r"].with_extremes(bad="#dddddd")
    codes = a["_o"].to_numpy(float)[None, :]
    for j, (lay, feats, Z) in enumerate(blocks):
        bar, ax = axes[2 * j, 0], axes[2 * j + 1, 0]
        bar.imshow(codes, aspect="auto", cmap=cmap_s, vmin=-0.5, vmax=len(subtypes) - 0.5, interpolation="nearest")
        bar.set(xticks=[], yticks=[])
        bar.set_title(f"{lay}: top {top} markers per subtype (z-scores per feature)", fontsize=9, loc="left")
        for i, s in enumerate(subtypes):
            pos = np.flatnonzero(codes[0] == i)
            if len(pos):
                bar.text(pos.mean(), 0, s, ha="center", va="center", fontsize=7, color="white", fontweight="bold")
        im = ax.imshow(np.ma.masked_invalid(Z), aspect="auto", cmap=cmap_z, vmin=-3, vmax=3, interpolation="nearest")
        ax.set_yticks(range(len(feats)), [f[:30] for f in feats], fontsize=max(4, 7 - len(feats) // 30))
        ax.set_xticks([])
        ax.set_xlabel(f"samples ({len(samples)}), ordered by subtype" if j == len(blocks) - 1 else "")
    fig.colorbar(im, ax=[axes[2 * j + 1, 0] for j in range(len(blocks))], shrink=0.6, label="z-score")
    return png_bytes(fig)


def _answer(k_selection: pd.DataFrame, assignments: pd.DataFrame) -> str:
    """The answer in words (plain text)."""
    row, best, _ = _kept(k_selection)
    if row is None:
        if best is None:
            return "No reproducible subtypes: no k could be evaluated."
        kmax = int(pd.to_numeric(k_selection["k"]).max())
        return (
            f"No reproducible subtypes: no k from 2 to {kmax} beat a reference without structure (best: "
            f"k = {int(best['k'])}, strength {best['strength']:.2f} against {best['reference']:.2f}, {_combo(best)})."
        )
    sizes = ", ".join(f"{s} {n}" for s, n in _sizes(assignments))
    pac = f"; PAC {float(row['pac']):.2f}" if "pac" in row.index and pd.notna(row["pac"]) else ""
    return (
        f"{int(row['k'])} subtypes (sizes {sizes}), chosen because their prediction strength on held-out halves, "
        f"{row['strength']:.2f} (2.5-97.5 percentiles {row['strength_lo']:.2f}-{row['strength_hi']:.2f}), beats "
        f"{row['reference']:.2f} ({row['reference_lo']:.2f}-{row['reference_hi']:.2f}) of a reference without "
        f"structure by {row['gain']:.2f} (95% lower bound {row['gain_lo']:.2f}): the largest gain among the k, "
        f"representations and clusterings whose strength reaches the minimum and whose gain's lower bound is above "
        f"0 ({_combo(row)}){pac}."
    )


_READ = (
    "How to read it: the prediction strength of k is the share of held-out co-members (pairs of samples "
    "the clustering of one half puts together) that the clustering fitted on the other half keeps together, "
    "for the worst-kept cluster (Tibshirani &amp; Walther 2005), averaged over random halvings; preprocessing "
    "and representation are refit inside each resample. The reference is a Gaussian with the data's covariance "
    "(no subtypes, same correlation), clustered the same way: a k is kept only where the data beat it, and k = 1 "
    "(no reproducible subtypes) is a valid answer. Several representations and clusterings are tried and the "
    "best kept, which favours the best one by chance: a gain just above 0 deserves caution."
)


def _outcome_sentence(associations: pd.DataFrame, outcome_column: str) -> str:
    r = associations[associations["column"].astype(str) == str(outcome_column)].iloc[0]
    linked = pd.notna(r["fdr"]) and float(r["fdr"]) < 0.05
    test = _TESTS.get(str(r["test"]), str(r["test"]))
    return (
        f"The subtypes, found without the outcome ({outcome_column}), "
        + ("are associated with it" if linked else "are not associated with it at FDR < 0.05")
        + f" ({test}, p = {float(r['p']):.2g}, BH FDR {float(r['fdr']):.2g}, n = {int(r['n'])})."
    )


def _embedding(embedding: pd.DataFrame, assignments: pd.DataFrame) -> str:
    num = list(embedding.drop(columns=["sample", "subtype"], errors="ignore").select_dtypes("number").columns)
    if len(num) < 2:
        return ""
    s = embedding["sample"].astype(str)
    conf = assignments.set_index(assignments["sample"].astype(str)).get("confidence")
    extra = {"confidence": s.map(conf).to_numpy(float)} if conf is not None else None
    kw = {"title": "Samples by subtype", "colour_name": "subtype", "width": 460, "height": 360, "extra": extra}
    x, y = embedding[num[0]], embedding[num[1]]
    svg = scatter_svg(x, y, s, embedding["subtype"].astype(str), xlabel=str(num[0]), ylabel=str(num[1]), **kw)
    return '<div class="figs linked">' + svg + "</div>"


def subtypes_html(
    *,
    k_selection: pd.DataFrame,
    assignments: pd.DataFrame,
    markers: pd.DataFrame,
    associations: pd.DataFrame,
    survival: pd.DataFrame | None = None,
    profile: pd.DataFrame | None = None,
    embedding: pd.DataFrame | None = None,
    evidence_png: bytes | None = None,
    heatmap_png: bytes | None = None,
    km_png: bytes | None = None,
    outcome_column: str | None = None,
) -> str:
    """The "Subtypes" section's body: the answer in words, how to read it, the figures and tables.

    Parameters
    ----------
    k_selection, assignments, markers, associations : pandas.DataFrame
        The subtypes stage's tables: evidence per k, representation and clustering; sample, subtype and
        confidence; markers per layer and subtype; associations with the sample sheet's columns.
    survival : pandas.DataFrame, optional
        The log-rank test of the subtypes (one row: chi2, df, p, n).
    profile : pandas.DataFrame, optional
        Mean MOFA factor values per subtype (subtype, Factor1, ...).
    embedding : pandas.DataFrame, optional
        Columns sample, subtype and two coordinates: an interactive scatter.
    evidence_png, heatmap_png, km_png : bytes, optional
        :func:`plot_k_evidence`, :func:`plot_subtype_heatmap` and :func:`plot_subtype_km`.
    outcome_column : str, optional
        The sample sheet's outcome column: one sentence on the subtypes and the outcome where it was tested.

    Returns
    -------
    str
        The HTML.
    """
    e = html.escape
    out = [f'<p class="key">{e(_answer(k_selection, assignments))}</p>', f'<p class="note">{_READ}</p>']
    if evidence_png:
        out.append(img(evidence_png, "prediction strength and gain against k"))
    if embedding is not None and len(embedding):
        out.append(_embedding(embedding, assignments))
    if len(k_selection):
        _, _, combo = _kept(k_selection)
        ks = k_selection.assign(_kept=~combo).sort_values(["_kept", "representation", "clustering", "k"])
        cols = [c for c in _KSEL_SHOWN if c in ks.columns]
        out += ["<h3>Evidence for k (kept combination first)</h3>", table(ks[cols], max_rows=300)]
    if len(assignments):
        a = assignments.assign(subtype=assignments["subtype"].astype(str))
        g = a.groupby("subtype").agg(samples=("sample", "size"))
        if "confidence" in a.columns:
            g["mean_confidence"] = a.groupby("subtype")["confidence"].mean()
        g = g.reindex(_order(g.index)).reset_index()
        out += ["<h3>Subtypes: sizes and confidence</h3>", table(g)]
    if heatmap_png:
        out += ["<h3>Markers</h3>", img(heatmap_png, "markers of each subtype per layer")]
    if markers is not None and len(markers):
        m = markers.assign(layer=markers["layer"].astype(str), subtype=markers["subtype"].astype(str))
        count = m.assign(significant=pd.to_numeric(m["fdr"], errors="coerce") < 0.05).groupby(["layer", "subtype"])
        summ = count.agg(tested=("feature", "size"), fdr_below_0_05=("significant", "sum")).reset_index()
        top = m.sort_values("p", kind="mergesort").groupby(["layer", "subtype"], sort=False).head(5)
        top = top.sort_values(["layer", "subtype", "p"], kind="mergesort")
        out += [
            "<h3>Features that separate each subtype (FDR &lt; 0.05, per layer)</h3>",
            '<p class="note">Each subtype against the rest, Welch\'s t test per feature, BH per layer and subtype.</p>',
            table(summ),
            details("Top 5 markers per subtype and layer", table(top, max_rows=500)),
        ]
    out.append("<h3>Subtypes and the sample sheet</h3>")
    if associations is not None and len(associations):
        if outcome_column is not None and str(outcome_column) in set(associations["column"].astype(str)):
            out.append(f'<p class="key">{e(_outcome_sentence(associations, outcome_column))}</p>')
        out.append(table(associations.sort_values("p", kind="mergesort")))
    else:
        out.append('<p class="note">No column of the sample sheet was tested (a single subtype or none).</p>')
    if survival is not None and len(survival):
        r = survival.iloc[0]
        out += [
            "<h3>Survival of the subtypes</h3>",
            f"<p>Log-rank test: chi2 = {float(r['chi2']):.2f} on {int(r['df'])} df, p = {float(r['p']):.2g} "
            f"(n = {int(r['n'])}).</p>",
        ]
        if km_png:
            out.append(img(km_png, "Kaplan-Meier curve of each subtype"))
    if profile is not None and len(profile):
        p = profile.assign(subtype=profile["subtype"].astype(str)).set_index("subtype")
        p = p.reindex(_order(p.index)).reset_index()
        out += ["<h3>MOFA factor profile (mean factor value per subtype)</h3>", table(p)]
    return "".join(out)


def subtypes_sentence(k_selection: pd.DataFrame, assignments: pd.DataFrame) -> str:
    """One plain-text sentence for the report's verdict (not escaped): the subtypes found, or none.

    Parameters
    ----------
    k_selection, assignments : pandas.DataFrame
        The k-selection table and the assignments.

    Returns
    -------
    str
        E.g. "Subtypes: 3 reproducible subtypes (S1 60, S2 50, S3 40 samples; prediction strength 0.91
        against 0.55 without structure, network + spectral)."
    """
    row, _, _ = _kept(k_selection)
    if row is None:
        return "Subtypes: none reproducible (no k beat a reference without structure)."
    sizes = ", ".join(f"{s} {n}" for s, n in _sizes(assignments))
    return (
        f"Subtypes: {int(row['k'])} reproducible subtypes ({sizes} samples; prediction strength "
        f"{row['strength']:.2f} against {row['reference']:.2f} without structure, {_combo(row)})."
    )
