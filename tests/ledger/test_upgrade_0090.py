"""A database whose transfer rows carry transfer_id (migrations up to 0085) upgrades to 0090 without losing a row:
the column goes (nothing read it), every entry and posting reads as before, a record posted before is not posted
again, and new days post with the batch's tenant, day and id filled in by their fresh partitions' defaults."""

from __future__ import annotations

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.posting import post_day
from tests.conftest import database_at_release
from tests.ledger import test_posting_rules as planted
from tests.ledger.old_releases import old_batch_with_keys
from tests.ledger.test_posting_rules import DAY, FILE_ID, plant_file

ENTRIES = "SELECT * FROM ledger.journal_entries ORDER BY entry_id"
POSTINGS = "SELECT * FROM ledger.postings ORDER BY entry_id, line_no"


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0090", until="0085_tenant_function_parallel_safe") as url:
        yield url


def _old_batch(conn: psycopg.Connection, keys: list[str]) -> None:
    """A batch as the release before 0090 wrote it: transfer_id on every row, every key column sent (the keys of
    records dated DAY)."""
    batch, entries, parts = old_batch_with_keys(conn, DAY, keys, DAY)
    table = conn.execute("SELECT ops.create_load_table('ledger.transfers', %s::text[], %s::text[])::text",
                         (["acme", str(DAY), str(batch)], ["acme", str(DAY), str(batch + 1)])).fetchone()[0]
    for entry, key in zip(entries, keys, strict=True):
        conn.execute(f"INSERT INTO {table} (transfer_id, entry_id, leg_no, tenant, business_date, batch_id,"
                     " debit_account, credit_account, amount_minor, currency, flipped, idempotency_key, key_date,"
                     " rule_id, source_kind, source_file_id, source_position, source_ref) VALUES (%s, %s, 1, 'acme',"
                     " %s, %s, 'processor_receivable:stripe', 'revenue', 100, 'USD', false, %s, %s,"
                     " 'internal_payment', NULL, %s, 'line 1', NULL)",
                     (entry, entry, DAY, batch, key, DAY, FILE_ID))
    conn.execute("SELECT ops.attach_load_table(%s::regclass)", (table,))
    for part in parts:
        part.attach()


def test_transfer_rows_of_the_old_release_survive_the_dropped_transfer_id(old_db):
    with psycopg.connect(old_db) as owner:
        plant_file(owner)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn, conn.transaction():
        _old_batch(conn, ["internal:old1", "internal:old2"])
    with psycopg.connect(old_db) as owner:
        entries, postings = owner.execute(ENTRIES).fetchall(), owner.execute(POSTINGS).fetchall()
        balances = owner.execute("SELECT * FROM ledger.daily_balances ORDER BY 1, 2, 3, 4").fetchall()
    assert len(entries) == 2 and len(postings) == 4

    assert "0090_fresh_partition_pinned_defaults" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert owner.execute(ENTRIES).fetchall() == entries
        assert owner.execute(POSTINGS).fetchall() == postings
        columns = {c for (c,) in owner.execute("SELECT attname FROM pg_attribute WHERE attrelid ="
                                               " 'ledger.transfers'::regclass AND attnum > 0 AND NOT attisdropped")}
        assert "transfer_id" not in columns and {"entry_id", "batch_id", "tenant"} <= columns
        # the entry id still belongs to its batch (the CHECK that came back)
        with pytest.raises(psycopg.errors.CheckViolation):
            owner.execute("INSERT INTO ledger.transfers (entry_id, leg_no, tenant, business_date, batch_id,"
                          " debit_account, credit_account, amount_minor, currency, flipped, idempotency_key, key_date,"
                          " rule_id) VALUES (1, 1, 'acme', %s, 999, 'a', 'b', 1, 'USD', false, 'k', %s, 'r')",
                          (DAY, DAY))
        owner.rollback()

    # a record with an old key is not posted again; a new one posts, its key into the old key partition
    with psycopg.connect(old_db) as owner:
        planted.internal(owner, "old1", "payment", 10_000)
        planted.internal(owner, "T1", "payment", 10_000)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        result = post_day(conn, "acme", DAY, "after-upgrade")
        assert (result.entries_posted, result.entries_already_posted) == (1, 1)
        assert post_day(conn, "acme", DAY, "again").entries_posted == 0
    with psycopg.connect(old_db) as owner:
        after = owner.execute(ENTRIES).fetchall()
        assert after[:2] == entries and [e[2] for e in after[2:]] == ["internal:T1"]
        assert owner.execute("SELECT tenant, business_date, batch_id = entry_id >> 32 FROM ledger.transfers"
                             " WHERE idempotency_key = 'internal:T1'").fetchall() == [("acme", DAY, True)]
        assert owner.execute("SELECT count(*) FROM ledger.daily_balances").fetchone()[0] >= len(balances)
