"""Test fixtures: one real embedded PostgreSQL 18 per session, a fresh migrated database per test."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
SHARED_SAMPLES = ROOT.parent / "shared" / "samples"

# Keep the developer's .financeops/ untouched: tests get their own home, and GX stays offline.
_HOME = Path(tempfile.mkdtemp(prefix="financeops-test-"))
os.environ["FINANCEOPS_HOME"] = str(_HOME)
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ.pop("DATABASE_URL", None)

_counter = itertools.count()

# pytest-xdist (`-n auto` in pyproject): every worker is its own process, so it has its own FINANCEOPS_HOME above,
# hence its own embedded server (data folder and socket), databases and session fixtures. The tests that share an
# expensive fixture go to one worker as a group (--dist loadgroup), so it is built once per run, not once per
# worker (xdist hands out the largest groups first, then the single tests to whichever worker is free).
XDIST_GROUPS = ("dagster_stack", "closed_days", "sample")   # by the fixture the tests use (directly or not)
MAX_WORKERS = 2   # each worker runs a server, the Dagster processes and the pipeline's own threads


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker per core, at most MAX_WORKERS (PYTEST_XDIST_AUTO_NUM_WORKERS overrides)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").isdigit():
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


@pytest.hookimpl(tryfirst=True)   # before xdist's own hook, which names the groups in the node ids
def pytest_collection_modifyitems(config, items) -> None:
    if not hasattr(config, "workerinput"):
        return   # not an xdist worker (-n 0, -p no:xdist): collection order as is

    for item in items:
        name = next((name for name in XDIST_GROUPS if name in item.fixturenames), None)
        if name:
            item.add_marker(pytest.mark.xdist_group(name))


@pytest.fixture(scope="session")
def pg_target():
    """The embedded server for the whole session (stopped at the end), with a migrated template database."""
    from financeops_pipeline.db.migrate import migrate
    from financeops_pipeline.db.server import postgres

    with postgres(_HOME) as target:
        with psycopg.connect(target.admin_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS fo_template")
            conn.execute("CREATE DATABASE fo_template")
        migrate(target.url("fo_template"))
        yield target
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def sample(pg_target, tmp_path_factory):
    """The whole graph run over the sample days once per session, in a database of its own (sample_run)."""
    from tests.reports.sample_run import sample_run

    return sample_run(pg_target, tmp_path_factory.mktemp("sample"))


SAMPLE_DAYS = ["--date", "2026-11-02", "--to", "2026-11-04"]
_CLOSED_DB = "fo_closed_days"


@dataclass(frozen=True)
class ClosedDays:
    """A database where `financeops run` closed the sample days, and that run's FINANCEOPS_HOME and output."""

    url: str
    home: Path      # the run's archive/ (record files, reconciliation states) and dagster_home/
    output: str     # what the command printed

    def env(self, url: str | None = None, home: Path | None = None) -> dict[str, str]:
        """The environment `financeops` reads, pointed at this run (or at a copy of it)."""
        return {"DATABASE_URL": url or self.url, "FINANCEOPS_HOME": str(home or self.home),
                "FINANCEOPS_DATA_DIR": str(SAMPLES), "FINANCEOPS_TENANTS": ""}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the block, then restore the whole environment as it was (the CLI's
    runtime() exports DAGSTER_HOME, FINANCEOPS_DB_URL ... of its own)."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def financeops_run(env: dict[str, str], args: list[str] = SAMPLE_DAYS):
    """`financeops run` in this process (click's runner), as a user types it; returns click's Result."""
    from click.testing import CliRunner

    from financeops_pipeline.cli import main

    with environment(env):
        return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


@pytest.fixture(scope="session")
def closed_days(pg_target, tmp_path_factory) -> ClosedDays:
    """`financeops run` over the three sample days, once per session, into a fresh migrated database of its own.
    The tests that only read what that command stores share it (test_daily_close, the SQL models, the clean
    reference of the kill-and-rerun test); a test that changes it works on copy_closed_days()."""
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_CLOSED_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {_CLOSED_DB} TEMPLATE fo_template")
    home = tmp_path_factory.mktemp("closed_days") / "home"
    run = ClosedDays(pg_target.url(_CLOSED_DB), home, "")
    result = financeops_run(run.env())
    assert result.exit_code == 0, result.output
    return ClosedDays(run.url, home, result.output)


@contextlib.contextmanager
def copy_closed_days(pg_target, closed: ClosedDays, tmp_path: Path) -> Iterator[ClosedDays]:
    """A scratch copy of the closed days: the database cloned, the home (archive) copied; dropped after."""
    from financeops_pipeline.db.pools import close_pools

    close_pools()   # a database with open sessions cannot be a template
    name = f"fo_closed_copy_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {_CLOSED_DB}")
    home = tmp_path / "closed_copy_home"
    shutil.copytree(closed.home, home)
    try:
        yield ClosedDays(pg_target.url(name), home, closed.output)
    finally:
        with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_url(pg_target) -> Iterator[str]:
    """A fresh, migrated database for one test (cloned from the template in milliseconds)."""
    name = f"fo_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE fo_template")
    yield pg_target.url(name)
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pipeline_env(pg_target, db_url, monkeypatch, tmp_path) -> dict[str, str]:
    """Environment the CLI and Dagster resources read, pointed at the test database (no server started)."""
    env = {
        "DATABASE_URL": db_url,
        "FINANCEOPS_HOME": str(tmp_path / "home"),
        "FINANCEOPS_DATA_DIR": str(SAMPLES),
        "FINANCEOPS_TENANTS": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def shared_sample_path(relative: str) -> Path:
    """A public sample in ../shared/samples (e.g. "bai2/moov__sample1.bai2"); skips, saying why, when absent."""
    path = SHARED_SAMPLES / relative
    if not path.is_file():
        pytest.skip(f"public sample {path} not available (shared/samples is not beside the repository)")
    return path


def shared_sample(relative: str) -> bytes:
    """The bytes of a public sample (see shared_sample_path)."""
    return shared_sample_path(relative).read_bytes()


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one query as the owner and return all rows."""
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


@contextlib.contextmanager
def database_at_release(pg_target, name: str, until: str) -> Iterator[str]:
    """A fresh database migrated only up to migration `until` (as a release before it left it), dropped after:
    the upgrade tests fill it with the old code's rows, then migrate it to the head."""
    from financeops_pipeline.db.migrate import migrate

    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_target.url(name)
    migrate(url, until=until)
    try:
        yield url
    finally:
        with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")

