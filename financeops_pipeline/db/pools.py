"""Connection pools per workload, so a long report can never take the connections posting needs.

`posting` serves imports, posting and reconciliation; `reports` serves the report builds and the report CLI.
Each pool has its own size cap (the server's connections it may hold at once), its own wait timeout and,
for reports, a statement timeout. A tenant session borrows a pooled connection, registers the tenant, and
switches to the tenant's role (row-level security); the pool resets the role before anyone else borrows it.

Sizes and timeouts come from the environment only:
FINANCEOPS_POSTING_POOL_SIZE (4), FINANCEOPS_REPORTS_POOL_SIZE (2), FINANCEOPS_POOL_WAIT_SECONDS (60),
FINANCEOPS_REPORT_STATEMENT_TIMEOUT (5min, a Postgres interval).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from financeops_pipeline.landing import validate_tenant

WORKLOADS = ("posting", "reports")


@dataclass(frozen=True)
class PoolSettings:
    max_size: int
    wait_seconds: float
    statement_timeout: str   # Postgres setting text; "0" = none


def pool_settings(workload: str) -> PoolSettings:
    """The workload's limits, read from the environment when its pool is first opened."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; expected one of {', '.join(WORKLOADS)}")
    wait = float(os.environ.get("FINANCEOPS_POOL_WAIT_SECONDS", "60"))
    if workload == "reports":
        return PoolSettings(int(os.environ.get("FINANCEOPS_REPORTS_POOL_SIZE", "2")), wait,
                            os.environ.get("FINANCEOPS_REPORT_STATEMENT_TIMEOUT", "5min"))
    return PoolSettings(int(os.environ.get("FINANCEOPS_POSTING_POOL_SIZE", "4")), wait, "0")


_pools: dict[tuple[str, str], ConnectionPool] = {}
_lock = threading.Lock()


def _reset(conn: psycopg.Connection) -> None:
    conn.execute("RESET ROLE")
    conn.execute("RESET ALL")
    conn.execute("DISCARD TEMP")   # temp tables (COPY stages) belong to the last tenant's role
    conn.commit()   # a reset that leaves a transaction open makes the pool discard the connection


def pool(conninfo: str, workload: str) -> ConnectionPool:
    """The process's pool for this server and workload (opened on first use, closed at exit)."""
    key = (conninfo, workload)
    with _lock:
        if key not in _pools:
            settings = pool_settings(workload)
            _pools[key] = ConnectionPool(
                conninfo, min_size=0, max_size=settings.max_size, timeout=settings.wait_seconds,
                kwargs={"application_name": f"financeops-{workload}", "autocommit": False,
                        "options": f"-c statement_timeout={settings.statement_timeout}"},
                reset=_reset, name=f"financeops-{workload}", open=True,
            )
        return _pools[key]


@atexit.register
def close_pools() -> None:
    """Close every pool of this process (their connections end with it)."""
    with _lock:
        for opened in _pools.values():
            opened.close()
        _pools.clear()


@contextmanager
def tenant_session(conninfo: str, tenant: str, workload: str = "posting") -> Iterator[psycopg.Connection]:
    """A pooled connection running as the tenant's role: it reads and writes that tenant's rows only."""
    validate_tenant(tenant)
    with pool(conninfo, workload).connection() as conn:
        role = conn.execute("SELECT ops.register_tenant(%s)", (tenant,)).fetchone()[0]
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        conn.commit()
        yield conn
