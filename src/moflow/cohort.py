"""The cohort: sample sheet, outcome and its task, and which samples train, are tested or are QC.

Also the MOFA groups, the subjects of group-aware splits, the covariates tested against factors,
the CV splits grouped into jobs, and :func:`survival_times` (the times a survival outcome is
scored at, from config and the training samples).

Light on purpose (pandas only): the Snakefile imports it at every job start.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from moflow.errors import ConfigError, DataError
from moflow.settings import Settings, reads

NA_VALUES = ("", "nan", "NA", "NaN", "None")


def _by_sample(sheet: pd.DataFrame) -> pd.DataFrame:
    return sheet.set_index("sample", drop=False) if sheet.index.name != "sample" else sheet


@reads("outcome")
def outcome_columns(settings: Settings) -> list[str]:
    """The sample-sheet columns that make the outcome: its column, or a survival outcome's time and event."""
    o = settings.outcome
    if o.type == "none":
        return []
    return [o.time, o.event] if o.type == "survival" else [o.column]


@reads("outcome")
def has_outcome(settings: Settings) -> bool:
    """Whether the config names an outcome (``outcome: type`` is not ``none``, and the section is given)."""
    return settings.outcome.type != "none"


@reads("outcome", "subtypes")
def runs_subtypes(settings: Settings) -> bool:
    """Whether subtype discovery runs: ``subtypes: enabled``, or, where it is null, where there is no outcome."""
    enabled = settings.subtypes.enabled
    return (not has_outcome(settings)) if enabled is None else bool(enabled)


