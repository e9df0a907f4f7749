"""The ``synthesize`` target: a synthetic copy of the cohort, and whether it is useful and safe to share.

* :func:`generator_samples`: the training samples split into those the generator is fit on and a held-out
  share it never sees (``synthesize: holdout``, per class for a class outcome);
* :func:`synthetic_cohort`: the generator (:class:`moflow.scarcity.copula.CopulaSynthesizer`) fit on the
  first, its samples (every layer on the original scale, a sample sheet with the outcome and the batches),
  and the quality table of exactly those samples (:func:`quality_table`);
* :func:`utility_scores`: train on synthetic, test on real: per outer fold, the generator refit on the real
  training side, the ``synthesize: strategies`` (their preprocessing included) trained on its synthetic copy
  and on the real side, both scored on the real held-out samples.

A check passes where the synthetic samples are no further from the training samples than real unseen ones
(fidelity), where a model trained on them scores within :data:`UTILITY_MARGIN` of one trained on real
samples (utility), and where they are no closer to the samples the generator saw than real unseen samples
are (privacy). The cohort is called safe to share by these tests only where every check passes.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from moflow.cohort import outcome_columns, survival_times
from moflow.integrate import build_strategies
from moflow.preprocess import build_preprocessors
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")

QUALITY_COLUMNS = ["aspect", "check", "scope", "value", "reference", "threshold", "passed", "meaning"]
UTILITY_COLUMNS = ["fold", "strategy", "trained_on", "metric", "score", "n_train", "n_test"]
UTILITY_MARGIN = 0.05  # the most the train-on-synthetic score may fall below train-on-real
DETECTION_MAX = 0.75  # the most a classifier may tell synthetic from real samples (cross-validated AUC)
MEMBERSHIP_MAX = 0.55  # the attack's AUC: its 95% interval must reach down to this
CLOSER_SHARE = 0.05  # the share of held-out real samples closer than their own 5th percentile, by definition


def _groups_and_numeric(cohort, settings: Settings) -> tuple[list[str], list[str]]:
    """The sheet columns the generator draws within, and those it models with the layers.

    Drawn within: the class, the batches, categorical clinical covariates. Modelled: a numeric outcome, a
    survival time and event, the injection order, numeric clinical covariates.
    """
    batches = [str(b) for b in cohort.omics.get("batch_column", pd.Series(dtype=str)).dropna() if str(b).strip()]
    groups = list(dict.fromkeys(b for b in batches if b in cohort.sheet.columns))
    numeric = []
    if cohort.task == "classification":
        groups = [outcome_columns(settings)[0], *groups]
    elif cohort.y is not None:
        numeric = list(outcome_columns(settings))
    if bool(cohort.omics["has_qc"].any()) and "injection_order" in cohort.sheet.columns:
        numeric.append("injection_order")
    for c in settings.clinical.columns:  # clinical covariates: numbers modelled, categories drawn within
        if c not in cohort.sheet.columns or c in groups or c in numeric:
            continue
        values = cohort.sheet[c].replace("", np.nan)
        numbers = pd.to_numeric(values, errors="coerce")
        (numeric if numbers.notna().sum() == values.notna().sum() else groups).append(c)
    return groups, numeric


def _sheet_of(cohort, settings: Settings, samples: list[str], groups: list[str], numeric: list[str]) -> pd.DataFrame:
    """The generator's sheet of ``samples``: the outcome (as parsed: classes as text, events 0/1), batches, order."""
    cols = outcome_columns(settings)
    sheet = cohort.sheet.loc[samples, [c for c in dict.fromkeys([*groups, *numeric]) if c not in cols]].copy()
    for c in sheet.columns:  # a missing category is a level of its own; a missing number stays missing
        if c in numeric:
            sheet[c] = pd.to_numeric(sheet[c].replace("", np.nan), errors="coerce")
        else:
            sheet[c] = sheet[c].fillna("").astype(str)
    y = cohort.y.loc[samples] if cohort.y is not None else None
    if y is None:  # no outcome
        pass
    elif isinstance(y, pd.DataFrame):  # survival: time and event
        for c, yc in zip(cols, y.columns, strict=True):
            sheet[c] = y[yc].astype(float).to_numpy()
    else:
        sheet[cols[0]] = (y.astype(str) if cohort.task == "classification" else y.astype(float)).to_numpy()
    return sheet[list(dict.fromkeys([*groups, *numeric]))]


