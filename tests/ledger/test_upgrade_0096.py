"""A database posted by the release before 0096 (every key partition and batch partition indexed by its parent's
unique index, the partition's constant tenant, date and slice or batch in each index tuple) upgrades to 0096 without
losing a row: each partition gets its own unique index on the columns that vary, every entry, posting and balance
reads as before, a key posted before is still refused, and the days posted after index their partitions the same."""

from __future__ import annotations

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.posting import key_slice, post_day
from financeops_pipeline.quality.checks import run_checks
from tests.conftest import database_at_release
from tests.ledger.test_upgrade_0091 import DAY1, DAY2, POSTINGS, _plant_files, _record, ledger_rows, post_the_next_day

CHECKS = ["snapshots_match_postings", "no_duplicate_idempotency_keys", "source_records_posted"]
NARROW = {"ledger.entry_keys": ["idempotency_key"], "ledger.transfers": ["entry_id", "leg_no"]}
INDEXES = """
SELECT i.inhrelid::regclass::text, x.indexrelid::regclass::text, x.indisunique,
       (SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k (attnum, n)
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum),
       x.indexrelid IN (SELECT leaf FROM ops.bulk_leaves)
FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid
WHERE i.inhparent = %s::regclass ORDER BY 1, 2"""


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0096", until="0095_processor_extra_text") as url:
        yield url


def _indexes(owner: psycopg.Connection, parent: str) -> list[tuple]:
    return owner.execute(INDEXES, (parent,)).fetchall()


def _checks(url: str, day) -> dict[str, list[dict]]:
    with tenant_connection(url, "acme") as conn:
        return run_checks(conn, CHECKS, "acme", day)


def test_partitions_indexed_by_their_parents_get_their_own_narrow_unique_index(old_db):
    with psycopg.connect(old_db) as owner:
        _plant_files(owner)
        for n, tx in enumerate(["O1", "O2", "O3"], start=1):
            _record(owner, DAY1, n, f"line {n + 1}", tx)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        assert post_day(conn, "acme", DAY1, "day-1").entries_posted == 3
    with psycopg.connect(old_db) as owner:
        before = ledger_rows(owner)
        # as the release before wrote them: each leaf's index is its part of the parent's, partition key included
        old = {parent: _indexes(owner, parent) for parent in NARROW}
        assert [r[3] for r in old["ledger.entry_keys"]] == [["idempotency_key", "tenant", "key_date", "key_slice"]] * 3
        assert [r[3] for r in old["ledger.transfers"]] == [["entry_id", "leg_no", "tenant", "business_date",
                                                            "batch_id"]]
    postings = before["postings"]
    assert len(postings) == 6 and before["balances"]

    assert "0096_fresh_partitions_unique_on_what_varies" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert ledger_rows(owner) == before
        assert owner.execute("SELECT count(*) FROM pg_index WHERE indrelid IN ('ledger.entry_keys'::regclass,"
                             " 'ledger.transfers'::regclass)").fetchone() == (0,)
        for parent, columns in NARROW.items():
            now = _indexes(owner, parent)
            # the same leaves, each with one unique index on the columns that vary, guarded as its partition is
            assert [r[0] for r in now] == [r[0] for r in old[parent]]
            assert [r[2:] for r in now] == [(True, columns, True)] * len(now)
        # a key posted before is refused by its partition's own index
        with pytest.raises(psycopg.errors.UniqueViolation):
            owner.execute("INSERT INTO ledger.entry_keys (tenant, key_date, key_slice, idempotency_key, entry_id)"
                          " VALUES ('acme', %s, %s, 'internal:O1', -1)", (DAY1, key_slice("internal:O1")))
        owner.rollback()
        # and the index can no more be dropped than its partition
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            owner.execute(f"DROP INDEX {_indexes(owner, 'ledger.entry_keys')[0][1]}")
        owner.rollback()
    assert _checks(old_db, DAY1) == {name: [] for name in CHECKS}

    # a re-run posts nothing; the next day's partitions get the narrow indexes from the fresh partition path
    post_the_next_day(old_db)
    with psycopg.connect(old_db) as owner:
        assert owner.execute(POSTINGS).fetchall()[:6] == postings
        assert owner.execute("SELECT count(*) FROM ledger.transfers WHERE business_date = %s",
                             (DAY2,)).fetchone() == (1,)
        for parent, columns in NARROW.items():
            now = _indexes(owner, parent)
            assert len(now) == len(old[parent]) + 1 and [r[2:] for r in now] == [(True, columns, True)] * len(now)
    assert _checks(old_db, DAY2) == {name: [] for name in CHECKS}
