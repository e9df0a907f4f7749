"""The report page: its sections and the run's manifest.

:func:`report_sections` assembles its sections (title, HTML) from the pipeline's tables and figures (verdict,
what the run decided, inputs, preprocessing, MOFA, late integration, evaluation, "How many samples?", pathway
enrichment, provenance); :func:`provenance` is the run's manifest the last section shows. Nothing here touches files;
the report task hands the bytes and the page to :mod:`moflow.io`.
"""

from __future__ import annotations

import html

import pandas as pd

from moflow.report.added import added_html
from moflow.report.decisions import decisions_html
from moflow.report.enrichment_section import enrichment_html
from moflow.report.hierarchical_section import hierarchical_html, hierarchical_sentence
from moflow.report.html import details, fdr_text, img, table
from moflow.report.preprocessing_section import preprocessing_html
from moflow.report.svg import factor_pair, factor_scatter_svg, scoreboard_svg
from moflow.report.verdict import (
    board_metric,
    chance_level,
    n_classes,
    outcome_factor,
    verdict,
    verdict_html,
)


def _summary(board, metric, best, of, *, enrichment, survival, hierarchical) -> list[str]:
    """The verdict's supporting numbers (folded under it).

    External test metrics, survival and hierarchical sentences, the outcome factor and its top gene sets.
    """
    summary = []
    if f"test_{metric}" in board.columns and pd.notna(best.get(f"test_{metric}")):
        extra = [
            m
            for m in (
                "accuracy",
                "sensitivity",
                "specificity",
                "f1",
                "roc_auc",
                "rmse",
                "pearson_r",
                "uno_c",
                "td_auc",
                "integrated_brier",
            )
            if f"test_{m}" in board.columns and m != metric
        ]

        def _test(m):
            lo, hi = best.get(f"test_{m}_lo"), best.get(f"test_{m}_hi")
            ci = f" ({lo:.3f}-{hi:.3f})" if lo is not None and pd.notna(lo) else ""
            return f"{m.replace('_', ' ')} {best[f'test_{m}']:.3f}{ci}"

        summary.append(
            f"<p>On the external test set ({int(best['test_n_test'])} samples, never used to fit or "
            f"tune), {html.escape(str(best['strategy']))} scores {_test(metric)}; "
            + ", ".join(_test(m) for m in extra)
            + " (95% bootstrap intervals over the test samples).</p>"
        )
    if survival is not None:
        summary += survival[1]
    if hierarchical is not None and len(hierarchical):
        summary.append(hierarchical_sentence(hierarchical))
    if of is not None:
        test = (
            f"Pearson r = {of['statistic']:.2f}, p"
            if of.get("test") == "pearson"
            else f"hazard ratio per SD {of['effect']:.2f} ({of['hr_lo']:.2f}-{of['hr_hi']:.2f}), Cox p"
            if of.get("test") == "cox"
            else "Kruskal-Wallis p"
        )
        summary.append(
            f"<p>Outcome-related MOFA factor: <b>{html.escape(str(of['factor']))}</b> "
            f"({test} = {of['p']:.2g}, BH-adjusted {of['p_adj']:.2g}).</p>"
        )
        if enrichment is not None and not enrichment.empty:
            top = enrichment[(enrichment["factor"] == of["factor"]) & (enrichment["rank"] == 1)]
            for _, r in top.iterrows():
                summary.append(
                    f"<p>Top gene set of {html.escape(str(of['factor']))} in layer "
                    f"{html.escape(str(r['layer']))} ({html.escape(str(r['collection']))}): "
                    f"<b>{html.escape(str(r['term']))}</b> (NES {r['nes']:.2f}, FDR {fdr_text(r['fdr'])}).</p>"
                )
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
    """A note naming the samples the analysis left out.

    Those of sample_type ``excluded``: no outcome under config ``outcome: missing: exclude``, or so marked in
    the sheet.
    """
    if samples is None or "sample_type" not in samples.columns:
        return ""
    out = samples.loc[samples["sample_type"] == "excluded", "sample"].astype(str).tolist()
    if not out:
        return ""
    shown = ", ".join(out[:30]) + (f" and {len(out) - 30} more" if len(out) > 30 else "")
    return (
        f'<p class="note">{len(out)} sample(s) left out of the whole analysis (sample_type <code>excluded</code>: '
        f"no outcome, with config <code>outcome: missing: exclude</code>, or so marked in the sample sheet): "
        f"{html.escape(shown)}.</p>"
    )


