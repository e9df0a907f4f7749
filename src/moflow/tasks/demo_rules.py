"""Rule simulate_demo: the embedded demo cohort, simulated from config ``demo``."""

from __future__ import annotations

import dataclasses

from moflow.settings import Settings, reads


@reads("demo")
def simulate_demo(settings: Settings):
    """The demo cohort (:func:`moflow.demo.simulate.simulate_cohort`) of the sizes and seed config ``demo`` names.

    Returns the :class:`~moflow.demo.simulate.DemoCohort` (written by :func:`moflow.io.write_demo_cohort`).
    """
    from moflow.demo import simulate_cohort

    return simulate_cohort(**dataclasses.asdict(settings.demo))
