"""What the omics add: over the clinical covariates, over a naive model, and at a site not seen in training.

* :func:`added_facts`: from the gains table (:func:`moflow.evaluate.ranking.gains`), the comparison the
  verdict opens with: the best gain over the clinical covariates alone where they are named, else over
  the naive baseline, with its corrected interval and Holm-adjusted p;
* :func:`added_sentence`: that comparison in one sentence, "nothing detectable" where it is the answer;
* :func:`added_html`: the report section (gains, the covariates' screen, per-site scores, shift).
"""

from __future__ import annotations

import html

import pandas as pd

from moflow.report.html import table

_ALPHA = 0.05
# fewer outer splits than this (the default 5 folds x 2 repeats; leave-one-site-out gives one per site): the
# gain's corrected interval is wide, and "nothing detectable" says so
_FEW_SPLITS = 10
_LABELS = {"balanced_accuracy": "balanced accuracy", "harrell_c": "Harrell's C", "r2": "R^2"}


def added_facts(gains: pd.DataFrame | None, board: pd.DataFrame) -> dict | None:
    """The verdict's first comparison: the best strategy's gain over ``clinical`` (else ``naive``).

    Parameters
    ----------
    gains : pandas.DataFrame or None
        The gains table (:func:`moflow.evaluate.ranking.gains`).
    board : pandas.DataFrame
        The scoreboard (the baseline's own score).

    Returns
    -------
    dict or None
        baseline, baseline_score, metric, strategy, gain, lo, hi, p (Holm-adjusted), detectable, n (the
        strategies compared), n_splits (the paired outer splits); None without a gains table or baseline row.
    """
    if gains is None or not len(gains):
        return None
    base = "clinical" if (gains["baseline"] == "clinical").any() else "naive"
    g = gains[(gains["baseline"] == base) & (gains["kind"] != "reference") & (gains["strategy"] != "clinical")]
    if base == "clinical":  # what the omics add to the covariates: the strategies with them
        g = g[g["strategy"].str.endswith("+clinical")]
    if not len(g) or not (board["strategy"] == base).any():
        return None
    metric = str(g["metric"].iloc[0])
    found = g[(g["p_holm"] < _ALPHA) & (g["gain"] > 0)]  # the largest detectable gain, else the largest gain
    top = (found if len(found) else g).sort_values(["gain", "strategy"], ascending=[False, True]).iloc[0]
    p = float(top["p_holm"]) if pd.notna(top["p_holm"]) else float("nan")
    row = board[board["strategy"] == base].iloc[0]
    return {
        "baseline": base,
        "baseline_score": float(row[metric]),
        "metric": metric,
        "label": _LABELS.get(metric, metric),
        "strategy": str(top["strategy"]),
        "gain": float(top["gain"]),
        "lo": float(top["gain_lo"]),
        "hi": float(top["gain_hi"]),
        "p": p,
        "detectable": bool(p < _ALPHA and top["gain"] > 0),
        "n": len(g),
        "n_splits": int(top["n_splits"]) if pd.notna(top.get("n_splits")) else 0,
    }


def added_sentence(a: dict) -> str:
    """The comparison of :func:`added_facts` in one sentence."""
    what = "the clinical covariates alone" if a["baseline"] == "clinical" else "a naive model that scores chance"
    subject = "the omics" if a["baseline"] == "clinical" else "the strategies"
    base = f"{what} ({a['baseline']}: {a['label']} {a['baseline_score']:.3f})"
    detail = (
        f"{a['strategy']}, {a['gain']:+.3f}, 95% interval {a['lo']:+.3f} to {a['hi']:+.3f}, Holm-adjusted "
        f"p = {a['p']:.2g} over {a['n']} strategies"
    )
    if a["detectable"]:
        return f"Over {base}, {subject} add {a['gain']:+.3f} ({detail})."
    few = a.get("n_splits", 0)
    if 0 < few < _FEW_SPLITS and a["gain"] > 0:  # little power: say so, or "nothing" reads as "no gain"
        detail += f"; from {few} outer splits only, the corrected interval is wide: a gain this large can go undetected"
    return f"Over {base}, {subject} add nothing detectable (the best, {detail})."


def added_html(
    v: dict,
    gains: pd.DataFrame | None,
    clinical: pd.DataFrame | None,
    sites: pd.DataFrame | None = None,
    shift: pd.DataFrame | None = None,
) -> str:
    """The section "What the omics add": the sentence, the gains, the covariates' screen, the sites.

    Parameters
    ----------
    v : dict
        The verdict's facts (``added``: :func:`added_facts`).
    gains, clinical, sites, shift : pandas.DataFrame, optional
        The gains table, the clinical covariates' screen, the per-site scores and the shift diagnostic.

    Returns
    -------
    str
        HTML; empty where there is nothing to show.
    """
    out = []
    a = v.get("added")
    if a:
        out.append(f"<p>{html.escape(added_sentence(a))}</p>")
    if gains is not None and len(gains):
        out.append(
            "<h3>Gain of every strategy over the baselines</h3><p>Paired on the same splits: the mean difference "
            "in the primary metric, its Nadeau-Bengio corrected 95% interval and the corrected resampled t-test; "
            "p_holm is adjusted over the strategies compared with the same baseline. "
            "<code>&lt;strategy&gt;+clinical</code> is the strategy with the clinical covariates beside it "
            "(unpenalized, the omics at the penalty the strategy's inner CV chose); <code>trees</code> is a tuned "
            "tree ensemble on the concatenated layers, a reference that is never chosen as the best.</p>"
        )
        out.append(table(gains, max_rows=200))
    if clinical is not None and len(clinical):
        leaks = clinical[clinical["likely_leak"].astype(str).str.lower() == "true"]
        out.append(
            "<h3>Clinical covariates</h3><p>Each covariate's own score on the training samples (in-sample, a "
            "screen): numeric ones imputed by the training median with a missing-value indicator, categorical "
            "ones one-hot against their most frequent level, all learned inside each training fold.</p>"
        )
        if len(leaks):
            names = ", ".join(html.escape(str(c)) for c in leaks["covariate"])
            out.append(
                f'<p class="warn"><b>Likely leak:</b> {names} alone predict(s) the outcome nearly perfectly. '
                "Check that it was recorded before the outcome and not derived from it; every score with the "
                "clinical covariates carries it.</p>"
            )
        out.append(table(clinical))
    if sites is not None and len(sites):
        out.append(
            "<h3>Transfer to an unseen site</h3><p>Each site held out once, every strategy trained on the other "
            "sites: the score on the held-out site beside the same site's samples scored by the pooled CV, "
            "where the site was seen in training (<code>_pooled_cv</code>); <code>_drop</code> is the difference, "
            "negative where leaving the site out costs. The scoreboard above is that of the held-out sites."
            + (
                " <code>rough</code>: a site too small for a stable score (fewer held-out samples than twice "
                "the classes, than 5 for a continuous outcome, or fewer than 5 events); read its score with "
                "its size."
                if "rough" in sites.columns
                else ""
            )
            + "</p>"
        )
        out.append(table(sites, max_rows=300))
    if shift is not None and len(shift):
        out.append(
            "<h3>Shift of a held-out site, per layer</h3><p>Cross-validated AUC of a classifier telling the "
            "held-out site's samples from the training sites' after preprocessing: 0.5, no detectable shift; "
            "near 1, the site is recognisable from the layer alone (batch or population shift).</p>"
        )
        out.append(table(shift, max_rows=300))
    return "".join(out)
