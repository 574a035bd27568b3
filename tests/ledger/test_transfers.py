"""The transfer layout's invariants (migration 0060) hold in the database itself: each test tries to break one."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.ledger.posting import UNDATED, fresh_partition, key_slice, post_day, register_keys
from tests.ledger.test_posting_rules import DAY, SHA, internal, posted

NEXT_DAY = DAY + dt.timedelta(days=1)


def _post(db_url: str, day: dt.date = DAY, run_id: str = "run-1"):
    with tenant_connection(db_url, "acme") as conn:
        return post_day(conn, "acme", day, run_id)


def test_a_day_is_one_fresh_partition_per_batch_and_a_key_partition_per_record_date(owner, db_url):
    internal(owner, "T1", "payment", 10_000)
    internal(owner, "T2", "refund", 2_500)
    owner.commit()
    _post(db_url)
    leaves = owner.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                           " WHERE i.inhparent IN ('ledger.transfers'::regclass, 'ledger.entry_keys'::regclass)"
                           " ORDER BY 1").fetchall()
    assert [name for (name,) in leaves if name.startswith("transfers_acme_20261102_")] and \
        {("entry_keys_acme_20261102_1",), ("entry_keys_acme_20261102_2",)} <= set(leaves)
    rows = owner.execute("SELECT d.account_code, c.account_code, amount_minor, currency, flipped, idempotency_key,"
                         " key_date FROM ledger.transfers t JOIN ledger.accounts d ON d.account_no = t.debit_no"
                         " JOIN ledger.accounts c ON c.account_no = t.credit_no ORDER BY idempotency_key").fetchall()
    assert rows == [("processor_receivable:stripe", "revenue", 10_000, "USD", False, "internal:T1", DAY),
                    ("refunds", "processor_receivable:stripe", 2_500, "USD", False, "internal:T2", DAY)]
    batch = owner.execute("SELECT kind, entries, transfers, run_id FROM ledger.posting_batches").fetchall()
    assert batch == [("day", 2, 2, "run-1")]


def test_a_record_redelivered_in_a_later_days_file_posts_once(owner, db_url):
    internal(owner, "T1", "payment", 10_000)
    owner.commit()
    _post(db_url)
    # the same record (same own date) in the next day's file
    owner.execute("INSERT INTO imports.internal_transactions (tenant, business_date, file_id, record_no,"
                  " source_position, transaction_id, created_at, type, amount_minor, currency, processor,"
                  " processor_reference) VALUES ('acme', %s, 900001, 99, 'line 9', 'T1', %s, 'payment', 10000,"
                  " 'USD', 'stripe', 'ch_T1')", (NEXT_DAY, dt.datetime(2026, 11, 2, 23, 59, tzinfo=dt.UTC)))
    owner.execute("INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name,"
                  " archive_path, size_bytes, status, records_loaded, records_quarantined, run_id, code_version,"
                  " file_id) VALUES ('acme', %s, %s, 'internal', 'test', 'next.csv', '-', 0, 'loaded', 0, 0,"
                  " 'test', 'test', 900002)", ("b" * 64, NEXT_DAY))
    owner.execute("UPDATE imports.internal_transactions SET file_id = 900002 WHERE business_date = %s", (NEXT_DAY,))
    owner.commit()
    result = _post(db_url, NEXT_DAY)
    assert (result.events, result.entries_posted, result.entries_already_posted) == (1, 0, 1)
    assert owner.execute("SELECT count(*) FROM ledger.transfers").fetchone() == (1,)


def test_transfers_and_keys_are_append_only(owner, db_url):
    internal(owner, "T1", "payment", 10_000)
    owner.commit()
    _post(db_url)
    for statement in ("UPDATE ledger.transfers SET amount_minor = 1", "DELETE FROM ledger.transfers",
                      "TRUNCATE ledger.transfers", "UPDATE ledger.entry_keys SET entry_id = 1",
                      "DELETE FROM ledger.entry_keys", "TRUNCATE ledger.entry_keys",
                      "DELETE FROM ledger.posting_batches"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            owner.execute(statement)
        owner.rollback()
    leaf = owner.execute("SELECT inhrelid::regclass::text FROM pg_inherits"
                         " WHERE inhparent = 'ledger.transfers'::regclass").fetchone()[0]
    for statement in (f"TRUNCATE {leaf}", f"DELETE FROM {leaf}", f"DROP TABLE {leaf}",
                      f"ALTER TABLE ledger.transfers DETACH PARTITION {leaf}"):
        with pytest.raises(psycopg.errors.RestrictViolation):
            owner.execute(statement)
        owner.rollback()


@pytest.mark.parametrize(("debit", "credit", "amount", "currency"), [
    ("cash:A", "revenue", 0, "USD"), ("cash:A", "revenue", -5, "USD"), ("cash:A", "cash:A", 5, "USD"),
])
def test_a_transfer_is_balanced_by_its_checks_which_copy_evaluates(owner, db_url, debit, credit, amount, currency):
    with tenant_connection(db_url, "acme") as conn, conn.transaction():
        batch = conn.execute("SELECT nextval('ledger.batch_id_seq')").fetchone()[0]
        table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                             (["acme", str(DAY), str(batch)], ["acme", str(DAY), str(batch + 1)])).fetchone()[0]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(f"INSERT INTO {table} (entry_id, leg_no, tenant, business_date, batch_id,"
                         " debit_account, credit_account, amount_minor, currency, flipped, idempotency_key,"
                         " key_date, rule_id, source_kind) VALUES (%s, 1, 'acme', %s, %s, %s, %s, %s, %s,"
                         " false, 'k', %s, 'manual', 'manual')",
                         (batch * 2**32 + 1, DAY, batch, debit, credit, amount, currency, DAY))


def _planted_batch(conn: psycopg.Connection, *, tenant: str = "acme", currency: str = "USD",
                   register_key: bool = True, register_batch: bool = True,
                   numbers: tuple[int, int] | None = None, prepare: bool = True) -> None:
    """A one-transfer batch cash:A -> revenue, its accounts by code (or by these numbers, as posting writes them)."""
    batch = conn.execute("SELECT nextval('ledger.batch_id_seq')").fetchone()[0]
    entry = batch * 2**32 + 1
    if register_batch:
        conn.execute("INSERT INTO ledger.posting_batches (batch_id, tenant, business_date, kind, entries, transfers,"
                     " rule_version, run_id, code_version) VALUES (%s, 'acme', %s, 'day', 1, 1, 't', 't', 't')",
                     (batch, DAY))
    key_parts = []
    if register_key:
        key_parts = register_keys(conn, "acme", pa.table({
            "tenant": ["acme"], "key_date": pa.array([UNDATED], pa.date32()),
            "key_slice": pa.array([key_slice(f"k{batch}")], pa.int16()), "idempotency_key": [f"k{batch}"],
            "entry_id": [entry]}))
    table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                         ([tenant, str(DAY), str(batch)], [tenant, str(DAY), str(batch + 1)])).fetchone()[0]
    accounts = ("debit_no, credit_no", numbers) if numbers else ("debit_account, credit_account",
                                                                 ("cash:A", "revenue"))
    conn.execute(f"INSERT INTO {table} (entry_id, leg_no, tenant, business_date, batch_id, {accounts[0]},"
                 " amount_minor, currency, flipped, idempotency_key, key_date, rule_id, source_kind) VALUES"
                 " (%s, 1, %s, %s, %s, %s, %s, 100, %s, false, %s, '1970-01-01', 'manual', 'manual')",
                 (entry, tenant, DAY, batch, *accounts[1], currency, f"k{batch}"))
    if prepare:   # its unique index (entry_id, leg_no), which attach requires (migration 0096)
        conn.execute("SELECT ops.prepare_load_table(%s::regclass)", (table,))
    conn.execute("SELECT ops.attach_load_table(%s::regclass)", (table,))
    for part in key_parts:
        part.attach()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"register_key": False}, psycopg.errors.ForeignKeyViolation, "no registered idempotency key"),
    ({"register_batch": False}, psycopg.errors.ForeignKeyViolation, "not a batch of"),
    ({"currency": "ABC"}, psycopg.errors.CheckViolation, "not an ISO 4217 code"),
    ({"tenant": "globex"}, psycopg.errors.CheckViolation, "bounds"),   # the tenant pin COPY evaluates
], ids=["key not registered", "no batch", "not ISO 4217", "another tenant"])
def test_the_checker_refuses_a_batch_that_breaks_an_invariant(owner, db_url, kwargs, error, message):
    owner.execute("SELECT ops.register_tenant('globex')")
    owner.commit()
    with tenant_connection(db_url, "acme") as conn:
        with pytest.raises(error, match=message), conn.transaction():
            _planted_batch(conn, **kwargs)
        _planted_batch(conn)   # the same, whole, is attached
        conn.commit()
    assert owner.execute("SELECT count(*) FROM ledger.transfers").fetchone() == (1,)
    assert owner.execute("SELECT account_code, balance_minor FROM ledger.daily_balances ORDER BY 1").fetchall() == [
        ("cash:A", 100), ("revenue", -100)]


def test_a_partition_is_attached_only_with_its_unique_index_on_what_varies(owner, db_url):
    """Migration 0096: the parents hold no unique index; each partition has its own, on the columns that vary (the
    rest are the partition's constants), and attach refuses a table without it."""
    with tenant_connection(db_url, "acme") as conn:
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation,
                           match=r"no unique index on \(entry_id, leg_no\)"), conn.transaction():
            _planted_batch(conn, prepare=False)
        key = "internal:T9"
        for keys, error in (([key], "idempotency_key"), ([key, key], None)):
            with conn.transaction():
                part = fresh_partition(conn, "ledger.entry_keys", ["acme", str(DAY), str(key_slice(key))],
                                       ["acme", str(DAY), str(key_slice(key) + 1)])
                part.copy(pa.table({"idempotency_key": keys, "entry_id": list(range(1, len(keys) + 1))}))
                if error:   # not prepared: refused at attach
                    with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match=error):
                        part.attach()
                else:       # a key twice in one fresh table: its index refuses it
                    with pytest.raises(psycopg.errors.UniqueViolation):
                        part.prepare()
                raise psycopg.Rollback()
    assert owner.execute("SELECT count(*) FROM ledger.transfers").fetchone() == (0,)
    assert owner.execute("SELECT count(*) FROM ledger.entry_keys").fetchone() == (0,)
    assert owner.execute("SELECT count(*) FROM pg_index WHERE indrelid IN ('ledger.transfers'::regclass,"
                         " 'ledger.entry_keys'::regclass)").fetchone() == (0,)


