"""The checks made while ``rules/common.smk`` is parsed, before any job runs.

The config file's YAML (:func:`check_config_file`, from the Snakefile), then, once
:func:`moflow.settings.apply_defaults` has checked the config against its schema, the sheets and every
name config gives (:func:`check_startup`). Each raises :class:`~moflow.errors.ConfigError` or
:class:`~moflow.errors.DataError` naming the file, the line or key, and the fix.
"""

from __future__ import annotations

import pandas as pd

from moflow.errors import ConfigError
from moflow.inputs.geneset_files import check_gene_set_file
from moflow.inputs.sheet_labels import check_batch_cells, check_label_spellings, sample_locations
from moflow.inputs.sheets import check_omics_sheet, check_samples_sheet
from moflow.wording import did_you_mean, listing


def check_config_file(path: str) -> None:
    """Check the config file's YAML, before Snakemake reads it.

    A syntax error names the file, line and column; a key given twice in one mapping (YAML keeps the
    last one silently) stops too, and so does a file that is not UTF-8 or not a mapping. Nothing is
    checked when the file does not exist.
    """
    from pathlib import Path

    import yaml

    p = Path(path)
    if not p.exists():
        return

    class _Loader(yaml.SafeLoader):
        pass

    def _mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = str(loader.construct_object(key_node, deep=deep))
            if key in seen:
                raise ConfigError(
                    f"{path}, line {key_node.start_mark.line + 1}: key '{key}' is given twice in the "
                    f"same mapping (first on line {seen[key]}); YAML would keep only the last one. "
                    "Merge the two entries."
                )
            seen[key] = key_node.start_mark.line + 1
        return loader.construct_mapping(node, deep=deep)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc}). Save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and mark is not None and start.line != mark.line:
            context += f" that starts on line {start.line + 1}"
        tabs = " (YAML indentation must use spaces, not tabs)" if "\t" in p.read_text(encoding="utf-8") else ""
        raise ConfigError(
            f"{path}{where}: invalid YAML: {problem}"
            + (f" ({context})" if context else "")
            + f"{tabs}. Fix the indentation, a missing ':' or an unclosed quote or bracket there."
        ) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the config must be a mapping of keys (samples:, omics:, ...), not a {type(data).__name__}."
        )


def check_config_layers(settings, layers, *, source: str = "config", omics_path: str = "the omics sheet") -> None:
    """Check that every layer name config gives is a layer of the omics sheet.

    The names of ``preprocess``, ``enrichment: layers``, ``integration: mofa: likelihoods``,
    ``integration: early: layer_weights``, the regulators' layers and ``design: costs``: a misspelt
    one would be silently ignored. One line per problem, with the nearest layer.

    Parameters
    ----------
    settings : Settings
        The validated config.
    layers : iterable of str
        The layers of the omics sheet.
    source : str
        Names the config in messages.
    omics_path : str
        Names the omics sheet in messages.
    """
    layers = [str(x) for x in layers]
    named = [
        ("preprocess", list(settings.preprocess)),
        ("enrichment: layers", list(settings.enrichment.layers)),
        ("integration: mofa: likelihoods", list(settings.integration.mofa.likelihoods)),
        ("integration: early: layer_weights", list(settings.integration.early.layer_weights)),
        (
            "integration: hierarchical: regulators: <name>: layer",
            [r.layer for r in settings.integration.hierarchical.regulators.values()],
        ),
        ("design: costs", list(settings.design.costs)),
    ]
    problems = []
    for where, keys in named:
        for key in keys:
            if str(key) not in layers:
                problems.append(
                    f"{source}: '{where}: {key}' names no layer of {omics_path} (layers: "
                    f"{', '.join(layers)}).{did_you_mean(key, layers)} Use a layer name, or remove the entry."
                )
    if problems:
        raise ConfigError("\n".join(problems))


