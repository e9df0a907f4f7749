"""What sets each subtype apart: markers per layer, associations with the sample sheet, survival.

* :func:`subtype_markers`: every feature of every layer, each subtype against the rest (Welch's t test),
  Benjamini-Hochberg FDR within each layer and subtype;
* :func:`marker_layers`: per layer, how many features separate each subtype at an FDR (the layers that
  carry the subtypes);
* :func:`subtype_associations`: every sample-sheet column against the subtypes (Kruskal-Wallis for a
  numeric column, chi-square for a categorical one), BH over the columns;
* :func:`survival_difference`: the log-rank test of the subtypes' survival (scikit-survival);
* :func:`subtype_kaplan_meier`: each subtype's Kaplan-Meier curve with its 95% band (statsmodels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MARKER_COLUMNS = ["layer", "subtype", "feature", "mean_in", "mean_out", "difference", "t", "p", "fdr"]
ASSOCIATION_COLUMNS = ["column", "test", "statistic", "p", "fdr", "n"]
KM_COLUMNS = ["subtype", "time", "survival", "lo", "hi", "at_risk", "events"]


def _bh(p: np.ndarray) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests

    out = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return out


def subtype_markers(layers: dict, labels: pd.Series) -> pd.DataFrame:
    """Each subtype against the rest, feature by feature, in every layer (Welch's t test, BH per layer and subtype).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: samples x features} (preprocessed); a sample missing from a layer, or a missing value, is
        left out of that feature's test.
    labels : pandas.Series
        Sample -> subtype.

    Returns
    -------
    pandas.DataFrame
        :data:`MARKER_COLUMNS`, sorted by layer, subtype and p.
    """
    from scipy.stats import ttest_ind

    rows = []
    labels = labels.astype(str)
    for layer, X in layers.items():
        common = [s for s in labels.index if s in X.index]
        V = X.loc[common].to_numpy(float)
        lab = labels.loc[common].to_numpy()
        for subtype in sorted(set(lab)):
            inside, outside = V[lab == subtype], V[lab != subtype]
            if len(inside) < 2 or len(outside) < 2:
                continue
            with np.errstate(all="ignore"):
                t, p = ttest_ind(inside, outside, equal_var=False, nan_policy="omit")
                mean_in, mean_out = np.nanmean(inside, axis=0), np.nanmean(outside, axis=0)
            t, p = np.asarray(t, float), np.asarray(p, float)
            part = pd.DataFrame(
                {
                    "layer": layer,
                    "subtype": subtype,
                    "feature": [str(c) for c in X.columns],
                    "mean_in": mean_in,
                    "mean_out": mean_out,
                    "difference": mean_in - mean_out,
                    "t": t,
                    "p": p,
                    "fdr": _bh(p),
                }
            )
            rows.append(part.sort_values("p", kind="mergesort"))
    if not rows:
        return pd.DataFrame(columns=MARKER_COLUMNS)
    return pd.concat(rows, ignore_index=True)[MARKER_COLUMNS]


def marker_layers(markers: pd.DataFrame, *, fdr: float = 0.05) -> pd.DataFrame:
    """Per layer: the features that separate each subtype at ``fdr``, their share, and the subtypes they separate.

    Returns
    -------
    pandas.DataFrame
        Columns layer, features, markers (features below ``fdr`` for at least one subtype), share,
        subtypes (those with at least one marker), sorted by share, largest first.
    """
    rows = []
    for layer, part in markers.groupby("layer", sort=False):
        hit = part[part["fdr"] < fdr]
        n = part["feature"].nunique()
        rows.append(
            {
                "layer": layer,
                "features": n,
                "markers": hit["feature"].nunique(),
                "share": hit["feature"].nunique() / n if n else 0.0,
                "subtypes": ",".join(sorted(hit["subtype"].astype(str).unique())),
            }
        )
    out = pd.DataFrame(rows, columns=["layer", "features", "markers", "share", "subtypes"])
    return out.sort_values("share", ascending=False, kind="mergesort").reset_index(drop=True)


def subtype_associations(sheet: pd.DataFrame, labels: pd.Series, *, min_levels: int = 5) -> pd.DataFrame:
    """Every sample-sheet column against the subtypes: Kruskal-Wallis (numeric) or chi-square (categorical).

    A column is numeric when every present value is a number and it has at least ``min_levels`` distinct
    values; a column with one value (or none) is left out. BH over the columns tested.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sample sheet, indexed by sample (text cells as read).
    labels : pandas.Series
        Sample -> subtype.

    Returns
    -------
    pandas.DataFrame
        :data:`ASSOCIATION_COLUMNS`, smallest p first.
    """
    from scipy.stats import chi2_contingency, kruskal

    labels = labels.astype(str)
    common = [s for s in labels.index if s in sheet.index]
    rows = []
    for column in sheet.columns:
        values = sheet.loc[common, column]
        present = values.notna() & (values.astype(str).str.strip() != "")
        v, lab = values[present], labels.loc[common][present]
        if v.astype(str).nunique() < 2 or lab.nunique() < 2:
            continue
        numbers = pd.to_numeric(v, errors="coerce")
        if numbers.notna().all() and numbers.nunique() >= min_levels:
            groups = [numbers[lab == g].to_numpy(float) for g in sorted(lab.unique())]
            groups = [g for g in groups if len(g)]
            stat, p = kruskal(*groups)
            test = "kruskal"
        else:
            table = pd.crosstab(v.astype(str), lab)
            stat, p, _, _ = chi2_contingency(table.to_numpy())
            test = "chi2"
        rows.append({"column": str(column), "test": test, "statistic": float(stat), "p": float(p), "n": int(len(v))})
    out = pd.DataFrame(rows, columns=["column", "test", "statistic", "p", "n"])
    out.insert(4, "fdr", _bh(out["p"].to_numpy(float)))
    return out.sort_values("p", kind="mergesort").reset_index(drop=True)[ASSOCIATION_COLUMNS]


def survival_difference(time: pd.Series, event: pd.Series, labels: pd.Series) -> dict:
    """The log-rank test of the subtypes' survival (scikit-survival's ``compare_survival``).

    Parameters
    ----------
    time, event : pandas.Series
        Follow-up time and event (1/0) per sample.
    labels : pandas.Series
        Sample -> subtype.

    Returns
    -------
    dict
        chi2, df, p and n (the samples with a time, an event and a subtype).
    """
    from sksurv.compare import compare_survival
    from sksurv.util import Surv

    t, e, lab = _aligned(time, event, labels)
    chi2, p = compare_survival(Surv.from_arrays(event=e > 0, time=t), lab.to_numpy())
    return {"chi2": float(chi2), "df": int(lab.nunique() - 1), "p": float(p), "n": len(lab)}


def _aligned(time: pd.Series, event: pd.Series, labels: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """The samples with a time, an event and a subtype: times, events (numbers) and subtypes (strings)."""
    common = [s for s in labels.index if s in time.index and s in event.index]
    t = pd.to_numeric(time.loc[common], errors="coerce")
    e = pd.to_numeric(event.loc[common], errors="coerce")
    ok = (t.notna() & e.notna()).to_numpy()
    return t.to_numpy(float)[ok], e.to_numpy(float)[ok], labels.loc[common][ok].astype(str)


def subtype_kaplan_meier(time: pd.Series, event: pd.Series, labels: pd.Series) -> pd.DataFrame:
    """Each subtype's Kaplan-Meier curve (:func:`moflow.evaluate.kaplan_meier`), one block of rows per subtype.

    Takes what :func:`survival_difference` takes, and the same samples: those with a time, an event and a
    subtype. Returns :data:`KM_COLUMNS`: subtype, then time, survival, its 95% band (lo, hi), the number at
    risk and of events at each event time (a first row at time 0).
    """
    from moflow.evaluate import kaplan_meier

    t, e, lab = _aligned(time, event, labels)
    parts = [
        kaplan_meier(t[(lab == g).to_numpy()], e[(lab == g).to_numpy()] > 0).assign(subtype=g)
        for g in sorted(lab.unique(), key=lambda x: (len(x), x))
    ]
    if not parts:
        return pd.DataFrame(columns=KM_COLUMNS)
    return pd.concat(parts, ignore_index=True)[KM_COLUMNS]