@reads("synthesize", "seed")
def generator_samples(cohort, settings: Settings) -> tuple[list[str], list[str]]:
    """The training samples with an outcome: (those the generator is fit on, the held-out share).

    Parameters
    ----------
    cohort : Cohort
        The cohort (its training samples; not the external test set, never the QC injections).
    settings : Settings
        Read: ``synthesize: holdout``, ``seed``.

    Returns
    -------
    tuple of list
        (fitted, held out), each in sheet order; per class for a class outcome.
    """
    from sklearn.model_selection import train_test_split

    samples = [s for s in cohort.train if cohort.y is None or s in cohort.y.index]
    strata = cohort.y.loc[samples].astype(str) if cohort.task == "classification" else None
    if strata is not None and strata.value_counts().min() < 2:
        strata = None
    fit, held = train_test_split(
        samples, test_size=float(settings.synthesize.holdout), random_state=int(settings.seed), stratify=strata
    )
    order = {s: i for i, s in enumerate(samples)}
    return sorted(fit, key=order.get), sorted(held, key=order.get)


def _outcome_of(sheet: pd.DataFrame, cohort, settings: Settings):
    """The synthetic samples' outcome in the cohort's form (classes as text; survival time and event)."""
    cols = outcome_columns(settings)
    if cohort.task == "survival":
        y = sheet[cols].astype(float)
        y.columns = list(cohort.y.columns)
        return y.astype(cohort.y.dtypes.to_dict())
    y = sheet[cols[0]]
    return (y.astype(str) if cohort.task == "classification" else y.astype(float)).rename(cohort.y.name)


def _samples_only(raw: dict[str, pd.DataFrame], samples: list[str]) -> dict[str, pd.DataFrame]:
    return {n: X.loc[[s for s in samples if s in X.index]] for n, X in raw.items()}


