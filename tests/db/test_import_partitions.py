"""The imported records are stored one partition per file (migration 0026): each import COPYs its rows into a
fresh table that becomes the file's partition, and rows imported before keep every value in their file's own
partition."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from financeops_pipeline.db.bulk import fresh_partition
from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.imports.loader import import_file
from financeops_pipeline.imports.record_store import day_record_paths
from tests.conftest import SAMPLES

DAY = dt.date(2026, 11, 2)


def test_each_imported_file_is_a_partition_of_its_own(db_url, tmp_path):
    with tenant_connection(db_url, "acme") as conn:
        for path in sorted((SAMPLES / "acme" / "2026-11-02" / "processor").iterdir()):
            import_file(conn, "acme", path, DAY, "run-1", tmp_path)
    with psycopg.connect(db_url) as owner:
        parts = owner.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), (SELECT count(*) FROM imports.processor_lines l"
            "  WHERE l.tableoid = c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'imports.processor_lines'::regclass ORDER BY 1").fetchall()
        files = owner.execute("SELECT file_id, original_name, records_loaded FROM imports.files ORDER BY 1").fetchall()
        numbers = owner.execute("SELECT file_id, min(record_no), max(record_no), count(*) FROM imports.processor_lines"
                                " GROUP BY 1 ORDER BY 1").fetchall()
    # two files (Stripe: 5 lines + payout, Adyen: 2 + payout), each its own partition, plus the empty default
    assert [(name, rows) for name, _, rows in parts if name != "processor_lines_unfiled"] == [
        (f"processor_lines_{DAY:%Y%m%d}_acme_{file_id}", loaded) for file_id, _, loaded in files]
    assert all(f"FROM ('{DAY}', 'acme', {f}) TO ('{DAY}', 'acme', {f + 1})" in bound
               for (_, bound, _), (f, _, _) in zip([p for p in parts if p[0] != "processor_lines_unfiled"], files,
                                                   strict=True))
    assert numbers == [(file_id, 1, loaded, loaded) for file_id, _, loaded in files]   # record_no 1..n per file


def test_a_file_partition_has_its_row_count_and_the_statistics_its_readers_use(db_url, tmp_path):
    # migration 0070: ANALYZE of the readers' columns only (the wide ids, positions, texts and jsonb are skipped)
    with tenant_connection(db_url, "acme") as conn:
        for path in sorted((SAMPLES / "acme" / "2026-11-02" / "internal").iterdir()):
            import_file(conn, "acme", path, DAY, "run-1", tmp_path)
    with psycopg.connect(db_url) as owner:
        (part, tuples), = owner.execute(
            "SELECT c.oid::regclass::text, c.reltuples FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'imports.internal_transactions'::regclass AND c.relname NOT LIKE '%unfiled'"
        ).fetchall()
        loaded = owner.execute("SELECT count(*) FROM imports.internal_transactions").fetchone()[0]
        columns = {r[0] for r in owner.execute(
            "SELECT attname FROM pg_stats WHERE schemaname || '.' || tablename = %s", (part,))}
    assert tuples == loaded > 0
    assert columns == {"tenant", "business_date", "file_id", "record_no", "type", "currency", "processor"}


def test_a_partition_of_a_file_that_is_not_the_tenants_is_refused(db_url):
    with psycopg.connect(db_url) as owner:
        owner.execute("SELECT ops.register_tenant('acme'), ops.register_tenant('globex')")
        owner.execute("INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name,"
                      " archive_path, size_bytes, status, records_loaded, records_quarantined, run_id, code_version,"
                      " file_id) VALUES ('globex', repeat('e', 64), %s, 'bank', 't', 'x', '-', 0, 'loaded', 1, 0,"
                      " 'r', 'c', 77)", (DAY,))
        owner.commit()
    import pyarrow as pa

    row = pa.table({"business_date": pa.array([DAY], pa.date32()), "tenant": ["acme"],
                    "file_id": pa.array([77], pa.int32()), "record_no": pa.array([1], pa.int32()),
                    "source_position": ["line 2"], "account_id": ["A"], "currency": ["USD"],
                    "booking_date": pa.array([DAY], pa.date32()), "amount_minor": pa.array([100], pa.int64()),
                    "classification": ["other"]})
    with tenant_connection(db_url, "acme") as conn:
        # acme claims globex's file 77: the checker refuses it before it is attached
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="not a loaded file of acme"), conn.transaction():
            part = fresh_partition(conn, "imports.bank_lines", [DAY, "acme", 77], [DAY, "acme", 78])
            part.copy(row)
            part.attach()
        # and a row of globex in acme's partition is refused by COPY itself
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            fresh_partition(conn, "imports.bank_lines", [DAY, "acme", 77], [DAY, "acme", 78]).copy(
                row.set_column(1, "tenant", pa.array(["globex"])))


def test_records_imported_before_keep_every_value_in_their_files_partitions(pg_target, tmp_path):
    name = "fo_test_migration_0026"
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_target.url(name)
    migrate(url, until="0025_import_file_totals")
    sha_a, sha_b = "a" * 64, "b" * 64
    with psycopg.connect(url) as conn:   # rows as the code before 0026 wrote them: day partitions, hash per row
        conn.execute("SELECT ops.register_tenant('acme')")
        conn.execute("SELECT ops.ensure_day_partition('imports.internal_transactions', %s)", (DAY,))
        for sha in (sha_a, sha_b):
            conn.execute("INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name,"
                         " archive_path, size_bytes, status, records_loaded, records_quarantined, run_id,"
                         " code_version) VALUES ('acme', %s, %s, 'internal', 'internal_csv', %s, '-', 0, 'loaded',"
                         " 2, 0, 'r', 'c')", (sha, DAY, f"{sha[0]}.csv"))
        for sha, position, tx, amount in ((sha_a, "line 10", "T10", 1000), (sha_a, "line 2", "T2", 200),
                                          (sha_b, "line 2", "U2", 300)):
            conn.execute("INSERT INTO imports.internal_transactions (tenant, business_date, file_sha256,"
                         " source_position, transaction_id, created_at, type, amount_minor, currency, processor,"
                         " processor_reference) VALUES ('acme', %s, %s, %s, %s, %s, 'payment', %s, 'USD', 'stripe',"
                         " 'ch')", (DAY, sha, position, tx, dt.datetime(2026, 11, 2, tzinfo=dt.UTC), amount))
        conn.commit()
    migrate(url)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT f.sha256, t.record_no, t.source_position, t.transaction_id, t.amount_minor, t.tableoid::regclass"
            " FROM imports.internal_transactions t JOIN imports.files f USING (tenant, file_id)"
            " ORDER BY 1, 2").fetchall()
        ids = dict(conn.execute("SELECT sha256, file_id FROM imports.files").fetchall())
    # every value kept; numbered per file in source_position order ('line 10' < 'line 2'); one partition per file
    assert [r[:5] for r in rows] == [(sha_a, 1, "line 10", "T10", 1000), (sha_a, 2, "line 2", "T2", 200),
                                     (sha_b, 1, "line 2", "U2", 300)]
    assert [str(r[5]) for r in rows] == [f"imports.internal_transactions_f{ids[sha_a]}"] * 2 + [
        f"imports.internal_transactions_f{ids[sha_b]}"]
    # their record files are written from these rows when a reader first asks for them
    with tenant_connection(url, "acme") as conn:
        paths = day_record_paths(conn, tmp_path, "acme", "internal", DAY)
    import pyarrow.parquet as pq

    assert [pq.read_table(p).column("transaction_id").to_pylist() for p in paths] == [["T10", "T2"], ["U2"]]
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
