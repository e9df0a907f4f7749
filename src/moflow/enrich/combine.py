"""One multi-omics pathway table: signed z-scores per layer, combined by Stouffer's method."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ora import bh


def signed_z(stat: np.ndarray, p: np.ndarray) -> np.ndarray:
    """z = sign(stat) * Phi^-1(1 - p/2): standard normal under the null when p is conditional on the
    sign (GSEA's nominal p) or two-sided."""
    from scipy import stats  # here, not at the top: the Snakefile imports this module

    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0)
    return np.sign(np.asarray(stat, dtype=float)) * stats.norm.isf(p / 2)


def combine_layers(table: pd.DataFrame, *, by: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Stouffer's combination of the layers' signed z-scores per (by..., term).

    ``table``: per-layer results with columns layer, term, nes, fdr, and ``z`` (from the prerank;
    where absent it is computed from nes and p). Z = sum_l z_l / sqrt(L) over the L layers where the
    term was tested; two-sided p; BH within each group ``by`` (e.g. collection, source, component):
    every collection keeps its own FDR. A pathway found in two layers with the same sign scores
    higher than in one; opposite signs cancel. ``layers_significant``: the layers whose own FDR is
    below ``alpha``, with the combined sign. With ``z_conditional`` in the table (see
    :func:`conditional_prerank`), the conditional z-scores are combined the same way (a layer where
    the set had too few genes left counts as z = 0).
    """
    from scipy import stats  # here, not at the top: the Snakefile imports this module

    cols = [*by, "term", "z", "p", "fdr", "mean_nes", "n_layers", "layers", "layers_significant"]
    cond = "z_conditional" in table.columns
    if cond:
        cols += ["z_conditional", "p_conditional", "fdr_conditional"]
    cols += ["rank", "direction"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    t = table.copy()
    if "z" not in t.columns:
        t["z"] = signed_z(t["nes"], t["p"])
    if cond:
        t["zc"] = t["z_conditional"].fillna(0.0)
    layers = sorted(t["layer"].astype(str).unique())
    g = t.groupby([*by, "term"], sort=True)
    out = g.agg(zsum=("z", "sum"), n_layers=("z", "size"), mean_nes=("nes", "mean"))
    out["z"] = out["zsum"] / np.sqrt(out["n_layers"])
    out["p"] = 2 * stats.norm.sf(out["z"].abs())
    if cond:
        out["z_conditional"] = g["zc"].sum() / np.sqrt(out["n_layers"])
        out["p_conditional"] = 2 * stats.norm.sf(out["z_conditional"].abs())
    out["layers"] = g["layer"].agg(lambda x: ",".join(sorted(map(str, x))))
    sig = t[t["fdr"] < alpha].join(out["z"].rename("z_all"), on=[*by, "term"])
    sig = sig[np.sign(sig["z"]) == np.sign(sig["z_all"])]
    out["layers_significant"] = sig.groupby([*by, "term"])["layer"].agg(lambda x: ",".join(sorted(map(str, x))))
    out["layers_significant"] = out["layers_significant"].fillna("")
    zw = t.pivot_table(index=[*by, "term"], columns="layer", values="z", aggfunc="first")
    out = out.join(zw.rename(columns=lambda c: f"z_{c}")).reset_index()
    out["fdr"] = out.groupby(by)["p"].transform(lambda p: pd.Series(bh(p.to_numpy()), index=p.index))
    if cond:
        out["fdr_conditional"] = out.groupby(by)["p_conditional"].transform(
            lambda p: pd.Series(bh(p.to_numpy()), index=p.index))
    out = out.assign(abs_z=out["z"].abs(), abs_nes=out["mean_nes"].abs())
    out = out.sort_values([*by, "p", "abs_z", "abs_nes", "term"],
                          ascending=[True] * len(by) + [True, False, False, True])
    out["rank"] = out.groupby(by).cumcount() + 1
    out["direction"] = np.where(out["z"] >= 0, "positive", "negative")
    zcols = [f"z_{c}" for c in layers if f"z_{c}" in out.columns]
    return out[[*cols, *zcols]].reset_index(drop=True)