@reads("seed")
def quality_table(
    train: dict[str, pd.DataFrame],
    holdout: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    settings: Settings,
    utility: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fidelity, utility and privacy of ``synthetic`` against the samples it was made from and unseen ones.

    Parameters
    ----------
    train, holdout, synthetic : dict of str to pandas.DataFrame
        The raw layers of the generator's samples, of the held-out real samples, and the synthetic layers.
    settings : Settings
        Read: ``seed``.
    utility : pandas.DataFrame, optional
        :func:`utility_scores`' table.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`QUALITY_COLUMNS`; ``reference`` is what real unseen samples give.
    """
    from moflow.scarcity.quality import (
        closest_record,
        correlation_distance,
        detection_auc,
        marginal_distances,
        membership_auc,
    )

    seed = int(settings.seed)
    rows = []

    def row(aspect, check, scope, value, reference, threshold, passed, meaning):
        rows.append(dict(zip(QUALITY_COLUMNS, [aspect, check, scope, value, reference, threshold, passed, meaning])))

    for name in train:
        syn = marginal_distances(train[name], synthetic[name])
        ref = marginal_distances(train[name], holdout[name])
        for stat, what in (("ks", "Kolmogorov-Smirnov"), ("wasserstein", "Wasserstein")):
            s, r = float(syn[stat].median()), float(ref[stat].median())
            row(
                "fidelity",
                f"median {what} distance per feature",
                name,
                s,
                r,
                2 * r,
                bool(s <= 2 * r),
                "each feature's values against the generator's samples (normal scores); reference: held-out real "
                "samples; passes at most twice the reference",
            )
    cor_s = correlation_distance(train, synthetic).set_index("layers")["value"]
    cor_r = correlation_distance(train, holdout).set_index("layers")["value"]
    for scope in cor_s.index:
        s, r = float(cor_s[scope]), float(cor_r.get(scope, np.nan))
        row(
            "fidelity",
            "correlation difference" + (" across layers" if "~" in scope else " within the layer"),
            scope,
            s,
            r,
            2 * r,
            bool(s <= 2 * r),
            "mean absolute difference of feature correlations from the generator's samples; passes at most "
            "twice the reference",
        )
    det = detection_auc(train, synthetic, seed=seed)
    row(
        "fidelity",
        "detection AUC",
        "all layers",
        det,
        0.5,
        DETECTION_MAX,
        bool(det <= DETECTION_MAX),
        "cross-validated AUC of the better of two classifiers telling real from synthetic samples (0.5: they "
        f"cannot); passes at most {DETECTION_MAX}",
    )
    if utility is not None and len(utility):
        means = utility.groupby(["strategy", "trained_on"])["score"].mean().unstack()
        metric = str(utility["metric"].iloc[0])
        for strategy, r in means.iterrows():
            gap = float(r["synthetic"] - r["real"])
            row(
                "utility",
                f"train on synthetic, test on real ({metric})",
                strategy,
                float(r["synthetic"]),
                float(r["real"]),
                float(r["real"] - UTILITY_MARGIN),
                bool(gap >= -UTILITY_MARGIN),
                f"mean over {utility['fold'].nunique()} folds of the score on real held-out samples of the strategy "
                f"trained on a synthetic copy of the training side; reference: trained on the real side; passes "
                f"within {UTILITY_MARGIN} of it",
            )
    close = closest_record(train, holdout, synthetic)
    # the share's own sampling error and that of the held-out samples' 5th percentile it is counted against
    var = CLOSER_SHARE * (1 - CLOSER_SHARE) * (1 / max(close["n_synthetic"], 1) + 1 / max(close["n_holdout"], 1))
    cut = CLOSER_SHARE + 2 * np.sqrt(var)
    row(
        "privacy",
        "share closer to a training sample than real unseen samples",
        "all layers",
        close["share_closer"],
        CLOSER_SHARE,
        float(cut),
        bool(close["share_closer"] <= cut),
        f"synthetic samples nearer a generator's sample than 95% of held-out real samples are (median distance "
        f"{close['synthetic_median']:.2f} against {close['holdout_median']:.2f}); a copy of training rows scores 1; "
        "passes within two standard errors of 0.05 (of the share and of the held-out samples' percentile)",
    )
    mia = membership_auc(train, holdout, synthetic)
    row(
        "privacy",
        "membership-inference AUC",
        "all layers",
        mia["auc"],
        0.5,
        MEMBERSHIP_MAX,
        bool(mia["lo"] <= MEMBERSHIP_MAX),
        f"an attack calling a real sample a member where a synthetic sample lies near it (95% interval "
        f"{mia['lo']:.2f}-{mia['hi']:.2f}, {mia['n_members']} members, {mia['n_nonmembers']} others); passes where "
        f"the interval reaches {MEMBERSHIP_MAX} or below",
    )
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)


def utility_strategies(layers: list[str], settings: Settings) -> list[str]:
    """The strategies of the utility check: ``synthesize: strategies``, or early (one layer: its own model)."""
    named = list(settings.synthesize.strategies)
    return named or (["early"] if len(layers) > 1 else [f"single_{layers[0]}"])


def _utility_settings(settings: Settings, names: list[str]) -> Settings:
    """The utility check's settings: ``synthesize: strategies`` only; no baseline, recalibration, augmentation."""
    ev = replace(
        settings.evaluation,
        strategies=tuple(names),
        baselines=(),
        recalibration=(),
        augment=("none",),
    )
    return replace(settings, evaluation=ev)


def _named(strategies: dict, names: list[str]) -> dict:
    return {n: f for n, f in strategies.items() if n in names}


@reads("synthesize", "seed", "evaluation", "clinical", uses=[build_strategies, build_preprocessors, survival_times])
def utility_scores(raw: dict[str, pd.DataFrame], cohort, settings: Settings, samples: list[str]) -> pd.DataFrame:
    """Train on synthetic, test on real, beside train on real, per outer fold of ``samples``.

    Per fold the generator is fit on the real training side's raw layers, draws as many samples, and every
    strategy of ``synthesize: strategies`` (its preprocessing fit on the side it is trained on; a layer's
    QC injections, technical samples, in both) is trained on them and on the real side; both predict the real
    held-out samples, which neither saw.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    cohort : Cohort
        The cohort.
    settings : Settings
        Read: ``synthesize``, ``seed`` and what the strategies and chains read.
    samples : list of str
        The real samples to split (the generator's samples, :func:`generator_samples`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`UTILITY_COLUMNS`: the primary metric (balanced accuracy for classes) per fold, strategy
        and ``trained_on`` (``real``, ``synthetic``).
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    from moflow.evaluate.folds import run_fold
    from moflow.evaluate.metrics import primary_metric, score_predictions
    from moflow.scarcity.copula import CopulaSynthesizer

    chosen = utility_strategies(list(cohort.omics.index), settings)
    s = _utility_settings(settings, chosen)
    seed, k = int(settings.seed), int(settings.synthesize.folds)
    task = cohort.task
    metric = "balanced_accuracy" if task == "classification" else primary_metric(task)
    groups, numeric = _groups_and_numeric(cohort, settings)
    y = cohort.y.loc[samples]
    if task == "classification":
        k = max(2, min(k, int(y.astype(str).value_counts().min())))
        folds = StratifiedKFold(k, shuffle=True, random_state=seed).split(samples, y.astype(str))
    else:
        folds = KFold(k, shuffle=True, random_state=seed).split(samples)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    grid = survival_times(cohort, settings)[1] if task == "survival" else None
    real_strategies = _named(build_strategies(cohort.omics, s, task, sheet=cohort.sheet), chosen)
    real_chains = build_preprocessors(cohort.omics, s, cohort.info)
    rows = []
    for i, (tr, te) in enumerate(folds, start=1):
        train, test = [samples[j] for j in tr], [samples[j] for j in te]
        gen = CopulaSynthesizer(int(settings.synthesize.components)).fit(
            _samples_only(raw, train),
            _sheet_of(cohort, settings, train, groups, numeric),
            groups=groups,
            numeric=numeric,
        )
        syn_layers, syn_sheet = gen.sample(len(train), seed=seed + i, prefix=f"synthetic_f{i}")
        names = list(syn_sheet.index)
        y_syn = _outcome_of(syn_sheet, cohort, settings)
        info = cohort.info.reindex(columns=cohort.info.columns)
        extra = pd.DataFrame(index=pd.Index(names, name=info.index.name), columns=info.columns)
        if "sample_type" in extra.columns:
            extra["sample_type"] = "sample"
        for c in [*groups, *numeric]:
            if c in extra.columns:
                extra[c] = syn_sheet[c].to_numpy()
        info2 = pd.concat([info, extra])
        sheet2 = pd.concat([cohort.sheet, extra.assign(**{c: syn_sheet[c] for c in groups if c in syn_sheet})])
        raw2 = {n: pd.concat([X, syn_layers[n]]) for n, X in raw.items()}
        y2 = pd.concat([cohort.y, y_syn])
        syn_strategies = _named(build_strategies(cohort.omics, s, task, sheet=sheet2), chosen)
        syn_chains = build_preprocessors(cohort.omics, s, info2)
        for trained_on, R, chains, strategies, Y, fit_on in (
            ("real", raw, real_chains, real_strategies, cohort.y, train),
            ("synthetic", raw2, syn_chains, syn_strategies, y2, [n for n in names if n in y_syn.index]),
        ):
            pred = run_fold(R, chains, strategies, Y, fit_on, test, qc=qc, split=f"f{i}", task=task, grid=grid)
            for strategy, d in pred.groupby("strategy", sort=False):
                y_train = Y.loc[fit_on] if task == "survival" else None
                sc = score_predictions(d, task, y_train=y_train, times=grid if grid is not None else ())
                rows.append([f"f{i}", strategy, trained_on, metric, float(sc[metric]), len(fit_on), len(test)])
        log.info(
            "utility fold f%d: %d real training samples, %d synthetic, %d held out",
            i,
            len(train),
            len(names),
            len(test),
        )
    return pd.DataFrame(rows, columns=UTILITY_COLUMNS)


@reads("synthesize", "seed", "outcome", "clinical", uses=[generator_samples, quality_table, utility_scores])
def synthetic_cohort(raw: dict[str, pd.DataFrame], cohort, settings: Settings) -> dict:
    """The synthetic cohort and its quality: what ``results/synthetic/`` holds.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    cohort : Cohort
        The cohort (its training samples with an outcome; the external test set and QC injections stay out).
    settings : Settings
        Read: ``synthesize``, ``seed`` and what :func:`utility_scores` reads.

    Returns
    -------
    dict
        {layers: {layer: synthetic samples x features}, samples: their sheet, quality: :func:`quality_table`,
        utility: :func:`utility_scores`, fitted: the generator's samples, held_out: the others}.
    """
    from moflow.scarcity.copula import CopulaSynthesizer

    fit, held = generator_samples(cohort, settings)
    groups, numeric = _groups_and_numeric(cohort, settings)
    n = int(settings.synthesize.samples or len(fit))
    gen = CopulaSynthesizer(int(settings.synthesize.components)).fit(
        _samples_only(raw, fit), _sheet_of(cohort, settings, fit, groups, numeric), groups=groups, numeric=numeric
    )
    layers, sheet = gen.sample(n, seed=int(settings.seed), prefix="synthetic")
    utility = None
    if cohort.y is not None:
        utility = utility_scores(raw, cohort, settings, fit)
    else:
        log.info("synthesize: no outcome, so no utility check (train on synthetic, test on real)")
    quality = quality_table(_samples_only(raw, fit), _samples_only(raw, held), layers, settings, utility=utility)
    sheet.insert(0, "sample_type", "sample")
    return {"layers": layers, "samples": sheet, "quality": quality, "utility": utility, "fitted": fit, "held_out": held}


def safe_to_share(quality: pd.DataFrame) -> bool:
    """Whether every check of the quality table passes (:func:`quality_table`)."""
    return bool(len(quality)) and bool(quality["passed"].astype(bool).all())