@reads(uses=[outcome_columns])
def sample_info(sheet: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The sample sheet without the outcome: what preprocessing steps may know about every sample."""
    return _by_sample(sheet.drop(columns=outcome_columns(settings), errors="ignore"))


@reads("outcome")
def outcome_task(y, settings: Settings) -> str:
    """The task of the outcome ``y``: classification, regression or survival.

    From config outcome.type (auto: continuous when every value is numeric and there are more than
    10 distinct values).

    Parameters
    ----------
    y : pandas.Series
        The outcome values (read only for outcome.type auto).
    settings : Settings
        Read: ``outcome``.

    Returns
    -------
    str
        ``"classification"``, ``"regression"`` or ``"survival"``.
    """
    kind = settings.outcome.type
    if kind in ("survival", "none"):
        return kind
    if kind in ("binary", "multiclass"):
        return "classification"
    if kind == "continuous":
        return "regression"
    num = pd.to_numeric(pd.Series(y).dropna(), errors="coerce")  # new patients (no outcome) do not count
    return "regression" if num.notna().all() and num.nunique() > 10 else "classification"


@reads("outcome", "evaluation")
def outcome(sheet: pd.DataFrame, settings: Settings, *, path: str = "the sample sheet"):
    """The outcome of the cohort samples (QC injections and blanks excluded).

    External test samples without an outcome (:func:`external_samples_without_outcome`: new patients,
    predicted and never scored) are missing values (NaN) in it.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The checked sample sheet.
    settings : Settings
        Read: ``outcome``.
    path : str
        Names the sheet in error messages.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Strings for classes, floats for a continuous outcome (a continuous outcome with a non-numeric
        value raises ``ConfigError``); for a survival outcome a frame with columns ``time`` (float) and
        ``event`` (1.0: the event was seen, 0.0: censored). Indexed by sample.
    """
    if settings.outcome.type == "none":
        return None
    s = _by_sample(sheet)
    s = s[s["sample_type"] == "sample"]
    new = s.index.isin(external_samples_without_outcome(sheet, settings))
    if settings.outcome.type == "survival":
        from moflow.inputs import parse_event, parse_time

        o = settings.outcome
        known = s[~new]
        y = pd.DataFrame(
            {
                "time": parse_time(known[o.time], path=path, column=o.time),
                "event": parse_event(known[o.event], path=path, column=o.event).astype(float),
            },
            index=known.index,
        )
        y = y.reindex(s.index) if new.any() else y
        y.index.name = None
        return y
    column = settings.outcome.column
    y = s[column].astype(str).str.strip()
    y.name = "outcome"
    if new.any():
        y = y.mask(new)
    if outcome_task(y, settings) == "regression":
        num = pd.to_numeric(y, errors="coerce")
        if (num.isna() & ~new).any():
            bad = num.index[num.isna() & ~new][0]
            raise ConfigError(
                f"outcome '{column}' is declared continuous but sample '{bad}' has the value "
                f"'{y[bad]}'. Fix the value or declare the outcome type binary/multiclass."
            )
        y = num.astype(float)
        y.name = "outcome"
    return y


@reads("outcome")
def positive_class(y: pd.Series, settings: Settings, *, path: str = "the sample sheet") -> str | None:
    """The class of a binary outcome that signed tables (coefficients, their enrichment) point to.

    Config ``outcome: positive``, else the second class in sorted order. None for other outcomes.

    Raises ConfigError when ``positive`` names no class of a binary outcome.

    Parameters
    ----------
    y : pandas.Series
        The outcome (:func:`outcome`).
    settings : Settings
        Read: ``outcome``.
    path : str
        Names the sheet in the error message.

    Returns
    -------
    str or None
        The positive class; None unless the outcome has exactly two classes.
    """
    if outcome_task(y, settings) != "classification":
        return None
    classes = sorted(pd.Series(y).dropna().astype(str).unique())  # new patients (no outcome) are no class
    if len(classes) != 2:
        return None
    wanted = settings.outcome.positive
    if wanted is None or str(wanted).strip() == "":
        return classes[1]
    wanted = str(wanted).strip()
    if wanted not in classes:
        column = settings.outcome.column
        raise ConfigError(
            f"config 'outcome: positive' is '{wanted}', but outcome column '{column}' of {path} has the "
            f"classes '{classes[0]}' and '{classes[1]}'. Set 'positive' to one of them (or remove it)."
        )
    return wanted


def orient_coefficients(table: pd.DataFrame, positive: str | None) -> pd.DataFrame:
    """A binary model's coefficient table signed towards the ``positive`` class.

    scikit-learn's binary linear models give one column, for the second class in sorted order; when
    ``positive`` is the other class the column is negated and renamed, so that a positive coefficient
    (and a positive NES of its enrichment) always means "higher in the positive class". Tables of
    other outcomes (several class columns, ``coefficient``, ``importance``) are returned unchanged.
    """
    if positive is None:
        return table
    value_cols = [c for c in table.columns if c not in ("layer", "source", "feature", "structure_r")]
    if len(value_cols) != 1 or value_cols[0] in ("coefficient", "log_hazard_ratio", "importance", positive):
        return table
    out = table.copy()
    for col in (value_cols[0], "structure_r"):  # a structure coefficient follows the coefficients' sign
        if col in out.columns:
            out[col] = -out[col].astype(float)
    return out.rename(columns={value_cols[0]: positive})


@reads("evaluation")
def external_test_samples(sheet: pd.DataFrame, settings: Settings) -> list[str]:
    """Samples marked as external test in the sheet (config evaluation.test_column / test_value)."""
    col = settings.evaluation.test_column
    if not col:
        return []
    if col not in sheet.columns:
        raise ConfigError(f"config 'evaluation: test_column' names '{col}', which is not a sample-sheet column.")
    s = sheet[sheet["sample_type"] == "sample"]
    return list(s.loc[s[col].astype(str).str.strip() == str(settings.evaluation.test_value), "sample"])


@reads("outcome", "evaluation", uses=[external_test_samples, outcome_columns])
def external_samples_without_outcome(sheet: pd.DataFrame, settings: Settings) -> list[str]:
    """External test samples without an outcome: new patients, predicted by the final model, never scored.

    An external test sample (:func:`external_test_samples`) whose outcome cell is empty or a missing-value
    token (survival: its time or its event) is a new patient: the split ``final`` predicts it with the
    models fit on every training sample, the predictions table holds it with an empty outcome, and the
    external scores leave it out. (A training sample without an outcome needs config
    ``outcome: missing: exclude``.)

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sample sheet.
    settings : Settings
        Read: ``outcome``, ``evaluation``.

    Returns
    -------
    list of str
        The sample IDs, in sheet order.
    """
    from moflow.wording import NA_TOKENS

    test = external_test_samples(sheet, settings)
    if not test:
        return []
    columns = [c for c in outcome_columns(settings) if c in sheet.columns]
    s = sheet[sheet["sample"].isin(test)]
    lacking = s[columns].apply(lambda c: c.astype(str).str.strip().str.lower().isin(NA_TOKENS)).any(axis=1)
    return list(s.loc[lacking.to_numpy(), "sample"])


@reads("evaluation", uses=[external_test_samples])
def split_groups(
    sheet: pd.DataFrame, settings: Settings, *, path: str = "the sample sheet", min_groups: int = 2
) -> pd.Series | None:
    """The subject of every cohort sample (config ``evaluation: group_column``; None where none is named).

    Samples of one subject stay on one side of every split. Stops (naming the file, the sample or the
    subject, and the fix) on a column that is not in the sheet, a cohort sample without a subject, a
    subject with samples on both sides of the external test split, or fewer subjects among the
    training samples than ``min_groups`` (the folds).

    Parameters
    ----------
    sheet : pandas.DataFrame
        The checked sample sheet.
    settings : Settings
        Read: ``evaluation``.
    path : str
        Names the sheet in error messages.
    min_groups : int
        Fewest subjects the training samples must have.

    Returns
    -------
    pandas.Series or None
        The subject (``group``) of each cohort sample, indexed by sample.
    """
    column = str(settings.evaluation.group_column or "").strip()
    if not column:
        return None
    if column not in sheet.columns:
        raise ConfigError(
            f"config 'evaluation: group_column' names '{column}', which is not a column of {path}; its "
            f"columns are {', '.join(map(str, sheet.columns))}. Name the column that identifies "
            "each sample's subject, or leave 'group_column' empty."
        )
    s = _by_sample(sheet)
    s = s[s["sample_type"] == "sample"]
    g = s[column].astype(str).str.strip()
    blank = g.index[g.isin(list(NA_VALUES))]
    if len(blank):
        raise DataError(
            f"{path}: sample '{blank[0]}' has no value in group column '{column}' (config 'evaluation: "
            f"group_column'; {len(blank)} such sample(s)). Fill in the subject each sample comes from "
            "(a sample of its own may get its own ID)."
        )
    test = set(external_test_samples(sheet, settings))
    if test:
        both = sorted(set(g[g.index.isin(test)]) & set(g[~g.index.isin(test)]))
        if both:
            a = [x for x in g.index[g == both[0]] if x in test][0]
            b = [x for x in g.index[g == both[0]] if x not in test][0]
            raise DataError(
                f"{path}: subject '{both[0]}' (column '{column}') has external test sample '{a}' and "
                f"training sample '{b}' ({len(both)} such subject(s)): the test set would share "
                "subjects with training. Put all samples of a subject on one side of "
                f"'{settings.evaluation.test_column}'."
            )
    n = g[~g.index.isin(test)].nunique()
    if n < min_groups:
        raise DataError(
            f"{path}: {n} subject(s) in group column '{column}' among the training samples, fewer than "
            f"the {min_groups} cross-validation folds. Lower 'evaluation: folds' or check the column."
        )
    return g.rename("group")


@reads(uses=[external_test_samples])
def training_samples(sheet: pd.DataFrame, settings: Settings) -> list[str]:
    """The cohort samples (sample_type ``sample``) that are not external test samples, in sheet order."""
    test = set(external_test_samples(sheet, settings))
    return [s for s in sheet.loc[sheet["sample_type"] == "sample", "sample"] if s not in test]


def qc_samples(sheet: pd.DataFrame) -> list[str]:
    """The QC injections of the sheet (sample_type ``qc``), in sheet order."""
    return list(sheet.loc[sheet["sample_type"] == "qc", "sample"])


@reads("integration")
def mofa_groups(sheet: pd.DataFrame, settings: Settings, *, path: str = "the sample sheet") -> pd.Series | None:
    """MOFA+ groups of the cohort samples, from the sheet column of config ``integration: mofa: groups``.

    None where no column is named. Blank cells are missing (MOFA then stops and names the samples).

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sample sheet.
    settings : Settings
        Read: ``integration``.
    path : str
        Names the sheet in the error message.

    Returns
    -------
    pandas.Series or None
        The group (``group``) of each cohort sample, indexed by sample.
    """
    column = str(settings.integration.mofa.groups or "").strip()
    if not column:
        return None
    if column not in sheet.columns:
        raise ConfigError(
            f"config 'integration: mofa: groups' names the column '{column}', which is not in {path}; "
            f"its columns are {', '.join(map(str, sheet.columns))}. Add it or leave 'groups' empty."
        )
    s = _by_sample(sheet)
    s = s[s["sample_type"] == "sample"] if "sample_type" in s.columns else s
    g = s[column].astype(str).str.strip()
    return g.mask(g.isin(list(NA_VALUES))).rename("group")


@reads("outcome", "evaluation", uses=[outcome_columns])
def covariate_table(sheet: pd.DataFrame, settings: Settings, samples: list[str]) -> pd.DataFrame:
    """Every sample-sheet column worth testing against factors: the outcome first, then the others.

    IDs, sample type and the external-test marker are left out, and so are columns with fewer than two
    distinct values among ``samples`` (a survival outcome's columns too: it gets Cox tests instead).

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sample sheet.
    settings : Settings
        Read: ``outcome``, ``evaluation``.
    samples : list of str
        The rows to return, in this order.

    Returns
    -------
    pandas.DataFrame
        Samples x columns.
    """
    outs = outcome_columns(settings)
    out_col = [] if settings.outcome.type == "survival" else outs  # survival: Cox tests, not columns
    skip = {"sample", "sample_type", *outs, settings.evaluation.test_column or ""}
    cols = out_col + [c for c in sheet.columns if c not in skip]
    tab = _by_sample(sheet).loc[samples, cols]
    return tab.loc[:, [c for c in cols if tab[c].astype(str).str.strip().replace("", pd.NA).nunique() > 1]]


def gene_layers(omics: pd.DataFrame) -> list[str]:
    """Layers whose features are gene symbols (omics sheet column gene_ids)."""
    if "gene_ids" not in omics.columns:
        return []
    return list(omics.loc[omics["gene_ids"].str.strip() == "symbol", "layer"])


def align_layers(layers: dict[str, pd.DataFrame], samples: list[str]) -> dict[str, pd.DataFrame]:
    """Every layer on one sample index (a sample lacking a layer gets a row of missing values)."""
    return {n: X.reindex(samples) for n, X in layers.items()}


@dataclass(frozen=True)
class Cohort:
    """What every stage knows of the cohort (built by :func:`make_cohort`).

    The checked sheets (``info``: the sample sheet without the outcome, all preprocessing may know),
    the outcome and its task, the training samples (every cohort sample but the external test ones),
    the external test samples and the QC injections.

    Attributes
    ----------
    sheet, omics : pandas.DataFrame
        The checked sample sheet (indexed by sample) and omics sheet.
    info : pandas.DataFrame
        The sample sheet without the outcome (:func:`sample_info`).
    y : pandas.Series or pandas.DataFrame or None
        The outcome (:func:`outcome`); a frame (time, event) for a survival outcome; None without one.
    task : str
        ``classification``, ``regression``, ``survival`` or ``none`` (no outcome: discovery only).
    train, test, qc : list of str
        Training samples, external test samples and QC injections.
    """

    sheet: pd.DataFrame
    omics: pd.DataFrame
    info: pd.DataFrame
    y: pd.Series | pd.DataFrame  # a frame (time, event) for a survival outcome
    task: str
    train: list
    test: list
    qc: list

    @property
    def samples(self) -> list:
        """Every cohort sample, training and external test (the outcome's index where there is one)."""
        return list(self.y.index) if self.y is not None else [*self.train, *self.test]


@reads(uses=[outcome, outcome_task, training_samples, external_test_samples, sample_info])
def make_cohort(sheet: pd.DataFrame, omics: pd.DataFrame, settings: Settings) -> Cohort:
    """The cohort from the checked sample and omics sheets.

    Parameters
    ----------
    sheet, omics : pandas.DataFrame
        The checked sample and omics sheets.
    settings : Settings
        Read: ``outcome``, ``evaluation``.

    Returns
    -------
    Cohort
        Its ``train`` holds the training samples found in the outcome's index.
    """
    y = outcome(sheet, settings)
    train = training_samples(sheet, settings)
    return Cohort(
        sheet=_by_sample(sheet),
        omics=omics,
        info=sample_info(sheet, settings),
        y=y,
        task=outcome_task(y, settings),
        train=train if y is None else [s for s in train if s in y.index],
        test=external_test_samples(sheet, settings),
        qc=qc_samples(sheet),
    )


def split_jobs(splits: list[str], per_job: int) -> dict[str, list[str]]:
    """The CV splits grouped into jobs of ``per_job`` (``evaluation: splits_per_job``).

    In order; the last job may hold fewer: {"part1": [...], "part2": [...], ...}.
    """
    per_job = max(1, int(per_job))
    return {f"part{i // per_job + 1}": list(splits[i : i + per_job]) for i in range(0, len(splits), per_job)}


@reads("evaluation")
def survival_times(cohort: Cohort, settings: Settings):
    """(AUC times, integrated-Brier grid) of a cohort's survival outcome, from config and its training samples.

    :func:`moflow.evaluate.metrics.evaluation_times` of the training samples' outcome and config
    ``evaluation: survival_times`` (imported when called: this module stays light).

    Parameters
    ----------
    cohort : Cohort
        A cohort (:func:`make_cohort`) of a survival outcome.
    settings : Settings
        Read: ``evaluation``.

    Returns
    -------
    tuple of numpy.ndarray
        (AUC times, integrated Brier grid).
    """
    from moflow.evaluate import evaluation_times

    return evaluation_times(cohort.y.loc[cohort.train], settings.evaluation.survival_times)
