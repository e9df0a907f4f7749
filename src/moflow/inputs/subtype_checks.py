"""Start-up checks of a config without an outcome, and of the subtype stage's settings against the cohort."""

from __future__ import annotations

import logging

import pandas as pd

from moflow.errors import ConfigError
from moflow.wording import did_you_mean, listing

log = logging.getLogger("moflow")


def check_without_outcome(settings, *, source: str = "config", columns=()) -> None:
    """A config without an outcome asks for nothing that needs one.

    Clinical covariates (predictors of an outcome), leave-one-site-out evaluation and recalibration stop the
    run with the fix; the design stage and the evaluation are left out, said in the log. A sample-sheet column
    named ``outcome`` (among ``columns``), which the run will not predict, is pointed out in the log.
    """
    asked = []
    if settings.clinical.columns:
        asked.append(("clinical: columns", "clinical covariates are predictors of an outcome"))
    if str(settings.evaluation.site_column or "").strip():
        asked.append(("evaluation: site_column", "leaving one site out scores a predictor of an outcome"))
    if settings.evaluation.recalibration:
        asked.append(("evaluation: recalibration", "recalibration adjusts the predicted probabilities of an outcome"))
    if [m for m in settings.evaluation.augment if m != "none"]:
        asked.append(("evaluation: augment", "augmentation adds samples of an outcome's rarer classes"))
    if asked:
        raise ConfigError(
            "\n".join(
                f"{source}: '{key}' is set, but the config has no outcome (no 'outcome' section, or 'outcome: type: "
                f"none'): {why}. Remove '{key}', or name the outcome ('outcome: column: <column>')."
                for key, why in asked
            )
        )
    log.info(
        "no outcome: the run preprocesses, integrates with MOFA, finds subtypes and enriches them; the evaluation, "
        "the baselines, the model bundle and the design stage need an outcome and are left out"
    )
    if "outcome" in set(map(str, columns)):
        log.warning(
            "%s names no outcome, but the sample sheet has a column 'outcome': this run does not predict it. To "
            "predict it, add 'outcome: {column: outcome}' to the config.",
            source,
        )


def check_subtypes(
    settings,
    samples: pd.DataFrame,
    omics: pd.DataFrame,
    *,
    source: str = "config",
    samples_path: str = "the sample sheet",
) -> None:
    """The subtype stage can run on this cohort: enough samples, survival columns that exist.

    Fewer samples than ``k_max`` allows lowers it (said); a representation the cohort cannot build is left
    out (said); fewer than 8 samples, or a survival column that is not in the sheet, stop the run.
    """
    from moflow.subtypes.subtype_plan import MIN_SAMPLES, subtype_representations

    st = settings.subtypes
    cohort = samples.loc[samples["sample_type"] == "sample", "sample"]
    if len(cohort) < MIN_SAMPLES:
        raise ConfigError(
            f"{samples_path}: {len(cohort)} cohort samples are too few for subtype discovery: each half of a resample "
            f"must hold 2 groups of 2 samples, so {MIN_SAMPLES} at least are needed. Add samples, or set "
            "'subtypes: enabled: false'."
        )
    most = len(cohort) // 4
    if most < st.k_max:
        log.info(
            "subtypes: k_max %d lowered to %d: each half of %d samples must hold k groups of 2 at least",
            st.k_max,
            most,
            len(cohort),
        )
    _, left = subtype_representations(settings, list(omics["layer"]))
    for name, why in left.items():
        log.info("subtypes: representation %s: %s", name, why)
    for key in ("time", "event"):
        column = getattr(st, key)
        if column and column not in samples.columns:
            raise ConfigError(
                f"{source}: 'subtypes: {key}' names '{column}', which is not a column of {samples_path}."
                f"{did_you_mean(column, samples.columns)} Columns: {listing(samples.columns, 20)}."
            )
    if bool(st.time) != bool(st.event):
        raise ConfigError(
            f"{source}: 'subtypes: time' and 'subtypes: event' go together (the log-rank test needs both); name both "
            "columns or neither."
        )