def check_config_columns(
    settings, samples: pd.DataFrame, *, source: str = "config", samples_path: str = "the sample sheet"
) -> None:
    """Check that the sample-sheet columns config names (``covariates``) exist.

    Also that a survival outcome is not given to a strategy whose model has no Cox form (early,
    mixed, mofa and late must be ``linear``). ``source`` and ``samples_path`` name the config and the
    sample sheet in messages.
    """
    if settings.outcome.type == "survival":
        integ = settings.integration
        for name in ("early", "mixed", "mofa", "late"):  # early's model is also the single layers'
            if getattr(integ, name).model != "linear":
                raise ConfigError(
                    f"{source}: 'integration: {name}: model' is {getattr(integ, name).model}, which "
                    "has no survival form; with 'outcome: type: survival' every model is a penalized "
                    f"Cox model. Set 'integration: {name}: model: linear'."
                )
    for col in settings.covariates:
        if col not in samples.columns:
            raise ConfigError(
                f"{source}: 'covariates' names '{col}', which is not a column of {samples_path}."
                f"{did_you_mean(col, samples.columns)} Columns: {listing(samples.columns, 20)}."
            )


def check_design_metric(settings, task: str, *, source: str = "config") -> None:
    """``design: metric`` is one the outcome is scored with (``task``: classification, regression, survival)."""
    from moflow.evaluate import CLASS_METRICS, REG_METRICS, SURV_METRICS

    metric = settings.design.metric
    allowed = {"classification": CLASS_METRICS, "regression": REG_METRICS, "survival": SURV_METRICS}[task]
    if settings.design.enabled and metric is not None and metric not in allowed:
        kind = {"classification": "class", "regression": "continuous", "survival": "survival"}[task]
        raise ConfigError(
            f"{source}: 'design: metric' is {metric}, which a {kind} outcome is not scored with. "
            f"Use one of {listing(allowed)}, or remove the key (the default follows the outcome)."
        )


def check_recalibration(settings, task: str, *, source: str = "config") -> None:
    """``evaluation: recalibration`` recalibrates class probabilities: a class outcome only."""
    methods = list(settings.evaluation.recalibration)
    if methods and task != "classification":
        kind = {"regression": "a continuous", "survival": "a survival"}[task]
        raise ConfigError(
            f"{source}: evaluation: recalibration ({', '.join(methods)}) recalibrates class probabilities, and the "
            f"outcome is {kind} one; remove it (empty list)."
        )


def check_augment(settings, task: str, *, source: str = "config") -> None:
    """``evaluation: augment`` adds samples of the rare classes: a class outcome only."""
    methods = [m for m in settings.evaluation.augment if m != "none"]
    if methods and task != "classification":
        kind = {"regression": "a continuous", "survival": "a survival"}[task]
        raise ConfigError(
            f"{source}: evaluation: augment ({', '.join(methods)}) adds new samples of the rarer classes, and the "
            f"outcome is {kind} one, which has no classes; remove it (augment: [none])."
        )
    missing = [s for s in settings.evaluation.augment_strategies if s not in settings.evaluation.strategies]
    if methods and missing:
        raise ConfigError(
            f"{source}: evaluation: augment_strategies names {listing(missing)}, which evaluation: strategies "
            f"({listing(list(settings.evaluation.strategies))}) does not score; add it there, or remove it from "
            "augment_strategies."
        )


def check_synthesize_strategies(settings, omics: pd.DataFrame, *, source: str = "config") -> None:
    """``synthesize: strategies`` names strategies the utility check can train (no hierarchical: no prior)."""
    from moflow.integrate import STRATEGIES

    layers = list(omics["layer"])
    known = [f"single_{layer}" for layer in layers]
    known += [s for s in STRATEGIES if s != "hierarchical" and (s == "mofa" or len(layers) > 1)]
    bad = [s for s in settings.synthesize.strategies if s not in known]
    if bad:
        raise ConfigError(
            f"{source}: 'synthesize: strategies' names {listing(bad)}, which the synthetic cohort's utility check "
            f"cannot train on this cohort (it can: {listing(known, 20)}).{did_you_mean(bad[0], known)} Use names "
            "from that list."
        )


def check_design_strategies(settings, omics: pd.DataFrame, *, source: str = "config") -> None:
    """``design: strategies`` names strategies this cohort is evaluated with."""
    from moflow.integrate import strategy_names

    named = list(settings.design.strategies)
    if not (settings.design.enabled and named):
        return
    known = strategy_names(list(omics["layer"]), settings, omics)
    bad = [s for s in named if s not in known]
    if bad:
        raise ConfigError(
            f"{source}: 'design: strategies' names {listing(bad)}, which "
            f"{'is' if len(bad) == 1 else 'are'} not evaluated on this cohort (strategies: "
            f"{listing(known, 20)}).{did_you_mean(bad[0], known)} Use names from that list, or [] for the "
            "best integration and the best single layer."
        )


