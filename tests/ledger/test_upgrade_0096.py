"""A database whose transfer rows carry their idempotency key's text (migrations up to 0095) upgrades to 0096 without
losing a row: every entry, posting, balance, trace and drill-down line reads as before, and the batches posted after
leave the key to the registry (ledger.entry_keys): their rows' own is NULL, every reader gives it from the registry,
a key posted before is still not posted again, and the checker still refuses a batch whose entries are not exactly
the registered keys' entries."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.adjustments import Adjustment, post_adjustments
from financeops_pipeline.ledger.posting import open_accounts, post_day
from financeops_pipeline.ledger.trace import trace
from financeops_pipeline.quality.checks import run_checks
from financeops_pipeline.sqlfiles import load_sql
from tests.conftest import database_at_release
from tests.ledger.old_releases import old_batch_with_keys
from tests.ledger.test_upgrade_0091 import DAY1, DAY2, _plant_files, _record

ENTRIES = "SELECT * FROM ledger.journal_entries ORDER BY entry_id"
POSTINGS = "SELECT * FROM ledger.postings ORDER BY entry_id, line_no"
BALANCES = "SELECT * FROM ledger.daily_balances ORDER BY 1, 2, 3, 4"
CHECKS = ["snapshots_match_postings", "no_duplicate_idempotency_keys", "source_records_posted"]


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0096", until="0095_processor_extra_text") as url:
        yield url


def _old_batch(conn: psycopg.Connection, txs: list[str]) -> None:
    """A DAY1 batch as the release before 0096 wrote it: accounts by number, records by number, and the key's text
    on every row (as in the registry)."""
    open_accounts(conn, "acme", ["processor_receivable:stripe", "revenue"])
    number = dict(conn.execute("SELECT account_code, account_no FROM ledger.accounts").fetchall())
    keys = [f"internal:{tx}" for tx in txs]
    batch, entries, parts = old_batch_with_keys(conn, DAY1, keys, DAY1)
    table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                         (["acme", str(DAY1), str(batch)], ["acme", str(DAY1), str(batch + 1)])).fetchone()[0]
    for n, (entry, key) in enumerate(zip(entries, keys, strict=True), start=1):
        conn.execute(f"INSERT INTO {table} (entry_id, leg_no, debit_no, credit_no, amount_minor, currency, flipped,"
                     " idempotency_key, key_date, rule_id, source_file_id, source_record_no) VALUES (%s, 1, %s, %s,"
                     " 100, 'USD', false, %s, %s, 'internal_payment', 910001, %s)",
                     (entry, number["processor_receivable:stripe"], number["revenue"], key, DAY1, n))
    conn.execute("SELECT ops.attach_load_table(%s::regclass)", (table,))
    for part in parts:
        part.attach()


def _checks(url: str, day: dt.date) -> dict[str, list[dict]]:
    with tenant_connection(url, "acme") as conn:
        return run_checks(conn, CHECKS, "acme", day)


def _drill(url: str, account: str) -> list[tuple]:
    with tenant_connection(url, "acme") as conn:
        return conn.execute(load_sql("reports/sql/drill_postings.sql"),
                            {"tenant": "acme", "account": account, "currency": None, "since": None,
                             "day": DAY2}).fetchall()


def _trace(url: str, ref: str) -> list[tuple]:
    with tenant_connection(url, "acme") as conn:
        return [(t.entry["entry_id"], t.entry["idempotency_key"], t.entry["source_ref"], t.entry["description"],
                 t.entry["source_position"], [p["amount_minor"] for p in t.postings],
                 (t.source or {}).get("record", {}).get("transaction_id")) for t in trace(conn, "acme", ref)]


def test_keys_on_the_rows_before_and_in_the_registry_after_read_the_same(old_db):
    with psycopg.connect(old_db) as owner:
        _plant_files(owner)
        for n, tx in enumerate(["O1", "O2"], start=1):
            _record(owner, DAY1, n, f"line {n + 1}", tx)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn, conn.transaction():
        _old_batch(conn, ["O1", "O2"])
    with psycopg.connect(old_db) as owner:
        entries, postings = owner.execute(ENTRIES).fetchall(), owner.execute(POSTINGS).fetchall()
        balances = owner.execute(BALANCES).fetchall()
    assert [e[2] for e in entries] == ["internal:O1", "internal:O2"] and len(postings) == 4 and balances
    old_drill = _drill(old_db, "revenue")
    old_trace = {ref: _trace(old_db, ref) for ref in ("internal:O1", "O2", str(entries[0][0]))}
    assert [t[1:3] for t in old_trace["internal:O1"]] == [("internal:O1", "O1")]

    assert "0096_transfer_key_in_registry" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert owner.execute(ENTRIES).fetchall() == entries
        assert owner.execute(POSTINGS).fetchall() == postings
        assert owner.execute(BALANCES).fetchall() == balances
        # the rows before keep their key's text
        assert owner.execute("SELECT idempotency_key FROM ledger.transfers ORDER BY 1").fetchall() == [
            ("internal:O1",), ("internal:O2",)]
    assert _drill(old_db, "revenue") == old_drill
    assert {ref: _trace(old_db, ref) for ref in old_trace} == old_trace
    assert _checks(old_db, DAY1) == {name: [] for name in CHECKS}

    # a new day: its rows leave the key to the registry; O1 delivered again is not posted twice
    with psycopg.connect(old_db) as owner:
        _record(owner, DAY2, 1, "line 2", "N1")
        _record(owner, DAY2, 2, "line 3", "O1")
        owner.execute("UPDATE imports.internal_transactions SET created_at = %s WHERE business_date = %s"
                      " AND transaction_id = 'O1'", (dt.datetime.combine(DAY1, dt.time(12), dt.UTC), DAY2))
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        result = post_day(conn, "acme", DAY2, "day-2")
        assert (result.entries_posted, result.entries_already_posted) == (1, 1)
        assert post_day(conn, "acme", DAY2, "day-2 again").entries_posted == 0
        post_adjustments(conn, "acme", [Adjustment(
            idempotency_key="recon:tolerance:X1", rule_id="recon_adjustment", business_date=DAY2, currency="USD",
            amount_minor=25, accounts={"adjust_account": "bank_fees", "counter_account": "cash_in_transit:stripe"},
            description="bank credit below payout", source_kind="recon", source_ref="bank:X1")], "adj-1")
        conn.commit()
    with psycopg.connect(old_db) as owner:
        stored = owner.execute("SELECT t.rule_id, t.idempotency_key, k.idempotency_key FROM ledger.transfers t"
                               " LEFT JOIN ledger.entry_keys k ON k.tenant = t.tenant AND k.key_date = t.key_date"
                               " AND k.entry_id = t.entry_id WHERE t.business_date = %s ORDER BY 1, 3",
                               (DAY2,)).fetchall()
        assert stored == [("internal_payment", None, "internal:N1"),
                          ("recon_adjustment", None, "recon:tolerance:X1")]
        after = owner.execute(ENTRIES).fetchall()
        assert after[:2] == entries
        assert [(e[2], e[6], e[10]) for e in after[2:]] == [
            ("internal:N1", "payment N1", "N1"), ("recon:tolerance:X1", "bank credit below payout", "bank:X1")]
        assert owner.execute(POSTINGS).fetchall()[:4] == postings
        assert owner.execute("SELECT account_code, balance_minor FROM ledger.daily_balances WHERE business_date = %s"
                             " ORDER BY 1", (DAY2,)).fetchall() == [
            ("bank_fees", 25), ("cash_in_transit:stripe", -25), ("processor_receivable:stripe", 300),
            ("revenue", -300)]
    assert _checks(old_db, DAY2) == {name: [] for name in CHECKS}
    new_entry = after[2][0]
    for ref in ("internal:N1", "N1", str(new_entry)):
        assert _trace(old_db, ref) == [(new_entry, "internal:N1", "N1", "payment N1", "line 2", [100, -100], "N1")]
    assert _trace(old_db, "internal:O1") == old_trace["internal:O1"]
    drill = _drill(old_db, "revenue")
    assert drill[:2] == old_drill
    assert [(r[0], r[5], r[7], r[11]) for r in drill[2:]] == [(DAY2, -100, "internal:N1", "N1")]
    assert [(r[0], r[5], r[7], r[11]) for r in _drill(old_db, "bank_fees")] == [
        (DAY2, 25, "recon:tolerance:X1", "bank:X1")]


def test_the_checker_compares_entry_ids_and_key_dates_with_the_registry(old_db):
    assert "0096_transfer_key_in_registry" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        _plant_files(owner)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        # a key registered under another key date than its transfer's (same entry id): refused
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="no registered idempotency key"), \
                conn.transaction():
            _new_batch(conn, key_date=DAY2)
        # a key on the row: refused by the CHECK that COPY evaluates
        with pytest.raises(psycopg.errors.CheckViolation, match="transfers_key_in_registry"), conn.transaction():
            _new_batch(conn, row_key="internal:A1")
        with conn.transaction():
            _new_batch(conn)
        assert conn.execute("SELECT idempotency_key FROM ledger.journal_entries").fetchall() == [("internal:A1",)]


def _new_batch(conn: psycopg.Connection, *, key_date: dt.date = DAY1, row_key: str | None = None) -> None:
    open_accounts(conn, "acme", ["processor_receivable:stripe", "revenue"])
    number = dict(conn.execute("SELECT account_code, account_no FROM ledger.accounts").fetchall())
    batch, entries, parts = old_batch_with_keys(conn, DAY1, ["internal:A1"], key_date)
    table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                         (["acme", str(DAY1), str(batch)], ["acme", str(DAY1), str(batch + 1)])).fetchone()[0]
    conn.execute(f"INSERT INTO {table} (entry_id, leg_no, debit_no, credit_no, amount_minor, currency, flipped,"
                 " idempotency_key, key_date, rule_id, source_file_id, source_record_no) VALUES (%s, 1, %s, %s,"
                 " 100, 'USD', false, %s, %s, 'internal_payment', 910001, 1)",
                 (entries[0], number["processor_receivable:stripe"], number["revenue"], row_key, DAY1))
    conn.execute("SELECT ops.attach_load_table(%s::regclass)", (table,))
    for part in parts:
        part.attach()