def test_the_checker_refuses_a_transfer_naming_another_tenants_account_number(owner, db_url):
    # accounts are named by number (migration 0092), unique over all tenants: the number must be the batch tenant's
    owner.execute("SELECT ops.register_tenant('globex')")
    for tenant, code, type_ in (("acme", "cash:A", "asset"), ("acme", "revenue", "revenue"),
                                ("globex", "revenue", "revenue")):
        owner.execute("INSERT INTO ledger.accounts (tenant, account_code, name, account_type, normal_balance)"
                      " VALUES (%s, %s, %s, %s, 'debit')", (tenant, code, code, type_))
    number = dict(owner.execute("SELECT tenant || '/' || account_code, account_no FROM ledger.accounts").fetchall())
    owner.commit()
    with tenant_connection(db_url, "acme") as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="no account of acme"), conn.transaction():
            _planted_batch(conn, numbers=(number["acme/cash:A"], number["globex/revenue"]))
        _planted_batch(conn, numbers=(number["acme/cash:A"], number["acme/revenue"]))
        conn.commit()
        assert conn.execute("SELECT account_code, amount_minor FROM ledger.postings ORDER BY 1").fetchall() == [
            ("cash:A", 100), ("revenue", -100)]
    assert owner.execute("SELECT account_code, balance_minor FROM ledger.daily_balances ORDER BY 1").fetchall() == [
        ("cash:A", 100), ("revenue", -100)]


