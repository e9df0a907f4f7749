"""What the run decided about the data, read off the tables the pipeline wrote.

:func:`decisions` lists every decision a successful run made about the user's data, one row each (samples
left out and why, samples a layer lacks, the drift correction ``auto`` chose, features the filter removed,
the imputation chosen and its masked-value error, layers without batch correction, strategies left out
and why, layers the design stage leaves out); the report writes it as ``results/decisions.tsv`` and shows
it right after the verdict (:func:`decisions_html`), and the end of a run prints it
(:func:`decision_lines`). Everything comes from a table the run wrote, so a test can plant the tables and
check the rows. Nothing here touches files.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence

import pandas as pd

from moflow.report.html import table
from moflow.wording import NA_TOKENS, listing

DECISION_COLUMNS = ["stage", "layer", "decision", "reason"]
# strategies that combine layers: left out of a one-layer cohort (moflow.integrate.strategy_names)
_COMBINING = ("early", "mixed", "late")
# how a steps table says a batch step changed nothing (the Identity step's reason, or a note on the row)
_NOT_CORRECTED = re.compile(r"no batch correction|not corrected", re.I)


def _text(value) -> str:
    """A table cell as text ('' for a missing value)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _row(stage: str, layer: str, decision: str, reason: str) -> dict:
    return {"stage": stage, "layer": layer, "decision": decision, "reason": reason}


def _missing(values: pd.DataFrame) -> pd.DataFrame:
    """Which cells hold no value (empty, NaN, or a missing-value token such as NA)."""
    return values.isna() | values.map(lambda v: str(v).strip().lower() in NA_TOKENS)


def _sample_rows(
    samples: pd.DataFrame | None,
    inputs: pd.DataFrame | None,
    outcome_columns: Sequence[str],
    test_column: str,
    test_value: str,
) -> list[dict]:
    """Samples left out of the whole analysis, external test samples only predicted, samples a layer lacks."""
    if samples is None or "sample_type" not in samples.columns:
        return []
    rows = []
    kind = samples["sample_type"].astype(str).str.strip().str.lower()
    columns = [c for c in outcome_columns if c in samples.columns]
    no_outcome = _missing(samples[columns]).any(axis=1) if columns else pd.Series(False, index=samples.index)
    excluded = kind == "excluded"
    for mask, reason in (
        (excluded & no_outcome, "no outcome, and config 'outcome: missing: exclude'"),
        (excluded & ~no_outcome, "sample_type 'excluded' in the sample sheet"),
    ):
        names = samples.loc[mask, "sample"].astype(str)
        if len(names):
            rows.append(_row("inputs", "", f"left out {len(names)} sample(s): {listing(names, 10)}", reason))
    cohort = kind == "sample"
    if test_column and test_column in samples.columns:
        test = cohort & (samples[test_column].astype(str).str.strip() == str(test_value))
        names = samples.loc[test & no_outcome, "sample"].astype(str)
        if len(names):
            rows.append(
                _row(
                    "inputs",
                    "",
                    f"predicted {len(names)} external test sample(s) without an outcome, not scored: "
                    f"{listing(names, 10)}",
                    f"{test_column} = '{test_value}' and no outcome: new patients",
                )
            )
    n_cohort = int(cohort.sum())
    if inputs is not None and {"layer", "samples"} <= set(inputs.columns):
        for rec in inputs.itertuples(index=False):
            n = pd.to_numeric(rec.samples, errors="coerce")
            if pd.notna(n) and int(n) < n_cohort:
                rows.append(
                    _row(
                        "inputs",
                        _text(rec.layer),
                        f"{n_cohort - int(n)} of {n_cohort} sample(s) have no data in this layer",
                        "absent from the layer's file (allowed for external test samples, and for others with "
                        "config 'inputs: allow_missing_samples')",
                    )
                )
    return rows


