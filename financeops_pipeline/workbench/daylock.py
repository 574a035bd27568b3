"""The day lock: a tenant-day an approver signed off is locked (ops.day_locked in migration 0045).

Writers ask inside their own transaction: the question takes a shared lock on the tenant-day until that
transaction ends, so a sign-off (exclusive) can never land between the question and the write."""

from __future__ import annotations

import datetime as dt

import psycopg


def day_locked(conn: psycopg.Connection, tenant: str, day: dt.date) -> bool:
    """Whether the tenant-day is signed off; call it in the transaction that writes the day."""
    return bool(conn.execute("SELECT ops.day_locked(%s, %s)", (tenant, day)).fetchone()[0])


def next_open_day(conn: psycopg.Connection, tenant: str, day: dt.date) -> dt.date:
    """The day itself when open, else the first later day that is not signed off (where its adjustments go)."""
    while day_locked(conn, tenant, day):
        day += dt.timedelta(days=1)
    return day