def test_tenants_read_only_their_transfers_and_write_none_directly(owner, db_url):
    owner.execute("SELECT ops.register_tenant('globex')")
    internal(owner, "T1", "payment", 10_000)
    owner.commit()
    _post(db_url)
    with tenant_connection(db_url, "globex") as conn:
        for table in ("ledger.transfers", "ledger.entry_keys", "ledger.posting_batches", "ledger.postings",
                      "ledger.journal_entries"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)   # noqa: S608
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO ledger.transfers SELECT * FROM ledger.transfers")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO ledger.entry_keys VALUES ('acme', %s, 1, 'sneaky1', 1)", (DAY,))
    with tenant_connection(db_url, "acme") as conn:
        assert conn.execute("SELECT count(*) FROM ledger.postings").fetchone() == (2,)


def test_a_posting_on_a_locked_day_is_refused(owner, db_url):
    internal(owner, "T1", "payment", 10_000)
    owner.execute("INSERT INTO workbench.day_signoffs (tenant, business_date, signed_by, summary)"
                  " VALUES ('acme', %s, 1, '{}')", (DAY,))
    owner.commit()
    with pytest.raises(psycopg.errors.RestrictViolation, match="signed off and locked"):
        _post(db_url)
    assert posted(db_url) == {}


def test_trace_walks_from_a_key_or_a_source_ref_to_the_transfer_its_postings_and_the_record(owner, db_url):
    from financeops_pipeline.ledger.trace import trace

    internal(owner, "T1", "payment", 10_000)
    owner.commit()
    _post(db_url)
    with tenant_connection(db_url, "acme") as conn:
        for ref in ("internal:T1", "T1"):
            [item] = trace(conn, "acme", ref)
            assert item.entry["rule_id"] == "internal_payment" and item.entry["run_id"] == "run-1"
            assert item.entry["source_file_sha256"] == SHA
            assert [(p["account_code"], p["amount_minor"]) for p in item.postings] == [
                ("processor_receivable:stripe", 10_000), ("revenue", -10_000)]
            assert item.source["record"]["transaction_id"] == "T1"
