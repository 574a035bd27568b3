"""A real Dagster deployment for the UI tests: `dagster-webserver` (and `dagster-daemon` where a test needs it)
as subprocesses on loopback, with the project's instance (deploy/dagster.yaml: runs, event log and schedules in
Postgres) on the test session's embedded server and the code location pointed at a fresh test database.

Every subprocess starts its own session, so stopping it signals the whole process group: the code servers
(`dagster api grpc`) the webserver and daemon spawn, and any run workers, go with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT, SAMPLES
from tests.webserver.processes import dagster_process, free_port, log_tail

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 180

LOCATIONS = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


@dataclass
class DagsterStack:
    """A running webserver: its URL, the environment of its processes, and the test's application database."""

    url: str
    env: dict[str, str]
    app_db_url: str
    log_dir: Path

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        """POST one GraphQL document to /graphql, as the UI does; raise on transport or GraphQL errors."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    @contextlib.contextmanager
    def daemon(self) -> Iterator[subprocess.Popen]:
        """`dagster-daemon run`: the backfill loop and the run queue (deploy/dagster.yaml queues runs)."""
        log = self.log_dir / "daemon.log"
        with dagster_process([str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
                             self.env, log) as proc:
            yield proc


def _wait_until_loaded(stack: DagsterStack, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "not answering"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n{log_tail(log)}")
        try:
            data = stack.graphql(LOCATIONS, timeout=10)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = repr(exc)
        else:
            entries = data["workspaceOrError"].get("locationEntries") or []
            for entry in entries:
                error = entry.get("locationOrLoadError") or {}
                if error.get("__typename") == "PythonError":
                    pytest.fail(f"code location {entry['name']} failed to load: {error['message']}")
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
            last = f"locations: {entries}"
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver not ready after {READY_TIMEOUT_S} s ({last}):\n{log_tail(log)}")


@pytest.fixture(scope="package")
def dagster_stack(pg_target, tmp_path_factory) -> Iterator[DagsterStack]:
    """The webserver on a free loopback port, its instance storage in a fresh `dagster` database, and the code
    location reading a fresh migrated application database (cloned from the session template)."""
    suffix = f"{os.getpid()}_{time.monotonic_ns()}"
    app_db, dagster_db = f"fo_ui_{suffix}", f"dagster_ui_{suffix}"
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {app_db} TEMPLATE fo_template")
        conn.execute(f"CREATE DATABASE {dagster_db}")

    base = tmp_path_factory.mktemp("dagster_stack")
    dagster_home = base / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")   # the project's instance
    app_url = pg_target.url(app_db)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_URL": pg_target.sqlalchemy_url(dagster_db),
        "DATABASE_URL": app_url,
        "FINANCEOPS_DB_URL": app_url,
        "FINANCEOPS_HOME": str(base / "home"),
        "FINANCEOPS_DATA_DIR": str(SAMPLES),
        "FINANCEOPS_ARCHIVE_DIR": str(base / "archive"),
        "FINANCEOPS_TENANTS": "",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    log = base / "webserver.log"
    try:
        with dagster_process([str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
                              "-w", str(ROOT / "workspace.yaml")], env, log) as proc:
            stack = DagsterStack(url=f"http://127.0.0.1:{port}", env=env, app_db_url=app_url, log_dir=base)
            _wait_until_loaded(stack, proc, log)
            yield stack
    finally:
        with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {app_db} WITH (FORCE)")
            conn.execute(f"DROP DATABASE IF EXISTS {dagster_db} WITH (FORCE)")
