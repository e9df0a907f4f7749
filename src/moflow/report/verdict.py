"""The report's first screen: the verdict, read off the pipeline's tables.

:func:`verdict` gathers the facts (best strategy and its interval, the gain over the best single
layer and its test, chance, the effective sample size, the layers and programs that carry the
prediction); :func:`verdict_sentence` states them in one plain sentence; :func:`verdict_html` lays
them out. Every number comes from a table the run wrote (scoreboard, comparison, permutation test,
late weights, MOFA variance explained and associations, pathway tables), so a test can check them
against those tables. Nothing here touches files.
"""

from __future__ import annotations

import pandas as pd

from moflow.report.added import added_facts, added_sentence
from moflow.report.html import esc, fdr_text

ALPHA = 0.05
PRIMARY = ("balanced_accuracy", "harrell_c", "r2")
LABELS = {"harrell_c": "Harrell's C", "r2": "R2"}


def board_metric(board: pd.DataFrame) -> str:
    """The primary metric a scoreboard carries (the first of :data:`PRIMARY` among its columns).

    The one :func:`moflow.evaluate.primary_metric` names for the run's outcome task.
    """
    return next(m for m in PRIMARY if m in board.columns)


def chance_level(metric: str, n_classes: int | None = None) -> float:
    """The score of a model that knows nothing.

    1/k for balanced accuracy over k classes (``n_classes``; 0.5 when not known), 0.5 for a concordance or an
    AUC, 0 for R2 and correlations.
    """
    if metric == "balanced_accuracy":
        return 1.0 / n_classes if n_classes and n_classes > 1 else 0.5
    return 0.5 if metric in ("roc_auc", "harrell_c", "uno_c", "td_auc") or metric.startswith("auc_") else 0.0


def outcome_factor(associations: pd.DataFrame | None, outcome_column: str) -> pd.Series | None:
    """The MOFA factor most associated with the outcome (smallest p)."""
    if associations is None or associations.empty:
        return None
    a = associations[associations["covariate"] == outcome_column]
    if a.empty:
        return None
    return a.sort_values(["p", "factor"]).iloc[0]


def _row(board: pd.DataFrame, metric: str, r: pd.Series) -> dict:
    return {
        "strategy": str(r["strategy"]),
        "kind": str(r.get("kind", "")),
        "score": float(r[metric]),
        "lo": float(r[f"{metric}_lo"]),
        "hi": float(r[f"{metric}_hi"]),
    }


def _programs(
    best: str,
    of: pd.Series | None,
    enrichment: pd.DataFrame | None,
    pathways: pd.DataFrame | None,
    hierarchical: pd.DataFrame | None,
    top: int,
) -> dict:
    """The gene sets behind the best strategy.

    Its own model's pathways where the multi-omics table has them (early, late), else the outcome factor's
    (MOFA); hierarchical: its top-weighted programs.
    """
    if best == "hierarchical" and hierarchical is not None and len(hierarchical):
        v = (
            hierarchical["structure_r"]
            if "structure_r" in hierarchical.columns
            else hierarchical.drop(columns=["layer", "source", "feature"]).astype(float).abs().max(axis=1)
        ).astype(float)
        h = hierarchical.assign(v=v, a=v.abs()).sort_values(["a", "feature"], ascending=[False, True])
        h = h.drop_duplicates("feature").head(top)
        return {
            "source": "hierarchical",
            "what": "the hierarchical model's top-weighted programs",
            "items": [
                {
                    "term": str(r["feature"]),
                    "layers": str(r["layer"]),
                    "value": float(r["v"]),
                    "value_name": "structure r" if "structure_r" in hierarchical.columns else "|coef|",
                    "fdr": None,
                }
                for _, r in h.iterrows()
            ],
        }
    if pathways is not None and len(pathways):
        src = best if best in set(pathways["source"]) else "mofa"
        p = pathways[pathways["source"] == src]
        if src == "mofa":
            p = p[p["component"] == (of["factor"] if of is not None else None)]
        what = (
            f"the {src} model's coefficients"
            if src != "mofa"
            else f"MOFA {of['factor']}"
            if of is not None
            else "the outcome factor"
        )
        p = p[p["fdr"] < ALPHA].sort_values(["fdr", "rank", "term"]).drop_duplicates("term").head(top)
        return {
            "source": src,
            "what": what,
            "items": [
                {
                    "term": str(r["term"]),
                    "layers": str(r.get("layers_significant") or r.get("layers", "")),
                    "value": float(r["z"]),
                    "value_name": "z",
                    "fdr": float(r["fdr"]),
                }
                for _, r in p.iterrows()
            ],
        }
    if enrichment is not None and len(enrichment) and of is not None:
        e = enrichment[(enrichment["factor"] == of["factor"]) & (enrichment["fdr"] < ALPHA)]
        e = e.sort_values(["fdr", "rank", "term"]).drop_duplicates("term").head(top)
        return {
            "source": "mofa",
            "what": f"MOFA {of['factor']}",
            "items": [
                {
                    "term": str(r["term"]),
                    "layers": str(r["layer"]),
                    "value": float(r["nes"]),
                    "value_name": "NES",
                    "fdr": float(r["fdr"]),
                }
                for _, r in e.iterrows()
            ],
        }
    return {"source": None, "what": None, "items": []}