def report_sections(
    *,
    inputs: pd.DataFrame,
    layers: list[str],
    diagnostics: dict[str, pd.DataFrame],
    steps: dict[str, pd.DataFrame],
    pca_png: dict[str, bytes],
    variance_png: bytes,
    associations: pd.DataFrame,
    outcome_column: str,
    late_weights: pd.DataFrame | None,
    board: pd.DataFrame,
    board_png: bytes,
    enrichment: pd.DataFrame | None,
    pathways_png: bytes | None,
    provenance: dict,
    comparison: pd.DataFrame | None = None,
    permutation: pd.DataFrame | None = None,
    stability: pd.DataFrame | None = None,
    missingness_png: dict[str, bytes] | None = None,
    pca_steps_png: dict[str, bytes] | None = None,
    imputation: dict[str, pd.DataFrame] | None = None,
    enrichment_more: dict | None = None,
    survival: tuple[str, list[str]] | None = None,
    hierarchical: pd.DataFrame | None = None,
    pca: dict[str, pd.DataFrame] | None = None,
    factors: pd.DataFrame | None = None,
    samples: pd.DataFrame | None = None,
    variance: pd.DataFrame | None = None,
    design: dict | None = None,
    decisions: pd.DataFrame | None = None,
    gains: pd.DataFrame | None = None,
    clinical: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    shift: pd.DataFrame | None = None,
    calibration: pd.DataFrame | None = None,
    calibration_png: bytes | None = None,
    coverage: pd.DataFrame | None = None,
    subtypes: dict | None = None,
    scarcity: dict | None = None,
) -> list[tuple[str, str]]:
    """Assemble the report's sections (title, HTML) from the pipeline's tables and figures.

    The first is the verdict (:mod:`moflow.report.verdict`).

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
    ``decisions`` (:func:`moflow.report.decisions.decisions`): the section "What the run decided", right after
    the verdict. ``gains`` (:func:`moflow.evaluate.ranking.gains`), ``clinical`` (the covariates' screen),
    ``sites`` and ``shift`` (leave-one-site-out): the section "What the omics add" and the verdict's first
    sentence. ``calibration`` (with its figure ``calibration_png``) and ``coverage`` (the model bundle's
    prediction sets or intervals): the evaluation's calibration block (:func:`calibration_html`).
    ``subtypes`` ({sentence, html}: :func:`moflow.report.outputs.subtype_parts`): the section "Subtypes", and
    its sentence in the verdict. ``scarcity`` ({sentences, html}:
    :func:`moflow.report.scarcity_section.scarcity_parts`): the section "Data scarcity", and its sentences
    (augmentation helped or not; the synthetic cohort safe to share by these tests or not) under the verdict.
    Without an outcome (``board`` None) the verdict is the discovery's (the
    subtypes and the MOFA factors) and the evaluation's sections are left out.
    """
    if board is None:
        return _discovery_sections(
            inputs=inputs,
            layers=layers,
            diagnostics=diagnostics,
            steps=steps,
            pca_png=pca_png,
            variance_png=variance_png,
            associations=associations,
            enrichment=enrichment,
            provenance=provenance,
            stability=stability,
            missingness_png=missingness_png,
            pca_steps_png=pca_steps_png,
            imputation=imputation,
            enrichment_more=enrichment_more,
            pca=pca,
            samples=samples,
            decisions=decisions,
            subtypes=subtypes,
        )
    from moflow.evaluate.ranking import best_strategy

    sections = []
    metric = board_metric(board)
    best = best_strategy(board)
    of = outcome_factor(associations, outcome_column)
    k = n_classes(samples, outcome_column, metric)
    pathways = (enrichment_more or {}).get("pathways")
    v = verdict(
        board=board,
        layers=layers,
        comparison=comparison,
        permutation=permutation,
        late_weights=late_weights,
        variance=variance,
        associations=associations,
        outcome_column=outcome_column,
        enrichment=enrichment,
        pathways=pathways,
        hierarchical=hierarchical,
        n_classes=k,
        gains=gains,
        clinical=clinical,
    )
    metrics = [m for m in (metric, "roc_auc", "uno_c", "pearson_r") if m in board.columns][:2]
    chance = {m: chance_level(m, k) for m in metrics}
    tips = [c for c in board.columns if c not in ("strategy", "kind") and not c.endswith(("_lo", "_hi"))]
    summary = _summary(board, metric, best, of, enrichment=enrichment, survival=survival, hierarchical=hierarchical)
    lead = verdict_html(
        v,
        design_sentence=(design or {}).get("sentence"),
        figure=scoreboard_svg(board, [metric], chance=chance, tip_columns=tips),
    )
    if subtypes is not None:
        summary.append(f"<p>{html.escape(subtypes['sentence'])}</p>")
    if scarcity is not None:
        lead += "".join(f"<p>{html.escape(s)}</p>" for s in scarcity["sentences"])
    if summary:
        lead += details("More numbers behind the verdict", '<div class="key">' + "".join(summary) + "</div>")
    sections.append(("Verdict", lead))
    sections += _data_sections(
        decisions, inputs, samples, layers, steps, diagnostics, pca, pca_png, missingness_png, pca_steps_png, imputation
    )
    sections.append(
        (
            "Intermediate integration (MOFA)",
            _mofa_html(variance_png, factors, samples, associations, outcome_column, stability),
        )
    )
    if late_weights is not None:
        sections.append(
            (
                "Late integration",
                "<p>Meta-learner coefficients of each layer's out-of-fold predictions.</p>" + table(late_weights),
            )
        )
    else:
        sections.append(
            (
                "Late integration",
                f"<p>Skipped: late, mixed and early integration combine layers, and "
                f"this cohort has one ({html.escape(', '.join(layers))}). Its evaluation compares the layer's "
                "own model with MOFA on the same layer.</p>",
            )
        )
    effective = (
        "n_events (the number of events) is the effective sample size; Uno's C, the time-dependent AUC "
        "(auc_&lt;time&gt;, td_auc their mean) and the integrated Brier score (lower is better) weigh "
        "censoring by the training side's censoring distribution"
        if "n_events" in board.columns
        else "smallest_class is the effective sample size"
        if "smallest_class" in board.columns
        else "n_samples is the effective sample size"
    )
    ev = [
        scoreboard_svg(board, metrics, chance=chance, tip_columns=tips),
        table(board[[c for c in board.columns if c != "kind"]]),
        '<p class="note">Repeated stratified cross-validation; every strategy and single layer sees identical '
        "splits, and the whole preprocessing chain is fit inside each training fold. Intervals use the "
        f"Nadeau-Bengio corrected variance. {effective}.</p>",
    ]
    if survival is not None:
        ev.append(survival[0])
    if calibration is not None and len(calibration):
        ev.append(calibration_html(calibration, figure=calibration_png))
    if coverage is not None and len(coverage):
        ev.append(coverage_html(coverage))
    if hierarchical is not None and len(hierarchical):
        ev.append(hierarchical_html(hierarchical, board))
    sections.append(("Evaluation", "".join(ev)))
    added = added_html(v, gains, clinical, sites, shift)
    if added:
        sections.append(("What the omics add", added))
    if scarcity is not None:
        sections.append(("Data scarcity", scarcity["html"]))
    if subtypes is not None:
        sections.append(("Subtypes", subtypes["html"]))
    if design is not None:
        sections.append(("How many samples?", design.get("html", "")))
    sections += _closing_sections(enrichment, enrichment_more, pathways_png, of, provenance)
    return sections


