"""Run a model (or its tests) for one tenant-day and store the result in Postgres schema `models`.

Tenant isolation: every read runs as the tenant's role (row-level security). A model's table is created
by the owner (tenant roles run no DDL), with a `tenant` column and the same RLS policy as every other
tenant table (`ops.isolate_tenant_table`), so a tenant reads and replaces only its own rows.

* engine duckdb: each source / ref the model names is read from Postgres as Arrow (ADBC, tenant role),
  restricted to the partition day and `lookback_days` before it when the table has a `business_date`,
  loaded into DuckDB under the same `<schema>.<table>` name, and the model runs in DuckDB.
* engine postgres: the model runs in Postgres as the tenant role into a temp table, then into `models.<name>`.

A tenant-day is replaced whole in one transaction (derived data: re-running gives the same rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
from psycopg import sql

from financeops_pipeline.db.connect import copy_arrow, fetch_arrow, tenant_connection
from financeops_pipeline.imports.record_store import SOURCE_TABLES, records_view
from financeops_pipeline.sql_models.model import DAY_COLUMN, TENANT_COLUMN, ModelError, ModelTest, SqlModel
from financeops_pipeline.sql_models.project import render_model, sql_error
from financeops_pipeline.sql_models.templating import render

FLOAT_TYPES = ("real", "double precision")
INTEGER_TYPES = ("bigint", "integer", "smallint")


@dataclass
class ModelRun:
    tenant: str
    day: dt.date | None
    rows: int
    preview: list[dict]
    columns: list[str]


# ---------------------------------------------------------------- types and the stored table

def arrow_to_pg(model: SqlModel, field: pa.Field) -> str:
    t = field.type
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_int16(t) or pa.types.is_int8(t) or pa.types.is_uint8(t):
        return "smallint"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp with time zone" if t.tz else "timestamp without time zone"
    if pa.types.is_floating(t):
        return "double precision"   # refused by check_columns with a clear message
    raise ModelError(model.relative_path, model.body_line,
                     f"column {field.name!r} has type {t}, which cannot be stored: cast it in the model")


def check_columns(model: SqlModel, columns: list[tuple[str, str]]) -> None:
    """Exact money: no floating point anywhere, and a `*_minor` column is an integer (minor units)."""
    names = [c for c, _ in columns]
    for reserved in (TENANT_COLUMN, DAY_COLUMN if model.partitioned else None):
        if reserved and reserved in names:
            raise ModelError(model.relative_path, model.body_line,
                             f"the model returns a column {reserved!r}: the loader adds it, remove it from the SELECT")
    dupes = {c for c in names if names.count(c) > 1}
    if dupes:
        raise ModelError(model.relative_path, model.body_line, f"duplicate column name(s): {', '.join(sorted(dupes))}")
    for name, pg_type in columns:
        if pg_type in FLOAT_TYPES:
            raise ModelError(model.relative_path, model.body_line,
                             f"column {name!r} is floating point ({pg_type}): money and rates are exact here; "
                             "use BIGINT minor units, integer basis points or DECIMAL/NUMERIC")
        if name.endswith("_minor") and pg_type not in INTEGER_TYPES:
            raise ModelError(model.relative_path, model.body_line,
                             f"column {name!r} is {pg_type}: *_minor columns are integer minor units "
                             "(a DuckDB sum of BIGINT is HUGEINT: CAST(sum(x) AS BIGINT))")


def ensure_table(owner: psycopg.Connection, model: SqlModel, columns: list[tuple[str, str]]) -> bool:
    """Create models.<name> as the owner with tenant RLS, or re-create it when the model's columns changed.

    Returns True when the table was (re)created. Model tables hold derived data only: a changed shape
    drops the old table (other days are re-made by running them again).
    """
    wanted = [(TENANT_COLUMN, "text")] + ([(DAY_COLUMN, "date")] if model.partitioned else []) + columns
    table = sql.Identifier("models", model.name)
    with owner.transaction():
        owner.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (model.table,))
        existing = owner.execute(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (model.table,)).fetchall()
        if [tuple(r) for r in existing] == wanted:
            return False
        if existing:
            owner.execute(sql.SQL("DROP TABLE {}").format(table))
        defs = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(sql.Identifier(c), sql.SQL(t),
                                      sql.SQL(" NOT NULL") if c in (TENANT_COLUMN, DAY_COLUMN) else sql.SQL(""))
            for c, t in wanted)
        owner.execute(sql.SQL("CREATE TABLE {} ({})").format(table, defs))
        key = [TENANT_COLUMN] + ([DAY_COLUMN] if model.partitioned else [])
        owner.execute(sql.SQL("CREATE INDEX ON {} ({})").format(
            table, sql.SQL(", ").join(map(sql.Identifier, key))))
        owner.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
            table, sql.Literal(f"SQL model {model.relative_path}: {model.description}")))
        owner.execute("SELECT ops.isolate_tenant_table(%s::regclass)", (model.table,))
        owner.execute(sql.SQL("GRANT DELETE ON {} TO financeops_tenant").format(table))
    return True


def _delete_day(conn: psycopg.Connection, model: SqlModel, tenant: str, day: dt.date | None) -> None:
    table = sql.Identifier("models", model.name)
    if model.partitioned:
        conn.execute(sql.SQL("DELETE FROM {} WHERE tenant = %s AND business_date = %s").format(table), (tenant, day))
    else:
        conn.execute(sql.SQL("DELETE FROM {} WHERE tenant = %s").format(table), (tenant,))


def _preview(conn: psycopg.Connection, model: SqlModel, tenant: str, day: dt.date | None,
             limit: int = 20) -> tuple[int, list[dict], list[str]]:
    table = sql.Identifier("models", model.name)
    where = sql.SQL("WHERE business_date = %s") if model.partitioned else sql.SQL("")
    params = (day,) if model.partitioned else ()
    cur = conn.execute(sql.SQL("SELECT * FROM {} {} LIMIT {}").format(table, where, sql.Literal(limit)), params)
    columns = [d.name for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    count = conn.execute(sql.SQL("SELECT count(*) FROM {} {}").format(table, where), params).fetchone()[0]
    return count, rows, columns


# ---------------------------------------------------------------- engines

def _select_list(conn: psycopg.Connection, schema: str, table: str) -> tuple[str, bool, list[str]]:
    """Columns of a relation, cast where ADBC would return opaque values (char, json, numeric)."""
    cols = conn.execute(
        "SELECT column_name::text, data_type::text FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (schema, table)).fetchall()
    if not cols:
        raise LookupError(f"{schema}.{table} does not exist yet (has its upstream asset run?)")
    parts = []
    for name, data_type in cols:
        ident = '"' + name.replace('"', '""') + '"'
        if data_type in ("character", "json", "jsonb", "character varying"):
            parts.append(f"{ident}::text AS {ident}")
        else:
            parts.append(ident)
    return ", ".join(parts), any(n == DAY_COLUMN for n, _ in cols), [n for n, _ in cols]


# The imported records' tables, read from the import's Parquet record files (imports/record_store.py) instead of
# a second full read from Postgres: a 10M day's processor lines took 40 s through ADBC, all columns.
RECORD_SOURCES = {table: source for source, table in SOURCE_TABLES.items()}


def _run_duckdb(conninfo: str, conn: psycopg.Connection, model: SqlModel, tenant: str, day: dt.date | None,
                rendered: str, archive_dir: Path | None = None) -> pa.Table:
    import duckdb

    relations = {(s.schema, s.table) for s in model.sources} | {("models", r.name) for r in model.refs}
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        for schema, table in sorted(relations):
            try:
                columns, dated, names = _select_list(conn, schema, table)
            except LookupError as exc:
                raise ModelError(model.relative_path, model.body_line, str(exc)) from exc
            if (archive_dir is not None and day is not None and schema == "imports" and table in RECORD_SOURCES
                    and records_view(con, conn, archive_dir, tenant, RECORD_SOURCES[table], f"imports.{table}", names,
                                     day - dt.timedelta(days=model.lookback_days), day) is not None):
                continue
            query = f'SELECT {columns} FROM "{schema}"."{table}"'
            params: tuple = ()
            if dated and day is not None:
                query += " WHERE business_date BETWEEN $1::date AND $2::date"
                params = (day - dt.timedelta(days=model.lookback_days), day)
            arrow = fetch_arrow(conninfo, tenant, query, params)
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.register("_incoming", arrow)
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM _incoming')
            con.unregister("_incoming")
        try:
            return con.sql(rendered).to_arrow_table()
        except duckdb.Error as exc:
            raise sql_error(model, str(exc), rendered=rendered) from exc
    finally:
        con.close()


def materialize(conninfo: str, model: SqlModel, tenant: str, day: dt.date | None,
                archive_dir: Path | None = None) -> ModelRun:
    """Compute the model for one tenant and day and replace that tenant-day in models.<name> (`archive_dir`: read
    the imported records from their Parquet record files)."""
    rendered = render_model(model, tenant, day).rstrip().rstrip(";")
    with tenant_connection(conninfo, tenant, application_name="financeops-models") as conn, \
            psycopg.connect(conninfo, application_name="financeops-models-ddl") as owner:
        if model.engine == "duckdb":
            result = _run_duckdb(conninfo, conn, model, tenant, day, rendered, archive_dir)
            columns = [(f.name, arrow_to_pg(model, f)) for f in result.schema]
            check_columns(model, columns)
            ensure_table(owner, model, columns)
            stamped = result.add_column(0, TENANT_COLUMN, pa.array([tenant] * result.num_rows, pa.string()))
            if model.partitioned:
                stamped = stamped.add_column(1, DAY_COLUMN, pa.array([day] * result.num_rows, pa.date32()))
            with conn.transaction():
                _delete_day(conn, model, tenant, day)
                copy_arrow(conn, model.table, stamped)
        else:
            try:
                with conn.transaction():
                    conn.execute("DROP TABLE IF EXISTS pg_temp._model_result")
                    conn.execute(sql.SQL("CREATE TEMP TABLE _model_result AS {}").format(
                        sql.SQL("\n") + sql.SQL(rendered) + sql.SQL("\n")))
            except psycopg.Error as exc:
                prefix = len("CREATE TEMP TABLE _model_result AS \n")
                raise _pg_error(model, exc, rendered, prefix_chars=prefix) from exc
            columns = [tuple(r) for r in conn.execute(
                "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'pg_temp._model_result'::regclass AND attnum > 0 AND NOT attisdropped"
                " ORDER BY attnum").fetchall()]
            conn.commit()
            check_columns(model, columns)
            ensure_table(owner, model, columns)
            names = sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns)
            stamp = [TENANT_COLUMN] + ([DAY_COLUMN] if model.partitioned else [])
            with conn.transaction():
                _delete_day(conn, model, tenant, day)
                conn.execute(sql.SQL("INSERT INTO {} ({}, {}) SELECT {}, {} FROM _model_result").format(
                    sql.Identifier("models", model.name), sql.SQL(", ").join(map(sql.Identifier, stamp)), names,
                    sql.SQL(", ").join([sql.Literal(tenant)] + ([sql.Literal(day)] if model.partitioned else [])),
                    names))
                conn.execute("DROP TABLE pg_temp._model_result")
        count, preview, cols = _preview(conn, model, tenant, day)
    return ModelRun(tenant=tenant, day=day, rows=count, preview=preview, columns=cols)


def _pg_error(model: SqlModel, exc: psycopg.Error, rendered: str, prefix_chars: int) -> ModelError:
    position = getattr(exc.diag, "statement_position", None)
    line = None
    if position:
        offset = max(int(position) - 1 - prefix_chars, 0)
        line = rendered[:offset].count("\n") + 1
    return sql_error(model, str(exc).strip().splitlines()[0], position_line=line)   # its LINE n counts our wrapper


# ---------------------------------------------------------------- tests (asset checks)

def failing_rows_sql(conn: psycopg.Connection, model: SqlModel, test: ModelTest, tenant: str,
                     day: dt.date | None) -> sql.Composable:
    """The query returning the failing rows of a test, over the tenant's rows of the day (Postgres)."""
    this = sql.SQL("(SELECT * FROM {} {})").format(
        sql.Identifier("models", model.name),
        sql.SQL("WHERE business_date = {}").format(sql.Literal(day)) if model.partitioned else sql.SQL(""))
    cols = [sql.Identifier(c) for c in test.columns]
    if test.kind == "not_null":
        cond = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(c) for c in cols)
        return sql.SQL("SELECT * FROM {} t WHERE {}").format(this, cond)
    if test.kind == "unique":
        group = sql.SQL(", ").join(cols)
        return sql.SQL("SELECT {}, count(*) AS rows FROM {} t GROUP BY {} HAVING count(*) > 1").format(
            group, this, group)
    if test.kind == "accepted_values":
        values = sql.SQL(", ").join(sql.Literal(v) for v in test.values)
        return sql.SQL("SELECT {c}::text AS value, count(*) AS rows FROM {t} t WHERE {c} IS NOT NULL"
                       " AND {c}::text NOT IN ({v}) GROUP BY 1").format(c=cols[0], t=this, v=values)
    variables = {"tenant": tenant, "this": this.as_string(conn)}
    if model.partitioned and day is not None:
        variables["partition_date"] = day.isoformat()
    if test.kind == "relationships":
        parent = render(test.to, model.header_file, test.line, variables).strip()
        return sql.SQL("SELECT t.* FROM {} t WHERE t.{} IS NOT NULL AND NOT EXISTS"
                       " (SELECT 1 FROM {} p WHERE p.{} = t.{})").format(
            this, cols[0], sql.SQL(parent), sql.Identifier(test.field), cols[0])
    return sql.SQL(render(test.sql, model.header_file, test.line, variables).strip().rstrip(";"))


def run_test(conn: psycopg.Connection, model: SqlModel, test: ModelTest, tenant: str, day: dt.date | None,
             limit: int = 20) -> tuple[int, list[dict]]:
    """Failing rows of a test as the tenant's role: (count, the first `limit` rows)."""
    query = sql.SQL("SELECT * FROM (\n{}\n) failing").format(failing_rows_sql(conn, model, test, tenant, day))
    try:
        with conn.transaction():
            cur = conn.execute(query)
            columns = [d.name for d in cur.description]
            rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    except psycopg.Error as exc:
        raise ModelError(model.header_file, test.line,
                         f"test {test.name} could not run: {str(exc).strip().splitlines()[0]}") from exc
    return len(rows), rows[:limit]
