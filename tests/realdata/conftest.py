"""Shared helpers of the real-data tests: where ../shared/data is, and a clean skip where it is not.

Use the ``shared_data`` fixture (the folder, or a skip) or ``dataset_dir`` (a callable: one dataset's
folder, or a skip). Tests here are marked ``realdata`` (the marker is registered in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from realdata_helpers import SHARED_DATA, require_dataset


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
