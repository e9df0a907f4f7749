"""What several tasks share: the sheets checked and the cohort built (:func:`load_cohort`)."""

from __future__ import annotations

import pandas as pd

from moflow.cohort import Cohort, make_cohort
from moflow.inputs import check_omics_sheet, check_samples_sheet
from moflow.settings import Settings, reads


@reads("outcome", uses=[make_cohort])
def load_cohort(
    raw_samples: pd.DataFrame,
    raw_omics: pd.DataFrame,
    settings: Settings,
    *,
    samples_path: str = "the sample sheet",
    omics_path: str = "the omics sheet",
    min_class_size: int = 1,
) -> Cohort:
    """Check both sheets (cheap; every task re-checks what it relies on) and build the cohort.

    Parameters
    ----------
    raw_samples, raw_omics : pandas.DataFrame
        The sample and omics sheets as read.
    settings : Settings
        Read: ``outcome`` and what :func:`moflow.cohort.make_cohort` reads.
    samples_path, omics_path : str
        Name the sheets in messages.
    min_class_size : int
        Passed to :func:`moflow.inputs.check_samples_sheet` (fewest training samples per class).

    Returns
    -------
    Cohort
        The cohort (:func:`moflow.cohort.make_cohort`).
    """
    sheet = check_samples_sheet(
        raw_samples,
        path=samples_path,
        outcome=settings.outcome.column,
        min_class_size=min_class_size,
        outcome_type=settings.outcome.type,
        time_column=settings.outcome.time,
        event_column=settings.outcome.event,
        missing=settings.outcome.missing,
        test_column=settings.evaluation.test_column,
        test_value=settings.evaluation.test_value,
    )
    omics = check_omics_sheet(raw_omics, path=omics_path, samples=sheet, samples_path=samples_path)
    return make_cohort(sheet, omics, settings)
