"""Fixtures of the report and quality tests: the sample days run once per session in a database of their own."""

from __future__ import annotations

import pytest

from tests.reports.sample_run import SampleRun, sample_run


@pytest.fixture(scope="session")
def sample(pg_target, tmp_path_factory) -> SampleRun:
    return sample_run(pg_target, tmp_path_factory.mktemp("sample"))
