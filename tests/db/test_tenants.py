"""Registering a tenant is safe when several sessions do it for the first time at once."""

from __future__ import annotations

import os
import threading

import psycopg

from tests.conftest import query


def test_concurrent_first_registrations_of_a_tenant_all_succeed(db_url):
    tenant = f"racer_{os.getpid()}"   # roles are cluster-wide: a name no other test database has used
    sessions = 6
    ready = threading.Barrier(sessions, timeout=30)
    roles: list[str] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            with psycopg.connect(db_url) as conn:
                ready.wait()
                roles.append(conn.execute("SELECT ops.register_tenant(%s)", (tenant,)).fetchone()[0])
        except BaseException as exc:   # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert roles == [f"financeops_t_{tenant}"] * sessions
    assert query(db_url, "SELECT role_name FROM ops.tenants WHERE tenant = %s", (tenant,)) == [(roles[0],)]
    assert query(db_url, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (roles[0],)) == [(1,)]
