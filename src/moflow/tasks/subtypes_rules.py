"""Rules subtype_resamples and subtypes: k measured on held-out halves, then the subtypes chosen and described."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from moflow.integrate import build_mofa
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings, reads
from moflow.subtypes.subtype_plan import subtype_representations
from moflow.tasks._common import load_cohort

log = logging.getLogger("moflow")


def _samples(cohort, layers: dict) -> list:
    """The training samples every layer has (subtypes are sought among them).

    Fewer than :data:`moflow.subtypes.MIN_SAMPLES` stop the job with the layers that lack samples and the fix
    (the start-up check counts the sample sheet, before the matrices are read).
    """
    from moflow.errors import DataError
    from moflow.subtypes.subtype_plan import MIN_SAMPLES

    present = {n: set(X.index) for n, X in layers.items()}
    kept = [s for s in cohort.train if all(s in p for p in present.values())]
    if len(kept) < MIN_SAMPLES:
        lacking = ", ".join(
            f"{n} lacks {sum(s not in p for s in cohort.train)}" for n, p in present.items() if cohort.train
        )
        raise DataError(
            f"subtypes: only {len(kept)} of the {len(cohort.train)} cohort samples have every layer ({lacking}); "
            f"subtype discovery needs {MIN_SAMPLES} at least (each half of a resample holds 2 groups of 2). "
            "Measure the missing layers for more samples, leave the sparse layer out of the omics sheet, or set "
            "'subtypes: enabled: false'."
        )
    return kept


@reads("subtypes", "seed", uses=[load_cohort, build_preprocessors, build_mofa, subtype_representations])
def subtype_resamples(
    raw: dict[str, pd.DataFrame],
    numbers: list[int],
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
) -> dict:
    """The prediction strengths of resamples ``numbers`` (:func:`moflow.subtypes.resampling.resample_strengths`).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    numbers : list of int
        The resamples this job runs.
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        {strengths: :data:`moflow.subtypes.resampling.STRENGTH_COLUMNS` of every resample}.
    """
    from moflow.subtypes.resampling import resample_strengths

    cohort = load_cohort(raw_samples, raw_omics, settings)
    st = settings.subtypes
    samples = _samples(cohort, raw)
    reps, _ = subtype_representations(settings, list(raw))
    preprocessors = build_preprocessors(cohort.omics, settings, cohort.info)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    mofa = build_mofa(cohort.omics, settings, sheet=cohort.sheet, check=True) if "mofa" in reps else None
    out = []
    for r in numbers:
        out.append(
            resample_strengths(
                raw,
                preprocessors,
                samples,
                r,
                qc=qc,
                mofa=mofa,
                representations=reps,
                clusterings=list(st.clusterings),
                k_max=st.k_max,
                n_components=st.components,
                n_features=st.features,
                network=dict(k=st.network.k, mu=st.network.mu, t=st.network.t),
                seed=settings.seed,
            )
        )
        log.info("subtypes: resample %d of %d samples (halves refit from the raw layers)", r, len(samples))
    return {"strengths": pd.concat(out, ignore_index=True)}


def _representation(name: str, layers: dict, cohort, settings: Settings) -> pd.DataFrame:
    """The kept representation of the cohort's samples, fit on all of them as the resamples fit their halves.

    Each layer's most variable features (``subtypes: features``), then the components, the fused network's
    embedding, or MOFA (the run's settings, refit on those features).
    """
    from moflow.subtypes.representations import FusedNetwork, LayerComponents, most_variable

    st = settings.subtypes
    layers = most_variable(layers, st.features)
    if name == "mofa":
        return build_mofa(cohort.omics, settings, sheet=cohort.sheet).fit(layers).Z_train_
    if name == "network":
        return FusedNetwork(k=st.network.k, mu=st.network.mu, t=st.network.t).fit(layers).embedding_
    return LayerComponents(st.components).fit_transform(layers)


@reads(
    "subtypes",
    "seed",
    "outcome",
    "predictor",
    uses=[load_cohort, subtype_representations, build_preprocessors, build_mofa],
)
def describe_subtypes(
    strengths: pd.DataFrame,
    raw: dict[str, pd.DataFrame],
    layers: dict[str, pd.DataFrame],
    factors: pd.DataFrame | None,
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
) -> dict:
    """The number of subtypes from every resample, the subtypes of the cohort's samples, and what sets them apart.

    Parameters
    ----------
    strengths : pandas.DataFrame
        Every resample's rows (:func:`subtype_resamples`).
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix} (the bundle's chains are refit on them, as the cohort's were).
    layers : dict of str to pandas.DataFrame
        {layer: preprocessed matrix of the cohort} (rule fit_cohort).
    factors : pandas.DataFrame or None
        The cohort's MOFA factors (column ``sample`` and one per factor).
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        What the callees read.

    Returns
    -------
    dict
        k_selection (the evidence, ``chosen`` and ``pac``), assignments (sample, subtype, confidence),
        markers, associations, survival (the log-rank test; empty without survival columns), kaplan_meier (each
        subtype's curve: :func:`moflow.subtypes.subtype_kaplan_meier`; empty likewise), profile (mean
        MOFA factors per subtype), embedding (sample, subtype, dim1, dim2: the kept representation's first two
        principal components), summary (one row: k, representation, clustering, why, samples, left_out,
        classifier_agreement: how often the new samples' classifier gives a held-out sample its subtype,
        representations_left_out: those config asks for that the cohort cannot build and why,
        layers_without_markers: layers where no feature separates a subtype at FDR 0.05, k_max and k_tested:
        the largest k asked for and the largest the halves allowed),
        bundle and manifest (the classifier of new samples with every layer's chain:
        :func:`moflow.model.fit_bundle`, :class:`moflow.subtypes.SubtypeClassifier`).
    """
    from moflow.subtypes import (
        KM_COLUMNS,
        choose_subtypes,
        settle,
        subtype_associations,
        subtype_kaplan_meier,
        subtype_markers,
        summarize_strengths,
        survival_difference,
    )

    cohort = load_cohort(raw_samples, raw_omics, settings)
    st = settings.subtypes
    samples = _samples(cohort, layers)
    layers = {n: X.loc[samples] for n, X in layers.items()}
    choice = choose_subtypes(summarize_strengths(strengths), min_strength=st.min_strength)
    kept = choice["representation"] or "components"
    Z = _representation(kept, layers, cohort, settings).loc[samples]
    result = settle(choice, Z, resamples=st.resamples, seed=settings.seed)
    assignments = result["assignments"]
    labels = assignments.set_index("sample")["subtype"]
    k = int(result["k"])
    log.info("subtypes: %s", result["why"])
    markers = subtype_markers(layers, labels) if k > 1 else subtype_markers({}, labels)
    sheet = cohort.sheet.loc[samples].drop(columns=["sample", "sample_type"], errors="ignore")
    associations = subtype_associations(sheet, labels)
    time, event = _survival_columns(settings)
    survival = pd.DataFrame(columns=["chi2", "df", "p", "n"])
    km = pd.DataFrame(columns=KM_COLUMNS)
    if time and k > 1:
        follow_up = _survival_frame(cohort.sheet, samples, time, event)
        survival = pd.DataFrame([survival_difference(*follow_up, labels)])
        km = subtype_kaplan_meier(*follow_up, labels)
    profile = pd.DataFrame(columns=["subtype"])
    if factors is not None and len(factors):
        f = factors.set_index("sample").reindex(samples).select_dtypes("number")
        profile = f.groupby(labels.reindex(f.index).to_numpy()).mean().rename_axis("subtype").reset_index()
    V = Z.to_numpy(float)
    V = V - V.mean(axis=0)
    u, s, _ = np.linalg.svd(V, full_matrices=False)
    dims = u[:, :2] * s[:2]
    embedding = pd.DataFrame({"sample": samples, "subtype": labels.reindex(samples).to_numpy()})
    for i in range(2):
        embedding[f"dim{i + 1}"] = dims[:, i] if dims.shape[1] > i else 0.0
    payload, manifest, agreement = _bundle(raw, layers, cohort, labels, settings)
    _, left = subtype_representations(settings, list(layers))
    quiet = []  # layers without a single marker at FDR 0.05: they carry none of the subtypes
    if k > 1:
        hits = markers.assign(hit=markers["fdr"] < 0.05).groupby("layer")["hit"].sum()
        quiet = [n for n in layers if hits.get(n, 0) == 0]
        if quiet:
            log.info("subtypes: no feature of %s separates a subtype at FDR 0.05", ", ".join(quiet))
    summary = pd.DataFrame(
        [
            {
                "k": k,
                "representation": result["representation"],
                "clustering": result["clustering"],
                "why": result["why"],
                "samples": len(samples),
                "left_out": len(cohort.train) - len(samples),
                "classifier_agreement": agreement,
                "representations_left_out": "; ".join(f"{n}: {why}" for n, why in left.items()),
                "layers_without_markers": ", ".join(quiet),
                "k_max": int(st.k_max),
                "k_tested": int(result["evidence"]["k"].max()) if len(result["evidence"]) else 1,
            }
        ]
    )
    return {
        "k_selection": result["evidence"],
        "assignments": assignments,
        "markers": markers,
        "associations": associations,
        "survival": survival,
        "kaplan_meier": km,
        "profile": profile,
        "embedding": embedding,
        "summary": summary,
        "bundle": payload,
        "manifest": manifest,
    }


def _bundle(raw: dict, layers: dict, cohort, labels: pd.Series, settings: Settings) -> tuple[bytes, dict, float]:
    """The classifier of new samples' subtypes with every layer's chain, as bundle bytes and manifest.

    Refit on the assigned samples; also its cross-validated agreement with the cohort's subtypes (on the
    cohort's preprocessed ``layers``, the features and components chosen again in every fold).
    """
    from moflow.model import bundle_bytes, fit_bundle
    from moflow.subtypes.classifier import SubtypeClassifier, classifier_agreement

    st = settings.subtypes

    def factory():
        return SubtypeClassifier(st.components, st.features, seed=settings.seed)

    bundle = fit_bundle(
        raw,
        cohort,
        "subtypes",
        chosen_by="the subtypes of results/subtypes/assignments.tsv",
        strategies={"subtypes": factory},
        preprocessors=build_preprocessors(cohort.omics, settings, cohort.info),
        clinical=None,
        max_missing=settings.predictor.max_missing_features,
        target=labels,
    )
    model = bundle.model
    agreement = classifier_agreement(
        layers, labels, n_components=st.components, n_features=st.features, seed=settings.seed
    )
    log.info(
        "subtypes: the classifier of new samples (%s) gives %s of held-out samples their subtype",
        type(model).__name__,
        "n/a" if agreement != agreement else f"{agreement:.0%}",
    )
    payload, manifest = bundle_bytes(bundle)
    return payload, manifest, agreement


def _survival_frame(sheet: pd.DataFrame, samples: list, time: str, event: str) -> tuple[pd.Series, pd.Series]:
    """The follow-up times and events (1.0 / 0.0) of the samples that have both, parsed as a survival outcome's.

    Events in any coding the outcome accepts (0/1, true/false, ...); a sample lacking either is left out.
    """
    from moflow.inputs import parse_event, parse_time
    from moflow.wording import NA_TOKENS

    cells = sheet.loc[samples, [time, event]].astype(str).apply(lambda c: c.str.strip())
    known = ~cells.apply(lambda c: c.str.lower().isin(NA_TOKENS)).any(axis=1)
    cells = cells[known]
    return parse_time(cells[time], column=time), parse_event(cells[event], column=event).astype(float)


def _survival_columns(settings: Settings) -> tuple[str, str]:
    """The time and event columns of the subtypes' log-rank test: ``subtypes: time/event``, or the outcome's."""
    st, o = settings.subtypes, settings.outcome
    if st.time:
        return st.time, st.event
    if o.type == "survival":
        return o.time, o.event
    return "", ""
