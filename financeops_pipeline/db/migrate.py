"""Versioned schema migrations, applied idempotently at start.

Each `migrations/NNNN_name.sql` runs once, in its own transaction, under an advisory lock so two
processes starting together do not race. Its SHA-256 is recorded: a released migration that was
edited afterwards is refused instead of silently diverging (add a new migration instead).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 7_390_112_001  # arbitrary, constant: serialises migrators across processes


class MigrationError(RuntimeError):
    """A migration failed or an applied migration's file was edited."""


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def available_migrations() -> list[Migration]:
    """Migrations shipped with the code, in version order."""
    return [Migration(p.stem, p) for p in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))]


def migrate(conninfo: str, until: str | None = None) -> list[str]:
    """Apply pending migrations (those up to version `until` only, when given, as a database released before
    the later ones had them); returns the versions applied now (empty when up to date)."""
    applied_now: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute("CREATE SCHEMA IF NOT EXISTS ops")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS ops.schema_migrations ("
                " version text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = dict(conn.execute("SELECT version, checksum FROM ops.schema_migrations").fetchall())
            for migration in available_migrations():
                if until is not None and migration.version > until:
                    break
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version} was edited after it was applied; "
                            "released migrations are immutable, add a new one"
                        )
                    continue
                try:
                    with conn.transaction():
                        # a migration may change append-only partitions (0018's DDL guard lets it)
                        conn.execute("SET LOCAL financeops.partition_ddl = 'on'")
                        conn.execute(migration.sql)
                        conn.execute(
                            "INSERT INTO ops.schema_migrations (version, checksum) VALUES (%s, %s)",
                            (migration.version, migration.checksum),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {migration.version} failed: {exc}") from exc
                applied_now.append(migration.version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
