"""Connections: the owner (migrations, admin) and per-tenant sessions that row-level security confines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import psycopg
import pyarrow as pa
from psycopg import sql

from financeops_pipeline.landing import validate_tenant


@contextmanager
def tenant_connection(
    conninfo: str, tenant: str, *, application_name: str = "financeops"
) -> Iterator[psycopg.Connection]:
    """A connection that runs as the tenant's own role: it can read and write that tenant's rows only."""
    validate_tenant(tenant)
    with psycopg.connect(conninfo, application_name=application_name) as conn:
        role = conn.execute("SELECT ops.register_tenant(%s)", (tenant,)).fetchone()[0]
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        # copy_arrow stages bulk loads in session temp tables: room for them in memory (allocated only as
        # used; settable only before the session's first temp table). 8MB made a 2M-row stage go to disk.
        conn.execute("SET temp_buffers = '256MB'")
        conn.commit()
        yield conn


def encoder_for(arrow_schema: pa.Schema, jsonb_columns: Iterable[str] = ()):
    """pgpq's binary COPY encoder for `arrow_schema` (text columns named in `jsonb_columns` sent as jsonb)."""
    from pgpq import ArrowToPostgresBinaryEncoder, encoders, schema

    custom = {name: encoders.StringEncoderBuilder.new_with_output(arrow_schema.field(name), schema.Jsonb())
              for name in jsonb_columns}
    builders = {f.name: custom.get(f.name) or ArrowToPostgresBinaryEncoder.infer_encoder(f) for f in arrow_schema}
    return ArrowToPostgresBinaryEncoder.new_with_encoders(arrow_schema, builders)


def write_binary_copy(copy: psycopg.Copy, encoder, batches: Iterable[pa.RecordBatch]) -> int:
    """Write Arrow record batches to an open `COPY ... FROM STDIN WITH (FORMAT BINARY)`: the header, each batch
    as pgpq encodes it (in Rust: no per-row Python), the trailer. Returns the rows written."""
    copy.write(encoder.write_header())
    rows = 0
    for batch in batches:
        if batch.num_rows:
            copy.write(encoder.write_batch(batch))
            rows += batch.num_rows
    copy.write(encoder.finish())
    return rows


def copy_arrow(
    conn: psycopg.Connection, table: str, arrow_table: pa.Table, jsonb_columns: Iterable[str] = (),
    constants: Mapping[str, object] | None = None,
) -> int:
    """Bulk-load an Arrow table into `table` (same column names) by binary COPY; `constants` are columns with
    one value for every row (tenant, day, file hash), set by the INSERT instead of sent with each row.

    Postgres refuses COPY into a table with row-level security, so rows are COPYed into a session
    temp table and moved with one INSERT ... SELECT, where the tenant policy checks them set-based.
    pgpq encodes whole record batches in Rust: there is no per-row Python on this path.
    """
    if arrow_table.num_rows == 0:
        return 0
    encoder = encoder_for(arrow_table.schema, jsonb_columns)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in arrow_table.column_names)
    stage = sql.Identifier("stage_" + table.replace(".", "__"))
    # The target's columns without their NOT NULL constraints: the constants are not in the stage's rows.
    conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT * FROM {} WITH NO DATA"
                         ).format(stage, sql.SQL(table)))
    with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(stage, columns)) as copy:
        write_binary_copy(copy, encoder, arrow_table.to_batches(max_chunksize=100_000))
    constants = dict(constants or {})
    targets = sql.SQL(", ").join([columns, *(sql.Identifier(c) for c in constants)])
    values = sql.SQL(", ").join([columns, *(sql.Placeholder() for _ in constants)])
    conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(sql.SQL(table), targets, values, stage),
                 list(constants.values()))
    conn.execute(sql.SQL("TRUNCATE {}").format(stage))
    return arrow_table.num_rows


def copy_into_day(conn: psycopg.Connection, table: str, day: dt.date, arrow_table: pa.Table,
                  jsonb_columns: Iterable[str] = (), constants: Mapping[str, object] | None = None) -> int:
    """Bulk-load one day's rows of a day-partitioned table: its partition is created if missing, the rows
    COPYed (`copy_arrow`), then the day's block-range indexes summarized and its statistics taken, so the
    next readers skip other tenants' rows and get a plan for the real row count at once (not some minutes
    later, when autovacuum would)."""
    conn.execute("SELECT ops.ensure_day_partition(%s::regclass, %s)", (table, day))
    loaded = copy_arrow(conn, table, arrow_table, jsonb_columns, constants)
    if loaded:
        conn.execute("SELECT ops.prepare_day_partition(%s::regclass, %s)", (table, day))
    return loaded


def fetch_arrow(conninfo: str, tenant: str, query: str, params: tuple = ()) -> pa.Table:
    """Run a read query as the tenant's role and return Arrow through ADBC (columnar, no Python rows)."""
    import adbc_driver_postgresql.dbapi as adbc

    role = "financeops_t_" + validate_tenant(tenant)
    with adbc.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute(f'SET ROLE "{role}"')
        cur.execute(query, params or None)
        return cur.fetch_arrow_table()
