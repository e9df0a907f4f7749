"""The step order and the merge of a layer's overrides into its kind's chain.

The chain of every kind (its steps and their options) is a default, so it lives in the config
schema alone (``kind_defaults`` in ``schemas/config.schema.yaml``); :func:`kind_defaults` reads it
from there when no settings are at hand (tests, notebooks).
"""

from __future__ import annotations

import copy
import functools

from moflow.errors import InputError

# Imputation comes before batch correction: values go missing where the instrument fails to detect
# them, in the scale of their own batch, so that is where a censored value is imputed; batch
# correction then sees complete data (as sva's ComBat, limma's removeBatchEffect in DEP, ChAMP and
# pmp require), estimates each batch's location and scale from all of its values rather than from
# the observed ones alone (biased upwards in a batch that loses more low values), and moves imputed
# and observed values together, so that imputation cannot bring batch structure back.
STEP_ORDER = ("normalize", "qc_drift", "filter", "impute", "batch", "scale")


def layer_settings(kind: str, overrides: dict | None = None, *, defaults: dict | None = None) -> dict:
    """Defaults for a layer kind, updated step by step with user overrides from config.

    Parameters
    ----------
    kind
        Layer kind (omics sheet column ``kind``).
    overrides
        ``{step: {option: value}}`` from config ``preprocess: {<layer>: ...}``; ``order`` replaces
        the step order.
    defaults
        ``{step: options}`` of the kind (config ``kind_defaults``, from the settings); ``None``:
        the schema's defaults of the kind (:func:`kind_defaults`).

    Returns
    -------
    dict
        ``{step: options}`` (a deep copy; the defaults are never changed).
    """
    if defaults is None:
        table = kind_defaults()
        if kind not in table:
            raise InputError(f"unknown layer kind '{kind}'")
        defaults = table[kind]
    settings = copy.deepcopy(defaults)
    for step, opts in (overrides or {}).items():
        if step == "order":
            settings["order"] = list(opts)
            continue
        if step not in STEP_ORDER:
            raise InputError(f"config 'preprocess': unknown step '{step}'; steps are {', '.join(STEP_ORDER)}")
        opts = dict(opts or {})
        current = settings.setdefault(step, {})
        if "method" in opts and opts["method"] != current.get("method"):
            # another method: the default method's own options do not carry over (pseudocount does)
            settings[step] = current = {k: v for k, v in current.items() if k in _SHARED_OPTIONS}
        current.update(opts)
    return settings


_SHARED_OPTIONS = ("pseudocount",)


def kind_defaults() -> dict[str, dict]:
    """The chain of every layer kind as the config schema defines it (``kind_defaults``; a copy)."""
    return copy.deepcopy(_schema_kind_defaults())


@functools.lru_cache(maxsize=1)
def _schema_kind_defaults() -> dict[str, dict]:
    from moflow.settings import Settings, thaw

    return thaw(Settings.defaults().kind_defaults)
