"""Wording shared by the input checks.

What counts as a missing value, how a list of names is shown in a message, the nearest valid name to
a misspelt one, and what a yes in a sheet cell is.
"""

from __future__ import annotations

import difflib

# cell values read as missing in sheets (case ignored)
NA_TOKENS = {"", "na", "nan", "n/a", "null", "none", "#n/a", "-"}


def listing(items, n: int = 5) -> str:
    """Up to ``n`` names quoted and joined (``'a', 'b' and 3 more``), for a message."""
    items = list(items)
    shown = ", ".join(f"'{i}'" for i in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def nearest(word, choices) -> str | None:
    """The choice closest to ``word`` (difflib; case ignored, the choice returned as spelt), or None."""
    choices = [str(c) for c in choices]
    folded = {c.casefold(): c for c in choices}
    hit = difflib.get_close_matches(str(word).casefold(), list(folded), n=1, cutoff=0.6)
    return folded[hit[0]] if hit else None


def did_you_mean(word, choices) -> str:
    """`` Did you mean 'x'?`` where a choice is close to ``word`` (:func:`nearest`), else an empty string."""
    near = nearest(word, choices)
    return f" Did you mean '{near}'?" if near is not None and near != word else ""


def truthy(value) -> bool:
    """A sheet cell read as a yes (``true``, ``yes``, ``1``, ``y``; case and spaces ignored)."""
    return str(value).strip().lower() in {"true", "yes", "1", "y"}
