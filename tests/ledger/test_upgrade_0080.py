"""A database whose transfers were written with descriptions and reversal links on every row (migrations up to
0070) upgrades to the narrow rows of 0080 without losing either: ledger.journal_entries shows the same entries,
their text and links now from ledger.entry_notes; the day re-run posts nothing twice, new postings and
adjustments go on."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.adjustments import Adjustment, post_adjustments
from financeops_pipeline.ledger.posting import UNDATED, post_day
from tests.conftest import database_at_release
from tests.ledger import test_posting_rules as planted
from tests.ledger.old_releases import old_batch_with_keys
from tests.ledger.test_posting_rules import DAY, FILE_ID, SHA, plant_file

ENTRIES = ("SELECT entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,"
           " source_file_sha256, source_position, source_ref, reverses_entry_id, run_id, code_version, posted_at"
           " FROM ledger.journal_entries ORDER BY entry_id")


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0080", until="0070_import_partitions_analyze_columns") as url:
        yield url


def _old_batch(conn: psycopg.Connection, keys: list[str], descriptions: list[str | None],
               reverses: list[int | None]) -> list[int]:
    """A batch as the release before 0080 wrote it: description and reverses_entry_id on the transfer rows."""
    batch, entries, parts = old_batch_with_keys(conn, DAY, keys, UNDATED)
    table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                         (["acme", str(DAY), str(batch)], ["acme", str(DAY), str(batch + 1)])).fetchone()[0]
    for entry, key, description, reversed_entry in zip(entries, keys, descriptions, reverses, strict=True):
        conn.execute(f"INSERT INTO {table} (transfer_id, entry_id, leg_no, tenant, business_date, batch_id,"
                     " debit_account, credit_account, amount_minor, currency, flipped, idempotency_key, key_date,"
                     " rule_id, source_kind, source_file_id, source_position, source_ref, description,"
                     " reverses_entry_id) VALUES (%s, %s, 1, 'acme', %s, %s, 'processor_receivable:stripe',"
                     " 'revenue', 100, 'USD', false, %s, %s, 'internal_payment', 'internal', %s, 'line 1', %s, %s,"
                     " %s)", (entry, entry, DAY, batch, key, UNDATED, FILE_ID, key, description, reversed_entry))
    conn.execute("SELECT ops.attach_load_table(%s::regclass)", (table,))
    for part in parts:
        part.attach()
    return entries


def test_descriptions_and_reversal_links_of_old_rows_survive_the_narrow_rows(old_db):
    with psycopg.connect(old_db) as owner:
        plant_file(owner)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn, conn.transaction():
        first = _old_batch(conn, ["old:1", "old:2"], ["payment old 1", None], [None, None])
        _old_batch(conn, ["old:3"], ["reversal of old 1"], [first[0]])
    with psycopg.connect(old_db) as owner:
        before = owner.execute(ENTRIES).fetchall()
        postings = owner.execute("SELECT * FROM ledger.postings ORDER BY entry_id, line_no").fetchall()
    assert [(e[6], e[11]) for e in before] == [("payment old 1", None), (None, None),
                                              ("reversal of old 1", first[0])]

    assert "0080_narrow_transfers" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        after = owner.execute(ENTRIES).fetchall()
        # the entry that had no description gets the derived one; every other column is as it was
        assert [e[:6] + e[7:] for e in after] == [e[:6] + e[7:] for e in before]
        assert [(e[6], e[11]) for e in after] == [("payment old 1", None), ("payment old:2", None),
                                                 ("reversal of old 1", first[0])]
        assert owner.execute("SELECT * FROM ledger.postings ORDER BY entry_id, line_no").fetchall() == postings
        assert owner.execute("SELECT count(*) FROM ledger.entry_notes").fetchone() == (2,)
        columns = {c for (c,) in owner.execute("SELECT attname FROM pg_attribute WHERE attrelid ="
                                               " 'ledger.transfers'::regclass AND attnum > 0 AND NOT attisdropped")}
        assert not {"description", "reverses_entry_id"} & columns
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            owner.execute("UPDATE ledger.entry_notes SET description = 'x'")
        owner.rollback()

    # new postings go on with the narrow rows: a day's entry derives its text, an adjustment keeps its own
    with psycopg.connect(old_db) as owner:
        planted.internal(owner, "T1", "payment", 10_000)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        assert post_day(conn, "acme", DAY, "after-upgrade").entries_posted == 1
        assert post_day(conn, "acme", DAY, "again").entries_posted == 0
        adjustment = Adjustment("recon:x", "recon_adjustment", DAY, "USD", 25,
                                {"adjust_account": "bank_fees", "counter_account": "cash_in_transit:stripe"},
                                "fee shortfall", "recon", "bank:X1", {"matching_rule": "r1"})
        assert post_adjustments(conn, "acme", [adjustment], "run-2").posted == 1
        conn.commit()
        texts = dict(conn.execute("SELECT idempotency_key, description FROM ledger.journal_entries").fetchall())
        sha = conn.execute("SELECT source_file_sha256 FROM ledger.journal_entries"
                           " WHERE idempotency_key = 'internal:T1'").fetchone()[0]
    assert texts["internal:T1"] == "payment T1" and sha == SHA
    assert texts["recon:x"] == 'fee shortfall {"matching_rule": "r1"}'


def test_a_note_belongs_to_a_batch_of_its_own_tenant_and_day(db_url):
    with psycopg.connect(db_url) as owner:
        owner.execute("SELECT ops.register_tenant('acme')")
        owner.execute("SELECT ops.register_tenant('globex')")
        owner.commit()
    with tenant_connection(db_url, "acme") as conn:
        batch = conn.execute("SELECT nextval('ledger.batch_id_seq')").fetchone()[0]
        conn.execute("INSERT INTO ledger.posting_batches (batch_id, tenant, business_date, kind, entries, transfers,"
                     " rule_version, run_id, code_version) VALUES (%s, 'acme', %s, 'adjustments', 1, 1, 'v', 'r',"
                     " 'c')", (batch, DAY))
        for values, error in [((batch * 2**32 + 1, batch, "acme", DAY + dt.timedelta(days=1), "d"),
                               psycopg.errors.ForeignKeyViolation),
                              (((batch + 1) * 2**32 + 1, batch, "acme", DAY, "d"), psycopg.errors.CheckViolation)]:
            with pytest.raises(error), conn.transaction():
                conn.execute("INSERT INTO ledger.entry_notes (entry_id, batch_id, tenant, business_date,"
                             " description) VALUES (%s, %s, %s, %s, %s)", values)
        conn.commit()
    with tenant_connection(db_url, "globex") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO ledger.entry_notes (entry_id, batch_id, tenant, business_date, description)"
                     " VALUES (%s, %s, 'acme', %s, 'sneaky')", (batch * 2**32 + 1, batch, DAY))


def test_a_days_rows_leave_out_the_source_kind_and_ref_that_the_view_derives(db_url):
    with psycopg.connect(db_url) as owner:
        plant_file(owner)
        planted.internal(owner, "T:1", "payment", 10_000)            # a colon in the id: the tail after internal:
        planted.processor_line(owner, "txn:1", "charge", gross=10_000, fee=320, payout_id="po_1")
        planted.processor_line(owner, "txn_po", "payout", gross=-9_680, fee=0, payout_id="po_1")
        planted.bank_line(owner, "B1", -2_500, "fee")
        owner.commit()
    with tenant_connection(db_url, "acme") as conn:
        assert post_day(conn, "acme", DAY, "run-1").entries_posted == 4
    with psycopg.connect(db_url) as owner:
        entries = owner.execute("SELECT idempotency_key, source_kind, source_ref FROM ledger.journal_entries"
                                " ORDER BY 1").fetchall()
        stored = owner.execute("SELECT idempotency_key, source_kind, source_ref FROM ledger.transfers"
                               " ORDER BY 1").fetchall()
    assert entries == [("bank:ACC1:B1", "bank", "B1"), ("internal:T:1", "internal", "T:1"),
                       ("payout:stripe:po_1", "payout", "po_1"), ("processor_fee:stripe:txn:1", "processor", "txn:1")]
    # only the bank line's reference is not the tail of its key
    assert stored == [("bank:ACC1:B1", None, "B1"), ("internal:T:1", None, None), ("payout:stripe:po_1", None, None),
                      ("processor_fee:stripe:txn:1", None, None)]
