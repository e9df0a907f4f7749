"""What MOFA's factors say: associations with covariates, match to known factors, stability over seeds.

Their associations with the sample covariates and a survival outcome (:func:`factor_associations`),
their match to known factors (:func:`match_factors`), and their stability over seeds
(:func:`stability`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

SURVIVAL_COVARIATE = "survival"  # the covariate name of a survival outcome's rows


def factor_associations(
    factors: pd.DataFrame, covariates: pd.DataFrame, survival: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Test every factor against every covariate; BH-adjust across all tests.

    Continuous covariates: Pearson correlation. Categorical: Kruskal-Wallis (two groups: also the
    point-biserial correlation as an effect size). A survival outcome (``survival``: time and event of
    the samples): a univariate Cox model per factor (covariate ``survival``, test ``cox``; statistic:
    Wald z; effect: hazard ratio per SD of the factor, with its 95% interval in hr_lo / hr_hi).

    Parameters
    ----------
    factors : pandas.DataFrame
        Samples x factors.
    covariates : pandas.DataFrame
        Samples x covariates; a covariate is continuous where every value is a number and it has more
        than 5 distinct values. Missing-value tokens count as missing.
    survival : pandas.DataFrame, optional
        Columns time and event of the samples.

    Returns
    -------
    pandas.DataFrame
        One row per test: factor, covariate, test, statistic, effect, p (hr_lo, hr_hi for ``cox``), and
        p_adj (BH over all tests).
    """
    from moflow.stats import bh

    rows = []
    if survival is not None:
        from moflow.evaluate import cox_univariate

        s = survival.reindex(factors.index)
        for f in factors.columns:
            r = cox_univariate(factors[f].to_numpy(float), s["time"].to_numpy(float), s["event"].to_numpy(float) > 0)
            rows.append(
                {
                    "factor": f,
                    "covariate": SURVIVAL_COVARIATE,
                    "test": "cox",
                    "statistic": r["z"],
                    "effect": r["hr_per_sd"],
                    "p": r["p"],
                    "hr_lo": r["hr_lo"],
                    "hr_hi": r["hr_hi"],
                }
            )
    for cov in covariates.columns:
        from moflow.wording import NA_TOKENS

        col = covariates[cov].reindex(factors.index)
        col = col.where(~col.astype(str).str.strip().str.lower().isin(NA_TOKENS) & col.notna())
        num = pd.to_numeric(col, errors="coerce")
        is_num = num.notna().sum() == col.notna().sum() and col.nunique() > 5
        for f in factors.columns:
            z = factors[f]
            if is_num:
                ok = num.notna() & z.notna()
                r, p = stats.pearsonr(z[ok], num[ok])
                rows.append({"factor": f, "covariate": cov, "test": "pearson", "statistic": r, "effect": r, "p": p})
            else:
                grp = col.astype(object).where(col.notna()).map(lambda v: v if pd.isna(v) else str(v))
                ok = grp.notna() & z.notna()
                groups = [z[ok & (grp == g)].to_numpy() for g in sorted(grp[ok].unique())]
                groups = [g for g in groups if len(g)]
                if len(groups) < 2:
                    continue
                h, p = stats.kruskal(*groups)
                eff = np.nan
                if len(groups) == 2:
                    lvl = sorted(grp[ok].unique())
                    eff = stats.pearsonr(z[ok], (grp[ok] == lvl[1]).astype(float))[0]
                rows.append({"factor": f, "covariate": cov, "test": "kruskal", "statistic": h, "effect": eff, "p": p})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_adj"] = bh(out["p"].fillna(1.0).to_numpy())
    return out


def match_factors(learned: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """For each true factor, the learned factor with the largest absolute correlation.

    Parameters
    ----------
    learned, truth : pandas.DataFrame
        Samples x factors; correlated over their common samples.

    Returns
    -------
    pandas.DataFrame
        One row per true factor: true_factor, learned_factor, r, abs_r.
    """
    common = learned.index.intersection(truth.index)
    L, T = learned.loc[common], truth.loc[common]
    C = np.corrcoef(np.hstack([T.to_numpy(), L.to_numpy()]).T)[: T.shape[1], T.shape[1] :]
    C = np.nan_to_num(C)
    rows = []
    for i, t in enumerate(T.columns):
        j = int(np.argmax(np.abs(C[i])))
        rows.append({"true_factor": t, "learned_factor": L.columns[j], "r": C[i, j], "abs_r": abs(C[i, j])})
    return pd.DataFrame(rows)


def stability(reference: pd.DataFrame, runs: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Match the factors of runs with other seeds to the reference run, per reference factor and seed.

    The matching is a Hungarian assignment on the absolute correlation of the factor values; reported
    per reference factor and seed: the matched factor and its correlation; ``consensus_abs_r`` is the
    mean over seeds.

    Parameters
    ----------
    reference : pandas.DataFrame
        The reference run's factors (samples x factors).
    runs : dict of int to pandas.DataFrame
        {seed: that run's factors}; correlated over the samples shared with ``reference``.

    Returns
    -------
    pandas.DataFrame
        Columns factor, seed, matched_factor ("" where unmatched), r, abs_r, consensus_abs_r.
    """
    from scipy.optimize import linear_sum_assignment

    rows = []
    R = reference
    for seed, run in runs.items():
        common = R.index.intersection(run.index)
        A, B = R.loc[common].to_numpy(), run.loc[common].to_numpy()
        C = np.nan_to_num(np.corrcoef(A.T, B.T)[: A.shape[1], A.shape[1] :])
        ri, ci = linear_sum_assignment(-np.abs(C))
        match = dict(zip(ri, ci))
        for i, f in enumerate(R.columns):
            j = match.get(i)
            rows.append(
                {
                    "factor": f,
                    "seed": seed,
                    "matched_factor": run.columns[j] if j is not None else "",
                    "r": C[i, j] if j is not None else np.nan,
                }
            )
    out = pd.DataFrame(rows, columns=["factor", "seed", "matched_factor", "r"])
    out["abs_r"] = out["r"].abs()
    out["consensus_abs_r"] = out.groupby("factor")["abs_r"].transform("mean")
    return out