def check_clinical_columns(settings, samples: pd.DataFrame, y, task: str, *, samples_path: str) -> None:
    """``clinical: columns`` the models can use, none a copy of the outcome.

    (:func:`moflow.inputs.clinical_columns.check_clinical`, :func:`moflow.inputs.clinical_columns.is_copy`.)
    """
    from moflow.cohort import outcome_columns, training_samples
    from moflow.errors import InputError
    from moflow.inputs.clinical_columns import check_clinical, clinical_frame, is_copy

    c = settings.clinical
    if not c.columns:
        return
    sheet = samples.set_index("sample", drop=False) if samples.index.name != "sample" else samples
    train = [s for s in training_samples(sheet, settings) if s in y.dropna().index]
    check_clinical(
        sheet,
        c.columns,
        categorical=c.categorical,
        reference=c.reference,
        outcome_columns=outcome_columns(settings),
        samples=train,
        path=samples_path,
    )
    copies = is_copy(clinical_frame(sheet.loc[train], c.columns), y.loc[train], task, categorical=c.categorical)
    if copies:
        raise InputError(
            f"{samples_path}: clinical covariate '{copies[0]}' is a copy of the outcome (each of its values goes "
            "with one outcome value and back, among the training samples): a model given it predicts the outcome "
            "from the outcome. Remove it from 'clinical: columns'."
        )


def check_site_column(
    settings, samples: pd.DataFrame, y, task: str, *, samples_path: str, omics: pd.DataFrame | None = None
) -> list[str]:
    """``evaluation: site_column`` names a column whose sites can each be left out.

    (:func:`moflow.evaluate.sites.check_sites`.)

    Returns the log lines (sites, sizes, a site whose score will be rough). With ``omics``, also
    :func:`check_site_batches`.
    """
    from moflow.cohort import training_samples
    from moflow.errors import InputError
    from moflow.evaluate.sites import check_sites

    column = str(settings.evaluation.site_column or "").strip()
    if not column:
        return []
    if column not in samples.columns:
        raise InputError(
            f"config 'evaluation: site_column' names '{column}', which is not a column of {samples_path} (its "
            f"columns: {listing(list(samples.columns), 20)}).{did_you_mean(column, list(samples.columns))} Add the "
            "column or correct the name."
        )
    sheet = samples.set_index("sample", drop=False) if samples.index.name != "sample" else samples
    train = [s for s in training_samples(sheet, settings) if s in y.dropna().index]
    messages = check_sites(y.loc[train], sheet.loc[train, column], task=task, column=column, path=samples_path)
    if omics is not None:
        check_site_batches(settings, sheet.loc[train], omics, column=column, samples_path=samples_path)
    return messages


def check_site_batches(settings, sheet: pd.DataFrame, omics: pd.DataFrame, *, column: str, samples_path: str) -> None:
    """Stop where a held-out site holds a batch no training site has, and the layer cannot correct it.

    A layer's batch correction (ComBat, linear) estimates each batch's effect on the training side; a
    site whose samples make up whole batches leaves them without training samples when it is held out.
    Unless the layer's batch step is ``none`` or treats unseen batches as its reference batch
    (``unseen_batch: reference``), that split could not be preprocessed: said here, not mid-run.
    """
    from moflow.errors import InputError
    from moflow.preprocess import layer_settings
    from moflow.settings import thaw

    site = sheet[column].astype(str).str.strip()
    for _, row in omics.iterrows():
        batch_column = str(row.get("batch_column", "") or "").strip()
        if not batch_column or batch_column not in sheet.columns:
            continue
        steps = layer_settings(
            row["kind"], settings.layer_overrides(row["layer"]), defaults=thaw(settings.kind_defaults[row["kind"]])
        )
        step = steps.get("batch", {})
        if step.get("method", "none") == "none" or step.get("unseen_batch", "error") == "reference":
            continue
        batch = sheet[batch_column].astype(str).str.strip()
        for level in sorted(site.unique()):
            held = site == level
            unseen = sorted(set(batch[held]) - set(batch[~held]) - {"", "nan"})
            if unseen:
                raise InputError(
                    f"config 'evaluation: site_column' '{column}': site '{level}' holds every sample of batch "
                    f"'{unseen[0]}' (column '{batch_column}' of {samples_path}), which layer '{row['layer']}' "
                    f"corrects ({step.get('method')}): held out, that batch has no training samples and its "
                    "effect cannot be estimated. Set the layer's batch method to none (config 'preprocess: "
                    f"{row['layer']}: batch: method: none'; the site is then the unseen batch the predictor must "
                    "transfer to), or give it a reference batch with 'unseen_batch: reference'."
                )


