"""Shared fixtures of the unit tests: one small simulated cohort and what is computed from it.

Everything here is session-scoped and must be treated as read-only by the tests (copy before
changing a frame).
"""

from __future__ import annotations

import warnings

import pytest
from unit_helpers import COHORT_SEED, SIM, make_info, make_outcome, make_preprocessors

from moflow.demo import simulate_cohort


@pytest.fixture(scope="session")
def cohort():
    return simulate_cohort(**SIM, seed=COHORT_SEED)


@pytest.fixture(scope="session")
def info(cohort):
    return make_info(cohort)


@pytest.fixture(scope="session")
def outcome(cohort):
    return make_outcome(cohort)


@pytest.fixture(scope="session")
def qc_ids(info):
    return info.index[info["sample_type"] == "qc"].tolist()


@pytest.fixture(scope="session")
def preprocessed(cohort, info, outcome):
    """Every layer preprocessed with its kind's defaults, fit on the whole cohort (plus QCs)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, pp in make_preprocessors(info).items():
            out[name] = pp.fit_transform(cohort.layers[name], outcome)
    return out


@pytest.fixture(scope="session")
def mofa_full(preprocessed):
    """MOFA with more factors than planted (4), fit on the whole preprocessed cohort."""
    from moflow.integrate import MOFA

    return MOFA(n_factors=6, seed=0).fit(preprocessed)


@pytest.fixture(scope="session")
def fold_ids(outcome):
    """One outer fold (3-fold stratified, seed 0): (train IDs, test IDs)."""
    from moflow.evaluate import make_splits

    splits = make_splits(outcome, folds=3, repeats=1, seed=0)
    d = splits[splits["split"] == "r1f1"]
    return d.loc[d["role"] == "train", "sample"].tolist(), d.loc[d["role"] == "test", "sample"].tolist()
