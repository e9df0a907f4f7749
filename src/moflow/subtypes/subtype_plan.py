"""What the subtype stage runs on a cohort: its representations (and why one is left out) and its resamples in jobs.

Light on purpose (no scientific imports): ``rules/common.smk`` calls it while the workflow is parsed.
"""

from __future__ import annotations

from moflow.settings import Settings, reads

# each half of a resample must hold k = 2 groups of 2 samples at least
MIN_SAMPLES = 8


@reads("subtypes")
def subtype_representations(settings: Settings, layers: list[str]) -> tuple[list[str], dict[str, str]]:
    """The representations config asks for that this cohort can build, and why any other is left out.

    Parameters
    ----------
    settings : Settings
        Read: ``subtypes``.
    layers : list of str
        The cohort's layers.

    Returns
    -------
    tuple
        (the representations, in config order; {representation left out: the reason}).
    """
    kept, left = [], {}
    for name in settings.subtypes.representations:
        if name == "network" and len(layers) < 2:
            left[name] = (
                f"the fused network joins two layers or more, and this cohort has one ({', '.join(layers)}): left "
                "out (the components of that layer stand for it)"
            )
        else:
            kept.append(name)
    return kept, left


@reads("subtypes")
def resample_jobs(settings: Settings) -> dict[str, list[int]]:
    """The resamples (1..``subtypes: resamples``) grouped into jobs of ``subtypes: resamples_per_job``."""
    n, per = int(settings.subtypes.resamples), max(1, int(settings.subtypes.resamples_per_job))
    numbers = list(range(1, n + 1))
    return {f"part{i // per + 1}": numbers[i : i + per] for i in range(0, n, per)}