def verdict(
    *,
    board: pd.DataFrame,
    layers: list[str],
    comparison: pd.DataFrame | None = None,
    permutation: pd.DataFrame | None = None,
    late_weights: pd.DataFrame | None = None,
    variance: pd.DataFrame | None = None,
    associations: pd.DataFrame | None = None,
    outcome_column: str = "outcome",
    enrichment: pd.DataFrame | None = None,
    pathways: pd.DataFrame | None = None,
    hierarchical: pd.DataFrame | None = None,
    n_classes: int | None = None,
    top_pathways: int = 3,
    gains: pd.DataFrame | None = None,
    clinical: pd.DataFrame | None = None,
) -> dict:
    """The facts of the verdict, from the run's tables (the scoreboard ranked best first).

    Parameters
    ----------
    board : pandas.DataFrame
        The scoreboard, best first.
    layers : list of str
        The cohort's layers.
    comparison : pandas.DataFrame, optional
        The best integration against the best single layer (corrected resampled t-test).
    permutation : pandas.DataFrame, optional
        The permutation test (used where it tested the best strategy).
    late_weights : pandas.DataFrame, optional
        The late integration's meta-learner weights per layer.
    variance : pandas.DataFrame, optional
        MOFA variance explained per factor and view.
    associations : pandas.DataFrame, optional
        MOFA factor associations with the covariates.
    outcome_column : str
        The covariate of ``associations`` that is the outcome.
    enrichment, pathways, hierarchical : pandas.DataFrame, optional
        MOFA prerank results, the multi-omics pathway table, and the hierarchical strategy's coefficients:
        the programs behind the best strategy.
    n_classes : int, optional
        The number of outcome classes (the chance level of balanced accuracy).
    top_pathways : int
        The most programs listed.
    gains : pandas.DataFrame, optional
        Every strategy's gain over the baselines (:func:`moflow.evaluate.ranking.gains`): the verdict opens
        with what the omics add over the clinical covariates (or a naive model): ``added``.
    clinical : pandas.DataFrame, optional
        The clinical covariates' screen: ``leaks``, the covariates flagged as a likely leak.

    Returns
    -------
    dict
        The facts :func:`verdict_sentence` and :func:`verdict_html` lay out: metric, label, best, layers,
        single_layer_cohort, chance, best_single, n_integration, permutation, beats_chance, comparison,
        effective, external, late, factor and programs.
    """
    from moflow.evaluate.ranking import best_strategy

    metric = board_metric(board)
    best = _row(board, metric, best_strategy(board))
    singles = board[board["kind"] == "single layer"]
    v = {
        "metric": metric,
        "label": LABELS.get(metric, metric.replace("_", " ")),
        "best": best,
        "layers": list(layers),
        "single_layer_cohort": len(layers) == 1,
        "chance": chance_level(metric, n_classes),
        "best_single": _row(board, metric, singles.iloc[0]) if len(singles) else None,
        "n_integration": int((board["kind"] == "integration").sum()),
        "added": added_facts(gains, board),
        "leaks": (
            [str(c) for c in clinical.loc[clinical["likely_leak"].astype(str).str.lower() == "true", "covariate"]]
            if clinical is not None and len(clinical)
            else []
        ),
    }
    # better than chance: the permutation test of the best strategy where it ran, else its interval
    v["permutation"] = None
    if permutation is not None and len(permutation):
        pm = permutation.iloc[0]
        if str(pm["strategy"]) == best["strategy"]:
            v["permutation"] = {
                "p": float(pm["p"]),
                "n": int(pm["n_permutations"]),
                "null_mean": float(pm["null_mean"]),
                "unit": str(pm.get("unit", "sample")),
            }
    v["beats_chance"] = v["permutation"]["p"] < ALPHA if v["permutation"] else best["lo"] > v["chance"]
    v["comparison"] = None
    if comparison is not None and len(comparison):
        c = comparison.iloc[0]
        v["comparison"] = {
            "integration": str(c["best_integration"]),
            "single": str(c["best_single_layer"]),
            "difference": float(c["difference"]),
            "p": float(c["p"]),
            "n_splits": int(c["n_splits"]),
            "significant": bool(float(c["p"]) < ALPHA),
        }
    first = best_strategy(board)
    n = int(first["n_samples"]) if "n_samples" in board.columns else None
    if "n_events" in board.columns and pd.notna(first["n_events"]):
        v["effective"] = {"n": int(first["n_events"]), "what": "events", "of": n}
    elif "smallest_class" in board.columns and pd.notna(first["smallest_class"]):
        v["effective"] = {"n": int(first["smallest_class"]), "what": "samples in the smallest class", "of": n}
    else:
        v["effective"] = {"n": n, "what": "samples", "of": n}
    test = f"test_{metric}"
    v["external"] = None
    if test in board.columns and pd.notna(first.get(test)):
        v["external"] = {
            "score": float(first[test]),
            "lo": _f(first.get(f"{test}_lo")),
            "hi": _f(first.get(f"{test}_hi")),
            "n": int(first["test_n_test"]),
        }
    v["late"] = None
    if late_weights is not None and len(late_weights) and late_weights["meta_weight"].sum() > 0:
        w = late_weights.assign(share=late_weights["meta_weight"] / late_weights["meta_weight"].sum())
        v["late"] = [
            (str(r["layer"]), float(r["share"]))
            for _, r in w.sort_values(["share", "layer"], ascending=[False, True]).iterrows()
        ]
    of = outcome_factor(associations, outcome_column)
    v["factor"] = None
    if of is not None:
        r2 = (
            variance[variance["factor"] == of["factor"]].sort_values(["r2", "view"], ascending=[False, True])
            if variance is not None
            else pd.DataFrame(columns=["view", "r2"])
        )
        v["factor"] = {
            "factor": str(of["factor"]),
            "p": float(of["p"]),
            "p_adj": float(of["p_adj"]),
            "test": str(of.get("test", "")),
            "r2": [(str(r["view"]), float(r["r2"])) for _, r in r2.iterrows()],
        }
    v["programs"] = _programs(best["strategy"], of, enrichment, pathways, hierarchical, top_pathways)
    return v