def _params(value) -> dict:
    """A steps table's params cell (a dict's repr) as a dict; {} where it does not read as one."""
    try:
        params = ast.literal_eval(_text(value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return {}
    return params if isinstance(params, dict) else {}


def _parenthesized(text: str) -> tuple[str, str]:
    """(what stands in the first balanced parentheses of ``text``, what follows them)."""
    start = text.find("(")
    if start < 0:
        return "", text
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i], text[i + 1 :]
    return text[start + 1 :], ""


def _drift_row(layer: str, summary: str) -> dict | None:
    """The run-order drift correction qc_drift ``auto`` chose (its steps row reads ``auto: <method> (<why>)``)."""
    if not summary.startswith("auto: "):
        return None
    chosen = summary[len("auto: ") :].split(" ", 1)[0]
    why, rest = _parenthesized(summary)
    rsd = [p.strip() for p in rest.split(";") if p.strip().startswith("QC median RSD")]
    reason = ", ".join([why, *rsd]) if why else summary
    if chosen == "none":
        return _row("preprocess", layer, "run-order drift not corrected (qc_drift auto)", reason)
    return _row("preprocess", layer, f"run-order drift corrected with {chosen} (qc_drift auto)", reason)


_CRITERIA = {
    "observed": lambda p: (
        f"observed in fewer than {p['min_observed']:.0%} of the "
        + ("samples of every outcome group" if p.get("observed_in") == "any_group" else "samples")
        + (f" (values below {p['min_value']:g} count as not observed)" if p.get("min_value") is not None else "")
    ),
    "variance": lambda p: f"variance at most {p['min_variance']:g}",
    "qc_detection": lambda p: f"detected in fewer than {p['qc_min_detection']:.0%} of the QC injections",
    "qc_rsd": lambda p: f"QC RSD above {p['qc_rsd_max']:g}%",
    "top_variable": lambda p: f"not among the {p['top_variable']} most variable",
}


def _filter_row(layer: str, row: pd.Series) -> dict | None:
    """The features the filter removed and by which criteria."""
    n_in = pd.to_numeric(row.get("features_in"), errors="coerce")
    n_out = pd.to_numeric(row.get("features_out"), errors="coerce")
    if pd.isna(n_in) or pd.isna(n_out) or int(n_out) >= int(n_in):
        return None
    params = _params(row.get("params"))
    summary = _text(row.get("summary"))
    reasons = []
    for n, criterion in re.findall(r"removed (\d+) by (\w+)", summary):
        try:
            why = _CRITERIA[criterion](params)
        except (KeyError, TypeError, ValueError):  # a criterion or a parameter this module does not know
            why = criterion
        reasons.append(f"{n} {why}")
    n_in, n_out = int(n_in), int(n_out)
    return _row(
        "preprocess",
        layer,
        f"removed {n_in - n_out} of {n_in} features, {n_out} kept",
        "; ".join(reasons) or summary or "filter",
    )


def _impute_row(layer: str, row: pd.Series, missing_before: float, scores: pd.DataFrame | None) -> dict | None:
    """The imputation chosen and its masked-value error; or values left missing."""
    chosen = pd.DataFrame()
    if scores is not None and {"method", "chosen"} <= set(scores.columns):
        chosen = scores[scores["chosen"].astype(str).str.lower() == "true"]
    if len(chosen):
        best = chosen.iloc[0]
        nrmse = pd.to_numeric(best.get("nrmse"), errors="coerce")
        mean = scores.loc[scores["method"].astype(str) == "mean", "nrmse"]
        mean = pd.to_numeric(mean, errors="coerce").iloc[0] if len(mean) else float("nan")
        auto = _text(best.get("mode")) == "auto"
        error = f"masked-value NRMSE {nrmse:.3f}" if pd.notna(nrmse) else "masked-value NRMSE not measured"
        baseline = f", mean imputation {mean:.3f}" if pd.notna(mean) and _text(best["method"]) != "mean" else ""
        how = f"impute auto: the lowest of {len(scores)} candidates" if auto else "the configured method"
        return _row(
            "preprocess",
            layer,
            f"imputed missing values with {_text(best['method'])}, {error}",
            f"{how}{baseline}",
        )
    after = pd.to_numeric(row.get("missing_fraction_out"), errors="coerce")
    if _text(row.get("method")) == "Identity" and pd.notna(after) and after > 0:
        return _row(
            "preprocess",
            layer,
            f"left {after:.1%} of the values missing",
            _text(row.get("summary")) or "impute method 'none'",
        )
    if missing_before > 0 and len(chosen) == 0 and _text(row.get("method")) != "Identity":
        return _row("preprocess", layer, f"imputed missing values with {_text(row.get('method'))}", "configured")
    return None


def _batch_row(layer: str, row: pd.Series | None) -> dict | None:
    """A layer left without batch correction, and why."""
    if row is None:
        return _row("preprocess", layer, "no batch correction", "no batch step in the layer's order")
    method, summary = _text(row.get("method")), _text(row.get("summary"))
    reason = _params(row.get("params")).get("reason") or ""
    note = summary or str(reason)
    if method == "Identity" or _NOT_CORRECTED.search(note):
        # "no batch correction: one batch" says why after its colon
        why = re.sub(r"^no batch correction\s*[:;,-]?\s*", "", note, flags=re.I) or note
        return _row(
            "preprocess",
            layer,
            "no batch correction",
            why or "batch method 'none' (config, or the default of the layer's kind)",
        )
    return None


def _layer_rows(layer: str, steps: pd.DataFrame, scores: pd.DataFrame | None, missing_in: float) -> list[dict]:
    """A layer's preprocessing decisions, in the order of its steps."""
    rows = []
    missing_before = missing_in
    batch_seen = False
    for _, row in steps.iterrows():
        step = _text(row.get("step"))
        found = None
        if step == "qc_drift":
            found = _drift_row(layer, _text(row.get("summary")))
        elif step == "filter":
            found = _filter_row(layer, row)
        elif step == "impute":
            found = _impute_row(layer, row, missing_before, scores)
        elif step == "batch":
            batch_seen = True
            found = _batch_row(layer, row)
        if found is not None:
            rows.append(found)
        after = pd.to_numeric(row.get("missing_fraction_out"), errors="coerce")
        missing_before = float(after) if pd.notna(after) else missing_before
    if not batch_seen:
        rows.append(_batch_row(layer, None))
    return rows


def _strategy_rows(board: pd.DataFrame | None, layers: Sequence[str], strategies: Sequence[str]) -> list[dict]:
    """Strategies config asks for that the scoreboard lacks, and why."""
    if board is None or "strategy" not in board.columns:
        return []
    ran = set(board["strategy"].astype(str))
    rows = []
    for s in strategies:
        if s in ran:
            continue
        if s in _COMBINING and len(layers) < 2:
            reason = f"it combines layers, and this cohort has one ({', '.join(layers)})"
        elif s == "hierarchical":
            reason = (
                "no layer it can score: that needs a layer of gene symbols with a gene-set collection "
                "(config 'enrichment: gene_sets'), or a regulator edge list"
            )
        else:
            reason = "not on the scoreboard (see the logs of the cv_fold jobs)"
        rows.append(_row("integrate", "", f"left out strategy {s}", reason))
    return rows


def _hierarchical_rows(coefficients: pd.DataFrame | None) -> list[dict]:
    """Layers the hierarchical strategy leaves out, and why (its coefficients' ``left out`` rows)."""
    if coefficients is None or not {"layer", "source", "feature"} <= set(coefficients.columns):
        return []
    left = coefficients[coefficients["source"].astype(str) == "left out"]
    return [
        _row("integrate", _text(rec.layer), "layer left out of the hierarchical strategy", _text(rec.feature))
        for rec in left.itertuples(index=False)
    ]


def _design_rows(joint: pd.DataFrame | None) -> list[dict]:
    """Layers the design stage leaves out of its joint designs, and why (once per layer)."""
    if joint is None or not {"layer", "message"} <= set(joint.columns):
        return []
    rows, seen = [], set()
    for rec in joint.itertuples(index=False):
        message, layer = _text(rec.message), _text(rec.layer)
        if message.startswith("left out") and layer not in seen:
            seen.add(layer)
            reason = message.split(":", 1)[1].strip() if ":" in message else message
            rows.append(_row("design", layer, "left out of the joint sample-size designs", reason))
    return rows


def _evaluation_rows(clinical: pd.DataFrame | None, sites: pd.DataFrame | None, site_column: str) -> list[dict]:
    """The clinical covariates as predictors and the leave-one-site-out outer splits.

    Each covariate's kind, its missing values and a likely leak; the sites and their sizes.
    """
    rows = []
    if clinical is not None and {"covariate", "kind"} <= set(clinical.columns) and len(clinical):
        named = ", ".join(f"{_text(r.covariate)} ({_text(r.kind)})" for r in clinical.itertuples(index=False))
        rows.append(
            _row(
                "evaluate",
                "",
                f"clinical covariates {named} enter every strategy as a block of their own, (nearly) unpenalized",
                "config 'clinical: columns'; categorical columns one-hot against a reference level (configured, else "
                "the most frequent in each training fold); scored alone as the clinical baseline",
            )
        )
        for r in clinical.itertuples(index=False):
            missing = int(pd.to_numeric(getattr(r, "n_missing", 0), errors="coerce") or 0)
            if missing:
                rows.append(
                    _row(
                        "evaluate",
                        "",
                        f"clinical covariate {_text(r.covariate)}: {missing} missing value(s) filled",
                        "inside each training fold (numeric: the training median), with a missing-value indicator",
                    )
                )
            if str(getattr(r, "likely_leak", "")).lower() == "true":
                rows.append(
                    _row(
                        "evaluate",
                        "",
                        f"clinical covariate {_text(r.covariate)} flagged as a likely leak",
                        f"alone it predicts the outcome nearly perfectly ({_text(r.metric)} {_text(r.score)}): "
                        "check that it is not recorded after, or derived from, the outcome",
                    )
                )
    if sites is not None and {"site", "strategy", "n_test"} <= set(sites.columns) and len(sites):
        first = sites[sites["strategy"] == sites["strategy"].iloc[0]]
        sizes = ", ".join(f"{_text(r.site)} {int(r.n_test)}" for r in first.itertuples(index=False))
        rows.append(
            _row(
                "evaluate",
                "",
                f"outer splits leave one site out at a time ({len(first)} sites: {sizes} held-out samples)",
                f"config 'evaluation: site_column: {site_column}'; repeats do not apply; the pooled CV is scored "
                "beside it (results/evaluate/scoreboard_pooled_cv.tsv)",
            )
        )
        if "rough" in first.columns and first["rough"].astype(str).str.lower().eq("true").any():
            rough = first[first["rough"].astype(str).str.lower().eq("true")]
            names = ", ".join(
                f"{_text(r.site)} ({int(r.n_test)}"
                + (f", {int(r.n_events)} event{'s' * (int(r.n_events) != 1)})" if "n_events" in rough else ")")
                for r in rough.itertuples(index=False)
            )
            rows.append(
                _row(
                    "evaluate",
                    "",
                    f"held-out site(s) {names} scored, but roughly: too small for a stable score",
                    "their column 'rough' in results/evaluate/sites.tsv; read their scores with their size, or "
                    f"merge small sites in the sheet's column '{site_column}'",
                )
            )
    return rows


def decisions(
    *,
    layers: Sequence[str],
    samples: pd.DataFrame | None = None,
    inputs: pd.DataFrame | None = None,
    steps: Mapping[str, pd.DataFrame] | None = None,
    imputation: Mapping[str, pd.DataFrame] | None = None,
    board: pd.DataFrame | None = None,
    strategies: Sequence[str] = (),
    design_joint: pd.DataFrame | None = None,
    hierarchical: pd.DataFrame | None = None,
    outcome_columns: Sequence[str] = (),
    test_column: str = "",
    test_value: str = "",
    clinical: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    site_column: str = "",
    model: pd.DataFrame | None = None,
    coverage: pd.DataFrame | None = None,
    outcome: bool = True,
    subtypes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every decision the run made about the data, one row each, read off the tables it wrote.

    In the order of the stages (inputs, preprocess, integrate, design), then of the layers, then of each
    layer's steps: samples left out of the whole analysis (sample_type ``excluded``; the reason is a
    missing outcome or the sheet's own mark), external test samples without an outcome (predicted, not
    scored), samples a layer lacks; per layer, the run-order drift correction ``auto`` chose, the features
    the filter removed and by which criteria, the imputation chosen and its masked-value NRMSE (or values
    left missing), no batch correction and why (the steps table's method and note, whatever their
    wording); strategies config asks for that are not on the scoreboard and why; the clinical covariates
    as predictors (their missing values, a likely leak) and leave-one-site-out splits; layers the hierarchical
    strategy leaves out and why; layers the design stage leaves out; without an outcome (``outcome`` False) the
    stages left out; the subtypes found (``subtypes``: results/subtypes/summary.tsv) and why.

    Parameters
    ----------
    layers : sequence of str
        The layers, in the order of the omics sheet.
    samples : pandas.DataFrame, optional
        ``results/inputs/samples.tsv`` (sample, sample_type, the outcome and test columns).
    inputs : pandas.DataFrame, optional
        ``results/inputs/summary.tsv`` (layer, samples, ...).
    steps : mapping of str to pandas.DataFrame, optional
        {layer: ``results/preprocess/<layer>_steps.tsv``} (step, method, params, features_in, features_out,
        missing_fraction_out, summary).
    imputation : mapping of str to pandas.DataFrame, optional
        {layer: ``results/preprocess/<layer>_imputation.tsv``} (method, nrmse, chosen, mode).
    board : pandas.DataFrame, optional
        ``results/evaluate/scoreboard.tsv``.
    strategies : sequence of str
        config ``evaluation: strategies``.
    design_joint : pandas.DataFrame, optional
        ``results/design/joint_design.tsv`` (where the design stage ran).
    hierarchical : pandas.DataFrame, optional
        ``results/integrate/hierarchical/coefficients.tsv``; its ``left out`` rows name the layers the
        hierarchical strategy leaves out (no gene set within ``min_size`` and ``max_size``) and why.
    outcome_columns : sequence of str
        The sample sheet's outcome column (survival: its time and event columns).
    test_column, test_value : str
        config ``evaluation: test_column / test_value`` ('' : no external test set).
    clinical : pandas.DataFrame, optional
        ``results/evaluate/clinical_covariates.tsv`` (covariate, kind, n_missing, metric, score,
        likely_leak): the covariates as predictors, their missing values, a likely leak.
    sites : pandas.DataFrame, optional
        ``results/evaluate/sites.tsv`` (site, strategy, n_test): the leave-one-site-out splits.
    site_column : str
        config ``evaluation: site_column``.
    model : pandas.DataFrame, optional
        ``results/model/model.tsv`` (strategy, chosen_by, n_training_samples, layer, ...): the strategy
        saved for new samples and why.
    coverage : pandas.DataFrame, optional
        ``results/model/coverage.tsv``: the coverage its prediction sets or intervals reached.

    Returns
    -------
    pandas.DataFrame
        Columns stage, layer, decision, reason (layer '' for the whole cohort); no row where the run
        decided nothing worth telling.
    """
    rows = _sample_rows(samples, inputs, outcome_columns, test_column, str(test_value))
    missing_in = {}
    if inputs is not None and {"layer", "missing_fraction"} <= set(inputs.columns):
        for rec in inputs.itertuples(index=False):
            value = pd.to_numeric(rec.missing_fraction, errors="coerce")
            missing_in[_text(rec.layer)] = float(value) if pd.notna(value) else 0.0
    for layer in layers:
        table_ = (steps or {}).get(layer)
        if table_ is None or "step" not in table_.columns:
            continue
        rows += _layer_rows(layer, table_, (imputation or {}).get(layer), missing_in.get(layer, 0.0))
    rows += _strategy_rows(board, layers, strategies)
    rows += _evaluation_rows(clinical, sites, site_column)
    rows += _hierarchical_rows(hierarchical)
    rows += _design_rows(design_joint)
    rows += _model_rows(model)
    rows += _coverage_rows(coverage)
    rows += _subtype_rows(subtypes, outcome)
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def _subtype_rows(summary: pd.DataFrame | None, outcome: bool) -> list[dict]:
    """Without an outcome, what was left out; the subtypes found (or none) and why; samples they leave out."""
    rows = []
    if not outcome:
        rows.append(
            _row(
                "evaluate",
                "",
                "no outcome: the evaluation, the baselines, the model bundle and the design stage left out",
                "the config names no outcome (no 'outcome' section, or 'outcome: type: none'); batch correction "
                "protected no outcome",
            )
        )
    if summary is None or summary.empty or "k" not in summary.columns:
        return rows
    first = summary.iloc[0]
    k = int(first["k"])
    found = (
        f"{k} subtypes ({_text(first['representation'])}, {_text(first['clustering'])}; results/subtypes/)"
        if k > 1
        else "no reproducible subtypes (k = 1; results/subtypes/)"
    )
    rows.append(_row("subtypes", "", found, _text(first["why"])))
    for text in _text(first.get("representations_left_out", "")).split("; "):
        if text:
            name, _, why = text.partition(": ")
            rows.append(_row("subtypes", "", f"left out representation {name}", why))
    quiet = _text(first.get("layers_without_markers", ""))
    if quiet:
        rows.append(
            _row(
                "subtypes",
                quiet,
                "no feature of this layer separates a subtype (FDR 0.05)",
                "the subtypes come from the other layers; a layer of noise, or one whose groups differ",
            )
        )
    asked = pd.to_numeric(first.get("k_max", float("nan")), errors="coerce")
    tested = pd.to_numeric(first.get("k_tested", float("nan")), errors="coerce")
    if pd.notna(asked) and pd.notna(tested) and tested < asked:
        rows.append(
            _row(
                "subtypes",
                "",
                f"k tested up to {int(tested)}, not k_max {int(asked)}",
                f"each half of a resample of {_text(first.get('samples', ''))} samples must hold k groups of 2 "
                "at least; more samples allow a larger k",
            )
        )
    left = int(pd.to_numeric(first.get("left_out", 0), errors="coerce") or 0)
    if left:
        rows.append(
            _row(
                "subtypes",
                "",
                f"left out {left} sample(s) lacking a layer",
                "subtypes are sought among the samples every layer has",
            )
        )
    return rows


def _model_rows(model: pd.DataFrame | None) -> list[dict]:
    """The strategy saved for new samples (results/model/), why, and on how many training samples."""
    if model is None or model.empty or "strategy" not in model.columns:
        return []
    first = model.iloc[0]
    layers = ", ".join(_text(v) for v in model["layer"]) if "layer" in model.columns else ""
    return [
        {
            "stage": "model",
            "layer": "",
            "decision": f"{_text(first['strategy'])} saved for new samples (results/model/bundle.pkl)",
            "reason": f"{_text(first['chosen_by'])}; refit on {int(first['n_training_samples'])} training samples "
            f"with the layers {layers}; score new samples with the target predict",
        }
    ]


def _coverage_rows(coverage: pd.DataFrame | None) -> list[dict]:
    """The model's prediction sets or intervals: the target coverage and what the outer splits measured."""
    if coverage is None or coverage.empty or "scope" not in coverage.columns:
        return []
    rows = []
    for _, r in coverage[coverage["group"].astype(str) == "all"].iterrows():
        what = (
            "prediction sets"
            if "mean_set_size" in coverage.columns
            else "prediction intervals"
            if "mean_width" in coverage.columns
            else "prediction sets or intervals"
        )
        where = "inside the outer splits" if r["scope"] == "cv" else "on the external test samples"
        if not int(r["n"]):
            rows.append(
                {
                    "stage": "model",
                    "layer": "",
                    "decision": f"{what} of {_text(r['strategy'])} at {float(r['target']):.0%} coverage, not measured "
                    f"{where}",
                    "reason": f"{_text(r.get('note', ''))} (results/model/coverage.tsv)",
                }
            )
            continue
        size = (
            f"mean set size {float(r['mean_set_size']):.2f}"
            if "mean_set_size" in coverage.columns
            else f"median width {float(r['median_width']):.3g}"
        )
        rows.append(
            {
                "stage": "model",
                "layer": "",
                "decision": f"{what} of {_text(r['strategy'])} at {float(r['target']):.0%} coverage",
                "reason": f"measured {where}: {float(r['coverage']):.1%} of {int(r['n'])} samples covered "
                f"(95% interval {float(r['coverage_low']):.1%} to {float(r['coverage_high']):.1%}), {size} "
                "(results/model/coverage.tsv)",
            }
        )
    return rows


def decision_lines(table: pd.DataFrame, *, most: int = 30, source: str = "results/decisions.tsv") -> list[str]:
    """The decisions as a few console lines (the end of a run).

    A heading, then one line per decision (``stage  layer  decision -- reason``; layer ``cohort`` for the whole
    cohort), at most ``most`` of them and a line saying how many more ``source`` holds.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`decisions` (or ``results/decisions.tsv`` read back: an empty layer reads as missing).
    most : int
        The most decisions shown.
    source : str
        The file the whole list is in, named in the heading.

    Returns
    -------
    list of str
        The lines.
    """
    head = f"What this run decided about the data ({source}; the report's section 'What the run decided'):"
    if table is None or len(table) == 0:
        return [
            head,
            "  nothing: no sample left out, no feature removed, nothing imputed, every layer batch-corrected, "
            "every strategy run",
        ]
    cells = table.reindex(columns=DECISION_COLUMNS).map(_text)
    cells["layer"] = cells["layer"].replace("", "cohort")
    w_stage = max(len(s) for s in cells["stage"])
    w_layer = max(len(s) for s in cells["layer"])
    lines = [head]
    for rec in cells.head(most).itertuples(index=False):
        reason = f" -- {rec.reason}" if rec.reason else ""
        lines.append(f"  {rec.stage:<{w_stage}}  {rec.layer:<{w_layer}}  {rec.decision}{reason}".rstrip())
    if len(cells) > most:
        lines.append(f"  ... and {len(cells) - most} more in {source}")
    return lines


def decisions_html(decided: pd.DataFrame) -> str:
    """The report's section "What the run decided": the decisions as a table, or a sentence where there are none.

    Parameters
    ----------
    decided : pandas.DataFrame
        :func:`decisions`.

    Returns
    -------
    str
        The section's HTML.
    """
    note = (
        '<p class="note">Also in <code>results/decisions.tsv</code>, and printed at the end of the run. The '
        "preprocessing decisions are those of the fit on the whole cohort (<code>results/preprocess/</code>); "
        "the evaluation refits the chain inside every training fold.</p>"
    )
    if decided is None or len(decided) == 0:
        return (
            "<p>Nothing to report: no sample left out, no feature removed, nothing imputed, every layer "
            f"batch-corrected, every strategy run.</p>{note}"
        )
    intro = f"<p>{len(decided)} decision(s) this run made about the data, by stage and layer.</p>"
    return intro + table(decided.reindex(columns=DECISION_COLUMNS).fillna(""), max_rows=500) + note
