"""The integration strategies built from the settings and the sheets.

The full-cohort rules and every cross-validation fold build their strategies through these same
calls. Each factory declares the settings sections it reads (:func:`moflow.settings.reads`); the
rules hand a job exactly those sections. The estimators (scikit-learn, scipy, mofapy2) are imported
where they are built: the Snakefile imports this module at every job start.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import pandas as pd

from moflow.cohort import mofa_groups
from moflow.settings import Settings, reads, thaw

if TYPE_CHECKING:
    from moflow.integrate.mofa import MOFA

STRATEGIES = ("early", "mixed", "mofa", "late", "hierarchical")


@reads("integration")
def mofa_likelihoods(omics: pd.DataFrame, settings: Settings) -> dict[str, str]:
    """MOFA's likelihood of every layer: bernoulli for a binary layer, else gaussian, unless config says.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet (columns ``layer`` and ``kind``).
    settings : Settings
        Read: ``integration`` (``integration: mofa: likelihoods``, {layer: likelihood}, overrides the
        defaults).

    Returns
    -------
    dict of str to str
        {layer: likelihood}.
    """
    liks = {row["layer"]: ("bernoulli" if row["kind"] == "binary" else "gaussian") for _, row in omics.iterrows()}
    liks.update(thaw(settings.integration.mofa.likelihoods))
    return liks


@reads("integration", "seed", uses=[mofa_likelihoods, mofa_groups])
def build_mofa(
    omics: pd.DataFrame,
    settings: Settings,
    *,
    seed: int | None = None,
    sheet: pd.DataFrame | None = None,
    check: bool = False,
) -> MOFA:
    """The configured MOFA, unfitted.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet (the layers' likelihoods: :func:`mofa_likelihoods`).
    settings : Settings
        Read: ``integration``, ``seed``.
    seed : int, optional
        MOFA's seed (default: ``seed`` of the settings).
    sheet : pandas.DataFrame, optional
        The sample sheet; with ``integration: mofa: groups`` it gives the groups (required then).
    check : bool
        A fit that only checks (CV folds, stability seeds), which stops at ``check_tolerance``.

    Returns
    -------
    MOFA
        The unfitted :class:`moflow.integrate.mofa.MOFA`.
    """
    from moflow.integrate.mofa import MOFA

    m = settings.integration.mofa
    groups = None
    if str(m.groups or "").strip():
        if sheet is None:
            raise ValueError("build_mofa: MOFA groups are configured, pass the sample sheet")
        groups = mofa_groups(sheet, settings)
    return MOFA(
        n_factors=int(m.factors),
        likelihoods=mofa_likelihoods(omics, settings),
        spikeslab_weights=bool(m.spikeslab_weights),
        ard_weights=bool(m.ard_weights),
        ard_factors=bool(m.ard_factors),
        drop_r2=m.drop_r2,
        scale_views=bool(m.scale_views),
        convergence_mode=m.convergence_mode,
        max_iter=int(m.max_iter),
        use_float32=bool(m.use_float32),
        gpu_mode=bool(m.gpu_mode),
        seed=int(settings.seed) if seed is None else int(seed),
        groups=groups,
        center_groups=bool(m.center_groups),
        tolerance=(None if m.check_tolerance is None else float(m.check_tolerance)) if check else None,
    )


@reads("integration", "enrichment")
def hierarchical_layers(omics: pd.DataFrame, settings: Settings) -> list[str]:
    """The layers the hierarchical strategy scores, in the order of the omics sheet.

    Layers with genes where config names gene-set collections (``integration: hierarchical:
    collections``, default every one of ``enrichment: gene_sets``), and the target layers of its
    regulator edge lists.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet.
    settings : Settings
        Read: ``integration``, ``enrichment``.

    Returns
    -------
    list of str
        The layers.
    """
    from moflow.enrich import enrichment_layers

    h = settings.integration.hierarchical
    collections = list(h.collections) or list(settings.enrichment.gene_sets)
    gene_layers = enrichment_layers(omics, settings.enrichment)[0] if collections else []
    targets = [r.layer for r in h.regulators.values()]
    return [layer for layer in omics["layer"] if layer in set(gene_layers) | set(targets)]


@reads("evaluation", "clinical", uses=[hierarchical_layers])
def strategy_names(layers: list[str], settings: Settings, omics: pd.DataFrame | None = None) -> list[str]:
    """Every single-layer baseline (single_<layer>), the integration strategies and the baselines enabled in config.

    The strategies that combine layers only where there are at least two; mofa and hierarchical also
    on one; hierarchical where it has a layer to score: :func:`hierarchical_layers`, which needs
    ``omics``. Then the baselines of ``evaluation: baselines`` (:data:`moflow.integrate.baselines.BASELINES`;
    ``clinical`` only where ``clinical: columns`` names some). The strategies refit with the clinical
    covariates (``<strategy>+clinical``) are made in each fold from the fitted strategy
    (:func:`moflow.evaluate.run_fold`) and are not listed here.

    Parameters
    ----------
    layers : list of str
        The cohort's layers.
    settings : Settings
        Read: ``evaluation`` (``strategies``, ``baselines``), ``clinical`` (``columns``).
    omics : pandas.DataFrame, optional
        The omics sheet; without it, no hierarchical strategy.

    Returns
    -------
    list of str
        The strategies' names.
    """
    wanted = list(settings.evaluation.strategies)
    names = [f"single_{layer}" for layer in layers]
    names += [s for s in STRATEGIES if s in wanted and s != "hierarchical" and (s == "mofa" or len(layers) > 1)]
    if "hierarchical" in wanted and omics is not None and hierarchical_layers(omics, settings):
        names.append("hierarchical")
    baselines = list(settings.evaluation.baselines)
    names += [
        b for b in ("naive", "clinical", "trees") if b in baselines and (b != "clinical" or settings.clinical.columns)
    ]
    return names


@reads("integration", "enrichment", uses=[hierarchical_layers])
def build_prior(
    omics: pd.DataFrame,
    settings: Settings,
    files: tuple[dict, dict],
    edges: dict[str, pd.DataFrame],
    layer_features: dict[str, list],
) -> dict:
    """The prior knowledge of the hierarchical strategy: {collections, gene_maps, regulators}.

    Built from the enrichment files, the checked edge tables and the layers' features.

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet.
    settings : Settings
        Read: ``integration``, ``enrichment``.
    files : tuple of dict
        (GMT lines, annotations): the enrichment files (:func:`moflow.io.read_enrichment_files`).
    edges : dict of str to pandas.DataFrame
        {regulator name: frame source, target, weight} (checked: :func:`moflow.integrate.prior_knowledge.parse_edges`).
    layer_features : dict of str to list
        {layer: its features}.

    Returns
    -------
    dict
        ``collections``, ``gene_maps`` and ``regulators``, the parameters of
        :class:`moflow.integrate.hierarchical.HierarchicalIntegration`, and ``left_out`` ({layer: why}):
        the layers left out because no set of any collection has between ``min_size`` and ``max_size``
        of their genes (and no regulator targets them). Each is logged; with every layer left out the
        strategy has nothing to score and :func:`build_strategies` leaves it out.

    Notes
    -----
    The share of a layer's genes a collection covers is not checked here: identifiers of another type
    stop the input stage (:func:`moflow.inputs.check_gene_set_overlap`), and a small collection of
    matching genes is scored (``enrichment: min_overlap`` is not applied to this strategy).
    """
    import dataclasses
    import logging

    from moflow.enrich import plan_enrichment

    h = settings.integration.hierarchical
    wanted = list(h.collections) or list(settings.enrichment.gene_sets)
    gmt_lines, annotations = files
    plan = plan_enrichment(
        omics,
        dataclasses.replace(settings.enrichment, min_overlap=0.0),
        gmt_lines=gmt_lines,
        annotations=annotations,
        layer_features=layer_features,
    )
    regulators = tuple((name, edges[name], r.layer, int(r.min_targets)) for name, r in h.regulators.items())
    chosen = [c for c in plan.collections if c.gene_level and c.name in wanted]
    targets = {lay for _, _, lay, _ in regulators}
    left_out = {}
    for layer in dict.fromkeys(lay for c in chosen for lay in c.layers):
        genes = set(plan.gene_maps[layer].genes(layer_features.get(layer, [])))
        n = sum(
            int(h.min_size) <= len(genes.intersection(members)) <= int(h.max_size)
            for c in chosen
            if layer in c.layers
            for members in c.sets.values()
        )
        if not n and layer not in targets:
            names = ", ".join(c.name for c in chosen if layer in c.layers)
            left_out[layer] = (
                f"no gene set of {names} has between {int(h.min_size)} and {int(h.max_size)} members among the "
                f"layer's {len(genes)} genes (integration: hierarchical: min_size, max_size)"
            )
            logging.getLogger("moflow").warning(
                "hierarchical integration: layer %s left out: %s.", layer, left_out[layer]
            )
    collections = tuple(
        (c.name, c.sets, tuple(lay for lay in c.layers if lay not in left_out))
        for c in chosen
        if any(lay not in left_out for lay in c.layers)
    )
    return {
        "collections": collections,
        "gene_maps": dict(plan.gene_maps),
        "regulators": regulators,
        "left_out": left_out,
    }


@reads("integration", "seed", uses=[build_mofa])
def strategy_factory(
    name: str,
    omics: pd.DataFrame,
    settings: Settings,
    task: str = "classification",
    *,
    sheet: pd.DataFrame | None = None,
    prior: dict | None = None,
):
    """The factory of one unfitted strategy (``single_<layer>``, early, mixed, mofa, late, hierarchical, a baseline).

    Parameters
    ----------
    name : str
        The strategy: ``single_<layer>``, one of :data:`STRATEGIES`, or a baseline (``naive``, ``clinical``:
        :mod:`moflow.integrate.baselines`; ``trees``: :class:`moflow.integrate.trees.TreeReference`).
    omics : pandas.DataFrame
        The omics sheet (MOFA's likelihoods).
    settings : Settings
        Read: ``integration``, ``seed``.
    task : str
        ``classification``, ``regression`` or ``survival``.
    sheet : pandas.DataFrame, optional
        The sample sheet, needed only for MOFA groups (``integration: mofa: groups``).
    prior : dict, optional
        The hierarchical strategy's gene sets, maps and regulators (:func:`build_prior`); required for
        ``hierarchical``.

    Returns
    -------
    callable
        Called without arguments, it returns a new unfitted estimator (a :func:`functools.partial`).
    """
    from moflow.integrate.early import EarlyIntegration
    from moflow.integrate.late import LateIntegration
    from moflow.integrate.mixed import MixedIntegration
    from moflow.integrate.single import SingleLayer

    integ = settings.integration
    common = {"task": task, "inner_folds": int(integ.inner_folds), "seed": int(settings.seed)}
    if name == "naive":
        from moflow.integrate.baselines import NaiveBaseline

        return partial(NaiveBaseline, task=task)
    if name == "clinical":
        from moflow.integrate.baselines import ClinicalOnly

        return partial(ClinicalOnly, **common)
    if name == "trees":
        from moflow.integrate.trees import TreeReference

        return partial(TreeReference, **common)
    early, mixed, mofa, late = integ.early, integ.mixed, integ.mofa, integ.late
    if name.startswith("single_"):
        return partial(SingleLayer, name[len("single_") :], penalty=early.penalty, model=early.model, **common)
    if name == "early":
        return partial(
            EarlyIntegration,
            layer_weights=thaw(early.layer_weights),
            penalty=early.penalty,
            model=early.model,
            n_components=int(early.n_components),
            missing=early.missing,
            **common,
        )
    if name == "mixed":
        return partial(
            MixedIntegration, n_components=int(mixed.n_components), penalty=mixed.penalty, model=mixed.model, **common
        )
    if name == "mofa":
        return partial(_mofa_strategy, omics, settings, sheet, penalty=mofa.penalty, model=mofa.model, **common)
    if name == "late":
        return partial(LateIntegration, penalty=late.penalty, model=late.model, **common)
    if name == "hierarchical":
        from moflow.integrate.hierarchical import HierarchicalIntegration

        if prior is None:
            raise ValueError(
                "the hierarchical strategy needs its prior knowledge (moflow.integrate.strategy_factory.build_prior)"
            )
        h = integ.hierarchical
        return partial(
            HierarchicalIntegration,
            collections=prior["collections"],
            gene_maps=prior["gene_maps"],
            regulators=prior["regulators"],
            method=h.method,
            min_size=int(h.min_size),
            max_size=int(h.max_size),
            penalty=h.penalty,
            model=h.model,
            **common,
        )
    raise ValueError(f"unknown strategy {name!r}; strategies are single_<layer>, {', '.join(STRATEGIES)}")


@reads(uses=[strategy_names, strategy_factory])
def build_strategies(
    omics: pd.DataFrame,
    settings: Settings,
    task: str = "classification",
    *,
    sheet: pd.DataFrame | None = None,
    prior: dict | None = None,
) -> dict:
    """Name -> factory of an unfitted estimator, for every single layer and every strategy allowed.

    The strategies the cohort's layers and config allow (:func:`strategy_names`; hierarchical only
    with ``prior``, and not where the prior leaves every layer out, which is logged with the reasons),
    and for a class outcome each integration strategy recalibrated by every method of ``evaluation:
    recalibration`` (``<name>+platt``, ``<name>+isotonic``: :class:`moflow.integrate.recalibration.Recalibrated`)
    and each of ``evaluation: augment_strategies`` fit with new samples of the rare classes by every method of
    ``evaluation: augment`` besides ``none`` (``<name>+smote``, ``<name>+latent``:
    :class:`moflow.scarcity.augment.Augmented`).

    Parameters
    ----------
    omics : pandas.DataFrame
        The omics sheet (its ``layer`` column: the cohort's layers).
    settings : Settings
        Read: what :func:`strategy_names` and :func:`strategy_factory` read.
    task : str
        ``classification``, ``regression`` or ``survival``.
    sheet : pandas.DataFrame, optional
        The sample sheet, needed only for MOFA groups.
    prior : dict, optional
        The hierarchical strategy's prior knowledge (:func:`build_prior`).

    Returns
    -------
    dict
        {name: factory} (:func:`strategy_factory`).
    """
    names = strategy_names(list(omics["layer"]), settings, omics if prior is not None else None)
    if "hierarchical" in names and not (prior["collections"] or prior["regulators"]):
        import logging

        why = "; ".join(f"layer {lay}: {r}" for lay, r in prior.get("left_out", {}).items()) or "no layer to score"
        logging.getLogger("moflow").warning(
            "hierarchical integration left out of the scoreboard: every layer is left out (%s).", why
        )
        names.remove("hierarchical")
    out = {name: strategy_factory(name, omics, settings, task, sheet=sheet, prior=prior) for name in names}
    if task == "classification":  # evaluation: recalibration: each integration strategy recalibrated too
        from moflow.integrate.recalibration import Recalibrated

        integration = [n for n in names if n in STRATEGIES]
        for method in settings.evaluation.recalibration:
            for name in integration:
                out[f"{name}+{method}"] = partial(
                    Recalibrated,
                    out[name],
                    method=method,
                    inner_folds=int(settings.integration.inner_folds),
                    seed=int(settings.seed),
                )
        from moflow.scarcity.augment import Augmented

        grouped = bool(str(settings.integration.mofa.groups or "").strip())  # new samples have no MOFA group
        for method in [m for m in settings.evaluation.augment if m != "none"]:
            chosen = settings.evaluation.augment_strategies
            for name in [n for n in integration if n in chosen and not (n == "mofa" and grouped)]:
                out[f"{name}+{method}"] = partial(
                    Augmented,
                    out[name],
                    method=method,
                    n_components=int(settings.evaluation.augment_components),
                    seed=int(settings.seed),
                )
    return out


def _mofa_strategy(omics, settings, sheet, **kwargs):
    """The mofa strategy, its MOFA built when the strategy is (groups need the sheet only then)."""
    from moflow.integrate.mofa_strategy import MOFAStrategy

    return MOFAStrategy(build_mofa(omics, settings, sheet=sheet, check=True), **kwargs)
