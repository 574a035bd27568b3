"""Transient database errors are retried with backoff, other errors are not; a `financeops run` killed with
SIGKILL mid-way and started again ends with exactly what a clean run stores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from financeops_pipeline.orchestration.definitions import defs
from financeops_pipeline.orchestration.partitions import tenant_day_key
from tests.conftest import SAMPLES, query

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
IMPORT = dg.AssetKey(["imports", "internal_records"])


@pytest.fixture
def env(db_url, tmp_path, monkeypatch) -> str:
    for key, value in {"FINANCEOPS_DB_URL": db_url, "FINANCEOPS_DATA_DIR": str(SAMPLES),
                       "FINANCEOPS_ARCHIVE_DIR": str(tmp_path / "archive"), "FINANCEOPS_TENANTS": ""}.items():
        monkeypatch.setenv(key, value)
    return db_url


def _import_day(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("daily_close").execute_in_process(
        instance=instance, partition_key=tenant_day_key("2026-11-02", "acme"), asset_selection=[IMPORT],
        run_config=QUIET, raise_on_error=False)


def _retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in result.all_events)


def test_a_lock_timeout_is_retried_with_backoff_until_it_succeeds(env, pg_target):
    db_url = env
    dbname = query(db_url, "SELECT current_database()")[0][0]
    with psycopg.connect(pg_target.admin_url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {dbname} SET lock_timeout = '200ms'")   # new sessions give up quickly
    # another session holds the imports table until the import's first attempt has given up (lock_timeout)
    # and Dagster has put the step up for retry
    locked = threading.Event()
    with dg.instance_for_test() as instance:
        def hold() -> None:
            retried = dg.EventRecordsFilter(event_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
            with psycopg.connect(db_url) as conn:
                conn.execute("LOCK TABLE imports.internal_transactions IN ACCESS EXCLUSIVE MODE")
                locked.set()
                deadline = time.monotonic() + 120
                while not instance.get_event_records(retried, limit=1) and time.monotonic() < deadline:
                    time.sleep(0.05)

        holder = threading.Thread(target=hold)
        holder.start()
        locked.wait(10)
        result = _import_day(instance)
    holder.join()
    assert result.success
    assert _retries(result) >= 1
    assert query(db_url, "SELECT count(*) FROM imports.internal_transactions WHERE tenant = 'acme'") == [(8,)]
    assert query(db_url, "SELECT count(*) FROM imports.files WHERE tenant = 'acme' AND source = 'internal'") == [(1,)]


def test_a_non_transient_error_fails_at_once(env):
    db_url = env
    # the tenant role may no longer write the table: a permission error does not get better by waiting
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("REVOKE INSERT ON imports.files FROM financeops_tenant")
    with dg.instance_for_test() as instance:
        result = _import_day(instance)
    assert not result.success and _retries(result) == 0
    failure = result.get_step_failure_events()[0].step_failure_data
    assert "InsufficientPrivilege" in failure.user_failure_data.description


def _ledger_snapshot(db_url: str) -> dict[str, object]:
    """What must be equal to a clean run's: entries by key, postings by entry key, totals, imports, recon."""
    return {
        "entries": query(db_url, "SELECT tenant, idempotency_key, business_date, rule_id FROM ledger.journal_entries"
                                 " ORDER BY 1, 2"),
        "postings": query(db_url, "SELECT e.tenant, e.idempotency_key, p.account_code, p.currency, p.amount_minor"
                                  " FROM ledger.postings p JOIN ledger.journal_entries e USING (entry_id)"
                                  " ORDER BY 1, 2, 3, 4, 5"),
        "totals": query(db_url, "SELECT tenant, currency, count(*), sum(abs(amount_minor)) FROM ledger.postings"
                                " GROUP BY 1, 2 ORDER BY 1, 2"),
        "balances": query(db_url, "SELECT tenant, business_date, account_code, currency, balance_minor"
                                  " FROM ledger.daily_balances ORDER BY 1, 2, 3, 4"),
        "files": query(db_url, "SELECT tenant, sha256, status, records_loaded FROM imports.files ORDER BY 1, 2"),
        "records": query(db_url, "SELECT (SELECT count(*) FROM imports.internal_transactions),"
                                 " (SELECT count(*) FROM imports.processor_lines),"
                                 " (SELECT count(*) FROM imports.bank_lines)"),
        "recon": query(db_url, "SELECT tenant, business_date, source, source_ref, status FROM recon.item_status"
                               " ORDER BY 1, 2, 3, 4, 5"),   # a record delivered twice has one row per delivery
    }


def _financeops_run(db_url: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "FINANCEOPS_HOME": str(home), "FINANCEOPS_DATA_DIR": str(SAMPLES),
           "FINANCEOPS_TENANTS": ""}   # DATABASE_URL: the session's server, so the child starts none
    cli = Path(sys.executable).with_name("financeops")
    return subprocess.Popen([str(cli), "run", "--date", "2026-11-02", "--to", "2026-11-04"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_run_killed_mid_way_and_started_again_loses_and_doubles_nothing(closed_days, db_url, tmp_path):
    # the clean reference: `financeops run` over the same days on a fresh database (the session's closed_days)
    reference = _ledger_snapshot(closed_days.url)
    started: list[subprocess.Popen] = []
    try:
        killed = _financeops_run(db_url, tmp_path / "killed")
        started.append(killed)
        deadline = time.monotonic() + 300
        # kill as soon as the ledger starts filling: imports done, posting under way, the rest not yet
        while not query(db_url, "SELECT count(*) FROM ledger.journal_entries")[0][0]:
            assert killed.poll() is None and time.monotonic() < deadline, killed.stdout.read()
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert _ledger_snapshot(db_url) != reference   # it did stop mid-way

        again = _financeops_run(db_url, tmp_path / "killed")
        started.append(again)
        out, _ = again.communicate(timeout=600)
        assert again.returncode == 0, out
        recovered = _ledger_snapshot(db_url)
        assert recovered == reference, [k for k in reference if recovered[k] != reference[k]]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(30)
