"""Reports and posting use separate pools: reports saturating theirs cannot take posting's connections."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from financeops_pipeline.db import pools
from financeops_pipeline.db.pools import tenant_session
from tests.conftest import query


@pytest.fixture
def small_pools(monkeypatch):
    monkeypatch.setenv("FINANCEOPS_REPORTS_POOL_SIZE", "2")
    monkeypatch.setenv("FINANCEOPS_POSTING_POOL_SIZE", "2")
    monkeypatch.setenv("FINANCEOPS_POOL_WAIT_SECONDS", "1")
    monkeypatch.setenv("FINANCEOPS_REPORT_STATEMENT_TIMEOUT", "3s")
    yield
    pools.close_pools()


def test_long_reports_do_not_starve_posting(db_url, small_pools):
    release = threading.Event()
    started = threading.Barrier(3, timeout=30)   # a report thread that dies fails the test, not hangs it

    def long_report() -> None:
        with tenant_session(db_url, "acme", "reports") as conn:
            started.wait()
            conn.execute("SELECT pg_sleep(2)")
            release.wait(5)

    reports = [threading.Thread(target=long_report) for _ in range(2)]
    for t in reports:
        t.start()
    started.wait()
    try:
        # A third report waits for its own pool and gives up; it never borrows a posting connection.
        with pytest.raises(PoolTimeout), tenant_session(db_url, "acme", "reports"):
            pass
        # Posting proceeds meanwhile on its own pool, as the tenant, and commits.
        with tenant_session(db_url, "acme", "posting") as conn:
            conn.execute("INSERT INTO ledger.accounts (tenant, account_code, name, account_type, normal_balance)"
                         " VALUES ('acme', 'asset:pool_test', 'pool test', 'asset', 'debit')")
            conn.commit()
        busy = query(db_url, "SELECT application_name, count(*) FROM pg_stat_activity"
                             " WHERE datname = current_database() AND application_name LIKE 'financeops-%%'"
                             " GROUP BY 1")
        assert dict(busy)["financeops-reports"] == 2
    finally:
        release.set()
        for t in reports:
            t.join()
    assert query(db_url, "SELECT count(*) FROM ledger.accounts WHERE account_code = 'asset:pool_test'") == [(1,)]


def test_report_statement_timeout_and_role_reset(db_url, small_pools):
    with tenant_session(db_url, "acme", "reports") as conn, pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(10)")
    began = time.perf_counter()
    with tenant_session(db_url, "globex", "reports") as conn:
        assert time.perf_counter() - began < 5
        # the same pooled connection served acme before: now it is globex's role, with acme's rows invisible
        assert conn.execute("SELECT current_user").fetchone()[0] == "financeops_t_globex"
        conn.execute("SET work_mem = '64MB'")
    with tenant_session(db_url, "acme", "reports") as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "financeops_t_acme"
        assert conn.execute("SHOW work_mem").fetchone()[0] != "64MB"   # session settings reset between borrowers