def _data_sections(
    decisions, inputs, samples, layers, steps, diagnostics, pca, pca_png, missingness_png, pca_steps_png, imputation
) -> list[tuple[str, str]]:
    """What the run decided (where given), the inputs and the preprocessing: the sections after the verdict."""
    sections = []
    if decisions is not None:
        sections.append(("What the run decided", decisions_html(decisions)))
    sections.append(("Inputs", table(inputs) + _left_out(samples)))
    sections.append(
        (
            "Preprocessing",
            preprocessing_html(
                layers, inputs, steps, diagnostics, pca, pca_png, missingness_png, pca_steps_png, imputation
            ),
        )
    )
    return sections


def _mofa_html(variance_png, factors, samples, associations, outcome_column, stability) -> str:
    """The MOFA section: variance explained, the factor scatter (coloured by the outcome), associations, stability."""
    mofa = [img(variance_png, "MOFA variance explained")]
    colour, colour_name = _outcome_colour(samples, outcome_column)
    if factors is not None and len(factors) and colour is not None:
        names = [c for c in factors.columns if c != "sample"]
        pair = factor_pair(associations, outcome_column, names)
        mofa.append(factor_scatter_svg(factors, colour, pair=pair, colour_name=colour_name))
        mofa.append(
            f'<p class="note">The two factors most associated with the outcome ({html.escape(pair[0])}, '
            f"{html.escape(pair[1])}); hover a sample for every factor's value.</p>"
        )
    mofa += ["<h3>Factor associations (BH-adjusted)</h3>", table(associations.sort_values(["p_adj", "factor"]))]
    if stability is not None and len(stability):
        st = stability.groupby("factor", sort=False)["abs_r"].agg(["mean", "min"]).reset_index()
        st.columns = ["factor", "consensus_abs_r", "min_abs_r"]
        mofa += [
            "<h3>Stability across seeds</h3><p>Factors of runs with other seeds matched to this run "
            "(Hungarian assignment on |r| of factor values).</p>",
            table(st),
        ]
    return "".join(mofa)


