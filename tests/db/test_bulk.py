"""Fresh partitions (db/bulk.py, migration 0018): a tenant session COPYs into a table of its own transaction that
the database pins to its tenant and bound, indexes it after, and attaches it; nothing else of it is allowed."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pytest

from financeops_pipeline.db.bulk import fresh_partition
from financeops_pipeline.db.connect import tenant_connection

DAY = dt.date(2026, 11, 2)


@pytest.fixture
def parent(db_url):
    """A day-and-file partitioned table of tenant rows, registered for fresh partitions, with an index."""
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT ops.register_tenant('acme'), ops.register_tenant('globex')")
        conn.execute("CREATE TABLE imports.bulk_probe (business_date date NOT NULL, tenant text NOT NULL,"
                     " file_no int NOT NULL, amount_minor bigint NOT NULL CONSTRAINT probe_positive"
                     " CHECK (amount_minor > 0)) PARTITION BY RANGE (business_date, file_no)")
        conn.execute("CREATE INDEX bulk_probe_amount ON imports.bulk_probe (amount_minor)")
        conn.execute("SELECT ops.isolate_tenant_table('imports.bulk_probe')")
        conn.execute("INSERT INTO ops.bulk_parents (parent, tenant_column) VALUES ('imports.bulk_probe', 'tenant')")
    return "imports.bulk_probe"


def rows(tenant: str, n: int = 3, amount: int = 100) -> pa.Table:
    return pa.table({"business_date": pa.array([DAY] * n, pa.date32()), "tenant": [tenant] * n,
                     "file_no": pa.array([7] * n, pa.int32()), "amount_minor": pa.array([amount] * n, pa.int64())})


def test_copy_index_and_attach_a_fresh_partition(parent, db_url):
    with tenant_connection(db_url, "acme") as conn:
        with conn.transaction():
            part = fresh_partition(conn, parent, [DAY, 7], [DAY, 8])
            assert part.table.startswith("load.bulk_probe_")
            assert part.copy(rows("acme")) == 3
            part.prepare()
            leaf = part.attach()
        assert leaf.startswith("imports.bulk_probe_")
        assert conn.execute("SELECT count(*), sum(amount_minor) FROM imports.bulk_probe").fetchone() == (3, 300)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"INSERT INTO {leaf} VALUES (%s, 'acme', 7, 1)", (DAY,))   # attached: no more writes
        conn.rollback()
    with psycopg.connect(db_url) as owner:
        # the index built after the load is the parent's index of that partition; no validation scan was needed
        assert owner.execute("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                             " WHERE i.inhparent = 'imports.bulk_probe_amount'::regclass").fetchone() == (1,)
        assert owner.execute("SELECT count(*) FROM ops.load_tables").fetchone() == (0,)


def test_copy_refuses_a_row_of_another_tenant_and_the_parents_checks_hold(parent, db_url):
    with tenant_connection(db_url, "acme") as conn:
        with pytest.raises(psycopg.errors.CheckViolation, match="bounds"), conn.transaction():
            fresh_partition(conn, parent, [DAY, 7], [DAY, 8]).copy(rows("globex"))
        with pytest.raises(psycopg.errors.CheckViolation, match="bounds"), conn.transaction():
            fresh_partition(conn, parent, [DAY, 7], [DAY, 8]).copy(rows("acme").set_column(
                2, "file_no", pa.array([9] * 3, pa.int32())))   # outside the partition's bound
        with pytest.raises(psycopg.errors.CheckViolation, match="probe_positive"), conn.transaction():
            fresh_partition(conn, parent, [DAY, 7], [DAY, 8]).copy(rows("acme", amount=0))


def test_only_the_tenants_own_fresh_table_of_this_transaction_can_be_attached(parent, db_url):
    with tenant_connection(db_url, "acme") as acme, tenant_connection(db_url, "globex") as globex:
        part = fresh_partition(acme, parent, [DAY, 7], [DAY, 8])
        # another session does not even see it (it exists in acme's open transaction only) ...
        with pytest.raises(psycopg.errors.UndefinedTable):
            globex.execute(f"INSERT INTO {part.table} VALUES (%s, 'globex', 7, 1)", (DAY,))
        globex.rollback()
        acme.rollback()   # ... and the table goes with the transaction
        with acme.transaction():   # a table of an earlier transaction (here: a committed plain table) is refused
            acme.execute("SELECT 1")
        with psycopg.connect(db_url) as owner:
            owner.execute("CREATE TABLE load.stray (LIKE imports.bulk_probe)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not a fresh table of this transaction"):
            acme.execute("SELECT ops.attach_load_table('load.stray'::regclass)")
        acme.rollback()
        with pytest.raises(psycopg.errors.UndefinedTable):
            acme.execute(f"SELECT * FROM {part.table}")
        acme.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="takes no fresh partitions"):
            acme.execute("SELECT ops.create_load_table('recon.item_status', %s, %s)", ([str(DAY)], [str(DAY)]))


def test_a_fresh_table_needs_a_transaction_and_a_tenant(parent, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn, pytest.raises(RuntimeError, match="transaction"):
        fresh_partition(conn, parent, [DAY, 7], [DAY, 8])
    with psycopg.connect(db_url) as owner, pytest.raises(psycopg.errors.RaiseException, match="tenant session"):
        fresh_partition(owner, parent, [DAY, 7], [DAY, 8])
