"""The clinical covariates of the sample sheet, read and checked at start-up (no scikit-learn here).

* :func:`clinical_frame`: the configured columns as stripped text, blanks as missing;
* :func:`column_kinds`: numeric or categorical, per column;
* :func:`check_clinical`: stops a column the models cannot use (absent, the outcome, constant, numbers
  mixed with words, a reference level it does not have), with the fix;
* :func:`is_copy`: the columns that are a recoding of the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.errors import InputError

BLANKS = ("", "nan", "NA", "NaN", "None", "na", "N/A", "n/a", "NULL", "null")


def clinical_frame(sheet: pd.DataFrame, columns) -> pd.DataFrame:
    """The clinical columns of the sample sheet as stripped text, missing where blank (``BLANKS``).

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sample sheet indexed by sample (read as text).
    columns : sequence of str
        The clinical columns (``clinical: columns``).

    Returns
    -------
    pandas.DataFrame
        Samples x columns, object dtype, ``None`` where a value is missing.
    """
    out = sheet.loc[:, list(columns)].astype(object)
    out = out.apply(lambda c: c.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)))
    out = out.apply(lambda c: c.map(lambda v: None if v is None or v.strip() in BLANKS else v.strip()))
    return out.astype(object)


def column_kinds(frame: pd.DataFrame, categorical=()) -> dict[str, str]:
    """``numeric`` where every present value of a column is a number (not in ``categorical``), else ``categorical``."""
    kinds = {}
    for col in frame.columns:
        present = frame[col].dropna()
        numbers = pd.to_numeric(present, errors="coerce")
        kinds[col] = (
            "numeric" if col not in set(categorical) and len(present) and numbers.notna().all() else "categorical"
        )
    return kinds


def check_clinical(
    sheet: pd.DataFrame,
    columns,
    *,
    categorical=(),
    reference=None,
    outcome_columns=(),
    samples=None,
    path: str = "the sample sheet",
) -> dict[str, str]:
    """Stop a clinical covariate the models cannot use, with the fix; the kind of every column.

    Stops (:class:`~moflow.errors.InputError`): a column absent from the sheet; one of the outcome's
    columns; a column with a single value (or none) among ``samples``; a column whose values are
    numbers except a few (``>80``, ``unknown``: a number written as text is read as a category and
    would make every age a level of its own); ``categorical`` or ``reference`` naming a column not in
    ``columns``, or a reference level the column does not have.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sample sheet indexed by sample.
    columns : sequence of str
        ``clinical: columns``.
    categorical : sequence of str
        ``clinical: categorical``.
    reference : mapping, optional
        ``clinical: reference`` ({column: level}).
    outcome_columns : sequence of str
        The outcome's columns (a survival outcome's time and event).
    samples : sequence of str, optional
        The cohort samples (default: every row).
    path : str
        The sample sheet's path, for the messages.

    Returns
    -------
    dict of str to str
        {column: numeric or categorical}.
    """
    columns, reference = list(columns), dict(reference or {})
    missing = [c for c in columns if c not in sheet.columns]
    if missing:
        raise InputError(
            f"config 'clinical: columns' names {', '.join(repr(c) for c in missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not a column of {path} (its columns: "
            f"{', '.join(map(str, sheet.columns))}). Add the column to the sheet or correct the name."
        )
    for key, named in (("categorical", list(categorical)), ("reference", list(reference))):
        stray = [c for c in named if c not in columns]
        if stray:
            raise InputError(
                f"config 'clinical: {key}' names {', '.join(repr(c) for c in stray)}, which "
                f"{'is' if len(stray) == 1 else 'are'} not in 'clinical: columns' ({', '.join(columns) or 'none'}). "
                "Add it to clinical: columns or remove it."
            )
    outcome = [c for c in columns if c in set(outcome_columns)]
    if outcome:
        raise InputError(
            f"config 'clinical: columns' names '{outcome[0]}', which is the outcome itself: a model given it "
            "would predict the outcome from the outcome. Remove it from clinical: columns."
        )
    rows = sheet.index if samples is None else [s for s in samples if s in sheet.index]
    frame = clinical_frame(sheet.loc[rows], columns)
    kinds = column_kinds(frame, categorical)
    for col in columns:
        present = frame[col].dropna()
        if present.nunique() < 2:
            value = f"the single value '{present.iloc[0]}'" if len(present) else "no value"
            raise InputError(
                f"{path}: clinical covariate '{col}' has {value} among the {len(rows)} cohort samples: it cannot "
                "tell any sample from another. Remove it from 'clinical: columns'."
            )
        numbers = pd.to_numeric(present, errors="coerce")
        words = present[numbers.isna()]
        if kinds[col] == "categorical" and col not in set(categorical) and numbers.notna().mean() >= 0.8:
            shown = ", ".join(f"{s} ('{v}')" for s, v in list(words.items())[:8])
            raise InputError(
                f"{path}: clinical covariate '{col}' holds numbers except in {len(words)} sample(s): {shown}. Read "
                "as a category, every distinct number would become a level of its own. Write those values as "
                "numbers (or leave them empty: missing values are imputed inside each training fold), or list "
                f"'{col}' under 'clinical: categorical' if it is a category."
            )
        if col in reference and reference[col] not in set(present):
            raise InputError(
                f"config 'clinical: reference' gives '{reference[col]}' as the reference level of '{col}', which "
                f"is not one of its values in {path} ({', '.join(sorted(map(str, set(present)))[:12])}). Use one "
                "of those (compared as text)."
            )
        if col in reference and kinds[col] == "numeric":
            raise InputError(
                f"config 'clinical: reference' gives a reference level for '{col}', which is numeric. List it "
                "under 'clinical: categorical' too, or remove its reference."
            )
    return kinds


def is_copy(frame: pd.DataFrame, y, task: str, *, categorical=()) -> list[str]:
    """The covariates that are a recoding of the outcome (one value per outcome value and back; survival: of time)."""
    kinds = column_kinds(frame, categorical)
    copies = []
    for col in frame.columns:
        v = frame[col].reindex(y.index)
        ok = v.notna()
        if ok.sum() < 3:
            continue
        if task == "survival":
            x = pd.to_numeric(v[ok], errors="coerce")
            t = y["time"][ok].astype(float)
            if kinds[col] == "numeric" and x.std() > 0 and t.std() > 0 and abs(np.corrcoef(x, t)[0, 1]) > 1 - 1e-9:
                copies.append(col)
            continue
        target = y[ok].astype(str) if task == "classification" else y[ok].astype(float)
        if task == "regression" and kinds[col] == "numeric":
            x = pd.to_numeric(v[ok], errors="coerce")
            if x.std() > 0 and target.std() > 0 and abs(np.corrcoef(x, target)[0, 1]) > 1 - 1e-9:
                copies.append(col)
            continue
        pairs = pd.DataFrame({"v": v[ok].astype(str), "y": target.astype(str)}).drop_duplicates()
        if pairs["v"].is_unique and pairs["y"].is_unique and pairs["y"].nunique() > 1:
            copies.append(col)
    return copies
