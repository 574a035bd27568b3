"""Where the web pages and the CLI meet the domain: a tenant connection, the action, then the refresh."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.workbench.actions import Actor, Outcome
from financeops_pipeline.workbench.refresh import refresh_days

log = logging.getLogger(__name__)


@contextmanager
def tenant_workbench(conninfo: str, tenant: str) -> Iterator[psycopg.Connection]:
    """A connection as the tenant's role, in autocommit: every action opens its own top-level transaction (the
    ledger refuses entries posted inside a savepoint)."""
    with tenant_connection(conninfo, tenant, application_name="financeops-workbench") as conn:
        conn.autocommit = True
        yield conn


def perform(archive_dir: Path, conn: psycopg.Connection, actor: Actor, action: Callable[..., Outcome], *args: Any,
            **kwargs: Any) -> Outcome:
    """Run one action; when it took effect, re-reconcile and republish the days it changes."""
    outcome = action(conn, actor, *args, **kwargs)
    if outcome.effective and outcome.refresh_from:
        try:
            outcome.extra["refreshed"] = refresh_days(conn, archive_dir, actor.tenant, outcome.refresh_from)
        except (OSError, psycopg.Error, duckdb.Error) as exc:   # the action stands; the next run applies it
            log.warning("re-reconciling %s from %s failed: %s", actor.tenant, outcome.refresh_from, type(exc).__name__)
            outcome.message += (f" (re-reconciling from {outcome.refresh_from} failed: {type(exc).__name__}; the "
                                "next run of the day applies it)")
    return outcome