def _f(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _p(p: float) -> str:
    return f"{p:.2g}"


def verdict_sentence(v: dict) -> str:
    """The verdict in one plain sentence (no markup)."""
    b, label = v["best"], v["label"]
    lead = added_sentence(v["added"]) + " " if v.get("added") else ""
    if v.get("leaks"):
        lead += f"Likely leak: {', '.join(v['leaks'])} alone predict(s) the outcome nearly perfectly. "
    parts = [f"{b['strategy']} predicts best ({label} {b['score']:.3f}, 95% interval {b['lo']:.3f}-{b['hi']:.3f}"]
    if v["permutation"]:
        pm = v["permutation"]
        parts[0] += (
            f"; {'better than' if v['beats_chance'] else 'not distinguishable from'} chance, "
            f"permutation p = {_p(pm['p'])})"
        )
    else:
        parts[0] += f"; interval {'above' if v['beats_chance'] else 'includes'} chance level {v['chance']:.2g})"
    c = v["comparison"]
    if c is not None:
        sig = "significant" if c["significant"] else "not significant"
        if v["single_layer_cohort"]:
            parts.append(
                f"on this one-layer cohort {c['integration']} differs from the layer's own model "
                f"({c['single']}) by {c['difference']:+.3f} ({sig}, p = {_p(c['p'])})"
            )
        elif b["strategy"] == c["integration"]:
            parts.append(
                f"{c['difference']:+.3f} over the best single layer, {c['single']} ({sig}, corrected "
                f"resampled t-test p = {_p(c['p'])} over {c['n_splits']} splits)"
            )
        else:
            parts.append(
                f"the best integration, {c['integration']}, scores {c['difference']:+.3f} against the best "
                f"single layer, {c['single']} ({sig}, p = {_p(c['p'])})"
            )
    e = v["effective"]
    eff = f"effective sample size {e['n']} {e['what']}" + (f" of {e['of']}" if e["of"] and e["of"] != e["n"] else "")
    parts.append(eff)
    return lead + "; ".join(parts) + "."


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x >= 0.01 else f"{100 * x:.1f}%"


def verdict_html(v: dict, *, design_sentence: str | None = None, figure: str = "") -> str:
    """The first screen: the sentence, then one box per question.

    How good, better than a single layer, on how many samples, which layers, which programs, how many samples
    are needed.

    Parameters
    ----------
    v : dict
        The verdict's facts (:func:`verdict`).
    design_sentence : str, optional
        The design stage's one-sentence verdict on sample size.
    figure : str
        A figure (HTML) shown under the boxes (the scoreboard).

    Returns
    -------
    str
        The HTML.
    """
    b, label = v["best"], v["label"]
    facts = []
    chance = (
        f"permutation p = {_p(v['permutation']['p'])} ({v['permutation']['n']} label permutations"
        f"{', whole subjects' if v['permutation'].get('unit') == 'subject' else ''})"
        if v["permutation"]
        else f"chance level {v['chance']:.2g}"
    )
    ok = (
        '<span class="yes">better than chance</span>'
        if v["beats_chance"]
        else '<span class="no">not distinguishable from chance</span>'
    )
    ext = ""
    if v["external"]:
        x = v["external"]
        ci = f" ({x['lo']:.3f}-{x['hi']:.3f})" if x["lo"] is not None and x["hi"] is not None else ""
        ext = f"<br>External test set ({x['n']} samples): {label} {x['score']:.3f}{ci}."
    facts.append(
        (
            "Best strategy",
            f'<div class="big">{esc(b["strategy"])}</div>{esc(label)} {b["score"]:.3f} '
            f"(95% interval {b['lo']:.3f}-{b['hi']:.3f}), cross-validated.<br>{ok}: {esc(chance)}.{ext}",
        )
    )
    c = v["comparison"]
    if c is not None:
        cls, word = ("yes", "significant") if c["significant"] else ("meh", "not significant")
        head = "Integration vs this layer alone" if v["single_layer_cohort"] else "Gain over the best single layer"
        s = v["best_single"]
        single = (
            f" ({esc(label)} {s['score']:.3f}, {s['lo']:.3f}-{s['hi']:.3f})"
            if s and s["strategy"] == c["single"]
            else ""
        )
        facts.append(
            (
                head,
                f'<div class="big">{c["difference"]:+.3f}</div>{esc(c["integration"])} minus '
                f'{esc(c["single"])}{single}: <span class="{cls}">{word}</span> '
                f"(corrected resampled t-test p = {_p(c['p'])}, {c['n_splits']} splits).",
            )
        )
    elif v["best_single"] is None or v["n_integration"] == 0:
        facts.append(
            (
                "Gain over the best single layer",
                "No comparison: the scoreboard has no "
                + ("single-layer baseline." if v["best_single"] is None else "integration strategy."),
            )
        )
    e = v["effective"]
    facts.append(
        (
            "Effective sample size",
            f'<div class="big">{e["n"]}</div>{esc(e["what"])}'
            + (
                f" of {e['of']} samples in cross-validation"
                if e["of"] and e["what"] != "samples"
                else " in cross-validation"
            )
            + ".",
        )
    )
    lay = []
    if v["late"]:
        lay.append(
            "Late meta-learner weight: "
            + ", ".join(
                f'<span class="bar" style="width:{max(2, int(60 * s))}px"></span>{esc(layer)} {_pct(s)}'
                for layer, s in v["late"]
            )
            + "."
        )
    if v["factor"]:
        f = v["factor"]
        r2 = ", ".join(f"{esc(view)} {_pct(r)}" for view, r in f["r2"])
        lay.append(
            f"MOFA {esc(f['factor'])}, the factor most associated with the outcome (BH p = "
            f"{_p(f['p_adj'])}), explains {r2} of the variance"
            + (" of each layer." if len(f["r2"]) > 1 else " of the layer." if r2 else ".")
        )
    if not lay:
        lay.append("One layer: " + esc(", ".join(v["layers"])) + ".")
    facts.append(("Layers that carry it", "<br>".join(lay)))
    pr = v["programs"]
    if pr["items"]:
        items = "".join(
            f"<li><b>{esc(i['term'])}</b> ({esc(i['layers'])}; {esc(i['value_name'])} {i['value']:+.2f}"
            + (f", FDR {fdr_text(i['fdr'])}" if i["fdr"] is not None else "")
            + ")</li>"
            for i in pr["items"]
        )
        own = (
            ""
            if pr["source"] in (b["strategy"], "hierarchical")
            else (f" ({esc(b['strategy'])} has no gene-set test of its own)")
        )
        facts.append(
            ("Top programs", f"Of {esc(pr['what'])}{own}:<ul style='margin:.2em 0;padding-left:1.2em'>{items}</ul>")
        )
    elif pr["what"]:
        facts.append(("Top programs", f"No gene set reaches FDR &lt; {ALPHA} for {esc(pr['what'])}."))
    else:
        facts.append(
            ("Top programs", "No pathway enrichment for this cohort (no layer with gene identifiers and gene sets).")
        )
    if design_sentence:
        facts.append(("How many samples?", design_sentence))
    boxes = "".join(f'<div class="fact"><h4>{esc(h)}</h4>{body}</div>' for h, body in facts)
    return (
        f'<div class="verdict" id="verdict"><p class="headline">{esc(verdict_sentence(v))}</p>'
        f'<div class="facts">{boxes}</div>{figure}</div>'
    )


def n_classes(samples: pd.DataFrame | None, column: str, metric: str) -> int | None:
    """The number of outcome classes of the cohort's samples (classification only)."""
    if metric != "balanced_accuracy" or samples is None or column not in samples.columns:
        return None
    s = samples
    if "sample_type" in s.columns:
        s = s[s["sample_type"] == "sample"]
    vals = s[column].dropna().astype(str)
    vals = vals[vals != ""]
    return int(vals.nunique()) or None
