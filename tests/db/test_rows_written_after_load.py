"""Migration 0098: the tenant-days of the imports tables written to other than by a file's bulk load are recorded by
the database (statement triggers of the parents), so that the checks reading the import's record files count
Postgres's rows on those days only; a file's load records nothing, and days imported before the migration are
recorded by it."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.imports.loader import import_file
from financeops_pipeline.imports.record_store import written_after_load
from financeops_pipeline.summary import day_summary
from tests.conftest import SAMPLES, database_at_release

DAY = dt.date(2026, 11, 2)
MARKS = "SELECT tenant, business_date, table_name FROM imports.rows_written_after_load ORDER BY 1, 2, 3"
PLANT = ("INSERT INTO imports.internal_transactions (tenant, business_date, file_id, record_no, source_position,"
         " transaction_id, created_at, type, amount_minor, currency, processor, processor_reference)"
         " VALUES (%s, %s, 999999, 1, 'line 2', 'planted', %s, 'payment', 100, 'USD', 'stripe', 'ch_x')")


def _import_sample_day(url: str, archive) -> None:
    with tenant_connection(url, "acme") as conn:
        for source in ("internal", "processor", "bank"):
            for path in sorted((SAMPLES / "acme" / str(DAY) / source).iterdir()):
                import_file(conn, "acme", path, DAY, "run-1", archive)


def _internal_records(conn: psycopg.Connection) -> int:
    """The internal records of the day, as the run's summary prints them."""
    return int(day_summary(conn, "acme", DAY)[0].split("imported ")[1].split(" internal")[0])


def test_a_files_load_records_nothing_and_any_other_write_records_its_day(db_url, tmp_path):
    _import_sample_day(db_url, tmp_path)
    with psycopg.connect(db_url) as owner:
        assert owner.execute(MARKS).fetchall() == []   # COPY into fresh partitions fires no trigger of a parent
    with tenant_connection(db_url, "acme") as conn:
        assert not written_after_load(conn, "acme", "internal", DAY, DAY)
        loaded = _internal_records(conn)   # the files' records_loaded
        conn.execute(PLANT, ("acme", DAY, dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)))   # a tenant may INSERT
        conn.commit()
        assert written_after_load(conn, "acme", "internal", DAY, DAY)
        assert _internal_records(conn) == loaded + 1   # now counted in Postgres
        assert not written_after_load(conn, "acme", "processor", DAY, DAY)
        assert not written_after_load(conn, "acme", "internal", DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=9))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):   # the triggers alone write the record
            conn.execute("INSERT INTO imports.rows_written_after_load (tenant, business_date, table_name)"
                         " VALUES ('acme', '2026-11-03', 'bank_lines')")
    with psycopg.connect(db_url) as owner:   # the owner's UPDATE (both days) and DELETE are recorded too
        moved = DAY + dt.timedelta(days=5)
        owner.execute("UPDATE imports.processor_lines SET fee_minor = fee_minor WHERE business_date = %s", (DAY,))
        owner.execute("DELETE FROM imports.bank_lines WHERE business_date = %s AND record_no = 1", (DAY,))
        owner.execute("UPDATE imports.internal_transactions SET business_date = %s WHERE transaction_id = 'planted'",
                      (moved,))
        owner.commit()
        assert owner.execute(MARKS).fetchall() == [
            ("acme", DAY, "bank_lines"), ("acme", DAY, "internal_transactions"), ("acme", DAY, "processor_lines"),
            ("acme", moved, "internal_transactions")]
        for table in ("internal_transactions", "processor_lines", "bank_lines"):   # a TRUNCATE names no day: refused
            with pytest.raises(psycopg.errors.RestrictViolation), owner.transaction():
                owner.execute(f"TRUNCATE imports.{table}")
    with tenant_connection(db_url, "globex") as other:   # row-level security: another tenant sees none of them
        assert other.execute(MARKS).fetchall() == []
        assert not written_after_load(other, "globex", "internal", DAY, DAY)


def test_days_imported_before_the_migration_are_recorded_by_it(pg_target, tmp_path):
    with database_at_release(pg_target, "fo_test_upgrade_0098", until="0097_key_slice_check_by_last_byte") as url:
        _import_sample_day(url, tmp_path)
        with psycopg.connect(url) as owner:   # and a row of no file, in a default partition, another day
            owner.execute(PLANT.replace("999999", "999998"),
                          ("acme", DAY + dt.timedelta(days=1), dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)))
            owner.commit()
        migrate(url)
        with psycopg.connect(url) as owner:
            assert owner.execute(MARKS).fetchall() == [
                ("acme", DAY, "bank_lines"), ("acme", DAY, "internal_transactions"), ("acme", DAY, "processor_lines"),
                ("acme", DAY + dt.timedelta(days=1), "internal_transactions")]
        _import_sample_day(url, tmp_path)   # already imported: skipped, nothing recorded anew
        with psycopg.connect(url) as owner:
            assert len(owner.execute(MARKS).fetchall()) == 4