def regulator_edges(path: str) -> pd.DataFrame:
    """A regulator edge list read and checked (:func:`moflow.integrate.prior_knowledge.parse_edges`)."""
    from moflow.integrate import parse_edges
    from moflow.io import read_sheet

    return parse_edges(read_sheet(path), path=path)


def check_sample_labels(
    settings,
    samples: pd.DataFrame,
    omics: pd.DataFrame,
    *,
    places=None,
    samples_path: str = "the sample sheet",
    omics_path: str = "the omics sheet",
) -> None:
    """Check the categorical sample-sheet columns config and the omics sheet name.

    The batch columns of the omics sheet, ``evaluation: group_column``, ``integration: mofa: groups``
    (the site or cohort column) and the categorical ``covariates``: a label written in several ways
    (``b1``, ``B1``, ``b1 ``) stops (:func:`~moflow.inputs.sheet_labels.check_label_spellings`; the outcome
    and the test column are checked with the sheet). Then every cohort sample that each layer must
    hold needs a batch: all without one are named at once
    (:func:`~moflow.inputs.sheet_labels.check_batch_cells`). Columns not in the sheet are left to the checks
    that name them.

    Parameters
    ----------
    settings : moflow.settings.Settings
        The validated config.
    samples : pandas.DataFrame
        The checked sample sheet, indexed by sample.
    omics : pandas.DataFrame
        The checked omics sheet.
    places : mapping, optional
        Sample ID -> its place in the sample sheet, ``line 7`` (:func:`~moflow.inputs.sheet_labels.sample_locations`).
    samples_path, omics_path : str
        Name the sheets in messages.
    """
    from moflow.cohort import external_test_samples
    from moflow.wording import NA_TOKENS

    used = samples[samples["sample_type"].isin(["sample", "qc"])]
    cohort = samples[samples["sample_type"] == "sample"]
    batch_layers: dict = {}
    for layer, bc in zip(omics["layer"], omics["batch_column"]):
        if str(bc).strip():
            batch_layers.setdefault(str(bc).strip(), []).append(str(layer))
    named = {  # column -> (what names it, what a label is, the rows the workflow uses)
        column: (f"batch_column of layer(s) {listing(layers, 10)} in {omics_path}", "batch", used)
        for column, layers in batch_layers.items()
    }
    ev = settings.evaluation
    if str(ev.group_column or "").strip():
        named.setdefault(str(ev.group_column).strip(), ("config 'evaluation: group_column'", "subject", cohort))
    groups = str(settings.integration.mofa.groups or "").strip()
    if groups:
        named.setdefault(groups, ("config 'integration: mofa: groups'", "group", cohort))
    for col in settings.covariates:
        if col in samples.columns and col not in named:
            cells = cohort[col].astype(str).str.strip()
            cells = cells[~cells.str.lower().isin(NA_TOKENS)]
            if pd.to_numeric(cells, errors="coerce").isna().any():  # numeric covariates are numbers, not labels
                named[col] = ("config 'covariates'", "category", cohort)
    for column, (what, noun, rows) in named.items():
        if column in samples.columns:
            check_label_spellings(rows[column], path=samples_path, column=column, what=what, noun=noun, places=places)
    if not settings.inputs.allow_missing_samples:
        test = set(external_test_samples(samples, settings))
        check_batch_cells(
            samples,
            omics,
            path=samples_path,
            omics_path=omics_path,
            required=[s for s in cohort.index if s not in test],
            places=places,
        )


