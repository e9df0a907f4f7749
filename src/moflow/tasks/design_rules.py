"""Rules design_power, design_fold and design_learning: how many samples the next study needs, from this
pilot cohort.

* design_power: per-layer power in the MultiPower model (:mod:`moflow.design.power`) between two outcome groups,
  the FDR-controlling level at every size, and the joint designs (one size for every layer; the cheapest
  with per-layer costs).
* design_fold: learning-curve points on the nested CV's own splits (the first repeat): training sides
  subsampled (stratified, nested), every chain and the chosen strategies refit, held-out samples scored.
* design_learning: an inverse power law per strategy fitted to those points and the full-size fold scores,
  with a split bootstrap, extrapolated to the target score (:mod:`moflow.design.samplesize`); Riley et al.'s
  minimum sample size as a floor.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from moflow.cohort import Cohort
from moflow.errors import InputError
from moflow.settings import Settings, reads
from moflow.integrate import build_prior, build_strategies
from moflow.preprocess import build_preprocessors
from moflow.tasks._common import load_cohort
from moflow.tasks.evaluate_rules import survival_times

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
    """Power per layer and the joint design: {power (layer x samples per group), joint (each layer alone and
    both joint designs), figure}. Count layers use their raw counts (the negative-binomial model) and binary
    layers their 0/1 calls (two proportions), of the features preprocessing keeps; other layers their
    preprocessed values (t test on the scale analysed)."""
    from moflow.design import effect_sizes, joint_design, layer_power_curve, samples_needed, storey_pi0

    cohort = load_cohort(raw_samples, raw_omics, settings)
    d = settings.design
    groups, pair, how = design_groups(cohort)
    curves, rows = {}, []
    for layer, row in cohort.omics.set_index("layer", drop=False).iterrows():
        kind = POWER_KIND.get(row["kind"], "continuous")
        X = layers[layer]
        if kind in ("counts", "binary"):
            # the measured counts / 0-1 calls of the features the analysis keeps (preprocessing filters them;
            # a binary layer may be scaled by a user's override)
            X = raw[layer][[c for c in X.columns if c in raw[layer].columns]]
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
    # a layer in which the pilot shows no differential feature has no power to gain: it is left out of the
    # joint designs (and said so), which would otherwise be infeasible at any size
    null = [layer for layer, c in curves.items() if int(c["m_nonnull"].iloc[0]) == 0]
    active = {layer: c for layer, c in curves.items() if layer not in null}
    joint = (joint_design(active, float(d.target_power), float(d.min_power), {k: costs[k] for k in active})
             if active else {})
    table = []
    for layer, c in curves.items():  # each layer alone: the samples per group it needs for the target power
        need = samples_needed(c, float(d.target_power))
        at = c.loc[c["n_per_group"] == need, "power"]
        table.append({"design": "per_layer", "layer": layer, "n_per_group": need,
                      "power": float(at.iloc[0]) if len(at) else np.nan, "cost_per_sample": costs[layer],
                      "mean_power": np.nan, "total_cost": need * costs[layer] if np.isfinite(need) else np.nan,
                      "feasible": bool(np.isfinite(need)),
                      "message": (f"{layer} alone reaches power {d.target_power:g} at {need} per group"
                                  if np.isfinite(need) else
                                  f"{layer} does not reach power {d.target_power:g} within the sizes considered"
                                  + (" (no differential feature in this pilot)" if layer in null else ""))})
    for design in ("equal_n", "cost_optimal"):
        res = joint.get(design, {"feasible": False, "message": "no layer shows a differential feature in this pilot"})
        for layer in curves:
            if layer in null:
                table.append({"design": design, "layer": layer, "n_per_group": np.nan, "power": np.nan,
                              "cost_per_sample": costs[layer], "mean_power": np.nan, "total_cost": np.nan,
                              "feasible": False, "message": "left out: no feature differs between the groups in "
                              f"this pilot (pi0 = {float(curves[layer]['pi0'].iloc[0]):.2f})"})
                continue
            table.append({"design": design, "layer": layer, "n_per_group": res["n_per_group"].get(layer, np.nan)
                          if res.get("n_per_group") else np.nan,
                          "power": (res.get("power") or {}).get(layer, np.nan), "cost_per_sample": costs[layer],
                          "mean_power": res.get("mean_power", np.nan), "total_cost": res.get("total_cost", np.nan),
                          "feasible": bool(res.get("feasible")), "message": res.get("message", "")})
    power = pd.concat(rows, ignore_index=True)
    power.insert(0, "groups", f"{pair[0]} vs {pair[1]}")
    log.info("design: groups %s; joint designs:\n%s", how, pd.DataFrame(table).to_string(index=False))
    from moflow.report import png_bytes
    from moflow.report import plot_power_curves

    power = power[["layer", "kind"] + [c for c in power.columns if c not in ("layer", "kind")]]
    figure = png_bytes(plot_power_curves(power, target_power=float(d.target_power), min_power=float(d.min_power)))
    return {"power": power, "joint": pd.DataFrame(table), "figure": figure}


DEFAULT_TARGET = {"classification": ("roc_auc", 0.8), "survival": ("harrell_c", 0.75), "regression": ("r2", 0.5)}
ERROR_METRICS = ("balanced_error_rate", "rmse", "integrated_brier")  # lower is better


def design_metric(task: str, settings: Settings, board: pd.DataFrame | None = None) -> tuple[str, float, str]:
    """(metric, target score, kind) of the learning curves: ``design: metric`` and ``target_score``, else
    the task's default; a metric without a default target aims at the best strategy's CV score."""
    metric, target = DEFAULT_TARGET[task]
    d = settings.design
    if d.metric is not None and d.metric != metric:
        metric = d.metric
        target = float(board.iloc[0][metric]) if board is not None and metric in board.columns else np.nan
    if d.target_score is not None:
        target = float(d.target_score)
    return metric, target, "error" if metric in ERROR_METRICS else "gain"


def _strata(cohort: Cohort, samples: list[str], min_fraction: float) -> pd.Series:
    """What a subsample keeps the proportions of: the class (the event status; outcome quartiles, or halves)
    crossed with every batch column of the layers, so that a subsample's batches hold the outcome groups as
    the training side's do (a subsample stratified by outcome alone can leave a batch with one class, which
    stops batch correction as confounded, or lets it remove the outcome). A crossing (or quartiles) is used
    only where every stratum keeps at least 2 samples at the smallest fraction (``min_fraction``), else the
    coarser strata: every stratum keeps at least 2, so strata too fine would make the fractions alike."""
    y = cohort.y.loc[samples]
    need = int(np.ceil(2.5 / min_fraction))  # a stratum this large keeps >= 2 samples at min_fraction

    def fine_enough(lab: pd.Series) -> bool:
        return int(lab.value_counts().min()) >= need

    if cohort.task == "classification":
        label = y.astype(str)
    elif cohort.task == "survival":
        label = pd.Series(np.where(y["event"].to_numpy(float) > 0, "event", "censored"), index=y.index)
    else:
        label = None
        for bins in (4, 2):
            lab = pd.Series(pd.qcut(y.rank(method="first"), bins, labels=False).astype(str), index=y.index)
            if fine_enough(lab) or bins == 2:
                label = lab
                break
    batch_columns = sorted({str(c) for c in cohort.omics["batch_column"] if isinstance(c, str) and c})
    for col in batch_columns:
        if col in cohort.info.columns:
            crossed = label + "|" + cohort.info[col].reindex(label.index).fillna("").astype(str)
            if fine_enough(crossed):
                label = crossed
    return label


def learning_strategies(board: pd.DataFrame, settings: Settings | None = None) -> list[str]:
    """The strategies a learning curve is drawn for: ``design: strategies`` (those the scoreboard has), or
    the best integration and the best single layer."""
    named = list(settings.design.strategies) if settings is not None else []
    if named:
        return [s for s in named if s in set(board["strategy"])]
    return [board.loc[board["kind"] == k, "strategy"].iloc[0] for k in ("integration", "single layer")
            if (board["kind"] == k).any()]


def learning_splits(splits: pd.DataFrame) -> list[str]:
    """The CV splits the learning curves use: those of the first repeat (every sample held out once)."""
    from moflow.evaluate import split_names

    names = split_names(splits)
    first = names[0].split("f")[0] if names else ""
    return [s for s in names if s.split("f")[0] == first]


@reads("design", "seed", uses=[load_cohort, build_preprocessors, build_strategies, survival_times, build_prior])
def design_fold(raw: dict[str, pd.DataFrame], splits: pd.DataFrame, names: list[str], board: pd.DataFrame,
                raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings, files=None,
                edges: dict | None = None) -> dict:
    """Learning-curve points of the splits ``names``, one after another: each split's training side
    subsampled (stratified, nested, seeded) to each of ``design: fractions``, every layer's chain and the
    chosen strategies refit on the subsample, scored on the split's held-out samples.
    {points: strategy, split, fraction, n_train, n_test, and every metric}."""
    from moflow.evaluate import run_fold, score_predictions, split_members
    from moflow.design import subsample_training

    cohort = load_cohort(raw_samples, raw_omics, settings)
    task = cohort.task
    chosen = learning_strategies(board, settings)
    prior = (build_prior(cohort.omics, settings, files, edges or {}, {n: list(X.columns) for n, X in raw.items()})
             if files is not None and "hierarchical" in chosen else None)
    strategies = {n: f for n, f in build_strategies(cohort.omics, settings, task, sheet=cohort.sheet,
                                                    prior=prior).items() if n in chosen}
    pps = build_preprocessors(cohort.omics, settings, cohort.info)
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    times, grid = survival_times(cohort, settings) if task == "survival" else ((), None)
    rows = []
    for split in names:
        train, test = split_members(splits, split)
        strata = _strata(cohort, train, min(settings.design.fractions))
        for frac in sorted(settings.design.fractions):
            sub = subsample_training(train, strata, float(frac), int(settings.seed))
            try:
                pred = run_fold(raw, pps, strategies, cohort.y, sub, test, qc=qc, split=split, task=task, grid=grid)
            except InputError as exc:
                # the full training side ran in the evaluation; a subsample of it may not (a batch left with
                # one outcome group, a class too small for the inner folds): that point is missing, and says why
                log.warning("design: split %s at %.0f%% (%d samples) cannot be fit: %s", split, 100 * frac, len(sub),
                            exc)
                rows += [{"strategy": strat, "split": split, "fraction": float(frac), "n_train": len(sub),
                          "note": str(exc)} for strat in strategies]
                continue
            for strat, p in pred.groupby("strategy"):
                sc = score_predictions(p, task, y_train=cohort.y.loc[sub] if task == "survival" else None,
                                       times=times)
                rows.append({"strategy": strat, "split": split, "fraction": float(frac), "n_train": len(sub), **sc})
            log.info("design: split %s, %.0f%% of %d training samples (%d) done", split, 100 * frac, len(train),
                     len(sub))
    points = pd.DataFrame(rows)
    return {"points": points if "note" in points.columns else points.assign(note="")}


def riley_floor(cohort: Cohort, board: pd.DataFrame, n_parameters: int, metric: str) -> dict:
    """Riley et al.'s minimum sample size for a model with ``n_parameters`` candidate parameters (the MOFA
    factors: the compact predictor), the cohort's prevalence or event rate and the best CV score (the C
    statistic, or R2, the criteria are built on; 0.7 / 0.25 where the scores are not those)."""
    from moflow.design import riley_binary, riley_continuous, riley_survival

    y = cohort.y.loc[cohort.train]
    col = {"classification": "roc_auc", "survival": "harrell_c", "regression": "r2"}[cohort.task]
    best = float(board.iloc[0][col]) if col in board.columns else np.nan
    if cohort.task == "survival":
        c = float(np.clip(best, 0.55, 0.95)) if np.isfinite(best) else 0.7
        t, e = y["time"].to_numpy(float), y["event"].to_numpy(float) > 0
        rate = e.sum() / t.sum()
        res = riley_survival(n_parameters, rate=float(rate), mean_followup=float(t.mean()),
                             timepoint=float(np.median(t[e])) if e.any() else float(np.median(t)), c_statistic=c)
        return {"n": res["n"], "basis": f"Cox model with {n_parameters} parameters, event rate {rate:.3g} per time "
                                        f"unit, C {c:.2f}"}
    if cohort.task == "regression":
        r2 = float(np.clip(best, 0.05, 0.95)) if np.isfinite(best) else 0.25
        res = riley_continuous(n_parameters, r2=r2, intercept=float(y.mean()), sd=float(y.std()))
        return {"n": res["n"], "basis": f"linear model with {n_parameters} parameters, R2 {r2:.2f}"}
    counts = y.astype(str).value_counts()
    prevalence = float(counts.min() / counts.sum())
    c = float(np.clip(best, 0.55, 0.95)) if np.isfinite(best) else 0.7
    res = riley_binary(n_parameters, prevalence=prevalence, c_statistic=c)
    return {"n": res["n"], "basis": f"logistic model with {n_parameters} parameters, smallest class "
                                    f"{prevalence:.2f} of the samples, AUC {c:.2f}"}


def size_row(fit: dict, need: dict, observed: pd.DataFrame, kind: str) -> dict:
    """The sample-size verdict of one strategy: the extrapolated size, or, where the pilot's own training
    sizes already reach the target (mean score at a drawn size), that smallest drawn size, not a curve read
    below the data."""
    means = observed.groupby("n_train")["score"].mean().sort_index()
    reached = means[means >= need["target"]] if kind == "gain" else means[means <= need["target"]]
    if len(reached):
        n0 = int(reached.index[0])
        return {"n_training": float(n0), "n_low": np.nan, "n_high": float(n0),
                "status": f"reached in this cohort: mean score {reached.iloc[0]:.3f} at {n0} training samples "
                          f"(the smallest drawn size that reaches it)"}
    return {"n_training": need["n"], "n_low": need["low"], "n_high": need["high"], "status": need["status"]}


@reads("design", "evaluation", "integration", "seed", uses=[load_cohort])
def design_learning(points: pd.DataFrame, scores: pd.DataFrame, splits: pd.DataFrame, board: pd.DataFrame,
                    raw_samples: pd.DataFrame, raw_omics: pd.DataFrame, settings: Settings) -> dict:
    """The learning curves: the fold jobs' points and the full-size scores of the same splits
    (``scores``, the fold scores of the evaluation), an inverse power law per strategy with a split
    bootstrap, extrapolated to the target score; Riley's minimum sample size as a floor.
    {points, curve, sample_size}."""
    from moflow.evaluate import split_members
    from moflow.design import fit_learning_curve, predict_score, size_for_target, size_levels

    cohort = load_cohort(raw_samples, raw_omics, settings)
    metric, target, kind = design_metric(cohort.task, settings, board)
    chosen = learning_strategies(board, settings)
    names = learning_splits(splits)
    full = scores[scores["split"].isin(names) & scores["strategy"].isin(chosen)].copy()
    full["fraction"] = 1.0
    full["n_train"] = [len(split_members(splits, s)[0]) for s in full["split"]]
    keep = ["strategy", "split", "fraction", "n_train", metric]
    points = points.reindex(columns=list(dict.fromkeys([*points.columns, *keep, "note"])))
    pts = pd.concat([points[keep], full[keep]], ignore_index=True).rename(columns={metric: "score"})
    pts = pts.sort_values(["strategy", "split", "n_train"], kind="mergesort").reset_index(drop=True)
    sizes = np.unique(np.round(np.geomspace(max(10, pts["n_train"].min()), 20 * len(cohort.train), 40)).astype(int))
    folds = int(settings.evaluation.folds)
    curves, table = [], []
    for strat in chosen:
        p = pts[(pts["strategy"] == strat)].dropna(subset=["score"])
        base = {"strategy": strat, "metric": metric, "target": target}
        levels = size_levels(p["n_train"])
        if levels < 3 or not np.isfinite(target):
            notes = points.loc[(points["strategy"] == strat) & points["note"].fillna("").astype(str).ne(""), "note"]
            why = (f"fewer than 3 distinct training sizes with a score ({levels}): on a cohort this small the "
                   "subsamples of design: fractions come out alike; draw smaller fractions" if levels < 3
                   else f"no target for {metric}: set design: target_score")
            if len(notes):
                why += f"; a subsample could not be fit: {notes.iloc[0]}"
            table.append({**base, "n_training": np.nan, "n_low": np.nan, "n_high": np.nan, "status": why,
                          "asymptote": np.nan, "score_at_full": np.nan, "failed_bootstrap_fits": np.nan})
            continue
        fit = fit_learning_curve(p["n_train"].to_numpy(float), p["score"].to_numpy(float), kind=kind,
                                 groups=p["split"].to_numpy(), seed=int(settings.seed),
                                 test_to_train=1.0 / (folds - 1))
        curves.append(predict_score(fit, sizes).assign(strategy=strat))
        need = size_for_target(fit, target)
        table.append({**base, **size_row(fit, need, p, kind), "asymptote": fit["params"]["a"],
                      "score_at_full": float(p.loc[p["fraction"] == 1.0, "score"].mean()),
                      "failed_bootstrap_fits": fit["n_failed"]})
    floor = riley_floor(cohort, board, int(settings.integration.mofa.factors), metric)
    table.append({"strategy": "riley_minimum", "metric": metric, "target": np.nan, "n_training": floor["n"],
                  "n_low": np.nan, "n_high": np.nan, "status": floor["basis"], "asymptote": np.nan,
                  "score_at_full": np.nan, "failed_bootstrap_fits": np.nan})
    size = pd.DataFrame(table)
    size["n_cohort"] = len(cohort.train)  # the training samples of this cohort, for comparison
    curve = (pd.concat(curves, ignore_index=True)[["strategy", "n", "score", "low", "high", "extrapolated"]]
             if curves else pd.DataFrame(columns=["strategy", "n", "score", "low", "high", "extrapolated"]))
    log.info("design: learning curves of %s; sample sizes for %s %.3g:\n%s", ", ".join(chosen), metric, target,
             size.to_string(index=False))
    from moflow.report import png_bytes
    from moflow.report import plot_learning_curves

    return {"points": pts, "curve": curve, "sample_size": size,
            "figure": png_bytes(plot_learning_curves(pts, curve, size))}
