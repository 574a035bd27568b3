"""A database whose transfer rows name their accounts by code (migrations up to 0091) upgrades to 0092 without
losing a row: the accounts get their numbers, every entry, posting, balance and drill-down line reads as before, and
the batches posted after name their accounts by number (their codes read through ledger.accounts)."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.posting import open_accounts
from financeops_pipeline.quality.checks import run_checks
from financeops_pipeline.sqlfiles import load_sql
from tests.conftest import database_at_release
from tests.ledger.old_releases import old_batch_with_keys
from tests.ledger.test_upgrade_0091 import DAY1, DAY2, _plant_files, _record, ledger_rows, post_the_next_day

POSTINGS = "SELECT * FROM ledger.postings ORDER BY entry_id, line_no"
CHECKS = ["snapshots_match_postings", "no_duplicate_idempotency_keys", "source_records_posted"]


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0092", until="0091_transfer_source_record_no") as url:
        yield url


def _old_batch(conn: psycopg.Connection, txs: list[str]) -> None:
    """A DAY1 batch as the release before 0092 wrote it: its accounts opened, and named by code on every row."""
    open_accounts(conn, "acme", ["processor_receivable:stripe", "revenue"])
    keys = [f"internal:{tx}" for tx in txs]
    batch, entries, parts = old_batch_with_keys(conn, DAY1, keys, DAY1)
    table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                         (["acme", str(DAY1), str(batch)], ["acme", str(DAY1), str(batch + 1)])).fetchone()[0]
    for n, (entry, key) in enumerate(zip(entries, keys, strict=True), start=1):
        conn.execute(f"INSERT INTO {table} (entry_id, leg_no, debit_account, credit_account, amount_minor, currency,"
                     " flipped, idempotency_key, key_date, rule_id, source_file_id, source_record_no) VALUES (%s, 1,"
                     " 'processor_receivable:stripe', 'revenue', 100, 'USD', false, %s, %s, 'internal_payment',"
                     " 910001, %s)", (entry, key, DAY1, n))
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


def test_accounts_named_by_code_before_and_by_number_after_read_the_same(old_db):
    with psycopg.connect(old_db) as owner:
        _plant_files(owner)
        for n, tx in enumerate(["O1", "O2"], start=1):
            _record(owner, DAY1, n, f"line {n + 1}", tx)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn, conn.transaction():
        _old_batch(conn, ["O1", "O2"])
    with psycopg.connect(old_db) as owner:
        before = ledger_rows(owner)
    postings = before["postings"]
    assert len(postings) == 4 and before["balances"]

    assert "0092_transfer_account_numbers" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert ledger_rows(owner) == before
        numbers = owner.execute("SELECT account_code, account_no FROM ledger.accounts ORDER BY 1").fetchall()
        assert [c for c, _ in numbers] == ["processor_receivable:stripe", "revenue"] and all(n for _, n in numbers)
    assert _checks(old_db, DAY1) == {name: [] for name in CHECKS}
    old_drill = _drill(old_db, "revenue")
    assert [(r[0], r[5], r[7]) for r in old_drill] == [(DAY1, -100, "internal:O1"), (DAY1, -100, "internal:O2")]

    # a new day posts its accounts by number; every reader gives their codes
    post_the_next_day(old_db, rerun=False)
    with psycopg.connect(old_db) as owner:
        number = dict(numbers)
        assert owner.execute("SELECT debit_account, credit_account, debit_no, credit_no FROM ledger.transfers"
                             " WHERE idempotency_key = 'internal:N1'").fetchall() == [
            (None, None, number["processor_receivable:stripe"], number["revenue"])]
        assert owner.execute(POSTINGS).fetchall()[:4] == postings
        assert [(p[4], p[6]) for p in owner.execute(POSTINGS).fetchall()[4:]] == [
            ("processor_receivable:stripe", 100), ("revenue", -100)]
        assert owner.execute("SELECT account_code, balance_minor FROM ledger.daily_balances WHERE business_date = %s"
                             " ORDER BY 1", (DAY2,)).fetchall() == [("processor_receivable:stripe", 300),
                                                                    ("revenue", -300)]
    assert _checks(old_db, DAY2) == {name: [] for name in CHECKS}
    assert _drill(old_db, "revenue") == [*old_drill, *[r for r in _drill(old_db, "revenue") if r[0] == DAY2]]
    assert [(r[0], r[2], r[5], r[7]) for r in _drill(old_db, "processor_receivable:stripe")] == [
        (DAY1, 1, 100, "internal:O1"), (DAY1, 1, 100, "internal:O2"), (DAY2, 1, 100, "internal:N1")]
    assert [(r[2], r[5], r[7]) for r in _drill(old_db, "revenue") if r[0] == DAY2] == [(2, -100, "internal:N1")]