def check_startup(
    settings,
    *,
    source: str = "config",
    exists=None,
    produced=(),
    download_dir: str = "resources/genesets",
    gene_set_files: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everything checked while ``rules/common.smk`` is parsed, in the order a user fixes things.

    Both sheets (cell by cell, then the outcome and the training samples against the folds), the
    names config gives (layers, columns, MOFA groups, the positive class), the enrichment files, and
    every gene-set file that exists (parsed: empty, malformed, no usable set).

    Parameters
    ----------
    settings : moflow.settings.Settings
        The validated config.
    source : str
        The config file, for messages.
    exists : callable, optional
        path -> bool (default: the file exists).
    produced : iterable of str
        Files the workflow makes (the demo's gene sets).
    download_dir : str
        Where downloaded libraries go.
    gene_set_files : bool
        Parse the GMT files (seconds for large collections: the Snakefile does it in the main process
        only, not again at the start of every cluster job).

    Returns
    -------
    samples, omics : pandas.DataFrame
        As :func:`check_samples_sheet` and :func:`check_omics_sheet` return them.
    """
    from pathlib import Path

    from moflow.cohort import (
        has_outcome,
        mofa_groups,
        outcome,
        outcome_task,
        positive_class,
        runs_subtypes,
        split_groups,
    )
    from moflow.enrich import check_enrichment_config
    from moflow.errors import InputError
    from moflow.inputs.subtype_checks import check_subtypes, check_without_outcome
    from moflow.io import read_gmt_lines, read_sheet

    exists = exists or (lambda p: Path(p).exists())
    samples_path, omics_path = settings.samples, settings.omics
    ev = settings.evaluation
    raw_samples = read_sheet(samples_path)
    samples = check_samples_sheet(
        raw_samples,
        path=samples_path,
        outcome=settings.outcome.column,
        min_class_size=ev.folds,
        outcome_type=settings.outcome.type,
        time_column=settings.outcome.time,
        event_column=settings.outcome.event,
        missing=settings.outcome.missing,
        test_column=ev.test_column,
        test_value=ev.test_value,
    )
    omics = check_omics_sheet(read_sheet(omics_path), path=omics_path, samples=samples, samples_path=samples_path)
    layers = list(omics["layer"])
    check_config_layers(settings, layers, source=source, omics_path=omics_path)
    check_config_columns(settings, samples, source=source, samples_path=samples_path)
    check_sample_labels(
        settings,
        samples,
        omics,
        places=sample_locations(raw_samples, samples_path),
        samples_path=samples_path,
        omics_path=omics_path,
    )
    mofa_groups(samples, settings, path=samples_path)  # a misnamed groups column stops here
    split_groups(samples, settings, path=samples_path, min_groups=ev.folds)  # subjects of group-aware CV
    if has_outcome(settings):
        y = outcome(samples, settings)
        positive_class(y, settings, path=samples_path)  # a misspelt positive class
        task = outcome_task(y, settings)
        check_clinical_columns(settings, samples, y, task, samples_path=samples_path)
        for line in check_site_column(settings, samples, y, task, samples_path=samples_path, omics=omics):
            import logging

            logging.getLogger("moflow").info(line)
        check_design_metric(settings, outcome_task(y, settings), source=source)
        check_recalibration(settings, task, source=source)
        check_augment(settings, task, source=source)
        check_design_strategies(settings, omics, source=source)
    else:
        check_without_outcome(settings, source=source, columns=samples.columns)
    check_synthesize_strategies(settings, omics, source=source)
    if runs_subtypes(settings):
        check_subtypes(settings, samples, omics, source=source, samples_path=samples_path)
    try:
        check_enrichment_config(
            settings.enrichment, layers, exists=exists, produced=set(produced), download_dir=download_dir
        )
    except ConfigError:
        raise
    except InputError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    h = settings.integration.hierarchical
    unknown = [c for c in h.collections if c not in settings.enrichment.gene_sets]
    if unknown:
        raise ConfigError(
            f"{source}: 'integration: hierarchical: collections' names {listing(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not in 'enrichment: gene_sets' (collections: "
            f"{listing(settings.enrichment.gene_sets) or 'none'})."
            f"{did_you_mean(unknown[0], settings.enrichment.gene_sets)}"
            " Name a collection of enrichment: gene_sets."
        )
    for name, reg in h.regulators.items():
        if not exists(reg.edges):
            raise ConfigError(
                f"{source}: 'integration: hierarchical: regulators: {name}: edges' is '{reg.edges}', "
                "which does not exist. Give the path of a TSV with columns source and target (and an "
                "optional weight or sign column)."
            )
        regulator_edges(reg.edges)  # a malformed edge list stops here
    en = settings.enrichment
    gmts = list(en.gene_sets.values()) + [p for cfg in en.layers.values() for p in cfg.feature_sets.values()]
    for path in dict.fromkeys(str(p) for p in gmts):
        if gene_set_files and exists(path):
            check_gene_set_file(read_gmt_lines(path), path=path, min_size=int(en.min_size))
    return samples, omics
