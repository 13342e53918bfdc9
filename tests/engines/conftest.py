"""Fixtures the engine tests share."""

from __future__ import annotations

import pytest

from tests.engines.data import write_parts


@pytest.fixture(scope="module")
def parts(frame, tmp_path_factory):
    """The test module's ``frame`` written as three Parquet files."""
    folder = tmp_path_factory.mktemp("parts")
    write_parts(frame, folder, parts=3)
    return folder