def _closing_sections(enrichment, enrichment_more, pathways_png, of, provenance) -> list[tuple[str, str]]:
    """Pathway enrichment (where it ran) and provenance, the page's last sections."""
    sections = []
    if enrichment is not None:
        en = []
        if pathways_png is not None and of is not None and (enrichment["factor"] == of["factor"]).any():
            en.append(img(pathways_png, "top pathways"))
        if enrichment_more:
            more = dict(enrichment_more)
            if enrichment.empty:  # no factor tested: its dot plot would be an empty placeholder
                more["figures"] = {k: v for k, v in (more.get("figures") or {}).items() if k != "dots_mofa"}
            en.append(enrichment_html(**more))
            en.append("<h3>MOFA factors: prerank per layer (top 3)</h3>")
        top = enrichment[enrichment["rank"] <= 3][
            ["collection", "layer", "factor", "rank", "term", "nes", "fdr", "set_size"]
        ]
        en.append(table(top, max_rows=200))
        sections.append(("Pathway enrichment", "".join(en)))
    prov = pd.DataFrame(list(provenance.get("versions", {}).items()), columns=["package", "version"])
    sections.append(
        (
            "Provenance",
            table(prov) + '<p class="note">Input checksums and the full configuration are '
            "in results/provenance.json.</p>",
        )
    )
    return sections


def _discovery_sections(
    *,
    inputs,
    layers,
    diagnostics,
    steps,
    pca_png,
    variance_png,
    associations,
    enrichment,
    provenance,
    stability,
    missingness_png,
    pca_steps_png,
    imputation,
    enrichment_more,
    pca,
    samples,
    decisions,
    subtypes,
) -> list[tuple[str, str]]:
    """The page of a run without an outcome: the discovery's verdict, the data, MOFA, subtypes, pathways."""
    lead = [
        '<p class="key">No outcome was configured: this run describes the cohort (preprocessing, MOFA factors'
        + (", subtypes" if subtypes is not None else "")
        + " and their pathways) and predicts nothing; the evaluation, the model and the design stage need an "
        "outcome (<code>outcome: column</code>).</p>"
    ]
    if subtypes is not None:
        lead.append(f'<p class="key">{html.escape(subtypes["sentence"])}</p>')
    sections = [("Verdict", "".join(lead))]
    sections += _data_sections(
        decisions, inputs, samples, layers, steps, diagnostics, pca, pca_png, missingness_png, pca_steps_png, imputation
    )
    sections.append(
        ("Intermediate integration (MOFA)", _mofa_html(variance_png, None, samples, associations, "", stability))
    )
    if subtypes is not None:
        sections.append(("Subtypes", subtypes["html"]))
    sections += _closing_sections(enrichment, enrichment_more, None, None, provenance)
    return sections


