"""A database whose transfer rows name their records by text position (migrations up to 0090) upgrades to 0091
without losing a row: every entry, posting and drill-down line reads as before, the day's record check still finds
what it found (the old batches by text), and the batches posted after name their records by number, with the text
position read the same through ledger.transfer_source_position (stored only where it is not 'line ' || (n + 1))."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.posting import post_day
from financeops_pipeline.quality.checks import run_checks
from financeops_pipeline.quality.record_coverage import load_records_without_first_leg
from financeops_pipeline.sqlfiles import load_sql
from tests.conftest import database_at_release
from tests.ledger.old_releases import old_batch_with_keys

DAY1, DAY2 = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
FILES = {DAY1: 910_001, DAY2: 910_002}
ENTRIES = "SELECT * FROM ledger.journal_entries ORDER BY entry_id"
POSTINGS = "SELECT * FROM ledger.postings ORDER BY entry_id, line_no"
CHECKS = ["no_duplicate_idempotency_keys", "source_records_posted"]


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0091", until="0090_fresh_partition_pinned_defaults") as url:
        yield url


def _plant_files(owner: psycopg.Connection) -> None:
    owner.execute("SELECT ops.register_tenant('acme')")
    for day, file_id in FILES.items():
        owner.execute("INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name,"
                      " archive_path, size_bytes, status, records_loaded, records_quarantined, run_id, code_version,"
                      " file_id) VALUES ('acme', %s, %s, 'internal', 'test', %s, '-', 0, 'loaded', 0, 0, 'test',"
                      " 'test', %s)", (str(file_id) * 10 + "0" * 4, day, f"internal_{day}.csv", file_id))


def _record(owner: psycopg.Connection, day: dt.date, record_no: int, position: str, tx_id: str) -> None:
    owner.execute("INSERT INTO imports.internal_transactions (tenant, business_date, file_id, record_no,"
                  " source_position, transaction_id, created_at, type, amount_minor, currency, processor,"
                  " processor_reference) VALUES ('acme', %s, %s, %s, %s, %s, %s, 'payment', 100, 'USD', 'stripe',"
                  " %s)", (day, FILES[day], record_no, position, tx_id,
                           dt.datetime.combine(day, dt.time(12), dt.UTC), "ch_" + tx_id))


LEDGER_ROWS = {"entries": ENTRIES, "postings": POSTINGS,
               "balances": "SELECT * FROM ledger.daily_balances ORDER BY 1, 2, 3, 4"}


def ledger_rows(owner: psycopg.Connection) -> dict[str, list[tuple]]:
    """The ledger's entries, postings and balance snapshots, row by row: what an upgrade must leave as it found."""
    return {name: owner.execute(query).fetchall() for name, query in LEDGER_ROWS.items()}


def post_the_next_day(url: str, *, rerun: bool = True) -> None:
    """After an upgrade: a re-run of DAY1 posts nothing, and DAY2's one record (N1) posts its entry through the
    fresh partition path."""
    if rerun:
        with tenant_connection(url, "acme") as conn:
            assert post_day(conn, "acme", DAY1, "day-1-again").entries_posted == 0
    with psycopg.connect(url) as owner:
        _record(owner, DAY2, 1, "line 2", "N1")
        owner.commit()
    with tenant_connection(url, "acme") as conn:
        assert post_day(conn, "acme", DAY2, "day-2").entries_posted == 1


def _old_batch(conn: psycopg.Connection, records: list[tuple[str, str]]) -> None:
    """A DAY1 batch as the release before 0091 wrote it: every row names its record by file and text position."""
    keys = [f"internal:{tx}" for tx, _ in records]
    batch, entries, parts = old_batch_with_keys(conn, DAY1, keys, DAY1)
    table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                         (["acme", str(DAY1), str(batch)], ["acme", str(DAY1), str(batch + 1)])).fetchone()[0]
    for entry, key, (_, position) in zip(entries, keys, records, strict=True):
        conn.execute(f"INSERT INTO {table} (entry_id, leg_no, debit_account, credit_account, amount_minor, currency,"
                     " flipped, idempotency_key, key_date, rule_id, source_file_id, source_position) VALUES (%s, 1,"
                     " 'processor_receivable:stripe', 'revenue', 100, 'USD', false, %s, %s, 'internal_payment', %s,"
                     " %s)", (entry, key, DAY1, FILES[DAY1], position))
    conn.execute("SELECT ops.attach_load_table(%s::regclass)", (table,))
    for part in parts:
        part.attach()


def _checks(url: str, day: dt.date) -> dict[str, list[dict]]:
    with tenant_connection(url, "acme") as conn:
        return run_checks(conn, CHECKS, "acme", day)


