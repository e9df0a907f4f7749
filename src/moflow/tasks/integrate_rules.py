"""Rules integrate_early, integrate_mofa, integrate_late and integrate_hierarchical.

The strategies fit on the full cohort's training samples (external test samples are only projected
or predicted).
"""

from __future__ import annotations

import logging

import pandas as pd

from moflow.cohort import Cohort, align_layers, covariate_table, orient_coefficients, positive_class
from moflow.integrate import build_prior, run_mofa, strategy_factory
from moflow.settings import Settings, reads
from moflow.tasks._common import load_cohort

log = logging.getLogger("moflow")


def _inputs(raw_samples, raw_omics, layers, settings) -> tuple[Cohort, dict[str, pd.DataFrame]]:
    cohort = load_cohort(raw_samples, raw_omics, settings)
    return cohort, align_layers(layers, cohort.samples)


def _train(cohort: Cohort, layers: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {n: X.loc[cohort.train] for n, X in layers.items()}


@reads(uses=[load_cohort, strategy_factory, positive_class])
def integrate_early(
    layers: dict[str, pd.DataFrame], raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings
) -> dict:
    """Early integration: weighted concatenation, PCA embedding and model.

    With one layer this is the layer's own penalized model (the model whose coefficients are
    enriched).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix}.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        {embedding (every sample, with its outcome; survival: the event), coefficients (signed towards
        the positive class)}.
    """
    cohort, layers = _inputs(raw_samples, raw_omics, layers, settings)
    model = strategy_factory("early", cohort.omics, settings, cohort.task, sheet=cohort.sheet)()
    model.fit(_train(cohort, layers), cohort.y.loc[cohort.train])
    from moflow.evaluate import outcome_labels

    emb = model.embed(layers)
    emb.insert(0, "outcome", outcome_labels(cohort.y).reindex(emb.index).to_numpy())  # survival: event
    log.info("early integration on %d training samples: layer weights %s", len(cohort.train), model.weights_)
    return {
        "embedding": emb.rename_axis("sample").reset_index(),
        "coefficients": orient_coefficients(model.coefficients(), positive_class(cohort.y, settings)),
    }


@reads(uses=[load_cohort, strategy_factory, positive_class])
def integrate_late(
    layers: dict[str, pd.DataFrame], raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings
) -> dict:
    """Late integration: one model per layer stacked by a meta-learner.

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix}.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        {layer_weights (the meta-learner's), coefficients (every base model's, signed)}.
    """
    cohort, layers = _inputs(raw_samples, raw_omics, layers, settings)
    model = strategy_factory("late", cohort.omics, settings, cohort.task, sheet=cohort.sheet)()
    model.fit(_train(cohort, layers), cohort.y.loc[cohort.train])
    positive = positive_class(cohort.y, settings)
    log.info("late integration meta-learner:\n%s", model.layer_weights().to_string(index=False))
    return {
        "layer_weights": model.layer_weights(),
        "coefficients": pd.concat(
            [orient_coefficients(m.coefficients(), positive) for m in model.base_.values()], ignore_index=True
        ),
    }


@reads(uses=[load_cohort, run_mofa, covariate_table])
def integrate_mofa(
    layers: dict[str, pd.DataFrame], raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings
) -> dict:
    """MOFA: {model, factors, weights, variance, associations (every covariate), stability}.

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix}.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        The fitted model; the factors of every sample; the weights and variance explained; the
        factors' associations with every covariate of the training samples (Cox tests for a survival
        outcome); the stability of the factors across seeds.
    """
    from moflow.integrate import factor_associations

    cohort, layers = _inputs(raw_samples, raw_omics, layers, settings)
    mofa, factors, stab = run_mofa(layers, cohort, settings)
    survival = cohort.y.loc[cohort.train] if cohort.task == "survival" else None
    assoc = factor_associations(
        factors.loc[cohort.train], covariate_table(cohort.sheet, settings, cohort.train), survival=survival
    )
    log.info(
        "MOFA: %d factors on %d training samples\n%s\nstability:\n%s",
        mofa.K_,
        len(cohort.train),
        assoc.sort_values("p").head(10).to_string(index=False),
        stab.groupby("factor")["abs_r"].mean().to_string() if len(stab) else "no extra seeds",
    )
    return {
        "model": mofa,
        "factors": factors.reset_index(),
        "weights": mofa.weights(),
        "variance": mofa.r2_,
        "associations": assoc,
        "stability": stab,
    }


@reads(uses=[load_cohort, build_prior, strategy_factory, positive_class])
def integrate_hierarchical(
    layers: dict[str, pd.DataFrame],
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    files,
    edges: dict,
    settings: Settings,
) -> dict:
    """Hierarchical integration fit on the training samples.

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix}.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    files : tuple
        The enrichment files (:func:`moflow.io.read_enrichment_files`).
    edges : dict
        {regulator: checked edge list}.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        {scores (every cohort sample; external test samples only projected), coefficients (per
        layer, signed; largest first)}. A layer left out (no gene set within ``min_size`` and
        ``max_size``, no regulator) is a last coefficients row: the layer, source ``left out`` and the
        reason as its feature, no value. With every layer left out the model is not fit: the scores
        hold the samples only and the coefficients only those rows.
    """
    cohort, layers = _inputs(raw_samples, raw_omics, layers, settings)
    prior = build_prior(cohort.omics, settings, files, edges, {n: list(X.columns) for n, X in layers.items()})
    if not (prior["collections"] or prior["regulators"]):
        log.warning("hierarchical integration: every layer is left out; no model is fit.")
        return {
            "scores": pd.DataFrame({"sample": list(cohort.y.index)}),
            "coefficients": _left_out_rows(prior["left_out"]),
        }
    model = strategy_factory("hierarchical", cohort.omics, settings, cohort.task, sheet=cohort.sheet, prior=prior)()
    model.fit(_train(cohort, layers), cohort.y.loc[cohort.train])
    coefs = orient_coefficients(model.coefficients(), positive_class(cohort.y, settings))
    value = (
        ["structure_r"]
        if "structure_r" in coefs.columns
        else [c for c in coefs.columns if c not in ("layer", "source", "feature")]
    )
    order = coefs[value].abs().max(axis=1).sort_values(ascending=False, kind="stable").index
    log.info(
        "hierarchical integration: %d scores of %d layers; top:\n%s",
        len(coefs),
        len(model.layers_),
        coefs.loc[order].head(15).to_string(index=False),
    )
    coefs = coefs.loc[order].reset_index(drop=True)
    left_out = {**prior["left_out"], **model.left_out_}
    if left_out:
        coefs = pd.concat([coefs, _left_out_rows(left_out)], ignore_index=True)
    return {"scores": model.scores(layers).rename_axis("sample").reset_index(), "coefficients": coefs}


def _left_out_rows(left_out: dict[str, str]) -> pd.DataFrame:
    """The coefficients rows of the layers the hierarchical strategy leaves out: layer, source, reason."""
    return pd.DataFrame(
        {"layer": list(left_out), "source": "left out", "feature": list(left_out.values())},
        columns=["layer", "source", "feature"],
    )
