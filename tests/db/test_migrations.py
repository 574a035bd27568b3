"""Migrations apply once, re-apply as a no-op, and refuse an edited released migration."""

from __future__ import annotations

import psycopg
import pytest

from financeops_pipeline.db.migrate import MigrationError, available_migrations, migrate


def test_reapplying_migrations_is_a_no_op(db_url):
    assert migrate(db_url) == []
    versions = [r[0] for r in psycopg.connect(db_url).execute(
        "SELECT version FROM ops.schema_migrations ORDER BY version").fetchall()]
    assert versions == [m.version for m in available_migrations()]


def test_an_edited_released_migration_is_refused(db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE ops.schema_migrations SET checksum = 'edited' WHERE version = %s",
                     (available_migrations()[0].version,))
    with pytest.raises(MigrationError, match="edited after it was applied"):
        migrate(db_url)
