"""Per-layer power on this cohort as a pilot (rule design_power).

The two outcome groups the power compares (:func:`design_groups`), each layer's power curve in the MultiPower
model (:mod:`moflow.design.power`) and the joint designs across layers, as two tables (:func:`power_design`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from moflow.cohort import Cohort
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")

POWER_KIND = {"rnaseq_counts": "counts", "binary": "binary"}  # every other layer kind: continuous


def design_groups(cohort: Cohort) -> tuple[pd.Series, tuple[str, str], str]:
    """The two groups per-layer power compares, on the training samples.

    A binary outcome's classes (the positive one second); a multiclass outcome's two largest classes; a
    continuous outcome split at its median (low / high); a survival outcome's event status (censored /
    event). Returns (groups, (first, second), how).
    """
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


@reads("design")
def power_design(
    raw: dict[str, pd.DataFrame], layers: dict[str, pd.DataFrame], cohort: Cohort, settings: Settings
) -> dict:
    """Power per layer and the joint design.

    Count layers use their raw counts (the negative-binomial model) and binary layers their 0/1 calls (two
    proportions), of the features preprocessing keeps; other layers their preprocessed values (t test on the
    scale analysed).

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        Each layer's raw matrix (samples x features): the counts and 0/1 calls.
    layers : dict of str to pandas.DataFrame
        Each layer's preprocessed matrix (samples x features).
    cohort : Cohort
        The cohort: its outcome groups (:func:`design_groups`) and layers' kinds.
    settings : Settings
        The run's settings (``design``: sizes, FDR, effect threshold, target and minimum power, costs).

    Returns
    -------
    dict
        {power (layer x samples per group), joint (each layer alone and both joint designs)}.
    """
    from moflow.design.power import effect_sizes, joint_design, layer_power_curve, samples_needed, storey_pi0

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
        curve = layer_power_curve(
            es, kind, list(d.sizes), fdr=float(d.fdr), pi0=pi0, effect_threshold=float(d.effect_threshold)
        )
        curves[layer] = curve
        rows.append(curve.assign(layer=layer, kind=kind))
        log.info(
            "design: layer %s (%s, %d features, pi0 %.2f): %s per group for power %.2f",
            layer,
            kind,
            len(es),
            float(curve["pi0"].iloc[0]),
            samples_needed(curve, float(d.target_power)),
            d.target_power,
        )
    costs = {layer: float(d.costs.get(layer, 1.0)) for layer in curves}
    # a layer in which the pilot shows no differential feature has no power to gain: it is left out of the
    # joint designs (and said so), which would otherwise be infeasible at any size
    null = [layer for layer, c in curves.items() if int(c["m_nonnull"].iloc[0]) == 0]
    active = {layer: c for layer, c in curves.items() if layer not in null}
    joint = (
        joint_design(active, float(d.target_power), float(d.min_power), {k: costs[k] for k in active}) if active else {}
    )
    table = []
    for layer, c in curves.items():  # each layer alone: the samples per group it needs for the target power
        need = samples_needed(c, float(d.target_power))
        at = c.loc[c["n_per_group"] == need, "power"]
        table.append(
            {
                "design": "per_layer",
                "layer": layer,
                "n_per_group": need,
                "power": float(at.iloc[0]) if len(at) else np.nan,
                "cost_per_sample": costs[layer],
                "mean_power": np.nan,
                "total_cost": need * costs[layer] if np.isfinite(need) else np.nan,
                "feasible": bool(np.isfinite(need)),
                "message": (
                    f"{layer} alone reaches power {d.target_power:g} at {need} per group"
                    if np.isfinite(need)
                    else f"{layer} does not reach power {d.target_power:g} within the sizes considered"
                    + (" (no differential feature in this pilot)" if layer in null else "")
                ),
            }
        )
    for design in ("equal_n", "cost_optimal"):
        res = joint.get(design, {"feasible": False, "message": "no layer shows a differential feature in this pilot"})
        for layer in curves:
            if layer in null:
                table.append(
                    {
                        "design": design,
                        "layer": layer,
                        "n_per_group": np.nan,
                        "power": np.nan,
                        "cost_per_sample": costs[layer],
                        "mean_power": np.nan,
                        "total_cost": np.nan,
                        "feasible": False,
                        "message": "left out: no feature differs between the groups in "
                        f"this pilot (pi0 = {float(curves[layer]['pi0'].iloc[0]):.2f})",
                    }
                )
                continue
            table.append(
                {
                    "design": design,
                    "layer": layer,
                    "n_per_group": res["n_per_group"].get(layer, np.nan) if res.get("n_per_group") else np.nan,
                    "power": (res.get("power") or {}).get(layer, np.nan),
                    "cost_per_sample": costs[layer],
                    "mean_power": res.get("mean_power", np.nan),
                    "total_cost": res.get("total_cost", np.nan),
                    "feasible": bool(res.get("feasible")),
                    "message": res.get("message", ""),
                }
            )
    power = pd.concat(rows, ignore_index=True)
    power.insert(0, "groups", f"{pair[0]} vs {pair[1]}")
    log.info("design: groups %s; joint designs:\n%s", how, pd.DataFrame(table).to_string(index=False))
    power = power[["layer", "kind"] + [c for c in power.columns if c not in ("layer", "kind")]]
    return {"power": power, "joint": pd.DataFrame(table)}
