"""Clinical covariates as predictors: their encoding, fit inside each training side, and their screen.

The columns are read and checked at start-up (:mod:`moflow.inputs.clinical_columns`: a column mixing
numbers and words, a constant one, one absent from the sheet, one that is the outcome stop there).

* :class:`ClinicalEncoder`: numeric columns imputed (training median, with a missing-value indicator)
  and categorical ones one-hot against a reference level, everything standardized, all learned from
  the training rows only;
* :func:`covariate_screen`: each covariate's own score on the training samples, a near-perfect one
  flagged as a likely leak of the outcome.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from moflow.inputs.clinical_columns import clinical_frame, column_kinds
from moflow.settings import Settings, reads

log = logging.getLogger("moflow")
PREFIX = "clinical:"  # the encoded columns: clinical:<column>, clinical:<column>=<level>, clinical:<column>_missing


class ClinicalEncoder(TransformerMixin, BaseEstimator):
    """Clinical covariates as a standardized numeric block, learned from the training rows only.

    Numeric columns: missing values get the training median, and an indicator column
    (``clinical:<col>_missing``) where a training value is missing. Categorical columns: one column
    per level other than the reference (``clinical:<col>=<level>``; the reference is configured, else
    the most frequent training level, ties by name), a missing value its own indicator, a level not
    seen in training the reference's coding (all zeros). Every column is then centred and scaled by
    its training SD (a column constant in training is only centred).

    Parameters
    ----------
    columns : sequence of str
        The covariates.
    categorical : sequence of str
        Columns taken as categories even where every value is a number.
    reference : dict, optional
        {column: reference level}.

    Attributes
    ----------
    kinds_ : dict of str to str
        {column: numeric or categorical}.
    medians_, levels_, references_ : dict
        The numeric columns' training medians; the categorical ones' levels (reference first) and reference.
    names_ : list of str
        The encoded columns.
    mean_, scale_ : pandas.Series
        The encoded columns' training means and SDs.
    described_ : pandas.DataFrame
        One row per covariate: column, kind, reference, levels, n_missing (training), encoded columns.
    """

    _parameter_constraints: ClassVar[dict] = {
        "columns": ["array-like"],
        "categorical": ["array-like"],
        "reference": [dict, None],
    }

    def __init__(self, columns=(), categorical=(), reference=None):
        self.columns = columns
        self.categorical = categorical
        self.reference = reference

    def fit(self, frame: pd.DataFrame, y=None):
        """Learn the kinds, medians, levels and scales from ``frame`` (the training rows, as :func:`clinical_frame`)."""
        self._validate_params()
        frame = frame.loc[:, list(self.columns)]
        ref = dict(self.reference or {})
        self.kinds_ = column_kinds(frame, self.categorical)
        self.medians_, self.levels_, self.references_, self.indicators_ = {}, {}, {}, []
        rows = []
        for col in self.columns:
            v = frame[col]
            n_missing = int(v.isna().sum())
            if n_missing:
                self.indicators_.append(col)
            if self.kinds_[col] == "numeric":
                x = pd.to_numeric(v, errors="coerce")
                self.medians_[col] = float(x.median()) if x.notna().any() else 0.0
                rows.append({"column": col, "kind": "numeric", "reference": "", "levels": "", "n_missing": n_missing})
                continue
            counts = v.dropna().value_counts()
            levels = sorted(counts.index, key=lambda lv: (-counts[lv], lv))
            chosen = ref.get(col)
            if chosen is None or chosen not in set(levels):
                if chosen is not None:
                    log.info(
                        "clinical covariate %s: reference level %s absent from this training side; %s used",
                        col,
                        chosen,
                        levels[0],
                    )
                chosen = levels[0]
            self.references_[col] = chosen
            self.levels_[col] = [chosen] + sorted(lv for lv in levels if lv != chosen)
            rows.append(
                {
                    "column": col,
                    "kind": "categorical",
                    "reference": chosen,
                    "levels": ", ".join(self.levels_[col]),
                    "n_missing": n_missing,
                }
            )
        raw = self._raw(frame)
        self.names_ = list(raw.columns)
        self.mean_ = raw.mean()
        sd = raw.std(ddof=0)
        self.scale_ = sd.where(sd > 0, 1.0)
        described = pd.DataFrame(rows)
        described["encoded"] = [
            ", ".join(n for n in self.names_ if n == f"{PREFIX}{c}" or n.startswith((f"{PREFIX}{c}=", f"{PREFIX}{c}_")))
            for c in described["column"]
        ]
        self.described_ = described
        return self

    def _raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        cols = {}
        for col in self.columns:
            v = frame[col]
            if self.kinds_[col] == "numeric":
                cols[f"{PREFIX}{col}"] = pd.to_numeric(v, errors="coerce").fillna(self.medians_[col]).astype(float)
            else:
                for lv in self.levels_[col][1:]:
                    cols[f"{PREFIX}{col}={lv}"] = (v == lv).astype(float)
            if col in self.indicators_:
                cols[f"{PREFIX}{col}_missing"] = v.isna().astype(float)
        return pd.DataFrame(cols, index=frame.index)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The encoded, standardized block of ``frame``'s rows (columns :attr:`names_`)."""
        check_is_fitted(self)
        frame = frame.loc[:, list(self.columns)]
        for col, levels in self.levels_.items():
            unseen = frame[col].dropna()
            unseen = unseen[~unseen.isin(levels)]
            if len(unseen):
                log.info(
                    "clinical covariate %s: level(s) %s of %d sample(s) unseen in training, coded as the reference %s",
                    col,
                    ", ".join(sorted(set(unseen))),
                    len(unseen),
                    self.references_[col],
                )
        raw = self._raw(frame).reindex(columns=self.names_, fill_value=0.0)
        return (raw - self.mean_) / self.scale_


