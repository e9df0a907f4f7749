"""Shared helpers of the real-data tests: where ../shared/data is, and a clean skip where it is not.

Use the ``shared_data`` fixture (the folder, or a skip) or ``dataset_dir`` (a callable: one dataset's
folder, or a skip). Tests here are marked ``realdata`` (the marker is registered in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: ../shared/data, seen from the repository root (tests/realdata/conftest.py -> parents[2] is the root)
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def require_dataset(name: str) -> Path:
    """The folder of one dataset under ../shared/data, or skip the calling test where it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name} not found at {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not found")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dataset_dir():
    """``dataset_dir("mtbls79_dims_metabolomics")``: that dataset's folder, or a skip."""
    return require_dataset


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """One BLAS thread: the real-data tests run many small SVDs, which oversubscribed threads slow down
    badly on a busy 2-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