def calibration_html(calibration: pd.DataFrame, figure: bytes | None = None) -> str:
    """The calibration of the out-of-fold probabilities (``results/evaluate/calibration.tsv``), with how to read it.

    ``figure``: the reliability diagram and decision curve (:func:`moflow.report.figures.plot_calibration`).
    """
    if "calibration_in_the_large" in calibration.columns:  # a continuous outcome
        note = (
            "Out-of-fold predictions pooled within each repeat: calibration in the large (mean outcome minus mean "
            "prediction; 0 is ideal) and the slope of the outcome on the prediction (1 is ideal; below 1 the "
            "predictions spread too far, as an overfit model's do)."
        )
    elif "risk_group" in calibration.columns:  # survival: predicted against observed by risk group
        note = (
            "Mean predicted survival at each evaluation time against the Kaplan-Meier estimate, per out-of-fold "
            "risk group (above or below the training median risk of each split)."
        )
    else:
        note = (
            "Out-of-fold probabilities pooled within each repeat: Brier score and expected calibration error (lower "
            "is better); a binary outcome's calibration intercept and slope (0 and 1 are ideal; a slope below 1 "
            "means overconfident probabilities). The classifiers use balanced class weights, so their probabilities "
            "are for equal class priors: with imbalanced classes the intercept is off by the log prior odds by "
            "design. The figure: the reliability of the saved model's strategy and the next best (observed share "
            "against mean predicted probability per bin; on the diagonal is ideal) and, for a binary outcome, the "
            "decision curve (net benefit of acting on the predictions at each threshold probability against "
            "treating everyone or no one). Their numbers: results/evaluate/reliability.tsv, decision_curve.tsv."
        )
    shown = img(figure, "reliability diagram and decision curve") if figure is not None else ""
    return f"<h3>Calibration</h3><p>{html.escape(note)}</p>" + shown + table(calibration, max_rows=200)


def coverage_html(coverage: pd.DataFrame) -> str:
    """The model bundle's prediction sets or intervals (``results/model/coverage.tsv``): the coverage they reach."""
    first = coverage.iloc[0]
    sets = "mean_set_size" in coverage.columns
    what = (
        "a prediction set: every class whose predicted probability is high enough, per class thresholds"
        if sets
        else "a prediction interval around the predicted value"
    )
    note = (
        f"The saved model ({first['strategy']}) gives each new sample {what}, meant to hold the true outcome "
        f"{float(first['target']):.0%} of the time (conformal thresholds from the out-of-fold predictions). "
        "Whether it does is measured, not assumed: the same procedure rerun inside each outer split of the first "
        "repeat (thresholds from models that saw neither the held-out fold nor the fold they predict) and scored on "
        "the held-out samples"
        + ("; and the saved model's own sets on the external test samples" if (coverage["scope"] != "cv").any() else "")
        + ". coverage_low and coverage_high: 95% interval of the coverage."
        + (" A set of one class is a confident call; empty_sets: no class plausible." if sets else "")
    )
    title = "Prediction sets for new samples" if sets else "Prediction intervals for new samples"
    return f"<h3>{title}</h3><p>{html.escape(note)}</p>" + table(coverage, max_rows=50)


def provenance(config: dict, input_files: list[str], file_hashes: dict[str, str], *, commit: str = "unknown") -> dict:
    """The run's manifest: package versions, Python, platform, git commit, config and input checksums.

    Versions of the main packages and of Python, the platform, the git commit of the workflow checkout
    (``commit``; "unknown" outside a git checkout), the config, and the sha256 of every input file (sheets,
    layer matrices, gene-set and annotation files). No timestamps, so reruns give identical files.

    Parameters
    ----------
    config : dict
        The configuration, recorded as given.
    input_files : list of str
        The input files whose checksums are recorded.
    file_hashes : dict of str to str
        {file: sha256}; must hold every one of ``input_files``.
    commit : str
        The git commit of the workflow checkout.

    Returns
    -------
    dict
        versions, python, platform, workflow_commit, config, checksum (``"sha256"``) and inputs
        ({file: sha256}).
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in (
        "moflow",
        "snakemake",
        "numpy",
        "scipy",
        "pandas",
        "scikit-learn",
        "statsmodels",
        "mofapy2",
        "gseapy",
        "matplotlib",
        "pyarrow",
    ):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "workflow_commit": commit,
        "config": config,
        "checksum": "sha256",
        "inputs": {f: file_hashes[f] for f in input_files},
    }
