"""payouts_to_look_up (quality/sql/payouts_to_look_up.sql) built from the day's processor record files instead of
the imports tables, for records_to_look_up.sql (the checks source_records_posted and no_duplicate_idempotency_keys).

As SQL the payouts are a hash aggregate of every processor line of the day (each line of an itemized report names
its payout): a whole scan of the day's widest table for a few rows, the largest part of the 10M day's ledger checks.
DuckDB reads the same from the record files (imports/record_store.py): five columns, the payout ids dictionary
encoded. The files stand for the day only while Postgres holds as many of the day's processor lines as they do (as
for the expectation suites, quality/expectations.py validate_records), else the SQL runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg

from financeops_pipeline.imports.record_store import SOURCE_TABLES, records_view
from financeops_pipeline.sqlfiles import load_sql

COLUMNS = ("file_id", "source_position", "processor", "payout_id", "category", "currency", "net_minor")
# payouts_to_look_up's columns, as the temporary table has them (records_to_look_up.sql reads them)
TABLE_COLUMNS = ("source text, kind text, file_id integer, source_position text, record_ref text, "
                 "idempotency_key text, key_date date, currency text, amount_minor bigint")


def build_payouts_to_look_up(conn: psycopg.Connection, archive_dir: Path, tenant: str, day: dt.date) -> bool:
    """Create the temporary table payouts_to_look_up (dropped at commit) on `conn` from the day's processor record
    files; False, with nothing created, when they are not the day's rows (then payouts_to_look_up.sql runs)."""
    import duckdb

    from financeops_pipeline.db.connect import encoder_for
    from financeops_pipeline.duckdb_memory import default_memory_limit

    con = duckdb.connect(config={"threads": 2, "memory_limit": default_memory_limit()})
    try:
        in_files = records_view(con, conn, archive_dir, tenant, "processor", "processor", COLUMNS, day) or 0
        in_postgres = conn.execute(f"SELECT count(*) FROM imports.{SOURCE_TABLES['processor']}"   # noqa: S608
                                   " WHERE tenant = %s AND business_date = %s", (tenant, day)).fetchone()[0]
        if in_files != in_postgres:
            return False   # lines added or removed behind the import's back: the SQL reads what Postgres holds
        conn.execute(f"CREATE TEMP TABLE payouts_to_look_up ({TABLE_COLUMNS}) ON COMMIT DROP")
        if not in_files:
            return True
        try:
            rows = con.sql(load_sql("quality/sql/payouts_to_look_up.duckdb.sql")).to_arrow_table()
        except duckdb.BinderException:
            conn.execute("DROP TABLE payouts_to_look_up")
            return False   # record files without a column read here (an older layout): the SQL
        if rows.num_rows:
            encoder = encoder_for(rows.schema)
            with conn.cursor().copy(f"COPY payouts_to_look_up ({', '.join(rows.column_names)})"
                                    " FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.write(encoder.write_header())
                copy.write(encoder.write_batch(rows.combine_chunks().to_batches()[0]))
                copy.write(encoder.finish())
        return True
    finally:
        con.close()