def _to_look_up(url: str, day: dt.date) -> list[str]:
    """The positions of the day's records that no first leg names (by number, or by text for the old batches):
    the records the check then looks up by key."""
    with tenant_connection(url, "acme") as conn:
        load_records_without_first_leg(conn, "acme", day)   # (no archive: the records from Postgres)
        return [p for (p,) in conn.execute(load_sql("quality/sql/records_not_posted_from_themselves.sql").rstrip()
                                           + "\nSELECT source_position FROM records_to_look_up ORDER BY 1",
                                           {"tenant": "acme", "day": day}).fetchall()]


def _drill(url: str) -> list[tuple]:
    with tenant_connection(url, "acme") as conn:
        return conn.execute(load_sql("reports/sql/drill_postings.sql"),
                            {"tenant": "acme", "account": "revenue", "currency": None, "since": None,
                             "day": DAY2}).fetchall()


def test_records_named_by_text_before_and_by_number_after_read_the_same(old_db):
    with psycopg.connect(old_db) as owner:
        _plant_files(owner)
        for n, tx in enumerate(["O1", "O2", "O3"], start=1):   # O3 was never posted: the check reports it
            _record(owner, DAY1, n, f"line {n + 1}", tx)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn, conn.transaction():
        _old_batch(conn, [("O1", "line 2"), ("O2", "line 3")])
    with psycopg.connect(old_db) as owner:
        entries, postings = owner.execute(ENTRIES).fetchall(), owner.execute(POSTINGS).fetchall()
    assert [e[9] for e in entries] == ["line 2", "line 3"] and len(postings) == 4

    assert "0091_transfer_source_record_no" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert owner.execute(ENTRIES).fetchall() == entries
        assert owner.execute(POSTINGS).fetchall() == postings
        assert owner.execute("SELECT count(*) FROM ledger.transfers WHERE source_record_no IS NULL"
                             " AND source_position IS NOT NULL").fetchone()[0] == 2   # the old rows kept their text
    # (the readers of this code need 0091: what they read of the old rows is what the rows hold)
    assert [(r[0], r[7], r[10]) for r in _drill(old_db)] == [(DAY1, "internal:O1", "line 2"),
                                                             (DAY1, "internal:O2", "line 3")]
    found = _checks(old_db, DAY1)   # the old batch by text: O1 and O2 posted, O3 not
    assert found["no_duplicate_idempotency_keys"] == []
    assert [(r["source_position"], r["problem"]) for r in found["source_records_posted"]] == [
        ("line 4", "no journal entry")]
    assert _to_look_up(old_db, DAY1) == ["line 4"]   # O1 and O2 met their transfers by text, not by key

    # the day again: O3 posts (by number) beside the old batch (by text), and the day's check passes
    with tenant_connection(old_db, "acme") as conn:
        assert post_day(conn, "acme", DAY1, "after-upgrade").entries_posted == 1
    assert _checks(old_db, DAY1) == {name: [] for name in CHECKS} and _to_look_up(old_db, DAY1) == []

    # a new day: N2 comes after a skipped line (its position is not 'line ' || (n + 1)): its text is stored
    with psycopg.connect(old_db) as owner:
        _record(owner, DAY2, 1, "line 2", "N1")
        _record(owner, DAY2, 2, "line 9", "N2")
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        assert post_day(conn, "acme", DAY2, "day-2").entries_posted == 2
    with psycopg.connect(old_db) as owner:
        rows = owner.execute("SELECT idempotency_key, source_record_no, source_position FROM ledger.transfers"
                             " ORDER BY idempotency_key").fetchall()
        assert rows == [("internal:N1", 1, None), ("internal:N2", 2, "line 9"), ("internal:O1", None, "line 2"),
                        ("internal:O2", None, "line 3"), ("internal:O3", 3, None)]
        after = owner.execute("SELECT idempotency_key, source_file_sha256, source_position FROM"
                              " ledger.journal_entries ORDER BY idempotency_key").fetchall()
        sha = {day: str(f) * 10 + "0" * 4 for day, f in FILES.items()}
        assert after == [("internal:N1", sha[DAY2], "line 2"), ("internal:N2", sha[DAY2], "line 9"),
                         ("internal:O1", sha[DAY1], "line 2"), ("internal:O2", sha[DAY1], "line 3"),
                         ("internal:O3", sha[DAY1], "line 4")]
    assert [(r[0], r[10]) for r in _drill(old_db)] == [
        (DAY1, "line 2"), (DAY1, "line 3"), (DAY1, "line 4"), (DAY2, "line 2"), (DAY2, "line 9")]
    assert _checks(old_db, DAY2) == {name: [] for name in CHECKS} and _to_look_up(old_db, DAY2) == []

    # a record of the new day that posted nothing is found by number and named by its text position
    with psycopg.connect(old_db) as owner:
        _record(owner, DAY2, 3, "line 10", "N3")
        owner.commit()
    assert [(r["source_position"], r["problem"]) for r in _checks(old_db, DAY2)["source_records_posted"]] == [
        ("line 10", "no journal entry")]
    assert _to_look_up(old_db, DAY2) == ["line 10"]
