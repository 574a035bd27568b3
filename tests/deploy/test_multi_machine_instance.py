"""The multi-machine instance (deploy/multi-machine/) loads as a real Dagster instance and the code location
validates against it: Postgres storage on the session's embedded server, the queued run coordinator with its
per-tenant limit (on the tag Dagster really puts on a tenant-day run), and the Kubernetes run launcher.

Outside a cluster the launcher cannot read in-cluster credentials, so the test's copy points it at a kubeconfig
file instead (a client configuration only: nothing connects to Kubernetes). Everything else is the file as shipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.conftest import ROOT, SAMPLES
from tests.webserver.processes import dagster_process, free_port, log_tail

pytest.importorskip("dagster_k8s", reason="the deploy extra is not installed: pip install -e '.[deploy]'")

import dagster as dg  # noqa: E402
from dagster._core.run_coordinator import QueuedRunCoordinator  # noqa: E402
from dagster_k8s import K8sRunLauncher  # noqa: E402

DEPLOY = ROOT / "deploy" / "multi-machine"
BIN = Path(sys.executable).parent
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: test, user: {token: not-a-secret}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
"""


@pytest.fixture
def instance_home(pg_target, tmp_path, monkeypatch) -> Iterator[tuple[Path, dict[str, str]]]:
    """DAGSTER_HOME holding the shipped dagster.yaml (launcher pointed at a kubeconfig), its storage a fresh db."""
    name = f"dagster_deploy_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    config["run_launcher"]["config"].update(load_incluster_config=False, kubeconfig_file=str(tmp_path / "kubeconfig"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": pg_target.sqlalchemy_url(name),
        "FINANCEOPS_K8S_NAMESPACE": "financeops",
        # what the code location reads when it loads (partitions) and what its resources read at run time
        "FINANCEOPS_DB_URL": pg_target.url(name),
        "FINANCEOPS_DATA_DIR": str(SAMPLES),
        "FINANCEOPS_ARCHIVE_DIR": str(tmp_path / "archive"),
        "FINANCEOPS_TENANTS": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield home, env
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_shipped_config_only_differs_by_the_kubeconfig(instance_home):
    home, _ = instance_home
    shipped = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    tested = yaml.safe_load((home / "dagster.yaml").read_text())
    assert shipped["run_launcher"]["config"]["load_incluster_config"] is True
    for config in (shipped, tested):
        for key in ("load_incluster_config", "kubeconfig_file"):
            config["run_launcher"]["config"].pop(key, None)
    assert shipped == tested


def test_multi_machine_instance_loads_with_postgres_queue_and_k8s_launcher(instance_home):
    home, _ = instance_home
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert instance.get_runs() == []   # the schema was created in the shared database, and reads work

        launcher = instance.run_launcher
        assert isinstance(launcher, K8sRunLauncher)
        assert launcher.job_namespace == "financeops"   # from FINANCEOPS_K8S_NAMESPACE
        assert instance.run_monitoring_enabled and instance.run_retries_enabled

        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        tenant_limit = next(lim for lim in limits if lim["key"].endswith("/tenant"))
        assert tenant_limit["limit"] == 1 and tenant_limit["value"] == {"applyLimitPerUniqueValue": True}

        # The limit's tag is one Dagster really sets on a tenant-day run of the code location's daily job.
        from financeops_pipeline.orchestration.definitions import defs

        job = defs.resolve_job_def("daily_close")
        partitions = job.partitions_def
        assert partitions is not None
        first_key = partitions.get_first_partition_key()
        tags = partitions.get_tags_for_partition_key(first_key)
        assert tenant_limit["key"] in tags, (tenant_limit["key"], tags)


def test_definitions_validate_and_instance_info_accept_the_multi_machine_instance(instance_home):
    _, env = instance_home
    full_env = {**os.environ, **env}
    validate = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "financeops_pipeline.orchestration.definitions"],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)
    assert validate.returncode == 0, validate.stdout[-3000:] + validate.stderr[-3000:]
    assert "Validation successful" in validate.stdout + validate.stderr

    info = subprocess.run([str(BIN / "dagster"), "instance", "info"], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr[-3000:]
    # `instance info` shows the storages (the launcher and coordinator are checked in-process above).
    assert "run_storage: PostgresRunStorage" in info.stdout, info.stdout
    assert "event_log_storage: PostgresEventLogStorage" in info.stdout, info.stdout


def test_the_webserver_and_daemon_workspace_reaches_a_separate_code_server(instance_home, tmp_path):
    """deploy/multi-machine/workspace.yaml with its host and port pointed at a `dagster code-server` started here
    the way the code server Deployment starts it: the code location loads over gRPC and validates."""
    _, env = instance_home
    full_env = {**os.environ, **env}
    port = free_port()
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    entry["grpc_server"].update(host="127.0.0.1", port=port)
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    log = tmp_path / "code-server.log"
    with dagster_process([str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(port),
                          "-m", "financeops_pipeline.orchestration.definitions"], full_env, log) as server:
        deadline = time.monotonic() + 120
        while True:   # the gRPC server answers once it has loaded the definitions
            ping = subprocess.run([str(BIN / "dagster"), "api", "grpc-health-check", "-h", "127.0.0.1",
                                   "-p", str(port)], env=full_env, capture_output=True, text=True, timeout=60)
            if ping.returncode == 0:
                break
            assert server.poll() is None and time.monotonic() < deadline, log_tail(log)
            time.sleep(1)
        validate = subprocess.run(
            [str(BIN / "dagster"), "definitions", "validate", "-w", str(tmp_path / "workspace.yaml")],
            cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)
    out = validate.stdout + validate.stderr
    assert validate.returncode == 0, out[-3000:] + log_tail(log)
    assert "Validation successful for code location financeops" in out, out[-3000:]