def _discrimination(score: np.ndarray, y: pd.Series) -> float:
    """Mean one-vs-rest AUC of a score per class (columns of ``score``), each oriented to at least 0.5."""
    from sklearn.metrics import roc_auc_score

    classes = sorted(y.unique())
    aucs = []
    for j, c in enumerate(classes if len(classes) > 2 else classes[1:]):
        col = score[:, j] if score.ndim == 2 else score
        a = roc_auc_score((y == c).to_numpy(), col)
        aucs.append(max(a, 1 - a))
    return float(np.mean(aucs))


def covariate_screen(frame: pd.DataFrame, y, task: str, *, categorical=(), threshold: float = 0.95) -> pd.DataFrame:
    """Each clinical covariate's own score on the given samples, flagged where it (nearly) predicts the outcome.

    Class outcome: the AUC of the covariate (numeric) or of its levels' class frequencies (categorical),
    one-vs-rest and averaged over classes for several; survival: Harrell's C of the covariate or its
    levels' event rates; continuous: R^2 (squared correlation, or between-level share of the
    variance). Each is oriented to be at least chance. In-sample on purpose: a screen for covariates
    that carry the outcome (recorded after it, derived from it), not a score of a model.

    Parameters
    ----------
    frame : pandas.DataFrame
        The covariates (:func:`clinical_frame`) of the samples with an outcome.
    y : pandas.Series or pandas.DataFrame
        The outcome of the same samples (time, event for survival).
    task : str
        classification, regression or survival.
    categorical : sequence of str
        ``clinical: categorical``.
    threshold : float
        ``clinical: leak_threshold``.

    Returns
    -------
    pandas.DataFrame
        One row per covariate: covariate, kind, n_missing, metric, score, likely_leak.
    """
    kinds = column_kinds(frame, categorical)
    metric = {"classification": "auc", "survival": "c_index", "regression": "r2"}[task]
    rows = []
    for col in frame.columns:
        v = frame[col].reindex(y.index)
        if kinds[col] == "numeric":
            x = pd.to_numeric(v, errors="coerce")
            x = x.fillna(x.median())
            enc = None
        else:
            enc = v.fillna("(missing)")
        if task == "classification":
            yy = y.astype(str)
            if enc is None:
                score = _discrimination(x.to_numpy(float), yy)
            else:
                freq = pd.crosstab(enc, yy, normalize="index")
                score = _discrimination(freq.reindex(enc).to_numpy(), yy)
        elif task == "survival":
            from sksurv.metrics import concordance_index_censored

            t, e = y["time"].to_numpy(float), y["event"].to_numpy(float) > 0
            if enc is None:
                r = x.to_numpy(float)
            else:
                rate = (
                    pd.DataFrame({"g": enc, "e": e, "t": t})
                    .groupby("g")
                    .apply(lambda d: d["e"].sum() / max(d["t"].sum(), 1e-12), include_groups=False)
                )
                r = enc.map(rate).to_numpy(float)
            c = concordance_index_censored(e, t, r)[0]
            score = max(c, 1 - c)
        else:
            yv = y.astype(float)
            if enc is None:
                score = float(np.corrcoef(x.to_numpy(float), yv.to_numpy())[0, 1] ** 2) if x.std() > 0 else 0.0
            else:
                means = yv.groupby(enc).transform("mean")
                total = float(((yv - yv.mean()) ** 2).sum())
                score = float(((means - yv.mean()) ** 2).sum() / total) if total > 0 else 0.0
        score = float(np.nan_to_num(score))
        rows.append(
            {
                "covariate": col,
                "kind": kinds[col],
                "n_missing": int(frame[col].isna().sum()),
                "metric": metric,
                "score": score,
                "likely_leak": bool(score >= threshold),
            }
        )
    return pd.DataFrame(rows, columns=["covariate", "kind", "n_missing", "metric", "score", "likely_leak"])


@reads("clinical")
def clinical_inputs(sheet: pd.DataFrame, settings: Settings) -> tuple[ClinicalEncoder, pd.DataFrame] | None:
    """What the fold loop needs of the clinical covariates: (unfitted encoder, the covariates as text).

    Parameters
    ----------
    sheet : pandas.DataFrame
        The checked sample sheet, indexed by sample.
    settings : Settings
        Read: ``clinical``.

    Returns
    -------
    tuple or None
        (:class:`ClinicalEncoder`, :func:`clinical_frame` of every sample), None where ``clinical:
        columns`` names none.
    """
    c = settings.clinical
    if not c.columns:
        return None
    encoder = ClinicalEncoder(columns=tuple(c.columns), categorical=tuple(c.categorical), reference=dict(c.reference))
    frame = clinical_frame(sheet, c.columns)
    frame.index = frame.index.astype(str)
    return encoder, frame
