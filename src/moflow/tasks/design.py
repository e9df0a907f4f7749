"""Rules design_power and design_learning: how many samples the next study needs, from this pilot cohort.

* design_power: per-layer power in the MultiPower model (:mod:`moflow.power`) between the two outcome
  groups, the FDR-controlling level at every size, and the joint designs (one size for every layer;
  the cheapest with per-layer costs).
* design_learning: learning curves of the best integration strategy and the best single layer from
  the nested CV's own splits (training sides subsampled, stratified), an inverse power law fitted
  with a split bootstrap and extrapolated to the target score (:mod:`moflow.samplesize`), and Riley
  et al.'s minimum sample size as a floor.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..cohort import Cohort
from ..settings import Settings, reads
from ._common import load_cohort

log = logging.getLogger("moflow")

POWER_KIND = {"rnaseq_counts": "counts", "binary": "binary"}  # every other layer kind: continuous


def design_groups(cohort: Cohort) -> tuple[pd.Series, tuple[str, str], str]:
    """The two groups per-layer power compares, on the training samples: a binary outcome's classes
    (the positive one second); a multiclass outcome's two largest classes; a continuous outcome split
    at its median (low / high); a survival outcome's event status (censored / event). Returns
    (groups, (first, second), how)."""
    y = cohort.y.loc[cohort.train]
    if cohort.task == "survival":
        g = pd.Series(np.where(y["event"].to_numpy(float) > 0, "event", "censored"), index=y.index)
        return g, ("censored", "event"), "event status (a crude contrast for a time to event)"
    if cohort.task == "regression":
        g = pd.Series(np.where(y > y.median(), "high", "low"), index=y.index)
        return g, ("low", "high"), "outcome above vs below its median"
    counts = y.astype(str).value_counts()
    if len(counts) == 2:
        pair = tuple(sorted(counts.index))
        return y.astype(str), pair, "the two classes"
    top = sorted(counts.index[:2])
    g = y.astype(str)
    return g[g.isin(top)], (top[0], top[1]), f"the two largest classes ({top[0]}, {top[1]})"


@reads("design", uses=[load_cohort])
def design_power(raw: dict[str, pd.DataFrame], layers: dict[str, pd.DataFrame], raw_samples: pd.DataFrame,
                 raw_omics: pd.DataFrame, settings: Settings) -> dict:
    """Power per layer and the joint design: {power (layer x samples per group), joint (both designs)}.
    Count layers use their raw counts (the negative-binomial model); other layers their preprocessed
    values (t test on the scale analysed; binary layers: two proportions)."""
    from ..power import effect_sizes, joint_design, layer_power_curve, samples_needed, storey_pi0

    cohort = load_cohort(raw_samples, raw_omics, settings)
    d = settings.design
    groups, pair, how = design_groups(cohort)
    curves, rows = {}, []
    for layer, row in cohort.omics.set_index("layer", drop=False).iterrows():
        kind = POWER_KIND.get(row["kind"], "continuous")
        X = (raw if kind == "counts" else layers)[layer]
        X = X.loc[X.index.intersection(groups.index)]
        X = X.loc[X.notna().any(axis=1)]
        es = effect_sizes(X, groups.loc[X.index], kind, order=pair)
        pi0 = None
        if kind == "counts" and not float(d.effect_threshold):
            # the share of null features from the preprocessed layer's tests (normalized, batch-corrected):
            # raw counts carry the batch shifts, and their tests would call almost every feature null
            P = layers[layer].loc[layers[layer].index.intersection(X.index)]
            pi0 = storey_pi0(effect_sizes(P, groups.loc[P.index], "continuous", order=pair)["pvalue"])
        curve = layer_power_curve(es, kind, list(d.sizes), fdr=float(d.fdr), pi0=pi0,
                                  effect_threshold=float(d.effect_threshold))
        curves[layer] = curve
        rows.append(curve.assign(layer=layer, kind=kind))
        log.info("design: layer %s (%s, %d features, pi0 %.2f): %s per group for power %.2f", layer, kind,
                 len(es), float(curve["pi0"].iloc[0]), samples_needed(curve, float(d.target_power)), d.target_power)
    costs = {layer: float(d.costs.get(layer, 1.0)) for layer in curves}
    joint = joint_design(curves, float(d.target_power), float(d.min_power), costs)
    table = []
    for design in ("equal_n", "cost_optimal"):
        res = joint[design]
        for layer in curves:
            table.append({"design": design, "layer": layer, "n_per_group": res["n_per_group"].get(layer, np.nan)
                          if res.get("n_per_group") else np.nan,
                          "power": (res.get("power") or {}).get(layer, np.nan), "cost_per_sample": costs[layer],
                          "mean_power": res.get("mean_power", np.nan), "total_cost": res.get("total_cost", np.nan),
                          "feasible": bool(res.get("feasible")), "message": res.get("message", "")})
    power = pd.concat(rows, ignore_index=True)
    power.insert(0, "groups", f"{pair[0]} vs {pair[1]}")
    log.info("design: groups %s; joint designs:\n%s", how, pd.DataFrame(table).to_string(index=False))
    return {"power": power[["layer", "kind"] + [c for c in power.columns if c not in ("layer", "kind")]],
            "joint": pd.DataFrame(table)}


DEFAULT_TARGET = {"classification": ("roc_auc", 0.8), "survival": ("harrell_c", 0.75), "regression": ("r2", 0.5)}


def _strata(cohort: Cohort, samples: list[str]) -> pd.Series:
    """What a subsample keeps the proportions of: the class, the event status, or outcome quartiles."""
    y = cohort.y.loc[samples]
    if cohort.task == "classification":
        return y.astype(str)
    if cohort.task == "survival":
        return pd.Series(np.where(y["event"].to_numpy(float) > 0, "event", "censored"), index=y.index)
    return pd.Series(pd.qcut(y.rank(method="first"), 4, labels=False).astype(str), index=y.index)


def riley_floor(cohort: Cohort, board: pd.DataFrame, n_parameters: int, metric: str) -> dict:
    """Riley et al.'s minimum sample size for a model with ``n_parameters`` candidate parameters (the MOFA
    factors: the compact predictor), the cohort's prevalence or event rate and the best CV score."""
    from ..samplesize import riley_binary, riley_continuous, riley_survival

    y = cohort.y.loc[cohort.train]
    best = float(board.iloc[0][metric]) if metric in board.columns else np.nan
    if cohort.task == "survival":
        t, e = y["time"].to_numpy(float), y["event"].to_numpy(float) > 0
        rate = e.sum() / t.sum()
        res = riley_survival(n_parameters, rate=float(rate), mean_followup=float(t.mean()),
                             timepoint=float(np.median(t[e])) if e.any() else float(np.median(t)),
                             c_statistic=float(np.clip(best, 0.55, 0.95)))
        return {"n": res["n"], "basis": f"Cox model, event rate {rate:.3g} per unit time, C {best:.2f}"}
    if cohort.task == "regression":
        res = riley_continuous(n_parameters, r2=float(np.clip(best, 0.05, 0.95)), intercept=float(y.mean()),
                               sd=float(y.std()))
        return {"n": res["n"], "basis": f"linear model, R2 {best:.2f}"}
    counts = y.astype(str).value_counts()
    prevalence = float(counts.min() / counts.sum())
    res = riley_binary(n_parameters, prevalence=prevalence, c_statistic=float(np.clip(best, 0.55, 0.95)))
    return {"n": res["n"], "basis": f"logistic model, smallest class {prevalence:.2f} of the samples, AUC {best:.2f}"}


