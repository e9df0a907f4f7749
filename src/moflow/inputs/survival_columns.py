"""Checks of a survival outcome's sample-sheet columns: follow-up time and event.

For config ``outcome: type: survival``, with messages that name the file, the row, the sample and the
fix. Used by :func:`moflow.inputs.sheets.check_samples_sheet` and by the cohort
(:func:`moflow.cohort.outcome`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moflow.errors import ConfigError, DataError
from moflow.wording import NA_TOKENS, did_you_mean, listing

# survival outcomes: the accepted event codings (parse_event)
_EVENT_TRUE = {"true"}
_EVENT_FALSE = {"false"}
EVENT_CODINGS = "0/1 (1 = event, 0 = censored; 0.0/1.0 too) or true/false (any case)"


def _sample_label(path: str):
    return lambda i: f"{path}: sample '{i}'"


def _more(n: int, what: str = "such sample(s)") -> str:
    return f" ({n - 1} more {what})" if n > 1 else ""


def parse_time_labelled(values: pd.Series, *, column: str, label) -> pd.Series:
    """Follow-up times as floats, as :func:`parse_time` gives them, with the caller's message prefix.

    ``label(i)`` is the message prefix naming file, row and sample (:func:`parse_time`'s names the
    file and the sample only); ``column`` names the column in messages.
    """
    text = values.astype(str).str.strip()
    missing = text.index[text.str.lower().isin(NA_TOKENS).to_numpy()]
    if len(missing):
        i = missing[0]
        raise DataError(
            f"{label(i)} has no follow-up time in column '{column}', named in config 'outcome: time'"
            f"{_more(len(missing))}. Fill in the time from study entry to the event or to the last follow-up "
            "(censoring), or set 'outcome: missing: exclude' in config to leave samples without one out of the "
            "analysis (listed in the report)."
        )
    num = pd.to_numeric(text, errors="coerce").astype(float)
    bad = num.index[(num.isna() | np.isinf(num)).to_numpy()]
    if len(bad):
        i = bad[0]
        raise DataError(
            f"{label(i)} has the follow-up time '{text[i]}' in column '{column}', which is not a number"
            f"{_more(len(bad))}. Write the time as a number ('.' as decimal point, the same unit for every "
            "sample, e.g. years or days)."
        )
    negative = num.index[(num < 0).to_numpy()]
    if len(negative):
        i = negative[0]
        raise DataError(
            f"{label(i)} has the follow-up time '{text[i]}' in column '{column}': follow-up time cannot be "
            f"negative{_more(len(negative))}. Fix the value: the time from study entry to the event or to the "
            "last follow-up (0 is allowed)."
        )
    return num


def parse_event_labelled(values: pd.Series, *, column: str, label) -> pd.Series:
    """Event indicators as bools, as :func:`parse_event` gives them, with the caller's message prefix.

    ``label(i)`` is the message prefix naming file, row and sample (:func:`parse_event`'s names the
    file and the sample only); ``column`` names the column in messages.
    """
    text = values.astype(str).str.strip()
    folded = text.str.lower()
    missing = text.index[folded.isin(NA_TOKENS).to_numpy()]
    if len(missing):
        i = missing[0]
        raise DataError(
            f"{label(i)} has no value in event column '{column}', named in config 'outcome: event'"
            f"{_more(len(missing))}. Fill in whether the event was observed, coded {EVENT_CODINGS}, or set "
            "'outcome: missing: exclude' in config to leave samples without one out (listed in the report)."
        )
    num = pd.to_numeric(text, errors="coerce")
    event = pd.Series(np.nan, index=text.index, dtype=object)
    event[(num == 1).to_numpy()] = True
    event[(num == 0).to_numpy()] = False
    event[folded.isin(_EVENT_TRUE).to_numpy()] = True
    event[folded.isin(_EVENT_FALSE).to_numpy()] = False
    bad = text.index[event.isna().to_numpy()]
    if len(bad):
        i = bad[0]
        found = sorted(text.unique(), key=str)
        raise DataError(
            f"{label(i)} has the value '{text[i]}' in event column '{column}', which is not an event coding "
            f"({len(bad)} such sample(s); values found: {listing(found, 8)}). Code events as {EVENT_CODINGS}; "
            "no other coding (yes/no, dead/alive, 2/1, ...) is accepted."
        )
    return event.astype(bool)


def parse_time(values: pd.Series, *, path: str = "the sample sheet", column: str = "time") -> pd.Series:
    """Follow-up times of a survival outcome (config ``outcome: time``) as a float Series, same index.

    Missing values (:data:`NA_TOKENS`), non-numbers (infinity included) and negative times raise
    :class:`DataError` naming ``path``, the column and the sample (the index label); 0 is allowed.
    """
    return parse_time_labelled(values, column=column, label=_sample_label(path))


def parse_event(values: pd.Series, *, path: str = "the sample sheet", column: str = "event") -> pd.Series:
    """Event indicators of a survival outcome (config ``outcome: event``) as a bool Series, same index.

    Accepted codings: numbers equal to 1 (event) or 0 (censored): ``1``, ``0``, ``1.0``, ``0.0``; and
    ``true`` / ``false`` in any case (surrounding blanks ignored). A missing value (:data:`NA_TOKENS`)
    or anything else (yes/no, dead/alive, 2, ...) raises :class:`DataError` naming ``path``, the
    column, the sample (the index label), the values found and the accepted codings.
    """
    return parse_event_labelled(values, column=column, label=_sample_label(path))


def check_survival_columns(sheet: pd.DataFrame, *, path: str, time_column: str, event_column: str) -> None:
    """Stop when config ``outcome: time`` or ``outcome: event`` is unset, not a column, or both are one.

    That is: either is not set, names no column of the sheet at ``path``, or both name the same
    column.
    """
    for col, key, what in (
        (time_column, "time", "each sample's follow-up time"),
        (event_column, "event", "whether each sample's event was observed"),
    ):
        if not col:
            raise ConfigError(
                f"config 'outcome: type' is survival but 'outcome: {key}' is not set. Name the column of {path} "
                f"that holds {what}."
            )
        if col not in sheet.columns:
            raise ConfigError(
                f"{path}: {key} column '{col}' (config 'outcome: {key}') is not in the sheet; columns are "
                f"{listing(sheet.columns, 20)}.{did_you_mean(col, sheet.columns)} Name the right column in config "
                f"'outcome: {key}' or add it to the sheet."
            )
    if time_column == event_column:
        raise ConfigError(
            f"config 'outcome: time' and 'outcome: event' both name column '{time_column}' of {path}. Follow-up "
            "times and event indicators need a column each."
        )