@reads("design", "evaluation", "integration", "seed")
def design_learning(raw: dict[str, pd.DataFrame], splits: pd.DataFrame, board: pd.DataFrame, scores: pd.DataFrame,
                    raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings, files=None,
                    edges: dict | None = None) -> dict:
    """Learning curves of the best integration strategy and the best single layer: the first CV repeat's
    splits, training sides subsampled (stratified, nested) to ``design: fractions``, every layer's chain
    refit on the subsample, scored on the split's held-out samples; the full-size scores of the same
    splits; an inverse power law per strategy with a split bootstrap, extrapolated to ``design:
    target_score``; Riley's minimum sample size as a floor. {points, curve, sample_size}."""
    from ..evaluate import run_fold, score_predictions, split_members, split_names
    from ..factories import build_preprocessors, build_prior, build_strategies
    from ..samplesize import fit_learning_curve, predict_score, size_for_target, subsample_training
    from .evaluate import survival_times

    cohort = load_cohort(raw_samples, raw_omics, settings)
    task, d = cohort.task, settings.design
    metric, default = DEFAULT_TARGET[task]
    target = float(d.target_score) if d.target_score is not None else default
    chosen = [board.loc[board["kind"] == k, "strategy"].iloc[0] for k in ("integration", "single layer")
              if (board["kind"] == k).any()]
    prior = (build_prior(cohort.omics, settings, files, edges or {}, {n: list(X.columns) for n, X in raw.items()})
             if files is not None and "hierarchical" in chosen else None)
    strategies = {n: f for n, f in build_strategies(cohort.omics, settings, task, sheet=cohort.sheet,
                                                    prior=prior).items() if n in chosen}
    pps = build_preprocessors(cohort.omics, settings, cohort.info)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    times, grid = survival_times(cohort, settings) if task == "survival" else ((), None)
    names = [s for s in split_names(splits) if s.startswith("r1")]
    rows = []
    for split in names:
        train, test = split_members(splits, split)
        strata = _strata(cohort, train)
        for frac in sorted(d.fractions):
            sub = subsample_training(train, strata, float(frac), int(settings.seed))
            pred = run_fold(raw, pps, strategies, cohort.y, sub, test, qc=qc, split=split, task=task, grid=grid)
            for strat, p in pred.groupby("strategy"):
                sc = score_predictions(p, task, y_train=cohort.y.loc[sub] if task == "survival" else None,
                                       times=times)
                rows.append({"strategy": strat, "split": split, "fraction": float(frac), "n_train": len(sub),
                             "score": sc[metric]})
        full = scores[(scores["split"] == split) & scores["strategy"].isin(chosen)]
        rows += [{"strategy": r["strategy"], "split": split, "fraction": 1.0, "n_train": len(train),
                  "score": r[metric]} for _, r in full.iterrows()]
    points = pd.DataFrame(rows)
    n_cv = len(cohort.train)
    sizes = np.unique(np.round(np.geomspace(max(10, points["n_train"].min()), 20 * n_cv, 25)).astype(int))
    curves, table = [], []
    folds = int(settings.evaluation.folds)
    for strat, p in points.dropna(subset=["score"]).groupby("strategy"):
        fit = fit_learning_curve(p["n_train"].to_numpy(float), p["score"].to_numpy(float), kind="gain",
                                 groups=p["split"].to_numpy(), seed=int(settings.seed),
                                 test_to_train=1.0 / (folds - 1))
        curves.append(predict_score(fit, sizes).assign(strategy=strat))
        need = size_for_target(fit, target)
        table.append({"strategy": strat, "metric": metric, "target": target, "n_training": need["n"],
                      "n_low": need["low"], "n_high": need["high"], "status": need["status"],
                      "asymptote": fit["params"]["a"], "failed_bootstrap_fits": fit["n_failed"]})
    floor = riley_floor(cohort, board, int(settings.integration.mofa.factors), metric)
    table.append({"strategy": "riley_minimum", "metric": metric, "target": np.nan, "n_training": floor["n"],
                  "n_low": np.nan, "n_high": np.nan, "status": floor["basis"], "asymptote": np.nan,
                  "failed_bootstrap_fits": np.nan})
    size = pd.DataFrame(table)
    log.info("design: learning curves of %s; sample sizes for %s %.2f:\n%s", ", ".join(chosen), metric, target,
             size.to_string(index=False))
    return {"points": points, "curve": pd.concat(curves, ignore_index=True), "sample_size": size}
